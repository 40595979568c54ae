package backends

import (
	"errors"

	"github.com/nuri-ai/nuri/quant"
)

// Sentinel errors of backends.
var (
	ErrUnsupportedOp = errors.New("operation not supported by the device")
	ErrShape         = errors.New("tensor shapes do not match the operation")
)

// Op names one operation, for Device.Supports.
type Op int

// The operations a Stream runs.
const (
	OpGetRows Op = iota
	OpMatMul
	OpRMSNorm
	OpAdd
	OpScale
	OpSiLUMul
	OpRoPE
	OpStoreKV
	OpAttention
	// OpGELUMul is GELUMuler's gelu(gate)·up (Gemma's FFN); a device
	// supports it by implementing the capability.
	OpGELUMul
	// OpLayerNorm and OpGELU are the encoder ops (LayerNormer, GELUer:
	// BERT's blocks), supported by implementing the capability.
	OpLayerNorm
	OpGELU
)

var opNames = [...]string{"get_rows", "mul_mat", "rms_norm", "add", "scale", "silu_mul", "rope", "store_kv", "attention", "gelu_mul",
	"layer_norm", "gelu"}

// OnActivations reports whether o works on activations alone, F32 in and
// F32 out (the element-wise and normalising ops), so that a device
// supports it for F32 and no other type whatever its weights: every
// Supports answers these ops through it.
func (o Op) OnActivations() bool {
	switch o {
	case OpRMSNorm, OpAdd, OpScale, OpSiLUMul, OpRoPE, OpGELUMul, OpLayerNorm, OpGELU:
		return true
	}
	return false
}

func (o Op) String() string {
	if o >= 0 && int(o) < len(opNames) {
		return opNames[o]
	}
	return "op(?)"
}

// Usage says what an allocation holds, so a device can place it (weights
// in read-mostly memory, KV in the largest pool, scratch reused).
type Usage int

// Allocation usages.
const (
	UsageWeights Usage = iota
	UsageKV
	UsageScratch
)

// Device is a place with memory that can run ops ("cpu", "cuda:0", ...).
type Device interface {
	Name() string
	// Memory reports free and total bytes of the device's memory (0, 0 when
	// unknown).
	Memory() (free, total uint64)
	// Supports reports whether op runs with weights (or, for attention and
	// store_kv, a cache) of type t, like ggml's supports_op.
	Supports(op Op, t quant.Type) bool
	// Alloc returns n zeroed bytes of device memory.
	Alloc(n int, u Usage) (Buffer, error)
	// Upload makes a rows×cols weight of type t usable by the device. data
	// must stay valid for the device's lifetime: the CPU device uses it in
	// place (a view of the mapped GGUF file), others may copy or repack.
	Upload(name string, t quant.Type, rows, cols int, data []byte) (Tensor, error)
	NewStream() (Stream, error)
	Close() error
}

// Stream runs ops in order. Activations are F32 tensors. An op that fails
// records the error and turns the rest of the stream into no-ops until Sync
// returns (and clears) the first error, so model code needs one check per
// forward pass rather than one per op.
type Stream interface {
	// GetRows writes row ids[i] of src (any type, dequantized) into row i of
	// dst (F32, len(ids) rows of src.Cols).
	GetRows(dst, src Tensor, ids []int32)
	// MatMul computes dst[i][r] = dot(w row r, x row i): dst is
	// [x.Rows][w.Rows], x is [x.Rows][w.Cols]. x is converted to the weight
	// type's activation type first, exactly like ggml's CPU backend.
	MatMul(dst, w, x Tensor)
	// RMSNorm normalises each row of x and multiplies by w (F32, one row of
	// x.Cols): y = x / sqrt(mean(x²) + eps) * w.
	RMSNorm(dst, x, w Tensor, eps float32)
	// Add computes dst = a + b; b has a.Rows rows or one row (broadcast:
	// biases).
	Add(dst, a, b Tensor)
	// Scale computes dst = x * s.
	Scale(dst, x Tensor, s float32)
	// SiLUMul computes dst = silu(gate) * up.
	SiLUMul(dst, gate, up Tensor)
	// RoPE rotates x in place. x is [n_tokens*p.NHead][head_dim]; row r
	// belongs to token r/p.NHead at position pos[r/p.NHead].
	RoPE(x Tensor, pos []int32, p RoPE)
	// StoreKV writes token i's K and V rows (k: [n][NHeadKV*HeadDimK], v:
	// [n][NHeadKV*HeadDimV]) into cache slot slots[i], converting to the
	// cache type.
	StoreKV(kv PagedKV, k, v Tensor, slots []int32)
	// Attention computes causal (optionally sliding-window) attention of
	// each query token over its own sequence's cached positions. q is
	// [n][NHead*HeadDimK], dst is [n][NHead*HeadDimV].
	Attention(dst, q Tensor, kv PagedKV, rows AttnRows, p Attn)
	// Read copies an F32 tensor to host memory.
	Read(dst []float32, src Tensor)
	// Sync waits for queued ops and returns the first error since the last
	// Sync.
	Sync() error
}
