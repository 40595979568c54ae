package sample

import (
	"errors"
	"fmt"
	"iter"
	"regexp/syntax"
	"strings"
	"unicode"
	"unicode/utf8"
)

// CompileRegex compiles a regular expression (Go's RE2 syntax, which
// covers what vLLM's guided_regex patterns use) into a grammar that the
// whole output must match, as vLLM's guided_regex requires. Anchors (^,
// $, \A, \z) change nothing at the pattern's ends and hold where they
// stand inside it ((?:^|x)y: y or xy; anchoredMatch); word boundaries
// and multi-line anchors cannot be enforced one character at a time and
// are refused.
func CompileRegex(pattern string) (*Grammar, error) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrGrammar, err)
	}
	re = re.Simplify()
	if core, _, _ := splitAnchors(re); !hasAnchor(core) {
		return regexGrammar(core)
	}
	whole, err := anchoredMatch(re) // anchors inside: held where they stand
	if err != nil {
		return nil, err
	}
	if whole.Op == syntax.OpNoMatch {
		return nil, fmt.Errorf("%w: %w: its anchors hold nowhere, so it matches no text", ErrGrammar, errNoValue)
	}
	return regexGrammar(whole)
}

// compileSearch compiles a regular expression that matches a string
// where it matches any part of it, as JSON Schema's pattern does (ECMA
// 262's search): unless the pattern (or an alternative of the whole
// pattern: ^a|b$ is a at the start or b at the end) starts with ^ (or
// \A) any text may come before its match, and unless it ends with $ (or
// \z) any text may follow. The pattern is ECMA-262's (ecmaToRE2), as JSON
// Schema says.
func compileSearch(pattern string) (*Grammar, error) {
	return compileSearchMarked(pattern, false)
}

// compileSearchMarked is compileSearch, the lookaheads' marker
// characters read as markers where markers is set.
func compileSearchMarked(pattern string, markers bool) (*Grammar, error) {
	anyText := func() *syntax.Regexp {
		return &syntax.Regexp{Op: syntax.OpStar, Sub: []*syntax.Regexp{{Op: syntax.OpAnyChar}}}
	}
	// Each alternative is parsed apart: RE2's parser would factor their
	// common prefixes (ab$|a to a(?:b$|)), leaving an anchor inside.
	var branches []*syntax.Regexp
	for _, alt := range topAlternatives(pattern) {
		src, err := ecmaToRE2(alt)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrGrammar, err)
		}
		re, err := syntax.Parse(src, syntax.Perl)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrGrammar, err)
		}
		re = re.Simplify()
		core, start, end := splitAnchors(re)
		if hasAnchor(core) {
			search, err := anchoredSearch(re) // anchors inside (^|\s)
			if err != nil {
				return nil, err
			}
			if search.Op != syntax.OpNoMatch {
				branches = append(branches, search)
			}
			continue
		}
		var subs []*syntax.Regexp
		if !start {
			subs = append(subs, anyText())
		}
		subs = append(subs, core)
		if !end {
			subs = append(subs, anyText())
		}
		branches = append(branches, &syntax.Regexp{Op: syntax.OpConcat, Sub: subs})
	}
	switch len(branches) {
	case 0:
		return nil, fmt.Errorf("%w: %w: its anchors hold nowhere, so it matches no text", ErrGrammar, errNoValue)
	case 1:
		return regexGrammarMarked(branches[0], markers)
	}
	return regexGrammarMarked(&syntax.Regexp{Op: syntax.OpAlternate, Sub: branches}, markers)
}

// topAlternatives splits an ECMA-262 pattern at the | outside any group
// or character class.
func topAlternatives(src string) []string {
	var out []string
	from := 0
	for j, depth := range patternBytes(src, 0) {
		if src[j] == '|' && depth == 0 {
			out = append(out, src[from:j])
			from = j + 1
		}
	}
	return append(out, src[from:])
}

// patternTexts compiles a JSON Schema pattern into the automata a
// string's text must satisfy: the pattern's, and one for each lookahead
// it opens with (^(?=A) and ^(?!A): A matching at the text's start, or
// not), which RE2 has not, as pydantic's Decimal writes
// ^(?!^[-+.]*$)[+-]?0*\d*\.?\d*$, or holds further in after a part of
// fixed length (^\+(?!0)\d+$), and one for each lookbehind it ends with
// ((?<=A)$ and (?<!A)$: the text ending in a match of A, or not;
// ^(?![-.])[a-z.-]+(?<![-.])$). Lookaround anywhere else stays refused.
func patternTexts(src string) ([]*stringDFA, error) {
	rest, aheads, err := splitLookaheads(src)
	if err != nil {
		return nil, err
	}
	var out []*stringDFA
	if i := lookaroundAt(rest); i >= 0 {
		// Lookaheads further in: one automaton of the pattern and them.
		d, err := lookaheadTexts(rest)
		if err != nil {
			return nil, fmt.Errorf("%w: lookaround at %q: %w", ErrGrammar, rest[i:min(len(rest), i+8)], err)
		}
		out = append(out, d)
	} else {
		g, err := compileSearch(rest)
		if err != nil {
			return nil, err
		}
		out = append(out, newStringDFA(g))
	}
	for _, a := range aheads {
		src, what := "^(?:"+a.body+")", "lookahead"
		if a.behind {
			src, what = "(?:"+a.body+")$", "lookbehind"
		}
		g, err := compileSearch(src)
		if err != nil {
			return nil, fmt.Errorf("%s (%s): %w", what, a.body, err)
		}
		if !a.negate {
			out = append(out, newStringDFA(g))
			continue
		}
		d := newNegatedDFA(g)
		if d == nil {
			return nil, fmt.Errorf("%w: the lookahead (?!%s) refuses every text", ErrGrammar, a.body)
		}
		out = append(out, d)
	}
	return out, nil
}

// texts are the automata of a pattern, or of the texts a not's pattern
// refuses (one automaton: the complement of the pattern's, which must
// not open with lookaheads).
func (p patternItem) texts() ([]*stringDFA, error) {
	if !p.negate {
		return patternTexts(p.src)
	}
	if i := lookaroundAt(p.src); i >= 0 {
		return nil, fmt.Errorf("%w: not of a pattern with lookaround: not supported", ErrGrammar)
	}
	g, err := compileSearch(p.src)
	if errors.Is(err, errNoValue) {
		return nil, nil // the pattern matches no text: not of it, every one
	}
	if err != nil {
		return nil, err
	}
	d := newNegatedDFA(g)
	if d == nil {
		return nil, fmt.Errorf("%w: %w: the pattern matches every text, so not leaves none", ErrGrammar, errNoValue)
	}
	return []*stringDFA{d}, nil
}

// lookahead is a lookaround the pattern opens with, or (behind) one it
// ends with before its $.
type lookahead struct {
	body           string
	negate, behind bool
}

// splitLookaheads takes the lookaheads off the start of an ECMA-262
// pattern that opens with ^ and them, and the lookbehinds off the end of
// one that ends with them and $: ^(?=A)(?!B)C(?<!D)$ is ^C$, A and not
// B at the start, and not D at the end.
func splitLookaheads(src string) (string, []lookahead, error) {
	if len(topAlternatives(src)) > 1 {
		// ^(?=A)B|C: the lookahead holds for B's alternative alone.
		return src, nil, nil
	}
	var out []lookahead
	rest := src
	// Lookaheads at the start, or further in after a part of fixed length
	// k (^\+(?!0)\d+): at the start, the same ones k characters on.
	for strings.HasPrefix(rest, "^") {
		at := topLookahead(rest)
		if at < 0 {
			break
		}
		k, ok := fixedLength(rest[1:at])
		if !ok {
			break // refused by lookaroundAt
		}
		end, err := groupEnd(rest, at)
		if err != nil {
			return "", nil, err
		}
		body := rest[at+3 : end-1]
		if k > 0 {
			body = fmt.Sprintf(`[\s\S]{%d}(?:%s)`, k, body)
		}
		out = append(out, lookahead{body: body, negate: rest[at+2] == '!'})
		rest = rest[:at] + rest[end:]
	}
	// Lookbehinds right before the closing $, the last first: where the
	// text ends whatever matched before them.
	for strings.HasSuffix(rest, ")$") {
		open := lastGroupOpen(rest[:len(rest)-1])
		if open < 0 || !strings.HasPrefix(rest[open:], "(?<=") && !strings.HasPrefix(rest[open:], "(?<!") {
			break
		}
		out = append(out, lookahead{body: rest[open+4 : len(rest)-2], negate: rest[open+3] == '!', behind: true})
		rest = rest[:open] + "$"
	}
	return rest, out, nil
}

// topLookahead is the index of the first lookahead group outside any
// group or character class of an ECMA-262 pattern, -1 where none is.
func topLookahead(src string) int {
	for j, depth := range patternBytes(src, 0) {
		if depth == 0 && (strings.HasPrefix(src[j:], "(?=") || strings.HasPrefix(src[j:], "(?!")) {
			return j
		}
	}
	return -1
}

// fixedLength is the number of characters every match of the ECMA-262
// pattern src takes, where that is one number.
func fixedLength(src string) (int, bool) {
	re2, err := ecmaToRE2(src)
	if err != nil {
		return 0, false
	}
	re, err := syntax.Parse(re2, syntax.Perl)
	if err != nil {
		return 0, false
	}
	var walk func(re *syntax.Regexp) (int, bool)
	walk = func(re *syntax.Regexp) (int, bool) {
		switch re.Op {
		case syntax.OpEmptyMatch:
			return 0, true
		case syntax.OpLiteral:
			return len(re.Rune), true
		case syntax.OpCharClass, syntax.OpAnyChar, syntax.OpAnyCharNotNL:
			return 1, true
		case syntax.OpCapture:
			return walk(re.Sub[0])
		case syntax.OpRepeat:
			n, ok := walk(re.Sub[0])
			return n * re.Min, ok && re.Min == re.Max
		case syntax.OpConcat:
			total := 0
			for _, sub := range re.Sub {
				n, ok := walk(sub)
				if !ok {
					return 0, false
				}
				total += n
			}
			return total, true
		case syntax.OpAlternate:
			first, ok := walk(re.Sub[0])
			for _, sub := range re.Sub[1:] {
				n, okSub := walk(sub)
				ok = ok && okSub && n == first
			}
			return first, ok
		}
		return 0, false // repetitions of any count, anchors
	}
	return walk(re)
}

// lastGroupOpen is the index of the parenthesis that opens the group
// src ends with (src's last byte its closing parenthesis), escapes and
// character classes skipped; -1 where none does.
func lastGroupOpen(src string) int {
	var opens []int
	for j := range patternBytes(src, 0) {
		switch src[j] {
		case '(':
			opens = append(opens, j)
		case ')':
			if len(opens) == 0 {
				return -1
			}
			if j == len(src)-1 {
				return opens[len(opens)-1]
			}
			opens = opens[:len(opens)-1]
		}
	}
	return -1
}

// lookaroundAt is the index of the first lookahead or lookbehind group
// in an ECMA-262 pattern, escapes and character classes skipped; -1
// where there is none.
func lookaroundAt(src string) int {
	for j := range patternBytes(src, 0) {
		for _, p := range []string{"(?=", "(?!", "(?<=", "(?<!"} {
			if strings.HasPrefix(src[j:], p) {
				return j
			}
		}
	}
	return -1
}

// groupEnd is the index just past the parenthesis that closes the group
// opening at src[open], escapes and character classes skipped.
func groupEnd(src string, open int) (int, error) {
	for j, depth := range patternBytes(src, open) {
		if src[j] == ')' && depth == 0 {
			return j + 1, nil
		}
	}
	return 0, fmt.Errorf("%w: unbalanced parenthesis in %q", ErrGrammar, src)
}

// patternBytes yields the index of each byte of an ECMA-262 pattern from
// from on that is not escaped or inside a character class, with the
// depth of groups around it (an opening parenthesis at its outer depth,
// a closing one at the depth it returns to).
func patternBytes(src string, from int) iter.Seq2[int, int] {
	return func(yield func(int, int) bool) {
		depth, inClass := 0, false
		for j := from; j < len(src); j++ {
			switch c := src[j]; {
			case c == '\\':
				j++ // the escaped byte (a UTF-8 continuation byte is never one of these)
				continue
			case inClass:
				inClass = c != ']'
				continue
			case c == '[':
				inClass = true
				continue
			case c == ')':
				depth--
			}
			if !yield(j, depth) {
				return
			}
			if src[j] == '(' {
				depth++
			}
		}
	}
}

// regexGrammar lowers a parsed expression, anchors taken off.
func regexGrammar(re *syntax.Regexp) (*Grammar, error) {
	return regexGrammarMarked(re, false)
}

func regexGrammarMarked(re *syntax.Regexp, markers bool) (*Grammar, error) {
	b := &gbuild{markers: markers}
	root := b.newRule("root")
	seq, err := regexSeq(b, re)
	if err != nil {
		return nil, err
	}
	if err := b.define(root, [][]gElem{seq}); err != nil {
		return nil, err
	}
	return b.finish(root)
}

// splitAnchors takes ^ and \A off the start and $ and \z off the end of
// the pattern and says which it found.
func splitAnchors(re *syntax.Regexp) (core *syntax.Regexp, start, end bool) {
	isStart := func(r *syntax.Regexp) bool { return r.Op == syntax.OpBeginText }
	isEnd := func(r *syntax.Regexp) bool { return r.Op == syntax.OpEndText }
	if isStart(re) || isEnd(re) {
		return &syntax.Regexp{Op: syntax.OpEmptyMatch}, isStart(re), isEnd(re)
	}
	if re.Op != syntax.OpConcat {
		return re, false, false
	}
	subs := re.Sub
	for len(subs) > 0 && isStart(subs[0]) {
		subs, start = subs[1:], true
	}
	for len(subs) > 0 && isEnd(subs[len(subs)-1]) {
		subs, end = subs[:len(subs)-1], true
	}
	c := *re
	c.Sub = subs
	return &c, start, end
}

// regexSeq lowers re to a run of grammar elements.
func regexSeq(b *gbuild, re *syntax.Regexp) ([]gElem, error) {
	switch re.Op {
	case syntax.OpNoMatch:
		return []gElem{charsElem(nil)}, nil
	case syntax.OpEmptyMatch:
		return nil, nil
	case syntax.OpLiteral:
		var seq []gElem
		for _, r := range re.Rune {
			if b.markers && r >= markerChar && r < markerChar+maxLookaheads {
				m := lookMarker(int(r - markerChar))
				seq = append(seq, charsElem([]runeRange{{m, m}}))
				continue
			}
			rs := []runeRange{{r, r}}
			if re.Flags&syntax.FoldCase != 0 {
				for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
					rs = append(rs, runeRange{f, f})
				}
				rs = normalize(rs, false)
			}
			seq = append(seq, charsElem(rs))
		}
		return seq, nil
	case syntax.OpCharClass:
		var rs []runeRange
		for i := 0; i+1 < len(re.Rune); i += 2 {
			rs = append(rs, runeRange{re.Rune[i], re.Rune[i+1]})
		}
		return []gElem{charsElem(normalize(rs, false))}, nil
	case syntax.OpAnyCharNotNL:
		return []gElem{charsElem([]runeRange{{0, '\n' - 1}, {'\n' + 1, utf8.MaxRune}})}, nil
	case syntax.OpAnyChar:
		return []gElem{charsElem([]runeRange{{0, utf8.MaxRune}})}, nil
	case syntax.OpCapture:
		return regexSeq(b, re.Sub[0])
	case syntax.OpConcat:
		var seq []gElem
		for _, s := range re.Sub {
			part, err := regexSeq(b, s)
			if err != nil {
				return nil, err
			}
			seq = append(seq, part...)
		}
		return seq, nil
	case syntax.OpAlternate:
		var alts [][]gElem
		for _, s := range re.Sub {
			part, err := regexSeq(b, s)
			if err != nil {
				return nil, err
			}
			alts = append(alts, part)
		}
		ref, err := b.group(fmt.Sprintf("alt_%d", len(b.rules)), alts)
		return []gElem{ref}, err
	case syntax.OpStar, syntax.OpPlus, syntax.OpQuest, syntax.OpRepeat:
		if re.Op != syntax.OpQuest && nullable(re.Sub[0]) {
			// A repeated rule that can match nothing reaches itself before
			// any character. X* and X+ are (X without the empty string)*,
			// X{m,n} is that {0,n}: the empty copies only pad the count.
			c := *re
			c.Op, c.Min = syntax.OpStar, 0
			if re.Op == syntax.OpRepeat {
				c.Op = syntax.OpRepeat
			}
			if c.Sub = []*syntax.Regexp{nonEmpty(re.Sub[0])}; c.Sub[0] == nil {
				return nil, nil
			}
			re = &c
		}
		sub, err := regexSeq(b, re.Sub[0])
		if err != nil {
			return nil, err
		}
		lo, hi := 0, -1
		switch re.Op {
		case syntax.OpPlus:
			lo = 1
		case syntax.OpQuest:
			hi = 1
		case syntax.OpRepeat:
			lo, hi = re.Min, re.Max
		}
		return b.repeat(fmt.Sprintf("repeat_%d", len(b.rules)), sub, lo, hi)
	case syntax.OpBeginText, syntax.OpEndText:
		return nil, fmt.Errorf("%w: anchors (^, $, \\A, \\z) only at the start or end of the pattern", ErrGrammar)
	}
	return nil, fmt.Errorf("%w: %s cannot be enforced while generating (word boundaries and multi-line anchors are not supported)", ErrGrammar, re)
}

// alternation is the alternatives alts, nil when there are none.
func alternation(flags syntax.Flags, alts []*syntax.Regexp) *syntax.Regexp {
	switch len(alts) {
	case 0:
		return nil
	case 1:
		return alts[0]
	}
	return &syntax.Regexp{Op: syntax.OpAlternate, Flags: flags, Sub: alts}
}

// nullable says whether re matches the empty string (zero-width assertions
// count as matching it).
func nullable(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpNoMatch, syntax.OpCharClass, syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return false
	case syntax.OpLiteral:
		return len(re.Rune) == 0
	case syntax.OpCapture, syntax.OpPlus:
		return nullable(re.Sub[0])
	case syntax.OpRepeat:
		return re.Min == 0 || nullable(re.Sub[0])
	case syntax.OpConcat:
		for _, s := range re.Sub {
			if !nullable(s) {
				return false
			}
		}
		return true
	case syntax.OpAlternate:
		for _, s := range re.Sub {
			if nullable(s) {
				return true
			}
		}
		return false
	}
	return true // empty match, star, quest, assertions
}

// nonEmpty returns an expression for the non-empty strings re matches, nil
// when there are none. Assertions are kept as they are, so that lowering
// still refuses them where it would have.
func nonEmpty(re *syntax.Regexp) *syntax.Regexp {
	with := func(op syntax.Op, min, max int, subs ...*syntax.Regexp) *syntax.Regexp {
		return &syntax.Regexp{Op: op, Flags: re.Flags, Min: min, Max: max, Sub: subs}
	}
	switch re.Op {
	case syntax.OpEmptyMatch:
		return nil
	case syntax.OpLiteral:
		if len(re.Rune) == 0 {
			return nil
		}
		return re
	case syntax.OpNoMatch, syntax.OpCharClass, syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return re
	case syntax.OpCapture, syntax.OpQuest:
		return nonEmpty(re.Sub[0])
	case syntax.OpStar, syntax.OpPlus:
		if re.Op == syntax.OpPlus && !nullable(re.Sub[0]) {
			return re
		}
		if s := nonEmpty(re.Sub[0]); s != nil {
			return with(syntax.OpPlus, 0, 0, s)
		}
		return nil
	case syntax.OpRepeat:
		if re.Max == 0 {
			return nil
		}
		if !nullable(re.Sub[0]) {
			return with(syntax.OpRepeat, max(re.Min, 1), re.Max, re.Sub[0])
		}
		if s := nonEmpty(re.Sub[0]); s != nil {
			return with(syntax.OpRepeat, 1, re.Max, s)
		}
		return nil
	case syntax.OpAlternate:
		var alts []*syntax.Regexp
		for _, s := range re.Sub {
			if s := nonEmpty(s); s != nil {
				alts = append(alts, s)
			}
		}
		return alternation(re.Flags, alts)
	case syntax.OpConcat:
		if !nullable(re) {
			return re
		}
		// Every part can be empty: a non-empty match has a first part that
		// is not, the parts before it empty.
		var alts []*syntax.Regexp
		for i, s := range re.Sub {
			if s := nonEmpty(s); s != nil {
				alts = append(alts, with(syntax.OpConcat, 0, 0, append([]*syntax.Regexp{s}, re.Sub[i+1:]...)...))
			}
		}
		return alternation(re.Flags, alts)
	}
	return re // assertions
}
