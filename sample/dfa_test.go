package sample

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// The automaton agrees with Go's regexp (searching, as JSON Schema's
// pattern does) byte by byte on random texts, with states that take more
// transitions than their list holds; a counted pattern runs through
// thousands of states (regexp/syntax allows counts up to 1000).
func TestStringDFA(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	alphabet := []rune("abcxyz019-_. 한글é\n")
	for _, pat := range []string{`^[a-c]+[0-9]*$`, `x.y`, `^(ab|a)(bc|c)$`, `[한글]{2}`, `^\S+$`, `é$`} {
		g, err := compileSearch(pat)
		if err != nil {
			t.Fatal(err)
		}
		d := newStringDFA(g)
		re := regexp.MustCompile(pat)
		for range 2000 {
			var sb strings.Builder
			for range rng.IntN(10) {
				sb.WriteRune(alphabet[rng.IntN(len(alphabet))])
			}
			text := sb.String()
			s, alive := int32(0), true
			for i := 0; i < len(text) && alive; i++ {
				s = d.step(s, text[i])
				alive = s >= 0
			}
			if got := alive && d.accepts(s); got != re.MatchString(text) {
				t.Fatalf("%s on %q: automaton %v, regexp %v", pat, text, got, !got)
			}
		}
		for _, st := range d.states {
			if st.next != nil && st.edges != nil {
				t.Fatal("a state holds both a list and a table")
			}
		}
	}
	g, err := compileSearch(`^a{0,1000}b{0,1000}c{0,1000}$`)
	if err != nil {
		t.Fatal(err)
	}
	d := newStringDFA(g)
	text := strings.Repeat("a", 1000) + strings.Repeat("b", 1000) + strings.Repeat("c", 1000)
	s := int32(0)
	for i := range len(text) {
		if s = d.step(s, text[i]); s < 0 {
			t.Fatalf("refused at %d characters", i+1)
		}
	}
	if !d.accepts(s) || d.step(s, 'c') >= 0 || len(d.states) < 3000 {
		t.Fatalf("3000 characters: accepted %v, %d states", d.accepts(s), len(d.states))
	}
}
