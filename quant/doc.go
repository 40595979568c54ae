// Package quant is the floor of Nuri: the ggml tensor type table, the block
// layouts of every supported quantization format, and readable pure-Go
// reference implementations of quantize, dequantize and block dot products.
// The reference quantizers are bit-identical to llama.cpp's (no importance
// matrix); the fast kernels in package kernels are tested against them.
// It imports nothing of Nuri's.
package quant
