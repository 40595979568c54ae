//go:build !linux

package kernels

// LargeBytes returns n zeroed bytes, 64-byte aligned, from the Go heap
// (huge-page mappings are Linux only).
func LargeBytes[T any](owner *T, n int) []byte { return alignedBytes(n) }
