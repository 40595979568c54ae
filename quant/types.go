package quant

import "fmt"

// Type is a ggml tensor element type, numbered as in the GGUF file format.
type Type uint32

// The ggml type ids (gguf-py GGMLQuantizationType). Ids not listed here are
// unknown to Nuri and rejected by the GGUF reader.
const (
	F32     Type = 0
	F16     Type = 1
	Q4_0    Type = 2
	Q4_1    Type = 3
	Q5_0    Type = 6
	Q5_1    Type = 7
	Q8_0    Type = 8
	Q8_1    Type = 9
	Q2_K    Type = 10
	Q3_K    Type = 11
	Q4_K    Type = 12
	Q5_K    Type = 13
	Q6_K    Type = 14
	Q8_K    Type = 15
	IQ2_XXS Type = 16
	IQ2_XS  Type = 17
	IQ3_XXS Type = 18
	IQ1_S   Type = 19
	IQ4_NL  Type = 20
	IQ3_S   Type = 21
	IQ2_S   Type = 22
	IQ4_XS  Type = 23
	I8      Type = 24
	I16     Type = 25
	I32     Type = 26
	I64     Type = 27
	F64     Type = 28
	IQ1_M   Type = 29
	BF16    Type = 30
	TQ1_0   Type = 34
	TQ2_0   Type = 35
	MXFP4   Type = 39
)

// QK_K is the number of elements in a K-quant super-block.
const QK_K = 256

// Traits describes the storage layout of one type.
type Traits struct {
	Name       string
	BlockSize  int  // elements per block
	BlockBytes int  // bytes per block
	Quantized  bool // block-quantized (as opposed to plain scalars)
}

// traits is indexed by type id; an id with no entry has a zero BlockSize.
// An array, not a map: every op checks its tensors' sizes through
// RowBytes, dozens of times a decode step, and a map lookup hashes and
// walks buckets that the step's weight stream has evicted from the
// caches, where an array entry is one load (docs/performance.md, round
// 78).
var traits = [...]Traits{
	F32:     {"F32", 1, 4, false},
	F16:     {"F16", 1, 2, false},
	Q4_0:    {"Q4_0", 32, 18, true},
	Q4_1:    {"Q4_1", 32, 20, true},
	Q5_0:    {"Q5_0", 32, 22, true},
	Q5_1:    {"Q5_1", 32, 24, true},
	Q8_0:    {"Q8_0", 32, 34, true},
	Q8_1:    {"Q8_1", 32, 36, true},
	Q2_K:    {"Q2_K", 256, 84, true},
	Q3_K:    {"Q3_K", 256, 110, true},
	Q4_K:    {"Q4_K", 256, 144, true},
	Q5_K:    {"Q5_K", 256, 176, true},
	Q6_K:    {"Q6_K", 256, 210, true},
	Q8_K:    {"Q8_K", 256, 292, true},
	IQ2_XXS: {"IQ2_XXS", 256, 66, true},
	IQ2_XS:  {"IQ2_XS", 256, 74, true},
	IQ3_XXS: {"IQ3_XXS", 256, 98, true},
	IQ1_S:   {"IQ1_S", 256, 50, true},
	IQ4_NL:  {"IQ4_NL", 32, 18, true},
	IQ3_S:   {"IQ3_S", 256, 110, true},
	IQ2_S:   {"IQ2_S", 256, 82, true},
	IQ4_XS:  {"IQ4_XS", 256, 136, true},
	I8:      {"I8", 1, 1, false},
	I16:     {"I16", 1, 2, false},
	I32:     {"I32", 1, 4, false},
	I64:     {"I64", 1, 8, false},
	F64:     {"F64", 1, 8, false},
	IQ1_M:   {"IQ1_M", 256, 56, true},
	BF16:    {"BF16", 1, 2, false},
	TQ1_0:   {"TQ1_0", 256, 54, true},
	TQ2_0:   {"TQ2_0", 256, 66, true},
	MXFP4:   {"MXFP4", 32, 17, true},
}

// lookup returns t's traits and whether t is known.
func lookup(t Type) (*Traits, bool) {
	if uint64(t) >= uint64(len(traits)) {
		return nil, false
	}
	tr := &traits[t]
	return tr, tr.BlockSize != 0
}

// Known reports whether t is a type id Nuri knows the layout of.
func (t Type) Known() bool { _, ok := lookup(t); return ok }

// Traits returns the layout of t. It panics on an unknown type; check Known
// first for ids read from untrusted input.
func (t Type) Traits() Traits {
	tr, ok := lookup(t)
	if !ok {
		panic(fmt.Sprintf("quant: unknown type id %d", uint32(t)))
	}
	return *tr
}

// String returns the ggml name of the type ("Q4_K"), or "type(N)" when unknown.
func (t Type) String() string {
	if tr, ok := lookup(t); ok {
		return tr.Name
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// BlockSize returns the number of elements per block.
func (t Type) BlockSize() int { return t.Traits().BlockSize }

// BlockBytes returns the number of bytes per block.
func (t Type) BlockBytes() int { return t.Traits().BlockBytes }

// RowBytes returns the bytes needed for a row of n elements, or an error when
// n is not a multiple of the block size.
func (t Type) RowBytes(n int) (int, error) {
	tr, ok := lookup(t)
	if !ok {
		return 0, fmt.Errorf("unknown type id %d", uint32(t))
	}
	if n%tr.BlockSize != 0 {
		return 0, fmt.Errorf("row of %d elements is not a multiple of %s's block size %d", n, tr.Name, tr.BlockSize)
	}
	return n / tr.BlockSize * tr.BlockBytes, nil
}

// ParseType maps a ggml type name ("q4_k", "F16") to its Type.
func ParseType(name string) (Type, error) {
	for t, tr := range traits {
		if Type(t).Known() && equalFold(tr.Name, name) {
			return Type(t), nil
		}
	}
	return 0, fmt.Errorf("unknown tensor type %q", name)
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'a' <= x && x <= 'z' {
			x -= 'a' - 'A'
		}
		if 'a' <= y && y <= 'z' {
			y -= 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
