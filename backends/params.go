package backends

import "fmt"

// RoPE holds the rotary-embedding parameters of ggml_rope_ext.
type RoPE struct {
	NHead int  // head rows per token in the rotated tensor
	NDims int  // rotated dimensions (n_rot); the rest of each row is unchanged
	Neox  bool // rotate (x[i], x[i+NDims/2]) instead of adjacent pairs (x[2i], x[2i+1])
	Base  float32
	// FreqScale multiplies every angle (linear scaling: 1/factor; 1 = off).
	FreqScale float32
	// Freqs optionally divides the angle of pair i by Freqs[i] (F32, one row
	// of NDims/2: the GGUF's rope_freqs, llama3-style scaling baked in).
	Freqs Tensor
	// YaRN: ExtFactor 0 disables it. AttnFactor scales cos and sin (1 = off).
	ExtFactor  float32
	AttnFactor float32
	BetaFast   float32
	BetaSlow   float32
	NCtxOrig   int
}

// Attn holds the attention shape and scaling.
type Attn struct {
	NHead    int
	NHeadKV  int // query head h reads KV head h / (NHead/NHeadKV)
	HeadDimK int
	HeadDimV int
	Scale    float32 // multiplies q·k before the softmax
	// Window > 0 restricts a query at position p to keys at p-Window+1..p
	// (standard sliding window); 0 means plain causal attention.
	Window int
	// SoftCap > 0 caps each score s (q·k times Scale) to
	// SoftCap·tanh(s/SoftCap) before the softmax (Gemma 2's attention
	// logit soft-capping). Only devices that implement AttnSoftCapper
	// receive it.
	SoftCap float32
}

// PagedKV is one layer's paged cache as the ops see it. Cache slot s holds
// one position: K rows s*NHeadKV .. s*NHeadKV+NHeadKV-1 of K (each
// HeadDimK elements of the cache type) and the matching rows of V. Position
// p of a sequence lives in slot table[p/BlockSize]*BlockSize + p%BlockSize.
type PagedKV struct {
	K, V      Tensor
	NHeadKV   int
	BlockSize int
	// VInK says V has no storage of its own: each V row is the first
	// V.Cols elements of the K row of the same slot and head (multi-head
	// latent attention caches one latent vector that serves as both, with
	// the rotated part after it). V then gives only the shape (K's Type
	// and Rows, its own Cols, no Buf); StoreKV writes K and takes the zero
	// Tensor for v; Attention reads V rows through K with K's row stride.
	// A device receives it only if it implements VInKCache.
	VInK bool
}

// VStorage returns the tensor that holds V's rows and the elements between
// the starts of consecutive rows: V and V.Cols, or for a VInK cache K and
// K.Cols.
func (kv PagedKV) VStorage() (Tensor, int) {
	if kv.VInK {
		return kv.K, kv.K.Cols
	}
	return kv.V, kv.V.Cols
}

// NumSlots returns the number of positions the cache holds.
func (kv PagedKV) NumSlots() int {
	if kv.NHeadKV == 0 {
		return 0
	}
	return kv.K.Rows / kv.NHeadKV
}

// AttnRows says, per query token, where its keys are: its position and its
// sequence's block table (tokens of one sequence share the same table).
type AttnRows struct {
	Pos    []int32
	Tables [][]int32
	// Lo, when set, is each query token's first key position (a
	// bidirectional model's symmetric sliding window: EmbeddingGemma's);
	// nil: pos − Attn.Window + 1, or 0 without a window. A device takes
	// it only if it implements AttnRowStarter.
	Lo []int32
}

// CheckVInK validates the shape a VInK cache gives for V (nil when kv is
// not one): K's type and rows, a whole number of blocks no wider than K's
// rows, and no storage of its own.
func (kv PagedKV) CheckVInK() error {
	if !kv.VInK {
		return nil
	}
	if kv.V.Type != kv.K.Type || kv.V.Rows != kv.K.Rows || kv.V.Cols <= 0 || kv.V.Cols > kv.K.Cols || kv.V.Buf != nil {
		return fmt.Errorf("values %s %v inside keys %s %v: they must have the keys' type and rows, at most their columns and no buffer: %w",
			kv.V.Shape(), kv.V.Type, kv.K.Shape(), kv.K.Type, ErrShape)
	}
	if _, err := kv.V.RowBytes(); err != nil {
		return fmt.Errorf("values inside keys: %w", err)
	}
	return nil
}
