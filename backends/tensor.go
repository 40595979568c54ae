package backends

import (
	"fmt"
	"unsafe"

	"github.com/nuri-ai/nuri/kernels"
	"github.com/nuri-ai/nuri/quant"
)

// Buffer is a block of memory owned by a device.
type Buffer interface {
	Size() int // bytes
}

// HostBuffer is memory the CPU addresses directly: a heap allocation or a
// view into a memory-mapped file (zero copy).
type HostBuffer struct{ b []byte }

// NewHostBuffer allocates n zeroed bytes aligned to 64 bytes, so any
// element type (f32, f16, quantized blocks) can be viewed in place. Large
// buffers sit on huge pages (kernels.LargeBytes) and are released when the
// HostBuffer becomes unreachable: keep the HostBuffer, not just its Bytes.
func NewHostBuffer(n int) *HostBuffer {
	if n <= 0 {
		return &HostBuffer{}
	}
	h := &HostBuffer{}
	h.b = kernels.LargeBytes(h, n)
	kernels.Prefault(h.b) // caches and activations are written piecemeal
	return h
}

// WrapHost makes a HostBuffer of b without copying; b must outlive it.
func WrapHost(b []byte) *HostBuffer { return &HostBuffer{b: b} }

// Size returns the buffer's length in bytes.
func (h *HostBuffer) Size() int { return len(h.b) }

// Bytes returns the buffer's memory.
func (h *HostBuffer) Bytes() []byte { return h.b }

// Tensor is a small value naming a 2-D region of a Buffer: Rows rows of
// Cols elements of Type, rows contiguous ([Rows][Cols], Cols innermost, as
// ggml's ne[0]). Higher-dimensional data is flattened into rows by the
// caller (e.g. [n_tokens*n_head][head_dim]).
type Tensor struct {
	Name string
	Buf  Buffer
	Off  int // byte offset of row 0 in Buf
	Type quant.Type
	Rows int
	Cols int
}

// Valid reports whether t refers to memory (the zero Tensor means "none",
// e.g. an absent optional weight).
func (t Tensor) Valid() bool { return t.Buf != nil }

// RowBytes returns the bytes of one row.
func (t Tensor) RowBytes() (int, error) {
	if !t.Type.Known() {
		return 0, fmt.Errorf("tensor %s: unknown type id %d", t.Name, uint32(t.Type))
	}
	return t.Type.RowBytes(t.Cols)
}

// NumBytes returns the bytes of the whole tensor.
func (t Tensor) NumBytes() (int, error) {
	rb, err := t.RowBytes()
	if err != nil {
		return 0, err
	}
	return rb * t.Rows, nil
}

// Slice returns the view of rows [lo, lo+n).
func (t Tensor) Slice(lo, n int) (Tensor, error) {
	if lo < 0 || n < 0 || lo+n > t.Rows {
		return Tensor{}, fmt.Errorf("tensor %s: rows [%d,%d) outside [0,%d): %w", t.Name, lo, lo+n, t.Rows, ErrShape)
	}
	rb, err := t.RowBytes()
	if err != nil {
		return Tensor{}, err
	}
	v := t
	v.Off += lo * rb
	v.Rows = n
	return v, nil
}

// Reshape views the same bytes as rows×cols; the element count must match
// and cols must be a whole number of blocks.
func (t Tensor) Reshape(rows, cols int) (Tensor, error) {
	if rows*cols != t.Rows*t.Cols || rows < 0 || cols <= 0 {
		return Tensor{}, fmt.Errorf("tensor %s: cannot view %dx%d as %dx%d: %w", t.Name, t.Rows, t.Cols, rows, cols, ErrShape)
	}
	if _, err := t.Type.RowBytes(cols); err != nil {
		return Tensor{}, fmt.Errorf("tensor %s: %v: %w", t.Name, err, ErrShape)
	}
	v := t
	v.Rows, v.Cols = rows, cols
	return v, nil
}

// Shape returns "name[type rows×cols]" for error messages.
func (t Tensor) Shape() string {
	return fmt.Sprintf("%s[%s %dx%d]", t.Name, t.Type, t.Rows, t.Cols)
}

// HostBytes returns t's bytes, bounds-checked against its buffer; t must
// live in host memory (a HostBuffer): the CPU backend's tensors, and the
// NPU simulator's.
func (t Tensor) HostBytes() ([]byte, error) {
	hb, ok := t.Buf.(*HostBuffer)
	if !ok {
		return nil, fmt.Errorf("%s: buffer %T is not host memory: %w", t.Shape(), t.Buf, ErrUnsupportedOp)
	}
	n, err := t.NumBytes()
	if err != nil {
		return nil, err
	}
	if t.Off < 0 || t.Off+n > hb.Size() {
		return nil, fmt.Errorf("%s: bytes [%d,%d) outside its %d-byte buffer: %w", t.Shape(), t.Off, t.Off+n, hb.Size(), ErrShape)
	}
	return hb.Bytes()[t.Off : t.Off+n], nil
}

// HostF32s views an F32 host tensor as []float32 without copying (nil for
// no elements).
func (t Tensor) HostF32s() ([]float32, error) {
	if t.Type != quant.F32 {
		return nil, fmt.Errorf("%s: want F32: %w", t.Shape(), ErrUnsupportedOp)
	}
	b, err := t.HostBytes()
	if err != nil || len(b) == 0 {
		return nil, err
	}
	if uintptr(unsafe.Pointer(&b[0]))%4 != 0 {
		return nil, fmt.Errorf("%s: data not 4-byte aligned", t.Shape())
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), len(b)/4), nil
}
