package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestColumnChunks checks the column-split mode of the pair kernels
// (mmTask.pairRows): with chunks of various widths, including ones that
// leave an odd or short last chunk, every output is bit-identical to the
// unsplit kernel and to the row computed alone, and within the reference
// bounds. The shapes make a full activation tile larger than l1ActBytes,
// so splitting is active.
func TestColumnChunks(t *testing.T) {
	p := newTestPool(t, 2)
	rng := rand.New(rand.NewPCG(31, 32))
	for wt, ks := range kernelVariants() {
		for _, k := range ks {
			if k.pair == nil {
				continue
			}
			for _, cols := range []int{32 * 175, 32 * 256} {
				nb := cols / 32
				if k.tile*((nb+1)/2*pairBytes) <= l1ActBytes {
					t.Fatalf("%s cols=%d: a full activation tile fits l1ActBytes; the test would not split", k.name, cols)
				}
				const rows, nx = 37, 11
				w := randWeights(rng, wt, rows, cols, true)
				x := randFloats(rng, nx*cols, 1)
				whole := *k
				whole.colBlocks = 0
				base := runGuardedWith(t, func(y []float32) { matMulKernel(p, y, w, wt, rows, cols, x, nx, &whole) }, wt, rows, cols, nx)
				want := reference(t, wt, w, rows, cols, x, nx)
				compareNamed(t, k.name, wt, w, rows, cols, x, nx, base, want, fmt.Sprintf("%s cols=%d unsplit", k.name, cols))
				for _, cb := range []int{2, 6, 8, 64, nb - 1} {
					split := *k
					split.colBlocks = cb &^ 1 // pair records hold two blocks
					what := fmt.Sprintf("%s cols=%d colBlocks=%d", k.name, cols, split.colBlocks)
					got := runGuardedWith(t, func(y []float32) { matMulKernel(p, y, w, wt, rows, cols, x, nx, &split) }, wt, rows, cols, nx)
					for i := range got {
						if math.Float32bits(got[i]) != math.Float32bits(base[i]) {
							t.Fatalf("%s: y[%d] = %g, unsplit %g", what, i, got[i], base[i])
						}
					}
					alone := runGuardedWith(t, func(y []float32) { matMulKernel(p, y, w, wt, rows, cols, x[cols:2*cols], 1, &split) }, wt, rows, cols, 1)
					for r := range alone {
						if math.Float32bits(alone[r]) != math.Float32bits(got[rows+r]) {
							t.Fatalf("%s: row 1 output %d alone differs from the batch", what, r)
						}
					}
				}
			}
		}
	}
}
