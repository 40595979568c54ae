package gguf

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"

	"github.com/nuri-ai/nuri/quant"
)

// Limits on hostile structure that byte counts alone do not bound.
const (
	maxDims       = 4  // GGML_MAX_DIMS
	maxArrayDepth = 16 // nested arrays deeper than this are rejected (bounds recursion)
	// DefaultAlignment is the data alignment when general.alignment is absent.
	DefaultAlignment = 32
	// KeyAlignment is the metadata key that overrides the data alignment.
	KeyAlignment = "general.alignment"
)

// magic is "GGUF" read as a little-endian uint32.
const magic = 0x46554747

// decoder reads little-endian fields from b, tracking the offset and what is
// being read so every error names its place.
type decoder struct {
	b     []byte
	off   int
	where string
}

func (d *decoder) remaining() int { return len(d.b) - d.off }

func (d *decoder) errf(format string, args ...any) error {
	return corruptf(int64(d.off), d.where, format, args...)
}

func (d *decoder) need(n int, what string) error {
	if n < 0 || d.remaining() < n {
		return d.errf("truncated: %s needs %d bytes, %d left in file", what, n, d.remaining())
	}
	return nil
}

func (d *decoder) u8(what string) (uint8, error) {
	if err := d.need(1, what); err != nil {
		return 0, err
	}
	v := d.b[d.off]
	d.off++
	return v, nil
}

func (d *decoder) u16(what string) (uint16, error) {
	if err := d.need(2, what); err != nil {
		return 0, err
	}
	v := binary.LittleEndian.Uint16(d.b[d.off:])
	d.off += 2
	return v, nil
}

func (d *decoder) u32(what string) (uint32, error) {
	if err := d.need(4, what); err != nil {
		return 0, err
	}
	v := binary.LittleEndian.Uint32(d.b[d.off:])
	d.off += 4
	return v, nil
}

func (d *decoder) u64(what string) (uint64, error) {
	if err := d.need(8, what); err != nil {
		return 0, err
	}
	v := binary.LittleEndian.Uint64(d.b[d.off:])
	d.off += 8
	return v, nil
}

// count reads a uint64 element count and checks that count elements of at
// least minSize bytes each fit in what is left of the file, so the caller
// may allocate count elements.
func (d *decoder) count(what string, minSize int) (int, error) {
	at := d.off
	n, err := d.u64(what)
	if err != nil {
		return 0, err
	}
	if limit := uint64(d.remaining() / minSize); n > limit {
		return 0, corruptf(int64(at), d.where, "%s %d is impossible: %d bytes left in file hold at most %d", what, n, d.remaining(), limit)
	}
	return int(n), nil
}

// str reads a string; idx >= 0 names an array element in errors (the
// message is built only on failure: vocabularies have 100k+ strings).
func (d *decoder) str(what string, idx int) (string, error) {
	at := d.off
	if d.remaining() < 8 || binary.LittleEndian.Uint64(d.b[d.off:]) > uint64(d.remaining()-8) {
		if idx >= 0 {
			what = fmt.Sprintf("%s %d", what, idx)
		}
		n, err := d.u64(what + " length")
		if err != nil {
			return "", err
		}
		return "", corruptf(int64(at), d.where, "%s length %d exceeds the %d bytes left in file", what, n, d.remaining())
	}
	n, _ := d.u64("")
	s := string(d.b[d.off : d.off+int(n)])
	d.off += int(n)
	return s, nil
}

func (d *decoder) valueType(what string) (ValueType, error) {
	at := d.off
	t, err := d.u32(what)
	if err != nil {
		return 0, err
	}
	if !ValueType(t).Valid() {
		return 0, corruptf(int64(at), d.where, "unknown %s %d", what, t)
	}
	return ValueType(t), nil
}

// value reads one value of type t; depth counts enclosing arrays.
func (d *decoder) value(t ValueType, depth int) (Value, error) {
	switch t {
	case TypeString:
		s, err := d.str("string", -1)
		return String(s), err
	case TypeArray:
		return d.array(depth + 1)
	}
	var n uint64
	var err error
	switch t.size() {
	case 1:
		var x uint8
		x, err = d.u8(t.String())
		n = uint64(x)
		if t == TypeInt8 {
			n = uint64(int64(int8(x)))
		}
	case 2:
		var x uint16
		x, err = d.u16(t.String())
		n = uint64(x)
		if t == TypeInt16 {
			n = uint64(int64(int16(x)))
		}
	case 4:
		var x uint32
		x, err = d.u32(t.String())
		n = uint64(x)
		if t == TypeInt32 {
			n = uint64(int64(int32(x)))
		}
	case 8:
		n, err = d.u64(t.String())
	}
	if err != nil {
		return Value{}, err
	}
	if t == TypeBool && n > 1 {
		// llama.cpp reads the byte as a C bool; any non-zero byte is true.
		n = 1
	}
	return Value{typ: t, num: n, ok: true}, nil
}

func (d *decoder) array(depth int) (Value, error) {
	if depth > maxArrayDepth {
		return Value{}, d.errf("arrays nested deeper than %d", maxArrayDepth)
	}
	et, err := d.valueType("array element type")
	if err != nil {
		return Value{}, err
	}
	n, err := d.count("array count", et.size())
	if err != nil {
		return Value{}, err
	}
	// Fixed-width arrays: the bytes are all there (count checked it), so
	// decode in one pass without per-element checks.
	if v, ok := fixedArray(et, d.b[d.off:], n); ok {
		d.off += n * et.size()
		return v, nil
	}
	switch et {
	case TypeString:
		a := make([]string, n)
		for i := range a {
			if a[i], err = d.str("string element", i); err != nil {
				return Value{}, err
			}
		}
		return Strings(a), nil
	case TypeArray:
		a := make([]Value, n)
		for i := range a {
			if a[i], err = d.array(depth + 1); err != nil {
				return Value{}, err
			}
		}
		return arrayOf(TypeArray, a), nil
	}
	return Value{}, d.errf("unknown array element type %d", et)
}

// fixedArray decodes an array of n elements of the fixed-width type et
// from the front of raw, which holds them all; ok is false for the other
// types.
func fixedArray(et ValueType, raw []byte, n int) (v Value, ok bool) {
	le := binary.LittleEndian
	switch et {
	case TypeUint8:
		return Uint8s(append([]uint8(nil), raw[:n]...)), true
	case TypeInt8:
		return Int8s(elements(raw, n, 1, func(b []byte) int8 { return int8(b[0]) })), true
	case TypeBool:
		return Bools(elements(raw, n, 1, func(b []byte) bool { return b[0] != 0 })), true
	case TypeUint16:
		return Uint16s(elements(raw, n, 2, le.Uint16)), true
	case TypeInt16:
		return Int16s(elements(raw, n, 2, func(b []byte) int16 { return int16(le.Uint16(b)) })), true
	case TypeUint32:
		return Uint32s(elements(raw, n, 4, le.Uint32)), true
	case TypeInt32:
		return Int32s(elements(raw, n, 4, func(b []byte) int32 { return int32(le.Uint32(b)) })), true
	case TypeFloat32:
		return Float32s(elements(raw, n, 4, func(b []byte) float32 { return math.Float32frombits(le.Uint32(b)) })), true
	case TypeUint64:
		return Uint64s(elements(raw, n, 8, le.Uint64)), true
	case TypeInt64:
		return Int64s(elements(raw, n, 8, func(b []byte) int64 { return int64(le.Uint64(b)) })), true
	case TypeFloat64:
		return Float64s(elements(raw, n, 8, func(b []byte) float64 { return math.Float64frombits(le.Uint64(b)) })), true
	}
	return Value{}, false
}

// elements decodes n elements of size bytes each from the front of raw
// with elem.
func elements[T any](raw []byte, n, size int, elem func([]byte) T) []T {
	a := make([]T, n)
	for i := range a {
		a[i] = elem(raw[size*i:])
	}
	return a
}

// parse decodes a whole GGUF image. b must stay valid for the File's life.
func parse(b []byte) (*File, error) {
	d := &decoder{b: b, where: "header"}
	m, err := d.u32("magic")
	if err != nil {
		return nil, err
	}
	if m != magic {
		return nil, corruptf(0, "header", "bad magic %q, want \"GGUF\"", b[:4])
	}
	version, err := d.u32("version")
	if err != nil {
		return nil, err
	}
	switch {
	case version&0xFFFF == 0:
		return nil, corruptf(4, "header", "version %#x looks byte-swapped (big-endian file?)", version)
	case version == 1:
		return nil, corruptf(4, "header", "GGUF version 1 is not supported (only 2 and 3)")
	case version > 3 || version == 0:
		return nil, corruptf(4, "header", "GGUF version %d is not supported (only 2 and 3)", version)
	}
	// Minimum encodings: a KV is key length + type + 1 byte of value; a
	// tensor info is name length + n_dims + type + offset.
	nTensors, err := d.count("tensor count", 8+4+4+8)
	if err != nil {
		return nil, err
	}
	nKV, err := d.count("metadata key/value count", 8+4+1)
	if err != nil {
		return nil, err
	}

	f := &File{Version: version, KV: make([]KV, 0, nKV), index: make(map[string]int, nKV), data: b}
	alignAt := int64(0) // where general.alignment's value starts, for errors
	for i := 0; i < nKV; i++ {
		d.where = fmt.Sprintf("metadata pair %d", i)
		key, err := d.str("key", -1)
		if err != nil {
			return nil, err
		}
		d.where = fmt.Sprintf("key %q", key)
		if _, dup := f.index[key]; dup {
			return nil, d.errf("duplicate key")
		}
		t, err := d.valueType("value type")
		if err != nil {
			return nil, err
		}
		if key == KeyAlignment {
			alignAt = int64(d.off)
		}
		v, err := d.value(t, 0)
		if err != nil {
			return nil, err
		}
		f.index[key] = len(f.KV)
		f.KV = append(f.KV, KV{Key: key, Value: v})
	}

	f.Alignment = DefaultAlignment
	if v, ok := f.Get(KeyAlignment); ok {
		a, isU32 := uint64(0), v.Type() == TypeUint32
		if isU32 {
			a, _ = v.AsUint64()
		}
		if !isU32 || a == 0 || a&(a-1) != 0 {
			return nil, corruptf(alignAt, fmt.Sprintf("key %q", KeyAlignment), "alignment must be a non-zero power of two stored as UINT32, got %s %v", v.Type(), v)
		}
		f.Alignment = a
	}

	f.Tensors = make([]TensorInfo, nTensors)
	f.tindex = make(map[string]int, nTensors)
	infoAt := make([]int64, nTensors) // where each tensor info starts, for errors
	for i := range f.Tensors {
		d.where = fmt.Sprintf("tensor info %d", i)
		infoAt[i] = int64(d.off)
		if err := d.tensorInfo(&f.Tensors[i]); err != nil {
			return nil, err
		}
		if _, dup := f.tindex[f.Tensors[i].Name]; dup {
			return nil, d.errf("duplicate tensor name")
		}
		f.tindex[f.Tensors[i].Name] = i
	}
	d.where = "data section"
	start, ok := alignUp(uint64(d.off), f.Alignment)
	// A file without tensors may end before the padding (llama.cpp only
	// seeks there), so the data start is checked only when there is data.
	if !ok || (nTensors > 0 && start > uint64(len(b))) {
		return nil, d.errf("data section would start at %d, past the end of the %d-byte file", start, len(b))
	}
	f.DataOffset = start
	if err := f.checkRanges(uint64(len(b)), infoAt); err != nil {
		return nil, err
	}
	return f, nil
}

func (d *decoder) tensorInfo(ti *TensorInfo) error {
	name, err := d.str("tensor name", -1)
	if err != nil {
		return err
	}
	ti.Name = name
	d.where = fmt.Sprintf("tensor %q", name)
	at := d.off
	nd, err := d.u32("dimension count")
	if err != nil {
		return err
	}
	if nd > maxDims {
		return corruptf(int64(at), d.where, "%d dimensions, at most %d allowed", nd, maxDims)
	}
	ti.Dims = make([]uint64, nd)
	for j := range ti.Dims {
		at := d.off
		n, err := d.u64("dimension")
		if err != nil {
			return err
		}
		if int64(n) < 0 {
			return corruptf(int64(at), d.where, "dimension %d is negative (%d)", j, int64(n))
		}
		ti.Dims[j] = n
	}
	at = d.off
	t, err := d.u32("tensor type")
	if err != nil {
		return err
	}
	ti.Type = quant.Type(t)
	if !ti.Type.Known() {
		return corruptf(int64(at), d.where, "unknown tensor type id %d", t)
	}
	if ti.Offset, err = d.u64("data offset"); err != nil {
		return err
	}
	if _, err := ti.size(); err != nil {
		return corruptf(int64(at), d.where, "%v", err)
	}
	return nil
}

// size computes the tensor's byte size, checking the block divisibility of
// the first dimension and every overflow.
func (ti *TensorInfo) size() (uint64, error) {
	if !ti.Type.Known() {
		return 0, fmt.Errorf("unknown tensor type id %d", uint32(ti.Type))
	}
	tr := ti.Type.Traits()
	if len(ti.Dims) > maxDims {
		return 0, fmt.Errorf("%d dimensions, at most %d allowed", len(ti.Dims), maxDims)
	}
	ne0 := uint64(1)
	if len(ti.Dims) > 0 {
		ne0 = ti.Dims[0]
	}
	if ne0%uint64(tr.BlockSize) != 0 {
		return 0, fmt.Errorf("first dimension %d is not a multiple of %s's block size %d", ne0, tr.Name, tr.BlockSize)
	}
	hi, n := bits.Mul64(ne0/uint64(tr.BlockSize), uint64(tr.BlockBytes))
	elems := ne0
	for _, dim := range ti.Dims[min(1, len(ti.Dims)):] {
		var h1, h2 uint64
		h1, n = bits.Mul64(n, dim)
		h2, elems = bits.Mul64(elems, dim)
		hi |= h1 | h2
	}
	if hi != 0 || n > math.MaxInt64 || elems > math.MaxInt64 {
		return 0, fmt.Errorf("shape %v overflows", ti.Dims)
	}
	return n, nil
}

func alignUp(x, a uint64) (uint64, bool) {
	r := (x + a - 1) / a * a
	if x+a-1 < x {
		return 0, false
	}
	return r, true
}
