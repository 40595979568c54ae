package sample

import (
	"errors"
	"strings"
	"testing"

	"github.com/nuri-ai/nuri/internal/testshared"
)

// TestECMAPatternsGolden runs random patterns as JSON Schema patterns and
// compares with node's ECMA-262 RegExp (testdata/ecma/golden.jsonl, written
// by gen.mjs): the pieces where ECMA-262 and RE2 read the same text
// differently must mean what ECMA-262 says.
func TestECMAPatternsGolden(t *testing.T) {
	checkECMAGolden(t, "golden.jsonl", 400, 5, func(p string) (func(string) bool, error) {
		g, err := compileSearch(p)
		return func(s string) bool { _, whole := grammarMatch(g, s); return whole }, err
	})
}

// Patterns whose alternatives at the top have anchors of their own, to
// node's RegExp (anchors.jsonl, written by anchors.mjs), as searches and
// through their complements, as a not holds a text to them (a text the
// complement refuses is a match); golden.jsonl's through theirs too.
func TestECMAAnchorsGolden(t *testing.T) {
	search := func(p string) (func(string) bool, error) {
		g, err := compileSearch(p)
		return func(s string) bool { _, whole := grammarMatch(g, s); return whole }, err
	}
	checkECMAGolden(t, "anchors.jsonl", 300, 10, search)
	for _, file := range []string{"anchors.jsonl", "golden.jsonl"} {
		checkECMAGolden(t, file, 300, 10, func(p string) (func(string) bool, error) {
			dfas, err := patternItem{src: p, negate: true}.texts()
			if errors.Is(err, errNoValue) {
				// Refused as matching every text: it must, here too.
				return func(string) bool { return true }, nil
			}
			if err != nil {
				return nil, err
			}
			return func(s string) bool { return !dfaWhole(dfas[0], s) }, nil
		})
	}
}

// dfaWhole says whether automaton d takes text s whole.
func dfaWhole(d *stringDFA, s string) bool {
	st := int32(0)
	for j := 0; j < len(s) && st >= 0; j++ {
		st = d.step(st, s[j])
	}
	return st >= 0 && d.accepts(st)
}

// Patterns that open with lookaheads, to node's RegExp (lookahead.jsonl,
// written by lookahead.mjs): each string is held to the pattern's
// automata, the lookaheads' among them, as a string's text is. A pattern
// refused as matching nothing must match nothing there too.
func TestECMALookaheadsGolden(t *testing.T) {
	checkECMAGolden(t, "lookahead.jsonl", 250, 10, patternAutomata)
}

// Patterns with lookaheads inside them (after a part of any length,
// within an alternative, in a repeated group, in a search), to node's
// RegExp (midlook.jsonl, written by midlook.mjs): each string held to the
// pattern's automaton, an alternating one made deterministic.
func TestECMAMidLookaheadsGolden(t *testing.T) {
	checkECMAGolden(t, "midlook.jsonl", 250, 20, patternAutomata)
}

// A lookahead that refuses every character a character's first bytes
// leave refuses the byte that leaves them, not the one after: no dead
// end inside a character.
func TestLookaheadWithinCharacter(t *testing.T) {
	dfas, err := patternTexts(`^(?:(?![가-갿]).)*$`)
	if err != nil {
		t.Fatal(err)
	}
	d := dfas[0]
	for _, tc := range []struct {
		text string
		at   int // the byte refused, -1 none
	}{{"a\xea\xb0", 2}, {"a\xea\xb1\x80", -1}, {"\xea\xb0\x80", 1}, {"각", 1}, {"걀", -1}} {
		st, at := int32(0), -1
		for i := range len(tc.text) {
			if st = d.step(st, tc.text[i]); st < 0 {
				at = i
				break
			}
		}
		if at != tc.at {
			t.Errorf("%q: refused at byte %d, want %d", tc.text, at, tc.at)
		}
	}
}

// Patterns that end with lookbehinds before their $ (and some open with
// a lookahead), to node's RegExp (lookbehind.jsonl, written by
// lookbehind.mjs), held to the pattern's automata as a string's text is.
func TestECMALookbehindsGolden(t *testing.T) {
	checkECMAGolden(t, "lookbehind.jsonl", 250, 20, patternAutomata)
}

// patternAutomata is a matcher of the automata patternTexts makes of p:
// a text matches when each takes it whole. A pattern refused as matching
// nothing matches nothing.
func patternAutomata(p string) (func(string) bool, error) {
	dfas, err := patternTexts(p)
	if err != nil && strings.Contains(err.Error(), "refuses every text") {
		return func(string) bool { return false }, nil
	}
	return func(s string) bool {
		for _, d := range dfas {
			if !dfaWhole(d, s) {
				return false
			}
		}
		return true
	}, err
}

// checkECMAGolden compares the matcher compile makes of each pattern in
// testdata/ecma/file with node's answers; at least min patterns, and
// between 1/part and 4/5 of the strings matching, so both answers are
// exercised.
func checkECMAGolden(t *testing.T, file string, min, part int, compile func(pattern string) (func(string) bool, error)) {
	type record struct {
		P string   `json:"p"`
		S []string `json:"s"`
		M []bool   `json:"m"`
	}
	patterns, checks, matches := 0, 0, 0
	for line, c := range testshared.ReadGoldenLines[record](t, "testdata/ecma/"+file) {
		if len(c.S) != len(c.M) {
			t.Fatalf("%s case %d: %d strings, %d answers", file, line, len(c.S), len(c.M))
		}
		match, err := compile(c.P)
		if err != nil {
			t.Errorf("pattern %q: %v", c.P, err)
			continue
		}
		patterns++
		for i, s := range c.S {
			checks++
			if whole := match(s); whole != c.M[i] {
				t.Errorf("pattern %q on %q: %v, ECMA-262 %v", c.P, s, whole, c.M[i])
			}
			if c.M[i] {
				matches++
			}
		}
	}
	if patterns < min || matches < checks/part || matches > checks*4/5 {
		t.Fatalf("%d patterns, %d of %d strings matching", patterns, matches, checks)
	}
	t.Logf("%d patterns, %d strings, %d matching", patterns, checks, matches)
}

func TestECMAToRE2(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`a.b`, `a[^\n\r\x{2028}\x{2029}]b`},
		{`[.]`, `[.]`},
		{`\.`, `\.`},
		{`\\s`, `\\s`},
		{`\s`, `[` + ecmaSpaceClass + `]`},
		{`[^\S\n]`, `[^` + ecmaNonSpaceClass + `\n]`},
		{`[\b]`, `[\x{8}]`},
		{`[]a`, `[^\x{0}-\x{10ffff}]a`},
		{`[^]`, `[\x{0}-\x{10ffff}]`},
		{`[[]`, `[\[]`},
		{`\u00e9\u{1F600}\uD83D\uDE00`, `\x{e9}\x{1f600}\x{1f600}`},
		{`\cJ`, `\x{a}`},
		{`\p{Script=Hangul}\P{sc=Latin}\p{Letter}\p{gc=Lu}`, `\p{Hangul}\P{Latin}\p{L}\p{Lu}`},
		{`가\d+`, `가\d+`},
	} {
		got, err := ecmaToRE2(c.in)
		if err != nil || got != c.want {
			t.Errorf("ecmaToRE2(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{`a\`, `\uD83D`, `\uDE00`, `\u12`, `\u{110000}`, `\u{}`, `\c1`, `\p{Foo=Bar}`, `\p`, `(?=a)`, `\1`} {
		if _, err := compileSearch(bad); !errors.Is(err, ErrGrammar) {
			t.Errorf("compileSearch(%q): error %v, want ErrGrammar", bad, err)
		}
	}
}
