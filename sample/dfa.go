package sample

import (
	"slices"
	"sync"
	"unsafe"
)

// stringDFA checks a JSON string's text against a regular grammar (a
// schema's pattern or format) one byte of the decoded text at a time. It
// is a deterministic automaton built as it is used: each of its states is
// a state of the grammar recognizer, interned, so a schema frame holds a
// state number and copies as a value. Transitions are kept once found.
// The constraints of one compiled schema share it, so it locks.
type stringDFA struct {
	mu      sync.Mutex
	m       gmatcher
	states  []dfaState
	index   map[string]int32
	scratch gstate
	key     []byte
}

type dfaState struct {
	st   gstate
	next *[256]int32 // 0: not worked out; -1: no match can follow; k+1: state k
}

// maxDFAStates bounds an automaton: a pattern whose text goes through
// more states than this (a bounded repetition of an alternation in the
// thousands) refuses the byte that would make one more.
const maxDFAStates = 1 << 12

func newStringDFA(g *Grammar) *stringDFA {
	d := &stringDFA{m: gmatcher{g: g, frames: map[frameKey]*frame{}}, index: map[string]int32{}}
	var st gstate
	d.m.start(&st)
	d.intern(&st)
	return d
}

// intern returns st's state number, adding it (a copy) if it is new; -1
// where the automaton is full.
func (d *stringDFA) intern(st *gstate) int32 {
	slices.SortFunc(st.stacks, func(a, b *frame) int {
		x, y := uintptr(unsafe.Pointer(a)), uintptr(unsafe.Pointer(b))
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	})
	k := st.appendKey(d.key[:0])
	d.key = k
	if id, ok := d.index[string(k)]; ok {
		return id
	}
	if len(d.states) >= maxDFAStates {
		return -1
	}
	var c gstate
	c.copyFrom(st)
	d.states = append(d.states, dfaState{st: c})
	id := int32(len(d.states) - 1)
	d.index[string(k)] = id
	return id
}

// step is the state after byte c from state s; -1 where no match can
// follow.
func (d *stringDFA) step(s int32, c byte) int32 {
	d.mu.Lock()
	defer d.mu.Unlock()
	ds := &d.states[s]
	if ds.next == nil {
		ds.next = new([256]int32)
	}
	if v := ds.next[c]; v != 0 {
		if v < 0 {
			return -1
		}
		return v - 1
	}
	d.scratch.copyFrom(&ds.st)
	next := int32(-1)
	if d.scratch.stepByte(c) {
		next = d.intern(&d.scratch)
	}
	v := next + 1
	if next < 0 {
		v = -1
	}
	d.states[s].next[c] = v // intern may have moved d.states
	return next
}

// accepts says whether the text that led to state s matches whole.
func (d *stringDFA) accepts(s int32) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.states[s].st.whole()
}
