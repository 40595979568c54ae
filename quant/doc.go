// Package quant is the floor of Nuri: the ggml tensor type table, the block
// layouts of every supported quantization format, and readable pure-Go
// reference implementations of quantize, dequantize and block dot products.
// The reference quantizers are bit-identical to llama.cpp's (no importance
// matrix); the fast kernels in package kernels are tested against them.
// It imports nothing of Nuri's.
//
// Files, one concern each:
//   - types.go: the type table (Type, Traits, RowBytes, ParseType).
//   - fp16.go: binary16 and bfloat16 conversions (ties to even).
//   - q4q5q8.go: the 32-element formats Q4_0 … Q8_1, both directions.
//   - kquants_helpers.go, kquants_quant.go, kquants_dequant.go: the
//     K-quant scale searches, quantizers and dequantizers.
//   - convert.go: Quantize and Dequantize over whole rows.
//   - activations.go: VecDotType and QuantizeActivations (ggml's x86 AVX2
//     activation quantization, which differs from the weight quantizers).
//   - dot.go: VecDot, ggml's generic block dot products.
//   - mix.go, mix_rules.go: which type each tensor gets under a
//     llama-quantize recipe such as Q4_K_M (used by nuri quantize and synth).
package quant
