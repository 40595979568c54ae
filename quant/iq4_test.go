package quant

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestIQ4Dequantize checks the two layouts on hand-built blocks: the
// level table, the nibble order and IQ4_XS's split 6-bit group scales.
func TestIQ4Dequantize(t *testing.T) {
	nl := make([]byte, 18)
	put16(nl, FP32ToFP16(0.5))
	for j := 0; j < 16; j++ {
		nl[2+j] = byte(j) | byte(15-j)<<4
	}
	got := make([]float32, 32)
	if err := Dequantize(IQ4_NL, nl, got); err != nil {
		t.Fatal(err)
	}
	for j := 0; j < 16; j++ {
		if want := 0.5 * float32(iq4Levels[j]); got[j] != want {
			t.Errorf("IQ4_NL element %d = %v, want %v", j, got[j], want)
		}
		if want := 0.5 * float32(iq4Levels[15-j]); got[j+16] != want {
			t.Errorf("IQ4_NL element %d = %v, want %v", j+16, got[j+16], want)
		}
	}

	xs := make([]byte, 136)
	put16(xs, FP32ToFP16(0.25))
	ls := [8]int{0, 1, 31, 32, 33, 47, 48, 63} // stored 6-bit scales: ls−32 is the multiplier
	var h uint16
	for g, l := range ls {
		xs[iq4xsScalesL+g/2] |= byte(l&0xf) << (4 * (g % 2))
		h |= uint16(l>>4) << (2 * g)
	}
	put16(xs[iq4xsScalesH:], h)
	for i := 0; i < 128; i++ {
		xs[iq4xsQS+i] = byte(i%16) | byte((i+5)%16)<<4
	}
	got = make([]float32, 256)
	if err := Dequantize(IQ4_XS, xs, got); err != nil {
		t.Fatal(err)
	}
	for g, l := range ls {
		dl := 0.25 * float32(l-32)
		for j := 0; j < 16; j++ {
			i := 16*g + j
			if want := dl * float32(iq4Levels[i%16]); got[32*g+j] != want {
				t.Errorf("IQ4_XS group %d element %d = %v, want %v", g, j, got[32*g+j], want)
			}
			if want := dl * float32(iq4Levels[(i+5)%16]); got[32*g+j+16] != want {
				t.Errorf("IQ4_XS group %d element %d = %v, want %v", g, j+16, got[32*g+j+16], want)
			}
		}
	}
}

// TestIQ4QuantizeRecoversGrid: rows made of scale × level (with each
// group's extreme at the level −127, so the scale is determined) come back
// from Quantize unchanged.
func TestIQ4QuantizeRecoversGrid(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 9))
	for trial := 0; trial < 50; trial++ {
		// IQ4_NL: one fp16 scale a block.
		x := make([]float32, 4*32)
		for b := 0; b < 4; b++ {
			d := FP16ToFP32(FP32ToFP16(float32(r.Float64()*0.1 + 1e-3)))
			if r.IntN(2) == 0 {
				d = -d
			}
			for j := 0; j < 32; j++ {
				c := r.IntN(16)
				if j == r.IntN(32) || j == 0 {
					c = 0
				}
				x[32*b+j] = d * float32(iq4Levels[c])
			}
		}
		checkExact(t, IQ4_NL, x)

		// IQ4_XS: a super-block scale D and integer group scales in
		// −32..31, one of them −32 so that D is the one the quantizer picks.
		x = make([]float32, 2*256)
		for s := 0; s < 2; s++ {
			D := FP16ToFP32(FP32ToFP16(float32(r.Float64()*0.01 + 1e-4)))
			big := r.IntN(8)
			for g := 0; g < 8; g++ {
				l := r.IntN(64) - 32
				if g == big {
					l = -32
				}
				for j := 0; j < 32; j++ {
					c := r.IntN(16)
					if j == 0 {
						c = 0
					}
					x[256*s+32*g+j] = D * float32(l) * float32(iq4Levels[c])
				}
			}
		}
		checkExact(t, IQ4_XS, x)
	}
}

// roundTrip returns Dequantize(Quantize(x)) for type typ.
func roundTrip(t *testing.T, typ Type, x []float32) []float32 {
	t.Helper()
	n, err := typ.RowBytes(len(x))
	if err != nil {
		t.Fatal(err)
	}
	q := make([]byte, n)
	if err := Quantize(typ, x, q); err != nil {
		t.Fatal(err)
	}
	got := make([]float32, len(x))
	if err := Dequantize(typ, q, got); err != nil {
		t.Fatal(err)
	}
	return got
}

func checkExact(t *testing.T, typ Type, x []float32) {
	t.Helper()
	got := roundTrip(t, typ, x)
	for i := range x {
		if got[i] != x[i] {
			t.Fatalf("%v element %d: %v → %v", typ, i, x[i], got[i])
		}
	}
}

// TestIQ4ZeroBlocks: an all-zero block stores scale 0 (IQ4_XS: −0, as ggml's
// −max/32 gives) and the code of level 1, the level nearest zero.
func TestIQ4ZeroBlocks(t *testing.T) {
	q := make([]byte, 18)
	if err := Quantize(IQ4_NL, make([]float32, 32), q); err != nil {
		t.Fatal(err)
	}
	if le16(q) != 0 {
		t.Errorf("IQ4_NL zero block scale bits %#04x, want 0", le16(q))
	}
	for j, b := range q[2:] {
		if b != 0x88 {
			t.Fatalf("IQ4_NL zero block code byte %d = %#02x, want 0x88", j, b)
		}
	}
	q = make([]byte, 136)
	if err := Quantize(IQ4_XS, make([]float32, 256), q); err != nil {
		t.Fatal(err)
	}
	if d, h := le16(q), le16(q[iq4xsScalesH:]); d != 0x8000 || h != 0xaaaa {
		t.Errorf("IQ4_XS zero block d %#04x scales_h %#04x, want 0x8000 and 0xaaaa (every ls = 32)", d, h)
	}
	for g := 0; g < 8; g++ {
		if s := iq4xsGroupScale(q, g); s != 0 {
			t.Errorf("IQ4_XS zero block group %d scale %d, want 0", g, s)
		}
	}
}

func TestNearestLevel(t *testing.T) {
	cases := []struct {
		v    float32
		want uint8
	}{
		{-1000, 0}, {-127, 0}, {-115.6, 0}, {-115.5, 1}, {-104, 1},
		{-4.5, 8}, {-4.6, 7}, {0, 8}, {1, 8}, {7, 9}, {112, 15}, {101, 15}, {100.9, 14}, {1e9, 15},
		{float32(math.Inf(-1)), 0},
	}
	for _, c := range cases {
		if got := nearestLevel(c.v); got != c.want {
			t.Errorf("nearestLevel(%v) = %d, want %d", c.v, got, c.want)
		}
	}
}

// TestIQ4VecDot: the integer dot products against the float dot of the
// dequantized rows. Both sides are exact but for float32 rounding of the
// per-block (per-group) scaled sums, so the bound is a few float32 ulps of
// Σ|w·a|.
func TestIQ4VecDot(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 1))
	for _, typ := range []Type{IQ4_NL, IQ4_XS} {
		for _, n := range []int{256, 512, 2048} {
			w, a := make([]float32, n), make([]float32, n)
			for i := range w {
				w[i] = float32(r.NormFloat64() * 0.02)
				a[i] = float32(r.NormFloat64())
			}
			wb, _ := typ.RowBytes(n)
			wq := make([]byte, wb)
			if err := Quantize(typ, w, wq); err != nil {
				t.Fatal(err)
			}
			at := VecDotType(typ)
			ab, _ := at.RowBytes(n)
			aq := make([]byte, ab)
			if err := QuantizeActivations(at, a, aq); err != nil {
				t.Fatal(err)
			}
			wd, ad := make([]float32, n), make([]float32, n)
			if err := Dequantize(typ, wq, wd); err != nil {
				t.Fatal(err)
			}
			if err := Dequantize(at, aq, ad); err != nil {
				t.Fatal(err)
			}
			var want, mag float64
			for i := range wd {
				want += float64(wd[i]) * float64(ad[i])
				mag += math.Abs(float64(wd[i]) * float64(ad[i]))
			}
			got := VecDot(typ, n, wq, aq)
			if d := math.Abs(float64(got) - want); d > 1e-6*mag {
				t.Errorf("%v n=%d: VecDot %v, float dot %v (diff %.3g, Σ|w·a| %.3g)", typ, n, got, want, d, mag)
			}
		}
	}
}

// TestIQ4BeatsQ4_0: the point of the non-uniform levels. On Gaussian
// weights both IQ4 types must reconstruct with less squared error than
// Q4_0 (in llama.cpp's own figures IQ4_NL is about 20 % below Q4_0's RMSE;
// the bound here is only "below").
func TestIQ4BeatsQ4_0(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	x := make([]float32, 64*256)
	for i := range x {
		x[i] = float32(r.NormFloat64() * 0.02)
	}
	sse := func(typ Type) float64 {
		got := roundTrip(t, typ, x)
		var s float64
		for i := range x {
			d := float64(got[i] - x[i])
			s += d * d
		}
		return s
	}
	q40 := sse(Q4_0)
	for _, typ := range []Type{IQ4_NL, IQ4_XS} {
		if s := sse(typ); s >= q40 {
			t.Errorf("%v squared error %.4g, not below Q4_0's %.4g", typ, s, q40)
		} else {
			t.Logf("%v squared error %.3f of Q4_0's", typ, s/q40)
		}
	}
}

// nearestLevelSearch is ggml's best_index_int8, the binary search
// nearestLevel replaces.
func nearestLevelSearch(v float32) uint8 {
	if v <= float32(iq4Levels[0]) {
		return 0
	}
	if v >= float32(iq4Levels[15]) {
		return 15
	}
	lo, hi := 0, 15
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if v < float32(iq4Levels[mid]) {
			hi = mid
		} else {
			lo = mid
		}
	}
	if v-float32(iq4Levels[lo]) < float32(iq4Levels[hi])-v {
		return uint8(lo)
	}
	return uint8(hi)
}

// TestNearestLevelMatchesSearch: the table lookup answers as the binary
// search on every level, every midpoint and the floats around them, and on
// random values across and beyond the range.
func TestNearestLevelMatchesSearch(t *testing.T) {
	var vs []float32
	for c := range 16 {
		l := float32(iq4Levels[c])
		vs = append(vs, l, math.Nextafter32(l, -200), math.Nextafter32(l, 200))
		if c < 15 {
			m := (l + float32(iq4Levels[c+1])) / 2
			vs = append(vs, m, math.Nextafter32(m, -200), math.Nextafter32(m, 200))
		}
	}
	for i := -130; i <= 130; i++ {
		vs = append(vs, float32(i), float32(i)+0.5, math.Nextafter32(float32(i), -200))
	}
	vs = append(vs, float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)))
	r := rand.New(rand.NewPCG(4, 4))
	for range 100000 {
		vs = append(vs, float32(r.Float64()*300-150))
	}
	for _, v := range vs {
		if got, want := nearestLevel(v), nearestLevelSearch(v); got != want {
			t.Fatalf("nearestLevel(%v) = %d, the search gives %d", v, got, want)
		}
	}
}
