//go:build linux

package kernels

import (
	"runtime"
	"sync"
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
	m, b := hugeMap((n + hugePage - 1) / hugePage * hugePage)
	if m == nil {
		return alignedBytes(n) // the Go heap still works, only slower
	}
	runtime.AddCleanup(owner, func(m []byte) { _ = syscall.Munmap(m) }, m)
	return b[:n:n]
}

// hugeMap maps size bytes (a multiple of 2 MiB) on a 2 MiB boundary,
// advised for transparent huge pages. It returns the whole mapping (for
// Munmap) and the aligned part; nil where mmap fails.
func hugeMap(size int) (mapping, aligned []byte) {
	const hugePage = 2 << 20
	m, err := syscall.Mmap(-1, 0, size+hugePage, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		return nil, nil
	}
	off := (hugePage - int(uintptr(unsafe.Pointer(&m[0]))%hugePage)) % hugePage
	b := m[off : off+size]
	_ = syscall.Madvise(b, 14) // MADV_HUGEPAGE
	return m, b
}

// arenaOnHugePages: an Arena's buffers are on transparent huge pages.
const arenaOnHugePages = true

// arenaSlab is the mapping an Arena carves its small buffers from.
const arenaSlab = 16 << 20

// Arena hands out 64-byte aligned buffers on huge pages for data that
// lives as long as the arena: a device's packed weights. Buffers under
// 4 MiB are carved one after another from 16 MiB mappings, so a model's
// small matrices (a layer's q/k/v and o projections, 0.5-2.5 MB in
// llama-1b) sit on huge pages too without a 2 MiB-aligned mapping each.
// With them on 4 KiB pages the decode step's q/k/v and o matmuls streamed
// ~10 % slower. Larger buffers get a mapping of their own. Everything is
// unmapped once the Arena and every value that keeps it (PackedWeights
// made in it) are unreachable. An Arena is safe for concurrent use.
type Arena struct {
	mu   sync.Mutex
	free []byte // the rest of the current slab
	maps *arenaMaps
}

type arenaMaps struct{ m [][]byte }

// NewArena returns an empty arena.
func NewArena() *Arena {
	a := &Arena{maps: &arenaMaps{}}
	runtime.AddCleanup(a, func(m *arenaMaps) {
		for _, b := range m.m {
			_ = syscall.Munmap(b)
		}
	}, a.maps)
	return a
}

// Bytes returns n zeroed bytes, 64-byte aligned, valid while a is
// reachable.
func (a *Arena) Bytes(n int) []byte {
	const hugeMin, hugePage = 4 << 20, 2 << 20
	a.mu.Lock()
	defer a.mu.Unlock()
	if n >= hugeMin {
		m, b := hugeMap((n + hugePage - 1) / hugePage * hugePage)
		if m == nil {
			return alignedBytes(n)
		}
		a.maps.m = append(a.maps.m, m)
		return b[:n:n]
	}
	size := (n + 63) / 64 * 64
	if size > len(a.free) {
		m, b := hugeMap(arenaSlab)
		if m == nil {
			return alignedBytes(n)
		}
		a.maps.m = append(a.maps.m, m)
		a.free = b
	}
	b := a.free[:n:n]
	a.free = a.free[size:]
	return b
}
