package gguf

import (
	"fmt"
	"math"
	"os"
	"slices"
	"unsafe"

	"github.com/nuri-ai/nuri/quant"
)

// KV is one metadata pair.
type KV struct {
	Key   string
	Value Value
}

// TensorInfo describes one tensor. Dims are ggml's ne, innermost first: a
// weight with Dims [in, out] is out rows of in elements.
type TensorInfo struct {
	Name   string
	Type   quant.Type
	Dims   []uint64
	Offset uint64 // from the data section of its file (DataOffset, for the first part)

	part int // 0: the File itself; i > 0: parts[i-1] of a split model
}

// Part returns the index (0-based) of the file of a split model that holds
// the tensor's data: 0 for a model of one file.
func (ti *TensorInfo) Part() int { return ti.part }

// Elements returns the number of elements (the product of Dims).
func (ti *TensorInfo) Elements() uint64 {
	n := uint64(1)
	for _, d := range ti.Dims {
		n *= d
	}
	return n
}

// Bytes returns the size of the tensor's data, or 0 when the type is unknown
// or the shape is invalid for it (never the case for a tensor read by Open).
func (ti *TensorInfo) Bytes() uint64 {
	n, err := ti.size()
	if err != nil {
		return 0
	}
	return n
}

// Rows returns the number of rows (elements / Dims[0]), 0 for an empty tensor.
func (ti *TensorInfo) Rows() uint64 {
	if len(ti.Dims) == 0 {
		return 1
	}
	if ti.Dims[0] == 0 {
		return 0
	}
	return ti.Elements() / ti.Dims[0]
}

// File is a parsed GGUF file. Its tensor data views stay valid until Close.
type File struct {
	Version    uint32
	KV         []KV // in file order
	Tensors    []TensorInfo
	Alignment  uint64 // general.alignment, or 32
	DataOffset uint64 // absolute file offset of the data section

	data   []byte // the whole file image
	unmap  func([]byte) error
	index  map[string]int // key -> KV index
	tindex map[string]int // tensor name -> Tensors index
	// parts are a split model's other files (parts 2..n, see Open); their
	// tensors are in Tensors too, each with its part.
	parts []*File
	path  string // the file Open mapped ("" for OpenBytes)
}

// Open maps path into memory read-only and parses it. Malformed files give
// an error wrapping ErrCorrupt.
//
// A model split by llama.cpp's gguf-split (split.count > 1, files named
// PREFIX-00001-of-0000N.gguf …) is opened from its first part: the other
// parts are mapped too and their tensors join Tensors, so the File reads
// like one file. The metadata is the first part's, as in llama.cpp.
func Open(path string) (*File, error) {
	f, err := openOne(path)
	if err != nil {
		return nil, err
	}
	if err := f.openParts(path); err != nil {
		_ = f.Close() // the parts' error is the one that matters
		return nil, err
	}
	return f, nil
}

// openOne maps and parses one file.
func openOne(path string) (*File, error) {
	fd, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	defer fd.Close() // the mapping outlives the descriptor
	st, err := fd.Stat()
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	size := st.Size()
	if size < 4 {
		return nil, fmt.Errorf("%s: %w", path, corruptf(size, "header", "truncated: file is %d bytes", size))
	}
	if size > math.MaxInt {
		return nil, fmt.Errorf("gguf: open %s: file of %d bytes is too large to map", path, size)
	}
	b, unmap, err := mapFile(fd, int(size))
	if err != nil {
		return nil, fmt.Errorf("gguf: map %s: %w", path, err)
	}
	f, err := parse(b)
	if err != nil {
		_ = unmap(b) // the parse error is the one that matters
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	f.unmap = unmap
	f.path = path
	return f, nil
}

// Reads reports whether path is one of the files f was read from (the
// same file, whatever the name): writing it would change data f maps.
func (f *File) Reads(path string) bool {
	st, err := os.Stat(path)
	if err != nil {
		return false
	}
	for _, g := range append([]*File{f}, f.parts...) {
		if g.path == "" {
			continue
		}
		if gs, err := os.Stat(g.path); err == nil && os.SameFile(st, gs) {
			return true
		}
	}
	return false
}

// openParts opens the other parts of a split model whose first part f was
// read from path (nothing for a single file).
func (f *File) openParts(path string) error {
	n, ok := f.Int(KeySplitCount)
	if !ok || n <= 1 {
		return nil
	}
	no, _ := f.Int(KeySplitNo)
	prefix, ok := splitPrefix(path, no, n)
	if !ok {
		return fmt.Errorf("gguf: %s is part %d of a model split in %d, but its name does not end in %q, so the other parts cannot be found", path, no+1, n, SplitPath("", no, n))
	}
	if no != 0 {
		return fmt.Errorf("gguf: %s is part %d of %d of a split model: open the first part, %s", path, no+1, n, SplitPath(prefix, 0, n))
	}
	for i := 1; i < n; i++ {
		pp := SplitPath(prefix, i, n)
		p, err := openOne(pp)
		if err != nil {
			return fmt.Errorf("gguf: part %d of %d of %s: %w", i+1, n, path, err)
		}
		f.parts = append(f.parts, p)
		if pn, _ := p.Int(KeySplitNo); pn != i {
			return fmt.Errorf("gguf: %s: split.no is %d, want %d: %w", pp, pn, i, ErrCorrupt)
		}
		if pc, _ := p.Int(KeySplitCount); pc != n {
			return fmt.Errorf("gguf: %s: split.count is %d, the first part's %d: %w", pp, pc, n, ErrCorrupt)
		}
		for j := range p.Tensors {
			t := p.Tensors[j]
			if _, dup := f.tindex[t.Name]; dup {
				return fmt.Errorf("gguf: %s: tensor %q is also in an earlier part: %w", pp, t.Name, ErrCorrupt)
			}
			t.part = i
			f.tindex[t.Name] = len(f.Tensors)
			f.Tensors = append(f.Tensors, t)
		}
	}
	if want, ok := f.Int(KeySplitTensorsCount); ok && want != len(f.Tensors) {
		return fmt.Errorf("gguf: %s: the %d parts hold %d tensors, split.tensors.count says %d: %w", path, n, len(f.Tensors), want, ErrCorrupt)
	}
	return nil
}

// Parts is the number of files the model was read from (1 unless split).
func (f *File) Parts() int { return 1 + len(f.parts) }

// OpenBytes parses a GGUF image held in memory. The File's tensor views
// alias b, which must not be modified while they are in use.
func OpenBytes(b []byte) (*File, error) {
	return parse(b)
}

// Close releases the mapping (every part's). Tensor data views must not be
// used afterwards.
func (f *File) Close() error {
	var first error
	for _, p := range f.parts {
		if err := p.Close(); err != nil && first == nil {
			first = err
		}
	}
	f.parts = nil
	if err := f.closeOne(); err != nil {
		return err
	}
	return first
}

func (f *File) closeOne() error {
	if f.unmap == nil || f.data == nil {
		f.data = nil
		return nil
	}
	b := f.data
	f.data = nil
	if err := f.unmap(b); err != nil {
		return fmt.Errorf("gguf: unmap: %w", err)
	}
	return nil
}

// Evict tells the operating system that b, a tensor view of this file
// (TensorData), will not be read soon: its whole pages leave the process's
// resident memory. They stay in the page cache and a later read brings them
// back, so the view remains valid. It does nothing for files not mapped
// from disk (OpenBytes, systems without mmap) or for bytes outside the file.
func (f *File) Evict(b []byte) {
	for _, p := range f.parts {
		p.Evict(b)
	}
	if f.unmap == nil || len(b) == 0 || len(f.data) == 0 {
		return
	}
	start := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	base := uintptr(unsafe.Pointer(unsafe.SliceData(f.data)))
	if start < base || start+uintptr(len(b)) > base+uintptr(len(f.data)) {
		return
	}
	evictPages(f.data, int(start-base), len(b))
}

// Size returns the size of the file image in bytes (all parts' of a split
// model).
func (f *File) Size() int64 {
	n := int64(len(f.data))
	for _, p := range f.parts {
		n += p.Size()
	}
	return n
}

// checkRanges verifies that every tensor's data is aligned, inside the file
// and disjoint from every other tensor's. Unlike llama.cpp it does not insist
// on the exact packed order; writers here always produce it. infoAt holds the
// file offset of each tensor's info, which errors report.
func (f *File) checkRanges(fileSize uint64, infoAt []int64) error {
	type span struct {
		lo, hi uint64
		i      int
	}
	spans := make([]span, 0, len(f.Tensors))
	for i := range f.Tensors {
		ti := &f.Tensors[i]
		where := fmt.Sprintf("tensor %q", ti.Name)
		n, err := ti.size()
		if err != nil {
			return corruptf(infoAt[i], where, "%v", err)
		}
		if ti.Offset%f.Alignment != 0 {
			return corruptf(infoAt[i], where, "data offset %d is not a multiple of the alignment %d", ti.Offset, f.Alignment)
		}
		lo := f.DataOffset + ti.Offset
		hi := lo + n
		if lo < ti.Offset || hi < lo || hi > fileSize {
			return corruptf(infoAt[i], where, "%d bytes of data at offset %d of the data section (file byte %d) run past the end of the %d-byte file", n, ti.Offset, lo, fileSize)
		}
		spans = append(spans, span{lo, hi, i})
	}
	slices.SortFunc(spans, func(a, b span) int {
		switch {
		case a.lo < b.lo:
			return -1
		case a.lo > b.lo:
			return 1
		}
		return a.i - b.i
	})
	for k := 1; k < len(spans); k++ {
		if p, s := spans[k-1], spans[k]; s.lo < p.hi {
			return corruptf(infoAt[s.i], fmt.Sprintf("tensor %q", f.Tensors[s.i].Name),
				"data overlaps tensor %q (bytes [%d, %d) vs [%d, %d))", f.Tensors[p.i].Name, s.lo, s.hi, p.lo, p.hi)
		}
	}
	return nil
}

// Get returns the value stored under key.
func (f *File) Get(key string) (Value, bool) {
	i, ok := f.index[key]
	if !ok {
		return Value{}, false
	}
	return f.KV[i].Value, true
}

// String returns a STRING value.
func (f *File) String(key string) (string, bool) {
	v, _ := f.Get(key)
	return v.AsString()
}

// Uint32 returns an integer value of any width that lies in [0, MaxUint32].
// It is tolerant where llama.cpp is strict (llama.cpp rejects, say, a head
// count stored as INT32); use Get and Value.Type to check the stored type.
func (f *File) Uint32(key string) (uint32, bool) {
	v, _ := f.Get(key)
	x, ok := v.AsUint64()
	if !ok || x > math.MaxUint32 {
		return 0, false
	}
	return uint32(x), true
}

// Int returns an integer value of any width that fits in an int.
func (f *File) Int(key string) (int, bool) {
	v, _ := f.Get(key)
	x, ok := v.AsInt64()
	if !ok || x < math.MinInt || x > math.MaxInt {
		return 0, false
	}
	return int(x), true
}

// Float32 returns a FLOAT32 value, or a FLOAT64 one rounded to float32.
func (f *File) Float32(key string) (float32, bool) {
	v, _ := f.Get(key)
	x, ok := v.AsFloat64()
	return float32(x), ok
}

// Bool returns a BOOL value.
func (f *File) Bool(key string) (bool, bool) {
	v, _ := f.Get(key)
	return v.AsBool()
}

// Strings returns an array of strings. The slice is shared: do not modify.
func (f *File) Strings(key string) ([]string, bool) {
	v, _ := f.Get(key)
	return v.AsStrings()
}

// Float32s returns an array of FLOAT32 (shared: do not modify), or a FLOAT64
// array converted.
func (f *File) Float32s(key string) ([]float32, bool) {
	v, _ := f.Get(key)
	return v.AsFloat32s()
}

// Int32s returns an array of INT32 (shared: do not modify), or an array of
// another integer type converted when every element fits in int32.
func (f *File) Int32s(key string) ([]int32, bool) {
	v, _ := f.Get(key)
	return v.AsInt32s()
}

// Arch returns general.architecture, or "" when absent.
func (f *File) Arch() string {
	s, _ := f.String("general.architecture")
	return s
}

// Tensor returns the info of the named tensor.
func (f *File) Tensor(name string) (*TensorInfo, bool) {
	i, ok := f.tindex[name]
	if !ok {
		return nil, false
	}
	return &f.Tensors[i], true
}

// TensorData returns the tensor's bytes as a view into the file image
// (capacity clipped so appends cannot spill into the next tensor). ti must
// come from f; nil after Close.
func (f *File) TensorData(ti *TensorInfo) []byte {
	if ti.part > 0 {
		if ti.part > len(f.parts) {
			return nil
		}
		f = f.parts[ti.part-1]
	}
	if f.data == nil {
		return nil
	}
	n, err := ti.size()
	if err != nil {
		return nil
	}
	lo := f.DataOffset + ti.Offset
	hi := lo + n
	if lo < f.DataOffset || hi < lo || hi > uint64(len(f.data)) {
		return nil
	}
	return f.data[lo:hi:hi]
}
