//go:build !linux

package kernels

// LargeBytes returns n zeroed bytes, 64-byte aligned, from the Go heap
// (huge-page mappings are Linux only).
func LargeBytes[T any](owner *T, n int) []byte { return alignedBytes(n) }

// arenaOnHugePages: an Arena's buffers are on the Go heap's pages.
const arenaOnHugePages = false

// Arena hands out 64-byte aligned buffers for data that lives as long as
// the arena (on Linux, from huge-page mappings; here from the Go heap).
type Arena struct{}

// NewArena returns an empty arena.
func NewArena() *Arena { return &Arena{} }

// Bytes returns n zeroed bytes, 64-byte aligned.
func (a *Arena) Bytes(n int) []byte { return alignedBytes(n) }
