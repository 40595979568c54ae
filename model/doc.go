// Package model owns the Model interface, the architecture registry keyed by
// GGUF general.architecture, the paged KV cache storage and the forward
// passes of the architectures Korean models ship as (llama, qwen2, qwen3,
// exaone, exaone4, granite).
package model
