//go:build linux

package kernels

import (
	"runtime"
	"syscall"
)

// largeBytes returns n zeroed bytes for a packed weight matrix. Large ones
// are mapped outside the Go heap and marked for transparent huge pages: a
// decode step streams every weight once, and 2 MiB pages save the TLB
// misses (and, at load, the page faults) of 4 KiB ones. The mapping is
// released when owner becomes unreachable.
func largeBytes(owner *PackedWeights, n int) []byte {
	const hugeMin = 4 << 20
	if n < hugeMin {
		return alignedBytes(n)
	}
	b, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		return alignedBytes(n) // the Go heap still works, only slower
	}
	_ = syscall.Madvise(b, 14) // MADV_HUGEPAGE: advice; ignored where THP is off
	runtime.AddCleanup(owner, func(b []byte) { _ = syscall.Munmap(b) }, b)
	return b
}
