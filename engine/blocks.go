package engine

import (
	"fmt"
	"slices"
)

// blockPool allocates the KV cache's fixed-size blocks and keeps the prefix
// cache. Every block is in exactly one state:
//
//   - in use: ref > 0, listed in the tables of ref sequences;
//   - free: ref == 0 and not hashed, on the free stack;
//   - cached: ref == 0 and hashed, on the LRU list, reusable by a prefix
//     hit until it is evicted to serve an allocation.
//
// A block in use may also be hashed (it holds a full, registered block of
// some sequence's tokens) and is then shareable. Hashed blocks are full and
// never written again, so sharing them is safe.
//
// Only the scheduler goroutine touches a blockPool.
type blockPool struct {
	bs   int
	ref  []int32
	free []int32 // stack of free, unhashed blocks

	hashed []bool
	hash   []uint64
	parent []uint64 // parent hash of each hashed block
	toks   []int32  // [n*bs] token ids of each hashed block, for collision checks
	byHash map[uint64]int32

	// LRU list of cached blocks (ref 0, hashed): head is the least recently
	// freed and is evicted first. Links are block ids; -1 ends the list.
	prev, next []int32
	inLRU      []bool
	head, tail int32
	nLRU       int
}

func newBlockPool(n, bs int) *blockPool {
	p := &blockPool{
		bs:     bs,
		ref:    make([]int32, n),
		free:   make([]int32, n),
		hashed: make([]bool, n),
		hash:   make([]uint64, n),
		parent: make([]uint64, n),
		toks:   make([]int32, n*bs),
		byHash: make(map[uint64]int32),
		prev:   make([]int32, n),
		next:   make([]int32, n),
		inLRU:  make([]bool, n),
		head:   -1,
		tail:   -1,
	}
	// Pop order is ascending ids, which keeps fresh caches easy to read in
	// tests and debuggers.
	for i := range p.free {
		p.free[i] = int32(n - 1 - i)
	}
	return p
}

func (p *blockPool) numBlocks() int { return len(p.ref) }

// numAvailable is how many blocks an allocation can get: free ones plus
// cached ones that can be evicted.
func (p *blockPool) numAvailable() int { return len(p.free) + p.nLRU }

// numUsed is the number of blocks referenced by sequences.
func (p *blockPool) numUsed() int { return len(p.ref) - p.numAvailable() }

// alloc returns a block with ref 1, preferring free blocks so cached
// prefixes survive as long as possible; otherwise it evicts the least
// recently used cached block.
func (p *blockPool) alloc() (int32, bool) {
	var b int32
	switch {
	case len(p.free) > 0:
		b = p.free[len(p.free)-1]
		p.free = p.free[:len(p.free)-1]
	case p.nLRU > 0:
		b = p.head
		p.unlink(b)
		p.unhash(b)
	default:
		return -1, false
	}
	p.ref[b] = 1
	return b, true
}

// acquire adds a reference to a hashed block found by lookup.
func (p *blockPool) acquire(b int32) {
	if p.ref[b] == 0 {
		p.unlink(b)
	}
	p.ref[b]++
}

// release drops one reference. An unreferenced hashed block becomes cached
// (most recently used end of the LRU); an unhashed one becomes free.
func (p *blockPool) release(b int32) { p.drop(b, false) }

// releaseCold is release for a block unlikely to be looked up again: an
// unreferenced hashed block joins the LRU list at its least recently used
// end, the first to be evicted.
func (p *blockPool) releaseCold(b int32) { p.drop(b, true) }

func (p *blockPool) drop(b int32, cold bool) {
	p.ref[b]--
	switch {
	case p.ref[b] > 0:
	case p.hashed[b] && cold:
		p.pushLRUFront(b)
	case p.hashed[b]:
		p.pushLRU(b)
	default:
		p.free = append(p.free, b)
	}
}

// lookup finds the cached block holding toks after the block hashed parent.
// The stored parent and tokens are compared, so a hash collision can only
// cost a miss, never wrong K/V.
func (p *blockPool) lookup(h, parent uint64, toks []int32) (int32, bool) {
	b, ok := p.byHash[h]
	if !ok || p.parent[b] != parent || !slices.Equal(p.blockToks(b), toks) {
		return -1, false
	}
	return b, true
}

// register makes block b (in use, full) findable under h. When another block
// already holds the same content, b stays unhashed: it is freed normally.
func (p *blockPool) register(b int32, h, parent uint64, toks []int32) {
	if p.hashed[b] {
		return
	}
	if _, dup := p.byHash[h]; dup {
		return
	}
	p.hashed[b], p.hash[b], p.parent[b] = true, h, parent
	copy(p.blockToks(b), toks)
	p.byHash[h] = b
}

func (p *blockPool) blockToks(b int32) []int32 {
	return p.toks[int(b)*p.bs : int(b+1)*p.bs]
}

func (p *blockPool) unhash(b int32) {
	if p.byHash[p.hash[b]] == b {
		delete(p.byHash, p.hash[b])
	}
	p.hashed[b] = false
}

func (p *blockPool) pushLRU(b int32) {
	p.prev[b], p.next[b] = p.tail, -1
	if p.tail >= 0 {
		p.next[p.tail] = b
	} else {
		p.head = b
	}
	p.tail = b
	p.inLRU[b] = true
	p.nLRU++
}

func (p *blockPool) pushLRUFront(b int32) {
	p.prev[b], p.next[b] = -1, p.head
	if p.head >= 0 {
		p.prev[p.head] = b
	} else {
		p.tail = b
	}
	p.head = b
	p.inLRU[b] = true
	p.nLRU++
}

func (p *blockPool) unlink(b int32) {
	if p.prev[b] >= 0 {
		p.next[p.prev[b]] = p.next[b]
	} else {
		p.head = p.next[b]
	}
	if p.next[b] >= 0 {
		p.prev[p.next[b]] = p.prev[b]
	} else {
		p.tail = p.prev[b]
	}
	p.inLRU[b] = false
	p.nLRU--
}

// check verifies the pool's invariants against the references the
// sequences hold (refs[b] = how many tables list b). Tests call it after
// every step.
func (p *blockPool) check(refs []int32) error {
	n := len(p.ref)
	seen := make([]int, n)
	for _, b := range p.free {
		seen[b]++
		if p.hashed[b] || p.ref[b] != 0 {
			return fmt.Errorf("free block %d: hashed %v ref %d", b, p.hashed[b], p.ref[b])
		}
	}
	cnt := 0
	for b, last := p.head, int32(-1); b >= 0; last, b = b, p.next[b] {
		seen[b]++
		cnt++
		if p.prev[b] != last || !p.inLRU[b] || !p.hashed[b] || p.ref[b] != 0 {
			return fmt.Errorf("cached block %d: bad links or state (ref %d, hashed %v)", b, p.ref[b], p.hashed[b])
		}
		if cnt > n {
			return fmt.Errorf("LRU list has a cycle")
		}
	}
	if cnt != p.nLRU {
		return fmt.Errorf("LRU holds %d blocks, counter says %d", cnt, p.nLRU)
	}
	for b := range n {
		if p.ref[b] != refs[b] {
			return fmt.Errorf("block %d: ref %d but %d tables list it", b, p.ref[b], refs[b])
		}
		if p.ref[b] > 0 && seen[b] != 0 || p.ref[b] == 0 && seen[b] != 1 {
			return fmt.Errorf("block %d: ref %d, on free/LRU lists %d times", b, p.ref[b], seen[b])
		}
		if p.hashed[b] && p.byHash[p.hash[b]] != int32(b) {
			return fmt.Errorf("hashed block %d is not in the hash map", b)
		}
	}
	for h, b := range p.byHash {
		if !p.hashed[b] || p.hash[b] != h {
			return fmt.Errorf("hash map entry %x → block %d is stale", h, b)
		}
	}
	return nil
}
