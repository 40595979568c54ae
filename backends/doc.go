// Package backends defines the boundary between a model's forward pass and
// the hardware that runs it: a Device owns memory and opens Streams, a Stream
// runs the handful of ops a transformer needs (get-rows, matmul, RMSNorm,
// RoPE, paged-KV store and attention, SiLU-mul, add, scale) on Tensors.
//
// The model package only ever calls these interfaces, so a faster CPU kernel
// or another device plugs in below it without changing model code. The
// reference implementation is backends/cpu.
//
// Every op computes each output row from its own input row (plus, for
// attention, the cache) in a fixed reduction order, so a token's result does
// not depend on which other tokens share the batch (batch invariance).
package backends
