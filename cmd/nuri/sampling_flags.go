package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"sort"

	"go.uber.org/zap"

	"github.com/nuri-ai/nuri/sample"
)

// samplingFlags are llama.cpp's sampler flags as llama-cli and
// llama-server spell them. nuri run samples with them; nuri serve gives
// them to the requests that leave a field unset, as llama-server does.
type samplingFlags struct {
	temp, topP, minP, repeat, presence, frequency float64
	topK, lastN                                   int
	seed                                          int64
}

// samplingFlagNames are the flags overlay reads, by the names
// applySampling and the set functions use ("seed" stands for -s too).
var samplingFlagNames = []string{"temp", "top-k", "top-p", "min-p", "repeat-penalty", "repeat-last-n", "presence-penalty", "frequency-penalty", "seed"}

// addSamplingFlags registers the sampler flags with d's values as their
// defaults; note ends each flag's help (serve says whose value wins).
func addSamplingFlags(fs *flag.FlagSet, d sample.Params, note string) *samplingFlags {
	f := &samplingFlags{
		temp: float64(d.Temperature), topP: float64(d.TopP), minP: float64(d.MinP), repeat: float64(d.RepeatPenalty),
		presence: float64(d.PresencePenalty), frequency: float64(d.FrequencyPenalty), topK: d.TopK, lastN: d.PenaltyLastN, seed: -1,
	}
	fs.Float64Var(&f.temp, "temp", f.temp, "temperature (≤ 0: greedy)"+note)
	fs.IntVar(&f.topK, "top-k", f.topK, "top-k (≤ 0: off)"+note)
	fs.Float64Var(&f.topP, "top-p", f.topP, "top-p (1: off)"+note)
	fs.Float64Var(&f.minP, "min-p", f.minP, "min-p (0: off)"+note)
	fs.Float64Var(&f.repeat, "repeat-penalty", f.repeat, "repetition penalty (1: off)"+note)
	fs.IntVar(&f.lastN, "repeat-last-n", f.lastN, "tokens the penalties look back over (-1: all)"+note)
	fs.Float64Var(&f.presence, "presence-penalty", f.presence, "presence penalty"+note)
	fs.Float64Var(&f.frequency, "frequency-penalty", f.frequency, "frequency penalty"+note)
	fs.Int64Var(&f.seed, "seed", -1, "sampling seed (-1: random)"+note)
	fs.Int64Var(&f.seed, "s", -1, "alias of --seed (llama.cpp)")
	return f
}

// set gives the sampler flag name the value v, as if it were given.
func (f *samplingFlags) set(name string, v float64) error {
	whole := func(dst *int) error {
		if v != math.Trunc(v) {
			return fmt.Errorf("want a whole number, got %v", v)
		}
		*dst = int(v)
		return nil
	}
	switch name {
	case "temp":
		f.temp = v
	case "top-p":
		f.topP = v
	case "min-p":
		f.minP = v
	case "repeat-penalty":
		f.repeat = v
	case "presence-penalty":
		f.presence = v
	case "frequency-penalty":
		f.frequency = v
	case "top-k":
		return whole(&f.topK)
	case "repeat-last-n":
		return whole(&f.lastN)
	default:
		return fmt.Errorf("no sampler flag --%s", name)
	}
	return nil
}

// overlay writes the flags that set reports as given into p, checks the
// result, and returns what it wrote as log fields.
func (f *samplingFlags) overlay(p *sample.Params, set func(flag string) bool) ([]zap.Field, error) {
	var fields []zap.Field
	f32 := func(name string, v float64, dst *float32) {
		if set(name) {
			*dst = float32(v)
			fields = append(fields, zap.Float64(name, v))
		}
	}
	f32("temp", f.temp, &p.Temperature)
	f32("top-p", f.topP, &p.TopP)
	f32("min-p", f.minP, &p.MinP)
	f32("repeat-penalty", f.repeat, &p.RepeatPenalty)
	f32("presence-penalty", f.presence, &p.PresencePenalty)
	f32("frequency-penalty", f.frequency, &p.FrequencyPenalty)
	if set("top-k") {
		p.TopK = f.topK
		fields = append(fields, zap.Int("top-k", f.topK))
	}
	if set("repeat-last-n") {
		p.PenaltyLastN = f.lastN
		fields = append(fields, zap.Int("repeat-last-n", f.lastN))
	}
	if set("seed") && f.seed >= 0 {
		p.Seed, p.HasSeed = uint64(f.seed), true
		fields = append(fields, zap.Int64("seed", f.seed))
	}
	if err := p.Validate(0); err != nil {
		return nil, err
	}
	return fields, nil
}

// generationConfig is vLLM's --override-generation-config: the settings
// of a model's generation_config.json that vLLM reads, as a JSON object,
// over the model's own.
type generationConfig struct {
	sampling map[string]float64 // by sampler flag name
	maxNew   int                // max_new_tokens (0: not given)
}

// generationConfigKeys maps the keys vLLM takes from a generation config
// to Nuri's sampler flags.
var generationConfigKeys = map[string]string{
	"temperature": "temp", "top_k": "top-k", "top_p": "top-p", "min_p": "min-p",
	"repetition_penalty": "repeat-penalty", "presence_penalty": "presence-penalty", "frequency_penalty": "frequency-penalty",
}

// parseGenerationConfig reads --override-generation-config's JSON; keys
// Nuri has no sampler for are returned to be logged, as vLLM drops them.
func parseGenerationConfig(s string) (generationConfig, []string, error) {
	g := generationConfig{sampling: map[string]float64{}}
	var raw map[string]any
	if err := json.Unmarshal([]byte(s), &raw); err != nil {
		return g, nil, fmt.Errorf("want a JSON object such as {\"temperature\": 0.6}: %w", err)
	}
	var unused []string
	for k, v := range raw {
		name, ok := generationConfigKeys[k]
		if !ok && k != "max_new_tokens" {
			unused = append(unused, k)
			continue
		}
		x, ok := v.(float64)
		if !ok {
			return g, nil, fmt.Errorf("%s: want a number, got %v", k, v)
		}
		switch {
		case k == "max_new_tokens":
			if x < 1 || x != math.Trunc(x) || x > math.MaxInt32 {
				return g, nil, fmt.Errorf("max_new_tokens: want a positive whole number, got %v", x)
			}
			g.maxNew = int(x)
		case name == "top-k" && x != math.Trunc(x):
			return g, nil, fmt.Errorf("top_k: want a whole number, got %v", x)
		default:
			g.sampling[name] = x
		}
	}
	sort.Strings(unused)
	return g, unused, nil
}

// apply sets g's sampler settings as flags of fs (so overlay writes them),
// refusing one the command line gives too.
func (g generationConfig) apply(fs *flag.FlagSet, set map[string]bool) error {
	names := make([]string, 0, len(g.sampling))
	for n := range g.sampling {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if set[n] {
			return fmt.Errorf("--%s and --override-generation-config both set it; give one", n)
		}
		if err := fs.Set(n, fmt.Sprint(g.sampling[n])); err != nil {
			return fmt.Errorf("%s: %w", n, err)
		}
		set[n] = true
	}
	return nil
}

// generationConfigMode reads vLLM's --generation-config: auto (the
// model's recommended sampling, which a GGUF holds in general.sampling.*)
// or vllm (none: llama.cpp's defaults, as vLLM's own).
func generationConfigMode(v string) (modelSampling bool, err error) {
	switch v {
	case "auto":
		return true, nil
	case "vllm":
		return false, nil
	}
	if st, err := os.Stat(v); err == nil && st.IsDir() {
		return false, fmt.Errorf("%s: a GGUF carries its model's generation settings (general.sampling.*); Nuri reads no generation_config.json folder, so give auto, vllm or --override-generation-config", v)
	}
	return false, fmt.Errorf("want auto or vllm, got %q", v)
}

// flagSet reports whether a sampler flag is set, by the names overlay
// asks for ("seed" covers -s).
func flagSet(set map[string]bool) func(string) bool {
	return func(name string) bool {
		if name == "seed" {
			return set["seed"] || set["s"]
		}
		return set[name]
	}
}
