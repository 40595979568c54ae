package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// rotatePairwise is RoPE as ggml's CPU loop writes it, pair by pair over
// the interleaved table: the test's own reference.
func rotatePairwise(x, cs []float32, neox bool) {
	nd := len(cs)
	for i0 := 0; i0 < nd; i0 += 2 {
		a, b := i0, i0+1
		if neox {
			a, b = i0/2, i0/2+nd/2
		}
		c, s := cs[i0], cs[i0+1]
		x0, x1 := x[a], x[b]
		x[a] = float32(x0*c) - float32(x1*s)
		x[b] = float32(x0*s) + float32(x1*c)
	}
}

// TestRoPE checks every VecOps against the pairwise loop bit for bit, on
// rotated widths that leave the vector loops a remainder (and none), with
// unrotated columns after them (partial rotary dims) that must not change.
func TestRoPE(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, v := range allVecOps(t) {
		for _, neox := range []bool{false, true} {
			for _, nd := range []int{2, 6, 8, 14, 16, 18, 32, 48, 64, 70, 128, 256} {
				for _, extra := range []int{0, 5} {
					name := fmt.Sprintf("%+v/neox=%v/dims=%d/extra=%d", v, neox, nd, extra)
					x := make([]float32, nd+extra)
					cs := make([]float32, nd)
					for i := range x {
						x[i] = float32(r.NormFloat64() * 3)
					}
					for i := 0; i < nd; i += 2 {
						th := r.Float64() * 2 * math.Pi
						cs[i], cs[i+1] = float32(math.Cos(th)), float32(math.Sin(th))
					}
					want := append([]float32(nil), x...)
					rotatePairwise(want, cs, neox)
					v.RoPE(x, cs, neox)
					for i := range x {
						if math.Float32bits(x[i]) != math.Float32bits(want[i]) {
							t.Fatalf("%s: x[%d] = %v, want %v", name, i, x[i], want[i])
						}
					}
				}
			}
		}
	}
}

func TestRoPEShapePanics(t *testing.T) {
	for _, c := range []struct{ nx, nc int }{{4, 3}, {4, 6}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("RoPE of %d values with %d cos/sin values did not panic", c.nx, c.nc)
				}
			}()
			VecOps{}.RoPE(make([]float32, c.nx), make([]float32, c.nc), false)
		}()
	}
}

func BenchmarkRoPE(b *testing.B) {
	for _, v := range allVecOps(b) {
		for _, neox := range []bool{false, true} {
			b.Run(fmt.Sprintf("%+v/neox=%v", v, neox), func(b *testing.B) {
				// llama-1b's 32 query heads of 64 dims.
				x := make([]float32, 32*64)
				cs := make([]float32, 64)
				for i := range cs {
					cs[i] = float32(i%3) * 0.25
				}
				for b.Loop() {
					for h := 0; h < 32; h++ {
						v.RoPE(x[h*64:(h+1)*64], cs, neox)
					}
				}
			})
		}
	}
}
