package kernels

import "fmt"

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
	var buf [256]float32
	for off := 0; off < len(x); off += len(buf) {
		xs := x[off:min(off+len(buf), len(x))]
		e := buf[:len(xs)]
		for i, v := range xs {
			z := v * inv
			if z < 0 {
				z = -z
			}
			e[i] = 2 * z
		}
		o.Exp(e, e)
		for i, v := range xs {
			t := 1 - 2/(e[i]+1)
			if v < 0 {
				t = -t
			}
			if v != v { // NaN stays NaN
				t = v
			}
			xs[i] = c * t
		}
	}
}
