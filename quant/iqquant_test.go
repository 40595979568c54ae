package quant

import (
	"bytes"
	"encoding/binary"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// testdata/iqquant.bin.gz holds ggml's own quantizations, by every
// quantizer that takes an importance matrix (the i-quants, the K-quants,
// Q4_0 … Q5_1, and Q8_0, which ignores it): twelve rows of 1024 floats
// (all zero; under IQ3_XXS's group epsilon; one zero group; all positive;
// all negative; heavy tails; on a lattice; every seventh zero; then plain
// Gaussians, at scales from 1e-3 to 1), one importance vector (a sixteenth
// of it zero), and per type ggml's quantize_*(row, NULL) and
// quantize_*(row, importance). IQ2_XXS, IQ2_XS and IQ1_S have no
// unweighted pass: ggml requires the importance.
// It was written once by a harness linked against ggml (ggml-org/ggml
// d99724f2, ggml-quants.c built with gcc -O2, no FMA); the harness is not
// kept.
//
// Layout: "NURIIQQ1", u32 elements a row, rows, type count; the rows as
// float32; the importance as float32; per type u32 ggml type, block bytes,
// whether an unweighted pass follows; then the unweighted pass (if any) and
// the weighted one, each all rows' bytes.

type iqQuantGolden struct {
	n, rows    int
	x          []float32
	importance []float32
	plain      map[Type][]byte // nil where ggml requires the importance
	weighted   map[Type][]byte
}

func readIQQuantGolden(t *testing.T) *iqQuantGolden {
	t.Helper()
	r := bytes.NewReader(readGzip(t, "testdata/iqquant.bin.gz"))
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("golden file truncated: %v", err)
		}
	}
	var magic [8]byte
	if _, err := io.ReadFull(r, magic[:]); err != nil || string(magic[:]) != "NURIIQQ1" {
		t.Fatalf("golden header %q: %v", magic, err)
	}
	var h [3]uint32
	must(binary.Read(r, binary.LittleEndian, &h))
	g := &iqQuantGolden{n: int(h[0]), rows: int(h[1]), plain: map[Type][]byte{}, weighted: map[Type][]byte{}}
	g.x = make([]float32, g.n*g.rows)
	g.importance = make([]float32, g.n)
	must(binary.Read(r, binary.LittleEndian, g.x))
	must(binary.Read(r, binary.LittleEndian, g.importance))
	for i := uint32(0); i < h[2]; i++ {
		var th [3]uint32
		must(binary.Read(r, binary.LittleEndian, &th))
		typ := Type(th[0])
		if typ.BlockBytes() != int(th[1]) {
			t.Fatalf("%v: golden blocks of %d bytes, the type table says %d", typ, th[1], typ.BlockBytes())
		}
		rb, err := typ.RowBytes(g.n)
		if err != nil {
			t.Fatal(err)
		}
		size := g.rows * rb
		if th[2] != 0 {
			g.plain[typ] = make([]byte, size)
			_, err := io.ReadFull(r, g.plain[typ])
			must(err)
		}
		g.weighted[typ] = make([]byte, size)
		_, err = io.ReadFull(r, g.weighted[typ])
		must(err)
	}
	if r.Len() != 0 {
		t.Fatalf("golden file: %d bytes left over", r.Len())
	}
	return g
}

// ggmlIQ3SCursorLayout rewrites a Nuri IQ3_S block into the bytes ggml's
// quantize_row_iq3_s_impl writes for it: that function advances its index
// and sign cursors only past the groups it quantizes, so a skipped group
// (all of its inputs zero) moves the next groups' indices and signs one
// group early. x is the block's input.
func ggmlIQ3SCursorLayout(blk []byte, x []float32) []byte {
	const offQS, offSigns = 2, 74
	out := bytes.Clone(blk)
	clear(out[offQS : offQS+64])
	clear(out[offSigns : offSigns+32])
	at := 0
	for ib := 0; ib < 8; ib++ {
		zero := true
		for _, v := range x[32*ib : 32*ib+32] {
			zero = zero && v == 0
		}
		if zero {
			continue
		}
		copy(out[offQS+8*at:offQS+8*at+8], blk[offQS+8*ib:])
		copy(out[offSigns+4*at:offSigns+4*at+4], blk[offSigns+4*ib:])
		at++
	}
	return out
}

// iqQuantizerTypes are the i-quants below 4 bits.
var iqQuantizerTypes = []Type{IQ3_XXS, IQ3_S, IQ2_XXS, IQ2_XS, IQ2_S, IQ1_S, IQ1_M}

// TestQuantizersMatchGGML: every quantizer that takes an importance matrix
// gives ggml's bytes with it and without it.
func TestQuantizersMatchGGML(t *testing.T) {
	g := readIQQuantGolden(t)
	var types []Type
	for typ := range g.weighted {
		types = append(types, typ)
	}
	slices.Sort(types)
	for _, typ := range append(slices.Clone(iqQuantizerTypes), Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS) {
		if g.weighted[typ] == nil {
			t.Errorf("%v: not in the golden file", typ)
		}
	}
	for _, typ := range types {
		rb, _ := typ.RowBytes(g.n)
		for _, weighted := range []bool{false, true} {
			want := g.weighted[typ]
			var imp []float32
			if weighted {
				imp = g.importance
			} else if want = g.plain[typ]; want == nil {
				continue
			}
			for r := 0; r < g.rows; r++ {
				x := g.x[r*g.n : (r+1)*g.n]
				got := make([]byte, rb)
				if err := QuantizeRow(typ, x, got, imp); err != nil {
					t.Fatal(err)
				}
				if typ == IQ3_S {
					for b := 0; b < g.n/QK_K; b++ {
						blk := got[b*typ.BlockBytes() : (b+1)*typ.BlockBytes()]
						copy(blk, ggmlIQ3SCursorLayout(blk, x[b*QK_K:]))
					}
				}
				w := want[r*rb : (r+1)*rb]
				if !bytes.Equal(got, w) {
					i := 0
					for got[i] == w[i] {
						i++
					}
					t.Errorf("%v weighted=%v row %d: first difference at byte %d (block %d, offset %d): got %#02x, ggml %#02x",
						typ, weighted, r, i, i/typ.BlockBytes(), i%typ.BlockBytes(), got[i], w[i])
					continue
				}
			}
		}
	}
}

// The zero group of golden row 2 is what the cursor rewrite is for: without
// it Nuri's IQ3_S bytes must differ from ggml's there, and Nuri's must
// decode to zeros' codebook stand-in in that group and to ggml's intended
// values in the others.
func TestIQ3SZeroGroupInPlace(t *testing.T) {
	g := readIQQuantGolden(t)
	const row, zeroBlock = 2, 1 // inputs 256..287: block 1, group 0
	x := g.x[row*g.n : (row+1)*g.n]
	rb := g.n / QK_K * IQ3_S.BlockBytes()
	got := make([]byte, rb)
	if err := Quantize(IQ3_S, x, got); err != nil {
		t.Fatal(err)
	}
	bb := IQ3_S.BlockBytes()
	ggml := g.plain[IQ3_S][row*rb : (row+1)*rb]
	if bytes.Equal(got[zeroBlock*bb:(zeroBlock+1)*bb], ggml[zeroBlock*bb:(zeroBlock+1)*bb]) {
		t.Fatal("block with a zero group: Nuri's bytes equal ggml's shifted ones")
	}
	// Nuri's block decodes each non-zero group near its inputs; the zero
	// group decodes to its smallest codebook stand-in.
	y := make([]float32, QK_K)
	if err := Dequantize(IQ3_S, got[zeroBlock*bb:(zeroBlock+1)*bb], y); err != nil {
		t.Fatal(err)
	}
	xb := x[zeroBlock*QK_K : (zeroBlock+1)*QK_K]
	var errSS, sigSS float64
	for i := 32; i < QK_K; i++ {
		d := float64(y[i] - xb[i])
		errSS += d * d
		sigSS += float64(xb[i]) * float64(xb[i])
	}
	// IQ3_S keeps about 3.4 bits a weight: a Gaussian group's relative RMS
	// error is near 0.2; 0.35 leaves room and still fails a shifted group,
	// whose error is about √2.
	if rel := math.Sqrt(errSS / sigSS); rel > 0.35 {
		t.Errorf("groups after the zero group: relative RMS error %.3f, want ≤ 0.35", rel)
	}
}

// Quantizing and dequantizing random rows of awkward lengths keeps the
// values: relative RMS error bounded per type, zero rows exactly zero-free
// of NaN, and every row's bytes independent of the rows around it.
func TestIQQuantizeRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 9))
	// Relative RMS error of Gaussian rows, measured 0.16-0.17 (IQ3_S),
	// 0.21-0.22 (IQ3_XXS), 0.25-0.26 (IQ2_S), 0.30 (IQ2_XS), 0.34
	// (IQ2_XXS), 0.48-0.49 (IQ1_S; these three with unit importance) and
	// 0.56-0.62 (IQ1_M, whose weights are the squares); the bounds leave
	// about 25 % room.
	bound := map[Type]float64{IQ3_XXS: 0.27, IQ3_S: 0.22, IQ2_S: 0.32, IQ2_XS: 0.38, IQ2_XXS: 0.42, IQ1_S: 0.6, IQ1_M: 0.75}
	for _, typ := range iqQuantizerTypes {
		for _, blocks := range []int{1, 3, 7} {
			n := blocks * QK_K
			x := make([]float32, n)
			for i := range x {
				x[i] = float32(rng.NormFloat64() * 0.02)
			}
			q := make([]byte, blocks*typ.BlockBytes())
			if err := Quantize(typ, x, q); err != nil {
				t.Fatal(err)
			}
			y := make([]float32, n)
			if err := Dequantize(typ, q, y); err != nil {
				t.Fatal(err)
			}
			var e, s float64
			for i := range x {
				d := float64(y[i] - x[i])
				e += d * d
				s += float64(x[i]) * float64(x[i])
			}
			rel := math.Sqrt(e / s)
			t.Logf("%v %d blocks: relative RMS error %.4f", typ, blocks, rel)
			if rel > bound[typ] || math.IsNaN(rel) {
				t.Errorf("%v %d blocks: relative RMS error %.4f, want ≤ %.2f", typ, blocks, rel, bound[typ])
			}
			// Block independence: the last block alone gives its bytes.
			last := make([]byte, typ.BlockBytes())
			if err := Quantize(typ, x[n-QK_K:], last); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(last, q[len(q)-len(last):]) {
				t.Errorf("%v %d blocks: the last block quantized alone differs", typ, blocks)
			}
		}
	}
}

func TestIQSearchTables(t *testing.T) {
	for _, c := range []struct {
		name         string
		s            *iqSearch
		size, nlevel int
		nwant        int
	}{{"IQ3_XXS", iq3XXSSearch(), 256, 8, 2}, {"IQ3_S", iq3SSearch(), 512, 8, 3},
		{"IQ2_XXS", iq2XXSSearch(), 256, 3, 2}, {"IQ2_XS", iq2XSSearch(), 512, 3, 2}, {"IQ2_S", iq2SSearch(), 1024, 3, 1}} {
		if len(c.s.grid) != c.size {
			t.Fatalf("%s: %d codebook entries, want %d", c.name, len(c.s.grid), c.size)
		}
		mask := 1<<c.s.bits - 1
		level := func(u, i int) int { return u >> (c.s.bits * i) & mask }
		on, searched := 0, 0
		for u, k := range c.s.kmap {
			if k >= 0 {
				on++
				for i := 0; i < c.s.width; i++ {
					if got := int(c.s.grid[k][i]); got != 2*level(u, i)+1 {
						t.Fatalf("%s: point %d maps to entry %d whose level %d is %d", c.name, u, k, i, got)
					}
				}
				continue
			}
			reachable := true
			for i := 0; i < c.s.width; i++ {
				reachable = reachable && level(u, i) < c.nlevel
			}
			if k == -1 && !reachable {
				continue // never rounded to: no candidates
			}
			if !reachable {
				t.Fatalf("%s: point %d has candidates but cannot be rounded to", c.name, u)
			}
			searched++
			// Every candidate is at one of the nwant smallest distances,
			// and no entry nearer than the farthest candidate is missing.
			o := -k - 1
			cand := c.s.neighbours[o+1 : o+1+int32(c.s.neighbours[o])]
			dist := func(j int) int {
				d2 := 0
				for i := 0; i < c.s.width; i++ {
					d := int(c.s.grid[j][i]) - (2*level(u, i) + 1)
					d2 += d * d
				}
				return d2
			}
			far, distinct := 0, map[int]bool{}
			for n, j := range cand {
				distinct[dist(int(j))] = true
				far = max(far, dist(int(j)))
				if n > 0 && (dist(int(cand[n-1])) > dist(int(j)) || dist(int(cand[n-1])) == dist(int(j)) && cand[n-1] > j) {
					t.Fatalf("%s: point %d: candidates not in (distance, index) order", c.name, u)
				}
			}
			if len(distinct) != c.nwant {
				t.Fatalf("%s: point %d has candidates at %d distances, want %d", c.name, u, len(distinct), c.nwant)
			}
			nearer := 0
			for j := range c.s.grid {
				if dist(j) <= far {
					nearer++
				}
			}
			if nearer != len(cand) {
				t.Fatalf("%s: point %d: %d candidates, %d entries within distance %d", c.name, u, len(cand), nearer, far)
			}
		}
		if on != c.size {
			t.Errorf("%s: %d lattice points on the codebook, want %d", c.name, on, c.size)
		}
		if want := pow(c.nlevel, c.s.width) - c.size; searched != want {
			t.Errorf("%s: %d off-codebook points searched, want %d", c.name, searched, want)
		}
	}
}

func pow(b, e int) int {
	r := 1
	for ; e > 0; e-- {
		r *= b
	}
	return r
}

// TestIQQuantizersOverflow: values whose distances to every candidate
// overflow (an infinity, values near float32's limit) quantize without a
// panic, where ggml's neighbour search fails an assertion: the first
// candidate is taken.
func TestIQQuantizersOverflow(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	rows := map[string][]float32{}
	for _, name := range []string{"inf", "huge", "nan"} {
		x := make([]float32, QK_K)
		for i := range x {
			x[i] = float32(r.NormFloat64())
		}
		switch name {
		case "inf":
			x[37] = float32(math.Inf(1))
		case "huge":
			for i := range x {
				x[i] *= 1e37
			}
		case "nan":
			x[200] = float32(math.NaN())
		}
		rows[name] = x
	}
	imp := make([]float32, QK_K)
	for i := range imp {
		imp[i] = float32(r.ExpFloat64())
	}
	for _, typ := range iqQuantizerTypes {
		for name, x := range rows {
			y := make([]byte, typ.BlockBytes())
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Errorf("%v, a row with %s values: panic %v", typ, name, p)
					}
				}()
				if err := QuantizeRow(typ, x, y, imp); err != nil {
					t.Errorf("%v, a row with %s values: %v", typ, name, err)
				}
			}()
		}
	}
}
