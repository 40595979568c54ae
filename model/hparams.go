package model

import (
	"fmt"
	"math"
	"slices"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/gguf"
)

// hparams is everything the forward pass reads from metadata.
type hparams struct {
	Config
	eps  float32
	rope backends.RoPE // NHead filled per use
	// useRoPE is false only for granite files that say rope.scaling.finetuned
	// = false; exaone4's NoPE layers are decided per layer.
	useRoPE bool
	// Granite scales (0: off, as llama.cpp treats an absent key); Gemma's
	// embedding scale too.
	embScale, resScale, attnScale, logitScale float32
	// qScale multiplies the queries after RoPE, the attention then scaling
	// by 1 (Gemma; 0: off).
	qScale float32
	// Soft caps of the attention scores and of the logits (Gemma; 0: off).
	attnSoftCap, finalSoftCap float32
	// ropeSWA is the RoPE of windowed layers when it differs from rope's
	// (Gemma 3); nil: the same.
	ropeSWA *backends.RoPE
	// swa[il] is the sliding window of layer il (0: full attention);
	// noRoPE[il] marks exaone4's global layers in a hybrid model.
	swa    []int
	noRoPE []bool
	// nLayerAll counts the file's blocks, the multi-token prediction
	// blocks at the end (not run; NLayer excludes them) included.
	nLayerAll int
	// The experts' routing (moe.go): sigmoid or softmax gating, whether
	// the chosen weights are normalised to sum to 1, their scale (0: none),
	// and how many leading blocks are dense.
	moeSigmoid bool
	moeNorm    bool
	moeScale   float32
	denseLead  int
	// Expert groups (DeepSeek-V3): the experts fall into moeGroups equal
	// groups and each token searches the moeGroupsUsed best (0: no groups).
	moeGroups, moeGroupsUsed int
	mla                      mlaParams
	// swaSymmetric: a bidirectional model's windowed layers see the keys
	// within swaHalf positions of the query either way.
	swaSymmetric bool
	swaHalf      int
	// Gemma 4 (readGemma4): each layer's feed-forward width and KV heads
	// as the file gives them (nil: Config's for every layer), and the
	// width of the per-layer token embeddings (0: none).
	layerFF, layerKV []int
	nPLE             int
	// Ministral 3's attention temperature: each query row × 1 +
	// attnTemp·ln(1 + ⌊pos/attnTempFloor⌋) (0: off).
	attnTemp      float32
	attnTempFloor int
	// moeEvery: an encoder whose layers il with il%moeEvery == 1 are
	// mixtures (nomic-bert-moe; 0: every layer as the file says).
	moeEvery int
	// glu: ModernBERT's gated feed-forward activation.
	glu glu
}

// mlaParams are multi-head latent attention's sizes (mla.go). The
// attention itself is MQA over the latent: Config.HeadDimK = kvLoRA + the
// rotated part, HeadDimV = kvLoRA, one KV head.
type mlaParams struct {
	kvLoRA, qLoRA int // latent widths (qLoRA 0: queries straight from the stream)
	nope, vDim    int // each head's unrotated query/key part and its value
	unit          int // the column unit the query and key rows are assembled in
	kqScale       float32
}

// readHParams reads and checks the hyper-parameters of arch a from f.
func readHParams(f *gguf.File, a archSpec) (*hparams, error) {
	p := a.name + "."
	hp := &hparams{Config: Config{Arch: a.name}, useRoPE: true}
	c := &hp.Config
	var err error
	req := func(key string, dst *int) {
		if err != nil {
			return
		}
		if a.gemma4 && (key == "feed_forward_length") {
			// Gemma 4 may widen the shared-KV layers' feed-forward blocks
			// (use_double_wide_mlp): one width a layer, the largest in
			// Config.
			if hp.layerFF, err = layerUints(f, p+key, hp.nLayerAll); err == nil {
				*dst = slices.Max(hp.layerFF)
			}
			return
		}
		*dst, err = layerUint(f, p+key)
	}
	req("context_length", &c.NCtxTrain)
	req("embedding_length", &c.NEmbd)
	req("block_count", &hp.nLayerAll)
	// llama carries Mixtral-style mixtures too: experts when the file
	// counts them (llama.cpp's llama graph switches on ffn_gate_inp).
	moe := a.moe || (a.moeOptional && optUint(f, p+"expert_count", 0) > 0)
	if moe {
		req("expert_count", &c.NExpert)
		req("expert_used_count", &c.NExpertUsed)
		if a.deepseekExperts {
			// DeepSeek: dense leading blocks of feed_forward_length, experts
			// of expert_feed_forward_length, expert_shared_count of them
			// shared.
			req("feed_forward_length", &c.NFF)
			req("expert_feed_forward_length", &c.NFFExpert)
			c.NFFShared = c.NFFExpert * optUint(f, p+"expert_shared_count", 0)
		} else if a.moeOptional {
			// Mixtral's experts are feed_forward_length wide.
			req("feed_forward_length", &c.NFF)
			c.NFFExpert = optUint(f, p+"expert_feed_forward_length", c.NFF)
		} else if _, ok := f.Get(p + "expert_feed_forward_length"); ok {
			req("expert_feed_forward_length", &c.NFFExpert)
			c.NFF = optUint(f, p+"feed_forward_length", c.NFFExpert)
		} else {
			// llama.cpp's default: the dense size shared among the used experts.
			req("feed_forward_length", &c.NFF)
			if c.NExpertUsed > 0 {
				c.NFFExpert = c.NFF / c.NExpertUsed
			}
		}
		if a.sharedExpert && !a.deepseekExperts {
			// qwen2moe's shared expert defaults to the dense size,
			// K-EXAONE's to an expert's (llama.cpp's loaders).
			def := c.NFF
			if a.sharedPlain {
				def = c.NFFExpert
			}
			c.NFFShared = optUint(f, p+"expert_shared_feed_forward_length", def)
		}
	} else {
		req("feed_forward_length", &c.NFF)
	}
	req("attention.head_count", &c.NHead)
	if err != nil {
		return nil, err
	}
	c.NLayer = hp.nLayerAll
	if a.nextn {
		nextn := optUint(f, p+"nextn_predict_layers", 0)
		if nextn >= hp.nLayerAll {
			return nil, fmt.Errorf("%s: %d multi-token prediction layers of %d blocks: at least one block must remain", a.name, nextn, hp.nLayerAll)
		}
		c.NLayer -= nextn
	}
	if moe {
		if err := hp.readRouting(f, a); err != nil {
			return nil, err
		}
		if a.encoder {
			if hp.moeEvery = optUint(f, p+"moe_every_n_layers", 0); hp.moeEvery < 2 {
				return nil, fmt.Errorf("%s: %d experts need moe_every_n_layers of at least 2 (the mixtures' period)", a.name, c.NExpert)
			}
		}
	}
	if moe && (c.NExpert <= 0 || c.NExpertUsed <= 0 || c.NExpertUsed > c.NExpert || c.NFFExpert <= 0 || (a.sharedExpert && !a.deepseekExperts && c.NFFShared <= 0)) {
		return nil, fmt.Errorf("%s: %d of %d experts of feed-forward %d a token: the counts must be positive, the used ones at most all",
			a.name, c.NExpertUsed, c.NExpert, c.NFFExpert)
	}
	if c.NEmbd <= 0 || c.NLayer <= 0 || c.NHead <= 0 || c.NFF <= 0 || c.NCtxTrain <= 0 {
		return nil, fmt.Errorf("%s: embedding %d, layers %d, heads %d, feed-forward %d, context %d: all must be positive",
			a.name, c.NEmbd, c.NLayer, c.NHead, c.NFF, c.NCtxTrain)
	}
	c.NHeadKV = c.NHead
	if _, ok := f.Get(p + "attention.head_count_kv"); ok && a.gemma4 {
		// Gemma 4: windowed and global layers have their own KV heads.
		if hp.layerKV, err = layerUints(f, p+"attention.head_count_kv", hp.nLayerAll); err != nil {
			return nil, err
		}
		c.NHeadKV = slices.Max(hp.layerKV)
		for _, n := range hp.layerKV {
			if n <= 0 || c.NHead%n != 0 {
				return nil, fmt.Errorf("%s: %d query heads cannot share %d KV heads", a.name, c.NHead, n)
			}
		}
	} else if ok {
		if c.NHeadKV, err = layerUint(f, p+"attention.head_count_kv"); err != nil {
			return nil, err
		}
	}
	if c.NHeadKV <= 0 || c.NHead%c.NHeadKV != 0 {
		return nil, fmt.Errorf("%s: %d query heads cannot share %d KV heads", a.name, c.NHead, c.NHeadKV)
	}
	// Head size comes from key_length/value_length when present: it differs
	// from n_embd/n_head in HyperCLOVA X SEED 0.5B and Qwen3.
	c.HeadDimK = optUint(f, p+"attention.key_length", c.NEmbd/c.NHead)
	c.HeadDimV = optUint(f, p+"attention.value_length", c.NEmbd/c.NHead)
	if c.HeadDimK <= 0 || c.HeadDimV <= 0 {
		return nil, fmt.Errorf("%s: head size %d/%d", a.name, c.HeadDimK, c.HeadDimV)
	}
	epsKey := "attention.layer_norm_rms_epsilon"
	if a.encoder {
		epsKey = "attention.layer_norm_epsilon" // LayerNorm's
	}
	if a.bidirectional {
		c.Encoder, c.NoLMHead = true, true
	}
	eps, ok := f.Float32(p + epsKey)
	if !ok {
		return nil, fmt.Errorf("%s: metadata %s%s is missing", a.name, p, epsKey)
	}
	hp.eps = eps
	if err := hp.readRoPE(f, a); err != nil {
		return nil, err
	}
	if a.mla {
		if err := hp.readMLA(f, a); err != nil {
			return nil, err
		}
	}
	if a.granite {
		if err := hp.readGranite(f, p); err != nil {
			return nil, err
		}
	}
	if a.gemma4 {
		if err := hp.readGemma4(f, a); err != nil {
			return nil, err
		}
	} else if a.gemma {
		if err := hp.readGemma(f, a); err != nil {
			return nil, err
		}
	}
	if err := hp.readSWA(f, a); err != nil {
		return nil, err
	}
	if !a.bidirectional && slices.ContainsFunc(hp.swa, func(w int) bool { return w > 0 }) {
		c.Windows = slices.Clone(hp.swa)
	}
	return hp, nil
}

// readRouting reads how the router weighs the experts. Most
// architectures fix it in their graph (softmax, normalised except in
// qwen2moe); K-EXAONE's file says (as llama.cpp's exaone-moe loader reads
// it: the gating function required, the rest optional).
func (hp *hparams) readRouting(f *gguf.File, a archSpec) error {
	p := a.name + "."
	hp.moeNorm = !a.moeRawWeights
	if !a.moeMeta {
		return nil
	}
	g, ok := f.Uint32(p + "expert_gating_func")
	switch {
	case !ok && a.defaultGating != 0:
		// DeepSeek V2 files predate the key: softmax (GLM-4.7 Lite's,
		// told apart by llama.cpp by its shape, sigmoid); GLM-4.5's is
		// sigmoid.
		g = a.defaultGating
		if nv, _ := f.Int(p + "vocab_size"); a.mla && (hp.NLayer == 47 || hp.NLayer == 48) && nv == 154880 {
			g = 2
		}
	case !ok:
		return fmt.Errorf("%s: metadata %sexpert_gating_func is missing", a.name, p)
	}
	switch g {
	case 1: // LLAMA_EXPERT_GATING_FUNC_TYPE_SOFTMAX
	case 2: // LLAMA_EXPERT_GATING_FUNC_TYPE_SIGMOID
		hp.moeSigmoid = true
	default:
		return fmt.Errorf("%s: expert gating function %d is not supported (1: softmax, 2: sigmoid)", a.name, g)
	}
	hp.moeNorm, _ = f.Bool(p + "expert_weights_norm")
	hp.moeScale, _ = f.Float32(p + "expert_weights_scale")
	hp.denseLead = optUint(f, p+"leading_dense_block_count", 0)
	if hp.denseLead > hp.NLayer {
		return fmt.Errorf("%s: %d leading dense blocks of %d", a.name, hp.denseLead, hp.NLayer)
	}
	hp.moeGroups = optUint(f, p+"expert_group_count", 0)
	hp.moeGroupsUsed = optUint(f, p+"expert_group_used_count", 0)
	if g := hp.moeGroups; g > 1 && (hp.NExpert%g != 0 || hp.moeGroupsUsed <= 0 || hp.moeGroupsUsed >= g || hp.NExpertUsed > hp.NExpert/g*hp.moeGroupsUsed) {
		return fmt.Errorf("%s: %d experts in %d groups, %d groups searched for %d experts: the groups must divide the experts, and the searched ones (fewer than all) hold enough", a.name, hp.NExpert, g, hp.moeGroupsUsed, hp.NExpertUsed)
	}
	return nil
}

// readRoPE fills the rotary parameters with llama.cpp's defaults.
func (hp *hparams) readRoPE(f *gguf.File, a archSpec) error {
	p := a.name + "."
	nRot := optUint(f, p+"rope.dimension_count", hp.HeadDimK)
	switch {
	case a.mla:
		// Only part of each head rotates (readMLA checks the sizes).
		if nRot <= 0 || nRot%2 != 0 {
			return fmt.Errorf("%s: rope dimension count %d must be even and positive", a.name, nRot)
		}
	case a.partialRoPE:
		if nRot <= 0 || nRot%2 != 0 || nRot > hp.HeadDimK {
			return fmt.Errorf("%s: rope dimension count %d must be even, positive and at most the head size %d", a.name, nRot, hp.HeadDimK)
		}
		if v, ok := f.Get(p + "rope.dimension_sections"); ok && v.Len() > 0 {
			// GLM-4.6V's multimodal RoPE.
			return fmt.Errorf("%s: rope.dimension_sections (multimodal RoPE) is not supported: %w", a.name, ErrUnsupportedArch)
		}
	case a.gemma4:
		// Checked per layer kind by readGemma4.
	case nRot != hp.HeadDimK || nRot%2 != 0:
		// Every other supported graph asserts n_rot == head size (llama.cpp
		// rejects partial rotary for these architectures too).
		return fmt.Errorf("%s: rope dimension count %d must equal the head size %d", a.name, nRot, hp.HeadDimK)
	}
	r := backends.RoPE{NDims: nRot, Neox: a.neox, Base: 10000, FreqScale: 1, AttnFactor: 1,
		BetaFast: 32, BetaSlow: 1, NCtxOrig: hp.NCtxTrain}
	if v, ok := f.Float32(p + "rope.freq_base"); ok {
		r.Base = v
	}
	factor, ok := f.Float32(p + "rope.scaling.factor")
	if !ok {
		factor, _ = f.Float32(p + "rope.scale_linear") // the legacy key
	}
	if factor != 0 {
		r.FreqScale = 1 / factor
	}
	typ, _ := f.String(p + "rope.scaling.type")
	switch typ {
	case "none":
		r.FreqScale = 1 // llama.cpp never scales when the type says none
	case "", "linear":
	case "yarn":
		r.ExtFactor = 1
	default:
		return fmt.Errorf("%s: rope scaling type %q is not supported (none, linear, yarn)", a.name, typ)
	}
	if v, ok := f.Float32(p + "rope.scaling.attn_factor"); ok {
		r.AttnFactor = v
	}
	r.NCtxOrig = optUint(f, p+"rope.scaling.original_context_length", hp.NCtxTrain)
	if a.mistral3 {
		if err := hp.readMistral3(f, a, &r); err != nil {
			return err
		}
	}
	hp.rope = r
	return nil
}

// readMistral3 reads what llama.cpp's mistral3 loader adds to the llama
// block: YaRN's betas and log multiplier from the file, and the attention
// temperature, whose floor is the original context length.
func (hp *hparams) readMistral3(f *gguf.File, a archSpec, r *backends.RoPE) error {
	p := a.name + "."
	if v, ok := f.Float32(p + "rope.scaling.yarn_beta_fast"); ok {
		r.BetaFast = v
	}
	if v, ok := f.Float32(p + "rope.scaling.yarn_beta_slow"); ok {
		r.BetaSlow = v
	}
	if logMul, _ := f.Float32(p + "rope.scaling.yarn_log_multiplier"); logMul != 0 && r.ExtFactor != 0 {
		// llama.cpp's context: the rope kernel's magnitude, its own
		// get_mscale(s, 1) (get_mscale(s, m) = 1 + 0.1·m·ln s, 1 for
		// s ≤ 1), which the backends apply too, becomes get_mscale(s, 1)
		// / get_mscale(s, log_mul): the factor is 1/get_mscale(s, log_mul).
		s := 1 / float64(r.FreqScale)
		mscale := func(m float64) float64 {
			if s <= 1 {
				return 1
			}
			return float64(0.1*m*math.Log(s)) + 1
		}
		r.AttnFactor *= float32(1 / mscale(float64(logMul)))
	}
	hp.attnTemp, _ = f.Float32(p + "attention.temperature_scale")
	if hp.attnTemp != 0 {
		hp.attnTempFloor = r.NCtxOrig
		if hp.attnTempFloor <= 0 {
			return fmt.Errorf("%s: attention temperature needs a positive original context length", a.name)
		}
	}
	return nil
}

// readGemma sets Gemma's scales as llama.cpp's gemma2 and gemma3 graphs:
// the embeddings times √n_embd, the queries times 1/√head (the 27B, told
// by its layer count, 46 or 62, 1/√(n_embd/n_head)); Gemma 2 soft-caps
// the attention scores and the logits (attn_logit_softcapping, 50, and
// final_logit_softcapping, 30, when absent), Gemma 3 the logits only when
// the file says.
func (hp *hparams) readGemma(f *gguf.File, a archSpec) error {
	p := a.name + "."
	var ok bool
	if hp.finalSoftCap, ok = f.Float32(p + "final_logit_softcapping"); !ok && a.softCap {
		hp.finalSoftCap = 30
	}
	if a.softCap {
		if hp.attnSoftCap, ok = f.Float32(p + "attn_logit_softcapping"); !ok {
			hp.attnSoftCap = 50
		}
	}
	if hp.finalSoftCap < 0 || hp.attnSoftCap < 0 {
		return fmt.Errorf("%s: soft caps %g (attention) and %g (logits) must not be negative", a.name, hp.attnSoftCap, hp.finalSoftCap)
	}
	hp.embScale = float32(math.Sqrt(float64(hp.NEmbd)))
	d := hp.HeadDimK
	if (a.name == "gemma2" && hp.NLayer == 46) || (a.name == "gemma3" && hp.NLayer == 62) {
		d = hp.NEmbd / hp.NHead
	}
	hp.qScale = float32(1 / math.Sqrt(float64(d)))
	return nil
}

// readGranite reads Granite's muP-style multipliers. logit_scale is
// required (llama.cpp's loader insists); the others default to off.
func (hp *hparams) readGranite(f *gguf.File, p string) error {
	v, ok := f.Float32(p + "logit_scale")
	if !ok || v == 0 {
		return fmt.Errorf("granite: metadata %slogit_scale is missing or zero", p)
	}
	hp.logitScale = v
	hp.resScale, _ = f.Float32(p + "residual_scale")
	hp.embScale, _ = f.Float32(p + "embedding_scale")
	hp.attnScale, _ = f.Float32(p + "attention.scale")
	if fin, ok := f.Bool(p + "rope.scaling.finetuned"); ok {
		hp.useRoPE = fin // Granite uses this key as its RoPE switch
	}
	return nil
}

// readSWA applies the architecture's sliding-window rule as llama.cpp
// does. EXAONE 4: only a 64-layer model (the 32B) is hybrid, window 4096
// unless attention.sliding_window says otherwise; any other layer count
// has every layer global with RoPE. K-EXAONE (exaone-moe): always hybrid,
// the window required. In a hybrid model layer il is windowed, with RoPE,
// when il%period < period-1 (every layer when the period is 0) and global
// without positional encoding otherwise; the period is 4 unless
// attention.sliding_window_pattern holds a number (llama.cpp ignores the
// per-layer array the converter writes there).
func (hp *hparams) readSWA(f *gguf.File, a archSpec) error {
	if a.gemma4 {
		return nil // readGemma4 has set the windows
	}
	hp.swa = make([]int, hp.NLayer)
	hp.noRoPE = make([]bool, hp.NLayer)
	key := a.name + ".attention.sliding_window"
	var window int
	switch {
	case a.swa == swaExaone4 && hp.NLayer == 64:
		window = optUint(f, key, 4096)
	case a.swa == swaExaoneMoE:
		w, ok := f.Uint32(key)
		if !ok {
			return fmt.Errorf("%s: metadata %s is missing", a.name, key)
		}
		window = int(w)
	case a.swa == swaGemma2, a.swa == swaGemma3:
		return hp.readGemmaSWA(f, a)
	case a.swa == swaModernBert:
		return hp.readModernBert(f, a)
	default:
		return nil
	}
	if window <= 0 {
		// llama.cpp would mask every position of a windowed layer.
		return fmt.Errorf("%s: sliding window %d: must be positive", a.name, window)
	}
	period := optUint(f, a.name+".attention.sliding_window_pattern", 4)
	for il := range hp.NLayer {
		if period == 0 || il%period < period-1 {
			hp.swa[il] = window
		} else {
			hp.noRoPE[il] = true
		}
	}
	return nil
}

// readGemmaSWA applies Gemma's windows as llama.cpp: layer il is
// windowed when il%period < period-1. Gemma 2 is always hybrid (window
// 4096, period 2 unless the file says), its windowed layers at the global
// RoPE unless rope.freq_base_swa gives their base. Gemma 3 is hybrid when
// the file gives a window (period 6 unless it says), the windowed layers
// at rope.freq_base_swa (10000 when absent) and without the file's
// frequency scaling.
func (hp *hparams) readGemmaSWA(f *gguf.File, a archSpec) error {
	window, period := 4096, 2
	if a.swa == swaGemma3 {
		window, period = 0, 6
	}
	window = optUint(f, a.name+".attention.sliding_window", window)
	if window <= 0 {
		return nil
	}
	period = optUint(f, a.name+".attention.sliding_window_pattern", period)
	for il := range hp.NLayer {
		if period == 0 || il%period < period-1 {
			hp.swa[il] = window
		}
	}
	if a.bidirectional {
		hp.swaSymmetric, hp.swaHalf = true, window/2
	}
	base, ok := f.Float32(a.name + ".rope.freq_base_swa")
	switch {
	case a.swa == swaGemma3:
		r := hp.rope
		r.Base, r.FreqScale = 10000, 1
		if ok {
			r.Base = base
		}
		hp.ropeSWA = &r
	case ok:
		r := hp.rope
		r.Base = base
		hp.ropeSWA = &r
	}
	return nil
}

// layerUints reads a count stored either as a scalar or as one value per
// layer (at least n of them), as llama.cpp's get_key_or_arr.
func layerUints(f *gguf.File, key string, n int) ([]int, error) {
	out := make([]int, n)
	if v, ok := f.Uint32(key); ok {
		for i := range out {
			out[i] = int(v)
		}
		return out, nil
	}
	vs, ok := f.Int32s(key)
	if !ok || len(vs) < n {
		if _, present := f.Get(key); present {
			return nil, fmt.Errorf("metadata %s: want an integer or one a layer (%d)", key, n)
		}
		return nil, fmt.Errorf("metadata %s is missing", key)
	}
	for i := range out {
		if vs[i] < 0 {
			return nil, fmt.Errorf("metadata %s: layer %d has %d", key, i, vs[i])
		}
		out[i] = int(vs[i])
	}
	return out, nil
}

// layerUint reads a per-model count stored either as a scalar or as one
// value per layer; per-layer values must all be equal (dense models only).
func layerUint(f *gguf.File, key string) (int, error) {
	if v, ok := f.Uint32(key); ok {
		return int(v), nil
	}
	if vs, ok := f.Int32s(key); ok && len(vs) > 0 {
		for _, v := range vs {
			if v != vs[0] {
				return 0, fmt.Errorf("metadata %s varies per layer (%v): not supported", key, vs)
			}
		}
		if vs[0] >= 0 {
			return int(vs[0]), nil
		}
	}
	if _, ok := f.Get(key); ok {
		return 0, fmt.Errorf("metadata %s is not a non-negative integer", key)
	}
	return 0, fmt.Errorf("metadata %s is missing", key)
}

// optUint reads an optional unsigned key, def when absent.
func optUint(f *gguf.File, key string, def int) int {
	if v, ok := f.Uint32(key); ok && v <= math.MaxInt32 {
		return int(v)
	}
	return def
}

// readGemma4 reads Gemma 4's layers as llama.cpp's gemma4 loader: the
// windowed layers (attention.sliding_window_pattern, one bool a layer)
// have heads of key_length_swa with rope.dimension_count_swa of them
// rotated at rope.freq_base_swa (10000) unscaled, the global ones heads of
// key_length, rotated at the model's RoPE with rope_freqs' factors (which
// turn most of each head's rotation off: "proportional" RoPE); the last
// attention.shared_kv_layers layers read the cache of the last windowed
// or global layer before them; scores are not scaled (the Q and K norms
// do it); the embeddings are scaled by √n_embd; the logits soft-capped
// when the file says.
func (hp *hparams) readGemma4(f *gguf.File, a archSpec) error {
	p := a.name + "."
	c := &hp.Config
	hp.embScale = float32(math.Sqrt(float64(c.NEmbd)))
	hp.attnScale = 1
	hp.finalSoftCap, _ = f.Float32(p + "final_logit_softcapping")
	if hp.finalSoftCap < 0 {
		return fmt.Errorf("%s: final_logit_softcapping %g must not be negative", a.name, hp.finalSoftCap)
	}
	hp.nPLE = optUint(f, p+"embedding_length_per_layer_input", 0)
	window, ok := f.Uint32(p + "attention.sliding_window")
	if !ok || window == 0 {
		return fmt.Errorf("%s: metadata %sattention.sliding_window is missing or zero", a.name, p)
	}
	v, _ := f.Get(p + "attention.sliding_window_pattern")
	if v.Len() < c.NLayer {
		return fmt.Errorf("%s: attention.sliding_window_pattern must be one bool a layer (%d)", a.name, c.NLayer)
	}
	hp.swa = make([]int, c.NLayer)
	hp.noRoPE = make([]bool, c.NLayer)
	for il := range c.NLayer {
		e, _ := v.Index(il)
		on, ok := e.AsBool()
		if !ok {
			return fmt.Errorf("%s: attention.sliding_window_pattern must be one bool a layer", a.name)
		}
		if on {
			hp.swa[il] = int(window)
		}
	}
	full := LayerAttn{HeadDimK: c.HeadDimK, HeadDimV: c.HeadDimV}
	win := LayerAttn{HeadDimK: optUint(f, p+"attention.key_length_swa", full.HeadDimK),
		HeadDimV: optUint(f, p+"attention.value_length_swa", full.HeadDimV)}
	if full.HeadDimK != full.HeadDimV || win.HeadDimK != win.HeadDimV || win.HeadDimK <= 0 {
		return fmt.Errorf("%s: heads of %d/%d (global) and %d/%d (windowed): K and V must be the same size", a.name,
			full.HeadDimK, full.HeadDimV, win.HeadDimK, win.HeadDimV)
	}
	shared := optUint(f, p+"attention.shared_kv_layers", 0)
	kvLayers := c.NLayer - shared
	if shared > 0 && kvLayers < 2 {
		return fmt.Errorf("%s: %d of %d layers share earlier layers' caches: at least two must have their own", a.name, shared, c.NLayer)
	}
	c.Attn = make([]LayerAttn, c.NLayer)
	for il := range c.Attn {
		la := full
		if hp.swa[il] > 0 {
			la = win
		}
		la.NHeadKV, la.KVFrom = c.NHeadKV, il
		if hp.layerKV != nil {
			la.NHeadKV = hp.layerKV[il]
		}
		if il >= kvLayers {
			la.KVFrom = kvLayers - 1
			if hp.swa[il] > 0 {
				la.KVFrom = kvLayers - 2
			}
		}
		c.Attn[il] = la
	}
	for il, la := range c.Attn {
		if src := c.Attn[la.KVFrom]; src.NHeadKV != la.NHeadKV || src.HeadDimK != la.HeadDimK || (hp.swa[il] > 0) != (hp.swa[la.KVFrom] > 0) {
			return fmt.Errorf("%s: layer %d shares layer %d's cache, which is of another kind", a.name, il, la.KVFrom)
		}
	}
	c.HeadDimK, c.HeadDimV = max(full.HeadDimK, win.HeadDimK), max(full.HeadDimV, win.HeadDimV)
	nRot := optUint(f, p+"rope.dimension_count", full.HeadDimK)
	nRotSWA := optUint(f, p+"rope.dimension_count_swa", nRot)
	if nRot <= 0 || nRot%2 != 0 || nRot > full.HeadDimK || nRotSWA <= 0 || nRotSWA%2 != 0 || nRotSWA > win.HeadDimK {
		return fmt.Errorf("%s: rope dimension counts %d (global) and %d (windowed) must be even, positive and at most the heads (%d, %d)",
			a.name, nRot, nRotSWA, full.HeadDimK, win.HeadDimK)
	}
	hp.rope.NDims = nRot
	r := hp.rope
	r.NDims, r.Base, r.FreqScale = nRotSWA, 10000, 1
	if base, ok := f.Float32(p + "rope.freq_base_swa"); ok {
		r.Base = base
	}
	hp.ropeSWA = &r
	return nil
}

// readModernBert reads ModernBERT's windows (as llama.cpp's modern-bert
// loader: with a sliding_window, layer il is windowed unless il %
// pattern == 0, pattern 3 unless the file says; symmetric; at
// rope.freq_base_swa, 10000 when absent, unscaled) and its
// feed-forward activation (hidden_activation: gelu, the default, or
// silu).
func (hp *hparams) readModernBert(f *gguf.File, a archSpec) error {
	p := a.name + "."
	switch act, _ := f.String(p + "hidden_activation"); act {
	case "", "gelu", "geglu":
		hp.glu = gluGELU
	case "silu", "swish", "swiglu":
		hp.glu = gluSiLU
	default:
		return fmt.Errorf("%s: hidden_activation %q is not supported (gelu, silu)", a.name, act)
	}
	window := optUint(f, p+"attention.sliding_window", 0)
	if window <= 0 {
		return nil
	}
	period := optUint(f, p+"attention.sliding_window_pattern", 3)
	for il := range hp.NLayer {
		if period == 0 || il%period != 0 {
			hp.swa[il] = window
		}
	}
	hp.swaSymmetric, hp.swaHalf = true, window/2
	r := hp.rope
	r.Base, r.FreqScale = 10000, 1
	if base, ok := f.Float32(p + "rope.freq_base_swa"); ok {
		r.Base = base
	}
	hp.ropeSWA = &r
	return nil
}
