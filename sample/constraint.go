package sample

import (
	"errors"
	"slices"
	"sync"
	"unicode/utf8"
)

// ErrNoToken is returned when a constraint allows no token of the row.
var ErrNoToken = errors.New("the output constraint allows no token")

// Constraint limits which tokens may come next, as a grammar does. The
// sampler asks it about the token it picked and, only when that one is
// refused (or logprobs are wanted), about every token: llama.cpp's
// grammar-last order, which costs one check a step when the model already
// follows the grammar.
type Constraint interface {
	// Allows says whether tok may come next.
	Allows(tok int32) bool
	// Accept moves past tok, which Allows accepted.
	Accept(tok int32)
	// Complete says whether the output so far is whole: the sequence
	// should end here.
	Complete() bool
}

// Vocab is every token's bytes as the output shows them; control tokens
// are empty, and a constraint refuses empty tokens. It is built once for
// a model and shared by every constraint; its trie is built on first use.
type Vocab struct {
	pieces [][]byte
	ends   []int32 // end-of-generation tokens
	once   sync.Once
	trie   *vocabTrie // every token
	// Inside a JSON string nearly every token passes: between two
	// characters the plain ones (whole UTF-8 characters, no quote,
	// backslash or control byte) always do, so only the rest's trie needs
	// walking there.
	plain    []int32
	plainLen []uint16 // code points of each plain token, by position in plain
	notPlain *vocabTrie
	// hold: the tokens holding a byte, for Triggered (holding)
	holdMu sync.Mutex
	hold   map[byte][]int32
	// texts: each token's text, special tokens' included, for a
	// grammar's <text> elements; built from src (or the pieces) on first
	// use.
	src       TokenSource
	textsOnce sync.Once
	texts     map[string]int32
}

// NewVocab wraps the pieces, indexed by token id (it keeps the slice),
// and the end-of-generation tokens, which a constraint allows where the
// output may end but need not (NewChoice).
func NewVocab(pieces [][]byte, ends ...int32) *Vocab { return &Vocab{pieces: pieces, ends: ends} }

// TokenSource is what VocabFrom reads of a tokenizer.
type TokenSource interface {
	NVocab() int
	Piece(id int32, special bool) ([]byte, error)
	IsEOG(id int32) bool
}

// VocabFrom builds a model's Vocab: each token's text as replies show it
// (control tokens empty; a token that cannot be shown stays empty, which
// no constraint allows) and its end-of-generation tokens.
func VocabFrom(t TokenSource) *Vocab {
	n := t.NVocab()
	pieces := make([][]byte, n)
	var ends []int32
	for id := range int32(n) {
		if p, err := t.Piece(id, false); err == nil {
			pieces[id] = p
		}
		if t.IsEOG(id) {
			ends = append(ends, id)
		}
	}
	v := NewVocab(pieces, ends...)
	v.src = t
	return v
}

// tokenByText is the token whose text, as its special form shows it, is
// text (the lowest id where several are).
func (v *Vocab) tokenByText(text string) (int32, bool) {
	v.textsOnce.Do(func() {
		v.texts = map[string]int32{}
		for id := range int32(len(v.pieces)) {
			p := v.pieces[id]
			if v.src != nil {
				if sp, err := v.src.Piece(id, true); err == nil {
					p = sp
				}
			}
			if _, seen := v.texts[string(p)]; !seen && len(p) > 0 {
				v.texts[string(p)] = id
			}
		}
	})
	id, ok := v.texts[text]
	return id, ok
}

func (v *Vocab) isEnd(tok int32) bool { return slices.Contains(v.ends, tok) }

// Len is the number of tokens.
func (v *Vocab) Len() int { return len(v.pieces) }

// piece is tok's bytes, empty for a control or unknown token.
func (v *Vocab) piece(tok int32) []byte {
	if tok < 0 || int(tok) >= len(v.pieces) {
		return nil
	}
	return v.pieces[tok]
}

// Prepare builds the vocabulary's trie now rather than on its first use.
func (v *Vocab) Prepare() { v.index() }

// index is the vocabulary's trie.
func (v *Vocab) index() *vocabTrie {
	v.once.Do(v.build)
	return v.trie
}

// inString is the plain tokens, their code points, and the trie of the
// others.
func (v *Vocab) inString() ([]int32, []uint16, *vocabTrie) {
	v.once.Do(v.build)
	return v.plain, v.plainLen, v.notPlain
}

func (v *Vocab) build() {
	v.trie = newVocabTrie(v.pieces)
	others := make([][]byte, len(v.pieces))
	for id, p := range v.pieces {
		if len(p) == 0 {
			continue
		}
		if n, ok := plainRunes(p); ok {
			v.plain = append(v.plain, int32(id))
			v.plainLen = append(v.plainLen, uint16(min(n, 65535)))
		} else {
			others[id] = p
		}
	}
	v.notPlain = newVocabTrie(others)
}

// plainRunes says whether p can sit inside a JSON string as it is, between
// two characters, and how many characters it holds: no quote, backslash
// or control byte, and whole characters of well-formed UTF-8.
func plainRunes(p []byte) (int, bool) {
	if !utf8.Valid(p) {
		return 0, false
	}
	n := 0
	for _, c := range p {
		if c < 0x20 || c == '"' || c == '\\' {
			return 0, false
		}
		if c&0xC0 != 0x80 {
			n++
		}
	}
	return n, true
}

// tokenLister is a constraint that can list every token it allows in one
// walk of the vocabulary's trie, faster than asking about each.
type tokenLister interface {
	eachAllowed(allow func(tok int32))
}

// NewJSON returns a constraint to one JSON value (RFC 8259), an object
// when object is set (OpenAI's response_format json_object). The value
// starts at once, a whitespace run holds one line break and at most 24
// bytes, and nesting stops at 64 levels: a model may indent, but not pad
// without end.
func NewJSON(v *Vocab, object bool) Constraint {
	return &jsonConstraint{v: v, st: jsonState{objectTop: object, tight: true}}
}

// NewCompactJSON is NewJSON without whitespace inside the value (vLLM's
// disable_any_whitespace): the output is compact JSON.
func NewCompactJSON(v *Vocab, object bool) Constraint {
	return &jsonConstraint{v: v, st: jsonState{objectTop: object, tight: true, compact: true}}
}

type jsonConstraint struct {
	v     *Vocab
	st    jsonState
	stack []jsonState // the trie walk's states, one a depth
}

func (c *jsonConstraint) Allows(tok int32) bool {
	p := c.v.piece(tok)
	if len(p) == 0 {
		return false
	}
	st := c.st
	return st.feed(p)
}

func (c *jsonConstraint) Accept(tok int32) { c.st.feed(c.v.piece(tok)) }

func (c *jsonConstraint) eachAllowed(allow func(tok int32)) {
	if (c.st.mode == jString || c.st.mode == jKeyString) && c.st.aux == 0 {
		plain, _, rest := c.v.inString()
		for _, tok := range plain {
			allow(tok)
		}
		walkTrie(rest, &c.st, &c.stack, allow)
		return
	}
	walkTrie(c.v.index(), &c.st, &c.stack, allow)
}

func (j *jsonState) copyFrom(src *jsonState) { *j = *src }

func (j *jsonState) stepByte(c byte) bool { return j.step(c) }

func (c *jsonConstraint) Complete() bool { return c.st.complete() }
