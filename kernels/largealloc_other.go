//go:build !linux

package kernels

// largeBytes returns n zeroed bytes for a packed weight matrix.
func largeBytes(owner *PackedWeights, n int) []byte { return alignedBytes(n) }
