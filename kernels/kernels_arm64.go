//go:build arm64

package kernels

import (
	"golang.org/x/sys/cpu"

	"github.com/nuri-ai/nuri/quant"
)

// kernelVariants lists the arm64 kernels this CPU can run: the float
// types' on every arm64 CPU, and with the dot-product extension
// (FEAT_DotProd: Apple M1 and later, Neoverse N1 / AWS Graviton2 and later,
// Ampere Altra) the quantized types', whose SDOT sums each block's int8
// products exactly and whose float steps are the reference's. Without it
// those take the pure-Go path.
func kernelVariants() map[quant.Type][]*fastKernel {
	m := map[quant.Type][]*fastKernel{}
	// FCVTL, FMLA and the rest are base ARMv8 NEON (ASIMD).
	m[quant.F32] = []*fastKernel{{name: "F32/neon", float: dotF32NEON, tile: 4}}
	m[quant.F16] = []*fastKernel{{name: "F16/neon", float: dotF16NEON, tile: 4}}
	m[quant.BF16] = []*fastKernel{{name: "BF16/neon", float: dotBF16NEON, tile: 4}}
	if !cpu.ARM64.HasASIMDDP {
		return m
	}
	m[quant.Q8_0] = []*fastKernel{{name: "Q8_0/neon+dotprod", fn: dotQ8_0NEON, tile: 4, blockQS: 32}}
	m[quant.Q4_0] = []*fastKernel{{name: "Q4_0/neon+dotprod", fn: dotQ4_0NEON, tile: 4, blockQS: 32}}
	m[quant.Q5_0] = []*fastKernel{{name: "Q5_0/neon+dotprod", fn: dotQ5_0NEON, tile: 4, blockQS: 32}}
	m[quant.Q4_1] = []*fastKernel{{name: "Q4_1/neon+dotprod", fn: dotQ4_1NEON, tile: 4, blockQS: 32, sums: true}}
	m[quant.Q5_1] = []*fastKernel{{name: "Q5_1/neon+dotprod", fn: dotQ5_1NEON, tile: 4, blockQS: 32, sums: true}}
	m[quant.IQ4_NL] = []*fastKernel{{name: "IQ4_NL/neon+dotprod", fn: dotIQ4_NLNEON, tile: 4, blockQS: 32}}
	m[quant.IQ4_XS] = []*fastKernel{{name: "IQ4_XS/neon+dotprod", fn: dotIQ4_XSNEON, tile: 4, blockQS: 256, bsums: true}}
	m[quant.Q2_K] = []*fastKernel{{name: "Q2_K/neon+dotprod", fn: dotQ2_KNEON, tile: 4, blockQS: 256, bsums: true}}
	m[quant.Q3_K] = []*fastKernel{{name: "Q3_K/neon+dotprod", fn: dotQ3_KNEON, tile: 4, blockQS: 256, bsums: true}}
	m[quant.Q4_K] = []*fastKernel{{name: "Q4_K/neon+dotprod", fn: dotQ4_KNEON, tile: 4, blockQS: 256, bsums: true}}
	m[quant.Q5_K] = []*fastKernel{{name: "Q5_K/neon+dotprod", fn: dotQ5_KNEON, tile: 4, blockQS: 256, bsums: true}}
	m[quant.Q6_K] = []*fastKernel{{name: "Q6_K/neon+dotprod", fn: dotQ6_KNEON, tile: 4, blockQS: 256, bsums: true}}
	// The i-quants below 4 bits decode a row once a call (iq_arm64.go):
	// eight activation rows share each decoding.
	for _, t := range iqTypes {
		k := newIQKernel(t)
		m[t] = []*fastKernel{{name: t.String() + "/neon+dotprod", fn: k.dot, rows: k.rows, tile: 8, blockQS: 256, bsums: true}}
	}
	return m
}

// avx2Variants: an amd64 set; none here.
func avx2Variants() map[quant.Type][]*fastKernel { return map[quant.Type][]*fastKernel{} }

func detectKernels() map[quant.Type]*fastKernel { return preferred(kernelVariants()) }

// quantizeFast converts activation row i straight into the split layout
// with the NEON quantizers (Q8_0 and Q8_K, Q8_1 from Q8_0's quants, and
// the F16 and BF16 roundings; bit-identical to quant.QuantizeActivations
// for finite inputs: TestQuantizeSplitMatchesQuant,
// TestQuantizeQ8_1SplitMatchesQuant, TestRoundF16, TestRoundBF16Row) and
// reports false for the other activation types, which take the reference
// route.
func (s *matmulScratch) quantizeFast(t *mmTask, i int) bool {
	x := &t.x[i*t.cols]
	switch t.at {
	case quant.Q8_0:
		nb := t.cols / 32
		quantQ8_0Split(x, nb, &s.qs[i*nb*32], &s.d[i*nb])
	case quant.Q8_K:
		nb := t.cols / quant.QK_K
		quantQ8_KSplit(x, nb, &s.qs[i*nb*256], &s.d[i*nb], &s.bs[i*nb*16])
	case quant.Q8_1:
		nb := t.cols / 32
		quantQ8_1Split(t.x[i*t.cols:(i+1)*t.cols], nb, s.qs[i*nb*32:(i+1)*nb*32], s.d[i*nb*2:(i+1)*nb*2])
	case quant.F16:
		// The F16 kernels' input: the row rounded to fp16 values, as float32.
		VecOps{neon: true}.RoundF16(s.d[i*t.cols:(i+1)*t.cols], t.x[i*t.cols:(i+1)*t.cols])
	case quant.BF16:
		roundBF16Row(s.d[i*t.cols:(i+1)*t.cols], t.x[i*t.cols:(i+1)*t.cols])
	default:
		return false
	}
	return true
}

// roundBF16Row sets dst[i] to src[i] rounded to the nearest bf16 value, as
// float32: the BF16 kernels' input, quant.FP32ToBF16 widened back.
func roundBF16Row(dst, src []float32) {
	n4 := len(src) / 4
	if n4 > 0 {
		roundBF16NEON(&src[0], n4, &dst[0])
	}
	for i := 4 * n4; i < len(src); i++ {
		dst[i] = quant.BF16ToFP32(quant.FP32ToBF16(src[i]))
	}
}
