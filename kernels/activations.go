//go:build amd64 || arm64

package kernels

import (
	"math"

	"github.com/nuri-ai/nuri/quant"
)

// quantQ8_1Split writes one Q8_1 activation row of nb blocks in the split
// layout of the Q8_1 kernels: the quants to qs, and to d each block's scale
// and s as a float32 pair. Q8_1's quants and scale are Q8_0's, so the
// assembly quantizer makes them (its scales land in d's second half, which
// the pairs then overwrite from the front: pair b reads slot nb+b before it
// writes slots 2b and 2b+1, and 2b+1 < nb+b+1). s = fp16(d·Σq) takes the
// unrounded d = amax/127, as quant.QuantizeActivations computes it.
func quantQ8_1Split(x []float32, nb int, qs []byte, d []float32) {
	quantQ8_0Split(&x[0], nb, &qs[0], &d[nb])
	for b := range nb {
		scale := d[nb+b]
		var amax float32
		for _, v := range x[32*b : 32*b+32] {
			amax = max(amax, math.Float32frombits(math.Float32bits(v)&0x7fffffff))
		}
		var total int32
		for _, q := range qs[32*b : 32*b+32] {
			total += int32(int8(q))
		}
		d[2*b] = scale
		d[2*b+1] = quant.FP16ToFP32(quant.FP32ToFP16(amax / 127 * float32(total)))
	}
}
