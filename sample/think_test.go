package sample

import (
	"slices"
	"testing"
)

// A JSON answer after thinking: free text inside <think>…</think>, a
// little whitespace, then the inner constraint, with markers split across
// tokens and the answer starting inside the token that closes the
// thinking.
func TestAfterThinking(t *testing.T) {
	const end = 0
	pieces := [][]byte{nil, []byte("<th"), []byte("ink>"), []byte("hmm {not json"), []byte("</"), []byte("think>"),
		[]byte("\n\n"), []byte(`{"a": 1}`), []byte("</think>\n{"), []byte(`"a": 2}`), []byte("<think>"), []byte(" ")}
	v := NewVocab(pieces, end)
	object := func() Constraint { return NewJSON(v, true) }
	run := func(c Constraint, toks []int32) bool {
		for _, tok := range toks {
			if !c.Allows(tok) {
				return false
			}
			c.Accept(tok)
		}
		return c.Complete()
	}
	for _, tc := range []struct {
		name string
		open bool
		toks []int32
		ok   bool
	}{
		{"no thinking", false, []int32{7}, true},
		{"thinking, split markers", false, []int32{1, 2, 3, 4, 5, 6, 7}, true},
		{"the answer inside the closing token", false, []int32{10, 3, 8, 9}, true},
		{"opened by the prompt", true, []int32{3, 8, 9}, true},
		{"prose instead of an answer", false, []int32{3}, false},
		{"prose after the thinking", true, []int32{4, 5, 3}, false},
		{"too much whitespace", true, []int32{4, 5, 6, 6, 6, 6, 6, 7}, false},
		{"thinking, no answer yet", true, []int32{3}, false},
	} {
		if got := run(AfterThinking(v, object(), DefaultThinkTags, tc.open), tc.toks); got != tc.ok {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.ok)
		}
	}
	// No end while thinking; listing agrees with Allows in every phase.
	c := AfterThinking(v, object(), DefaultThinkTags, true)
	for _, tok := range []int32{3, 4, 5, 6, 7} {
		var listed []int32
		c.(tokenLister).eachAllowed(func(id int32) { listed = append(listed, id) })
		var asked []int32
		for id := range int32(v.Len()) {
			if c.Allows(id) {
				asked = append(asked, id)
			}
		}
		slices.Sort(listed)
		if !slices.Equal(listed, asked) || slices.Contains(asked, end) {
			t.Fatalf("before %q: listed %v, asked %v", pieces[tok], listed, asked)
		}
		c.Accept(tok)
	}
	if !c.Complete() {
		t.Fatal("answer not complete")
	}
}

// Gemma 4's thought channel frames the thinking the same way.
func TestAfterThinkingGemma4(t *testing.T) {
	const end = 0
	pieces := [][]byte{nil, []byte("<|channel>"), []byte("thought\n"), []byte("{not json"), []byte("<channel|>"),
		[]byte(`{"a": 1}`), []byte("<think>")}
	v := NewVocab(pieces, end)
	tags := ThinkTags{Open: "<|channel>thought", Close: "<channel|>"}
	for _, tc := range []struct {
		name string
		toks []int32
		ok   bool
	}{
		{"thought then JSON", []int32{1, 2, 3, 4, 5}, true},
		{"no thought", []int32{5}, true},
		{"<think> is not its thinking", []int32{6, 3, 4, 5}, false},
	} {
		c := AfterThinking(v, NewJSON(v, true), tags, false)
		ok := true
		for _, tok := range tc.toks {
			if ok = c.Allows(tok); !ok {
				break
			}
			c.Accept(tok)
		}
		if ok = ok && c.Complete(); ok != tc.ok {
			t.Errorf("%s: %v, want %v", tc.name, ok, tc.ok)
		}
	}
}
