package synth

import (
	"fmt"
	"sort"
	"strings"
)

// Shape is a model's architecture and hyper-parameters.
type Shape struct {
	Name     string
	Arch     string // general.architecture
	Embd     int    // embedding_length
	Layers   int    // block_count
	Heads    int    // attention.head_count
	KVHeads  int    // attention.head_count_kv
	HeadDim  int    // key_length = value_length
	FF       int    // feed_forward_length
	Vocab    int
	Ctx      int // context_length
	RopeBase float32
	Eps      float32 // attention.layer_norm_rms_epsilon
	Tied     bool    // no output.weight: the output projection reuses token_embd
	QKNorm   bool    // per-head attn_q_norm / attn_k_norm (qwen3, exaone4)
	PostNorm bool    // exaone4: post_attention_norm / post_ffw_norm instead of attn_norm / ffn_norm
	// SandwichNorm: Gemma 3's norms before and after each sub-layer
	// (attn_norm, post_attention_norm, ffn_norm, post_ffw_norm).
	SandwichNorm bool
	// RopeLinear: linear RoPE scaling by this factor (0: none); Gemma 3
	// applies it to its global layers only.
	RopeLinear float32
	// AttnSoftCap, FinalSoftCap: Gemma 2's soft caps of the attention
	// scores and the logits (0: the key is not written).
	AttnSoftCap, FinalSoftCap float32
	// Mixture of experts (qwen3moe): Experts feed-forward blocks of
	// ExpertFF a layer in place of the dense one, ExpertsUsed of them
	// chosen for each token by a router (ffn_gate_inp).
	Experts, ExpertsUsed, ExpertFF int
	// A shared expert of SharedFF every token takes (qwen2moe: behind a
	// sigmoid gate, ffn_gate_inp_shexp, random). K-EXAONE (exaone-moe)
	// besides: the first DenseLead blocks dense, the last NextN of
	// Layers blocks multi-token prediction blocks (stored, never run), a
	// router selection bias (exp_probs_b, random), sigmoid gating,
	// normalised weights scaled by ExpertScale; sliding-window attention
	// of SWAWindow in three layers of every four.
	SharedFF, DenseLead, NextN int
	ExpertScale                float32
	SWAWindow                  int
	// SWAPattern, when set, is written as attention.sliding_window_pattern
	// (one global layer in every SWAPattern).
	SWAPattern int
	// DeepSeek-V2/V3 (deepseek2): multi-head latent attention with a KV
	// latent of KVLoRA, RopeDim of each HeadDim-wide query/key head
	// rotated, V heads of VDim, queries through a QLoRA-wide latent (0:
	// straight from the stream, the "lite" form); routing by sigmoid or
	// softmax, with a selection bias, normalised weights and ExpertGroups
	// groups of which GroupsUsed are searched (0: no groups); YaRN
	// scaling by YaRNFactor (0: none) over YaRNOrigCtx positions.
	KVLoRA, QLoRA, RopeDim, VDim int
	Sigmoid, ExpertBias          bool
	ExpertNorm                   bool
	ExpertGroups, GroupsUsed     int
	YaRNFactor                   float32
	YaRNOrigCtx                  int
	// Reranker: an encoder with RoBERTa's classification head (cls.weight
	// and cls.bias, then cls.output with one output), as a cross-encoder
	// such as BGE's reranker ships.
	Reranker bool
	// Dense: a sentence-transformers model's projections after pooling,
	// dense_2 (the embedding to Dense) and dense_3 (back), as
	// EmbeddingGemma ships them (0: none).
	Dense int
	// Gemma 4 (gemma4Tensors): the global layers' heads of HeadDimGlobal
	// and KVHeadsGlobal KV heads (HeadDim and KVHeads are the windowed
	// layers'), a fraction RopeGlobal of each global head rotated
	// ("proportional" RoPE through rope_freqs); KEqV: the global layers
	// have no attn_v (V is K); the last SharedKV layers read earlier
	// layers' caches, their feed-forward blocks twice as wide when
	// DoubleWide; per-layer embeddings of PLE a layer (0: none). Its
	// norms and scales are 1 ± 0.1, not 1, so that each is tested.
	HeadDimGlobal, KVHeadsGlobal int
	RopeGlobal                   float32
	KEqV, DoubleWide             bool
	SharedKV, PLE                int
	// Ministral 3 (mistral3): YaRN's betas and log multiplier as the file
	// gives them (with YaRNFactor and YaRNOrigCtx), and the attention
	// temperature (attention.temperature_scale; 0: none).
	YaRNBetaFast, YaRNBetaSlow, YaRNLogMul, AttnTemp float32
	// AttnScale multiplies an encoder's attention matrices' random values
	// (0: 1), so that attention moves its hidden states enough for a
	// comparison to see how it was computed.
	AttnScale float32
}

// shapeTable lists the named shapes. The hyper-parameters are those of the
// public models (rope bases and epsilons from their configs where known);
// context lengths are capped at 4096, which only sets the default KV size.
func shapeTable() []Shape {
	return []Shape{
		// tiny mirrors the golden test models (256-wide so every row fits
		// the 256-element K-quant blocks); untied so output.weight is covered.
		{Name: "tiny", Arch: "llama", Embd: 256, Layers: 2, Heads: 4, KVHeads: 2, HeadDim: 64, FF: 512,
			Vocab: 512, Ctx: 512, RopeBase: 10000, Eps: 1e-5},
		{Name: "llama-1b", Arch: "llama", Embd: 2048, Layers: 16, Heads: 32, KVHeads: 8, HeadDim: 64, FF: 8192,
			Vocab: 128256, Ctx: 4096, RopeBase: 500000, Eps: 1e-5, Tied: true},
		{Name: "exaone4-1.2b", Arch: "exaone4", Embd: 2048, Layers: 30, Heads: 32, KVHeads: 8, HeadDim: 64, FF: 4096,
			Vocab: 102400, Ctx: 4096, RopeBase: 1000000, Eps: 1e-5, Tied: true, QKNorm: true, PostNorm: true},
		{Name: "exaone-2.4b", Arch: "exaone", Embd: 2560, Layers: 30, Heads: 32, KVHeads: 8, HeadDim: 80, FF: 7168,
			Vocab: 102400, Ctx: 4096, RopeBase: 1000000, Eps: 1e-5, Tied: true},
		// moe-tiny is tiny's qwen3moe counterpart: 4 experts, 2 a token.
		{Name: "moe-tiny", Arch: "qwen3moe", Embd: 256, Layers: 2, Heads: 4, KVHeads: 2, HeadDim: 64, FF: 512,
			Vocab: 512, Ctx: 512, RopeBase: 1000000, Eps: 1e-6, QKNorm: true, Experts: 4, ExpertsUsed: 2, ExpertFF: 256},
		// qwen2moe-tiny: Qwen1.5-MoE's form (unnormalised weights, a shared
		// expert behind a sigmoid gate); mixtral-tiny: experts in a llama
		// file, each feed_forward_length wide.
		{Name: "qwen2moe-tiny", Arch: "qwen2moe", Embd: 256, Layers: 2, Heads: 4, KVHeads: 2, HeadDim: 64, FF: 512,
			Vocab: 512, Ctx: 512, RopeBase: 1000000, Eps: 1e-6, Experts: 4, ExpertsUsed: 2, ExpertFF: 128, SharedFF: 256},
		{Name: "mixtral-tiny", Arch: "llama", Embd: 256, Layers: 2, Heads: 4, KVHeads: 2, HeadDim: 64, FF: 256,
			Vocab: 512, Ctx: 512, RopeBase: 1000000, Eps: 1e-5, Experts: 4, ExpertsUsed: 2, ExpertFF: 256},
		// Qwen3-30B-A3B's layer, 8 of its 48 layers and 32 of its 128
		// experts (8 a token, as there): a decode step reads per layer what
		// the full model's does, from a file (Q4_K_M, about 1.2 GB) this
		// machine writes in minutes.
		{Name: "qwen3moe-a3b-8l", Arch: "qwen3moe", Embd: 2048, Layers: 8, Heads: 32, KVHeads: 4, HeadDim: 128, FF: 6144,
			Vocab: 151936, Ctx: 4096, RopeBase: 1000000, Eps: 1e-6, QKNorm: true, Experts: 32, ExpertsUsed: 8, ExpertFF: 768},
		// exaone-moe-tiny is K-EXAONE's block at tiny's size: 8 experts, 3 a
		// token plus a shared one, a dense first block, a window of 16
		// (so a 64-token prompt crosses it), one prediction block.
		{Name: "exaone-moe-tiny", Arch: "exaone-moe", Embd: 256, Layers: 5, Heads: 4, KVHeads: 2, HeadDim: 64, FF: 512,
			Vocab: 512, Ctx: 512, RopeBase: 1000000, Eps: 1e-5, QKNorm: true, Experts: 8, ExpertsUsed: 3, ExpertFF: 128,
			SharedFF: 128, DenseLead: 1, NextN: 1, ExpertScale: 2.5, SWAWindow: 16, ExpertBias: true, Sigmoid: true, ExpertNorm: true},
		// kanana2-tiny is Kanana-2-30B-A3B's form (DeepSeek-V2 "lite":
		// queries straight from the stream, softmax routing) at a tiny
		// width; llama.cpp recognises the lite form by its layer count, 26
		// being one of them.
		{Name: "kanana2-tiny", Arch: "deepseek2", Embd: 256, Layers: 26, Heads: 4, KVHeads: 1, HeadDim: 96, FF: 512,
			Vocab: 512, Ctx: 512, RopeBase: 10000, Eps: 1e-6, Experts: 4, ExpertsUsed: 2, ExpertFF: 64,
			SharedFF: 64, DenseLead: 1, KVLoRA: 128, RopeDim: 32, VDim: 64, ExpertNorm: true},
		// deepseek3-tiny is DeepSeek-V3's form: a query latent, sigmoid
		// routing with a selection bias over 4 groups of 2 experts (2
		// groups searched), normalised weights scaled 2.5, YaRN ×4.
		{Name: "deepseek3-tiny", Arch: "deepseek2", Embd: 256, Layers: 3, Heads: 4, KVHeads: 1, HeadDim: 96, FF: 512,
			Vocab: 512, Ctx: 512, RopeBase: 10000, Eps: 1e-6, Experts: 8, ExpertsUsed: 3, ExpertFF: 64,
			SharedFF: 64, DenseLead: 1, KVLoRA: 128, QLoRA: 96, RopeDim: 32, VDim: 64, Sigmoid: true, ExpertBias: true,
			ExpertNorm: true, ExpertScale: 2.5, ExpertGroups: 4, GroupsUsed: 2, YaRNFactor: 4, YaRNOrigCtx: 128},
		// deepseek2-lite-8l: DeepSeek-V2-Lite's layer (Kanana-2's form:
		// latent 512, 16 heads of 128+64, 64 experts of 1408, 6 a token,
		// 2 shared), 8 of its 27 layers, for benchmarks (llama.cpp, which
		// takes the lite form from the layer count, would not load it).
		{Name: "deepseek2-lite-8l", Arch: "deepseek2", Embd: 2048, Layers: 8, Heads: 16, KVHeads: 1, HeadDim: 192, FF: 10944,
			Vocab: 102400, Ctx: 4096, RopeBase: 10000, Eps: 1e-6, Experts: 64, ExpertsUsed: 6, ExpertFF: 1408,
			SharedFF: 2816, DenseLead: 1, KVLoRA: 512, RopeDim: 64, VDim: 128},
		// glm4moe-tiny is Upstage's Solar Open (GLM-4.5's form) at a tiny
		// size: half of each head rotated, sigmoid routing with a bias, a
		// shared expert, a dense first block, one prediction block (its
		// FFN a mixture, as llama.cpp loads it).
		{Name: "glm4moe-tiny", Arch: "glm4moe", Embd: 256, Layers: 4, Heads: 4, KVHeads: 2, HeadDim: 64, FF: 512,
			Vocab: 512, Ctx: 512, RopeBase: 1000000, Eps: 1e-5, Experts: 8, ExpertsUsed: 2, ExpertFF: 128,
			SharedFF: 128, DenseLead: 1, NextN: 1, RopeDim: 32, Sigmoid: true, ExpertBias: true, ExpertNorm: true, ExpertScale: 1.5},
		// gemma3-tiny is Gemma 3's block at tiny's size: one KV head,
		// heads wider than the embedding splits (4×96 for 256), a window
		// of 16 in two layers of three (a 64-token prompt crosses it,
		// layer 2 global; Gemma 3's own period is 6), linear RoPE scaling
		// ×8 on the global layers as the 4B and larger have.
		{Name: "gemma3-tiny", Arch: "gemma3", Embd: 256, Layers: 4, Heads: 4, KVHeads: 1, HeadDim: 96, FF: 512,
			Vocab: 512, Ctx: 512, RopeBase: 1000000, Eps: 1e-6, Tied: true, QKNorm: true, SandwichNorm: true, SWAWindow: 16,
			SWAPattern: 3, RopeLinear: 8},
		// embeddinggemma-tiny is EmbeddingGemma's form at gemma3-tiny's
		// size: Gemma 3's block run both ways, a window of 16 (8 either
		// way) in two layers of three, mean pooling, projections to 384
		// and back.
		{Name: "embeddinggemma-tiny", Arch: "gemma-embedding", Embd: 256, Layers: 4, Heads: 4, KVHeads: 1, HeadDim: 96, FF: 512,
			Vocab: 512, Ctx: 512, RopeBase: 1000000, Eps: 1e-6, Tied: true, QKNorm: true, SandwichNorm: true, SWAWindow: 16,
			SWAPattern: 3, Dense: 384},
		// gemma2-tiny is Gemma 2's block at tiny's size: every other layer
		// windowed (16: a 64-token prompt crosses it), soft caps small
		// enough to bend the random model's scores (0.5) and logits (1)
		// well away from linear (the real models' are 50 and 30).
		{Name: "gemma2-tiny", Arch: "gemma2", Embd: 256, Layers: 4, Heads: 4, KVHeads: 2, HeadDim: 64, FF: 512,
			Vocab: 512, Ctx: 512, RopeBase: 10000, Eps: 1e-6, Tied: true, SandwichNorm: true, SWAWindow: 16,
			AttnSoftCap: 0.5, FinalSoftCap: 1},
		// gemma-2-2b: 8 heads of 256 over 2304, 4 KV heads, a
		// 256000-token vocabulary, the real soft caps.
		{Name: "gemma2-2b", Arch: "gemma2", Embd: 2304, Layers: 26, Heads: 8, KVHeads: 4, HeadDim: 256, FF: 9216,
			Vocab: 256000, Ctx: 4096, RopeBase: 10000, Eps: 1e-6, Tied: true, SandwichNorm: true, SWAWindow: 4096,
			AttnSoftCap: 50, FinalSoftCap: 30},
		// gemma-3-1b: 4 heads of 256 over a 1152 embedding, one KV head,
		// a 262144-token vocabulary, a window of 512.
		{Name: "gemma3-1b", Arch: "gemma3", Embd: 1152, Layers: 26, Heads: 4, KVHeads: 1, HeadDim: 256, FF: 6912,
			Vocab: 262144, Ctx: 4096, RopeBase: 1000000, Eps: 1e-6, Tied: true, QKNorm: true, SandwichNorm: true, SWAWindow: 512},
		// mistral3-tiny is Ministral 3's form: llama's block with YaRN ×4
		// over 16 original positions (betas 16 and 2, log multiplier 1)
		// and an attention temperature of 0.1, which a 64-token prompt
		// raises three times.
		{Name: "mistral3-tiny", Arch: "mistral3", Embd: 256, Layers: 2, Heads: 4, KVHeads: 2, HeadDim: 64, FF: 512,
			Vocab: 512, Ctx: 512, RopeBase: 1000000, Eps: 1e-5, YaRNFactor: 4, YaRNOrigCtx: 16,
			YaRNBetaFast: 16, YaRNBetaSlow: 2, YaRNLogMul: 1, AttnTemp: 0.1},
		// gemma4-tiny is Gemma 4 31B's form at a tiny size: windowed
		// layers of two 64-wide KV heads, global ones of one 128-wide
		// head without attn_v, a quarter of it rotated; a window of 16 in
		// two layers of three; soft-capped logits.
		{Name: "gemma4-tiny", Arch: "gemma4", Embd: 256, Layers: 6, Heads: 4, KVHeads: 2, HeadDim: 64, FF: 512,
			Vocab: 512, Ctx: 512, RopeBase: 1000000, Eps: 1e-6, Tied: true, SWAWindow: 16, SWAPattern: 3,
			HeadDimGlobal: 128, KVHeadsGlobal: 1, RopeGlobal: 0.25, KEqV: true, FinalSoftCap: 2},
		// gemma4-e-tiny is Gemma 4 E2B's form: per-layer embeddings of 64,
		// the last three layers reading the caches of layers 4 (windowed)
		// and 5 (global) with feed-forward blocks twice as wide, V
		// projections everywhere.
		{Name: "gemma4-e-tiny", Arch: "gemma4", Embd: 256, Layers: 9, Heads: 4, KVHeads: 1, HeadDim: 64, FF: 256,
			Vocab: 512, Ctx: 512, RopeBase: 1000000, Eps: 1e-6, Tied: true, SWAWindow: 16, SWAPattern: 3,
			HeadDimGlobal: 128, KVHeadsGlobal: 1, RopeGlobal: 0.25, SharedKV: 3, DoubleWide: true, PLE: 64, FinalSoftCap: 2},
		// gemma4-moe-tiny is Gemma 4 26B-A4B's form: a dense GELU block
		// beside 8 experts, 2 a token, in every layer.
		{Name: "gemma4-moe-tiny", Arch: "gemma4", Embd: 256, Layers: 4, Heads: 4, KVHeads: 2, HeadDim: 64, FF: 256,
			Vocab: 512, Ctx: 512, RopeBase: 1000000, Eps: 1e-6, Tied: true, SWAWindow: 16, SWAPattern: 3,
			HeadDimGlobal: 128, KVHeadsGlobal: 1, RopeGlobal: 0.25, KEqV: true, FinalSoftCap: 2,
			Experts: 8, ExpertsUsed: 2, ExpertFF: 128},
		// gemma4-e2b: Gemma 4 E2B (35 layers of 8 heads over 1536, one KV
		// head of 256 windowed and 512 global, a window of 512 in four
		// layers of five, the last 20 layers on shared caches with FFNs of
		// 12288, per-layer embeddings of 256 from a 262144-token table).
		{Name: "gemma4-e2b", Arch: "gemma4", Embd: 1536, Layers: 35, Heads: 8, KVHeads: 1, HeadDim: 256, FF: 6144,
			Vocab: 262144, Ctx: 4096, RopeBase: 1000000, Eps: 1e-6, Tied: true, SWAWindow: 512, SWAPattern: 5,
			HeadDimGlobal: 512, KVHeadsGlobal: 1, RopeGlobal: 0.25, SharedKV: 20, DoubleWide: true, PLE: 256, FinalSoftCap: 30},
		// bert-tiny is a BERT/XLM-RoBERTa encoder (BGE-M3's form) at
		// tiny's size: learned positions, two token types, LayerNorms
		// with biases, q/k/v/output and FFN biases, GELU.
		{Name: "bert-tiny", Arch: "bert", Embd: 256, Layers: 3, Heads: 4, KVHeads: 4, HeadDim: 64, FF: 512,
			Vocab: 512, Ctx: 128, Eps: 1e-5},
		// jina-bert-v3-tiny and nomic-bert-tiny are bert-tiny's size in
		// those forms: RoPE instead of position rows (bases 20000 and
		// 1000), q, k and v fused; nomic-bert's FFN SiLU-gated, unbiased.
		// Their attention weights are 8 times bert-tiny's, so that the
		// rotation shows in the hidden states.
		{Name: "jina-bert-v3-tiny", Arch: "jina-bert-v3", Embd: 256, Layers: 3, Heads: 4, KVHeads: 4, HeadDim: 64, FF: 512,
			Vocab: 512, Ctx: 128, Eps: 1e-5, RopeBase: 20000, AttnScale: 8},
		{Name: "nomic-bert-tiny", Arch: "nomic-bert", Embd: 256, Layers: 3, Heads: 4, KVHeads: 4, HeadDim: 64, FF: 512,
			Vocab: 512, Ctx: 128, Eps: 1e-12, RopeBase: 1000, AttnScale: 8},
		// modern-bert-tiny is ModernBERT's form (mmBERT's): a window of 16
		// (8 either way) in layers 1 and 2, layers 0 and 3 global, RoPE
		// bases 160000 (global) and 10000 (windowed, the default), a
		// GELU-gated FFN, no biases, norms of 1 ± 0.1.
		{Name: "modern-bert-tiny", Arch: "modern-bert", Embd: 256, Layers: 4, Heads: 4, KVHeads: 4, HeadDim: 64, FF: 256,
			Vocab: 512, Ctx: 128, Eps: 1e-5, RopeBase: 160000, AttnScale: 8, SWAWindow: 16, SWAPattern: 3},
		// nomic-bert-moe-tiny is nomic-embed-text v2's form: jina-bert-v3-
		// tiny's encoder with 8 GELU experts, 2 a token, in layer 1.
		{Name: "nomic-bert-moe-tiny", Arch: "nomic-bert-moe", Embd: 256, Layers: 3, Heads: 4, KVHeads: 4, HeadDim: 64, FF: 512,
			Vocab: 512, Ctx: 128, Eps: 1e-5, RopeBase: 10000, AttnScale: 8, Experts: 8, ExpertsUsed: 2, ExpertFF: 512},
		// bert-rerank-tiny is bert-tiny with a cross-encoder's head (BGE's
		// reranker's form).
		{Name: "bert-rerank-tiny", Arch: "bert", Embd: 256, Layers: 3, Heads: 4, KVHeads: 4, HeadDim: 64, FF: 512,
			Vocab: 512, Ctx: 128, Eps: 1e-5, Reranker: true},
		// bge-m3: XLM-RoBERTa large (24 layers, 16 heads over 1024, a
		// 250002-token vocabulary, 8192 positions).
		{Name: "bge-m3", Arch: "bert", Embd: 1024, Layers: 24, Heads: 16, KVHeads: 16, HeadDim: 64, FF: 4096,
			Vocab: 250002, Ctx: 8192, Eps: 1e-5},
		{Name: "qwen3-0.6b", Arch: "qwen3", Embd: 1024, Layers: 28, Heads: 16, KVHeads: 8, HeadDim: 128, FF: 3072,
			Vocab: 151936, Ctx: 4096, RopeBase: 1000000, Eps: 1e-6, Tied: true, QKNorm: true},
		// HyperCLOVAX-SEED-Text-Instruct-0.5B: a llama whose q width
		// (16×128 = 2048) differs from the embedding (1024).
		{Name: "hcx-seed-0.5b", Arch: "llama", Embd: 1024, Layers: 24, Heads: 16, KVHeads: 8, HeadDim: 128, FF: 4096,
			Vocab: 110592, Ctx: 4096, RopeBase: 1000000, Eps: 1e-5, Tied: true},
	}
}

// Names returns the shape names, sorted.
func Names() []string {
	var n []string
	for _, s := range shapeTable() {
		n = append(n, s.Name)
	}
	sort.Strings(n)
	return n
}

// Lookup returns the named shape.
func Lookup(name string) (Shape, error) {
	for _, s := range shapeTable() {
		if s.Name == name {
			return s, nil
		}
	}
	return Shape{}, fmt.Errorf("unknown shape %q (known: %s)", name, strings.Join(Names(), ", "))
}

// Tensor is one tensor of a shape: its name and ggml dims (innermost first).
type Tensor struct {
	Name string
	Dims []uint64
	// Bias: a 1-D tensor filled with random values, not a norm's ones.
	Bias bool
	// Jitter: a 1-D tensor filled with 1 ± 0.1 (random), not ones; ×Base
	// when Base is set.
	Jitter bool
	Base   float32
	// Values, when set, are the tensor's contents (F32).
	Values []float32
	// Scale multiplies a matrix's random values (0: 1).
	Scale float32
}

// IsNorm reports whether the tensor is a norm weight (1-D, filled with 1.0).
func (t Tensor) IsNorm() bool { return len(t.Dims) == 1 && !t.Bias && !t.Jitter && t.Values == nil }

// bertTypes is how many token types a synthetic encoder has.
const bertTypes = 2

// encoderTensors lists a BERT encoder's tensors in llama.cpp naming:
// jina-bert-v3 and nomic-bert without position rows (they rotate) and
// with q, k and v fused as their converters write them, nomic-bert with a
// SiLU-gated feed-forward block and no biases but its norms'.
func (s Shape) encoderTensors() []Tensor {
	e, q, ff := uint64(s.Embd), uint64(s.Heads*s.HeadDim), uint64(s.FF)
	ts := []Tensor{
		{Name: "token_embd.weight", Dims: []uint64{e, uint64(s.Vocab)}},
		{Name: "token_types.weight", Dims: []uint64{e, bertTypes}},
	}
	if s.Arch == "bert" {
		ts = append(ts, Tensor{Name: "position_embd.weight", Dims: []uint64{e, uint64(s.Ctx)}})
	}
	ts = append(ts, Tensor{Name: "token_embd_norm.weight", Dims: []uint64{e}},
		Tensor{Name: "token_embd_norm.bias", Dims: []uint64{e}, Bias: true})
	nomic := s.Arch == "nomic-bert"
	for l := 0; l < s.Layers; l++ {
		add := func(name string, dims ...uint64) {
			w := Tensor{Name: fmt.Sprintf("blk.%d.%s.weight", l, name), Dims: dims}
			if strings.HasPrefix(name, "attn_") && len(dims) > 1 {
				w.Scale = s.AttnScale
			}
			ts = append(ts, w)
			if !nomic || len(dims) == 1 { // nomic-bert: its norms' biases only
				ts = append(ts, Tensor{Name: fmt.Sprintf("blk.%d.%s.bias", l, name), Dims: dims[len(dims)-1:], Bias: true})
			}
		}
		if s.Arch == "bert" {
			add("attn_q", e, q)
			add("attn_k", e, q)
			add("attn_v", e, q)
		} else {
			add("attn_qkv", e, 3*q)
		}
		add("attn_output", q, e)
		add("attn_output_norm", e)
		if s.Experts > 0 && l%2 == 1 {
			// nomic-bert-moe: a mixture every other layer (its
			// moe_every_n_layers is 2), the experts without biases.
			ne := uint64(s.Experts)
			ts = append(ts, Tensor{Name: fmt.Sprintf("blk.%d.ffn_gate_inp.weight", l), Dims: []uint64{e, ne}},
				Tensor{Name: fmt.Sprintf("blk.%d.ffn_up_exps.weight", l), Dims: []uint64{e, ff, ne}},
				Tensor{Name: fmt.Sprintf("blk.%d.ffn_down_exps.weight", l), Dims: []uint64{ff, e, ne}})
			add("layer_output_norm", e)
			continue
		}
		if nomic {
			add("ffn_gate", e, ff)
		}
		add("ffn_up", e, ff)
		add("ffn_down", ff, e)
		add("layer_output_norm", e)
	}
	if s.Reranker {
		ts = append(ts,
			Tensor{Name: "cls.weight", Dims: []uint64{e, e}}, Tensor{Name: "cls.bias", Dims: []uint64{e}, Bias: true},
			Tensor{Name: "cls.output.weight", Dims: []uint64{e, 1}}, Tensor{Name: "cls.output.bias", Dims: []uint64{1}, Bias: true})
	}
	return ts
}

// Tensors lists the shape's tensors in llama.cpp naming.
func (s Shape) Tensors() []Tensor {
	switch s.Arch {
	case "bert", "jina-bert-v3", "nomic-bert", "nomic-bert-moe":
		return s.encoderTensors()
	case "modern-bert":
		return s.modernBertTensors()
	case "gemma4":
		return s.gemma4Tensors()
	}
	e, q, kv, hd := uint64(s.Embd), uint64(s.Heads*s.HeadDim), uint64(s.KVHeads*s.HeadDim), uint64(s.HeadDim)
	ff, v := uint64(s.FF), uint64(s.Vocab)
	ts := []Tensor{{Name: "token_embd.weight", Dims: []uint64{e, v}}}
	for l := 0; l < s.Layers; l++ {
		add := func(name string, dims ...uint64) {
			ts = append(ts, Tensor{Name: fmt.Sprintf("blk.%d.%s.weight", l, name), Dims: dims})
		}
		if !s.PostNorm {
			add("attn_norm", e)
		}
		if s.KVLoRA > 0 {
			// Multi-head latent attention, as llama.cpp's converter splits
			// it: kv_b into k_b (transposed, per head) and v_b.
			nh, nope, rope, lat := uint64(s.Heads), uint64(s.HeadDim-s.RopeDim), uint64(s.RopeDim), uint64(s.KVLoRA)
			if s.QLoRA > 0 {
				add("attn_q_a", e, uint64(s.QLoRA))
				add("attn_q_a_norm", uint64(s.QLoRA))
				add("attn_q_b", uint64(s.QLoRA), q)
			} else {
				add("attn_q", e, q)
			}
			add("attn_kv_a_mqa", e, lat+rope)
			add("attn_kv_a_norm", lat)
			add("attn_k_b", nope, lat, nh)
			add("attn_v_b", lat, uint64(s.VDim), nh)
			add("attn_output", nh*uint64(s.VDim), e)
		} else {
			add("attn_q", e, q)
			add("attn_k", e, kv)
			add("attn_v", e, kv)
			if s.QKNorm {
				add("attn_q_norm", hd)
				add("attn_k_norm", hd)
			}
			add("attn_output", q, e)
		}
		switch {
		case s.PostNorm, s.Arch == "glm4moe": // glm4moe's FFN pre-norm has this name
			add("post_attention_norm", e)
		case s.SandwichNorm:
			add("post_attention_norm", e)
			add("ffn_norm", e)
		default:
			add("ffn_norm", e)
		}
		// A prediction block's FFN is dense in exaone-moe, a mixture in
		// glm4moe (as llama.cpp loads them).
		moe := s.Experts > 0 && l >= s.DenseLead && (l < s.Layers-s.NextN || s.Arch == "glm4moe")
		if moe {
			ne, fe := uint64(s.Experts), uint64(s.ExpertFF)
			add("ffn_gate_inp", e, ne)
			if s.Arch == "qwen2moe" {
				ts = append(ts, Tensor{Name: fmt.Sprintf("blk.%d.ffn_gate_inp_shexp.weight", l), Dims: []uint64{e}, Bias: true})
			}
			if s.ExpertBias {
				ts = append(ts, Tensor{Name: fmt.Sprintf("blk.%d.exp_probs_b.bias", l), Dims: []uint64{ne}, Bias: true})
			}
			add("ffn_gate_exps", e, fe, ne)
			add("ffn_up_exps", e, fe, ne)
			add("ffn_down_exps", fe, e, ne)
			if fs := uint64(s.SharedFF); fs > 0 {
				add("ffn_gate_shexp", e, fs)
				add("ffn_up_shexp", e, fs)
				add("ffn_down_shexp", fs, e)
			}
		} else {
			add("ffn_gate", e, ff)
			add("ffn_up", e, ff)
			add("ffn_down", ff, e)
		}
		if s.PostNorm || s.SandwichNorm {
			add("post_ffw_norm", e)
		}
		if l >= s.Layers-s.NextN {
			add("nextn.eh_proj", 2*e, e)
			add("nextn.enorm", e)
			add("nextn.hnorm", e)
			add("nextn.shared_head_norm", e)
		}
	}
	ts = append(ts, Tensor{Name: "output_norm.weight", Dims: []uint64{e}})
	if d := uint64(s.Dense); d > 0 {
		ts = append(ts, Tensor{Name: "dense_2.weight", Dims: []uint64{e, d}}, Tensor{Name: "dense_3.weight", Dims: []uint64{d, e}})
	}
	if !s.Tied {
		ts = append(ts, Tensor{Name: "output.weight", Dims: []uint64{e, v}})
	}
	return ts
}

// Params returns the number of parameters (elements of all tensors).
func (s Shape) Params() uint64 {
	var n uint64
	for _, t := range s.Tensors() {
		p := uint64(1)
		for _, d := range t.Dims {
			p *= d
		}
		n += p
	}
	return n
}

// gemma4Windowed reports whether layer il of a gemma4 shape is windowed:
// all but the last of every SWAPattern layers.
func (s Shape) gemma4Windowed(il int) bool { return il%s.SWAPattern < s.SWAPattern-1 }

// gemma4FF is layer il's feed-forward width.
func (s Shape) gemma4FF(il int) int {
	if s.DoubleWide && il >= s.Layers-s.SharedKV {
		return 2 * s.FF
	}
	return s.FF
}

// gemma4Tensors lists a Gemma 4 shape's tensors in llama.cpp naming.
func (s Shape) gemma4Tensors() []Tensor {
	e, v := uint64(s.Embd), uint64(s.Vocab)
	ts := []Tensor{{Name: "token_embd.weight", Dims: []uint64{e, v}}}
	if p := uint64(s.PLE); p > 0 {
		nl := uint64(s.Layers)
		ts = append(ts,
			Tensor{Name: "per_layer_token_embd.weight", Dims: []uint64{p * nl, v}},
			Tensor{Name: "per_layer_model_proj.weight", Dims: []uint64{e, p * nl}},
			Tensor{Name: "per_layer_proj_norm.weight", Dims: []uint64{p}, Jitter: true})
	}
	// The global layers' rope_freqs: factor 1 for the rotated pairs, 1e30
	// (no rotation) for the rest, as the converter writes it.
	half := s.HeadDimGlobal / 2
	freqs := make([]float32, half)
	for i := range freqs {
		freqs[i] = 1e30
		if i < int(float32(half)*s.RopeGlobal) {
			freqs[i] = 1
		}
	}
	ts = append(ts, Tensor{Name: "rope_freqs.weight", Dims: []uint64{uint64(half)}, Values: freqs})
	for l := 0; l < s.Layers; l++ {
		add := func(name string, dims ...uint64) {
			ts = append(ts, Tensor{Name: fmt.Sprintf("blk.%d.%s", l, name), Dims: dims, Jitter: len(dims) == 1})
		}
		hd, kv := uint64(s.HeadDimGlobal), uint64(s.KVHeadsGlobal)
		if s.gemma4Windowed(l) {
			hd, kv = uint64(s.HeadDim), uint64(s.KVHeads)
		}
		q, ff := uint64(s.Heads)*hd, uint64(s.gemma4FF(l))
		add("attn_norm.weight", e)
		add("attn_q.weight", e, q)
		// Q and K norms of about 0.35 keep the unscaled scores' spread
		// near 1 (at 1 they would be √head wide: a softmax so sharp that
		// rounding differences between runtimes swamp the comparison).
		qkNorm := func(name string) {
			ts = append(ts, Tensor{Name: fmt.Sprintf("blk.%d.%s", l, name), Dims: []uint64{hd}, Jitter: true, Base: 0.35})
		}
		qkNorm("attn_q_norm.weight")
		if l < s.Layers-s.SharedKV {
			add("attn_k.weight", e, kv*hd)
			qkNorm("attn_k_norm.weight")
			if !s.KEqV || s.gemma4Windowed(l) {
				add("attn_v.weight", e, kv*hd)
			}
		}
		add("attn_output.weight", q, e)
		add("post_attention_norm.weight", e)
		add("ffn_norm.weight", e)
		add("ffn_gate.weight", e, ff)
		add("ffn_up.weight", e, ff)
		add("ffn_down.weight", ff, e)
		add("post_ffw_norm.weight", e)
		if s.Experts > 0 {
			ne, fe := uint64(s.Experts), uint64(s.ExpertFF)
			add("ffn_gate_inp.weight", e, ne)
			add("ffn_gate_inp.scale", e)
			add("ffn_gate_exps.weight", e, fe, ne)
			add("ffn_up_exps.weight", e, fe, ne)
			add("ffn_down_exps.weight", fe, e, ne)
			add("ffn_down_exps.scale", ne)
			add("pre_ffw_norm_2.weight", e)
			add("post_ffw_norm_1.weight", e)
			add("post_ffw_norm_2.weight", e)
		}
		if p := uint64(s.PLE); p > 0 {
			add("inp_gate.weight", e, p)
			add("proj.weight", p, e)
			add("post_norm.weight", e)
		}
		add("layer_output_scale.weight", 1)
	}
	ts = append(ts, Tensor{Name: "output_norm.weight", Dims: []uint64{e}, Jitter: true})
	if !s.Tied {
		ts = append(ts, Tensor{Name: "output.weight", Dims: []uint64{e, v}})
	}
	return ts
}

// isEncoder reports whether the shape is a BERT-style encoder.
func (s Shape) isEncoder() bool {
	switch s.Arch {
	case "bert", "jina-bert-v3", "nomic-bert", "nomic-bert-moe", "modern-bert":
		return true
	}
	return false
}

// modernBertTensors lists a ModernBERT encoder's tensors: no biases,
// q/k/v fused, the gate and up fused in ffn_up, block 0 without its
// attention norm.
func (s Shape) modernBertTensors() []Tensor {
	e, q, ff := uint64(s.Embd), uint64(s.Heads*s.HeadDim), uint64(s.FF)
	ts := []Tensor{
		{Name: "token_embd.weight", Dims: []uint64{e, uint64(s.Vocab)}},
		{Name: "token_embd_norm.weight", Dims: []uint64{e}, Jitter: true},
	}
	for l := 0; l < s.Layers; l++ {
		add := func(name string, scale float32, dims ...uint64) {
			ts = append(ts, Tensor{Name: fmt.Sprintf("blk.%d.%s.weight", l, name), Dims: dims, Scale: scale, Jitter: len(dims) == 1})
		}
		if l > 0 {
			add("attn_norm", 0, e)
		}
		add("attn_qkv", s.AttnScale, e, 3*q)
		add("attn_output", s.AttnScale, q, e)
		add("ffn_norm", 0, e)
		add("ffn_up", 0, e, 2*ff)
		add("ffn_down", 0, ff, e)
	}
	return append(ts, Tensor{Name: "output_norm.weight", Dims: []uint64{e}, Jitter: true})
}
