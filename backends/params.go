package backends

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
}

// PagedKV is one layer's paged cache as the ops see it. Cache slot s holds
// one position: K rows s*NHeadKV .. s*NHeadKV+NHeadKV-1 of K (each
// HeadDimK elements of the cache type) and the matching rows of V. Position
// p of a sequence lives in slot table[p/BlockSize]*BlockSize + p%BlockSize.
type PagedKV struct {
	K, V      Tensor
	NHeadKV   int
	BlockSize int
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
}
