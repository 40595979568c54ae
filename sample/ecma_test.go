package sample

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/nuri-ai/nuri/internal/testshared"
)

// TestECMAPatternsGolden runs random patterns as JSON Schema patterns and
// compares with node's ECMA-262 RegExp (testdata/ecma/golden.jsonl, written
// by gen.mjs): the pieces where ECMA-262 and RE2 read the same text
// differently must mean what ECMA-262 says.
func TestECMAPatternsGolden(t *testing.T) {
	type record struct {
		P string   `json:"p"`
		S []string `json:"s"`
		M []bool   `json:"m"`
	}
	patterns, checks, matches := 0, 0, 0
	for line, c := range testshared.ReadGoldenLines[record](t, "testdata/ecma/golden.jsonl") {
		if len(c.S) != len(c.M) {
			t.Fatalf("golden.jsonl case %d: %d strings, %d answers", line, len(c.S), len(c.M))
		}
		g, err := compileSearch(c.P)
		if err != nil {
			t.Errorf("pattern %q: %v", c.P, err)
			continue
		}
		patterns++
		for i, s := range c.S {
			checks++
			if _, whole := grammarMatch(g, s); whole != c.M[i] {
				t.Errorf("pattern %q on %q: %v, ECMA-262 %v", c.P, s, whole, c.M[i])
			}
			if c.M[i] {
				matches++
			}
		}
	}
	// Both answers must be exercised for the comparison to say anything.
	if patterns < 400 || matches < checks/5 || matches > checks*4/5 {
		t.Fatalf("%d patterns, %d of %d strings matching", patterns, matches, checks)
	}
	t.Logf("%d patterns, %d strings, %d matching", patterns, checks, matches)
}

// Patterns that open with lookaheads, to node's RegExp: each string is
// held to the pattern's automata, the lookaheads' among them, as a
// string's text is.
func TestECMALookaheadsGolden(t *testing.T) {
	type record struct {
		P string   `json:"p"`
		S []string `json:"s"`
		M []bool   `json:"m"`
	}
	patterns, checks, matches := 0, 0, 0
	for line, c := range testshared.ReadGoldenLines[record](t, "testdata/ecma/lookahead.jsonl") {
		if len(c.S) != len(c.M) {
			t.Fatalf("lookahead.jsonl case %d: %d strings, %d answers", line, len(c.S), len(c.M))
		}
		dfas, err := patternTexts(c.P)
		if err != nil && strings.Contains(err.Error(), "refuses every text") && !slices.Contains(c.M, true) {
			patterns++ // refused at once, as it matches no string
			checks += len(c.S)
			continue
		}
		if err != nil {
			t.Errorf("pattern %q: %v", c.P, err)
			continue
		}
		patterns++
		for i, s := range c.S {
			checks++
			whole := true
			for _, d := range dfas {
				st := int32(0)
				for j := 0; j < len(s) && st >= 0; j++ {
					st = d.step(st, s[j])
				}
				whole = whole && st >= 0 && d.accepts(st)
			}
			if whole != c.M[i] {
				t.Errorf("pattern %q on %q: %v, ECMA-262 %v", c.P, s, whole, c.M[i])
			}
			if c.M[i] {
				matches++
			}
		}
	}
	if patterns < 250 || matches < checks/10 || matches > checks*4/5 {
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
