package quant

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"testing"
)

// testdata/iquants.bin.gz holds ggml's own answers for the i-quants below
// 4 bits: rows of random blocks (the first all 0xff bytes, the second all
// zero, then random; each block's fp16 scale set to ±0.001-0.011, IQ1_M's
// spread over its scale nibbles), a Q8_K activation row from ggml's
// quantize_row_q8_K_ref, ggml's dequantize_row_* of the weights and
// ggml_vec_dot_*_q8_K_generic of the two. It was written once by a harness
// linked against ggml (ggml-org/ggml d99724f2, ggml-quants.c and
// ggml-cpu/quants.c built with gcc -O2, no FMA); the harness is not kept.
//
// Layout: "NURIIQG1", u32 type count; per type u32 ggml type, elements a
// row, rows, block bytes; per row the weight bytes, the Q8_K bytes, the
// dequantized float32s and the float32 dot.

type iqGoldenRow struct {
	w, q8 []byte
	deq   []float32
	dot   float32
}

// readGzip returns the decompressed contents of a gzip file.
func readGzip(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return raw
}

func readIQGolden(t *testing.T) map[Type][]iqGoldenRow {
	t.Helper()
	r := bytes.NewReader(readGzip(t, "testdata/iquants.bin.gz"))
	var magic [8]byte
	var count uint32
	if _, err := io.ReadFull(r, magic[:]); err != nil || string(magic[:]) != "NURIIQG1" {
		t.Fatalf("golden header %q: %v", magic, err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("golden file truncated: %v", err)
		}
	}
	must(binary.Read(r, binary.LittleEndian, &count))
	out := map[Type][]iqGoldenRow{}
	for i := uint32(0); i < count; i++ {
		var h [4]uint32
		must(binary.Read(r, binary.LittleEndian, &h))
		typ, n, rows, bb := Type(h[0]), int(h[1]), int(h[2]), int(h[3])
		if typ.BlockBytes() != bb {
			t.Fatalf("%v: golden blocks of %d bytes, the type table says %d", typ, bb, typ.BlockBytes())
		}
		nb := n / QK_K
		for j := 0; j < rows; j++ {
			row := iqGoldenRow{w: make([]byte, nb*bb), q8: make([]byte, nb*Q8_K.BlockBytes()), deq: make([]float32, n)}
			_, err := io.ReadFull(r, row.w)
			must(err)
			_, err = io.ReadFull(r, row.q8)
			must(err)
			must(binary.Read(r, binary.LittleEndian, row.deq))
			must(binary.Read(r, binary.LittleEndian, &row.dot))
			out[typ] = append(out[typ], row)
		}
	}
	if r.Len() != 0 {
		t.Fatalf("golden file: %d bytes left over", r.Len())
	}
	return out
}

// TestIQuantsMatchGGML: dequantization and the dot product of every
// i-quant below 4 bits give ggml's bits. Both are exact: the dequantized
// values are one or two float32 products of the same operands, and the dot
// products sum integers within a super-block and take the same float
// steps in the same order.
func TestIQuantsMatchGGML(t *testing.T) {
	golden := readIQGolden(t)
	for _, typ := range []Type{IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, IQ1_S, IQ1_M} {
		rows := golden[typ]
		if len(rows) == 0 {
			t.Errorf("%v: no golden rows", typ)
			continue
		}
		if !CanDequantize(typ) || !Supported(typ) || VecDotType(typ) != Q8_K {
			t.Errorf("%v: CanDequantize %v, Supported %v, VecDotType %v; want true, true, Q8_K",
				typ, CanDequantize(typ), Supported(typ), VecDotType(typ))
		}
		for r, row := range rows {
			got := make([]float32, len(row.deq))
			if err := Dequantize(typ, row.w, got); err != nil {
				t.Fatalf("%v: %v", typ, err)
			}
			bad := 0
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(row.deq[i]) {
					if bad < 3 {
						t.Errorf("%v row %d element %d: %v, ggml %v", typ, r, i, got[i], row.deq[i])
					}
					bad++
				}
			}
			if bad > 0 {
				t.Errorf("%v row %d: %d of %d elements differ", typ, r, bad, len(got))
			}
			if d := VecDot(typ, len(row.deq), row.w, row.q8); math.Float32bits(d) != math.Float32bits(row.dot) {
				t.Errorf("%v row %d: dot %v, ggml %v", typ, r, d, row.dot)
			}
		}
	}
}

// TestIQSigns: the eighth sign bit makes the count of minus signs even.
func TestIQSigns(t *testing.T) {
	for s := 0; s < 128; s++ {
		got := IQSigns(uint8(s))
		ones := 0
		for b := got; b != 0; b &= b - 1 {
			ones++
		}
		if got&127 != uint8(s) || ones%2 != 0 {
			t.Errorf("IQSigns(%#x) = %#x", s, got)
		}
	}
}

// TestIQGrid checks the expanded codebooks' shapes and first entries
// (ggml: iq2xxs_grid[0] = 0x0808080808080808, iq3xxs_grid[0] = 0x04040404,
// iq3s_grid[0] = 0x01010101, iq1s_grid[0] = all −1), that entries are
// distinct, and that IQGrid hands out copies.
func TestIQGrid(t *testing.T) {
	for _, c := range []struct {
		typ          Type
		entries, w   int
		first        byte
		distinctOnly bool
	}{
		{IQ2_XXS, 256, 8, 8, true}, {IQ2_XS, 512, 8, 8, true}, {IQ2_S, 1024, 8, 8, true},
		{IQ3_XXS, 256, 4, 4, true}, {IQ3_S, 512, 4, 1, true}, {IQ1_S, 2048, 8, 0xff, true},
	} {
		g, w, ok := IQGrid(c.typ)
		if !ok || w != c.w || len(g) != c.entries*c.w {
			t.Errorf("%v: %d bytes of width %d (ok %v), want %d entries of %d", c.typ, len(g), w, ok, c.entries, c.w)
			continue
		}
		for j := 0; j < w; j++ {
			if g[j] != c.first {
				t.Errorf("%v entry 0 byte %d = %#x, want %#x", c.typ, j, g[j], c.first)
			}
		}
		seen := map[string]bool{}
		for i := 0; i < c.entries; i++ {
			k := string(g[i*w : i*w+w])
			if seen[k] {
				t.Errorf("%v: entry %d repeats an earlier one", c.typ, i)
			}
			seen[k] = true
		}
		g[0]++
		if again, _, _ := IQGrid(c.typ); again[0] != c.first {
			t.Errorf("%v: IQGrid returned its own table, not a copy", c.typ)
		}
	}
	if _, _, ok := IQGrid(Q4_0); ok {
		t.Error("IQGrid(Q4_0) reported a codebook")
	}
}

// TestIQDecodeEncode: for the transcodable types, IQDecode's integers
// stand for Dequantize's values (within the two roundings the float32
// dequantization takes: 2⁻²² relative), and IQEncode gives back every
// block's bytes, for ggml's golden blocks and random ones.
func TestIQDecodeEncode(t *testing.T) {
	golden := readIQGolden(t)
	rng := rand.New(rand.NewPCG(3, 4))
	for _, typ := range []Type{IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, IQ1_S, IQ1_M} {
		bb := typ.BlockBytes()
		var blocks [][]byte
		for _, row := range golden[typ] {
			for o := 0; o < len(row.w); o += bb {
				blocks = append(blocks, row.w[o:o+bb])
			}
		}
		for range 200 {
			b := make([]byte, bb)
			for i := range b {
				b[i] = byte(rng.Uint32())
			}
			setBlockScale(typ, b, FP32ToFP16(float32(rng.NormFloat64())*0.01))
			blocks = append(blocks, b)
		}
		for n, blk := range blocks {
			var level [QK_K]int8
			var mult [16]int8
			d16 := IQDecode(typ, blk, &level, &mult)
			deq := make([]float32, QK_K)
			if err := Dequantize(typ, blk, deq); err != nil {
				t.Fatal(err)
			}
			d := float64(FP16ToFP32(d16)) * float64(IQFactor(typ))
			for e := range deq {
				v := d * float64(mult[e/IQGroupSize(typ)]) * float64(level[e])
				if math.Abs(v-float64(deq[e])) > math.Abs(v)*0x1p-22 {
					t.Fatalf("%v block %d element %d: integers give %v, Dequantize %v", typ, n, e, v, deq[e])
				}
			}
			back := make([]byte, bb)
			if err := IQEncode(typ, d16, &level, &mult, back); err != nil {
				t.Fatalf("%v block %d: %v", typ, n, err)
			}
			if !bytes.Equal(back, blk) {
				t.Fatalf("%v block %d: encoded back as\n%x, was\n%x", typ, n, back, blk)
			}
		}
	}
}

func TestIQEncodeRejects(t *testing.T) {
	var level [QK_K]int8
	var mult [16]int8
	for i := range mult[:8] {
		mult[i] = 1
	}
	for i := range level {
		level[i] = 4
	}
	blk := make([]byte, IQ3_XXS.BlockBytes())
	if err := IQEncode(IQ3_XXS, 0x3c00, &level, &mult, blk); err != nil {
		t.Fatalf("all +4: %v", err)
	}
	bad := level
	bad[3] = -4 // one minus sign in an octet: the parity bit cannot say so
	if err := IQEncode(IQ3_XXS, 0x3c00, &bad, &mult, blk); err == nil {
		t.Error("an odd count of minus signs encoded")
	}
	bad = level
	bad[0] = 5
	if err := IQEncode(IQ3_XXS, 0x3c00, &bad, &mult, blk); err == nil {
		t.Error("a level outside the codebook encoded")
	}
	m := mult
	m[2] = 2
	if err := IQEncode(IQ3_XXS, 0x3c00, &level, &m, blk); err == nil {
		t.Error("an even multiplier encoded")
	}
	for i := range level {
		level[i] = 1 // IQ1_S: g = 0, delta +1
	}
	level[40] = -1 // another delta within group 1
	if err := IQEncode(IQ1_S, 0x3c00, &level, &mult, make([]byte, IQ1_S.BlockBytes())); err == nil {
		t.Error("an IQ1_S group with two deltas encoded")
	}
}

// TestIQNibbles: IQNibbles' codes stand for IQDecode's levels under the
// convention it documents, with the same multipliers and scale.
func TestIQNibbles(t *testing.T) {
	mags := map[Type][]int8{
		IQ2_XXS: {8, 25, 43}, IQ2_XS: {8, 25, 43}, IQ2_S: {8, 25, 43},
		IQ3_XXS: {4, 12, 20, 28, 36, 44, 52, 62}, IQ3_S: {1, 3, 5, 7, 9, 11, 13, 15},
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for _, typ := range []Type{IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, IQ1_S, IQ1_M} {
		for n := range 100 {
			blk := make([]byte, typ.BlockBytes())
			for i := range blk {
				blk[i] = byte(rng.Uint32())
			}
			setBlockScale(typ, blk, FP32ToFP16(0.01))
			var level [QK_K]int8
			var mult, mult2 [16]int8
			var oct [32]uint32
			d16 := IQDecode(typ, blk, &level, &mult)
			if d := IQNibbles(typ, blk, &oct, &mult2); d != d16 || mult != mult2 {
				t.Fatalf("%v block %d: scale %#x/%#x, multipliers %v/%v", typ, n, d, d16, mult2, mult)
			}
			for e := range level {
				c := int8(oct[e/8] >> (4 * (e % 8)) & 15)
				var v int8
				if m, ok := mags[typ]; ok {
					v = m[c&7]
					if c&8 != 0 {
						v = -v
					}
				} else {
					v = 8*(c&3-1) + 1
					if c&4 != 0 {
						v -= 2
					}
				}
				if v != level[e] {
					t.Fatalf("%v block %d element %d: code %#x stands for %d, IQDecode %d", typ, n, e, c, v, level[e])
				}
			}
		}
	}
}

// setBlockScale writes an i-quant block's fp16 super-block scale:
// the first two bytes, or IQ1_M's four top nibbles of its scale words.
func setBlockScale(t Type, blk []byte, d uint16) {
	if t != IQ1_M {
		put16(blk, d)
		return
	}
	for k := 0; k < 4; k++ {
		o := 48 + 2*k
		put16(blk[o:], le16(blk[o:])&0x0fff|(d>>(4*k)&0xf)<<12)
	}
}
