//go:build arm64

package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/nuri-ai/nuri/quant"
)

// TestQuantizeQ8KNaNs: the NEON Q8_K quantizer keeps the reference's bits
// where a block holds NaNs (its maximum passes them over, as the
// reference's does, so the search for the first maximum always ends) or
// infinities, and gives an all-NaN block the reference's zeros.
func TestQuantizeQ8KNaNs(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for _, nb := range []int{1, 2} {
		nan := randFloats(rng, nb*256, 1)
		nan[3], nan[100] = float32(math.NaN()), float32(math.Inf(-1))
		some := randFloats(rng, nb*256, 1)
		for i := 0; i < len(some); i += 7 {
			some[i] = float32(math.NaN())
		}
		allNaN := randFloats(rng, nb*256, 1)
		for i := range allNaN[:256] {
			allNaN[i] = float32(math.NaN())
		}
		for ri, x := range [][]float32{nan, some, allNaN} {
			checkQ8_KSplit(t, x, nb, ri)
		}
	}
}

// TestRoundBF16Row: the BF16 kernels' input rounding gives quant's
// conversion there and back, bit for bit, on random bit patterns (every
// exponent, NaNs with any payload), exact ties both ways and the special
// values, with lengths that leave a scalar tail, and writes nothing past
// its outputs.
func TestRoundBF16Row(t *testing.T) {
	x := bf16Inputs(rand.New(rand.NewPCG(15, 16)))
	for _, n := range []int{len(x), 3, 5, 13} {
		got := make([]float32, n+1)
		got[n] = -7
		roundBF16Row(got[:n], x[:n])
		for i, v := range x[:n] {
			want := quant.BF16ToFP32(quant.FP32ToBF16(v))
			if math.Float32bits(got[i]) != math.Float32bits(want) {
				t.Fatalf("n=%d: %#08x rounded to %#08x, want %#08x", n, math.Float32bits(v), math.Float32bits(got[i]), math.Float32bits(want))
			}
		}
		if got[n] != -7 {
			t.Fatalf("n=%d: wrote past the outputs", n)
		}
	}
}
