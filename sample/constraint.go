package sample

import "errors"

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
// are empty, and a constraint refuses empty tokens.
type Vocab [][]byte

// NewJSON returns a constraint to one JSON value (RFC 8259), an object
// when object is set (OpenAI's response_format json_object). The value
// starts at once, a whitespace run holds one line break and at most 24
// bytes, and nesting stops at 64 levels: a model may indent, but not pad
// without end.
func NewJSON(v Vocab, object bool) Constraint {
	return &jsonConstraint{v: v, st: jsonState{objectTop: object, tight: true}}
}

type jsonConstraint struct {
	v  Vocab
	st jsonState
}

func (c *jsonConstraint) Allows(tok int32) bool {
	if tok < 0 || int(tok) >= len(c.v) || len(c.v[tok]) == 0 {
		return false
	}
	st := c.st
	return st.feed(c.v[tok])
}

func (c *jsonConstraint) Accept(tok int32) {
	if tok >= 0 && int(tok) < len(c.v) {
		c.st.feed(c.v[tok])
	}
}

func (c *jsonConstraint) Complete() bool { return c.st.complete() }
