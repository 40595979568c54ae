package sample

import (
	"fmt"
	"regexp/syntax"
)

// Anchors inside a pattern ((^|\s)#\w+, a(?:b|$)) hold where ECMA-262
// says, without the m flag: ^ only where nothing of the text is before
// it, $ only where nothing is after it. A grammar has no positions to
// test, so such a pattern is rewritten without them. For an expression
// R, and whether ^ may hold where its match starts (s) and $ where it
// ends (e), anchorSplit works out whether R can match the empty text
// there (empty) and an expression of its nonempty matches (nonempty):
// inside a nonempty match ^ can hold only before its first character
// and $ only after its last, so each part of a concatenation learns
// from its neighbours whether they took any text.

// anchorCase is a node's answer for one (s, e).
type anchorCase struct {
	empty    bool
	nonempty *syntax.Regexp
}

type anchorSplit struct {
	memo map[*syntax.Regexp]*[4]anchorCase
}

// hasAnchor says whether re holds a ^ or $ (\A, \z) anywhere.
func hasAnchor(re *syntax.Regexp) bool {
	if re.Op == syntax.OpBeginText || re.Op == syntax.OpEndText {
		return true
	}
	for _, s := range re.Sub {
		if hasAnchor(s) {
			return true
		}
	}
	return false
}

// anchoredMatch is an expression without anchors of the texts re
// matches whole, its anchors held where they stand (^a|b$ matches a and
// b whole; a$b nothing).
func anchoredMatch(re *syntax.Regexp) (*syntax.Regexp, error) {
	a := &anchorSplit{memo: map[*syntax.Regexp]*[4]anchorCase{}}
	c, err := a.of(re, true, true)
	if err != nil {
		return nil, err
	}
	return orEmpty(c), nil
}

// anchoredSearch is an expression without anchors of the texts in which
// re finds a match (JSON Schema's pattern): the match is the whole text,
// or has text before it (where no ^ of it holds), after it (where no $
// does), or both.
func anchoredSearch(re *syntax.Regexp) (*syntax.Regexp, error) {
	a := &anchorSplit{memo: map[*syntax.Regexp]*[4]anchorCase{}}
	some := func() *syntax.Regexp {
		return &syntax.Regexp{Op: syntax.OpPlus, Sub: []*syntax.Regexp{{Op: syntax.OpAnyChar}}}
	}
	var alts []*syntax.Regexp
	for _, c := range []struct {
		s, e          bool
		before, after bool
	}{{true, true, false, false}, {false, true, true, false}, {true, false, false, true}, {false, false, true, true}} {
		m, err := a.of(re, c.s, c.e)
		if err != nil {
			return nil, err
		}
		var parts []*syntax.Regexp
		if c.before {
			parts = append(parts, some())
		}
		parts = append(parts, orEmpty(m))
		if c.after {
			parts = append(parts, some())
		}
		alts = append(alts, concatOf(parts...))
	}
	return altOf(alts...), nil
}

// orEmpty is the expression of a case's matches, the empty one among
// them where it has it.
func orEmpty(c anchorCase) *syntax.Regexp {
	if c.empty {
		return altOf(&syntax.Regexp{Op: syntax.OpEmptyMatch}, c.nonempty)
	}
	return c.nonempty
}

func (a *anchorSplit) of(re *syntax.Regexp, s, e bool) (anchorCase, error) {
	k := boolInt(s)*2 + boolInt(e)
	if m, ok := a.memo[re]; ok && m[k].nonempty != nil {
		return m[k], nil
	}
	c, err := a.split(re, s, e)
	if err != nil {
		return anchorCase{}, err
	}
	if a.memo[re] == nil {
		a.memo[re] = new([4]anchorCase)
	}
	a.memo[re][k] = c
	return c, nil
}

func (a *anchorSplit) split(re *syntax.Regexp, s, e bool) (anchorCase, error) {
	none := &syntax.Regexp{Op: syntax.OpNoMatch}
	switch re.Op {
	case syntax.OpNoMatch:
		return anchorCase{false, none}, nil
	case syntax.OpEmptyMatch:
		return anchorCase{true, none}, nil
	case syntax.OpBeginText:
		return anchorCase{s, none}, nil
	case syntax.OpEndText:
		return anchorCase{e, none}, nil
	case syntax.OpLiteral:
		return anchorCase{len(re.Rune) == 0, re}, nil
	case syntax.OpCharClass, syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return anchorCase{false, re}, nil
	case syntax.OpCapture:
		return a.of(re.Sub[0], s, e)
	case syntax.OpQuest:
		c, err := a.of(re.Sub[0], s, e)
		return anchorCase{true, c.nonempty}, err
	case syntax.OpAlternate:
		out := anchorCase{false, none}
		var alts []*syntax.Regexp
		for _, sub := range re.Sub {
			c, err := a.of(sub, s, e)
			if err != nil {
				return anchorCase{}, err
			}
			out.empty = out.empty || c.empty
			alts = append(alts, c.nonempty)
		}
		out.nonempty = altOf(alts...)
		return out, nil
	case syntax.OpStar, syntax.OpPlus:
		// Empty rounds change nothing and are left out; of the nonempty
		// ones, only the first may start where ^ holds, the last end
		// where $ does.
		sub := re.Sub[0]
		whole, err := a.of(sub, s, e)
		if err != nil {
			return anchorCase{}, err
		}
		first, err := a.of(sub, s, false)
		if err != nil {
			return anchorCase{}, err
		}
		mid, err := a.of(sub, false, false)
		if err != nil {
			return anchorCase{}, err
		}
		last, err := a.of(sub, false, e)
		if err != nil {
			return anchorCase{}, err
		}
		many := concatOf(first.nonempty, &syntax.Regexp{Op: syntax.OpStar, Sub: []*syntax.Regexp{mid.nonempty}}, last.nonempty)
		if mid.nonempty.Op == syntax.OpNoMatch {
			many = concatOf(first.nonempty, last.nonempty)
		}
		empty := re.Op == syntax.OpStar || whole.empty
		return anchorCase{empty, altOf(whole.nonempty, many)}, nil
	case syntax.OpConcat:
		return a.concat(re.Sub, s, e)
	}
	return anchorCase{}, fmt.Errorf("%w: %v inside a pattern with anchors inside it is not supported", ErrGrammar, re.Op)
}

// concat splits the concatenation of subs: its empty match needs each
// part's; a nonempty one is a nonempty head with an empty tail, an empty
// head with a nonempty tail, or both nonempty. The tails are worked out
// from the right, for ^ holding at their start or not.
func (a *anchorSplit) concat(subs []*syntax.Regexp, s, e bool) (anchorCase, error) {
	none := &syntax.Regexp{Op: syntax.OpNoMatch}
	next := [2]anchorCase{{true, none}, {true, none}} // the empty tail
	for i := len(subs) - 1; i >= 0; i-- {
		var cur [2]anchorCase
		for si, sv := range []bool{false, true} {
			whole, err := a.of(subs[i], sv, e) // the tail empty: the head ends the match
			if err != nil {
				return anchorCase{}, err
			}
			open, err := a.of(subs[i], sv, false) // text follows the head
			if err != nil {
				return anchorCase{}, err
			}
			var alts []*syntax.Regexp
			if next[0].empty {
				alts = append(alts, whole.nonempty)
			}
			if open.empty {
				alts = append(alts, next[si].nonempty)
			}
			alts = append(alts, concatOf(open.nonempty, next[0].nonempty))
			cur[si] = anchorCase{whole.empty && next[si].empty, altOf(alts...)}
		}
		next = cur
	}
	return next[boolInt(s)], nil
}

// altOf is the alternation of xs, those that match nothing left out.
func altOf(xs ...*syntax.Regexp) *syntax.Regexp {
	var keep []*syntax.Regexp
	for _, x := range xs {
		if x.Op != syntax.OpNoMatch {
			keep = append(keep, x)
		}
	}
	return joinOf(syntax.OpAlternate, syntax.OpNoMatch, keep)
}

// concatOf is the concatenation of xs: nothing where one matches
// nothing.
func concatOf(xs ...*syntax.Regexp) *syntax.Regexp {
	var keep []*syntax.Regexp
	for _, x := range xs {
		switch x.Op {
		case syntax.OpNoMatch:
			return x
		case syntax.OpEmptyMatch:
			continue
		}
		keep = append(keep, x)
	}
	return joinOf(syntax.OpConcat, syntax.OpEmptyMatch, keep)
}

// joinOf is op over subs: unit where there are none, the one alone.
func joinOf(op, unit syntax.Op, subs []*syntax.Regexp) *syntax.Regexp {
	switch len(subs) {
	case 0:
		return &syntax.Regexp{Op: unit}
	case 1:
		return subs[0]
	}
	return &syntax.Regexp{Op: op, Sub: subs}
}
