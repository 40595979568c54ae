//go:build linux

package backends

import (
	"runtime"
	"syscall"
	"unsafe"
)

// hugeHostMin is the size from which host buffers are mapped on huge-page
// boundaries rather than taken from the Go heap.
const hugeHostMin = 4 << 20

// hostBytes returns n zeroed bytes for a HostBuffer. Large buffers (the
// per-layer KV caches, big activations) get an anonymous mapping starting
// on a 2 MiB boundary and advised for transparent huge pages: the Go heap
// gives 4 KiB pages, and a decode step touches each layer's cache after the
// weights have streamed through the TLB, so every page is a miss (StoreKV
// took 26 µs per call on llama-1b, 13 µs on huge pages). The mapping is
// released when owner becomes unreachable.
func hostBytes(owner *HostBuffer, n int) []byte {
	const hugePage = 2 << 20
	if n < hugeHostMin {
		return heapBytes(n)
	}
	size := (n + hugePage - 1) / hugePage * hugePage
	m, err := syscall.Mmap(-1, 0, size+hugePage, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		return heapBytes(n) // the Go heap still works, only slower
	}
	off := (hugePage - int(uintptr(unsafe.Pointer(&m[0]))%hugePage)) % hugePage
	b := m[off : off+size]
	_ = syscall.Madvise(b, 14) // MADV_HUGEPAGE: advice; ignored where THP is off
	runtime.AddCleanup(owner, func(m []byte) { _ = syscall.Munmap(m) }, m)
	return b[:n:n]
}
