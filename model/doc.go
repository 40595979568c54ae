// Package model owns the Model interface, the architecture registry keyed by
// GGUF general.architecture, the paged KV cache storage and the forward
// passes of the architectures Korean models ship as (llama, qwen2, qwen3,
// exaone, exaone4, granite).
//
// All architectures share one decoder (forward.go) driven by per-
// architecture flags (archs.go); loaders bind every tensor by name with its
// expected shape (load.go, weights.go) and read hyper-parameters with
// llama.cpp's defaults (hparams.go). The forward pass only calls
// backends.Stream ops, so kernels and devices change below it. Weights stay
// in the memory-mapped file. See docs/models.md.
package model
