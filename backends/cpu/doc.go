// Package cpu is the reference backend: it runs every backends op on the
// host in readable Go, on the kernels worker pool, with weights used in place
// from the memory-mapped GGUF file.
//
// Numerics follow llama.cpp's CPU backend (ggml-cpu), the reference the
// golden tests compare against: activations are converted to the weight
// type's vec-dot type before each matmul, RMSNorm sums squares in float64,
// RoPE angles are iterated in float32, Q is converted to the KV cache's
// vec-dot type (fp16 for the default F16 cache) for q·k, and the softmax
// probabilities are rounded the same way before they multiply V
// (llama.cpp's non-flash-attention path).
//
// Each output row is reduced in a fixed order that depends neither on the
// other rows of the batch nor on the thread count (batch invariance).
package cpu
