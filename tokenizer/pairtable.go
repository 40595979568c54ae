package tokenizer

import "math/bits"

// pairTable maps a (left, right) symbol pair, packed into a uint64, to its
// packed merge (rank<<32 | result). It is an open-addressing table with
// linear probing and key and value side by side, so a lookup, the hot
// operation of BPE, usually costs one cache line; Go's general map costs
// noticeably more here.
type pairTable struct {
	slots []pairSlot
	shift uint // 64 - log2(len(slots))
	n     int
}

type pairSlot struct {
	key, val uint64
}

// emptyPair marks a free slot; symbols are below 2^31, so no real pair
// packs to it.
const emptyPair = ^uint64(0)

func newPairTable(capacity int) *pairTable {
	size := 16
	for size < 2*capacity {
		size <<= 1
	}
	t := &pairTable{slots: make([]pairSlot, size), shift: uint(64 - bits.TrailingZeros(uint(size)))}
	for i := range t.slots {
		t.slots[i].key = emptyPair
	}
	return t
}

func (t *pairTable) home(key uint64) uint64 {
	return (key * 0x9E3779B97F4A7C15) >> t.shift // Fibonacci hashing
}

func (t *pairTable) get(key uint64) (uint64, bool) {
	mask := uint64(len(t.slots) - 1)
	for i := t.home(key); ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.key == key {
			return s.val, true
		}
		if s.key == emptyPair {
			return 0, false
		}
	}
}

// putIfAbsent stores val under key unless key is present; it reports
// whether it stored. The table never fills: capacity bounds the entries.
func (t *pairTable) putIfAbsent(key, val uint64) bool {
	if 2*(t.n+1) > len(t.slots) {
		t.grow()
	}
	mask := uint64(len(t.slots) - 1)
	for i := t.home(key); ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.key == key {
			return false
		}
		if s.key == emptyPair {
			s.key, s.val = key, val
			t.n++
			return true
		}
	}
}

func (t *pairTable) grow() {
	old := t.slots
	nt := newPairTable(len(old))
	for _, s := range old {
		if s.key != emptyPair {
			nt.putIfAbsent(s.key, s.val)
		}
	}
	*t = *nt
}
