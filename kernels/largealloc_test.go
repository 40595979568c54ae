package kernels

import (
	"bytes"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"unsafe"

	"github.com/nuri-ai/nuri/quant"
)

// TestArena: buffers come back zeroed, 64-byte aligned, of the asked
// length with no room to grow into a neighbour, never overlapping (small
// ones carved from shared slabs, large ones on their own), from several
// goroutines at once, and they stay valid through garbage collections
// while something holds the arena.
func TestArena(t *testing.T) {
	a := NewArena()
	sizes := []int{1, 63, 64, 65, 4096, 590_000, 2_359_296, 4 << 20, 9_437_184, 3 << 20}
	var mu sync.Mutex
	var bufs [][]byte
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, n := range sizes {
				b := a.Bytes(n)
				if len(b) != n || cap(b) != n {
					t.Errorf("Bytes(%d): len %d cap %d", n, len(b), cap(b))
					return
				}
				if uintptr(unsafe.Pointer(&b[0]))%64 != 0 {
					t.Errorf("Bytes(%d) not 64-byte aligned", n)
				}
				for j := 0; j < n; j += 509 {
					if b[j] != 0 {
						t.Errorf("Bytes(%d)[%d] = %d, want zeroed memory", n, j, b[j])
						return
					}
				}
				for j := range b {
					b[j] = byte(g*len(sizes) + i + 1)
				}
				mu.Lock()
				bufs = append(bufs, b)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	type span struct{ lo, hi uintptr }
	var spans []span
	for _, b := range bufs {
		lo := uintptr(unsafe.Pointer(&b[0]))
		for _, s := range spans {
			if lo < s.hi && s.lo < lo+uintptr(len(b)) {
				t.Fatalf("buffers overlap: [%#x,%#x) and [%#x,%#x)", lo, lo+uintptr(len(b)), s.lo, s.hi)
			}
		}
		spans = append(spans, span{lo, lo + uintptr(len(b))})
	}
	runtime.GC()
	runtime.GC()
	for _, b := range bufs {
		for j := 0; j < len(b); j += 4093 {
			if b[j] != b[0] || b[0] == 0 {
				t.Fatalf("a %d-byte buffer changed after GC", len(b))
			}
		}
	}
	runtime.KeepAlive(a)
}

// TestPackWeightsInArena: a matrix packed into an arena multiplies like
// one packed on its own, and keeps the arena alive by itself.
func TestPackWeightsInArena(t *testing.T) {
	if !CanPack(quant.Q4_0) {
		t.Skip("no packed kernels on this CPU")
	}
	p := NewPool(2)
	defer p.Close()
	rng := rand.New(rand.NewPCG(41, 42))
	const rows, cols = 300, 512
	w := randWeights(rng, quant.Q4_0, rows, cols, true)
	x := randFloats(rng, cols, 1)
	alone, err := PackWeights(p, quant.Q4_0, w, rows, cols)
	if err != nil {
		t.Fatal(err)
	}
	inArena, err := PackWeightsIn(p, NewArena(), quant.Q4_0, w, rows, cols)
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC() // the arena is reachable only through inArena now
	runtime.GC()
	want, got := make([]float32, rows), make([]float32, rows)
	MatMulPacked(p, want, alone, x, 1)
	MatMulPacked(p, got, inArena, x, 1)
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("y[%d] = %g in an arena, %g alone", i, got[i], want[i])
		}
	}
}

// TestArenaCopy: a copy holds the source's bytes whatever its size (none,
// under and over a chunk, a chunk and a byte), on a 64-byte boundary, and
// is not the source's memory.
func TestArenaCopy(t *testing.T) {
	p := newTestPool(t, 2)
	a := NewArena()
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{0, 1, 4095, copyChunk - 1, copyChunk + 1, 3*copyChunk + 17} {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		c := a.Copy(p, b)
		if !bytes.Equal(c, b) {
			t.Fatalf("%d bytes: the copy differs", n)
		}
		if n == 0 {
			continue
		}
		if uintptr(unsafe.Pointer(&c[0]))%64 != 0 {
			t.Fatalf("%d bytes: the copy is not 64-byte aligned", n)
		}
		b[n-1]++
		if c[n-1] == b[n-1] {
			t.Fatalf("%d bytes: the copy shares the source's memory", n)
		}
	}
}
