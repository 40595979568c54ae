package quant

import (
	"fmt"
	"math"
)

// VecDotType returns the type ggml's CPU backend converts activation rows to
// before dotting them with weights of type w (ggml-cpu.c type_traits_cpu
// vec_dot_type). It returns w itself for types without a dot product here.
func VecDotType(w Type) Type {
	switch w {
	case Q4_0, Q5_0, Q8_0, IQ4_NL:
		return Q8_0
	case Q4_1, Q5_1:
		return Q8_1
	case Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_XS, IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, IQ1_S, IQ1_M:
		return Q8_K
	}
	return w // F32, F16, BF16 (and Q8_1/Q8_K, which are activation types)
}

// QuantizeActivations converts an activation row to t exactly as llama.cpp's
// x86 AVX2 CPU backend does (ggml-cpu/arch/x86/quants.c):
//   - Q8_0, Q8_1: amax per block, d = amax/127 stored as fp16, multiplier
//     127/amax (not 1/d), round half to even; Q8_1 adds s = fp16(d·Σq).
//   - Q8_K: the reference quantizer (there is no SIMD version on x86).
//   - F16, BF16: round to nearest even; F32: a copy.
//
// len(src) must be a multiple of t's block size and len(dst) the row size.
func QuantizeActivations(t Type, src []float32, dst []byte) error {
	switch t {
	case Q8_0, Q8_1:
		if err := checkSizes(t, len(src), len(dst), true); err != nil {
			return err
		}
		bb := t.BlockBytes()
		for i, o := 0, 0; i < len(src); i, o = i+qk, o+bb {
			quantizeQ8Act(t == Q8_1, src[i:i+qk], dst[o:o+bb])
		}
		return nil
	case Q8_K, F32, F16, BF16:
		return Quantize(t, src, dst)
	}
	return fmt.Errorf("quant: %v is not an activation type", t)
}

// quantizeQ8Act is the AVX2 quantize_row_q8_0 / quantize_row_q8_1 for one
// block. With sum set it writes the Q8_1 layout (d, s, qs), else Q8_0 (d, qs).
func quantizeQ8Act(sum bool, x []float32, y []byte) {
	var amax float32
	for _, v := range x[:qk] {
		amax = max(amax, abs32(v))
	}
	d := amax / 127
	var id float32
	if amax != 0 {
		id = 127 / amax
	}
	put16(y, FP32ToFP16(d))
	qs := y[q8_0QS:]
	if sum {
		qs = y[q8_1QS:]
	}
	var total int32
	for j := 0; j < qk; j++ {
		// _mm256_round_ps(_MM_ROUND_NEAREST) then packs with saturation.
		q := int32(math.RoundToEven(float64(x[j] * id)))
		total += q // AVX2 sums the int32 lanes before saturating
		qs[j] = uint8(int8(max(-128, min(127, q))))
	}
	if sum {
		put16(y[q8_1Sum:], FP32ToFP16(d*float32(total)))
	}
}
