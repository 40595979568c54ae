//go:build !amd64

package kernels

func readSum(b []byte, streams int) uint64 { return readSumGo(b, streams) }

// hasPrefetchLoop: Go has no prefetch instruction, so the portable probe
// takes the plain loops only.
const hasPrefetchLoop = false

// readSumPrefetch is readSum's four parts (the prefetching loop exists on
// amd64 only).
func readSumPrefetch(b []byte) uint64 { return readSumGo(b, 4) }
