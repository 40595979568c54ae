package sample

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// grammarMatch feeds s to a fresh state of g byte by byte and says whether
// every byte passed, and whether s is then a whole string of g.
func grammarMatch(g *Grammar, s string) (viable, whole bool) {
	m := &gmatcher{g: g, frames: map[frameKey]*frame{}}
	var st gstate
	m.start(&st)
	if !st.feed([]byte(s)) {
		return false, false
	}
	return true, st.whole()
}

func TestGBNFStrings(t *testing.T) {
	tests := []struct {
		name, grammar string
		accept        []string
		refuse        []string // not whole strings (some are viable prefixes)
	}{
		{"literal", `root ::= "예"`, []string{"예"}, []string{"", "아", "예예"}},
		{"alternatives", `root ::= "예" | "아니요" | [0-9]+`, []string{"예", "아니요", "0", "2026"}, []string{"", "아니", "12a"}},
		{"continued line", "root ::= \"a\"\n  | \"b\" # comment\n", []string{"a", "b"}, []string{"ab"}},
		{"rules", "root ::= answer (\",\" ws answer)*\nanswer ::= [가-힣]+\nws ::= [ \\t\\n]*", []string{"서울", "서울, 부산,\n대구"}, []string{"서울,", "Seoul", ", 서울"}},
		{"negated class", `root ::= "\"" [^"\\]* "\""`, []string{`""`, `"안녕 hi"`}, []string{`"a"b"`, `"\"`}},
		{"any and escapes", `root ::= . "\x41\u00e9\n" [\]\[]`, []string{"zAé\n]", "한Aé\n["}, []string{"Aé\n]", "zAé\n"}},
		{"bounded", `root ::= [a-c]{2,3} "-" [0-9]{2} "-" "x"{,2} "-" "y"{1,}`, []string{"ab-12--y", "abc-00-xx-yyy"}, []string{"a-12--y", "abcd-12--y", "ab-1--y", "ab-12-xxx-y", "ab-12--"}},
		{"nested groups", `root ::= ("(" root ")")* "."`, []string{".", "(.).", "(.)((.).).", "((.).)."}, []string{"(", "()", "(.)", "()."}},
		{"optional", `root ::= "a"? "b"`, []string{"b", "ab"}, []string{"a", "aab"}},
		{"empty literal", `root ::= "" "a" ""*`, []string{"a"}, []string{""}},
		{"crlf", "root ::= x\r\nx ::= \"1\"\r\n", []string{"1"}, []string{"11"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, err := CompileGBNF(tc.grammar)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range tc.accept {
				if ok, whole := grammarMatch(g, s); !ok || !whole {
					t.Errorf("%q: viable %v, whole %v; want accepted", s, ok, whole)
				}
				for i := range len(s) {
					if ok, _ := grammarMatch(g, s[:i]); !ok {
						t.Errorf("prefix %q of %q refused", s[:i], s)
					}
				}
			}
			for _, s := range tc.refuse {
				if _, whole := grammarMatch(g, s); whole {
					t.Errorf("%q accepted", s)
				}
			}
		})
	}
}

func TestGBNFErrors(t *testing.T) {
	tests := []struct{ name, grammar, want string }{
		{"no root", `a ::= "x"`, "no rule named root"},
		{"undefined", `root ::= a`, `rule "a" is used but not defined`},
		{"twice", "root ::= \"a\"\nroot ::= \"b\"", "defined twice"},
		{"left recursion", `root ::= root "a" | "b"`, "left-recursive"},
		{"indirect left recursion", "root ::= a\na ::= b? root\nb ::= \"x\"", "left-recursive"},
		{"nullable star", `root ::= ("a"?)*`, "left-recursive"},
		{"unterminated string", `root ::= "abc`, "unterminated string"},
		{"unterminated class", `root ::= [abc`, "unterminated character class"},
		{"bad escape", `root ::= "\q"`, "unknown escape"},
		{"bad hex", `root ::= "\xZZ"`, "bad escape"},
		{"backwards range", `root ::= [z-a]`, "backwards"},
		{"missing ::=", `root = "a"`, "expected ::="},
		{"dangling operator", `root ::= *"a"`, "without anything"},
		{"double operator", `root ::= "a"**`, "without anything"},
		{"unclosed group", `root ::= ("a"`, "expected )"},
		{"bad count", `root ::= "a"{x}`, "bad repetition count"},
		{"reversed count", `root ::= "a"{3,2}`, "below the minimum"},
		{"huge count", `root ::= "a"{2000000}`, "too large"},
		{"overflowing count", `root ::= "ab"{4611686018427387904}`, "too large"},
		{"stray", `root ::= "a" ;`, "unexpected"},
		{"deep nesting", "root ::= " + strings.Repeat("(", 300) + `"a"` + strings.Repeat(")", 300), "nested deeper"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := CompileGBNF(tc.grammar)
			if !errors.Is(err, ErrGrammar) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want ErrGrammar with %q", err, tc.want)
			}
		})
	}
}

// jsonGBNF is JSON (RFC 8259) in GBNF, with whitespace bounded as in
// llama.cpp's grammars/json.gbnf.
const jsonGBNF = `
root   ::= ws value ws
value  ::= object | array | string | number | ("true" | "false" | "null")
object ::= "{" ws ( string ws ":" ws value ( ws "," ws string ws ":" ws value )* ws )? "}"
array  ::= "[" ws ( value ( ws "," ws value )* ws )? "]"
string ::= "\"" ( [^"\\\x00-\x1F] | "\\" ( ["\\/bfnrt] | "u" [0-9a-fA-F]{4} ) )* "\""
number ::= "-"? ( "0" | [1-9] [0-9]* ) ( "." [0-9]+ )? ( [eE] [-+]? [0-9]+ )?
ws     ::= [ \t\n\r]*
`

// The JSON grammar agrees with encoding/json on valid and broken texts.
func TestGBNFJSON(t *testing.T) {
	g, err := CompileGBNF(jsonGBNF)
	if err != nil {
		t.Fatal(err)
	}
	texts := []string{
		`{}`, `[]`, `{"이름": "홍길동", "나이": 30, "tags": ["a", "b\n"], "x": null}`,
		`[1, -0.5e+3, true, false, {"a": [[]]}]`, `"\u00e9\"\\"`, ` 12 `,
		`{"a" 1}`, `[1,]`, `01`, `"abc`, `{"a": tru}`, `[1 2]`, `"\x"`, `-`, `1.`, `{,}`,
	}
	for _, s := range texts {
		_, whole := grammarMatch(g, s)
		if want := json.Valid([]byte(s)); whole != want {
			t.Errorf("%q: grammar %v, encoding/json %v", s, whole, want)
		}
	}
}

// A regular expression's grammar accepts exactly the strings Go's regexp
// matches whole, and every prefix of such a string.
func TestRegexAgreesWithRegexp(t *testing.T) {
	patterns := []string{
		`[0-9]{3}-[0-9]{4}-[0-9]{4}`, `(yes|no|maybe)`, `a*b+c?`, `(ab|a)(bc|c)`, `[가-힣]{2,4}(시|군|구)`,
		`(?i)hello`, `\d+(\.\d+)?`, `[^a-c]*`, `.{0,3}x`, `\w+@\w+\.(com|kr)`, `^\s*(true|false)\s*$`,
		`(a|b)*abb`, `x{0}y`, `(?:\p{Hangul}|[.!?])+`, `[[:upper:]][[:lower:]]*`, `((a|b)(c|d)){1,3}`,
		// Anchors inside, held where they stand.
		`(?:^|x)y`, `a$|b`, `(a|^b)*c$`, `(^|\s)#\w+`, `(?:a|$)+`,
	}
	alphabet := []rune("abcdxyABXY0129.-_@ \n!?시군구서울가힣é")
	rng := rand.New(rand.NewPCG(7, 8))
	for _, pat := range patterns {
		g, err := CompileRegex(pat)
		if err != nil {
			t.Fatalf("%s: %v", pat, err)
		}
		re := regexp.MustCompile(`^(?:` + pat + `)$`)
		matched := 0
		check := func(s string) {
			_, whole := grammarMatch(g, s)
			if want := re.MatchString(s); whole != want {
				t.Errorf("%s on %q: grammar %v, regexp %v", pat, s, whole, want)
			}
			if whole {
				matched++
				for i := range len(s) {
					if ok, _ := grammarMatch(g, s[:i]); !ok {
						t.Errorf("%s: prefix %q of %q refused", pat, s[:i], s)
					}
				}
			}
		}
		for range 3000 {
			n := rng.IntN(9)
			var sb strings.Builder
			for range n {
				sb.WriteRune(alphabet[rng.IntN(len(alphabet))])
			}
			check(sb.String())
		}
		// Strings that match, so both answers get exercised.
		for _, s := range regexSamples[pat] {
			check(s)
		}
		if matched == 0 {
			t.Errorf("%s: no sample matched; the comparison says nothing about acceptance", pat)
		}
	}
}

var regexSamples = map[string][]string{
	`[0-9]{3}-[0-9]{4}-[0-9]{4}`: {"010-1234-5678"},
	`(yes|no|maybe)`:             {"yes", "maybe"},
	`[가-힣]{2,4}(시|군|구)`:          {"서울시", "가힣가힣구"},
	`(?i)hello`:                  {"HeLLo"},
	`\d+(\.\d+)?`:                {"3.14", "42"},
	`\w+@\w+\.(com|kr)`:          {"a_1@x.kr"},
	`^\s*(true|false)\s*$`:       {" true\n"},
	`(a|b)*abb`:                  {"ababb"},
	`(ab|a)(bc|c)`:               {"abc", "abbc"},
	`(?:\p{Hangul}|[.!?])+`:      {"서울!"},
	`[[:upper:]][[:lower:]]*`:    {"Abc"},
	`((a|b)(c|d)){1,3}`:          {"acbd"},
	`(?:^|x)y`:                   {"y", "xy"},
	`a$|b`:                       {"a", "b"},
	`(a|^b)*c$`:                  {"bc", "bac", "c"},
	`(^|\s)#\w+`:                 {"#a1", " #x"},
	`(?:a|$)+`:                   {"a", "aa", ""},
}

func TestRegexErrors(t *testing.T) {
	for _, pat := range []string{`a\bb`, `(?m)^a$`, `(?:^|\b)a`, `(`, `a{2000000}`} {
		if _, err := CompileRegex(pat); !errors.Is(err, ErrGrammar) {
			t.Errorf("%s: error %v, want ErrGrammar", pat, err)
		}
	}
	// Anchors where they can never hold: no text matches, said so.
	if _, err := CompileRegex(`a^b|c$d`); !errors.Is(err, ErrGrammar) || !strings.Contains(err.Error(), "matches no text") {
		t.Errorf("a^b|c$d: error %v, want one that says it matches no text", err)
	}
	if _, err := compileSearch(`a^b|c$d`); !errors.Is(err, errNoValue) {
		t.Errorf("a^b|c$d as a search: error %v, want errNoValue", err)
	}
}

// Over a vocabulary whose tokens split Hangul syllables, the constraint's
// list of allowed tokens is the tokens Allows accepts, end tokens are
// allowed exactly where the text may end, and Complete says when it must.
func TestGrammarConstraintTokens(t *testing.T) {
	seoul := []byte("서울")
	pieces := [][]byte{nil, []byte("1"), []byte("12"), []byte("a"), seoul[:2], seoul[2:4], seoul[4:], seoul[:3], seoul[3:],
		[]byte(" "), []byte(","), []byte(", "), []byte("서울"), []byte("\xff"), seoul[1:3]}
	const end = 0
	v := NewVocab(pieces, end)
	g, err := CompileGBNF("root ::= item (\", \" item)*\nitem ::= [0-9]+ | \"서울\"")
	if err != nil {
		t.Fatal(err)
	}
	c := g.Constraint(v)
	check := func(step string) {
		t.Helper()
		var listed []int32
		c.(tokenLister).eachAllowed(func(tok int32) { listed = append(listed, tok) })
		seen := map[int32]bool{}
		for _, tok := range listed {
			seen[tok] = true
		}
		for tok := range int32(len(pieces)) {
			if c.Allows(tok) != seen[tok] {
				t.Errorf("%s: token %d (%q): Allows %v, listed %v", step, tok, pieces[tok], c.Allows(tok), seen[tok])
			}
		}
	}
	check("start")
	if c.Allows(end) || c.Allows(10) || !c.Allows(4) || !c.Allows(7) || c.Allows(13) || c.Allows(14) {
		t.Fatal("start: wrong tokens allowed")
	}
	for _, tok := range []int32{7} { // the first three bytes of 서울
		c.Accept(tok)
	}
	check("mid-syllable")
	if c.Allows(end) || c.Allows(5) || !c.Allows(8) || c.Complete() {
		t.Fatal("mid-syllable: a split character must be finished first")
	}
	c.Accept(8)
	check("after 서울")
	if !c.Allows(end) || !c.Allows(11) || !c.Allows(10) || c.Allows(3) || c.Complete() {
		t.Fatal("after 서울: the list may end or go on")
	}
	for _, tok := range []int32{11, 2} {
		c.Accept(tok)
	}
	check("after 서울, 12")
	if !c.Allows(end) || !c.Allows(1) || c.Complete() {
		t.Fatal("after a number: more digits or the end")
	}

	// A grammar that can only end completes.
	g2, err := CompileGBNF(`root ::= "1" ", " "서울"`)
	if err != nil {
		t.Fatal(err)
	}
	c2 := g2.Constraint(v)
	for _, tok := range []int32{1, 11, 4, 5, 6} {
		if !c2.Allows(tok) {
			t.Fatalf("token %d refused", tok)
		}
		c2.Accept(tok)
	}
	if !c2.Complete() || !c2.Allows(end) {
		t.Fatal("a whole string that nothing continues must be complete")
	}
}

// Along random walks through JSON's grammar, where states recur (each
// character inside a string returns to one), the listed tokens, fresh or
// from the cache, are always the tokens Allows accepts.
func TestGrammarCachedLists(t *testing.T) {
	g, err := CompileGBNF(jsonGBNF)
	if err != nil {
		t.Fatal(err)
	}
	pieces := [][]byte{nil}
	for _, p := range []string{"{", "}", "[", "]", `"`, `"a`, `b"`, "c", "가", ":", ": ", ",", " ", "1", "23", "-", "true", `\`, "n", "e5", ".", `","`, "\xea", "\xb0\x80"} {
		pieces = append(pieces, []byte(p))
	}
	v := NewVocab(pieces, 0)
	rng := rand.New(rand.NewPCG(5, 6))
	for walk := range 30 {
		c := g.Constraint(v).(*grammarConstraint)
		for step := range 60 {
			var listed []int32
			c.eachAllowed(func(tok int32) { listed = append(listed, tok) })
			seen := map[int32]bool{}
			for _, tok := range listed {
				seen[tok] = true
			}
			var ok []int32
			for tok := range int32(len(pieces)) {
				if c.Allows(tok) != seen[tok] {
					t.Fatalf("walk %d step %d: token %q: Allows %v, listed %v", walk, step, pieces[tok], c.Allows(tok), seen[tok])
				}
				if seen[tok] && tok != 0 {
					ok = append(ok, tok)
				}
			}
			if len(ok) == 0 {
				break
			}
			c.Accept(ok[rng.IntN(len(ok))])
		}
		if len(c.cache) == 0 {
			t.Fatal("nothing was cached")
		}
	}
}

// The frame table is compacted once it grows, and the state still
// recognizes what it did.
func TestGrammarCompact(t *testing.T) {
	g, err := CompileGBNF(`root ::= ("(" root ")")* "."`)
	if err != nil {
		t.Fatal(err)
	}
	pieces := [][]byte{nil, []byte("("), []byte(")"), []byte(".")}
	c := g.Constraint(NewVocab(pieces, 0)).(*grammarConstraint)
	for range 40 {
		c.Accept(1)
	}
	before := len(c.st.m.frames)
	c.st.m.compact(&c.st)
	if after := len(c.st.m.frames); after > before || after == 0 {
		t.Fatalf("frames %d → %d", before, after)
	}
	for i := range 40 {
		for _, tok := range []int32{3, 2} {
			if !c.Allows(tok) {
				t.Fatalf("depth %d: token %q refused", 40-i, pieces[tok])
			}
			c.Accept(tok)
		}
	}
	if !c.Allows(3) || c.Allows(2) {
		t.Fatal("after closing every group: only . may come")
	}
	c.Accept(3)
	if !c.Complete() {
		t.Fatal("not complete")
	}
}

// A repetition keeps one frame however long it runs, and ambiguity
// beyond maxGrammarStacks parses refuses the character rather than
// growing without bound.
func TestGrammarStacks(t *testing.T) {
	g, err := CompileGBNF(`root ::= [0-9]* "."`)
	if err != nil {
		t.Fatal(err)
	}
	m := &gmatcher{g: g, frames: map[frameKey]*frame{}}
	var st gstate
	m.start(&st)
	if !st.feed([]byte(strings.Repeat("7", 10000))) || len(m.frames) > 16 {
		t.Fatalf("10000 digits: %d frames", len(m.frames))
	}
	// After k a's the parse can be anywhere in the bounded tail: k+1
	// stacks that differ.
	g, err = CompileGBNF(`root ::= "a"* "a"{0,5000}`)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := grammarMatch(g, strings.Repeat("a", maxGrammarStacks-2)); !ok {
		t.Fatal("refused within the bound")
	}
	if ok, _ := grammarMatch(g, strings.Repeat("a", maxGrammarStacks+1)); ok {
		t.Fatal("accepted beyond the bound")
	}
}

func FuzzGBNFCompile(f *testing.F) {
	for _, s := range []string{jsonGBNF, `root ::= "a"{2,3} | [^x-z]* "(" root? ")"`, "root ::= a\na ::= \"\\u00e9\"+",
		"root ::= <think> !<[3]>* <[3]> \"a\" | !<x>+"} {
		f.Add(s, "{\"a\": [1]}")
	}
	v := VocabFrom(tokenSource{{"a", false}, {"b", false}, {"<think>", true}, {"</think>", true}, {"ab", false},
		{"<x>", false}, {"\xea\xb0", false}, {"\x80", false}, {"</s>", true}})
	f.Fuzz(func(t *testing.T, src, text string) {
		g, err := CompileGBNF(src)
		if err == nil {
			g, err = g.Bind(v)
		}
		if err != nil {
			if !errors.Is(err, ErrGrammar) {
				t.Fatalf("error %v is not ErrGrammar", err)
			}
			return
		}
		grammarMatch(g, text)
		// The text's bytes as tokens of a small vocabulary with control
		// tokens and split characters: no panic, and the listing agrees
		// with Allows.
		c := g.Constraint(v)
		for i := range min(len(text), 16) {
			listed := make([]bool, v.Len())
			c.(tokenLister).eachAllowed(func(tok int32) { listed[tok] = true })
			for tok := range int32(v.Len()) {
				if c.Allows(tok) != listed[tok] {
					t.Fatalf("%q after %d tokens: token %d: Allows %v, listed %v", src, i, tok, !listed[tok], listed[tok])
				}
			}
			if tok := int32(text[i]) % int32(v.Len()); c.Allows(tok) {
				c.Accept(tok)
			}
		}
	})
}

func FuzzRegexAgrees(f *testing.F) {
	for _, s := range []string{`[0-9]+(\.[0-9]*)?`, `(a|bc)*d`, `(?i)x.y`, `(^|x)y$|z$a`, `(?:a|$)+(b|^)*`} {
		f.Add(s, "12.5")
	}
	f.Fuzz(func(t *testing.T, pat, text string) {
		if len(pat) > 64 || len(text) > 64 || !utf8.ValidString(text) {
			return // the grammar refuses invalid UTF-8, which regexp reads as U+FFFD
		}
		g, err := CompileRegex(pat)
		if err != nil {
			return
		}
		re, err := regexp.Compile(`^(?:` + pat + `)$`)
		if err != nil {
			return // \Q quotes the wrapper's closing parenthesis too
		}
		if _, whole := grammarMatch(g, text); whole != re.MatchString(text) {
			t.Fatalf("%q on %q: grammar %v, regexp %v", pat, text, whole, !whole)
		}
	})
}

// TestRegexNullableRepeats repeats expressions that match the empty
// string, which would lower to rules that reach themselves before any
// character, and compares with regexp on every string over {a, b} up to
// five long.
func TestRegexNullableRepeats(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	atoms := []string{"a", "b", "a*", "b?", "()", "(a|)", "(|b)", "(?:ab)*", "a{0,2}", "(a*b*)", "[ab]?"}
	reps := []string{"*", "+", "{2}", "{1,3}", "{0,2}", "{2,}", "?"}
	var gen func(depth int) string
	gen = func(depth int) string {
		var sb strings.Builder
		for range 1 + rng.IntN(3) {
			piece := atoms[rng.IntN(len(atoms))]
			if depth < 2 && rng.IntN(3) == 0 {
				piece = "(" + gen(depth+1) + "|" + gen(depth+1) + ")"
			}
			if rng.IntN(2) == 0 {
				piece = "(?:" + piece + ")" + reps[rng.IntN(len(reps))]
			}
			sb.WriteString(piece)
		}
		return sb.String()
	}
	var texts []string
	for n := range 6 {
		for bits := range 1 << n {
			var sb strings.Builder
			for i := range n {
				sb.WriteByte("ab"[bits>>i&1])
			}
			texts = append(texts, sb.String())
		}
	}
	patterns := []string{`(a*)*`, `(a*|b)+`, `(a?b?){3}`, `((a*)*b*)*`, `(a|())+b`, `(a*){2,}`, `(()|a)*`, `()*`, `(a{0})+`}
	for range 200 {
		patterns = append(patterns, "("+gen(0)+")"+reps[rng.IntN(len(reps))])
	}
	for _, pat := range patterns {
		g, err := CompileRegex(pat)
		if err != nil {
			t.Errorf("%s: %v", pat, err)
			continue
		}
		re := regexp.MustCompile(`^(?:` + pat + `)$`)
		for _, s := range texts {
			if _, whole := grammarMatch(g, s); whole != re.MatchString(s) {
				t.Errorf("%s on %q: grammar %v, regexp %v", pat, s, whole, !whole)
			}
		}
	}
}

// tokenSource is a small vocabulary with control tokens, for GBNF's token
// elements.
type tokenSource []struct {
	text    string
	control bool
}

func (s tokenSource) NVocab() int { return len(s) }
func (s tokenSource) Piece(id int32, special bool) ([]byte, error) {
	if s[id].control && !special {
		return nil, nil
	}
	return []byte(s[id].text), nil
}
func (s tokenSource) IsEOG(id int32) bool { return s[id].text == "</s>" }

func TestGBNFTokens(t *testing.T) {
	src := tokenSource{{"a", false}, {"b", false}, {"<think>", true}, {"</think>", true}, {"ab", false},
		{"<", false}, {"think>", false}, {"</s>", true}, {"x", false}}
	const a, b, think, endThink, ab, lt, thinkText, eos, x = 0, 1, 2, 3, 4, 5, 6, 7, 8
	v := VocabFrom(src)
	all := []int32{a, b, think, endThink, ab, lt, thinkText, eos, x}
	for _, tc := range []struct {
		grammar string
		path    []int32   // tokens accepted one after another
		allowed [][]int32 // what may come before each, and after the last
		whole   bool      // the text may end after the path
	}{
		{`root ::= <think> [ab]* </think> "a"`, []int32{think, a, ab, endThink, a},
			[][]int32{{think}, {a, b, endThink, ab}, {a, b, endThink, ab}, {a, b, endThink, ab}, {a}, {eos}}, true},
		{`root ::= <[2]> body <[3]> .*` + "\n" + `body ::= !<[3]>*`, []int32{think, x, think, lt, endThink, a},
			[][]int32{{think}, {a, b, think, endThink, ab, lt, thinkText, eos, x}, {a, b, think, endThink, ab, lt, thinkText, eos, x},
				{a, b, think, endThink, ab, lt, thinkText, eos, x}, {a, b, think, endThink, ab, lt, thinkText, eos, x},
				{a, b, ab, lt, thinkText, x, eos}, {a, b, ab, lt, thinkText, x, eos}}, true},
		// The token and the same text spelled by other tokens both pass.
		{`root ::= (<think> | "<think>") "a"`, []int32{lt, thinkText},
			[][]int32{{think, lt}, {thinkText}, {a}}, false},
		{`root ::= "a" !<[0]>`, []int32{a, b}, [][]int32{{a}, {b, think, endThink, ab, lt, thinkText, eos, x}, {eos}}, true},
	} {
		g, err := CompileGBNF(tc.grammar)
		if err != nil {
			t.Fatalf("%s: %v", tc.grammar, err)
		}
		if g, err = g.Bind(v); err != nil {
			t.Fatalf("%s: bind: %v", tc.grammar, err)
		}
		c := g.Constraint(v)
		for i := 0; i <= len(tc.path); i++ {
			var byAllows, listed []int32
			for _, tok := range all {
				if c.Allows(tok) {
					byAllows = append(byAllows, tok)
				}
			}
			c.(tokenLister).eachAllowed(func(tok int32) {
				if !slices.Contains(listed, tok) {
					listed = append(listed, tok)
				}
			})
			slices.Sort(listed)
			want := slices.Sorted(slices.Values(tc.allowed[i]))
			if !slices.Equal(byAllows, want) || !slices.Equal(listed, want) {
				t.Errorf("%s, after %v: Allows %v, listed %v, want %v", tc.grammar, tc.path[:i], byAllows, listed, want)
			}
			if i < len(tc.path) {
				c.Accept(tc.path[i])
			}
		}
		if got := c.(*grammarConstraint).st.whole(); got != tc.whole {
			t.Errorf("%s: may end %v after %v", tc.grammar, got, tc.path)
		}
	}
	for _, tc := range []struct{ grammar, compileErr, bindErr string }{
		{`root ::= <[x]>`, "token id", ""},
		{`root ::= !a`, "expected <", ""},
		{`root ::= <>`, "<text>", ""},
		{"root ::= <thi\nnk>", "<text>", ""},
		{`root ::= <nope>`, "", "<nope> is not one token"},
		{`root ::= <[9]>`, "", "vocabulary has 9 tokens"},
		{`root ::= <[8]>*`, "", ""},
	} {
		g, err := CompileGBNF(tc.grammar)
		if tc.compileErr != "" {
			if !errors.Is(err, ErrGrammar) || !strings.Contains(err.Error(), tc.compileErr) {
				t.Errorf("%q: compile error %v, want one with %q", tc.grammar, err, tc.compileErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%q: %v", tc.grammar, err)
		}
		_, err = g.Bind(v)
		if tc.bindErr == "" && err != nil || tc.bindErr != "" && (!errors.Is(err, ErrGrammar) || !strings.Contains(err.Error(), tc.bindErr)) {
			t.Errorf("%q: bind error %v, want %q", tc.grammar, err, tc.bindErr)
		}
	}
}
