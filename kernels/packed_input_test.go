package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/nuri-ai/nuri/quant"
)

// fusedInputShapes cover one quantize span and several, a span cut short
// (1280 columns: 1024 + 256), rows not a multiple of 16, and batches that
// fill a tile partly, wholly and beyond (nx = 9, 17: the parallel scales
// and quantize phases).
var fusedInputShapes = []struct{ rows, cols int }{{16, 256}, {33, 1280}, {70, 2048}, {48, 4096}}

// TestMatMulPackedSharedNorm: folding the RMSNorm into the quantizer gives
// the bits of the norm written out (the CPU stream's RMSNorm: RMSNormScale
// and ScaleMul) and then MatMulPackedShared, for every packed type and on
// the caller alone (nil pool) or two threads.
func TestMatMulPackedSharedNorm(t *testing.T) {
	if !CanPack(quant.Q4_0) {
		t.Skip("no packed kernels on this CPU")
	}
	p := NewPool(2)
	defer p.Close()
	rng := rand.New(rand.NewPCG(41, 42))
	vec := p.VecOps()
	const eps = 1e-5
	for _, wt := range packedTypes {
		for _, sh := range fusedInputShapes {
			if sh.cols%packedQK(wt) != 0 {
				continue
			}
			pws := []*PackedWeights{packRandom(t, p, rng, wt, sh.rows, sh.cols), packRandom(t, p, rng, wt, sh.rows/2+5, sh.cols)}
			w := randFloats(rng, sh.cols, 1)
			for _, nx := range []int{1, 2, 9, 17} {
				// Rows of very different sizes: the scale is per row.
				x := randFloats(rng, nx*sh.cols, 1)
				for i := range nx {
					vec.Scale(x[i*sh.cols:(i+1)*sh.cols], float32(math.Ldexp(1, 3*i-8)))
				}
				h := make([]float32, len(x))
				for i := range nx {
					r := x[i*sh.cols : (i+1)*sh.cols]
					vec.ScaleMul(h[i*sh.cols:(i+1)*sh.cols], r, w, vec.RMSNormScale(r, eps))
				}
				for _, pool := range []*Pool{p, nil} {
					name := fmt.Sprintf("%v/%dx%d/nx=%d/pool=%v", wt, sh.rows, sh.cols, nx, pool != nil)
					ys := [][]float32{guardedOutput(nx * pws[0].Rows), guardedOutput(nx * pws[1].Rows)}
					xBefore := append([]float32(nil), x...)
					MatMulPackedSharedNorm(pool, ys, pws, x, nx, w, eps)
					for m, pw := range pws {
						want := make([]float32, nx*pw.Rows)
						MatMulPacked(p, want, pw, h, nx)
						checkOutput(t, fmt.Sprintf("%s matrix %d", name, m), ys[m], want, "norm then matmul")
					}
					for i := range x {
						if math.Float32bits(x[i]) != math.Float32bits(xBefore[i]) {
							t.Fatalf("%s: the norm's input changed at %d", name, i)
						}
					}
				}
			}
		}
	}
}

// TestMatMulPackedSwiGLU: building silu(gate)·up in the quantizer gives the
// bits of SiLUMul written out and then MatMulPacked (and, with the
// residual, MatMulPackedResidual's: y as the matmul, res += y).
func TestMatMulPackedSwiGLU(t *testing.T) {
	if !CanPack(quant.Q4_0) {
		t.Skip("no packed kernels on this CPU")
	}
	p := NewPool(2)
	defer p.Close()
	rng := rand.New(rand.NewPCG(43, 44))
	vec := p.VecOps()
	for _, wt := range packedTypes {
		for _, sh := range fusedInputShapes {
			if sh.cols%packedQK(wt) != 0 {
				continue
			}
			pw := packRandom(t, p, rng, wt, sh.rows, sh.cols)
			for _, nx := range []int{1, 3, 9, 17} {
				gate, up := randFloats(rng, nx*sh.cols, 3), randFloats(rng, nx*sh.cols, 1)
				h := make([]float32, len(gate))
				vec.SiLUMul(h, gate, up)
				want := make([]float32, nx*sh.rows)
				MatMulPacked(p, want, pw, h, nx)
				for _, pool := range []*Pool{p, nil} {
					name := fmt.Sprintf("%v/%dx%d/nx=%d/pool=%v", wt, sh.rows, sh.cols, nx, pool != nil)
					y := guardedOutput(nx * sh.rows)
					MatMulPackedSwiGLU(pool, y, pw, gate, up, nx)
					checkOutput(t, name, y, want, "SiLUMul then matmul")

					res := randFloats(rng, nx*sh.rows+outGuard, 1)
					before := append([]float32(nil), res...)
					y = guardedOutput(nx * sh.rows)
					MatMulPackedResidualSwiGLU(pool, res[:nx*sh.rows], y, pw, gate, up, nx)
					checkOutput(t, name+"/residual", y, want, "SiLUMul then matmul")
					for i, v := range want {
						if e := before[i] + v; math.Float32bits(res[i]) != math.Float32bits(e) {
							t.Fatalf("%s: residual[%d] = %g, want %g + %g = %g", name, i, res[i], before[i], v, e)
						}
					}
					for i := nx * sh.rows; i < len(res); i++ {
						if res[i] != before[i] {
							t.Fatalf("%s: wrote past the residual at %d", name, i)
						}
					}
				}
			}
		}
	}
}

func packRandom(t *testing.T, p *Pool, rng *rand.Rand, wt quant.Type, rows, cols int) *PackedWeights {
	t.Helper()
	pw, err := PackWeights(p, wt, randWeights(rng, wt, rows, cols, true), rows, cols)
	if err != nil {
		t.Fatal(err)
	}
	return pw
}
