package sample

import (
	"fmt"
	"slices"
	"sort"
)

// maxChoices bounds a choice constraint's list.
const maxChoices = 4096

// NewChoice returns a constraint to exactly one of choices, written as
// is (vLLM's guided_choice). Where one choice is a prefix of another, the
// model may end after the shorter with an end token of v; a choice that
// no other continues ends the sequence as soon as it is written.
func NewChoice(v *Vocab, choices []string) (Constraint, error) {
	set, err := CompileChoices(choices)
	if err != nil {
		return nil, err
	}
	return set.Constraint(v), nil
}

// Choices is a sorted choice list, from which each sequence gets its own
// constraint.
type Choices struct{ sorted []string }

// CompileChoices checks and sorts a choice list (1 to 4096 non-empty
// strings; duplicates count once).
func CompileChoices(choices []string) (*Choices, error) {
	if len(choices) == 0 || len(choices) > maxChoices {
		return nil, fmt.Errorf("%w: between 1 and %d choices, got %d", ErrSchema, maxChoices, len(choices))
	}
	c := slices.Clone(choices)
	for _, s := range c {
		if s == "" {
			return nil, fmt.Errorf("%w: an empty choice", ErrSchema)
		}
	}
	sort.Strings(c)
	return &Choices{sorted: slices.Compact(c)}, nil
}

// Constraint returns a fresh constraint to the choices over v.
func (s *Choices) Constraint(v *Vocab) Constraint {
	return &choiceConstraint{v: v, choices: s.sorted, hi: len(s.sorted)}
}

// choiceConstraint matches the choices sharing the text so far: sorted,
// they are the range [lo, hi), and the shortest of them comes first.
type choiceConstraint struct {
	v       *Vocab
	choices []string
	lo, hi  int
	off     int // bytes written
}

type choiceState struct{ lo, hi, off int }

// step narrows st to the choices with byte c at st.off.
func (c *choiceConstraint) step(st *choiceState, b byte) bool {
	lo, hi := st.lo, st.hi
	// Within the range the choices share st.off bytes, so they are sorted
	// by their next byte (a choice that ends sorts first).
	first := lo + sort.Search(hi-lo, func(i int) bool {
		s := c.choices[lo+i]
		return len(s) > st.off && s[st.off] >= b
	})
	last := lo + sort.Search(hi-lo, func(i int) bool {
		s := c.choices[lo+i]
		return len(s) > st.off && s[st.off] > b
	})
	if first >= last {
		return false
	}
	st.lo, st.hi, st.off = first, last, st.off+1
	return true
}

func (c *choiceConstraint) state() choiceState { return choiceState{c.lo, c.hi, c.off} }

// whole says whether a choice ends at st.
func (c *choiceConstraint) whole(st choiceState) bool {
	return st.off > 0 && len(c.choices[st.lo]) == st.off
}

func (c *choiceConstraint) Allows(tok int32) bool {
	if c.v.isEnd(tok) {
		return c.whole(c.state())
	}
	p := c.v.piece(tok)
	if len(p) == 0 {
		return false
	}
	st := c.state()
	for _, b := range p {
		if !c.step(&st, b) {
			return false
		}
	}
	return true
}

func (c *choiceConstraint) Accept(tok int32) {
	st := c.state()
	for _, b := range c.v.piece(tok) {
		if !c.step(&st, b) {
			return
		}
	}
	c.lo, c.hi, c.off = st.lo, st.hi, st.off
}

// Complete: a whole choice that no other continues.
func (c *choiceConstraint) Complete() bool {
	return c.whole(c.state()) && c.hi-c.lo == 1
}
