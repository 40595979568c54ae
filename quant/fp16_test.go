package quant

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

// halfValues returns every finite non-negative binary16 value in bit order,
// which is also numeric order, plus +inf as the value one step past the
// largest finite (for rounding purposes it stands at 2^16).
func halfValues() []float64 {
	v := make([]float64, 0x7c01)
	for h := 0; h <= 0x7c00; h++ {
		v[h] = float64(FP16ToFP32(uint16(h)))
	}
	v[0x7c00] = 65536
	return v
}

// refRound rounds |x| to the nearest entry of the ascending table vals,
// ties to the even index, returning the index.
func refRound(vals []float64, x float64) int {
	i := sort.SearchFloat64s(vals, x) // first vals[i] >= x
	if i == len(vals) {
		return len(vals) - 1
	}
	if vals[i] == x || i == 0 {
		return i
	}
	lo, hi := vals[i-1], vals[i]
	switch {
	case x-lo < hi-x:
		return i - 1
	case x-lo > hi-x:
		return i
	case (i-1)%2 == 0:
		return i - 1
	}
	return i
}

func TestFP16RoundTripsEveryValue(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		f := FP16ToFP32(uint16(h))
		if math.IsNaN(float64(f)) {
			if h&0x7c00 != 0x7c00 || h&0x3ff == 0 {
				t.Fatalf("%#04x decodes to NaN", h)
			}
			continue
		}
		if got := FP32ToFP16(f); got != uint16(h) {
			t.Fatalf("%#04x -> %v -> %#04x", h, f, got)
		}
	}
}

// TestFP32ToFP16RoundsToNearestEven compares against an exhaustive table
// on random floats of every magnitude and on exact halfway points.
func TestFP32ToFP16RoundsToNearestEven(t *testing.T) {
	vals := halfValues()
	var xs []float32
	r := rand.New(rand.NewPCG(3, 5))
	for i := 0; i < 200000; i++ {
		// exponents from far below the subnormals to beyond overflow
		xs = append(xs, float32(math.Ldexp(r.Float64()+0.5, r.IntN(50)-30)))
	}
	for h := 0; h < 0x7bff; h++ { // midpoints between neighbours
		xs = append(xs, float32((vals[h]+vals[h+1])/2))
	}
	xs = append(xs, 65504, 65519.99, 65520, 1e-8, 0x1p-25, 0x1p-24, 0x1.8p-25, math.MaxFloat32, 0)
	for _, x := range xs {
		for _, s := range []float32{1, -1} {
			want := uint16(refRound(vals, float64(x)))
			if s < 0 {
				want |= 0x8000
			}
			if got := FP32ToFP16(s * x); got != want {
				t.Fatalf("FP32ToFP16(%g) = %#04x, want %#04x", s*x, got, want)
			}
		}
	}
	if got := FP32ToFP16(float32(math.Inf(-1))); got != 0xfc00 {
		t.Errorf("-inf -> %#04x", got)
	}
	if got := FP32ToFP16(float32(math.NaN())); got&0x7c00 != 0x7c00 || got&0x3ff == 0 {
		t.Errorf("NaN -> %#04x, not a NaN", got)
	}
}

func TestFP32ToBF16RoundsToNearestEven(t *testing.T) {
	// Positive bf16 values in bit order, +inf standing at 2^128.
	vals := make([]float64, 0x7f81)
	for h := 0; h <= 0x7f80; h++ {
		vals[h] = float64(BF16ToFP32(uint16(h)))
	}
	vals[0x7f80] = math.Ldexp(1, 128)
	r := rand.New(rand.NewPCG(9, 1))
	for i := 0; i < 200000; i++ {
		x := math.Float32frombits(r.Uint32() & 0x7fffffff)
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			continue
		}
		want := uint16(refRound(vals, float64(x)))
		if got := FP32ToBF16(x); got != want {
			t.Fatalf("FP32ToBF16(%g) = %#04x, want %#04x", x, got, want)
		}
		if got := FP32ToBF16(-x); got != want|0x8000 {
			t.Fatalf("FP32ToBF16(%g) = %#04x, want %#04x", -x, got, want|0x8000)
		}
	}
	for h := 0; h < 0x7f80; h++ {
		if got := FP32ToBF16(BF16ToFP32(uint16(h))); got != uint16(h) {
			t.Fatalf("bf16 %#04x does not round-trip: %#04x", h, got)
		}
	}
	if got := FP32ToBF16(float32(math.NaN())); got&0x7f80 != 0x7f80 || got&0x7f == 0 {
		t.Errorf("NaN -> %#04x, not a NaN", got)
	}
}
