package sample

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Lookarounds inside a pattern (pydantic's condecimal writes
// `(?:\d{0,3}|(?=[\d.]{1,6}0*$)\d{0,3}\.\d{0,2}0*$)`; "a line without
// foo" is `^(?:(?!foo).)*$`) hold where they stand: the text after that
// point must (or, negative, must not) start with a match of the body.
// Each lookahead becomes a marker, a character of its own past Unicode,
// in the pattern's automaton; crossing one starts an obligation, the
// body's automaton from that point on, which the text must meet. A state
// of the whole is the set of the pattern's states each with the
// obligations still open on its way: an alternating automaton made
// deterministic as the text is written. A lookbehind is a marker too,
// crossed where the text so far ends (or not) in its body's match, which
// a tracker of it, run from the text's start, tells.

const (
	// markerChar is the private-use character that stands for lookahead
	// i (markerChar+i) in the pattern handed to the parser.
	markerChar    = 0xF0000
	maxLookaheads = 16
)

// lookMarker is the rune lookahead i is in the pattern's grammar: past
// Unicode, so no text's character is one.
func lookMarker(i int) rune { return utf8.MaxRune + 1 + rune(i) }

// lookDFA is a pattern's automaton with its lookaheads.
type lookDFA struct {
	main   *stringDFA // the pattern, its lookaheads markers
	bodies []lookBody
	states []lookState
	index  map[string]int32
	edges  map[uint64]int32 // state<<8 | byte → state (-1: none)
	live   map[int32]bool   // between characters: whether a match can follow
	// midLive: within a character, whether an ending of it leaves one
	midLive map[int32]bool
	marks   map[uint64]int32 // main state<<8 | lookahead → main state past its marker (-1: none)
	chars   [][]byte         // one character of each class the automata tell apart
	key     []byte
}

type lookBody struct {
	// d: a lookahead's body matching at the start of the rest,
	// ^(?:body); a lookbehind's matching at the end of the text so far,
	// (?:body)$, run from the text's start (a tracker)
	d              *stringDFA
	negate, behind bool
}

// lookState is a state of the whole: the configurations, and each
// lookbehind's tracker state (none for a lookahead).
type lookState struct {
	cs []lookConfig
	tr []int32
	// left: the bytes the character the text is within still needs (0
	// between characters), the same in every configuration
	left int
}

// lookConfig is a state of the pattern with the obligations open on its
// way, sorted.
type lookConfig struct {
	p    int32
	obls []lookObl
}

type lookObl struct {
	i int32 // the lookahead
	x int32 // its body's state
}

// lookaheadTexts is the automaton of an ECMA-262 pattern (searched, as
// JSON Schema's) with lookarounds anywhere in it, none within another.
func lookaheadTexts(src string) (*stringDFA, error) {
	var b strings.Builder
	var bodies []lookBody
	from := 0
	for j := range patternBytes(src, 0) {
		if j < from {
			continue
		}
		rest := src[j:]
		behind := strings.HasPrefix(rest, "(?<=") || strings.HasPrefix(rest, "(?<!")
		if !behind && !strings.HasPrefix(rest, "(?=") && !strings.HasPrefix(rest, "(?!") {
			continue
		}
		end, err := groupEnd(src, j)
		if err != nil {
			return nil, err
		}
		open := 3
		if behind {
			open = 4
		}
		body := src[j+open : end-1]
		if lookaroundAt(body) >= 0 {
			return nil, fmt.Errorf("a lookaround within a lookaround is not supported")
		}
		if len(bodies) == maxLookaheads {
			return nil, fmt.Errorf("more than %d lookarounds", maxLookaheads)
		}
		// A lookahead's body matches at the start of the rest; a
		// lookbehind's, at the end of the text so far.
		what, bodySrc := "lookahead", "^(?:"+body+")"
		if behind {
			what, bodySrc = "lookbehind", "(?:"+body+")$"
		}
		g, err := compileSearch(bodySrc)
		if err != nil {
			return nil, fmt.Errorf("%s (%s): %w", what, body, err)
		}
		d := newStringDFA(g)
		d.escape = map[int32]bool{}
		d.chars, _ = charClasses(g)
		b.WriteString(src[from:j])
		fmt.Fprintf(&b, `\u{%X}`, markerChar+len(bodies))
		bodies = append(bodies, lookBody{d: d, negate: src[j+open-1] == '!', behind: behind})
		from = end
	}
	b.WriteString(src[from:])
	if strings.ContainsFunc(src, func(r rune) bool { return r >= markerChar && r < markerChar+maxLookaheads }) {
		return nil, fmt.Errorf("the pattern holds the private-use characters U+F0000… that stand for lookaheads")
	}
	g, err := compileSearchMarked(b.String(), true)
	if err != nil {
		return nil, err
	}
	l := &lookDFA{main: newStringDFA(g), bodies: bodies, index: map[string]int32{}, edges: map[uint64]int32{},
		live: map[int32]bool{}, midLive: map[int32]bool{}, marks: map[uint64]int32{}}
	gs := []*Grammar{g}
	for _, body := range bodies {
		gs = append(gs, body.d.m.g)
	}
	l.chars, _ = charClasses(gs...)
	tr := make([]int32, len(bodies)) // the trackers' start states
	if l.intern(l.closure([]lookConfig{{p: 0}}, tr), tr) != 0 || !l.isLive(0) {
		return nil, fmt.Errorf("%w: the pattern with its lookaheads refuses every text", errNoValue)
	}
	return &stringDFA{m: gmatcher{g: g}, look: l}, nil
}

// closure adds to cs the configurations past each marker a pattern state
// can cross (at a character's boundary), each starting its lookahead's
// obligation; obligations met or broken at once are settled.
func (l *lookDFA) closure(cs []lookConfig, tr []int32) []lookConfig {
	for k := 0; k < len(cs); k++ {
		c := cs[k]
		if !l.main.atBoundary(c.p) {
			continue
		}
		for i, body := range l.bodies {
			p := l.markStep(c.p, i)
			if p < 0 {
				continue
			}
			n := lookConfig{p: p, obls: c.obls}
			if body.behind {
				// The text so far must end (or not) in a match.
				if body.d.accepts(tr[i]) == body.negate {
					continue
				}
			} else {
				var ok bool
				if n, ok = l.settle(lookConfig{p: p, obls: append(slices.Clone(c.obls), lookObl{int32(i), 0})}); !ok {
					continue
				}
			}
			if !slices.ContainsFunc(cs, n.equal) {
				cs = append(cs, n)
			}
		}
	}
	return cs
}

// markStep is the main automaton's state past lookahead i's marker from
// state p.
func (l *lookDFA) markStep(p int32, i int) int32 {
	k := uint64(p)<<8 | uint64(i)
	if to, ok := l.marks[k]; ok {
		return to
	}
	to := l.main.stepRune(p, lookMarker(i))
	l.marks[k] = to
	return to
}

// settle applies the obligations' rules to c: one whose body can no
// longer match is broken (positive: c dies) or met (negative: dropped);
// one whose body has matched whatever follows is met (positive: dropped)
// or broken (negative: c dies). It says whether c lives.
func (l *lookDFA) settle(c lookConfig) (lookConfig, bool) {
	var kept []lookObl
	for _, o := range c.obls {
		body := l.bodies[o.i]
		switch {
		case o.x < 0:
			if !body.negate {
				return c, false
			}
		case body.d.atBoundary(o.x) && body.d.universal(o.x):
			if body.negate {
				return c, false
			}
		default:
			if !slices.Contains(kept, o) {
				kept = append(kept, o)
			}
		}
	}
	slices.SortFunc(kept, func(a, b lookObl) int {
		if a.i != b.i {
			return int(a.i - b.i)
		}
		return int(a.x - b.x)
	})
	c.obls = kept
	return c, true
}

func (c lookConfig) equal(o lookConfig) bool {
	return c.p == o.p && slices.Equal(c.obls, o.obls)
}

// intern is the number of the state of configurations cs, -1 where the
// automaton is full.
func (l *lookDFA) intern(cs []lookConfig, tr []int32) int32 {
	slices.SortFunc(cs, func(a, b lookConfig) int {
		if a.p != b.p {
			return int(a.p - b.p)
		}
		return slices.CompareFunc(a.obls, b.obls, func(x, y lookObl) int {
			if x.i != y.i {
				return int(x.i - y.i)
			}
			return int(x.x - y.x)
		})
	})
	cs = slices.CompactFunc(cs, lookConfig.equal)
	k := l.key[:0]
	for _, c := range cs {
		k = binary.LittleEndian.AppendUint32(k, uint32(c.p))
		k = binary.LittleEndian.AppendUint32(k, uint32(len(c.obls)))
		for _, o := range c.obls {
			k = binary.LittleEndian.AppendUint32(k, uint32(o.i))
			k = binary.LittleEndian.AppendUint32(k, uint32(o.x))
		}
	}
	for i, t := range tr {
		if l.bodies[i].behind {
			k = binary.LittleEndian.AppendUint32(k, uint32(t))
		}
	}
	l.key = k
	if id, ok := l.index[string(k)]; ok {
		return id
	}
	if len(l.states) >= maxDFAStates {
		return -1
	}
	l.states = append(l.states, lookState{cs: cs, tr: slices.Clone(tr), left: l.main.bytesLeft(cs[0].p)})
	id := int32(len(l.states) - 1)
	l.index[string(k)] = id
	return id
}

// rawStep is the state after byte c from state s (-1: none), without
// asking whether a match can still follow.
func (l *lookDFA) rawStep(s int32, c byte) int32 {
	k := uint64(s)<<8 | uint64(c)
	if to, ok := l.edges[k]; ok {
		return to
	}
	var next []lookConfig
	tr := make([]int32, len(l.bodies))
	for i, body := range l.bodies {
		if body.behind {
			if tr[i] = body.d.step(l.states[s].tr[i], c); tr[i] < 0 {
				l.edges[k] = -1 // (its automaton full)
				return -1
			}
		}
	}
	for _, cf := range l.states[s].cs {
		p := l.main.step(cf.p, c)
		if p < 0 {
			continue
		}
		n := lookConfig{p: p, obls: make([]lookObl, len(cf.obls))}
		for j, o := range cf.obls {
			n.obls[j] = lookObl{o.i, l.bodies[o.i].d.step(o.x, c)}
		}
		if n, ok := l.settle(n); ok {
			next = append(next, n)
		}
	}
	to := int32(-1)
	if len(next) > 0 {
		to = l.intern(l.closure(next, tr), tr)
	}
	l.edges[k] = to
	return to
}

// step is the state after byte c from state s, -1 where no match can
// follow any more.
func (l *lookDFA) step(s int32, c byte) int32 {
	to := l.rawStep(s, c)
	if to >= 0 && !l.isLive(to) {
		return -1
	}
	return to
}

// finishesChar says whether state s, within a character, has an ending
// of it after which a match can still follow: the obligations may refuse
// every character its first bytes leave ((?![가-갿]) after EA B0). It is
// worked out where one byte is left (64 endings); with more, taken as
// true, which leaves a dead end only where every character of a lead
// byte's whole block is refused.
func (l *lookDFA) finishesChar(s int32) bool {
	if v, ok := l.midLive[s]; ok {
		return v
	}
	if l.states[s].left > 1 {
		return true
	}
	ok := false
	for b := 0x80; b <= 0xBF && !ok; b++ {
		if to := l.rawStep(s, byte(b)); to >= 0 {
			ok = l.isLive(to)
		}
	}
	l.midLive[s] = ok
	return ok
}

// accepts says whether the text that led to state s matches: a
// configuration the pattern accepts whose open obligations hold at the
// text's end (a body that matches the empty rest, or a negative one that
// does not).
func (l *lookDFA) accepts(s int32) bool {
	for _, c := range l.states[s].cs {
		if !l.main.accepts(c.p) {
			continue
		}
		ok := true
		for _, o := range c.obls {
			if l.bodies[o.i].d.accepts(o.x) == l.bodies[o.i].negate {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// isLive says whether some text leads from state s to one that accepts:
// a search over one character of each class the automata tell apart
// (the obligations can make a state that survives a dead end).
func (l *lookDFA) isLive(s int32) bool {
	if l.states[s].left > 0 {
		return l.finishesChar(s)
	}
	if v, ok := l.live[s]; ok {
		return v
	}
	seen := map[int32]bool{s: true}
	level := []int32{s}
	found := false
	for len(level) > 0 && !found {
		var next []int32
		for _, from := range level {
			if l.accepts(from) {
				found = true
				break
			}
			if v, ok := l.live[from]; ok && from != s {
				if v {
					found = true
					break
				}
				continue
			}
			for _, ch := range l.chars {
				to := from
				for _, c := range ch {
					if to = l.rawStep(to, c); to < 0 {
						break
					}
				}
				if to >= 0 && !seen[to] {
					seen[to] = true
					next = append(next, to)
				}
			}
		}
		level = next
	}
	l.live[s] = found
	return found
}

// stepRune is the state after rune r from state s (at a character's
// boundary), -1 where none.
func (d *stringDFA) stepRune(s int32, r rune) int32 {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.scratch.copyFrom(&d.states[s].st)
	if !d.scratch.stepRune(r) {
		return -1
	}
	return d.intern(&d.scratch)
}

// bytesLeft is how many bytes the character state s is within still
// needs (0 between characters).
func (d *stringDFA) bytesLeft(s int32) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	st := &d.states[s].st
	if st.np == 0 {
		return 0
	}
	return int(st.need - st.np)
}

// atBoundary says whether state s is between characters.
func (d *stringDFA) atBoundary(s int32) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.states[s].st.np == 0
}

// universal says whether every text after state s leads to one that
// accepts (d.escape and d.chars set).
func (d *stringDFA) universal(s int32) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.states[s].st.whole() && !d.escapes(s)
}

// grammars are the grammars d's automaton steps: its own, and with
// lookaheads, theirs.
func (d *stringDFA) grammars() []*Grammar {
	gs := []*Grammar{d.m.g}
	if d.look != nil {
		for _, b := range d.look.bodies {
			gs = append(gs, b.d.m.g)
		}
	}
	return gs
}
