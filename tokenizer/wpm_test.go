package tokenizer

import (
	"slices"
	"strings"
	"testing"
)

// toyWPM builds a WordPiece vocabulary as llama.cpp's converter writes
// one: BERT's word-initial entries gain "▁", "##" continuations lose it,
// bracketed specials stay as they are (and are CONTROL).
func toyWPM(t testing.TB, spec func(*Spec), vocab ...string) *Tokenizer {
	t.Helper()
	base := []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}
	var toks []string
	var types []int32
	for _, w := range append(base, vocab...) {
		ty := int32(TypeNormal)
		switch {
		case strings.HasPrefix(w, "[") && strings.HasSuffix(w, "]"):
			ty = TypeControl
		case strings.HasPrefix(w, "##"):
			w = w[2:]
		default:
			w = spaceMark + w
		}
		toks = append(toks, w)
		types = append(types, ty)
	}
	s := Spec{Model: "bert", Tokens: toks, Types: types, IDs: map[string]uint32{
		"unknown_token_id": 1, "bos_token_id": 2, "seperator_token_id": 3, "padding_token_id": 0,
	}}
	if spec != nil {
		spec(&s)
	}
	tk, err := New(s)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func TestWordPiece(t *testing.T) {
	tk := toyWPM(t, nil, "hello", "world", "play", "##ing", "##ed", "un", "##play", "##able",
		",", "!", "$", "4", "[", "]", "sep", "cafe", "é", "中", "文", "ᄒ", "ᄀ", "ㅎ", "a", "##a", "b", "##b")
	cases := []struct {
		in   string
		want []string
	}{
		{"Hello, world!", []string{"▁hello", "▁,", "▁world", "▁!"}},
		{"  playing\tplayed\n", []string{"▁play", "ing", "▁play", "ed"}},
		{"unplayable", []string{"▁un", "play", "able"}},
		// A word that cannot be covered whole is one unknown token.
		{"playingx hello", []string{"[UNK]", "▁hello"}},
		// Accents go (the first code point of the decomposition); a
		// combining mark in the input is dropped.
		{"Café cafe\u0301", []string{"▁cafe", "▁cafe"}},
		// ASCII symbols and CJK ideographs stand alone; non-ASCII symbols
		// do not.
		{"$4 中文", []string{"▁$", "▁4", "▁中", "▁文"}},
		{"a€b", []string{"[UNK]"}},
		// llama.cpp's NFD keeps one code point: a Hangul syllable becomes
		// its leading consonant.
		{"한", []string{"▁ᄒ"}},
		{"ㅎ", []string{"▁ㅎ"}},
		// Control characters vanish, zero-width joiners included.
		{"ab\u200db\x00a", []string{"▁a", "b", "b", "a"}},
		{"", nil},
		{" \n\t ", nil},
	}
	for _, c := range cases {
		got := texts(tk, mustEncode(t, tk, c.in, false, false))
		if !slices.Equal(got, c.want) {
			t.Errorf("%q: got %q, want %q", c.in, got, c.want)
		}
	}

	// add_special wraps the text in [CLS] ... [SEP]; parse_special finds
	// the bracketed specials in the text.
	got := texts(tk, mustEncode(t, tk, "hello [SEP] world", true, true))
	if want := []string{"[CLS]", "▁hello", "[SEP]", "▁world", "[SEP]"}; !slices.Equal(got, want) {
		t.Errorf("specials: got %q, want %q", got, want)
	}
	got = texts(tk, mustEncode(t, tk, "hello [SEP]", false, false))
	if want := []string{"▁hello", "▁[", "▁sep", "▁]"}; !slices.Equal(got, want) {
		t.Errorf("unparsed specials: got %q, want %q", got, want)
	}

	// Decoding turns ▁ into spaces and cleans the space before
	// punctuation, as llama_detokenize does for WordPiece.
	ids := mustEncode(t, tk, "Hello, world!", true, false)
	text, err := tk.Decode(ids, false)
	if err != nil {
		t.Fatal(err)
	}
	if string(text) != " hello, world!" {
		t.Errorf("decode: %q", text)
	}
}

func TestWordPieceNormalizerOptions(t *testing.T) {
	off, on := false, true
	vocab := []string{"Café", "café", "cafe", "Cafe"}
	cases := []struct {
		lower, strip *bool
		want         string
	}{
		{nil, nil, "▁cafe"},
		{&off, nil, "▁Café"},  // strip_accents follows lowercase
		{&off, &on, "▁Cafe"},  // cased, accents stripped
		{&on, &off, "▁café"},  // lowercased, accents kept
		{nil, &off, "▁café"},  // lowercase defaults to true
		{&off, &off, "▁Café"}, // neither
	}
	for _, c := range cases {
		tk := toyWPM(t, func(s *Spec) { s.Lowercase, s.StripAccents = c.lower, c.strip }, vocab...)
		got := texts(tk, mustEncode(t, tk, "Café", false, false))
		if len(got) != 1 || got[0] != c.want {
			t.Errorf("lowercase %v strip %v: got %q, want %q", c.lower, c.strip, got, c.want)
		}
	}
}

func TestWordPieceNeedsUnknown(t *testing.T) {
	no := false
	_, err := New(Spec{Model: "bert", Tokens: []string{"▁a", "b"}, AddBOS: &no, AddSEP: &no})
	if err == nil || !strings.Contains(err.Error(), "unknown token") {
		t.Fatalf("want an error about the unknown token, got %v", err)
	}
}

func TestNFDFirst(t *testing.T) {
	for in, want := range map[rune]rune{
		'a': 'a', 'é': 'e', 'Å': 'A', 'ǖ': 'u', 'ῷ': 'ω', '가': 0x1100, '힣': 0x1112, '각': 0x1100,
		'ㄱ': 'ㄱ', '中': '中', 0xF900: 0x8C48, // a CJK compatibility ideograph decomposes too
	} {
		if got := nfdFirst(in); got != want {
			t.Errorf("nfdFirst(%U) = %U, want %U", in, got, want)
		}
	}
}

// TestWordPieceSpecials: with add_special, WordPiece opens with [CLS] and
// closes with [SEP] whatever the file's add_bos_token and add_sep_token
// say, as llama.cpp's llama_tokenize does.
func TestWordPieceSpecials(t *testing.T) {
	no := false
	for _, off := range []bool{false, true} {
		tk := toyWPM(t, func(s *Spec) {
			if off {
				s.AddBOS, s.AddSEP = &no, &no
			}
		}, "hello")
		if got := texts(tk, mustEncode(t, tk, "hello", true, false)); !slices.Equal(got, []string{"[CLS]", "▁hello", "[SEP]"}) {
			t.Errorf("flags off %v: %q", off, got)
		}
		if got := texts(tk, mustEncode(t, tk, "hello", false, false)); !slices.Equal(got, []string{"▁hello"}) {
			t.Errorf("flags off %v, no specials: %q", off, got)
		}
	}
}
