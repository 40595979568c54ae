package backends

import (
	"fmt"
	"time"

	"github.com/nuri-ai/nuri/quant"
)

// Optional capabilities. A Device (or Stream) that has one implements the
// interface; callers find it with As (which also looks through wrappers
// such as the CPU fallback), so the core interfaces stay small and a new
// backend implements only what it has.

// Unwrapper is implemented by devices that wrap another one (the fallback
// wrapper), so capability lookups reach the wrapped device.
type Unwrapper interface {
	Unwrap() Device
}

// As returns the first device in d's wrapper chain that implements T.
func As[T any](d Device) (T, bool) {
	for d != nil {
		if c, ok := d.(T); ok {
			return c, true
		}
		u, ok := d.(Unwrapper)
		if !ok {
			break
		}
		d = u.Unwrap()
	}
	var zero T
	return zero, false
}

// VInKCache is implemented by devices whose StoreKV and Attention take a
// PagedKV with VInK set.
type VInKCache interface {
	VInKCache() bool
}

// CachesVInK reports whether d (or the device it wraps) takes VInK caches.
func CachesVInK(d Device) bool {
	c, ok := As[VInKCache](d)
	return ok && c.VInKCache()
}

// KVTypeMixer is implemented by devices whose StoreKV and Attention take a
// PagedKV with K and V of different types (each one the device supports).
type KVTypeMixer interface {
	MixesKVTypes() bool
}

// MixesKVTypes reports whether d (or the device it wraps) takes caches
// whose K and V types differ. The fallback wrapper does (on the host when
// its device does not).
func MixesKVTypes(d Device) bool {
	c, ok := As[KVTypeMixer](d)
	return ok && c.MixesKVTypes()
}

// AttnRowStarter is implemented by devices whose Attention honours
// AttnRows.Lo (each token's own first key position).
type AttnRowStarter interface {
	StartsAttentionRows() bool
}

// StartsAttentionRows reports whether d (or the device it wraps) honours
// AttnRows.Lo. The fallback wrapper does (on the host when its device
// does not).
func StartsAttentionRows(d Device) bool {
	c, ok := As[AttnRowStarter](d)
	return ok && c.StartsAttentionRows()
}

// AttnSoftCapper is implemented by devices whose Attention applies
// Attn.SoftCap.
type AttnSoftCapper interface {
	SoftCapsAttention() bool
}

// SoftCapsAttention reports whether d (or the device it wraps) applies
// Attn.SoftCap. The fallback wrapper does (on the host when its device
// does not).
func SoftCapsAttention(d Device) bool {
	c, ok := As[AttnSoftCapper](d)
	return ok && c.SoftCapsAttention()
}

// Buckets are the static shapes a compiled device (an NPU that builds the
// model ahead of time) runs. A forward pass of n tokens runs at the shape
// Pad(n); the rows beyond n are wasted work, so a scheduler that honours
// the buckets fills them with useful tokens instead.
type Buckets struct {
	// BatchSizes are the compiled token counts for small (decode) batches,
	// ascending, e.g. 1, 2, 4, 8, 16.
	BatchSizes []int
	// TokenMultiple pads counts above the largest batch size (prefill
	// chunks) up to a multiple of it, e.g. 64.
	TokenMultiple int
}

// Pad returns the bucket shape that n tokens run at: the smallest batch
// size ≥ n, else n rounded up to TokenMultiple. n ≤ 0 pads to 0.
func (b Buckets) Pad(n int) int {
	if n <= 0 {
		return 0
	}
	for _, s := range b.BatchSizes {
		if s >= n {
			return s
		}
	}
	if m := b.TokenMultiple; m > 1 {
		return (n + m - 1) / m * m
	}
	return n
}

// MaxBatch returns the largest compiled batch size (0 when none).
func (b Buckets) MaxBatch() int {
	if len(b.BatchSizes) == 0 {
		return 0
	}
	return b.BatchSizes[len(b.BatchSizes)-1]
}

// String formats the buckets for listings: "batch 1/2/4/8/16, tokens ×64".
func (b Buckets) String() string {
	s := "batch"
	for i, n := range b.BatchSizes {
		if i == 0 {
			s += fmt.Sprintf(" %d", n)
		} else {
			s += fmt.Sprintf("/%d", n)
		}
	}
	if b.TokenMultiple > 1 {
		s += fmt.Sprintf(", tokens ×%d", b.TokenMultiple)
	}
	return s
}

// ShapeBucketer is implemented by devices that only run static shapes.
type ShapeBucketer interface {
	Buckets() Buckets
}

// DeviceStats is one telemetry reading. Fields a device cannot read are
// zero and named in Missing.
type DeviceStats struct {
	MemoryUsed, MemoryTotal uint64  // bytes
	Utilization             float64 // percent of time a kernel was running
	MemoryUtilization       float64 // percent of time memory was read or written
	TemperatureC            float64
	PowerW, PowerLimitW     float64
	SMClockMHz, MemClockMHz uint32
	Missing                 []string // "power: not supported", ...
}

// Telemetry is implemented by devices that report live hardware state
// (NVML for CUDA): for `nuri devices` and the /metrics gauges.
type Telemetry interface {
	Stats() DeviceStats
}

// Simulated is implemented by simulators: SimTime is the device time the
// ops run so far would take on the simulated hardware (a roofline model),
// as opposed to the wall-clock time the simulation took.
type Simulated interface {
	SimTime() time.Duration
}

// QuantStat is the error one weight took when a device requantized it at
// upload.
type QuantStat struct {
	Name       string
	From, To   quant.Type
	Rows, Cols int
	// RMSRel is sqrt(Σ(w'-w)²/Σw²) over the tensor, w the values of the
	// file's format and w' the device's.
	RMSRel float64
	// MaxAbs is the largest |w'-w|.
	MaxAbs float64
}

// QuantReport sums up a device's requantization.
type QuantReport struct {
	Tensors []QuantStat
	// RMSRel over all tensors together (weighted by their Σw²).
	RMSRel float64
	// Worst is the tensor with the largest RMSRel.
	Worst QuantStat
}

// Requantizer is implemented by devices that convert weights to their own
// number format at upload (an int8 NPU); the report is what it cost.
type Requantizer interface {
	QuantReport() QuantReport
}

// BufferFreer is implemented by devices whose memory must be handed back
// explicitly (GPU and NPU memory is not garbage collected).
type BufferFreer interface {
	Free(b Buffer) error
}

// Writer is implemented by streams that can fill an F32 tensor from host
// memory in stream order (inputs of the conformance kit; host-side
// embeddings). Errors are sticky like any op's.
type Writer interface {
	Write(dst Tensor, src []float32)
}

// HostTransfer is implemented by streams of devices with their own memory:
// raw byte copies in stream order, which the CPU fallback uses to stage an
// op's operands through host memory. Both wait for queued work.
type HostTransfer interface {
	CopyToHost(dst []byte, src Tensor) error
	CopyFromHost(dst Tensor, src []byte) error
}

// HostOutputs is implemented by streams whose ops can write straight into
// caller memory: a tensor over WrapHost of a host slice is a valid
// destination, so a model can have its last op put the logits in the
// caller's buffer instead of copying them there with Read (513 kB a token
// for a 128k vocabulary: ~30 µs of a 13 ms llama-1b decode step).
type HostOutputs interface {
	HostOutputs()
}

// LookupUploader is implemented by devices whose Upload would rearrange a
// weight for their matmul kernels: UploadLookup takes one that only row
// lookups (GetRows) read, such as an untied token embedding, and keeps its
// plain layout, saving the time and memory of a copy no op would use.
type LookupUploader interface {
	UploadLookup(name string, t quant.Type, rows, cols int, data []byte) (Tensor, error)
}

// OwnCopy is implemented by devices whose Upload may keep a copy of a weight
// in a layout of their own (repacked for their kernels) instead of reading
// the caller's bytes on every use. OwnsCopy reports it for t, so a loader
// can let the operating system drop the original's pages; the device reads
// them again only for rare ops that need the plain layout.
type OwnCopy interface {
	OwnsCopy(t Tensor) bool
}

// HostMapped is implemented by devices whose memory the CPU can address
// directly (the CPU itself, simulators, unified memory): HostView returns
// the same bytes as a HostBuffer tensor (false when t is in a format only
// the device reads, such as repacked weights).
type HostMapped interface {
	HostView(t Tensor) (Tensor, bool)
}

// Describer is implemented by devices that have more to say in a listing
// than their name: cores and ISA, compute capability, a profile.
type Describer interface {
	Describe() []string
}

// GELUMuler is implemented by streams that compute ggml's geglu:
// GELUMul(dst, gate, up) sets dst = gelu(gate)·up elementwise (F32), with
// gelu's tanh form 0.5·z·(1 + tanh(√(2/π)·z·(1 + 0.044715·z²))) taken as
// ggml's CPU takes it: z rounded to fp16, gelu of that in float32 rounded
// to fp16; 0 for z ≤ -10 and z itself for z ≥ 10. Gemma's FFN needs it;
// the model refuses such a model at load on a stream without it.
type GELUMuler interface {
	GELUMul(dst, gate, up Tensor)
}

// LayerNormer is implemented by streams that compute ggml_norm followed by
// the weight and bias (BERT's LayerNorm): each row of dst becomes
// (x−mean)·(1/√(var+eps))·w + b, the mean and the variance over the row
// (sums in float64, each rounded to float32), the products and the sum in
// float32 in that order; b may be the zero Tensor (no bias). Encoder
// models need it.
type LayerNormer interface {
	LayerNorm(dst, x, w, b Tensor, eps float32)
}

// GELUer is implemented by streams that compute ggml's gelu elementwise
// (F32) through GELUMul's table: GELU(dst, x) is GELUMul(dst, x, ones).
// Encoder models' feed-forward blocks need it.
type GELUer interface {
	GELU(dst, x Tensor)
}

// RowScaler is implemented by streams that can scale each row of a tensor
// by its own factor: ScaleRows(dst, x, scales) leaves dst's row i as x's
// row i times scales[i] (float32 products, as Scale's), len(scales) ==
// x.Rows. The model needs it to apply a LoRA adapter to some rows of a
// batch and not others (per-request adapters); the stream may read scales
// until its next Sync.
type RowScaler interface {
	ScaleRows(dst, x Tensor, scales []float32)
}

// SharedMatMuler is implemented by streams that can run several matmuls of
// one input together more cheaply than one by one: a layer's q, k and v
// projections, or its gate and up. MatMulShared(dsts, ws, x) must leave
// every dsts[i] exactly as MatMul(dsts[i], ws[i], x) would, bit for bit;
// the CPU stream converts x once and shares all the matrices' rows out in
// one parallel job.
type SharedMatMuler interface {
	MatMulShared(dsts, ws []Tensor, x Tensor)
}

// GroupedMatMuler is implemented by streams that can run several matmuls
// that each take their own row of one input together more cheaply than one
// by one: a token's experts' down projections, each on its own SwiGLU
// output. MatMulGrouped(dsts, ws, x, rows) must leave every dsts[i] (one
// row) exactly as MatMul(dsts[i], ws[i], row rows[i] of x) would, bit for
// bit; the CPU stream converts x's rows once and shares all the matrices'
// rows out in one parallel job.
type GroupedMatMuler interface {
	MatMulGrouped(dsts, ws []Tensor, x Tensor, rows []int)
}

// ResidualMatMuler is implemented by streams that can add a matmul's
// result into a residual stream as they compute it: MatMulResidual(x, tmp,
// w, in) must leave tmp exactly as MatMul(tmp, w, in) and x exactly as
// Add(x, x, tmp) after it would, bit for bit. The CPU stream adds each
// run of outputs on the thread that computed it while they are in its
// cache, instead of a separate op whose inputs start cold.
type ResidualMatMuler interface {
	MatMulResidual(x, tmp, w, in Tensor)
}

// NormMatMuler is implemented by streams that can fold an RMSNorm into the
// matmuls that read its output. MatMulNormShared(dsts, ws, x, norm, eps, h)
// must leave every dsts[i] exactly as RMSNorm(h, x, norm, eps) followed by
// MatMulShared(dsts, ws, h) would, bit for bit; h is scratch of x's shape
// whose contents are unspecified afterwards. The CPU stream normalises
// each span of x inside the matmul's quantizer, so the norm is no step of
// its own and its output never goes through memory.
type NormMatMuler interface {
	MatMulNormShared(dsts, ws []Tensor, x, norm Tensor, eps float32, h Tensor)
}

// SwiGLUMatMuler is implemented by streams that can build a gated FFN's
// activation inside its down projection: MatMulResidualSwiGLU(x, tmp, w,
// gate, up) must leave x exactly as SiLUMul(gate, gate, up) followed by
// MatMulResidual(x, tmp, w, gate) would, bit for bit; gate and tmp are
// scratch whose contents are unspecified afterwards.
type SwiGLUMatMuler interface {
	MatMulResidualSwiGLU(x, tmp, w, gate, up Tensor)
}

// BandwidthMeter is implemented by devices that can measure the read
// bandwidth of their own memory: the roofline a decode step is set
// against when the weights live there (`nuri bench model --device`).
// MeasureReadBandwidth reads a buffer of about n bytes of device memory
// several times and returns the best rate in GB/s (10⁹ bytes per second).
type BandwidthMeter interface {
	MeasureReadBandwidth(n int) (float64, error)
}

// OpProfiler is implemented by devices that can time the ops their streams
// run, for benchmarks that ask where a forward pass spends its time.
// ProfileOps(true) clears the totals and starts timing, ProfileOps(false)
// stops; OpProfile returns the totals since the last start, largest time
// first. Timing an op costs two clock reads, so devices leave it off
// unless asked.
type OpProfiler interface {
	ProfileOps(on bool)
	OpProfile() []OpTime
}

// OpTime is one kind of op's total in an OpProfiler: Name is the op's name
// (Op.String), for matmuls followed by the weight type and shape
// ("mul_mat Q4_0 2048x8192"; several weights sharing an input are listed
// with "+").
type OpTime struct {
	Name  string        `json:"name"`
	Calls int           `json:"calls"`
	Time  time.Duration `json:"time_ns"`
	// WeightBytes is the weight bytes the calls read, at their file size
	// (a matmul's weights, once a call): 0 for ops that read no weights or
	// a device that does not count them.
	WeightBytes int64 `json:"weight_bytes,omitempty"`
	// DotTime is the part of Time a matmul spent streaming its weights
	// (the CPU's packed kernels' dot phase, kernels.Pool.DotTime): the
	// rest is its serial work, building and quantizing the input and the
	// threads' hand-offs. 0 where the device does not time it.
	DotTime time.Duration `json:"dot_time_ns,omitempty"`
}
