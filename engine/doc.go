// Package engine owns the scheduler: requests and sequences, batch planning
// with chunked prefill, the paged KV block allocator, prefix caching,
// preemption, backpressure and stop strings. Its step function is a plain
// function that tests drive without HTTP or threads.
package engine
