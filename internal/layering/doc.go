// Package layering holds the test that keeps Nuri's package dependencies
// pointing one way (server → engine → model → backends → kernels → quant,
// gguf → quant), as ARCHITECTURE.md lays down. It has no code of its own.
package layering
