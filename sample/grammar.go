package sample

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"unicode/utf8"
	"unsafe"
)

// ErrGrammar is returned for a grammar (GBNF) or regular expression that
// cannot be compiled.
var ErrGrammar = errors.New("invalid grammar")

// Grammar is a compiled context-free grammar over Unicode characters: the
// output must be one string of its root rule (CompileGBNF, CompileRegex).
// It is immutable, so one compiled grammar serves any number of
// constraints.
//
// Each rule is a list of alternatives; an alternative is a run of
// elements in elems (characters or a rule reference) closed by an end
// element. Repetitions and groups are rules of their own, as in
// llama.cpp's grammars.
type Grammar struct {
	elems []gElem
	rules [][]int32 // each rule's alternatives: the index of their first element
	root  int32
	// tokens: some element is a token (GBNF's <[id]>, <text>, !<...>),
	// which Bind resolves against a vocabulary.
	tokens bool
}

type gKind uint8

const (
	gChars gKind = iota // one character from ranges
	gRule               // the rule rule
	gEnd                // the end of an alternative
	gToken              // one token: tok, or any token but tok (not)
)

type gElem struct {
	kind   gKind
	rule   int32
	ranges []runeRange // gChars: sorted, disjoint, inclusive
	// gToken: the token's id (-1 until Bind finds text), its text as the
	// grammar wrote it (<text>; empty for <[id]>), and whether it is
	// negated.
	tok  int32
	text string
	not  bool
}

// takes says whether the token element e takes token tok.
func (e *gElem) takes(tok int32) bool { return (tok == e.tok) != e.not && e.tok >= 0 }

type runeRange struct{ lo, hi rune }

// has says whether the character element e takes r.
func (e *gElem) has(r rune) bool {
	rs := e.ranges
	if len(rs) <= 4 {
		for _, x := range rs {
			if x.lo <= r && r <= x.hi {
				return true
			}
		}
		return false
	}
	i, _ := slices.BinarySearchFunc(rs, r, func(x runeRange, r rune) int {
		if x.hi < r {
			return -1
		}
		if x.lo > r {
			return 1
		}
		return 0
	})
	return i < len(rs) && rs[i].lo <= r && r <= rs[i].hi
}

// meets says whether the character element e takes some character in
// [lo, hi].
func (e *gElem) meets(lo, hi rune) bool {
	for _, x := range e.ranges {
		if x.lo <= hi && lo <= x.hi {
			return true
		}
	}
	return false
}

// Limits: a grammar whose repetitions expand beyond maxGrammarElems
// elements is refused at compile time, and a state that would track more
// than maxGrammarStacks parses at once (a grammar ambiguous enough to
// need that) refuses the character.
const (
	maxGrammarElems  = 1 << 18
	maxGrammarStacks = 1 << 12
)

// gbuild assembles a grammar: rules as alternatives of element runs, with
// rule references by index; finish lays them out.
type gbuild struct {
	rules [][][]gElem
	names []string
	size  int
	// markers: the pattern's private-use characters U+F0000… stand for
	// its lookaheads (lookaheadTexts), each a rune of its own past
	// Unicode, which no text holds
	markers bool
}

func ruleRef(r int32) gElem { return gElem{kind: gRule, rule: r} }

func charsElem(rs []runeRange) gElem { return gElem{kind: gChars, ranges: rs} }

func tokenElem(tok int32, text string, not bool) gElem {
	return gElem{kind: gToken, tok: tok, text: text, not: not}
}

func (b *gbuild) newRule(name string) int32 {
	b.rules = append(b.rules, nil)
	b.names = append(b.names, name)
	return int32(len(b.rules) - 1)
}

// define sets rule r's alternatives.
func (b *gbuild) define(r int32, alts [][]gElem) error {
	b.rules[r] = alts
	for _, a := range alts {
		b.size += len(a) + 1
	}
	if b.size > maxGrammarElems {
		return fmt.Errorf("%w: more than %d elements once repetitions are expanded", ErrGrammar, maxGrammarElems)
	}
	return nil
}

// group returns a reference to a new rule with alts.
func (b *gbuild) group(name string, alts [][]gElem) (gElem, error) {
	r := b.newRule(name)
	return ruleRef(r), b.define(r, alts)
}

// repeat returns the elements of seq repeated min to max times (max < 0:
// no bound): min copies, then a rule for the rest (R ::= seq R | ε for no
// bound, nested optional rules for a bound).
func (b *gbuild) repeat(name string, seq []gElem, min, max int) ([]gElem, error) {
	if max >= 0 && max < min {
		return nil, fmt.Errorf("%w: repetition {%d,%d} in %s: the maximum is below the minimum", ErrGrammar, min, max, name)
	}
	if len(seq) == 0 {
		return nil, nil // the empty string, however often
	}
	if min > maxGrammarElems || max > maxGrammarElems || min*len(seq) > maxGrammarElems || max*len(seq) > maxGrammarElems {
		return nil, fmt.Errorf("%w: repetition {%d,%d} in %s is too large", ErrGrammar, min, max, name)
	}
	var out []gElem
	for range min {
		out = append(out, seq...)
	}
	switch {
	case max < 0:
		r := b.newRule(name)
		if err := b.define(r, [][]gElem{append(slices.Clone(seq), ruleRef(r)), nil}); err != nil {
			return nil, err
		}
		out = append(out, ruleRef(r))
	case max > min:
		var tail []gElem
		for range max - min {
			r := b.newRule(name)
			if err := b.define(r, [][]gElem{append(slices.Clone(seq), tail...), nil}); err != nil {
				return nil, err
			}
			tail = []gElem{ruleRef(r)}
		}
		out = append(out, tail...)
	}
	if len(out) > maxGrammarElems {
		return nil, fmt.Errorf("%w: repetition {%d,%d} in %s is too large", ErrGrammar, min, max, name)
	}
	return out, nil
}

// finish lays out the rules with root as the start rule, after checking
// that no rule is left-recursive (the recognizer would expand it without
// end).
func (b *gbuild) finish(root int32) (*Grammar, error) {
	if err := b.checkLeftRecursion(); err != nil {
		return nil, err
	}
	g := &Grammar{rules: make([][]int32, len(b.rules)), root: root}
	for r, alts := range b.rules {
		for _, a := range alts {
			g.rules[r] = append(g.rules[r], int32(len(g.elems)))
			g.elems = append(g.elems, a...)
			g.elems = append(g.elems, gElem{kind: gEnd})
		}
	}
	for _, e := range g.elems {
		g.tokens = g.tokens || e.kind == gToken
	}
	return g, nil
}

// checkLeftRecursion refuses a rule that can reach itself without
// consuming a character: directly (a ::= a "x"), through other rules, or
// through a repetition of something that matches the empty string
// ((a?)*).
func (b *gbuild) checkLeftRecursion() error {
	n := len(b.rules)
	nullable := make([]bool, n)
	for changed := true; changed; {
		changed = false
		for r, alts := range b.rules {
			if nullable[r] {
				continue
			}
			for _, a := range alts {
				if b.seqNullable(a, nullable) {
					nullable[r], changed = true, true
					break
				}
			}
		}
	}
	// first[r]: the rules that can start r's text.
	first := make([][]int32, n)
	for r, alts := range b.rules {
		for _, a := range alts {
			for _, e := range a {
				if e.kind != gRule {
					break
				}
				first[r] = append(first[r], e.rule)
				if !nullable[e.rule] {
					break
				}
			}
		}
	}
	const (
		unseen = iota
		open
		done
	)
	state := make([]uint8, n)
	var visit func(r int32) error
	visit = func(r int32) error {
		state[r] = open
		for _, s := range first[r] {
			switch state[s] {
			case open:
				return fmt.Errorf("%w: rule %q is left-recursive (it can reach itself before any character; a repetition of something that matches the empty string does this too)", ErrGrammar, b.names[s])
			case unseen:
				if err := visit(s); err != nil {
					return err
				}
			}
		}
		state[r] = done
		return nil
	}
	for r := range int32(n) {
		if state[r] == unseen {
			if err := visit(r); err != nil {
				return err
			}
		}
	}
	return nil
}

func (b *gbuild) seqNullable(a []gElem, nullable []bool) bool {
	for _, e := range a {
		if e.kind != gRule || !nullable[e.rule] {
			return false
		}
	}
	return true
}

// normalize sorts and merges character ranges; negate takes their
// complement over all characters.
func normalize(rs []runeRange, negate bool) []runeRange {
	slices.SortFunc(rs, func(a, b runeRange) int { return int(a.lo - b.lo) })
	var out []runeRange
	for _, r := range rs {
		if r.lo > r.hi {
			continue
		}
		if k := len(out) - 1; k >= 0 && r.lo <= out[k].hi+1 {
			out[k].hi = max(out[k].hi, r.hi)
			continue
		}
		out = append(out, r)
	}
	if !negate {
		return out
	}
	var neg []runeRange
	next := rune(0)
	for _, r := range out {
		if r.lo > next {
			neg = append(neg, runeRange{next, r.lo - 1})
		}
		next = r.hi + 1
	}
	if next <= utf8.MaxRune {
		neg = append(neg, runeRange{next, utf8.MaxRune})
	}
	return neg
}

// The recognizer: llama.cpp's method. A state is the set of parses that
// the text so far leaves open, each a stack of positions in the grammar
// whose top is the character element that comes next; a character keeps
// the stacks whose top takes it, each moved past it and expanded again
// down to its next character elements. The stacks are linked frames,
// interned so that equal stacks are one pointer and a state's set stays
// small.

// frame is a position in the grammar (the next element of an
// alternative) and where to go on when that alternative ends (nil: the
// end of the root).
type frame struct {
	pos    int32
	parent *frame
	mark   uint64 // the expansion round that last reached it
	// What the frame's character leads to, worked out on first use: the
	// stacks after it, whether the root may end there, whether the
	// stacks hit maxGrammarStacks. A character then costs a lookup in
	// its element's ranges and a merge, not an expansion.
	succ                 []*frame
	succReady            bool
	succAccept, succOver bool
}

type frameKey struct {
	pos    int32
	parent *frame
}

// gmatcher is what a constraint's states share: the grammar and the
// interned frames.
type gmatcher struct {
	g      *Grammar
	frames map[frameKey]*frame
	round  uint64
}

func (m *gmatcher) frame(pos int32, parent *frame) *frame {
	k := frameKey{pos, parent}
	if f, ok := m.frames[k]; ok {
		return f
	}
	f := &frame{pos: pos, parent: parent}
	m.frames[k] = f
	return f
}

// gstate is a set of parses, and the bytes of a character not yet whole.
type gstate struct {
	m      *gmatcher
	stacks []*frame // distinct; each top is at a character element
	next   []*frame // stepRune's other buffer
	surv   []*frame // stepRune's stacks that take the character
	accept bool     // the root may end here
	over   bool     // the stacks hit maxGrammarStacks
	pend   [utf8.UTFMax]byte
	np     uint8 // bytes in pend
	need   uint8 // bytes of the character pend starts
}

// expand adds to st the stacks that position pos under parent reaches
// before its next character.
func (m *gmatcher) expand(st *gstate, pos int32, parent *frame) {
	f := m.frame(pos, parent)
	if f.mark == m.round {
		return
	}
	f.mark = m.round
	e := &m.g.elems[pos]
	switch e.kind {
	case gChars, gToken:
		if len(st.next) >= maxGrammarStacks {
			st.over = true
			return
		}
		st.next = append(st.next, f)
	case gRule:
		// A reference that ends its alternative returns straight to the
		// caller's caller, so a right-recursive repetition ("a"*) keeps
		// one frame however many times it has repeated.
		ret := parent
		if m.g.elems[pos+1].kind != gEnd {
			ret = m.frame(pos+1, parent)
		}
		for _, a := range m.g.rules[e.rule] {
			m.expand(st, a, ret)
		}
	case gEnd:
		if parent == nil {
			st.accept = true
		} else {
			m.expand(st, parent.pos, parent.parent)
		}
	}
}

// start sets st to the root's parses before any text.
func (m *gmatcher) start(st *gstate) {
	st.m = m
	m.round++
	st.next = st.next[:0]
	for _, a := range m.g.rules[m.g.root] {
		m.expand(st, a, nil)
	}
	st.stacks, st.next = st.next, st.stacks[:0]
}

func (s *gstate) copyFrom(src *gstate) {
	s.m = src.m
	s.stacks = append(s.stacks[:0], src.stacks...)
	s.accept, s.over = src.accept, src.over
	s.pend, s.np, s.need = src.pend, src.np, src.need
}

// successors works out what f's character leads to.
func (m *gmatcher) successors(f *frame) {
	m.round++
	var st gstate
	m.expand(&st, f.pos+1, f.parent)
	f.succ, f.succAccept, f.succOver, f.succReady = st.next, st.accept, st.over, true
}

// stepRune moves st past r and says whether any parse goes on.
func (s *gstate) stepRune(r rune) bool {
	m := s.m
	surv := s.surv[:0]
	for _, f := range s.stacks {
		if m.g.elems[f.pos].has(r) {
			if !f.succReady {
				m.successors(f)
			}
			surv = append(surv, f)
		}
	}
	s.surv = surv
	return s.advance()
}

// stepToken moves st past token tok by the stacks whose top is a token
// element that takes it, and says whether any parse goes on. A token
// element never follows part of a character.
func (s *gstate) stepToken(tok int32) bool {
	m := s.m
	surv := s.surv[:0]
	if s.np == 0 {
		for _, f := range s.stacks {
			if e := &m.g.elems[f.pos]; e.kind == gToken && e.takes(tok) {
				if !f.succReady {
					m.successors(f)
				}
				surv = append(surv, f)
			}
		}
	}
	s.surv = surv
	return s.advance()
}

// advance moves st to the successors of the stacks in s.surv.
func (s *gstate) advance() bool {
	m := s.m
	surv := s.surv
	m.round++
	s.next, s.accept, s.over = s.next[:0], false, false
	for _, f := range surv {
		s.accept = s.accept || f.succAccept
		s.over = s.over || f.succOver
		for _, g := range f.succ {
			if g.mark != m.round {
				g.mark = m.round
				s.next = append(s.next, g)
			}
		}
	}
	if len(s.next) > maxGrammarStacks {
		s.over = true
	}
	s.stacks, s.next = s.next, s.stacks[:0]
	return !s.over && (len(s.stacks) > 0 || s.accept)
}

// stepByte moves st past byte c of the output's UTF-8 and says whether
// the text can still match. A character split over tokens is held until
// whole; meanwhile a byte passes if some character that starts with the
// bytes so far can come next.
func (s *gstate) stepByte(c byte) bool {
	if s.np == 0 {
		if c < utf8.RuneSelf {
			return s.stepRune(rune(c))
		}
		n := utf8Len(c)
		if n == 0 {
			return false
		}
		s.pend[0], s.np, s.need = c, 1, uint8(n)
		return s.partialFits()
	}
	if c&0xC0 != 0x80 {
		return false
	}
	s.pend[s.np] = c
	s.np++
	if s.np < s.need {
		return s.partialFits()
	}
	r, size := utf8.DecodeRune(s.pend[:s.np])
	s.np = 0
	if r == utf8.RuneError && size <= 1 {
		return false
	}
	return s.stepRune(r)
}

// feed steps every byte of p.
func (s *gstate) feed(p []byte) bool {
	for _, c := range p {
		if !s.stepByte(c) {
			return false
		}
	}
	return true
}

// partialFits says whether some character starting with the pending
// bytes is valid UTF-8 and can come next.
func (s *gstate) partialFits() bool {
	lo, hi, ok := prefixRunes(s.pend[:s.np], int(s.need))
	if !ok {
		return false
	}
	for _, f := range s.stacks {
		if s.m.g.elems[f.pos].meets(lo, hi) {
			return true
		}
	}
	return false
}

// whole says whether the text so far is a string of the grammar.
func (s *gstate) whole() bool { return s.accept && s.np == 0 }

// utf8Len is the length of the character a UTF-8 lead byte starts (0: not
// a lead byte).
func utf8Len(c byte) int {
	switch {
	case c >= 0xC2 && c <= 0xDF:
		return 2
	case c >= 0xE0 && c <= 0xEF:
		return 3
	case c >= 0xF0 && c <= 0xF4:
		return 4
	}
	return 0
}

// prefixRunes is the range of characters whose n-byte UTF-8 starts with
// p, and false where there is none.
func prefixRunes(p []byte, n int) (lo, hi rune, ok bool) {
	lead := [...]byte{0, 0, 0x1F, 0x0F, 0x07}[n]
	lo, hi = rune(p[0]&lead), rune(p[0]&lead)
	for i := 1; i < n; i++ {
		a, b := rune(0x00), rune(0x3F)
		if i < len(p) {
			a, b = rune(p[i]&0x3F), rune(p[i]&0x3F)
		}
		lo, hi = lo<<6|a, hi<<6|b
	}
	minR := [...]rune{0, 0, 0x80, 0x800, 0x10000}[n]
	maxR := [...]rune{0, 0, 0x7FF, 0xFFFF, utf8.MaxRune}[n]
	lo, hi = max(lo, minR), min(hi, maxR)
	if lo > hi || (lo >= 0xD800 && hi <= 0xDFFF) {
		return 0, 0, false
	}
	return lo, hi, true
}

// compactAt is the interned frame count past which a constraint re-interns
// the frames its state uses and lets the rest go: trie walks intern the
// frames of every token they try.
const compactAt = 1 << 16

// compact starts the matcher's frame table afresh with only st's frames.
func (m *gmatcher) compact(st *gstate) {
	old := m.frames
	m.frames = make(map[frameKey]*frame, len(st.stacks)*4)
	moved := make(map[*frame]*frame, len(old)/8)
	var move func(f *frame) *frame
	move = func(f *frame) *frame {
		if f == nil {
			return nil
		}
		if g, ok := moved[f]; ok {
			return g
		}
		g := m.frame(f.pos, move(f.parent))
		moved[f] = g
		return g
	}
	for i, f := range st.stacks {
		st.stacks[i] = move(f)
	}
}

// Constraint returns a fresh constraint to the grammar over v: the reply
// is one string of the root rule. Where the grammar lets the text end or
// go on, v's end tokens are allowed; where it can only end, Complete
// reports it.
func (g *Grammar) Constraint(v *Vocab) Constraint {
	m := &gmatcher{g: g, frames: map[frameKey]*frame{}}
	c := &grammarConstraint{v: v}
	m.start(&c.st)
	return c
}

type grammarConstraint struct {
	v       *Vocab
	st      gstate
	scratch gstate
	byText  gstate // Accept's parses by a token's text, where a token element took it too
	walk    []gstate
	// The allowed tokens of states met before, by stateKey: a state
	// recurs (inside a JSON string each character returns to it), and a
	// list replays in a fraction of a trie walk. Cleared when it holds
	// maxCachedTokens tokens, and when the frames are compacted (the
	// keys name frames).
	cache      map[string][]int32
	cachedToks int
	key        []byte
}

// maxCachedTokens bounds a constraint's cache of allowed-token lists
// (4 MiB of token ids).
const maxCachedTokens = 1 << 20

// stateKey names the constraint's state (appendKey).
func (c *grammarConstraint) stateKey() string {
	c.key = c.st.appendKey(c.key[:0])
	return string(c.key)
}

// appendKey appends a name of st to k: its frames (interned, so equal
// stacks are one pointer; the matcher keeps every frame it interned
// alive until it compacts, and a compaction drops the names kept), whether
// it may end, and its pending bytes. It sorts the stacks first, by
// address (their order means nothing), so that equal states get one name.
func (s *gstate) appendKey(k []byte) []byte {
	slices.SortFunc(s.stacks, func(a, b *frame) int {
		return cmp.Compare(uintptr(unsafe.Pointer(a)), uintptr(unsafe.Pointer(b)))
	})
	for _, f := range s.stacks {
		k = binary.LittleEndian.AppendUint64(k, uint64(uintptr(unsafe.Pointer(f))))
	}
	acc := byte(0)
	if s.accept {
		acc = 1
	}
	k = append(k, acc, s.np, s.need)
	return append(k, s.pend[:s.np]...)
}

func (c *grammarConstraint) Allows(tok int32) bool {
	if c.tokenTops() {
		c.scratch.copyFrom(&c.st)
		if c.scratch.stepToken(tok) {
			return true
		}
	}
	if c.v.isEnd(tok) {
		return c.st.whole()
	}
	p := c.v.piece(tok)
	if len(p) == 0 {
		return false
	}
	c.scratch.copyFrom(&c.st)
	return c.scratch.feed(p)
}

func (c *grammarConstraint) Accept(tok int32) {
	switch {
	case c.tokenTops() && c.takeToken(tok):
	case c.v.isEnd(tok):
		return
	default:
		c.st.feed(c.v.piece(tok))
	}
	if len(c.st.m.frames) > compactAt {
		c.st.m.compact(&c.st)
		clear(c.cache)
		c.cachedToks = 0
	}
}

func (c *grammarConstraint) eachAllowed(allow func(tok int32)) {
	key := c.stateKey()
	if toks, ok := c.cache[key]; ok {
		for _, tok := range toks {
			allow(tok)
		}
		return
	}
	var toks []int32
	walkTrie(c.v.index(), &c.st, &c.walk, func(tok int32) {
		toks = append(toks, tok)
		allow(tok)
	})
	if c.tokenTops() {
		c.allowTokens(func(tok int32) {
			toks = append(toks, tok)
			allow(tok)
		})
	}
	if c.st.whole() {
		for _, end := range c.v.ends {
			toks = append(toks, end)
			allow(end)
		}
	}
	if c.cachedToks+len(toks) > maxCachedTokens {
		clear(c.cache)
		c.cachedToks = 0
	}
	if c.cache == nil {
		c.cache = map[string][]int32{}
	}
	c.cache[key] = toks
	c.cachedToks += len(toks)
}

// tokenTops says whether some parse's next element is a token element.
func (c *grammarConstraint) tokenTops() bool {
	if !c.st.m.g.tokens {
		return false
	}
	for _, f := range c.st.stacks {
		if c.st.m.g.elems[f.pos].kind == gToken {
			return true
		}
	}
	return false
}

// takeToken moves the state past tok where a token element takes it, and
// says whether one did. The parses that read the token's text go on too,
// unless the text leaves a character half written (the state holds one
// set of pending bytes).
func (c *grammarConstraint) takeToken(tok int32) bool {
	c.scratch.copyFrom(&c.st)
	if !c.scratch.stepToken(tok) {
		return false
	}
	c.byText.copyFrom(&c.st)
	p := c.v.piece(tok)
	if !c.v.isEnd(tok) && len(p) > 0 && c.byText.feed(p) && c.byText.np == 0 {
		c.scratch.union(&c.byText)
	}
	c.st.copyFrom(&c.scratch)
	return true
}

// union adds o's parses to s's; both hold no pending bytes.
func (s *gstate) union(o *gstate) {
	m := s.m
	m.round++
	for _, f := range s.stacks {
		f.mark = m.round
	}
	for _, f := range o.stacks {
		if f.mark != m.round {
			f.mark = m.round
			s.stacks = append(s.stacks, f)
		}
	}
	s.accept = s.accept || o.accept
	s.over = s.over || o.over || len(s.stacks) > maxGrammarStacks
}

// allowTokens lists the tokens the token elements at the state's tops
// take.
func (c *grammarConstraint) allowTokens(allow func(tok int32)) {
	for _, f := range c.st.stacks {
		e := &c.st.m.g.elems[f.pos]
		switch {
		case e.kind != gToken || e.tok < 0:
		case !e.not:
			if int(e.tok) < c.v.Len() {
				allow(e.tok)
			}
		default:
			for tok := range int32(c.v.Len()) {
				if tok != e.tok {
					allow(tok)
				}
			}
		}
	}
}

// Bind resolves the grammar's token elements against v: each <text> to
// the token whose text it is (special tokens' too), and checks each
// <[id]> is one of v's. A grammar without token elements is returned as
// it is; one with them must be bound before its Constraint is used (an
// unbound text element takes no token).
func (g *Grammar) Bind(v *Vocab) (*Grammar, error) {
	if !g.tokens {
		return g, nil
	}
	b := *g
	b.elems = slices.Clone(g.elems)
	for i := range b.elems {
		e := &b.elems[i]
		if e.kind != gToken {
			continue
		}
		if e.text != "" {
			id, ok := v.tokenByText(e.text)
			if !ok {
				return nil, fmt.Errorf("%w: %s is not one token of the model's vocabulary", ErrGrammar, e.text)
			}
			e.tok = id
		} else if int(e.tok) >= v.Len() {
			return nil, fmt.Errorf("%w: <[%d]>: the vocabulary has %d tokens", ErrGrammar, e.tok, v.Len())
		}
	}
	return &b, nil
}

// Complete: the text is a string of the grammar and nothing may follow.
func (c *grammarConstraint) Complete() bool { return c.st.whole() && len(c.st.stacks) == 0 }
