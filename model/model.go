package model

import "errors"

// Sentinel errors of the model package.
var (
	ErrUnsupportedArch = errors.New("unsupported architecture")
	ErrMissingTensor   = errors.New("missing tensor")
	ErrBadShape        = errors.New("tensor has the wrong shape")
	ErrBadToken        = errors.New("token id out of range")
	ErrContextFull     = errors.New("position beyond the context length")
	// ErrBadBatch reports a malformed Batch or KVView: mismatched slice
	// lengths, a sequence without a block table, a block outside the
	// cache, a cache made for another model, a too-small output buffer.
	ErrBadBatch = errors.New("malformed batch")
)

// Config is the hyper-parameter set every architecture exposes.
type Config struct {
	Arch      string // general.architecture
	NVocab    int
	NCtxTrain int
	NEmbd     int
	NLayer    int
	NHead     int
	NHeadKV   int
	HeadDimK  int // per-head size of Q and K
	HeadDimV  int // per-head size of V
	// Attn, when set, is each layer's attention where layers differ
	// (Gemma 4: windowed and global layers with their own KV heads and
	// head sizes, later layers reading earlier layers' caches); NHeadKV,
	// HeadDimK and HeadDimV are then the largest. Nil: every layer is
	// NHeadKV heads of HeadDimK/HeadDimV with a cache of its own.
	Attn []LayerAttn
	// VInK: each position's V is the first HeadDimV values of its K
	// (multi-head latent attention: one latent vector serves as both), so
	// a cache on a device that takes backends.PagedKV.VInK stores K only.
	VInK bool
	NFF  int
	// Mixture of experts (0 for dense models): NExpertUsed of NExpert
	// feed-forward blocks of NFFExpert a token, and a shared expert of
	// NFFShared every token takes (0: none).
	NExpert, NExpertUsed, NFFExpert, NFFShared int
	// LoRA names the per-request adapters (LoadOptions.LoRA with a Name):
	// Batch.LoRA's id k is LoRA[k-1].
	LoRA []string
	// NoLMHead: the file has no language-model head, only a reranker's
	// classification head (Heads); Forward computes hidden states, never
	// logits.
	NoLMHead bool
	// Windows, when set, is each layer's causal sliding window: layer il
	// attends to the Windows[il] positions up to its query's (0: every
	// earlier position). Nil: no layer is windowed. A bidirectional
	// model's symmetric windows are not listed (its tokens all stay in
	// one pass). A KV cache can keep windowed layers in a pool of their
	// own (NewWindowedKVCache), freed as the window moves on.
	Windows []int
	// Encoder: attention runs both ways over each sequence (a BERT-style
	// encoder), so a forward pass must hold every token of each of its
	// sequences, at positions 0, 1, … in order; the model gives hidden
	// states (Batch.Hidden) only, for embeddings.
	Encoder bool
}

// LayerAttn is one layer's attention geometry.
type LayerAttn struct {
	NHeadKV, HeadDimK, HeadDimV int
	// KVFrom is the layer whose KV cache this one reads: itself, or an
	// earlier layer's (Gemma 4's shared-KV layers store nothing).
	KVFrom int
}

// LayerAttn returns layer il's attention geometry.
func (c Config) LayerAttn(il int) LayerAttn {
	if c.Attn != nil {
		return c.Attn[il]
	}
	return LayerAttn{NHeadKV: c.NHeadKV, HeadDimK: c.HeadDimK, HeadDimV: c.HeadDimV, KVFrom: il}
}

// Window returns layer il's causal sliding window (0: none).
func (c Config) Window(il int) int {
	if c.Windows == nil {
		return 0
	}
	return c.Windows[il]
}

// Batch is the input of one forward pass: parallel slices with one entry
// per token. Tokens of several sequences may be mixed; a sequence's tokens
// must appear in increasing position order.
type Batch struct {
	Tokens []int32 // token ids
	Pos    []int32 // position of each token inside its sequence
	Seq    []int32 // sequence index of each token: selects the block table in KVView.Tables
	Logits []bool  // rows whose logits are wanted (nil: only the last row)
	// Hidden asks, for the same rows, the final normalised hidden state
	// (Config.NEmbd values a row, the lm_head's input) instead of logits:
	// what an embedding model pools.
	Hidden bool
	// LoRA is each row's per-request adapter: 0 none, k the adapter
	// Config.LoRA[k-1] (nil: none for any row). Adapters without a name
	// apply to every row regardless.
	LoRA []int32
}

// OutWidth is the values Forward writes a row: NVocab logits, or NEmbd
// with Hidden.
func (b *Batch) OutWidth(c Config) int {
	if b.Hidden {
		return c.NEmbd
	}
	return c.NVocab
}

// NumLogits returns how many rows of logits Forward writes for b.
func (b *Batch) NumLogits() int {
	if b.Logits == nil {
		if len(b.Tokens) == 0 {
			return 0
		}
		return 1
	}
	n := 0
	for _, want := range b.Logits {
		if want {
			n++
		}
	}
	return n
}

// Model is one loaded network. Forward writes the K/V of every batch token
// into the paged cache through the block tables, attends each token over its
// own sequence's positions 0..pos, and writes NumLogits rows of NVocab
// logits (NEmbd hidden values with Batch.Hidden) into out, in batch order. When Forward fails, out may have been
// partly written.
//
// The result for one token must not depend on which other tokens share the
// batch (batch invariance): kernels reduce each output in a fixed order.
type Model interface {
	Config() Config
	Forward(b *Batch, kv KVView, out []float32) error
	Close() error
}

// KVView hands Forward the paged KV cache and one block table per sequence:
// Tables[s][i] is the physical cache block holding positions
// [i*BlockSize, (i+1)*BlockSize) of sequence s. The caller (the engine's
// block allocator, or a single-sequence runner) owns the tables.
//
// A windowed cache (KVCache.WindowBlocks > 0) takes a second set of
// tables, WinTables, one per sequence, for its windowed layers: entry i
// is the windowed pool's block holding positions [i*BlockSize,
// (i+1)*BlockSize). Entries for blocks wholly before a token's position
// minus KVCache.Window are not read (the engine frees those blocks and
// puts -1 there).
type KVView struct {
	Cache     *KVCache
	Tables    [][]int32
	WinTables [][]int32
}
