package kernels

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/nuri-ai/nuri/quant"
)

// TestOneRowsKernels runs each oneRows kernel (several weight rows against
// one activation row) over runs of 0-13 rows, so the four-row kernels and
// the rows they leave to fn both run, and requires fn's bits row by row
// and untouched guards on both sides of the outputs.
func TestOneRowsKernels(t *testing.T) {
	variants := kernelVariants()
	if len(avx2Variants()) > 0 {
		for _, wt := range []quant.Type{quant.Q4_0, quant.IQ4_NL, quant.Q5_0} {
			if k := avx2Variants()[wt]; len(k) == 0 || k[0].oneRows == nil {
				t.Fatalf("%v/avx2 has no oneRows kernel", wt)
			}
		}
	}
	p := newTestPool(t, 1)
	rng := rand.New(rand.NewPCG(61, 62))
	for wt, ks := range variants {
		for _, k := range ks {
			if k.oneRows == nil {
				continue
			}
			for _, cols := range colsFor(wt) {
				const rows = 13
				rb, _ := wt.RowBytes(cols)
				nb := cols / wt.BlockSize()
				w := randWeights(rng, wt, rows, cols, true)
				// The activation row, quantized as MatMul does it.
				matMulKernel(p, make([]float32, rows), w, wt, rows, cols, randFloats(rng, cols, 1), 1, k)
				qs, d := slices.Clone(p.mm.qs), slices.Clone(p.mm.d)
				want := make([]float32, rows)
				for r := range rows {
					k.fn(&w[r*rb], nb, &qs[0], &d[0], nil, 1, &want[r], 4)
				}
				for nr := 0; nr <= rows; nr++ {
					got := runGuardedWith(t, func(y []float32) {
						if nr > 0 {
							k.oneRows(&w[0], rb, nr, nb, &qs[0], &d[0], nil, 1, &y[0], 4)
						}
					}, wt, nr, cols, 1)
					for r := range nr {
						if math.Float32bits(got[r]) != math.Float32bits(want[r]) {
							t.Fatalf("%s cols=%d: %d rows: output %d = %v, fn gives %v", k.name, cols, nr, r, got[r], want[r])
						}
					}
				}
			}
		}
	}
}
