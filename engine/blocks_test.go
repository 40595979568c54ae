package engine

import (
	"slices"
	"testing"
)

func poolRefs(p *blockPool, held ...[]int32) []int32 {
	refs := make([]int32, p.numBlocks())
	for _, h := range held {
		for _, b := range h {
			refs[b]++
		}
	}
	return refs
}

func mustAlloc(t *testing.T, p *blockPool, n int) []int32 {
	t.Helper()
	var out []int32
	for range n {
		b, ok := p.alloc()
		if !ok {
			t.Fatalf("alloc failed with %d available", p.numAvailable())
		}
		out = append(out, b)
	}
	return out
}

func TestBlockPoolAllocRelease(t *testing.T) {
	p := newBlockPool(4, 2)
	a := mustAlloc(t, p, 3)
	if !slices.Equal(a, []int32{0, 1, 2}) || p.numAvailable() != 1 || p.numUsed() != 3 {
		t.Fatalf("alloc %v, available %d", a, p.numAvailable())
	}
	if err := p.check(poolRefs(p, a)); err != nil {
		t.Fatal(err)
	}
	b := mustAlloc(t, p, 1)
	if _, ok := p.alloc(); ok {
		t.Fatal("alloc beyond capacity succeeded")
	}
	for _, x := range a {
		p.release(x)
	}
	if err := p.check(poolRefs(p, b)); err != nil {
		t.Fatal(err)
	}
	if p.numAvailable() != 3 || p.nLRU != 0 {
		t.Fatalf("available %d, cached %d", p.numAvailable(), p.nLRU)
	}
}

func TestBlockPoolPrefixLifecycle(t *testing.T) {
	h := newBlockHasher()
	p := newBlockPool(3, 2)
	blk := mustAlloc(t, p, 2)
	t1, t2 := []int32{5, 6}, []int32{7, 8}
	h1 := h.hash(rootHash, t1)
	h2 := h.hash(h1, t2)
	p.register(blk[0], h1, rootHash, t1)
	p.register(blk[1], h2, h1, t2)

	// shared while in use
	if b, ok := p.lookup(h1, rootHash, t1); !ok || b != blk[0] {
		t.Fatalf("lookup h1 = %d %v", b, ok)
	}
	p.acquire(blk[0])
	if p.ref[blk[0]] != 2 {
		t.Fatalf("ref %d after sharing", p.ref[blk[0]])
	}
	if err := p.check(poolRefs(p, blk, blk[:1])); err != nil {
		t.Fatal(err)
	}
	// a different parent or different tokens under the same hash miss
	if _, ok := p.lookup(h2, rootHash, t2); ok {
		t.Fatal("lookup with the wrong parent hit")
	}
	if _, ok := p.lookup(h1, rootHash, []int32{5, 9}); ok {
		t.Fatal("lookup with other tokens hit")
	}
	// released blocks stay cached, tail first so the head survives longer
	p.release(blk[0])
	p.release(blk[1])
	p.release(blk[0])
	if p.nLRU != 2 || p.head != blk[1] || p.tail != blk[0] {
		t.Fatalf("LRU %d blocks head %d tail %d", p.nLRU, p.head, p.tail)
	}
	if err := p.check(poolRefs(p)); err != nil {
		t.Fatal(err)
	}
	// a hit takes a block back out of the LRU
	b, ok := p.lookup(h1, rootHash, t1)
	if !ok {
		t.Fatal("cached block not found")
	}
	p.acquire(b)
	if p.nLRU != 1 || p.ref[b] != 1 {
		t.Fatalf("after hit: LRU %d ref %d", p.nLRU, p.ref[b])
	}
	// allocation uses the free block first, then evicts the LRU head
	x := mustAlloc(t, p, 1)
	if x[0] != 2 || p.nLRU != 1 {
		t.Fatalf("alloc took %d (LRU %d), want the free block 2", x[0], p.nLRU)
	}
	y := mustAlloc(t, p, 1)
	if y[0] != blk[1] || p.nLRU != 0 {
		t.Fatalf("alloc took %d, want evicted %d", y[0], blk[1])
	}
	if _, ok := p.lookup(h2, h1, t2); ok {
		t.Fatal("evicted block still found")
	}
	if err := p.check(poolRefs(p, []int32{b}, x, y)); err != nil {
		t.Fatal(err)
	}
}

func TestBlockPoolDuplicateContentNotCachedTwice(t *testing.T) {
	h := newBlockHasher()
	p := newBlockPool(2, 2)
	blk := mustAlloc(t, p, 2)
	toks := []int32{1, 2}
	hh := h.hash(rootHash, toks)
	p.register(blk[0], hh, rootHash, toks)
	p.register(blk[1], hh, rootHash, toks) // same content computed twice
	p.release(blk[1])
	p.release(blk[0])
	if p.nLRU != 1 || len(p.free) != 1 || p.free[0] != blk[1] {
		t.Fatalf("LRU %d, free %v", p.nLRU, p.free)
	}
	if err := p.check(poolRefs(p)); err != nil {
		t.Fatal(err)
	}
}

func TestBlockHashChainsParents(t *testing.T) {
	h := newBlockHasher()
	a := h.hash(rootHash, []int32{1, 2})
	if a != h.hash(rootHash, []int32{1, 2}) {
		t.Fatal("hash not deterministic")
	}
	if a == h.hash(rootHash, []int32{2, 1}) || a == h.hash(a, []int32{1, 2}) {
		t.Fatal("hash ignores order or parent")
	}
}
