package model

import (
	"fmt"
	"math"

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
	// Granite scales (0: off, as llama.cpp treats an absent key).
	embScale, resScale, attnScale, logitScale float32
	// swa[il] is the sliding window of layer il (0: full attention);
	// noRoPE[il] marks exaone4's global layers in a hybrid model.
	swa    []int
	noRoPE []bool
}

// readHParams reads and checks the hyper-parameters of arch a from f.
func readHParams(f *gguf.File, a archSpec) (*hparams, error) {
	p := a.name + "."
	hp := &hparams{Config: Config{Arch: a.name}, useRoPE: true}
	c := &hp.Config
	var err error
	req := func(key string, dst *int) {
		if err == nil {
			*dst, err = layerUint(f, p+key)
		}
	}
	req("context_length", &c.NCtxTrain)
	req("embedding_length", &c.NEmbd)
	req("block_count", &c.NLayer)
	// llama carries Mixtral-style mixtures too: experts when the file
	// counts them (llama.cpp's llama graph switches on ffn_gate_inp).
	moe := a.moe || (a.moeOptional && optUint(f, p+"expert_count", 0) > 0)
	if moe {
		req("expert_count", &c.NExpert)
		req("expert_used_count", &c.NExpertUsed)
		if a.moeOptional {
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
		if a.sharedExpert {
			c.NFFShared = optUint(f, p+"expert_shared_feed_forward_length", c.NFF)
		}
	} else {
		req("feed_forward_length", &c.NFF)
	}
	req("attention.head_count", &c.NHead)
	if err != nil {
		return nil, err
	}
	if moe && (c.NExpert <= 0 || c.NExpertUsed <= 0 || c.NExpertUsed > c.NExpert || c.NFFExpert <= 0 || (a.sharedExpert && c.NFFShared <= 0)) {
		return nil, fmt.Errorf("%s: %d of %d experts of feed-forward %d a token: the counts must be positive, the used ones at most all",
			a.name, c.NExpertUsed, c.NExpert, c.NFFExpert)
	}
	if c.NEmbd <= 0 || c.NLayer <= 0 || c.NHead <= 0 || c.NFF <= 0 || c.NCtxTrain <= 0 {
		return nil, fmt.Errorf("%s: embedding %d, layers %d, heads %d, feed-forward %d, context %d: all must be positive",
			a.name, c.NEmbd, c.NLayer, c.NHead, c.NFF, c.NCtxTrain)
	}
	c.NHeadKV = c.NHead
	if _, ok := f.Get(p + "attention.head_count_kv"); ok {
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
	eps, ok := f.Float32(p + "attention.layer_norm_rms_epsilon")
	if !ok {
		return nil, fmt.Errorf("%s: metadata %sattention.layer_norm_rms_epsilon is missing", a.name, p)
	}
	hp.eps = eps
	if err := hp.readRoPE(f, a); err != nil {
		return nil, err
	}
	if a.granite {
		if err := hp.readGranite(f, p); err != nil {
			return nil, err
		}
	}
	hp.readSWA(f, a)
	return hp, nil
}

// readRoPE fills the rotary parameters with llama.cpp's defaults.
func (hp *hparams) readRoPE(f *gguf.File, a archSpec) error {
	p := a.name + "."
	nRot := optUint(f, p+"rope.dimension_count", hp.HeadDimK)
	// Every supported graph asserts n_rot == head size (llama.cpp rejects
	// partial rotary for these architectures too).
	if nRot != hp.HeadDimK || nRot%2 != 0 {
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
	case "", "none", "linear":
	case "yarn":
		r.ExtFactor = 1
	default:
		return fmt.Errorf("%s: rope scaling type %q is not supported (none, linear, yarn)", a.name, typ)
	}
	if v, ok := f.Float32(p + "rope.scaling.attn_factor"); ok {
		r.AttnFactor = v
	}
	r.NCtxOrig = optUint(f, p+"rope.scaling.original_context_length", hp.NCtxTrain)
	hp.rope = r
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

// readSWA applies EXAONE 4's sliding-window rule exactly as llama.cpp
// does: only a 64-layer model (the 32B) is hybrid — window 4096, overridden
// by attention.sliding_window, layers with il%4 < 3 windowed with RoPE and
// every 4th layer global without positional encoding. Any other layer count
// reads the window key but ignores it: all layers global with RoPE. The
// converter's sliding_window_pattern array is never read.
func (hp *hparams) readSWA(f *gguf.File, a archSpec) {
	hp.swa = make([]int, hp.NLayer)
	hp.noRoPE = make([]bool, hp.NLayer)
	if !a.exaone4SWA || hp.NLayer != 64 {
		return
	}
	window := optUint(f, a.name+".attention.sliding_window", 4096)
	for il := range hp.NLayer {
		if il%4 < 3 {
			hp.swa[il] = window
		} else {
			hp.noRoPE[il] = true
		}
	}
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
