package model

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/gguf"
	"github.com/nuri-ai/nuri/quant"
)

// binder hands GGUF tensors to the device by name, checking each shape and
// remembering which tensors were claimed, so that a file carrying tensors
// the architecture does not use is rejected instead of silently computing
// something else (llama.cpp refuses such files too).
type binder struct {
	f    *gguf.File
	dev  backends.Device
	used map[string]bool
}

func newBinder(f *gguf.File, dev backends.Device) *binder {
	return &binder{f: f, dev: dev, used: map[string]bool{}}
}

// weight binds a required matrix of ggml shape [cols, rows] (one entry for
// a vector: [cols]).
func (b *binder) weight(name string, dims ...int) (backends.Tensor, error) {
	t, ok, err := b.optional(name, dims...)
	if err != nil {
		return t, err
	}
	if !ok {
		return t, fmt.Errorf("tensor %q: %w", name, ErrMissingTensor)
	}
	return t, nil
}

// lookupWeight binds a required matrix that only row lookups read (an
// untied token embedding): devices that repack matmul weights keep it as it
// is (backends.LookupUploader).
func (b *binder) lookupWeight(name string, dims ...int) (backends.Tensor, error) {
	t, ok, err := b.bind(name, true, dims...)
	if err == nil && !ok {
		err = fmt.Errorf("tensor %q: %w", name, ErrMissingTensor)
	}
	return t, err
}

// optional binds a tensor that may be absent (ok false).
func (b *binder) optional(name string, dims ...int) (backends.Tensor, bool, error) {
	return b.bind(name, false, dims...)
}

// bind hands tensor name to the device (for row lookups only: lookup).
func (b *binder) bind(name string, lookup bool, dims ...int) (backends.Tensor, bool, error) {
	ti, ok := b.f.Tensor(name)
	if !ok {
		return backends.Tensor{}, false, nil
	}
	if !sameDims(ti.Dims, dims) {
		return backends.Tensor{}, false, fmt.Errorf("tensor %q has shape %v, want %v: %w", name, ti.Dims, dims, ErrBadShape)
	}
	cols, rows := dims[0], 1
	if len(dims) > 1 {
		rows = dims[1]
	}
	// A weight type the device cannot use fails here, at load, with the
	// tensor's name, not at the first forward pass.
	if rows > 1 {
		op := backends.OpMatMul
		if lookup {
			op = backends.OpGetRows
		}
		if !b.dev.Supports(op, ti.Type) {
			return backends.Tensor{}, false, fmt.Errorf("tensor %q: weight type %v (%s): %w", name, ti.Type, op, backends.ErrUnsupportedOp)
		}
	}
	data := b.f.TensorData(ti)
	if data == nil {
		return backends.Tensor{}, false, fmt.Errorf("tensor %q: no data (file closed or corrupt)", name)
	}
	upload := b.dev.Upload
	if lu, ok := b.dev.(backends.LookupUploader); ok && lookup {
		upload = lu.UploadLookup
	}
	t, err := upload(name, ti.Type, rows, cols, data)
	if err != nil {
		return backends.Tensor{}, false, fmt.Errorf("tensor %q: %w", name, err)
	}
	if oc, ok := b.dev.(backends.OwnCopy); ok && oc.OwnsCopy(t) {
		b.f.Evict(data) // the device reads its own copy from now on
	}
	b.used[name] = true
	return t, true, nil
}

// experts binds a required 3-D tensor of n experts' matrices (ggml shape
// [cols, rows, n]) as n matrices of their own, named name#e, so that each
// is a matmul weight as a dense layer's is (repacked alone by devices that
// repack).
func (b *binder) experts(name string, cols, rows, n int) ([]backends.Tensor, error) {
	parts, err := b.expertParts(name, cols, rows, n, 1)
	if err != nil {
		return nil, err
	}
	return parts[0], nil
}

// expertParts binds a required 3-D tensor of n experts' matrices of rows
// rows (ggml shape [cols, rows, n]) whose rows are k equal parts, each
// expert's part j its own matrix (parts[j][e]): a fused ffn_gate_up_exps
// is each expert's gate rows, then its up rows.
func (b *binder) expertParts(name string, cols, rows, n, k int) ([][]backends.Tensor, error) {
	if rows%k != 0 {
		return nil, fmt.Errorf("tensor %q: %d rows do not split into %d parts: %w", name, rows, k, ErrBadShape)
	}
	ti, data, rb, err := b.matmulSource(name, cols, rows, n)
	if err != nil {
		return nil, err
	}
	pr := rows / k
	out := make([][]backends.Tensor, k)
	owned := true
	for j := range out {
		out[j] = make([]backends.Tensor, n)
		for e := range n {
			lo := (e*rows + j*pr) * rb
			t, err := b.dev.Upload(fmt.Sprintf("%s#%d.%d", name, e, j), ti.Type, pr, cols, data[lo:lo+pr*rb])
			if err != nil {
				return nil, fmt.Errorf("tensor %q expert %d: %w", name, e, err)
			}
			if oc, ok := b.dev.(backends.OwnCopy); !ok || !oc.OwnsCopy(t) {
				owned = false
			}
			out[j][e] = t
		}
	}
	if owned {
		b.f.Evict(data) // the device reads its own copies from now on
	}
	b.used[name] = true
	return out, nil
}

// rowSets binds a required matrix of ggml shape [cols, rows] as one
// matrix per set of its rows (each set in the order given), for graphs
// that use a projection's outputs in parts: MLA's query heads, each an
// unrotated and a rotated part. Each part is a copy (rows of a quantized
// type are whole blocks, so any selection is a valid matrix).
func (b *binder) rowSets(name string, cols, rows int, sets ...[]int) ([]backends.Tensor, error) {
	ti, data, rb, err := b.matmulSource(name, cols, rows, 1)
	if err != nil {
		return nil, err
	}
	out := make([]backends.Tensor, len(sets))
	for i, set := range sets {
		part := make([]byte, 0, len(set)*rb)
		for _, r := range set {
			if r < 0 || r >= rows {
				return nil, fmt.Errorf("tensor %q: row %d of %d", name, r, rows)
			}
			part = append(part, data[r*rb:(r+1)*rb]...)
		}
		t, err := b.dev.Upload(fmt.Sprintf("%s[%d]", name, i), ti.Type, len(set), cols, part)
		if err != nil {
			return nil, fmt.Errorf("tensor %q part %d: %w", name, i, err)
		}
		out[i] = t
	}
	b.f.Evict(data) // the parts are copies: the file's pages are not read again
	b.used[name] = true
	return out, nil
}

// matmulSource looks up a required stack of n matmul weights of ggml shape
// [cols, rows, n] (n = 1: one matrix) and checks its shape, that the
// device multiplies its type and that its data is all there; rb is the
// bytes of one row.
func (b *binder) matmulSource(name string, cols, rows, n int) (ti *gguf.TensorInfo, data []byte, rb int, err error) {
	ti, ok := b.f.Tensor(name)
	if !ok {
		return nil, nil, 0, fmt.Errorf("tensor %q: %w", name, ErrMissingTensor)
	}
	if !sameDims(ti.Dims, []int{cols, rows, n}) {
		return nil, nil, 0, fmt.Errorf("tensor %q has shape %v, want %v: %w", name, ti.Dims, []int{cols, rows, n}, ErrBadShape)
	}
	if !b.dev.Supports(backends.OpMatMul, ti.Type) {
		return nil, nil, 0, fmt.Errorf("tensor %q: weight type %v (%s): %w", name, ti.Type, backends.OpMatMul, backends.ErrUnsupportedOp)
	}
	data = b.f.TensorData(ti)
	rb, err = ti.Type.RowBytes(cols)
	if err != nil || data == nil || len(data) < n*rows*rb {
		return nil, nil, 0, fmt.Errorf("tensor %q: no data (file closed or corrupt)", name)
	}
	return ti, data, rb, nil
}

// vector binds a required F32 vector of n elements (norm weights): the
// element-wise ops work in float32 like ggml's binary ops.
func (b *binder) vector(name string, n int) (backends.Tensor, error) {
	t, ok, err := b.optVector(name, n)
	if err == nil && !ok {
		err = fmt.Errorf("tensor %q: %w", name, ErrMissingTensor)
	}
	return t, err
}

// optVector binds an optional F32 vector (biases, rope_freqs).
func (b *binder) optVector(name string, n int) (backends.Tensor, bool, error) {
	t, ok, err := b.optional(name, n)
	if err != nil || !ok {
		return t, ok, err
	}
	if t.Type != quant.F32 {
		return backends.Tensor{}, false, fmt.Errorf("tensor %q has type %v, want F32: %w", name, t.Type, ErrBadShape)
	}
	return t, true, nil
}

// hostVector reads an optional F32 vector of n elements that the host
// itself uses (a router's selection bias), claiming it; ok is false when
// the file has none.
func (b *binder) hostVector(name string, n int) ([]float32, bool, error) {
	ti, ok := b.f.Tensor(name)
	if !ok {
		return nil, false, nil
	}
	if !sameDims(ti.Dims, []int{n}) || ti.Type != quant.F32 {
		return nil, false, fmt.Errorf("tensor %q is %v %v, want F32 [%d]: %w", name, ti.Type, ti.Dims, n, ErrBadShape)
	}
	data := b.f.TensorData(ti)
	if len(data) < 4*n {
		return nil, false, fmt.Errorf("tensor %q: no data (file closed or corrupt)", name)
	}
	out := make([]float32, n)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
	}
	b.used[name] = true
	return out, true, nil
}

// claim marks tensors the graph never reads as used, without binding
// them (absent ones are ignored).
func (b *binder) claim(names ...string) {
	for _, name := range names {
		if _, ok := b.f.Tensor(name); ok {
			b.used[name] = true
		}
	}
}

// hostValues hands values the loader computed to the device as an F32
// vector named name (a split bias, a folded scale, ones).
func (b *binder) hostValues(name string, vals []float32) (backends.Tensor, error) {
	data := make([]byte, 4*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(v))
	}
	t, err := b.dev.Upload(name, quant.F32, 1, len(vals), data)
	if err != nil {
		return backends.Tensor{}, fmt.Errorf("%s: %w", name, err)
	}
	return t, nil
}

// skipBlock claims every tensor of block il without binding any: the
// multi-token prediction blocks, which llama.cpp loads but never runs.
// Their pages are never touched.
func (b *binder) skipBlock(il int) {
	p := fmt.Sprintf("blk.%d.", il)
	for _, ti := range b.f.Tensors {
		if strings.HasPrefix(ti.Name, p) {
			b.used[ti.Name] = true
		}
	}
}

// checkAllUsed reports tensors of the file no loader claimed.
func (b *binder) checkAllUsed() error {
	var extra []string
	for _, ti := range b.f.Tensors {
		if !b.used[ti.Name] {
			extra = append(extra, ti.Name)
		}
	}
	if len(extra) == 0 {
		return nil
	}
	slices.Sort(extra)
	if len(extra) > 5 {
		extra = append(extra[:5], fmt.Sprintf("... (%d in all)", len(extra)))
	}
	return fmt.Errorf("file has tensors this architecture does not use: %v", extra)
}

// sameDims compares GGUF dims with the wanted ones; trailing 1s are
// insignificant, as in ggml.
func sameDims(have []uint64, want []int) bool {
	n := max(len(have), len(want))
	for i := range n {
		h, w := uint64(1), uint64(1)
		if i < len(have) {
			h = have[i]
		}
		if i < len(want) {
			w = uint64(want[i])
		}
		if h != w {
			return false
		}
	}
	return true
}
