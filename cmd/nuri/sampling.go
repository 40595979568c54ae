package main

import (
	"os"

	"go.uber.org/zap"

	"github.com/nuri-ai/nuri/gguf"
	"github.com/nuri-ai/nuri/quant"
	"github.com/nuri-ai/nuri/sample"
	"github.com/nuri-ai/nuri/server"
)

// modelSampling reads the sampler settings the GGUF f recommends
// (general.sampling.*) and logs what Nuri leaves out: the keys it has no
// sampler for, and invalid values.
func modelSampling(f *gguf.File, log *zap.Logger) gguf.SamplingDefaults {
	d := f.SamplingDefaults()
	if len(d.Unused) > 0 {
		log.Info("the model recommends samplers Nuri does not have; left out", zap.Strings("keys", d.Unused))
	}
	for _, msg := range d.Invalid {
		log.Warn("invalid recommended sampling setting left out", zap.String("setting", msg))
	}
	return d
}

// applySampling overlays d on p, leaving the settings whose flag the user
// set (set reports it by flag name; nil: none set).
func applySampling(p *sample.Params, d gguf.SamplingDefaults, set func(flag string) bool) []zap.Field {
	var applied []zap.Field
	f32 := func(flag string, src *float32, dst *float32) {
		if src != nil && (set == nil || !set(flag)) {
			*dst = *src
			applied = append(applied, zap.Float32(flag, *src))
		}
	}
	integer := func(flag string, src *int, dst *int) {
		if src != nil && (set == nil || !set(flag)) {
			*dst = *src
			applied = append(applied, zap.Int(flag, *src))
		}
	}
	f32("temp", d.Temp, &p.Temperature)
	f32("top-p", d.TopP, &p.TopP)
	f32("min-p", d.MinP, &p.MinP)
	f32("repeat-penalty", d.PenaltyRepeat, &p.RepeatPenalty)
	f32("frequency-penalty", d.PenaltyFreq, &p.FrequencyPenalty)
	f32("presence-penalty", d.PenaltyPresent, &p.PresencePenalty)
	integer("top-k", d.TopK, &p.TopK)
	integer("repeat-last-n", d.PenaltyLastN, &p.PenaltyLastN)
	return applied
}

// modelInfo describes the GGUF f, opened from path, for the server's
// Ollama routes: size, date, architecture, parameters, the weight type
// most matrix bytes are in, and the training context.
func modelInfo(path string, f *gguf.File) server.ModelInfo {
	mi := server.ModelInfo{Size: f.Size(), Arch: f.Arch()}
	if st, err := os.Stat(path); err == nil {
		mi.Modified = st.ModTime()
	}
	if n, ok := f.Int(mi.Arch + ".context_length"); ok {
		mi.Context = n
	}
	byType := map[quant.Type]uint64{}
	for i := range f.Tensors {
		ti := &f.Tensors[i]
		mi.Params += int64(ti.Elements())
		if len(ti.Dims) >= 2 {
			byType[ti.Type] += ti.Bytes()
		}
	}
	var most uint64
	for t, n := range byType {
		if n > most || (n == most && t.String() < mi.Quant) {
			most, mi.Quant = n, t.String()
		}
	}
	return mi
}
