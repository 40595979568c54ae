package conformance

import (
	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/quant"
)

// Limit bounds a device's error against the reference over one output.
type Limit struct {
	// RelRMS bounds sqrt(Σ(y−r)²/Σr²) over the finite elements.
	RelRMS float64
	// MaxNorm bounds max|y−r| / max|r|: the worst single element, relative
	// to the output's scale (so near-zero outputs do not dominate).
	MaxNorm float64
}

// Limits returns the limit for an op on a weight/cache type.
type Limits func(op backends.Op, t quant.Type) Limit

// ExactLimits are for devices that reproduce the CPU reference's numerics
// (same activation quantization, same float conversions) and differ only
// in summation order and contraction of multiply-adds — the CUDA backend.
//
//   - mul_mat F32/F16/BF16: 1e-5 RMS, 1e-4 max (relative to the quadrature
//     sum of the dot product's terms, see Int8Limits). Products are exact
//     in float32 (F16/BF16) or rounded once (F32); only the order (and the
//     precision) of the sum over up to a few thousand terms changes.
//   - mul_mat block types: 1e-4 RMS, 2e-3 max. Block sums are exact
//     integers; the float sum over blocks is reordered. (A device whose
//     activation quantizer fused x·(127/amax) into another operation could
//     round a tie the other way and move one product by a quantization
//     step; the CUDA kernels are compiled with --fmad=false and do not.)
//   - get_rows: 1e-6 RMS and max: dequantization is a product (and for
//     K-quants a difference) per element; a fused multiply-add may change
//     the last bit.
//   - rms_norm, add, scale, silu_mul, rope: 1e-6 RMS, 1e-5 max: one or two
//     ulps from exp/sin/cos/sqrt implementations and fused multiply-adds.
//   - store_kv, attention on F32/F16 caches: 1e-5 RMS, 1e-4 max (a softmax
//     and a weighted sum, reordered); on a Q8_0 cache 1e-4 RMS and 1e-2 max
//     (a stored value may round to the neighbouring step, 1/127 of its
//     block's largest value); on the 5-bit caches (Q5_0, Q5_1) 8e-4 and
//     7e-2, on the 4-bit ones (Q4_0, Q4_1, IQ4_NL) 1.7e-3 and 0.15: the
//     Q8_0 limits scaled by the step, 1/15.5 and 1/7.5 of a block's range
//     against 1/127 (IQ4_NL's widest gap, 24/254, is a 4-bit step too).
func ExactLimits(op backends.Op, t quant.Type) Limit {
	switch op {
	case backends.OpMatMul:
		if t == quant.F32 || t == quant.F16 || t == quant.BF16 {
			return Limit{1e-5, 1e-4}
		}
		return Limit{1e-4, 2e-3}
	case backends.OpGetRows:
		return Limit{1e-6, 1e-6}
	case backends.OpStoreKV, backends.OpAttention:
		switch t {
		case quant.Q8_0:
			return Limit{1e-4, 1e-2}
		case quant.Q5_0, quant.Q5_1:
			return Limit{8e-4, 7e-2}
		case quant.Q4_0, quant.Q4_1, quant.IQ4_NL:
			return Limit{1.7e-3, 0.15}
		}
		return Limit{1e-5, 1e-4}
	}
	return Limit{1e-6, 1e-5}
}

// Int8Limits are for devices that requantize weights to int8 per output
// channel and quantize activations to int8 per row (the NPU): both sides of
// every product carry a rounding error of up to half a step, a step being
// 1/127 of the row's largest magnitude.
//
//   - mul_mat, every type: 3e-2 RMS, 8e-2 max, both measured against
//     sqrt(Σ_k (w_k·x_k)²), the quadrature sum of the dot product's terms
//     (the natural scale of its rounding error, so that an output that
//     happens to cancel to nearly zero does not read as a large relative
//     error; ExactLimits' mul_mat numbers use the same scale). For the
//     kit's Gaussian rows the largest of n values is ≈3–4σ, so a step is
//     ≈σ/35 and each side's error ≈ step/√12 ≈ 0.8% RMS, ≈1.2% combined;
//     measured 1.1–1.8% RMS and 3.4–5.0% worst element over all types
//     (RNGD and ATOM profiles alike). The limits leave ≈1.6–2× headroom.
//   - get_rows: 1.5e-2 RMS, 1e-2 max: an int8 table lookup, one rounding
//     of at most half a step (1/254 of the row's largest value); measured
//     0.5–0.9% RMS and 0.39% max.
//   - all float ops (norms, RoPE, add, scale, SiLU, KV store, attention):
//     the same as ExactLimits, since they run in float.
func Int8Limits(op backends.Op, t quant.Type) Limit {
	switch op {
	case backends.OpMatMul:
		return Limit{3e-2, 8e-2}
	case backends.OpGetRows:
		return Limit{1.5e-2, 1e-2}
	}
	return ExactLimits(op, t)
}

// LimitsFor picks the limits for dev: Int8Limits for devices that say
// they requantize weights (backends.Requantizer), else ExactLimits.
func LimitsFor(dev backends.Device) Limits {
	if _, ok := backends.As[backends.Requantizer](dev); ok {
		return Int8Limits
	}
	return ExactLimits
}
