//go:build linux

package kernels

import (
	"runtime"
	"syscall"
	"unsafe"
)

// LargeBytes returns n zeroed bytes, 64-byte aligned, that stay valid while
// owner is reachable. Buffers of 4 MiB and more (packed weight matrices,
// KV caches, big activations) are mapped outside the Go heap on a 2 MiB
// boundary and advised for transparent huge pages: the Go heap gives 4 KiB
// pages, and a decode step streams every weight and touches every layer's
// cache once, so each small page is a TLB miss (two page-table walks in a
// virtual machine; StoreKV took 26 µs per call on 4 KiB pages, 13 µs on
// huge ones). The mapping is unmapped when owner becomes unreachable, so
// owner must be the object that holds the bytes for as long as they are
// used. Smaller buffers come from the Go heap. Pages are mapped on first
// write; see Prefault for buffers that are written a little at a time.
func LargeBytes[T any](owner *T, n int) []byte {
	const hugeMin, hugePage = 4 << 20, 2 << 20
	if n < hugeMin {
		return alignedBytes(n)
	}
	size := (n + hugePage - 1) / hugePage * hugePage
	m, err := syscall.Mmap(-1, 0, size+hugePage, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		return alignedBytes(n) // the Go heap still works, only slower
	}
	off := (hugePage - int(uintptr(unsafe.Pointer(&m[0]))%hugePage)) % hugePage
	b := m[off : off+size]
	_ = syscall.Madvise(b, 14) // MADV_HUGEPAGE: advice; ignored where THP is off
	runtime.AddCleanup(owner, func(m []byte) { _ = syscall.Munmap(m) }, m)
	return b[:n:n]
}
