package gguf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strings"
	"testing"

	"github.com/nuri-ai/nuri/quant"
)

// raw assembles GGUF bytes field by field, so tests can write anything,
// including what the Writer refuses to produce.
type raw []byte

func (r raw) u32(v uint32) raw { return binary.LittleEndian.AppendUint32(r, v) }
func (r raw) u64(v uint64) raw { return binary.LittleEndian.AppendUint64(r, v) }
func (r raw) str(s string) raw { return append(r.u64(uint64(len(s))), s...) }
func (r raw) bytes(b ...byte) raw {
	return append(r, b...)
}

// hdr starts a file: magic, version, tensor count, KV count.
func hdr(version uint32, nTensors, nKV uint64) raw {
	return raw("GGUF").u32(version).u64(nTensors).u64(nKV)
}

// kvU32 appends a UINT32 pair.
func (r raw) kvU32(key string, v uint32) raw { return r.str(key).u32(uint32(TypeUint32)).u32(v) }

// tensor appends a tensor info.
func (r raw) tensor(name string, t quant.Type, off uint64, dims ...uint64) raw {
	r = r.str(name).u32(uint32(len(dims)))
	for _, d := range dims {
		r = r.u64(d)
	}
	return r.u32(uint32(t)).u64(off)
}

// padTo appends zeros up to a multiple of a.
func (r raw) padTo(a int) raw {
	for len(r)%a != 0 {
		r = append(r, 0)
	}
	return r
}

func (r raw) zeros(n int) raw { return append(r, make([]byte, n)...) }

// validTwoTensors is a well-formed file: two F32 tensors of 32 and 16 bytes.
func validTwoTensors() raw {
	r := hdr(3, 2, 1).kvU32("general.alignment", 32)
	r = r.tensor("a", quant.F32, 0, 8).tensor("b", quant.F32, 32, 4, 2)
	return r.padTo(32).zeros(32 + 32)
}

func nested(depth int) raw {
	r := hdr(3, 0, 1).str("deep").u32(uint32(TypeArray))
	for i := 0; i < depth; i++ {
		r = r.u32(uint32(TypeArray)).u64(1)
	}
	return r.u32(uint32(TypeUint8)).u64(0)
}

func TestCorruptFiles(t *testing.T) {
	valid := validTwoTensors()
	if _, err := OpenBytes(valid); err != nil {
		t.Fatalf("the base file must be valid: %v", err)
	}
	if _, err := OpenBytes(nested(maxArrayDepth - 1)); err != nil {
		t.Fatalf("nesting within the limit must be accepted: %v", err)
	}
	cases := []struct {
		name string
		b    []byte
		want string // substring of the error
	}{
		{"empty", nil, "truncated"},
		{"three bytes", []byte("GGU"), "truncated"},
		{"bad magic", raw("GGML").u32(3).u64(0).u64(0), "bad magic"},
		{"version 1", hdr(1, 0, 0), "version 1"},
		{"version 4", hdr(4, 0, 0), "version 4"},
		{"version 0", raw("GGUF").u32(0x00030000).u64(0).u64(0), "byte-swapped"},
		{"big-endian", raw("GGUF").u32(0x03000000).u64(0).u64(0), "byte-swapped"},
		{"truncated counts", raw("GGUF").u32(3).u64(0), "truncated"},
		{"absurd tensor count", hdr(3, 1<<40, 0), "tensor count 1099511627776 is impossible"},
		{"negative tensor count", hdr(3, math.MaxUint64, 0), "tensor count"},
		{"absurd kv count", hdr(3, 0, 1<<50), "key/value count"},
		{"key length past end", hdr(3, 0, 1).u64(1 << 62).zeros(16), "key length"},
		{"key truncated", hdr(3, 0, 1).u64(10).bytes(1, 2, 3, 4, 5, 6), "key length 10 exceeds"},
		{"unknown value type", hdr(3, 0, 1).str("k").u32(13).u32(0), "unknown value type 13"},
		{"value truncated", hdr(3, 0, 1).str("k").u32(uint32(TypeUint64)).u32(7), "truncated"},
		{"string value too long", hdr(3, 0, 1).str("k").u32(uint32(TypeString)).u64(1 << 40), "string length"},
		{"unknown array element type", hdr(3, 0, 1).str("k").u32(uint32(TypeArray)).u32(99).u64(0), "unknown array element type 99"},
		{"absurd array count", hdr(3, 0, 1).str("k").u32(uint32(TypeArray)).u32(uint32(TypeUint32)).u64(1 << 40).u32(1), "array count"},
		{"absurd string array", hdr(3, 0, 1).str("k").u32(uint32(TypeArray)).u32(uint32(TypeString)).u64(1 << 30).u64(0), "array count"},
		{"string element past end", hdr(3, 0, 1).str("k").u32(uint32(TypeArray)).u32(uint32(TypeString)).u64(2).str("ok").u64(1 << 20), "string element 1 length"},
		{"nested too deep", nested(maxArrayDepth + 1), "nested deeper"},
		{"duplicate key", hdr(3, 0, 2).kvU32("k", 1).kvU32("k", 2), "duplicate key"},
		{"alignment zero", hdr(3, 0, 1).kvU32("general.alignment", 0), "alignment"},
		{"alignment not power of two", hdr(3, 0, 1).kvU32("general.alignment", 48), "alignment"},
		{"alignment wrong type", hdr(3, 0, 1).str("general.alignment").u32(uint32(TypeUint64)).u64(32), "UINT32"},
		{"five dims", hdr(3, 1, 0).tensor("t", quant.F32, 0, 1, 1, 1, 1, 1).padTo(32).zeros(32), "5 dimensions"},
		{"negative dim", hdr(3, 1, 0).tensor("t", quant.F32, 0, 1<<63).padTo(32), "negative"},
		{"unknown tensor type", hdr(3, 1, 0).tensor("t", quant.Type(4), 0, 32).padTo(32).zeros(32), "unknown tensor type id 4"},
		{"row not multiple of block", hdr(3, 1, 0).tensor("t", quant.Q4_0, 0, 33).padTo(32).zeros(64), "not a multiple"},
		{"shape overflow", hdr(3, 1, 0).tensor("t", quant.F32, 0, 1<<32, 1<<32, 1<<32).padTo(32), "overflows"},
		{"tensor past end", hdr(3, 1, 0).tensor("t", quant.F32, 0, 64).padTo(32).zeros(32), "past the end"},
		{"offset past end", hdr(3, 1, 0).tensor("t", quant.F32, 1<<62, 8).padTo(32).zeros(32), "past the end"},
		{"offset overflow", hdr(3, 1, 0).tensor("t", quant.F32, math.MaxUint64-31, 8).padTo(32).zeros(32), "past the end"},
		{"unaligned offset", hdr(3, 1, 0).tensor("t", quant.F32, 4, 4).padTo(32).zeros(32), "not a multiple of the alignment"},
		{"overlap", hdr(3, 2, 0).tensor("a", quant.F32, 0, 16).tensor("b", quant.F32, 32, 8).padTo(32).zeros(64), `overlaps tensor "a"`},
		{"duplicate tensor", hdr(3, 2, 0).tensor("a", quant.F32, 0, 8).tensor("a", quant.F32, 32, 8).padTo(32).zeros(64), "duplicate tensor"},
		{"no data section", hdr(3, 1, 0).tensor("t", quant.F32, 0, 8).bytes(0), "data section"},
		{"tensor info truncated", hdr(3, 1, 0).str("t").u32(2).u64(8), "truncated"},
	}
	for i := 1; i < len(valid); i++ {
		cases = append(cases, struct {
			name string
			b    []byte
			want string
		}{fmt.Sprintf("prefix %d", i), valid[:i], ""})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			f, err := OpenBytes(c.b)
			runtime.ReadMemStats(&after)
			if err == nil {
				t.Fatalf("accepted: %d tensors, %d keys", len(f.Tensors), len(f.KV))
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("error does not wrap ErrCorrupt: %v", err)
			}
			if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "at byte") {
				t.Errorf("error %q does not say %q and where", err, c.want)
			}
			// Allocation must be justified by the input, whatever the counts claim.
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > uint64(64*len(c.b)+64<<10) {
				t.Errorf("allocated %d bytes for a %d-byte input", alloc, len(c.b))
			}
		})
	}
}

// TestCorruptErrorNamesPlace checks the error names the tensor and offset.
func TestCorruptErrorNamesPlace(t *testing.T) {
	b := hdr(3, 1, 0).tensor("blk.0.attn_q.weight", quant.Q4_0, 0, 40, 2).padTo(32).zeros(64)
	_, err := OpenBytes(b)
	var ce *CorruptError
	if !errors.As(err, &ce) {
		t.Fatalf("not a CorruptError: %v", err)
	}
	if ce.Where != `tensor "blk.0.attn_q.weight"` || ce.Offset <= 24 || ce.Offset >= int64(len(b)) {
		t.Errorf("where %q offset %d", ce.Where, ce.Offset)
	}
}
