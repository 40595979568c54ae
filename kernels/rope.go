package kernels

import "fmt"

// RoPE rotates the first len(cs) values of x by the angles whose cosines
// and sines cs holds interleaved (cs[2i] = cos θᵢ, cs[2i+1] = sin θᵢ).
// Pair i is (x[2i], x[2i+1]) in the original (GPT-J) layout, or
// (x[i], x[i+len(cs)/2]) with neox. Each output is ggml's
// x0·c − x1·s or x0·s + x1·c with both products rounded to float32 and
// no fused multiply-add, so the AVX2 loop and ropeRef give the same bits.
// Decode rotates every query and key head of every layer: in llama-1b
// steps the RoPE ops took 3.8 µs a layer with the scalar loop and 2.4
// with this one on the 2-core Intel Xeon VM; 32 heads of 64 alone, 1.59
// against 0.41 µs (BenchmarkRoPE; docs/performance.md, round 58).
func (o VecOps) RoPE(x, cs []float32, neox bool) {
	nd := len(cs)
	if nd%2 != 0 || len(x) < nd {
		panic(fmt.Sprintf("kernels: RoPE: %d cos/sin values for %d elements", nd, len(x)))
	}
	done := 0
	if (o.fast || o.avx2) && hasVecAVX2 {
		if neox {
			if n8 := nd / 2 / 8; n8 > 0 {
				ropeHalvesAVX2(&x[0], &cs[0], nd/2, n8)
				done = n8 * 8
			}
		} else if n8 := nd / 8; n8 > 0 {
			ropePairsAVX2(&x[0], &cs[0], n8)
			done = n8 * 4
		}
	}
	ropeRef(x, cs, neox, done)
}

// ropeRef rotates pairs from..len(cs)/2-1 as RoPE does, one at a time.
func ropeRef(x, cs []float32, neox bool, from int) {
	half := len(cs) / 2
	if neox {
		lo, hi := x[:half], x[half:2*half]
		for i := from; i < half; i++ {
			c, s := cs[2*i], cs[2*i+1]
			x0, x1 := lo[i], hi[i]
			lo[i] = float32(x0*c) - float32(x1*s)
			hi[i] = float32(x0*s) + float32(x1*c)
		}
		return
	}
	for i := from; i < half; i++ {
		c, s := cs[2*i], cs[2*i+1]
		x0, x1 := x[2*i], x[2*i+1]
		x[2*i] = float32(x0*c) - float32(x1*s)
		x[2*i+1] = float32(x0*s) + float32(x1*c)
	}
}
