package synth

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"sync"

	"github.com/nuri-ai/nuri/gguf"
	"github.com/nuri-ai/nuri/quant"
)

// Options say what to synthesize.
type Options struct {
	Shape Shape
	// Type is a quantization recipe as llama-quantize names it: a single
	// type (F32, F16, BF16, Q4_0, Q8_0, Q6_K, ...) or a mix (Q4_K_M, Q5_K_M).
	Type    string
	Seed    uint64
	Workers int // goroutines generating and quantizing; 0 means GOMAXPROCS
	// Progress, if set, is called from the writing goroutine after each
	// chunk with the elements written so far and the total.
	Progress func(done, total uint64)
	// Fits are faster scale searches with the Go loops' bits
	// (quant.Quantizer's; kernels.VecOps.Fits): the file is the same
	// either way.
	Fits quant.Fits
}

// Planned is a tensor with the type it is stored in.
type Planned struct {
	Tensor
	Type quant.Type
}

// Plan returns the tensors of s with the types recipe typeName gives them
// (llama-quantize's choices, with its fallbacks for rows that do not fit a
// type's blocks) and the recipe itself.
func Plan(s Shape, typeName string) ([]Planned, quant.Mix, error) {
	mix, err := quant.ParseMix(typeName)
	if err != nil {
		return nil, quant.Mix{}, err
	}
	ts := s.Tensors()
	specs := make([]quant.TensorSpec, len(ts))
	for i, t := range ts {
		specs[i] = quant.TensorSpec{Name: t.Name, Dims: t.Dims, Type: quant.F32}
	}
	model := quant.MixModel{Arch: s.Arch, NLayer: s.Layers, NHead: s.Heads, NHeadKV: s.KVHeads, NExpert: s.Experts}
	types, err := mix.PlanTypes(model, specs, quant.PlanOptions{Fallback: quant.FallbackAuto})
	if err != nil {
		return nil, quant.Mix{}, err
	}
	out := make([]Planned, len(ts))
	for i, t := range ts {
		if !quant.Supported(types[i]) {
			return nil, quant.Mix{}, fmt.Errorf("tensor %s: type %v cannot be quantized", t.Name, types[i])
		}
		out[i] = Planned{Tensor: t, Type: types[i]}
	}
	return out, mix, nil
}

// metadata returns the key/value pairs of the model, in the order
// llama.cpp's converter writes them.
func metadata(s Shape, mix quant.Mix, v *vocab) []gguf.KV {
	a := s.Arch + "."
	kv := []gguf.KV{
		{Key: "general.architecture", Value: gguf.String(s.Arch)},
		{Key: "general.name", Value: gguf.String("nuri-synth " + s.Name)},
		{Key: a + "context_length", Value: gguf.Uint32(uint32(s.Ctx))},
		{Key: a + "embedding_length", Value: gguf.Uint32(uint32(s.Embd))},
		{Key: a + "block_count", Value: gguf.Uint32(uint32(s.Layers))},
		{Key: a + "feed_forward_length", Value: gguf.Uint32(uint32(s.FF))},
		{Key: a + "attention.head_count", Value: gguf.Uint32(uint32(s.Heads))},
		{Key: a + "attention.head_count_kv", Value: gguf.Uint32(uint32(s.KVHeads))},
	}
	if s.Experts > 0 {
		kv = append(kv,
			gguf.KV{Key: a + "expert_count", Value: gguf.Uint32(uint32(s.Experts))},
			gguf.KV{Key: a + "expert_used_count", Value: gguf.Uint32(uint32(s.ExpertsUsed))},
			gguf.KV{Key: a + "expert_feed_forward_length", Value: gguf.Uint32(uint32(s.ExpertFF))})
		if s.SharedFF > 0 {
			kv = append(kv, gguf.KV{Key: a + "expert_shared_feed_forward_length", Value: gguf.Uint32(uint32(s.SharedFF))})
		}
	}
	if s.metaRouting() {
		kv = append(kv, routingKVs(a, s)...)
	}
	if s.SWAWindow > 0 {
		kv = append(kv, gguf.KV{Key: a + "attention.sliding_window", Value: gguf.Uint32(uint32(s.SWAWindow))})
	}
	if s.AttnSoftCap > 0 {
		kv = append(kv, gguf.KV{Key: a + "attn_logit_softcapping", Value: gguf.Float32(s.AttnSoftCap)})
	}
	if s.FinalSoftCap > 0 {
		kv = append(kv, gguf.KV{Key: a + "final_logit_softcapping", Value: gguf.Float32(s.FinalSoftCap)})
	}
	if s.SWAPattern > 0 && s.Arch != "gemma4" {
		kv = append(kv, gguf.KV{Key: a + "attention.sliding_window_pattern", Value: gguf.Uint32(uint32(s.SWAPattern))})
	}
	if s.Arch == "gemma4" {
		kv = append(kv, gemma4KVs(a, s)...)
	}
	if s.Dense > 0 {
		// EmbeddingGemma's: mean pooling, the dense modules' sizes.
		kv = append(kv,
			gguf.KV{Key: a + "pooling_type", Value: gguf.Uint32(1)},
			gguf.KV{Key: a + "dense_2_feat_in", Value: gguf.Uint32(uint32(s.Embd))},
			gguf.KV{Key: a + "dense_2_feat_out", Value: gguf.Uint32(uint32(s.Dense))},
			gguf.KV{Key: a + "dense_3_feat_in", Value: gguf.Uint32(uint32(s.Dense))},
			gguf.KV{Key: a + "dense_3_feat_out", Value: gguf.Uint32(uint32(s.Embd))})
	}
	switch {
	case s.KVLoRA > 0:
		// As llama.cpp's converter writes MLA: the attention seen as MQA
		// over the latent (key: latent + rotated part; value: latent) and
		// the heads' own sizes as *_mla.
		kv = append(kv,
			gguf.KV{Key: a + "attention.kv_lora_rank", Value: gguf.Uint32(uint32(s.KVLoRA))},
			gguf.KV{Key: a + "attention.key_length", Value: gguf.Uint32(uint32(s.KVLoRA + s.RopeDim))},
			gguf.KV{Key: a + "attention.value_length", Value: gguf.Uint32(uint32(s.KVLoRA))},
			gguf.KV{Key: a + "attention.key_length_mla", Value: gguf.Uint32(uint32(s.HeadDim))},
			gguf.KV{Key: a + "attention.value_length_mla", Value: gguf.Uint32(uint32(s.VDim))})
		if s.QLoRA > 0 {
			kv = append(kv, gguf.KV{Key: a + "attention.q_lora_rank", Value: gguf.Uint32(uint32(s.QLoRA))})
		}
		if s.YaRNFactor != 0 {
			kv = append(kv,
				gguf.KV{Key: a + "rope.scaling.type", Value: gguf.String("yarn")},
				gguf.KV{Key: a + "rope.scaling.factor", Value: gguf.Float32(s.YaRNFactor)},
				gguf.KV{Key: a + "rope.scaling.original_context_length", Value: gguf.Uint32(uint32(s.YaRNOrigCtx))},
				// mscale_all_dim 1, written ×0.1 as the converter does.
				gguf.KV{Key: a + "rope.scaling.yarn_log_multiplier", Value: gguf.Float32(0.1)})
		}
	case s.Arch == "gemma4": // gemma4KVs
	case s.YaRNFactor != 0:
		// Ministral 3's YaRN (the converter's rope parameters) and its
		// attention temperature.
		kv = append(kv,
			gguf.KV{Key: a + "rope.scaling.type", Value: gguf.String("yarn")},
			gguf.KV{Key: a + "rope.scaling.factor", Value: gguf.Float32(s.YaRNFactor)},
			gguf.KV{Key: a + "rope.scaling.original_context_length", Value: gguf.Uint32(uint32(s.YaRNOrigCtx))},
			gguf.KV{Key: a + "rope.scaling.yarn_beta_fast", Value: gguf.Float32(s.YaRNBetaFast)},
			gguf.KV{Key: a + "rope.scaling.yarn_beta_slow", Value: gguf.Float32(s.YaRNBetaSlow)},
			gguf.KV{Key: a + "rope.scaling.yarn_log_multiplier", Value: gguf.Float32(s.YaRNLogMul)})
		if s.AttnTemp != 0 {
			kv = append(kv, gguf.KV{Key: a + "attention.temperature_scale", Value: gguf.Float32(s.AttnTemp)})
		}
	case s.HeadDim*s.Heads != s.Embd:
		kv = append(kv,
			gguf.KV{Key: a + "attention.key_length", Value: gguf.Uint32(uint32(s.HeadDim))},
			gguf.KV{Key: a + "attention.value_length", Value: gguf.Uint32(uint32(s.HeadDim))})
	}
	if s.RopeLinear != 0 {
		kv = append(kv,
			gguf.KV{Key: a + "rope.scaling.type", Value: gguf.String("linear")},
			gguf.KV{Key: a + "rope.scaling.factor", Value: gguf.Float32(s.RopeLinear)})
	}
	if s.isEncoder() {
		// An encoder: LayerNorm's epsilon, attention both ways, CLS
		// pooling (BGE-M3's; a reranker's rank pooling; mean for the
		// rotating ones), RoPE only in those.
		pooling := uint32(2)
		switch {
		case s.Reranker:
			pooling = 4
		case s.Arch != "bert":
			pooling = 1
		}
		if s.Arch == "modern-bert" {
			kv = append(kv, gguf.KV{Key: a + "hidden_activation", Value: gguf.String("gelu")})
		}
		kv = append(kv,
			gguf.KV{Key: a + "attention.layer_norm_epsilon", Value: gguf.Float32(s.Eps)},
			gguf.KV{Key: a + "attention.causal", Value: gguf.Bool(false)},
			gguf.KV{Key: a + "pooling_type", Value: gguf.Uint32(pooling)},
			gguf.KV{Key: "tokenizer.ggml.token_type_count", Value: gguf.Uint32(bertTypes)},
			gguf.KV{Key: a + "vocab_size", Value: gguf.Uint32(uint32(s.Vocab))})
		if s.Arch != "bert" {
			kv = append(kv, gguf.KV{Key: a + "rope.freq_base", Value: gguf.Float32(s.RopeBase)})
		}
		if s.Experts > 0 {
			kv = append(kv, gguf.KV{Key: a + "moe_every_n_layers", Value: gguf.Uint32(2)})
		}
	} else {
		kv = append(kv,
			gguf.KV{Key: a + "rope.freq_base", Value: gguf.Float32(s.RopeBase)},
			gguf.KV{Key: a + "attention.layer_norm_rms_epsilon", Value: gguf.Float32(s.Eps)},
			gguf.KV{Key: a + "vocab_size", Value: gguf.Uint32(uint32(s.Vocab))},
			gguf.KV{Key: a + "rope.dimension_count", Value: gguf.Uint32(uint32(s.ropeDims()))})
	}
	kv = append(kv,
		gguf.KV{Key: "tokenizer.ggml.model", Value: gguf.String("gpt2")},
		gguf.KV{Key: "tokenizer.ggml.pre", Value: gguf.String("default")},
		gguf.KV{Key: "tokenizer.ggml.tokens", Value: gguf.Strings(v.tokens)},
		gguf.KV{Key: "tokenizer.ggml.token_type", Value: gguf.Int32s(v.types)},
		gguf.KV{Key: "tokenizer.ggml.merges", Value: gguf.Strings(v.merges)},
		gguf.KV{Key: "tokenizer.ggml.bos_token_id", Value: gguf.Uint32(v.bos)},
		gguf.KV{Key: "tokenizer.ggml.eos_token_id", Value: gguf.Uint32(v.eos)},
		gguf.KV{Key: "tokenizer.ggml.add_bos_token", Value: gguf.Bool(true)},
	)
	if mix.Default.Traits().Quantized {
		kv = append(kv, gguf.KV{Key: "general.quantization_version", Value: gguf.Uint32(2)})
	}
	if mix.HasFileType {
		kv = append(kv, gguf.KV{Key: "general.file_type", Value: gguf.Uint32(mix.FileType)})
	}
	return kv
}

// gemma4KVs are a Gemma 4 shape's own keys, as llama.cpp's converter
// writes them: the window pattern one bool a layer, the KV heads and (with
// DoubleWide) the feed-forward widths one a layer, both head sizes and
// rotated widths, the shared-KV layers and the per-layer embeddings'
// width. They replace the common keys of the same names (Set replaces).
func gemma4KVs(a string, s Shape) []gguf.KV {
	pattern := make([]bool, s.Layers)
	kvHeads := make([]int32, s.Layers)
	ff := make([]int32, s.Layers)
	for l := range pattern {
		pattern[l] = s.gemma4Windowed(l)
		kvHeads[l] = int32(s.KVHeadsGlobal)
		if pattern[l] {
			kvHeads[l] = int32(s.KVHeads)
		}
		ff[l] = int32(s.gemma4FF(l))
	}
	kv := []gguf.KV{
		{Key: a + "attention.sliding_window_pattern", Value: gguf.Bools(pattern)},
		{Key: a + "attention.head_count_kv", Value: gguf.Int32s(kvHeads)},
		{Key: a + "attention.key_length", Value: gguf.Uint32(uint32(s.HeadDimGlobal))},
		{Key: a + "attention.value_length", Value: gguf.Uint32(uint32(s.HeadDimGlobal))},
		{Key: a + "attention.key_length_swa", Value: gguf.Uint32(uint32(s.HeadDim))},
		{Key: a + "attention.value_length_swa", Value: gguf.Uint32(uint32(s.HeadDim))},
		{Key: a + "attention.shared_kv_layers", Value: gguf.Uint32(uint32(s.SharedKV))},
		{Key: a + "embedding_length_per_layer_input", Value: gguf.Uint32(uint32(s.PLE))},
		{Key: a + "rope.freq_base_swa", Value: gguf.Float32(10000)},
		{Key: a + "rope.dimension_count_swa", Value: gguf.Uint32(uint32(s.HeadDim))},
	}
	if s.DoubleWide {
		kv = append(kv, gguf.KV{Key: a + "feed_forward_length", Value: gguf.Int32s(ff)})
	}
	return kv
}

// metaRouting reports whether the architecture reads its experts' routing
// from metadata (DeepSeek-V3's form: K-EXAONE, GLM-4.5, DeepSeek) rather
// than fixing it in its graph.
func (s Shape) metaRouting() bool {
	switch s.Arch {
	case "exaone-moe", "glm4moe", "deepseek2":
		return true
	}
	return false
}

// routingKVs are the routing keys of a metaRouting architecture, as
// llama.cpp's converters write them: shared experts counted in experts'
// widths, dense leading blocks, the weights' scale and normalisation, the
// gating function (1 softmax, 2 sigmoid), expert groups, prediction
// blocks.
func routingKVs(a string, s Shape) []gguf.KV {
	kv := []gguf.KV{
		{Key: a + "expert_shared_count", Value: gguf.Uint32(uint32(s.SharedFF / max(1, s.ExpertFF)))},
		{Key: a + "leading_dense_block_count", Value: gguf.Uint32(uint32(s.DenseLead))},
	}
	if s.ExpertScale != 0 {
		kv = append(kv, gguf.KV{Key: a + "expert_weights_scale", Value: gguf.Float32(s.ExpertScale)})
	}
	if s.ExpertNorm {
		kv = append(kv, gguf.KV{Key: a + "expert_weights_norm", Value: gguf.Bool(true)})
	}
	gating := uint32(1) // LLAMA_EXPERT_GATING_FUNC_TYPE_SOFTMAX
	if s.Sigmoid {
		gating = 2
	}
	kv = append(kv, gguf.KV{Key: a + "expert_gating_func", Value: gguf.Uint32(gating)})
	if s.ExpertGroups > 0 {
		kv = append(kv,
			gguf.KV{Key: a + "expert_group_count", Value: gguf.Uint32(uint32(s.ExpertGroups))},
			gguf.KV{Key: a + "expert_group_used_count", Value: gguf.Uint32(uint32(s.GroupsUsed))})
	}
	if s.NextN > 0 {
		kv = append(kv, gguf.KV{Key: a + "nextn_predict_layers", Value: gguf.Uint32(uint32(s.NextN))})
	}
	return kv
}

// ropeDims is the rotated part of a head: all of it, or RopeDim when set
// (MLA's, glm4moe's partial rotation).
func (s Shape) ropeDims() int {
	if s.Arch == "gemma4" {
		return s.HeadDimGlobal // the rest through rope_freqs
	}
	if s.RopeDim > 0 {
		return s.RopeDim
	}
	return s.HeadDim
}

// Write synthesizes the model into path. A partly written file is removed
// on error.
func Write(path string, opt Options) (err error) {
	w, err := gguf.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path) // best effort; the write error is what matters
		}
	}()
	return write(w, opt)
}

// WriteTo synthesizes the model into out.
func WriteTo(out io.Writer, opt Options) error {
	w := gguf.NewWriter(out)
	if err := write(w, opt); err != nil {
		return err
	}
	return w.Close()
}

// chunkElems is the target number of elements per work item. It is part of
// the output's definition (each chunk has its own random stream), so it
// must not change.
const chunkElems = 1 << 20

type chunk struct {
	t         *Planned
	index     int // chunk number within the tensor
	row0, row int // first row, row count
	res       chan result
}

type result struct {
	data  []byte
	elems uint64
	err   error
}

func write(w *gguf.Writer, opt Options) error {
	s := opt.Shape
	plan, mix, err := Plan(s, opt.Type)
	if err != nil {
		return err
	}
	v, err := newVocab(s.Vocab)
	if err != nil {
		return err
	}
	for _, kv := range metadata(s, mix, v) {
		if err := w.Set(kv.Key, kv.Value); err != nil {
			return err
		}
	}
	var total uint64
	for i := range plan {
		p := &plan[i]
		if err := w.AddTensor(p.Name, p.Type, p.Dims...); err != nil {
			return err
		}
		total += elements(p.Dims)
	}

	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	ctx, cancel := context.WithCancel(context.Background())
	jobs := make(chan *chunk)
	order := make(chan *chunk, 2*workers+2) // bounds the chunks in memory
	go produce(ctx, plan, jobs, order)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var scratch []float32
			q := &quant.Quantizer{Fits: opt.Fits}
			for c := range jobs {
				c.res <- c.compute(opt.Seed, &scratch, q)
			}
		}()
	}
	defer func() {
		cancel()
		for range order { // unblock the producer so it can exit
		}
		wg.Wait()
	}()

	var done uint64
	for c := range order {
		r := <-c.res
		if r.err != nil {
			return r.err
		}
		if _, err := w.Write(r.data); err != nil {
			return err
		}
		done += r.elems
		if opt.Progress != nil {
			opt.Progress(done, total)
		}
	}
	if done != total {
		return errors.New("synth: internal error: not every chunk was written")
	}
	return nil
}

// produce splits every tensor into row chunks and hands them to the workers,
// queueing each in order for the writer first.
func produce(ctx context.Context, plan []Planned, jobs, order chan<- *chunk) {
	defer close(order)
	defer close(jobs)
	for i := range plan {
		p := &plan[i]
		cols := p.Dims[0]
		rows := elements(p.Dims) / max(cols, 1)
		step := max(1, uint64(chunkElems)/max(cols, 1))
		for r, k := uint64(0), 0; r < rows; r, k = r+step, k+1 {
			c := &chunk{t: p, index: k, row0: int(r), row: int(min(step, rows-r)), res: make(chan result, 1)}
			select {
			case order <- c:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- c:
			case <-ctx.Done():
				return
			}
		}
	}
}

// compute generates and quantizes one chunk.
func (c *chunk) compute(seed uint64, scratch *[]float32, q *quant.Quantizer) result {
	cols := int(c.t.Dims[0])
	n := c.row * cols
	if cap(*scratch) < n {
		*scratch = make([]float32, n)
	}
	src := (*scratch)[:n]
	switch {
	case c.t.Values != nil:
		copy(src, c.t.Values[c.row0*cols:])
	case c.t.IsNorm():
		for i := range src {
			src[i] = 1
		}
	case c.t.Jitter:
		fill(src, seed, c.t.Name, c.index)
		base := c.t.Base
		if base == 0 {
			base = 1
		}
		for i := range src {
			src[i] = base * (1 + float32(5*src[i])) // the same bits on every architecture
		}
	case c.t.Bias:
		// A router's selection bias or a shared expert's gate: large
		// enough (σ 0.1 against probabilities that differ by about as
		// much) to change choices.
		fill(src, seed, c.t.Name, c.index)
		for i := range src {
			src[i] *= 5
		}
	default:
		fill(src, seed, c.t.Name, c.index)
		if c.t.Scale != 0 {
			for i := range src {
				src[i] *= c.t.Scale
			}
		}
	}
	rowBytes, err := c.t.Type.RowBytes(cols)
	if err != nil {
		return result{err: fmt.Errorf("synth: tensor %s: %w", c.t.Name, err)}
	}
	out := make([]byte, rowBytes*c.row)
	if err := q.QuantizeRow(c.t.Type, src, out, nil); err != nil {
		return result{err: fmt.Errorf("synth: tensor %s: %w", c.t.Name, err)}
	}
	return result{data: out, elems: uint64(n)}
}

// weightStd is the standard deviation of the random weights, a typical
// initialisation scale that keeps activations finite through many layers.
const weightStd = 0.02

// fill writes normal-ish values (mean 0, standard deviation weightStd) from
// the stream of (seed, tensor name, chunk). Each value is the sum of four
// 16-bit uniforms (Irwin–Hall), which is close to a Gaussian, bounded at
// ±3.5σ, and costs one generator step.
func fill(dst []float32, seed uint64, name string, index int) {
	h := fnv.New64a()
	h.Write([]byte(name))
	rng := rand.NewPCG(seed^h.Sum64(), uint64(index))
	const mean = 4 * 65535.0 / 2
	scale := weightStd / (65536 / math.Sqrt(3))
	for i := range dst {
		x := rng.Uint64()
		sum := (x & 0xFFFF) + (x >> 16 & 0xFFFF) + (x >> 32 & 0xFFFF) + (x >> 48)
		dst[i] = float32((float64(sum) - mean) * scale)
	}
}

func elements(dims []uint64) uint64 {
	n := uint64(1)
	for _, d := range dims {
		n *= d
	}
	return n
}
