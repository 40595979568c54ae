package sample

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"sync"
	"unicode/utf8"
)

// ErrSchema is returned for a JSON Schema the recognizer cannot enforce.
var ErrSchema = errors.New("unsupported JSON schema")

// NewJSONSchema returns a constraint to the JSON texts a JSON Schema
// accepts, in a canonical form: properties in the schema's order (in a
// union of objects, the discriminator first), no undeclared keys, enum
// values in compact JSON. Keywords that only annotate (title,
// description, a format it does not know, ...) are ignored; any keyword
// it cannot enforce (multipleOf on numbers, not over most keywords, ...) is
// an error, so a reply never only looks conformant.
func NewJSONSchema(v *Vocab, schema []byte) (Constraint, error) {
	s, err := CompileJSONSchema(schema)
	if err != nil {
		return nil, err
	}
	return s.Constraint(v), nil
}

// JSONSchema is a compiled schema, from which each sequence gets its own
// constraint.
type JSONSchema struct{ p *schemaProgram }

// CompileJSONSchema compiles a schema; errors wrap ErrSchema and name the
// keyword or shape that cannot be enforced.
func CompileJSONSchema(schema []byte) (*JSONSchema, error) {
	p, err := compileSchema(schema)
	if err != nil {
		return nil, err
	}
	return &JSONSchema{p: p}, nil
}

// Notes says where the constraint takes less than the schema allows, one
// line each (none for most schemas): objects (or arrays) of a union,
// told apart as they are written, that give a property (an item) schemas
// whose values start alike, where the first one's holds; a map with
// required keys, written with those alone.
func (s *JSONSchema) Notes() []string { return slices.Clone(s.p.notes) }

// CompileCallSchema is the schema of a tool call that names one of names
// and gives the arguments that name's schema (params[i]) accepts:
// {"name": ..., argsKey: {...}}, name first, as models write calls. No
// JSON Schema keyword ties one property's schema to another's value, so
// this is built, not compiled.
func CompileCallSchema(argsKey string, names []string, params []*JSONSchema) (*JSONSchema, error) {
	if len(names) == 0 || len(names) != len(params) {
		return nil, fmt.Errorf("%w: %d names for %d parameter schemas", ErrSchema, len(names), len(params))
	}
	vals := make([]any, len(names))
	for i, n := range names {
		vals[i] = n
	}
	name, err := enumNode(vals, "#/properties/name")
	if err != nil {
		return nil, err
	}
	n := &schemaNode{kind: kObject, props: []schemaProp{
		{name: "name", node: name, required: true},
		{name: argsKey, node: anySchema, required: true},
	}}
	for _, p := range params {
		n.dispatch = append(n.dispatch, p.p.root)
	}
	return &JSONSchema{p: &schemaProgram{root: n}}, nil
}

// Constraint returns a fresh constraint to the schema over v.
func (s *JSONSchema) Constraint(v *Vocab) Constraint {
	return &schemaConstraint{v: v, st: s.p.start()}
}

// CompactConstraint is Constraint without whitespace inside the value
// (vLLM's disable_any_whitespace): the output is compact JSON.
func (s *JSONSchema) CompactConstraint(v *Vocab) Constraint {
	st := s.p.start()
	st.compact = true
	return &schemaConstraint{v: v, st: st}
}

// ConstraintThen is Constraint followed by the exact text suffix: the
// value, then suffix right after it, and nothing else (a tool call's
// closing marker).
func (s *JSONSchema) ConstraintThen(v *Vocab, suffix string) Constraint {
	return &schemaConstraint{v: v, st: s.p.start(), suffix: suffix}
}

type schemaConstraint struct {
	v       *Vocab
	st      schemaState
	scratch schemaState
	suffix  string // exact text after the value
	off     int    // of suffix, matched
	stack   []schemaWalk
}

func (c *schemaConstraint) Allows(tok int32) bool {
	if c.v.isEnd(tok) {
		// A top-level number (or number enum) is whole only when the
		// text ends: the end token ends it.
		return c.suffix == "" && c.st.couldEnd()
	}
	p := c.v.piece(tok)
	if len(p) == 0 {
		return false
	}
	c.st.copyTo(&c.scratch) // only the live frames: checking every token stays cheap
	off := c.off
	return c.run(&c.scratch, &off, p)
}

func (c *schemaConstraint) Accept(tok int32) { c.run(&c.st, &c.off, c.v.piece(tok)) }

func (c *schemaConstraint) eachAllowed(allow func(tok int32)) {
	root := schemaWalk{off: c.off, suffix: c.suffix}
	c.st.copyTo(&root.st)
	trie := c.v.index()
	if left, ok := c.st.plainBudget(); ok {
		plain, runes, rest := c.v.inString()
		for i, tok := range plain {
			if left < 0 || int(runes[i]) <= left {
				allow(tok)
			}
		}
		trie = rest
	}
	walkTrie(trie, &root, &c.stack, allow)
	for _, end := range c.v.ends {
		if c.Allows(end) {
			allow(end)
		}
	}
}

// schemaWalk is a schema state and its suffix, as a trie walk steps it.
type schemaWalk struct {
	st     schemaState
	off    int
	suffix string
}

func (w *schemaWalk) copyFrom(src *schemaWalk) {
	src.st.copyTo(&w.st)
	w.off, w.suffix = src.off, src.suffix
}

func (w *schemaWalk) stepByte(c byte) bool {
	if w.suffix != "" && w.st.complete() {
		if w.off >= len(w.suffix) || w.suffix[w.off] != c {
			return false
		}
		w.off++
		return true
	}
	return w.st.byte(c)
}

// run feeds b to the value, then to the suffix once the value is whole.
func (c *schemaConstraint) run(st *schemaState, off *int, b []byte) bool {
	if c.suffix == "" {
		return st.feed(b)
	}
	for i, x := range b {
		if st.complete() {
			if *off >= len(c.suffix) || c.suffix[*off] != x {
				return false
			}
			*off++
			continue
		}
		if !st.feed(b[i : i+1]) {
			return false
		}
	}
	return true
}

func (c *schemaConstraint) Complete() bool { return c.st.complete() && c.off == len(c.suffix) }

// CharsToFinish is how few characters the string being written (a value
// or a key) needs after tok to close, its closing quote included, where a
// pattern or format may ask for more: 0 where no string is open after
// tok, -1 where tok is refused. A walker that writes examples (nuri
// schema) heads for the end by it, since characters drawn at random
// seldom finish a pattern that asks for a word somewhere ("vms|osf").
func (c *schemaConstraint) CharsToFinish(tok int32) int {
	if !c.Allows(tok) {
		return -1
	}
	st := &c.scratch // the state after tok, as Allows left it
	if c.v.isEnd(tok) || st.depth == 0 {
		return 0
	}
	f := &st.frames[st.depth-1]
	if f.mode != mStr && f.mode != mStrEsc && f.mode != mStrHex {
		return 0
	}
	n := 1 // the closing quote
	if f.node.texts[0] != nil {
		n += f.node.finishDistance(f.pat) // (from before an escape or character begun)
	}
	if f.mode != mStr {
		n += 5 // an escape's rest, at most
	} else if f.u8 != 0 {
		n++ // a character's rest
	}
	return n
}

// Schema nodes.

type schemaKind uint8

const (
	kAny       schemaKind = iota // any JSON value
	kAnyObject                   // any JSON object
	kObject                      // declared properties, in order
	kMap                         // any keys, values under one schema
	kArray
	kString
	kInteger
	kNumber
	kBoolean
	kNull
	kEnum
	kUnion // alternatives told apart by their first byte
)

type schemaNode struct {
	kind   schemaKind
	props  []schemaProp  // kObject
	values *schemaNode   // kMap: the values' schema; kArray: the items' (nil: any)
	valSrc any           // kMap: the values' schema as given (joinObjects compares it)
	keys   *schemaNode   // kMap: the keys' schema, a string or an enum of strings (mapNode)
	prefix []*schemaNode // kArray: the leading items' own schemas (a tuple), before values'
	// kArray with uniqueItems, kMap with an enum of keys: same[i] are the
	// values of the items' (keys') enum equal to value i (itself
	// included), which an item (key) written as i rules out; nil
	// otherwise.
	same     []uint64
	min, max int      // kArray: items; kString: code points; max -1: none
	enum     [][]byte // kEnum: the values' compact encodings
	// kInteger: bounds, when bounded (minimum, maximum and their
	// exclusive forms, as whole numbers); kNumber: bounded, with nb
	bounded bool
	lo, hi  int64
	mult    int64 // kInteger: multipleOf, as the whole numbers it leaves (0: none)
	// kInteger, kNumber, kString: an item of unique items
	// (uniqueScalars): its frame hashes its text or keeps its value, and
	// it cannot end as an item written before (the frame's seen);
	// kObject: an item of unique items told apart by property keyProp,
	// whose value (unique) the frame keeps in hash (uniqueObjects).
	unique  bool
	keyProp int
	// kObject, kMap: minProperties and maxProperties (-1: none), when
	// propBounded (a kMap's minProperties only where its keys are told
	// apart: mapNode).
	propBounded      bool
	propMin, propMax int
	nb               *numberBounds
	alts             []*schemaNode
	// kObject: when set, property 1's schema is dispatch[k], k the enum
	// value property 0 matched (a tool call: its arguments follow its
	// name's schema).
	dispatch []*schemaNode
	// kObject: a union of objects told apart by the value of a property
	// each requires (a discriminator), written first: props holds that
	// property alone, its enum all the alternatives' values, and once a
	// value k is written the frame goes on in tagged[tagAlt[k]], that
	// alternative with the property moved to the front.
	tagged []*schemaNode
	tagAlt []int8
	// tagFrom: the alternatives as declared, before the property moved
	// (a union that holds this one tells its objects apart anew)
	tagFrom []*schemaNode
	// kObject: a union of objects told apart by their first key instead
	// (serde's externally tagged enums, {"Circle": {...}}): props are the
	// keys each object may start with, every one taken by one object;
	// once key i is written the frame goes on in tagged[tagAlt[i]], after
	// its property keyAt[i]. Its props are required unless one object
	// takes {}.
	keyAt []int8
	// kObject: a union of objects told apart as they are written
	// (joinObjects): joined are the objects, props every name any of them
	// has; joinAt[j][i] is property i's index in object j (-1: it has
	// none) and joinFrom[j] the way back. joinSame[i][j] is the objects
	// whose property i has object j's schema; joinEnum[i], where those
	// differ and are all enums, their values joined, and joinVals[i][v]
	// the objects that take value v; where they differ otherwise but
	// start with different bytes, joinPick[i] is the union of the schemas
	// and joinClass[i][a] the objects whose schema is its alternative a.
	// A frame keeps the objects still open in num.
	joined    []*schemaNode
	joinAt    [][]int8
	joinFrom  [][]int8
	joinSame  [][]uint64
	joinEnum  []*schemaNode
	joinVals  [][]uint64
	joinPick  []*schemaNode
	joinClass [][]uint64
	// joinRange[i], where property i's schemas start alike but differ
	// only in their range (integers' bounds, strings' lengths), is the
	// schema of each set of classes' whole span, and joinSpans[i] each
	// class's range (spanned): the value's leaves the objects out of it
	// behind.
	joinRange [][]*schemaNode
	joinSpans [][][2]int64
	// joinMap: the last of joined is a map of any keys (pydantic's
	// Union[Model, Dict[str, int]]), which takes every key. While it is
	// open a key is written as a string under the map's keys' schema;
	// once whole, a name that objects still open take next (nameHash[i]
	// is name i's FNV-1a hash, which the key's frame keeps) keeps them,
	// and any other key leaves them behind. Once the map alone is open,
	// the frame goes on as the map's (toMap). joinRides: the map's values
	// take every value, so that no value leaves it behind.
	joinMap, joinRides bool
	nameHash           []uint64
	// kArray: a union of arrays told apart as their items are written
	// (joinArrays): arrays are the alternatives, and each item is written
	// under arrayItem, which its first byte resolves; a frame keeps the
	// arrays still open in num.
	arrays []*schemaNode
	// itemJoin[k]: where item k (the last for every one past it) is an
	// object in two or more of the arrays, those objects joined
	// (joinItems); itemOwners[k][j] the arrays whose item joined object
	// j is
	itemJoin   []*schemaNode
	itemOwners [][]uint64
	// kArray: contains, the items' schema merged with contains, which the
	// first minContains items are written under (minItems is at least
	// minContains)
	contains    *schemaNode
	minContains int
	// kObject: deps[i] is the properties property i requires (its
	// requires as a bit set), nil where none requires any.
	deps  []uint64
	first [256]int8 // kUnion: the alternative a first byte starts, -1 none
	// kUnion: a oneOf, whose alternatives a value must not meet two of;
	// kObject: no property but those declared is valid
	exclusive, closed bool
	// kUnion: its last alternative takes the first bytes no other takes
	// (a joined object's value that only its map of any values takes)
	rest bool
	// kString, a unique item under a pattern or format: the classes of
	// characters its automata tell apart (unique_text.go)
	textClasses []textClass
	at          string // kUnion: its schema's path, for errors
	// kUnion: the discriminator's propertyName and its mapping (a value's
	// compact JSON to the $ref's node), when the schema names one
	tag    string
	tagMap map[string]*schemaNode
	// kString: the automata of the pattern, its leading lookaheads and
	// the format the text must match, or nil (each frame keeps its state
	// in each, pat).
	texts [maxTexts]*stringDFA
	// finish is the most characters any written prefix of the format's
	// text needs to become whole (0: no format); with max, it keeps a
	// string from filling its length with a text it cannot end
	// (roomToFinish). With a pattern too, their intersection can need more.
	finish   int
	finishes *stateCache[textStates, int] // finishDistance's answers; non-nil with texts[0]
	// finishChars is one character of each class the texts tell apart,
	// which finishDistance steps, and starts the classes' first
	// characters; nil where they tell more than maxJointChars apart (the
	// searches are then skipped).
	finishChars [][]byte
	starts      []rune
	// mids: charCanFinish's answers, by the states within a character,
	// the characters its bytes so far leave and the room after it
	mids *stateCache[midChar, bool]
	// joint remembers which states of several automata can still be
	// whole together (non-nil with texts[1]).
	joint *jointCache
	// escapes remembers which \u escapes can still end in a character
	// the texts take (non-nil with texts[0]).
	escapes *stateCache[escapeKey, bool]
}

type schemaProp struct {
	name     string
	node     *schemaNode
	required bool
	// requires: the properties that must be given once this one is
	// (dependentRequired, closed over: those they require too)
	requires []string
	// src is the property's schema, by which joinObjects tells whether
	// two objects give it the same one
	src any
}

// textStates are a string's states in its node's automata. A state
// number fits 16 bits (maxDFAStates, and a negated automaton's sink one
// past), which keeps the frame, copied at every byte, small.
type textStates [maxTexts]int16

// schemaProgram is a compiled schema.
type schemaProgram struct {
	root  *schemaNode
	notes []string
}

const (
	// maxTexts is how many automata a string's text may be held to: its
	// patterns' (allOf may give several), one for each lookahead a
	// pattern opens with, and its format's. zod's z.email() writes a
	// format and a pattern with two lookaheads.
	maxTexts = 4

	maxSchemaDepth = 32 // nesting of the recognized text
	maxSchemaProps = 64 // properties of one object (a bit set), but a wide one's
	// maxWideProps: properties of a wide object (wide), whose keys are
	// judged by index, each in a scan of those that may follow
	maxWideProps  = 4096
	maxSchemaEnum = 64 // values of one enum (a bit set)
)

// Recognizer state.

// Frame modes.
const (
	mStart      uint8 = iota // the value's first byte
	mLit                     // in a scalar or free value, run by lit
	mEnum                    // matching enum encodings
	mObjOpen                 // after '{': a key or '}'
	mObjKey                  // in a key
	mObjColon                // after a key: ':'
	mObjValue                // after ':': the value
	mObjAfter                // after a value: ',' or '}'
	mObjComma                // after ',': a key
	mMapOpen                 // after '{': a key or '}'
	mMapColon                // after a key
	mMapValue                // after ':'
	mMapAfter                // after a value
	mMapComma                // after ','
	mArrOpen                 // after '[': an item or ']'
	mArrAfter                // after an item: ',' or ']'
	mArrComma                // after ',': an item
	mStr                     // in a string value
	mStrEsc                  // after '\'
	mStrHex                  // in \uXXXX
	mMapKeyNode              // in a key under the keys' schema, run by a child frame
	mObjFreeKey              // a joined object with a map open: in a key, run by a child frame
)

type schemaFrame struct {
	node  *schemaNode
	mode  uint8
	hex   uint8  // \u digits left
	last  int16  // kObject: index of the last property written, -1 none
	off   uint16 // byte offset in the key or enum value being matched
	count uint32 // items written, or code points of a string
	cand  uint64 // keys or enum values still matching
	lit   jsonState
	// num: a bounded integer's or number's digits so far, as a value; in a
	// string, a \u escape's hex digits or a character's first bytes' bits;
	// in a joined object or array, those still open (a bit set)
	num  uint64
	neg  bool   // and its sign
	frac int8   // a bounded number's digits after the point, -1 before it
	used uint64 // kArray with uniqueItems, kMap with an enum of keys: the enum values written; kObject: the properties written
	// kArray, kMap: the unique integer or string items (keys) written,
	// their values or hashes, shared with each one's frame as it is
	// written.
	seen *seenList
	hash uint64     // a unique string item: FNV-1a of its text so far, escapes decoded
	pick int8       // kObject with dispatch or tagged: the enum value property 0 matched
	pat  textStates // kString: the text's state in the node's texts
	u8   uint8      // mStr: utf8Next's state
}

// seenList is a persistent list of the unique items written: frames that
// share it are copies of one state, and each adds in front of its own.
type seenList struct {
	key  uint64
	next *seenList
}

// literalKey is what a unique null or boolean item starting with byte c
// is remembered by: the FNV-1a hash of its text after a zero byte, which
// no string item's text hash is the same as but by chance.
func literalKey(c byte) uint64 {
	h := uint64(fnvOffset)
	h *= fnvPrime // the zero byte
	for _, b := range []byte(map[byte]string{'n': "null", 't': "true", 'f': "false"}[c]) {
		h = (h ^ uint64(b)) * fnvPrime
	}
	return h
}

// len is how many items l holds.
func (l *seenList) len() int {
	n := 0
	for ; l != nil; l = l.next {
		n++
	}
	return n
}

func (l *seenList) has(key uint64) bool {
	for ; l != nil; l = l.next {
		if l.key == key {
			return true
		}
	}
	return false
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// itemKey is what a finished unique item is remembered by.
func (f *schemaFrame) itemKey() uint64 {
	switch f.node.kind {
	case kString:
		return f.hash
	case kNumber:
		return numberKey(f.neg, f.num, max(int(f.frac), 0))
	case kObject, kNull, kBoolean:
		return f.hash // its key's (uniqueObjects), its literal's (literalKey)
	}
	v := int64(f.num)
	if f.neg {
		v = -v
	}
	return uint64(v)
}

// schemaState is the recognizer's state: a stack of frames, one for each
// value being written. It is a value: copying it copies the state.
type schemaState struct {
	frames [maxSchemaDepth]schemaFrame
	depth  int
	done   bool  // the top-level value is complete
	dead   bool  // a byte was refused
	ws, nl uint8 // the current whitespace run
	// compact: no whitespace until the value is whole (CompactConstraint).
	compact bool
}

func (p *schemaProgram) start() schemaState {
	var s schemaState
	s.frames[0] = schemaFrame{node: p.root, last: -1}
	s.depth = 1
	return s
}

// copyTo copies the live part of s into d.
func (s *schemaState) copyTo(d *schemaState) {
	copy(d.frames[:s.depth], s.frames[:s.depth])
	d.depth, d.done, d.dead, d.ws, d.nl, d.compact = s.depth, s.done, s.dead, s.ws, s.nl, s.compact
}

func (s *schemaState) complete() bool { return s.done && !s.dead }

// plainBudget says whether the text is inside a string, between two
// characters, where any plain token (plainRunes) may come, and how many
// more characters the string may take (-1: no bound).
func (s *schemaState) plainBudget() (int, bool) {
	if s.dead || s.done || s.depth == 0 {
		return 0, false
	}
	f := &s.frames[s.depth-1]
	switch f.mode {
	case mStr:
		if f.node.texts[0] != nil || f.u8 != 0 {
			return 0, false // every character goes through the pattern; a character's rest
		}
		if f.node.max < 0 {
			return -1, true
		}
		if f.node.unique {
			// The character that fills maxLength must not make an item
			// written before: each token is stepped through.
			return 0, false
		}
		return f.node.max - int(f.count), true
	case mLit:
		if (f.lit.mode == jString || f.lit.mode == jKeyString) && f.lit.aux == 0 {
			return -1, true
		}
	}
	return 0, false
}

// couldEnd says whether the text would be a whole value if it ended here:
// complete, or a top-level number (or number enum value) that more digits
// could still lengthen.
func (s *schemaState) couldEnd() bool {
	if s.complete() {
		return true
	}
	if s.dead || s.depth != 1 {
		return false
	}
	f := &s.frames[0]
	switch f.mode {
	case mLit:
		switch f.lit.mode {
		case jZero, jInt, jFrac, jExpDigits:
			return f.lit.depth == 0 && f.node.endNumber(f) != stepFail
		}
	case mEnum:
		for m := f.cand; m != 0; m &= m - 1 {
			if len(f.node.enum[bits.TrailingZeros64(m)]) == int(f.off) {
				return true
			}
		}
	}
	return false
}

func (s *schemaState) feed(b []byte) bool {
	if s.dead {
		return false
	}
	for _, c := range b {
		if !s.byte(c) {
			s.dead = true
			return false
		}
	}
	return true
}

// step results.
const (
	stepOK        = iota // c consumed
	stepFail             // c refused
	stepPushed           // a child frame was pushed; it reads c
	stepDone             // c ended the frame's value
	stepDoneRetry        // the value ended before c, which the parent reads
)

func (s *schemaState) byte(c byte) bool {
	space := isJSONSpace(c)
	if !space {
		s.ws, s.nl = 0, 0
	}
	for {
		if s.done {
			return space && s.space(c)
		}
		f := &s.frames[s.depth-1]
		switch s.step(f, c, space) {
		case stepOK:
			return true
		case stepFail:
			return false
		case stepPushed:
			continue
		case stepDone:
			s.pop()
			return true
		case stepDoneRetry:
			s.pop()
		}
	}
}

// space counts a structural whitespace byte, within NewJSON's bounds.
func (s *schemaState) space(c byte) bool {
	if s.compact && !s.done {
		return false
	}
	if s.ws >= maxTightSpace || c == '\n' && s.nl >= maxTightLines {
		return false
	}
	if c == '\n' {
		s.nl++
	}
	s.ws++
	return true
}

func (s *schemaState) push(n *schemaNode) bool {
	if s.depth >= maxSchemaDepth {
		return false
	}
	s.frames[s.depth] = schemaFrame{node: n, last: -1}
	s.depth++
	return true
}

// pop ends the top frame's value and moves its parent past it.
func (s *schemaState) pop() {
	s.depth--
	if s.depth == 0 {
		s.done = true
		return
	}
	p := &s.frames[s.depth-1]
	if c := &s.frames[s.depth]; c.node.kind == kEnum {
		// The value whose whole length was matched: a parent that
		// dispatches on it needs to know which, and an array of unique
		// items (a map's keys) rules it out.
		for m := c.cand; m != 0; m &= m - 1 {
			if i := bits.TrailingZeros64(m); len(c.node.enum[i]) == int(c.off) {
				p.pick = int8(i)
				if p.node.same != nil && p.countsOff() {
					p.used |= p.node.same[i]
				}
			}
		}
	}
	if c := &s.frames[s.depth]; c.node.unique && p.countsOff() {
		p.seen = &seenList{key: c.itemKey(), next: p.seen}
	} else if c.node.unique && p.node.kind == kObject && p.node.unique && int(p.last) == p.node.keyProp {
		p.hash = c.itemKey()
	}
	switch p.mode {
	case mObjValue:
		p.mode = mObjAfter
		if p.node.joined != nil && p.node.joinEnum[p.last] != nil {
			p.num &= p.node.joinVals[p.last][p.pick] // the objects that take the value
		}
		if p.node.joined != nil && p.node.joinPick[p.last] == nil && p.node.rangeHull(int(p.last), p.num) != nil {
			p.num &= p.node.spanOpen(int(p.last), &s.frames[s.depth]) // those whose range holds it
		}
		if p.node.tagged != nil { // the discriminator's value picks the object
			p.node = p.node.tagged[p.node.tagAlt[p.pick]]
		}
		p.toMap()
	case mObjFreeKey:
		// A key written while a joined object's map was open: a name
		// the objects still open take keeps them.
		n := p.node
		i, open := n.freeKey(p, s.frames[s.depth].hash)
		p.num, p.mode = open, mObjColon
		p.count++
		if i >= 0 {
			p.last = int16(i)
			p.used |= 1 << i
		}
		p.toMap()
	case mMapValue:
		p.mode = mMapAfter
	case mMapKeyNode:
		p.mode = mMapColon
	case mArrOpen, mArrComma:
		p.mode = mArrAfter
		if p.node.arrays != nil {
			if c := &s.frames[s.depth]; c.node.joined != nil {
				if joined, _ := p.node.itemAtJoined(int(p.count) - 1); joined == c.node {
					p.num &= p.node.itemArraysOpen(int(p.count)-1, c.num) // the arrays whose objects it took
				}
			}
		}
	}
}

// countsOff says whether the value frame f is writing is one of those
// told apart (unique items, a map's keys), not a map's value.
func (f *schemaFrame) countsOff() bool {
	return f.mode == mArrOpen || f.mode == mArrComma || f.mode == mMapKeyNode || f.mode == mObjFreeKey
}

// member pushes n's frame for an item of array frame p, or a key of map
// frame p, which sees the items (keys) written before it.
func (s *schemaState) member(p *schemaFrame, n *schemaNode) int {
	res := s.value(n)
	if res == stepPushed {
		s.frames[s.depth-1].seen = p.seen
	}
	return res
}

// value pushes n's frame for a value starting with c (not whitespace).
func (s *schemaState) value(n *schemaNode) int {
	if !s.push(n) {
		return stepFail
	}
	return stepPushed
}

func (s *schemaState) step(f *schemaFrame, c byte, space bool) int {
	n := f.node
	switch f.mode {
	case mStart:
		if space {
			return stepFail // the parent took the whitespace before the value
		}
		return s.start(f, c)
	case mLit:
		prev := *f
		if n.kind == kInteger && (c == '.' || c == 'e' || c == 'E') {
			return stepFail
		}
		if space && prev.lit.depth == 0 {
			switch prev.lit.mode {
			case jZero, jInt, jFrac, jExpDigits:
				// The number ends; the whitespace is the parent's, counted
				// in its run.
				return n.endNumber(f)
			}
		}
		if n.bounded && !n.boundedByte(f, c) {
			return stepFail
		}
		if f.lit.step(c) {
			if f.lit.mode == jDone {
				return stepDone
			}
			return stepOK
		}
		*f = prev // the value too, which a digit the syntax refuses moved
		switch prev.lit.mode {
		case jZero, jInt, jFrac, jExpDigits: // a number ends before c
			if prev.lit.depth == 0 {
				return n.endNumber(f)
			}
		}
		return stepFail
	case mEnum:
		var ext uint64
		complete := false
		for m := f.cand; m != 0; m &= m - 1 {
			i := bits.TrailingZeros64(m)
			v := n.enum[i]
			switch {
			case len(v) > int(f.off) && v[f.off] == c:
				ext |= 1 << i
			case len(v) == int(f.off):
				complete = true
			}
		}
		if ext == 0 {
			if complete {
				return stepDoneRetry
			}
			return stepFail
		}
		f.cand, f.off = ext, f.off+1
		return s.enumEnd(f)
	case mObjOpen, mObjComma:
		switch {
		case space:
			return okIf(s.space(c))
		case c == '"':
			if n.mapTakes(f) {
				// The map takes any key: written as a string, then
				// read as a name or not (pop).
				f.mode = mObjFreeKey
				return s.member(f, n.joined[len(n.joined)-1].keys)
			}
			f.num &^= n.mapBit() // a map full is left behind
			f.mode, f.off = mObjKey, 0
			if n.wide() {
				i := n.wideMatch(f, "", anyByte)
				f.cand = uint64(i)
				return okIf(i >= 0)
			}
			f.cand = n.keysNext(f)
			return okIf(f.cand != 0)
		case c == '}' && f.mode == mObjOpen:
			return doneIf(n.closes(f))
		}
		return stepFail
	case mObjKey:
		if n.wide() {
			// The key so far is the first off bytes of property cand's
			// name, which the next property that goes on with c
			// becomes.
			end := int(c)
			if c == '"' {
				end = nameEnds
			}
			i := n.wideMatch(f, n.props[f.cand].name[:f.off], end)
			switch {
			case i < 0:
				return stepFail
			case c == '"':
				f.last, f.mode = int16(i), mObjColon
				f.count++
				return stepOK
			}
			f.cand, f.off = uint64(i), f.off+1
			return stepOK
		}
		if c == '"' {
			for m := f.cand; m != 0; m &= m - 1 {
				i := bits.TrailingZeros64(m)
				if len(n.props[i].name) == int(f.off) {
					if n.joined != nil {
						f.num = n.joinKey(f, i)
					}
					f.last, f.mode = int16(i), mObjColon
					f.count++ // properties written
					if n.keyAt != nil {
						// The key picks the object.
						f.node, f.last = n.tagged[n.tagAlt[i]], int16(n.keyAt[i])
					}
					f.used |= 1 << f.last
					return stepOK
				}
			}
			return stepFail
		}
		var ext uint64
		for m := f.cand; m != 0; m &= m - 1 {
			i := bits.TrailingZeros64(m)
			if name := n.props[i].name; len(name) > int(f.off) && name[f.off] == c {
				ext |= 1 << i
			}
		}
		f.cand, f.off = ext, f.off+1
		return okIf(ext != 0)
	case mObjColon, mMapColon:
		switch {
		case space:
			return okIf(s.space(c))
		case c == ':':
			f.mode++ // to mObjValue or mMapValue
			return stepOK
		}
		return stepFail
	case mObjValue:
		if space {
			return okIf(s.space(c))
		}
		if n.dispatch != nil && f.last == 1 {
			return s.value(n.dispatch[f.pick])
		}
		if n.joined != nil {
			return s.value(n.joinValue(f))
		}
		if n.unique && int(f.last) == n.keyProp {
			return s.member(f, n.props[f.last].node) // the items' key sees those written
		}
		return s.value(n.props[f.last].node)
	case mObjAfter:
		switch {
		case space:
			return okIf(s.space(c))
		case c == ',':
			f.mode = mObjComma
			if n.wide() {
				return okIf(n.wideMatch(f, "", anyByte) >= 0)
			}
			return okIf(n.mapTakes(f) || n.keysNext(f) != 0)
		case c == '}':
			return doneIf(n.closes(f))
		}
		return stepFail
	case mMapOpen, mMapComma:
		switch {
		case space:
			return okIf(s.space(c))
		case c == '"':
			if n.propBounded && n.propMax >= 0 && int(f.count) >= n.propMax {
				return stepFail
			}
			f.count++ // entries written (keys told apart, where they are unique)
			f.mode = mMapKeyNode
			return s.member(f, n.keys)
		case c == '}' && f.mode == mMapOpen:
			return doneIf(int(f.count) >= n.propMin)
		}
		return stepFail
	case mStr:
		if f.u8 != 0 || c >= 0x80 {
			var ok bool
			if f.u8, ok = utf8Next(f.u8, c); !ok || !n.textByte(f, c) {
				return stepFail
			}
			room := -1 // characters left after this one, where roomToFinish will judge it
			if n.max >= 0 {
				after := n.max - int(f.count) // the count takes a character at its lead byte
				if c&0xC0 != 0x80 {
					after--
				}
				if n.roomChecked(after) {
					room = after
				}
			}
			if n.joint != nil || room >= 0 && n.starts != nil || n.uniqueTexts() {
				// Within a character, its first bytes (their bits in num)
				// must leave an ending after which the automata can still
				// match together, in the room left.
				if c&0xC0 != 0x80 {
					f.num = uint64(c) & (0x3F >> (f.u8 & 3)) // a lead byte's bits
				} else {
					f.num = f.num<<6 | uint64(c&0x3F)
				}
				if left := int(f.u8 & 3); f.u8 != 0 {
					lo := rune(f.num) << (6 * left)
					hi := lo | (1<<(6*left) - 1)
					if (n.joint != nil || room >= 0 && n.starts != nil) && !n.charCanFinish(f.pat, lo, hi, left, room) {
						return stepFail
					}
					if n.uniqueTexts() {
						ulo, uhi, read := charRange(lo, hi, left, c&0xC0 != 0x80)
						if !n.uniqueWithin(f, ulo, uhi, read, n.charsLeft(f, int(boolInt(c&0xC0 == 0x80)))) {
							return stepFail
						}
					}
				}
			}
			if c&0xC0 != 0x80 { // a character starts (UTF-8 continuation bytes do not)
				return s.char(f)
			}
			if f.u8 == 0 { // and ends
				return n.roomToFinish(f, stepOK)
			}
			return stepOK
		}
		switch {
		case c == '"':
			return doneIf(int(f.count) >= n.min && n.textWhole(f) && !(n.unique && f.seen.has(f.hash)))
		case c == '\\':
			// An escape writes one more character: refuse it where none
			// may follow (maxLength reached, or a pattern or format that
			// takes no character here), or the output would have no way on.
			if n.max >= 0 && int(f.count) >= n.max || !n.escapeCanFinish(f, 0, 0xFFFF, n.max-int(f.count)-1) {
				return stepFail
			}
			if n.uniqueTexts() && !n.uniqueEscape(f) {
				return stepFail
			}
			f.mode = mStrEsc
			return stepOK
		case c < 0x20:
			return stepFail
		}
		if !n.textByte(f, c) {
			return stepFail
		}
		return n.roomToFinish(f, s.char(f))
	case mStrEsc:
		switch c {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			f.mode = mStr
			if !n.textByte(f, unescapeJSON(c)) {
				return stepFail
			}
			return n.roomToFinish(f, s.char(f))
		case 'u':
			if n.uniqueTexts() && !n.uniqueWithin(f, 0, 0xFFFF, 0, n.charsLeft(f)) {
				return stepFail
			}
			f.mode, f.hex, f.num = mStrHex, 4, 0
			return s.char(f)
		}
		return stepFail
	case mStrHex:
		if !isHex(c) {
			return stepFail
		}
		f.num = f.num<<4 | uint64(hexValue(c))
		if f.hex--; f.hex > 0 {
			// The digits so far leave 16^hex characters; one of them must
			// suit the pattern and format.
			lo := rune(f.num) << (4 * f.hex)
			hi := lo + 1<<(4*f.hex) - 1
			if n.unique && lo >= 0xD800 && hi <= 0xDFFF {
				return stepFail // a surrogate half, which a unique item's hash refuses (below)
			}
			if !n.escapeCanFinish(f, lo, hi, n.max-int(f.count)) {
				return stepFail
			}
			if n.uniqueTexts() && !n.uniqueWithin(f, lo, hi, 0, n.charsLeft(f, 1)) {
				return stepFail // only texts written before left through these characters
			}
		}
		if f.hex == 0 {
			f.mode = mStr
			if n.texts[0] != nil || n.unique {
				// The pattern and a unique item's hash see the character
				// the escape stands for; a surrogate half (a pair's
				// escapes) is refused there, as the pair is one character,
				// which can be written itself.
				r := rune(f.num)
				if r >= 0xD800 && r <= 0xDFFF {
					return stepFail
				}
				var buf [4]byte
				for _, b := range utf8.AppendRune(buf[:0], r) {
					if !n.textByte(f, b) {
						return stepFail
					}
				}
				return n.roomToFinish(f, stepOK)
			}
		}
		return stepOK
	case mMapValue:
		if space {
			return okIf(s.space(c))
		}
		return s.value(n.values)
	case mMapAfter:
		switch {
		case space:
			return okIf(s.space(c))
		case c == ',':
			f.mode = mMapComma
			if k := n.keys; k.uniqueTexts() && !k.uniqueFrom(textStates{}, fnvOffset, k.max, f.seen) {
				return stepFail // every key the pattern takes written
			}
			// Keys from an enum: another needs a value not yet written.
			return okIf((!n.propBounded || n.propMax < 0 || int(f.count) < n.propMax) && (n.same == nil || f.used != allEnum(len(n.same))))
		case c == '}':
			return doneIf(int(f.count) >= n.propMin)
		}
		return stepFail
	case mArrOpen, mArrComma:
		switch {
		case space:
			return okIf(s.space(c))
		case c == ']' && f.mode == mArrOpen:
			return doneIf(n.arraysClose(f))
		}
		if n.arrays != nil {
			// The arrays that take another item.
			if f.num &= n.arraysTaking(f); f.num == 0 {
				return stepFail
			}
			f.count++
			return s.member(f, arrayItem)
		}
		if n.max >= 0 && int(f.count) >= n.max {
			return stepFail
		}
		items := n.values
		switch {
		case int(f.count) < len(n.prefix):
			items = n.prefix[f.count]
		case int(f.count) < n.minContains:
			items = n.contains
		}
		f.count++
		if items == nil {
			items = anySchema
		}
		return s.member(f, items)
	case mArrAfter:
		switch {
		case space:
			return okIf(s.space(c))
		case c == ',':
			f.mode = mArrComma
			if n.arrays != nil {
				return okIf(n.arraysTaking(f) != 0)
			}
			// Unique items: another needs a value not yet written.
			if v := n.values; v != nil {
				if k := v.uniqueKey(); k.uniqueTexts() && !k.uniqueFrom(textStates{}, fnvOffset, k.max, f.seen) {
					return stepFail
				}
			}
			return okIf((n.max < 0 || int(f.count) < n.max) && (n.same == nil || f.used != allEnum(len(n.same))))
		case c == ']':
			return doneIf(n.arraysClose(f))
		}
		return stepFail
	}
	return stepFail
}

// integerByte moves a bounded integer's value past c ('-' or a digit),
// refusing c when no integer it can still become is within the bounds:
// the model must never write itself into a number it cannot end.
func (n *schemaNode) integerByte(f *schemaFrame, c byte) bool {
	switch {
	case c == '-':
		f.neg = true
		return n.viable(f.neg, 0, 0, f.seen)
	case isDigit(c):
		if f.count >= 18 {
			return false // beyond int64's safe digits
		}
		f.num = f.num*10 + uint64(c-'0')
		f.count++
		return n.viable(f.neg, f.num, int(f.count), f.seen)
	}
	return true // the other bytes the number's syntax decides
}

// boundedByte moves a bounded integer's or number's value past c.
func (n *schemaNode) boundedByte(f *schemaFrame, c byte) bool {
	if n.nb != nil {
		return n.nb.numberByte(f, c, n.unique)
	}
	return n.integerByte(f, c)
}

// endNumber ends a number; a bounded one must be within its bounds.
func (n *schemaNode) endNumber(f *schemaFrame) int {
	if !n.bounded {
		return stepDoneRetry
	}
	if n.nb != nil {
		if !n.nb.numberWithin(f) || f.frac == 0 || n.unique && f.seen.has(f.itemKey()) {
			return stepFail
		}
		return stepDoneRetry
	}
	v := int64(f.num)
	if f.neg {
		v = -v
	}
	if v < n.lo || v > n.hi || n.mult > 1 && v%n.mult != 0 || n.unique && f.seen.has(uint64(v)) {
		return stepFail
	}
	return stepDoneRetry
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// viable says whether an integer whose first digits (k of them, value v,
// sign neg) are written can still end within [lo, hi]: some number of
// further digits j gives magnitudes v·10^j … v·10^j + 10^j − 1. A unique
// item (seen: those written) must end at one not written before.
func (n *schemaNode) viable(neg bool, v uint64, k int, seen *seenList) bool {
	within := func(a, b int64) bool { // the magnitudes a..b, signed, meet [lo, hi] at a multiple
		if neg {
			a, b = -b, -a
		}
		a, b = max(a, n.lo), min(b, n.hi)
		if a > b {
			return false
		}
		if n.unique {
			written := int64(0)
			for l := seen; l != nil; l = l.next {
				if x := int64(l.key); x >= a && x <= b {
					written++
				}
			}
			return multiplesIn(a, b, n.mult) > written
		}
		if n.mult <= 1 {
			return true
		}
		q := a / n.mult // rounded toward 0: up for a negative a
		if a%n.mult > 0 {
			q++
		}
		return q*n.mult <= b
	}
	if k == 0 { // only the sign: any magnitude
		// A minus sign where the bounds leave no negative integer could
		// only begin -0 (valid, and 0 is written so): refused.
		return within(boolInt(neg), 1<<62)
	}
	if v == 0 { // a leading 0 is the whole number
		return k == 1 && within(0, 0)
	}
	p := uint64(1)
	for j := 0; k+j <= 18; j++ {
		if within(int64(v*p), int64(v*p+p-1)) {
			return true
		}
		p *= 10
	}
	return false
}

// char counts one character of a string.
func (s *schemaState) char(f *schemaFrame) int {
	f.count++
	return okIf(f.node.max < 0 || int(f.count) <= f.node.max)
}

// roomToFinish passes on res, the step of a character of string frame f's
// text, unless too few characters are left under maxLength for the
// pattern and format to become whole after it. The character that reaches
// the limit must make the text whole; before that, a format's finish
// bound settles most steps, and near the end the ASCII completions that
// fit are searched (a host name at 253 characters must not end in "-").
func (n *schemaNode) roomToFinish(f *schemaFrame, res int) int {
	if res == stepFail || f.mode != mStr {
		return res
	}
	if !n.textsLive(f.pat) {
		return stepFail // the automata could match apart, never together
	}
	if n.uniqueTexts() && !n.uniqueLeft(f) {
		return stepFail // only texts written before are left to finish
	}
	if n.max < 0 {
		return res
	}
	if n.unique && int(f.count) == n.max && f.u8 == 0 && f.seen.has(f.hash) {
		return stepFail // the text must end here, as an item written before
	}
	if n.texts[0] == nil {
		return res
	}
	left := n.max - int(f.count)
	switch {
	case left == 0:
		// The last character maxLength allows: the text must be whole.
		return okIf(n.textWhole(f))
	case !n.roomChecked(left), n.canFinishWithin(f.pat, left):
		return res
	}
	return stepFail
}

// maxFinishLook is how near maxLength a pattern's text is checked for
// room to finish: a pattern that needs more characters than this to end
// may still write itself into a text it cannot end, far from the limit.
const maxFinishLook = 32

// roomChecked says whether a character of a string under maxLength that
// leaves left characters must leave room for the texts to become whole
// in them: a format alone only where fewer than its finish bound are
// left; a pattern (with or without a format) within maxFinishLook of the
// limit too.
func (n *schemaNode) roomChecked(left int) bool {
	switch {
	case n.max < 0 || n.texts[0] == nil:
		return false
	case left == 0:
		return true
	case left >= n.finish && (n.finish > 0 && n.texts[1] == nil || left > maxFinishLook):
		return false
	}
	return true
}

// canFinishWithin says whether texts in states st can become whole within
// left more characters.
func (n *schemaNode) canFinishWithin(st textStates, left int) bool {
	if left == 0 {
		return n.wholeAt(st)
	}
	return n.finishDistance(st) <= left
}

// finishDistance is the fewest characters after which texts in states st
// are whole, found by a breadth-first search over the states one
// character of each class they tell apart leads to (any character can be
// written, escaped if need be), and remembered; math.MaxInt where none
// is. Where the classes are too many or the search passes
// maxJointSearch states, 0: taken as able to finish.
func (n *schemaNode) finishDistance(st textStates) int {
	d, seen := n.finishes.get(st)
	if seen {
		return d
	}
	d = math.MaxInt
	if n.wholeAt(st) || n.finishChars == nil {
		d = 0
	}
	visited := map[textStates]bool{st: true}
	level := []textStates{st}
	for depth := 1; d == math.MaxInt && len(level) > 0; depth++ {
		var next []textStates
		for _, from := range level {
		chars:
			for _, r := range n.finishChars {
				to := from
				for _, c := range r {
					if !n.stepTexts(&to, c) {
						continue chars
					}
				}
				if visited[to] {
					continue
				}
				if n.wholeAt(to) {
					d = depth
					break
				}
				visited[to] = true
				next = append(next, to)
			}
			if d != math.MaxInt {
				break
			}
		}
		if len(visited) > maxJointSearch {
			d = min(d, 0)
		}
		level = next
	}
	n.finishes.put(st, d)
	return d
}

// stateCache holds a search's answers for a string schema, by the states
// of its automata (and what else the question names); the constraints of
// one compiled schema share it.
type stateCache[K comparable, V any] struct {
	mu    sync.Mutex
	known map[K]V
}

func newStateCache[K comparable, V any]() *stateCache[K, V] {
	return &stateCache[K, V]{known: map[K]V{}}
}

func (c *stateCache[K, V]) get(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.known[k]
	return v, ok
}

func (c *stateCache[K, V]) put(k K, v V) {
	c.mu.Lock()
	c.known[k] = v
	c.mu.Unlock()
}

// textByte moves a string frame's pattern and format states past byte c
// of the decoded text, and a unique item's hash, and says whether a match
// can still follow.
func (n *schemaNode) textByte(f *schemaFrame, c byte) bool {
	if n.unique {
		f.hash = (f.hash ^ uint64(c)) * fnvPrime // FNV-1a
	}
	return n.stepTexts(&f.pat, c)
}

// stepTexts moves pattern and format states st past byte c and says
// whether a match of each automaton can still follow (of all at once,
// jointLive, is asked where a character ends).
func (n *schemaNode) stepTexts(st *textStates, c byte) bool {
	for i, d := range n.texts {
		if d == nil {
			break
		}
		to := d.step(int32(st[i]), c)
		if st[i] = int16(to); to < 0 {
			return false
		}
	}
	return true
}

// maxJointSearch bounds jointLive's search; past it, the states are
// taken as live.
const maxJointSearch = 1 << 12

// textsLive says whether the automata, in states st at the end of a
// character, can still all match together.
func (n *schemaNode) textsLive(st textStates) bool {
	return n.joint == nil || n.jointLive(st)
}

// charCanFinish says whether the automata, in states st within a
// character whose bytes so far leave the characters lo-hi, can end it
// so that they can still all match together (a character's first bytes
// may admit only endings after which they cannot). One character of
// each class in lo-hi is tried, its remaining bytes stepped.
func (n *schemaNode) charCanFinish(st textStates, lo, hi rune, left, room int) bool {
	if n.starts == nil {
		return true
	}
	// The shortest form's bounds: E0 and F0 leave no overlong one, F4
	// nothing past U+10FFFF.
	lo, hi = max(lo, [4]rune{0, 0x80, 0x800, 0x10000}[left]), min(hi, utf8.MaxRune)
	key := midChar{st, lo, hi, room}
	if ok, seen := n.mids.get(key); seen {
		return ok
	}
	ok := false
	starts := n.starts
	i, _ := slices.BinarySearch(starts, lo+1)
	for i--; i < len(starts) && !ok; i++ {
		r := lo
		if i >= 0 {
			r = max(starts[i], lo)
		}
		if r > hi {
			break
		}
		end := hi + 1
		if i+1 < len(starts) {
			end = min(end, starts[i+1])
		}
		ch, has := classChar(r, end)
		if !has {
			continue
		}
		var buf [4]byte
		full := utf8.AppendRune(buf[:0], ch)
		to := st
		ok = true
		for _, c := range full[len(full)-left:] {
			if ok = n.stepTexts(&to, c); !ok {
				break
			}
		}
		ok = ok && n.textsLive(to) && (room < 0 || n.canFinishWithin(to, room))
	}
	n.mids.put(key, ok)
	return ok
}

// jointLive says whether some text leads every automaton from st to a
// whole state at once: each can match on its own, and yet a pattern's
// .{4,6}$ can run out before its lookahead's (?=.*\d) is met. The search
// steps one character of each class the automata tell apart (escapes can
// write any character), not every byte, which would fill the automata
// with the halves of characters.
func (n *schemaNode) jointLive(st textStates) bool {
	live, seen := n.joint.answers.get(st)
	if seen {
		return live
	}
	visited := map[textStates]bool{st: true}
	level := []textStates{st}
	for len(level) > 0 && !live {
		var next []textStates
		for _, from := range level {
			if n.wholeAt(from) {
				live = true
				break
			}
		chars:
			for _, r := range n.joint.chars {
				to := from
				for _, c := range r {
					if !n.stepTexts(&to, c) {
						continue chars
					}
				}
				if !visited[to] {
					visited[to] = true
					next = append(next, to)
				}
			}
		}
		if len(visited) > maxJointSearch {
			live = true
		}
		level = next
	}
	n.joint.answers.put(st, live)
	return live
}

// jointCache holds jointLive's answers for a string schema, and the
// characters its search steps.
type jointCache struct {
	answers *stateCache[textStates, bool]
	chars   [][]byte // UTF-8
}

type midChar struct {
	st     textStates
	lo, hi rune
	room   int
}

// maxJointChars bounds the classes of characters jointLive steps; texts
// whose automata tell more apart go unchecked together.
const maxJointChars = 256

// charClasses is one character (UTF-8) of each class the grammars tell
// apart: a class is a run of characters between the bounds of the ranges
// their character elements take, so any of them steps the grammars
// alike; the first one that is no surrogate stands for it. starts are the
// classes' first characters, in order.
func charClasses(gs ...*Grammar) (chars [][]byte, starts []rune) {
	bounds := map[rune]bool{0: true}
	for _, g := range gs {
		for _, e := range g.elems {
			for _, r := range e.ranges {
				bounds[r.lo], bounds[r.hi+1] = true, true
			}
		}
	}
	sorted := make([]rune, 0, len(bounds))
	for b := range bounds {
		if b <= utf8.MaxRune {
			sorted = append(sorted, b)
		}
	}
	slices.Sort(sorted)
	for i, b := range sorted {
		end := rune(utf8.MaxRune + 1)
		if i+1 < len(sorted) {
			end = sorted[i+1]
		}
		if r, ok := classChar(b, end); ok {
			chars = append(chars, utf8.AppendRune(nil, r))
		}
	}
	return chars, sorted
}

// classChar is the first character of the run from..end-1 that is no
// surrogate, if it has one.
func classChar(from, end rune) (rune, bool) {
	if from >= 0xD800 && from <= 0xDFFF {
		from = 0xE000
	}
	return from, from < end
}

// escapeKey is a question escapeCanFinish answers: from these pattern
// and format states, can a character in [lo, hi] follow?
type escapeKey struct {
	pat    textStates
	lo, hi rune
	room   int // characters left after it to finish the format in, -1: enough
}

// escapeCanFinish says whether some character in [lo, hi] (a \u escape's
// characters given the hex digits written so far; surrogate halves do
// not count, as the texts refuse them) keeps string frame f's pattern and
// format able to match. True for a string with neither. Each answer is
// worked out once, character by character, and remembered: escapes are
// rare in model output, so the walk over up to 65,536 characters a new
// state costs is paid seldom. Under maxLength (left: the characters left
// after the escape's), the character must also leave room for the format
// to finish (roomToFinish).
func (n *schemaNode) escapeCanFinish(f *schemaFrame, lo, hi rune, left int) bool {
	if n.texts[0] == nil {
		return true
	}
	room := left // as roomToFinish judges the character
	if n.max < 0 || left > 0 && !n.roomChecked(left) {
		room = -1
	}
	key := escapeKey{pat: f.pat, lo: lo, hi: hi, room: room}
	ok, seen := n.escapes.get(key)
	if seen {
		return ok
	}
	var buf [4]byte
	for r := lo; r <= hi && !ok; r++ {
		if r >= 0xD800 && r <= 0xDFFF {
			continue
		}
		st := f.pat
		ok = true
		for _, b := range utf8.AppendRune(buf[:0], r) {
			if ok = n.stepTexts(&st, b); !ok {
				break
			}
		}
		ok = ok && n.textsLive(st)
		if ok && room >= 0 {
			ok = n.canFinishWithin(st, room)
		}
	}
	n.escapes.put(key, ok)
	return ok
}

// textWhole says whether a string frame's text matches its pattern and
// format.
func (n *schemaNode) textWhole(f *schemaFrame) bool { return n.wholeAt(f.pat) }

// wholeAt says whether texts in states st match their pattern and format.
func (n *schemaNode) wholeAt(st textStates) bool {
	for i, d := range n.texts {
		if d == nil {
			break
		}
		if !d.accepts(int32(st[i])) {
			return false
		}
	}
	return true
}

// unescapeJSON is the byte a one-letter JSON escape stands for.
func unescapeJSON(c byte) byte {
	switch c {
	case 'b':
		return '\b'
	case 'f':
		return '\f'
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	}
	return c // " \ /
}

func hexValue(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// start reads a value's first byte.
func (s *schemaState) start(f *schemaFrame, c byte) int {
	n := f.node
	if n == arrayItem {
		// An item of joined arrays: its first byte picks the arrays whose
		// item schema here can start with it.
		p := &s.frames[s.depth-2]
		if n = p.node.pickItem(p, c); n == nil {
			return stepFail
		}
		f.node = n
	}
	if s.depth >= 2 {
		if p := &s.frames[s.depth-2]; p.node.joined != nil && p.mode == mObjValue && p.node.joinPick[p.last] == n {
			// A joined object's property whose schemas start apart: the
			// first byte picks one, and the objects of the others are
			// left behind.
			a := n.first[c]
			if a < 0 || p.node.joinClass[p.last][a]&p.num == 0 {
				return stepFail
			}
			p.num &= p.node.joinClass[p.last][a]
			p.toMap()
		}
	}
	for n.kind == kUnion {
		a := n.first[c]
		if a < 0 {
			return stepFail
		}
		n = n.alts[a]
		f.node = n
	}
	switch n.kind {
	case kObject:
		f.mode = mObjOpen
		if n.joined != nil {
			f.num = allEnum(len(n.joined))
			if s.depth >= 2 {
				if p := &s.frames[s.depth-2]; p.node.arrays != nil {
					if joined, _ := p.node.itemAtJoined(int(p.count) - 1); joined == n {
						f.num = p.node.itemObjectsOpen(int(p.count)-1, p.num) // of the arrays still open
					}
				}
			}
		}
		return okIf(c == '{')
	case kMap:
		f.mode = mMapOpen
		return okIf(c == '{')
	case kArray:
		f.mode = mArrOpen
		if n.arrays != nil {
			f.num = allEnum(len(n.arrays))
		}
		return okIf(c == '[')
	case kString:
		f.mode, f.hash = mStr, fnvOffset
		if n.uniqueTexts() && !n.uniqueFrom(textStates{}, fnvOffset, n.max, f.seen) {
			return stepFail // every text it takes written before
		}
		return okIf(c == '"')
	case kEnum:
		for i, v := range n.enum {
			if v[0] == c {
				f.cand |= 1 << i
			}
		}
		if s.depth >= 2 {
			// An item of unique items (a map's key): the values written
			// are out.
			p := &s.frames[s.depth-2]
			if p.node.same != nil && p.countsOff() {
				f.cand &^= p.used
			}
			if p.node.joined != nil && p.mode == mObjValue && p.node.joinEnum[p.last] == n {
				// A joined object's enum: the values an object still
				// open takes.
				f.cand &= p.node.joinTaken(p)
			}
		}
		if f.cand == 0 {
			return stepFail
		}
		f.mode, f.off = mEnum, 1
		return s.enumEnd(f)
	}
	if !n.firstBytes()[c] {
		return stepFail
	}
	if n.unique && (n.kind == kNull || n.kind == kBoolean) { // among unique items (uniqueUnion)
		f.hash = literalKey(c)
		if f.seen.has(f.hash) {
			return stepFail
		}
	}
	f.mode = mLit
	f.lit = jsonState{objectTop: n.kind == kAnyObject, tight: true, compact: s.compact, longDigits: n.bounded}
	f.frac = -1
	return s.step(f, c, false)
}

// enumEnd ends an enum value once every candidate left is whole.
func (s *schemaState) enumEnd(f *schemaFrame) int {
	for m := f.cand; m != 0; m &= m - 1 {
		if len(f.node.enum[bits.TrailingZeros64(m)]) > int(f.off) {
			return stepOK
		}
	}
	return stepDone
}

func okIf(ok bool) int {
	if ok {
		return stepOK
	}
	return stepFail
}

func doneIf(ok bool) int {
	if ok {
		return stepDone
	}
	return stepFail
}

// nextKeys are the properties that may follow property last, those in
// used written: those after it, up to the first one needed (a required
// property, or one a written property requires, cannot be skipped), and
// of them only those whose own requirements before them are written.
func (n *schemaNode) nextKeys(last, count int, used uint64) uint64 {
	if n.keyAt != nil {
		return allEnum(len(n.props)) // any object's first key
	}
	needed := n.needed(used)
	var m uint64
	for i := last + 1; i < len(n.props); i++ {
		if n.keyFits(i, count, used) && (n.deps == nil || n.deps[i]&(1<<i-1)&^used == 0) {
			m |= 1 << i
		}
		if n.props[i].required || needed&(1<<i) != 0 {
			break
		}
	}
	return m
}

// needed is the properties that must be written: the required ones and
// those the written ones (used) require.
func (n *schemaNode) needed(used uint64) uint64 {
	var m uint64
	for i, p := range n.props {
		if p.required {
			m |= 1 << i
		}
	}
	if n.deps != nil {
		for u := used; u != 0; u &= u - 1 {
			m |= n.deps[bits.TrailingZeros64(u)]
		}
	}
	return m
}

// keyFits says whether property i may be written after count others
// (used) under minProperties and maxProperties: the properties needed
// after it must still fit below the maximum, and enough properties must
// follow it to reach the minimum.
func (n *schemaNode) keyFits(i, count int, used uint64) bool {
	if !n.propBounded {
		return true
	}
	if count+1+len(n.props)-i-1 < n.propMin {
		return false
	}
	if n.propMax < 0 {
		return true
	}
	after := n.needed(used|1<<i) &^ (1<<(i+1) - 1)
	return count+1+bits.OnesCount64(after) <= n.propMax
}

// mayClose says whether the object may end after property last, count
// properties written (used).
func (n *schemaNode) mayClose(last, count int, used uint64) bool {
	if n.needed(used)&^(1<<(last+1)-1) != 0 {
		return false
	}
	return !n.propBounded || count >= n.propMin
}

// wide says whether object n has more properties than a bit set holds
// (maxSchemaProps; a tool's config, a linter's rules). Its keys are
// judged by index, in a scan of the properties that may follow
// (wideMatch), which needs no dependentRequired between them; it is
// never joined with other objects.
func (n *schemaNode) wide() bool {
	return n.kind == kObject && len(n.props) > maxSchemaProps
}

// What wideMatch asks of the byte after the key so far.
const (
	anyByte  = -2 // any (the key's first byte is still to come)
	nameEnds = -1 // none: the name ends there
)

// wideMatch is the first property of wide object frame f that may be
// written next and whose name starts with prefix and then byte next
// (anyByte, nameEnds: as they say), -1 if none. Those that may be written
// next are nextKeys': after the last one written, up to the first
// required one, where minProperties and maxProperties leave room.
func (n *schemaNode) wideMatch(f *schemaFrame, prefix string, next int) int {
	end, required := len(n.props), 0 // past the first required property after last; how many follow last
	for i := int(f.last) + 1; i < len(n.props); i++ {
		if n.props[i].required {
			if required == 0 {
				end = i + 1
			}
			required++
		}
	}
	count := int(f.count)
	for i := int(f.last) + 1; i < end; i++ {
		name := n.props[i].name
		switch {
		case len(name) < len(prefix) || name[:len(prefix)] != prefix:
			continue
		case next == nameEnds && len(name) != len(prefix):
			continue
		case next >= 0 && (len(name) == len(prefix) || name[len(prefix)] != byte(next)):
			continue
		}
		if !n.propBounded {
			return i
		}
		after := required // required properties after i
		if n.props[i].required {
			after--
		}
		if count+len(n.props)-i >= n.propMin && (n.propMax < 0 || count+1+after <= n.propMax) {
			return i
		}
	}
	return -1
}

// wideCloses says whether wide object frame f may end (mayClose).
func (n *schemaNode) wideCloses(f *schemaFrame) bool {
	for _, p := range n.props[f.last+1:] {
		if p.required {
			return false
		}
	}
	return !n.propBounded || int(f.count) >= n.propMin
}

// setDeps works out deps from the properties' requires.
func (n *schemaNode) setDeps() {
	n.deps = nil
	for i, p := range n.props {
		for _, r := range p.requires {
			j := slices.IndexFunc(n.props, func(q schemaProp) bool { return q.name == r })
			if j < 0 {
				continue // compiled out: the property requiring it is too
			}
			if n.deps == nil {
				n.deps = make([]uint64, len(n.props))
			}
			n.deps[i] |= 1 << j
		}
	}
}

var valueStarts = func() (t [256]bool) {
	for _, c := range []byte(`{["-0123456789tfn`) {
		t[c] = true
	}
	return t
}()

var anySchema = &schemaNode{kind: kAny}

// arrayItem stands for an item of joined arrays until its first byte
// (pickItem); its kind, a union's, starts no value of its own.
var arrayItem = &schemaNode{kind: kUnion}

// allEnum is the set of all n values of an enum.
func allEnum(n int) uint64 {
	if n >= 64 {
		return ^uint64(0)
	}
	return 1<<n - 1
}

// firstBytes are the bytes a value of n can start with.
func (n *schemaNode) firstBytes() (t [256]bool) {
	switch n.kind {
	case kAny:
		return valueStarts
	case kAnyObject, kObject, kMap:
		t['{'] = true
	case kArray:
		t['['] = true
	case kString:
		t['"'] = true
	case kInteger, kNumber:
		for _, c := range []byte("-0123456789") {
			t[c] = true
		}
	case kBoolean:
		t['t'], t['f'] = true, true
	case kNull:
		t['n'] = true
	case kEnum:
		for _, v := range n.enum {
			t[v[0]] = true
		}
	case kUnion:
		for c, a := range n.first {
			t[c] = a >= 0
		}
	}
	return t
}
