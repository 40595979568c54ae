//go:build !linux

package backends

// hostBytes returns n zeroed bytes for a HostBuffer.
func hostBytes(owner *HostBuffer, n int) []byte { return heapBytes(n) }
