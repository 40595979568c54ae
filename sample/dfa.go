package sample

import "sync"

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
	// negate makes the automaton take the texts the grammar does not (a
	// pattern's leading negative lookahead): its states are the
	// grammar's, whole where the grammar's are not; where the grammar can
	// no longer match, sink takes anything after; and a state from which
	// every text the grammar matches (a body with no $: once a prefix
	// matched, every text after it does) is no way on.
	negate bool
	sink   int32
	escape map[int32]bool // negate: whether a state reaches one the grammar does not take
	chars  [][]byte       // negate: one character of each class the grammar tells apart
	// look, where set, is the automaton: a pattern with lookaheads inside
	// it (lookaheadTexts), whose states are its own
	look *lookDFA
}

// dfaState is a grammar state and the transitions found from it: a few
// in a list (a counted repetition, ^.{0,5000}$, makes a state a position,
// each left by one or two bytes), all 256 in a table once there are more.
type dfaState struct {
	st    gstate
	edges []dfaEdge
	next  *[256]int32 // 0: not worked out; otherwise an edge's to+1 (-1: none)
}

type dfaEdge struct {
	b  byte
	to int32 // -1: no match can follow
}

// maxDFAEdges is how many transitions a state lists before it takes a
// table.
const maxDFAEdges = 8

// maxDFAStates bounds an automaton (some 18 MB at worst, when every
// state takes a table; ordinary patterns use a few hundred): a pattern whose
// text goes through more states than this refuses the byte that would
// make one more.
const maxDFAStates = 1 << 14

// A frame keeps a state number in 16 bits (textStates).
const _ = int16(maxDFAStates - 1)

// find is the transition on b, and whether it has been worked out.
func (ds *dfaState) find(b byte) (int32, bool) {
	if ds.next != nil {
		v := ds.next[b]
		if v == 0 {
			return 0, false
		}
		if v < 0 {
			return -1, true
		}
		return v - 1, true
	}
	for _, e := range ds.edges {
		if e.b == b {
			return e.to, true
		}
	}
	return 0, false
}

// add records the transition on b.
func (ds *dfaState) add(b byte, to int32) {
	if ds.next == nil && len(ds.edges) < maxDFAEdges {
		ds.edges = append(ds.edges, dfaEdge{b, to})
		return
	}
	if ds.next == nil {
		ds.next = new([256]int32)
		for _, e := range ds.edges {
			ds.next[e.b] = encodeEdge(e.to)
		}
		ds.edges = nil
	}
	ds.next[b] = encodeEdge(to)
}

func encodeEdge(to int32) int32 {
	if to < 0 {
		return -1
	}
	return to + 1
}

func newStringDFA(g *Grammar) *stringDFA {
	d := &stringDFA{m: gmatcher{g: g, frames: map[frameKey]*frame{}}, index: map[string]int32{}}
	var st gstate
	d.m.start(&st)
	d.intern(&st)
	return d
}

// newNegatedDFA is the automaton of the texts g does not match; nil
// where g matches every text.
func newNegatedDFA(g *Grammar) *stringDFA {
	d := newStringDFA(g) // not shared yet: no lock
	d.escape = map[int32]bool{}
	d.chars, _ = charClasses(g)
	if !d.escapes(0) {
		return nil
	}
	d.negate, d.sink = true, int32(len(d.states))
	d.states = append(d.states, dfaState{}) // never stepped: step answers for it
	return d
}

// escapes says whether some text leads from state s (of the grammar) to
// one the grammar does not take, or where it can no longer match: a
// search over one character of each class the grammar tells apart (any
// character can be written, escaped if need be). d.mu is held, or d not
// yet shared.
func (d *stringDFA) escapes(s int32) bool {
	if e, ok := d.escape[s]; ok {
		return e
	}
	found := false
	seen := map[int32]bool{s: true}
	level := []int32{s}
	for len(level) > 0 && !found {
		var next []int32
		for _, from := range level {
			if !d.states[from].st.whole() {
				found = true
				break
			}
		chars:
			for _, r := range d.chars {
				to := from
				for _, c := range r {
					var full bool
					if to, full = d.rawStep(to, c); full {
						continue chars
					}
					if to < 0 {
						found = true
						break chars
					}
				}
				if !seen[to] {
					seen[to] = true
					next = append(next, to)
				}
			}
			if found {
				break
			}
		}
		level = next
	}
	d.escape[s] = found
	return found
}

// intern returns st's state number, adding it (a copy) if it is new; -1
// where the automaton is full.
func (d *stringDFA) intern(st *gstate) int32 {
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
	if d.negate && s == d.sink {
		return s
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.look != nil {
		return d.look.step(s, c)
	}
	to, full := d.rawStep(s, c)
	switch {
	case full:
		return -1
	case !d.negate:
		return to
	case to < 0:
		return d.sink // the grammar can no longer match: any text after is taken
	case !d.escapes(to):
		return -1 // every text from here is the grammar's
	}
	return to
}

// rawStep is the grammar's state after byte c from state s (-1: no match
// can follow), and whether the automaton was too full to hold it (not
// recorded as no match). d.mu is held.
func (d *stringDFA) rawStep(s int32, c byte) (int32, bool) {
	if to, ok := d.states[s].find(c); ok {
		return to, false
	}
	d.scratch.copyFrom(&d.states[s].st)
	to := int32(-1)
	if d.scratch.stepByte(c) {
		if to = d.intern(&d.scratch); to < 0 {
			return -1, true
		}
	}
	d.states[s].add(c, to) // intern may have moved d.states
	return to, false
}

// accepts says whether the text that led to state s matches whole.
func (d *stringDFA) accepts(s int32) bool {
	if d.negate && s == d.sink {
		return true
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.look != nil {
		return d.look.accepts(s)
	}
	return d.states[s].st.whole() != d.negate
}
