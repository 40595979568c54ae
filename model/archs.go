package model

// archSpec lists how one GGUF architecture differs from the common
// pre-norm SwiGLU decoder block. All the architectures share one block
// builder (forward.go) driven by these flags, so a fix to the shared path
// fixes every architecture.
type archSpec struct {
	name string
	// neox selects RoPE NEOX (rotate x[i] with x[i+d/2]); otherwise NORM
	// (adjacent pairs), as llama.cpp's llama_model_rope_type.
	neox bool
	// preNorm: attn_norm and ffn_norm before each sub-layer. exaone4 has
	// neither; it normalises the sub-layer outputs instead (postNorm).
	preNorm  bool
	postNorm bool
	// qkNorm: per-head RMSNorm of Q and K (attn_q_norm, attn_k_norm) before
	// RoPE.
	qkNorm bool
	// qkvBias: attn_{q,k,v}.bias — required (qwen2) or optional (llama).
	qkvBias bias
	// outBias, ffnBias: optional attn_output.bias and ffn_{gate,up,down}.bias.
	outBias bool
	ffnBias bool
	// outputBias: optional output.bias added to the logits (qwen2).
	outputBias bool
	// ropeFreqs: optional rope_freqs.weight (llama3-style scaling baked into
	// the file).
	ropeFreqs bool
	// granite: embedding, residual, attention and logit scales from
	// metadata, and rope.scaling.finetuned as the RoPE switch.
	granite bool
	// swa: which sliding-window rule the architecture follows (hparams.go).
	swa swaRule
	// nextn: the last nextn_predict_layers blocks are multi-token
	// prediction layers, which llama.cpp loads but never runs; their
	// tensors are skipped.
	nextn bool
	// moe: each layer's feed-forward block is a mixture of experts
	// (moe.go): a router picks expert_used_count of expert_count;
	// moeOptional: when the file has an expert_count (Mixtral as llama).
	moe, moeOptional bool
	// moeRawWeights: the chosen experts' probabilities are used as they
	// are, not rescaled to sum to 1 (qwen2moe); sharedExpert: a dense
	// expert every token takes, scaled by a sigmoid gate (qwen2moe).
	moeRawWeights, sharedExpert bool
	// moeMeta: the router's gating function (expert_gating_func: softmax
	// or sigmoid), whether the chosen weights are normalised
	// (expert_weights_norm) and their scale (expert_weights_scale) come
	// from metadata, with an optional selection bias (exp_probs_b; DeepSeek
	// V3's, used to choose the experts but not to weight them); the first
	// leading_dense_block_count blocks are dense; the shared expert, when
	// sharedPlain, is added as it is (no gate).
	moeMeta, sharedPlain bool
	// mla: DeepSeek-V2's multi-head latent attention (mla.go).
	mla bool
	// deepseekExperts: DeepSeek's experts (deepseek2, glm4moe): dense
	// blocks of feed_forward_length, experts of
	// expert_feed_forward_length, expert_shared_count shared ones; the
	// gating function optional, defaultGating when absent (1 softmax, 2
	// sigmoid).
	deepseekExperts bool
	defaultGating   uint32
	// qkNormOptional: per-head Q/K norms when the file has them (GLM-4.5
	// 355B); partialRoPE: rope.dimension_count may be less than the head
	// (the rest of each head is not rotated); ffnNorm names the FFN's
	// pre-norm when it is not ffn_norm (glm4moe's post_attention_norm).
	qkNormOptional, partialRoPE bool
	ffnNorm                     string
	// gemma: Gemma 2 and 3's block: the embeddings scaled by √n_embd,
	// GELU (tanh form) gating the FFN, the queries scaled before attention
	// (1/√head, 1/√(n_embd/n_head) in the 27B), pre- and post-norms, an
	// optional final logit soft cap; softCap: Gemma 2's soft-capped
	// attention scores and logits (50 and 30 unless the file says).
	gemma, softCap bool
	// encoder: a BERT-style encoder (encoder.go): attention over the
	// whole input both ways, learned positions and token types added to
	// the embeddings, LayerNorms (weight and bias) after each residual
	// sum, a GELU feed-forward block, no language-model head.
	encoder bool
	// bidirectional: attention runs both ways over each sequence, which
	// a pass holds whole, and windowed layers' windows are symmetric
	// (EmbeddingGemma; every encoder); the model gives hidden states only.
	bidirectional bool
	// gemma4: Gemma 4's block (hparams.readGemma4, gemma4.go): windowed
	// and global layers of their own head sizes and KV heads, V the K
	// projection where the file has no attn_v and RMS-normed without a
	// weight, layers that read earlier layers' caches, a feed-forward
	// block that may add a mixture of experts, per-layer token
	// embeddings, a scale on each layer's output.
	gemma4 bool
	// mistral3: Ministral 3: llama's block, YaRN with the file's betas and
	// log multiplier, and Llama 4's attention temperature (the queries
	// scaled by position, attention.temperature_scale).
	mistral3 bool
	// encoderRoPE: an encoder with RoPE instead of learned positions
	// (jina-bert-v3, nomic-bert); encoderGLU: its feed-forward block
	// SiLU-gated (nomic-bert).
	encoderRoPE, encoderGLU bool
	// modernBert: ModernBERT's pre-norm encoder (modernbert.go).
	modernBert bool
}

// swaRule is an architecture's rule for sliding-window layers; the zero
// value is none (every layer global).
type swaRule int

const (
	// swaExaone4: only a 64-layer model (EXAONE 4.0 32B) is hybrid.
	swaExaone4 swaRule = iota + 1
	// swaExaoneMoE: always hybrid (K-EXAONE), the window required.
	swaExaoneMoE
	// swaGemma2: always hybrid, window 4096 and one layer in two
	// windowed unless the file says; the windowed layers' RoPE the
	// global one's unless rope.freq_base_swa is given.
	swaGemma2
	// swaGemma3: hybrid when the file gives a window (five windowed
	// layers to a global one by default), every layer with RoPE, the
	// windowed ones at their own base (rope.freq_base_swa, 10000) and
	// unscaled.
	swaGemma3
	// swaModernBert: with a sliding_window, every layer but each
	// sliding_window_pattern-th (3) from the first windowed, symmetric,
	// at rope.freq_base_swa (10000).
	swaModernBert
)

type bias int

const (
	biasNone bias = iota
	biasOptional
	biasRequired
)

// lookupArch returns the spec registered for a general.architecture value.
// Llama covers Kanana, Midm 2.0 and HyperCLOVA X SEED (which ship as
// "llama"); qwen2 covers A.X 4.0.
func lookupArch(name string) (archSpec, bool) {
	switch name {
	case "llama":
		return archSpec{name: name, preNorm: true, qkvBias: biasOptional, outBias: true, ffnBias: true, ropeFreqs: true, moeOptional: true}, true
	case "qwen2":
		return archSpec{name: name, neox: true, preNorm: true, qkvBias: biasRequired, outputBias: true}, true
	case "qwen3":
		return archSpec{name: name, neox: true, preNorm: true, qkNorm: true}, true
	case "qwen2moe":
		return archSpec{name: name, neox: true, preNorm: true, qkvBias: biasOptional, moe: true, moeRawWeights: true, sharedExpert: true}, true
	case "qwen3moe":
		return archSpec{name: name, neox: true, preNorm: true, qkNorm: true, moe: true}, true
	case "exaone":
		return archSpec{name: name, neox: true, preNorm: true, ropeFreqs: true}, true
	case "exaone4":
		return archSpec{name: name, neox: true, postNorm: true, qkNorm: true, ropeFreqs: true, swa: swaExaone4, nextn: true}, true
	case "exaone-moe":
		// K-EXAONE: EXAONE 4's attention (per-head norms, RoPE only in the
		// windowed layers) in pre-norm blocks, with DeepSeek-V3-style
		// experts: sigmoid gating, a selection bias, a plain shared expert
		// and leading dense blocks.
		return archSpec{name: name, neox: true, preNorm: true, qkNorm: true, ropeFreqs: true, swa: swaExaoneMoE, nextn: true,
			moe: true, sharedExpert: true, sharedPlain: true, moeMeta: true}, true
	case "deepseek2":
		// DeepSeek-V2/V3 and models built like them: Kakao's Kanana-2
		// (30B-A3B), GigaChat 3, Youtu.
		return archSpec{name: name, preNorm: true, mla: true, moeOptional: true, moeMeta: true, sharedExpert: true, sharedPlain: true,
			deepseekExperts: true, defaultGating: 1}, true
	case "glm4moe":
		// GLM-4.5 and Upstage's Solar Open (100B): GQA with q/k/v biases,
		// half of each head rotated (NEOX), the FFN's norm named
		// post_attention_norm, DeepSeek-V3's experts (sigmoid, selection
		// bias), prediction blocks at the end.
		return archSpec{name: name, neox: true, preNorm: true, qkvBias: biasOptional, qkNormOptional: true, partialRoPE: true,
			ffnNorm: "post_attention_norm", moe: true, moeMeta: true, sharedExpert: true, sharedPlain: true,
			deepseekExperts: true, defaultGating: 2, nextn: true}, true
	case "granite":
		return archSpec{name: name, preNorm: true, qkvBias: biasOptional, outBias: true, ffnBias: true, ropeFreqs: true, granite: true}, true
	case "gemma2":
		// Google's Gemma 2 and the models built on it.
		return archSpec{name: name, neox: true, preNorm: true, postNorm: true, swa: swaGemma2, gemma: true, softCap: true}, true
	case "gemma3":
		// Google's Gemma 3 and the models built on it.
		return archSpec{name: name, neox: true, preNorm: true, postNorm: true, qkNorm: true, swa: swaGemma3, gemma: true}, true
	case "gemma-embedding":
		// EmbeddingGemma: Gemma 3's block run both ways, symmetric
		// windows, mean pooling and two dense projections after it.
		return archSpec{name: name, neox: true, preNorm: true, postNorm: true, qkNorm: true, swa: swaGemma3, gemma: true,
			bidirectional: true}, true
	case "mistral3":
		// Mistral's Ministral 3 (3B, 8B, 14B): llama's block, YaRN and
		// attention temperature.
		return archSpec{name: name, preNorm: true, qkvBias: biasOptional, outBias: true, ffnBias: true, ropeFreqs: true, moeOptional: true,
			mistral3: true}, true
	case "gemma4":
		// Google's Gemma 4 (E2B, E4B, 26B-A4B, 31B) and the models built
		// on it.
		return archSpec{name: name, neox: true, preNorm: true, postNorm: true, qkNorm: true, gemma: true, gemma4: true,
			ropeFreqs: true, moeOptional: true}, true
	case "jina-bert-v3":
		// Jina's XLM-RoBERTa with RoPE (jina-embeddings-v3, multilingual).
		return archSpec{name: name, encoder: true, bidirectional: true, neox: true, encoderRoPE: true, qkvBias: biasOptional,
			outBias: true, ffnBias: true}, true
	case "nomic-bert":
		// Nomic's BERT with RoPE and a SwiGLU feed-forward block
		// (nomic-embed-text v1 and v1.5).
		return archSpec{name: name, encoder: true, bidirectional: true, neox: true, encoderRoPE: true, encoderGLU: true,
			qkvBias: biasOptional, outBias: true}, true
	case "modern-bert":
		// ModernBERT and mmBERT (multilingual) encoders.
		return archSpec{name: name, encoder: true, bidirectional: true, neox: true, encoderRoPE: true, modernBert: true,
			swa: swaModernBert}, true
	case "nomic-bert-moe":
		// nomic-embed-text v2 (multilingual): jina-bert-v3's rotating
		// encoder with a mixture of GELU experts in every other layer.
		return archSpec{name: name, encoder: true, bidirectional: true, neox: true, encoderRoPE: true, qkvBias: biasOptional,
			outBias: true, ffnBias: true, moeOptional: true, moeRawWeights: true}, true
	case "bert":
		// BERT and XLM-RoBERTa encoders: embedding models (BGE-M3,
		// multilingual-E5, the Korean ones fine-tuned from them).
		return archSpec{name: name, encoder: true, bidirectional: true, qkvBias: biasOptional, outBias: true, ffnBias: true}, true
	}
	return archSpec{}, false
}

// SupportedArchs lists the general.architecture values Load accepts.
func SupportedArchs() []string {
	return []string{"bert", "deepseek2", "exaone", "exaone-moe", "exaone4", "gemma-embedding", "gemma2", "gemma3", "gemma4", "glm4moe", "granite", "jina-bert-v3", "llama", "mistral3", "modern-bert", "nomic-bert", "nomic-bert-moe", "qwen2", "qwen2moe", "qwen3", "qwen3moe"}
}
