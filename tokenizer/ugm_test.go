package tokenizer

import (
	"encoding/binary"
	"slices"
	"sort"
	"testing"
)

// buildCharsmap writes a precompiled_charsmap for the given replacements:
// the double array is laid out the way the reader walks it (a child of
// node i through byte c sits at i ^ BASE(i) ^ c, a key's value unit at
// i ^ BASE(i) of its last node), each node taking the smallest BASE
// whose slots are free.
func buildCharsmap(t testing.TB, m map[string]string) []byte {
	t.Helper()
	type node struct {
		kids  map[byte]*node
		term  bool
		val   uint32
		index uint32
	}
	root := &node{kids: map[byte]*node{}}
	var repl []byte
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		n := root
		for i := 0; i < len(k); i++ {
			c := k[i]
			if n.kids[c] == nil {
				n.kids[c] = &node{kids: map[byte]*node{}}
			}
			n = n.kids[c]
		}
		n.term, n.val = true, uint32(len(repl))
		repl = append(append(repl, m[k]...), 0)
	}
	units := []uint32{0}
	used := map[uint32]bool{0: true}
	set := func(i, v uint32) {
		for int(i) >= len(units) {
			units = append(units, 0)
		}
		units[i], used[i] = v, true
	}
	queue := []*node{root}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		labels := make([]byte, 0, len(n.kids))
		for c := range n.kids {
			labels = append(labels, c)
		}
		slices.Sort(labels)
		base := uint32(1)
		for ; ; base++ {
			free := !n.term || !used[n.index^base]
			for _, c := range labels {
				free = free && !used[n.index^base^uint32(c)] && n.index^base^uint32(c) != 0
			}
			if free {
				break
			}
		}
		if base >= 1<<21 {
			t.Fatal("charsmap too large for the test builder")
		}
		units[n.index] |= base << 10
		if n.term {
			set(n.index^base, 1<<31|n.val)
		}
		for _, c := range labels {
			k := n.kids[c]
			k.index = n.index ^ base ^ uint32(c)
			u := uint32(c)
			if k.term {
				u |= 1 << 8
			}
			set(k.index, u)
			queue = append(queue, k)
		}
	}
	out := binary.LittleEndian.AppendUint32(nil, uint32(4*len(units)))
	for _, u := range units {
		out = binary.LittleEndian.AppendUint32(out, u)
	}
	return append(out, repl...)
}

func TestCharsmapLongestMatch(t *testing.T) {
	cm, err := parseCharsmap(buildCharsmap(t, map[string]string{"ab": "X", "abc": "Y", "b": "Z", "Ａ": "A", "①": "1"}))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		in, repl string
		n        int
	}{
		{"abcd", "Y", 3}, {"abd", "X", 2}, {"bq", "Z", 1}, {"a", "", 0}, {"q", "", 0},
		{"Ａx", "A", 3}, {"①", "1", 3}, {"a\x00bc", "", 0}, {"", "", 0},
	} {
		repl, n := cm.longestMatch(c.in)
		if repl != c.repl || n != c.n {
			t.Errorf("%q: got %q/%d, want %q/%d", c.in, repl, n, c.repl, c.n)
		}
	}
	for _, bad := range [][]byte{nil, {1, 0}, {8, 0, 0, 0, 1, 2, 3, 4}, {3, 0, 0, 0, 1, 2, 3, 4}} {
		if _, err := parseCharsmap(bad); err == nil {
			t.Errorf("%v: want an error", bad)
		}
	}
}

// toyUGM builds a T5-style vocabulary: <pad>, </s>, <unk>, then the given
// pieces with their scores, plus one user-defined token.
func toyUGM(t testing.TB, addPrefix, removeExtra bool, charsmap map[string]string) *Tokenizer {
	t.Helper()
	pieces := []struct {
		text  string
		score float32
	}{
		{"▁", -2}, {"▁hello", -3}, {"▁he", -2.5}, {"llo", -2.5}, {"▁world", -3}, {"▁wor", -4},
		{"ld", -4}, {"h", -5}, {"e", -5}, {"l", -5}, {"o", -5}, {"w", -5}, {"r", -5}, {"d", -5},
		{"A", -6}, {"▁A", -4}, {"1", -5},
	}
	toks := []string{"<pad>", "</s>", "<unk>"}
	types := []int32{TypeControl, TypeControl, TypeUnknown}
	scores := []float32{0, 0, 0}
	for _, p := range pieces {
		toks, types, scores = append(toks, p.text), append(types, TypeNormal), append(scores, p.score)
	}
	toks, types, scores = append(toks, "<extra_id_0>"), append(types, TypeUserDefined), append(scores, 0)
	s := Spec{Model: "t5", Tokens: toks, Types: types, Scores: scores,
		AddSpacePrefix: &addPrefix, RemoveExtraWhitespace: &removeExtra}
	if charsmap != nil {
		s.Charsmap = buildCharsmap(t, charsmap)
	}
	tk, err := New(s)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func TestUnigram(t *testing.T) {
	nfkc := map[string]string{"Ａ": "A", "①": "1", "\u3000": " "}
	cases := []struct {
		in                  string
		addPrefix, collapse bool
		want                []string
	}{
		// The best total score wins: ▁hello (-3) over ▁he llo (-5).
		{"hello world", true, true, []string{"▁hello", "▁world"}},
		// Runs of unknown code points collapse into one <unk>.
		{"hello 😀😀 world", true, true, []string{"▁hello", "▁", "<unk>", "▁world"}},
		// The character map normalizes before segmentation; an
		// ideographic space is a space.
		{"Ａ\u3000①", true, true, []string{"▁A", "▁", "1"}},
		// remove_extra_whitespaces: one space before each word, none at
		// the ends.
		{"  hello   world  ", true, true, []string{"▁hello", "▁world"}},
		{"hello  world", true, false, []string{"▁hello", "▁", "▁world"}},
		{"hello world", false, false, []string{"h", "e", "llo", "▁world"}},
		// A user-defined token is its own fragment, unnormalized.
		{"hello<extra_id_0>world", true, true, []string{"▁hello", "<extra_id_0>", "▁world"}},
		{"", true, true, nil},
		{"   ", true, true, nil},
	}
	for _, c := range cases {
		tk := toyUGM(t, c.addPrefix, c.collapse, nfkc)
		got := texts(tk, mustEncode(t, tk, c.in, false, false))
		if c.want == nil && len(got) == 0 {
			continue
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%q (prefix %v, collapse %v): got %q, want %q", c.in, c.addPrefix, c.collapse, got, c.want)
		}
	}

	tk := toyUGM(t, true, true, nfkc)
	ids := mustEncode(t, tk, "hello world", true, false)
	if got := texts(tk, ids); !slices.Equal(got, []string{"▁hello", "▁world", "</s>"}) {
		t.Errorf("add_special: got %q, want the text then </s>", got)
	}
	if txt, err := tk.Decode(ids, false); err != nil || string(txt) != "hello world" {
		t.Errorf("decode: %q, %v", txt, err)
	}
	// Without a character map the text is taken as it is.
	plain := toyUGM(t, true, true, nil)
	if got := texts(plain, mustEncode(t, plain, "Ａ", false, false)); !slices.Equal(got, []string{"▁", "<unk>"}) {
		t.Errorf("no charsmap: got %q", got)
	}
}
