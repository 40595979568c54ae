package kernels

import (
	"fmt"
	"math"
)

// SoftCap sets x[i] = c·tanh(x[i]·(1/c)), Gemma 2's soft cap of attention
// scores and logits (llama.cpp: a scale by 1/c, tanh, a scale by c), with
// tanh(z) = 1 − 2/(e^{2|z|} + 1) (sign restored) from the vector
// exponential: within 2e-7 of tanh absolutely, so a capped value is within
// 2e-7·c of llama.cpp's tanhf (TestSoftCap). c must be positive.
func (o VecOps) SoftCap(x []float32, c float32) {
	if !(c > 0) {
		panic(fmt.Sprintf("kernels: SoftCap: cap %g", c))
	}
	inv := 1 / c
	const sign = 1 << 31
	var buf [256]float32
	for off := 0; off < len(x); off += len(buf) {
		xs := x[off:min(off+len(buf), len(x))]
		e := buf[:len(xs)]
		// Branch-free: the signs of scores and logits are random, and a
		// branch on them cost 12 ns a value in mispredictions.
		for i, v := range xs {
			e[i] = 2 * math.Float32frombits(math.Float32bits(v*inv)&^sign)
		}
		o.Exp(e, e)
		for i, v := range xs {
			t := 1 - 2/(e[i]+1) // tanh|z| ≥ 0; NaN stays NaN
			xs[i] = c * math.Float32frombits(math.Float32bits(t)|math.Float32bits(v)&sign)
		}
	}
}
