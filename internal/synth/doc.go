// Package synth writes random-weight models of named shapes (Llama-3.2-1B,
// EXAONE 4.0 1.2B, EXAONE 3.5 2.4B, Qwen3 0.6B, HyperCLOVAX-SEED 0.5B and a
// tiny test model) as GGUF files that llama.cpp and Nuri both load, so
// benchmarks and tests need no downloads.
//
// Weights are deterministic for a seed: every chunk of rows draws from its
// own PCG stream keyed by (seed, tensor name, chunk index), so the output
// does not depend on the number of workers. Tensors are generated,
// quantized and written chunk by chunk in a bounded pipeline: memory stays
// at a few tens of megabytes whatever the model size. Tensor types follow
// llama-quantize's rules through quant.Mix.PlanTypes (norms stay F32, a tied
// embedding becomes Q6_K in Q4_0 and Q4_K_M files, ...).
package synth
