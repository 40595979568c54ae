package quant

import (
	"strings"
	"testing"
)

// TestTypeTable: the known ids have their ggml layouts; ids between and
// beyond them (4, 5, 31-33, 36-38, 40, and huge ones) are unknown
// everywhere, and the names round-trip through ParseType in any case.
func TestTypeTable(t *testing.T) {
	for _, c := range []struct {
		t           Type
		name        string
		block, size int
	}{
		{F32, "F32", 1, 4}, {F16, "F16", 1, 2}, {Q4_0, "Q4_0", 32, 18}, {Q8_0, "Q8_0", 32, 34},
		{Q4_K, "Q4_K", 256, 144}, {Q6_K, "Q6_K", 256, 210}, {IQ4_XS, "IQ4_XS", 256, 136},
		{BF16, "BF16", 1, 2}, {MXFP4, "MXFP4", 32, 17},
	} {
		if !c.t.Known() || c.t.String() != c.name || c.t.BlockSize() != c.block || c.t.BlockBytes() != c.size {
			t.Errorf("type %d: known %v, %q, block %d of %d bytes; want %q, %d of %d", uint32(c.t), c.t.Known(), c.t.String(),
				c.t.BlockSize(), c.t.BlockBytes(), c.name, c.block, c.size)
		}
		if n, err := c.t.RowBytes(3 * c.block); err != nil || n != 3*c.size {
			t.Errorf("%v: RowBytes(%d) = %d, %v; want %d", c.t, 3*c.block, n, err, 3*c.size)
		}
		for _, s := range []string{c.name, strings.ToLower(c.name)} {
			if got, err := ParseType(s); err != nil || got != c.t {
				t.Errorf("ParseType(%q) = %v, %v; want %v", s, got, err, c.t)
			}
		}
	}
	if _, err := Q4_K.RowBytes(255); err == nil {
		t.Error("Q4_K.RowBytes(255): no error for a partial block")
	}
	for _, id := range []Type{4, 5, 31, 32, 33, 36, 37, 38, 40, 1000, 1 << 31, ^Type(0)} {
		if id.Known() {
			t.Errorf("type %d known", uint32(id))
		}
		if _, err := id.RowBytes(32); err == nil {
			t.Errorf("type %d: RowBytes gave no error", uint32(id))
		}
		if s := id.String(); !strings.HasPrefix(s, "type(") {
			t.Errorf("type %d: String %q", uint32(id), s)
		}
	}
	for _, s := range []string{"", "Q4", "type(4)", "q4_0 "} {
		if got, err := ParseType(s); err == nil {
			t.Errorf("ParseType(%q) = %v, want an error", s, got)
		}
	}
	n := 0
	for id := range Type(64) {
		if id.Known() {
			n++
		}
	}
	if n != 32 {
		t.Errorf("%d known type ids below 64, want 32", n)
	}
}
