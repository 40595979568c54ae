// Package inproc holds the benchmarks that run Nuri's own runtime inside
// the benchmarking process: `nuri bench model` (llama-bench's prompt
// processing and generation tests plus llama-batched-bench's aggregate
// decode, each set against the memory roofline measured in the same run)
// and `nuri bench kernels` (GB/s and GOP/s of each quantized matmul kernel).
//
// It lives apart from package bench, whose serving benchmark talks to
// servers only over HTTP and so imports nothing of the runtime; this
// package imports model, kernels and the CPU backend, and reports through
// bench's shared Report (results.json, report.md, report.html).
//
// Figures follow llama-bench's vocabulary: ppP is one prefill of P tokens
// into an empty KV cache, tgN is N single-token decode steps starting from an
// empty cache, and t/s is tokens per second with the sample standard
// deviation over repetitions.
package inproc
