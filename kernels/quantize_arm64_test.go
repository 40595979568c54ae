//go:build arm64

package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
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
