package tokenizer

import (
	"slices"
	"strings"
	"testing"
)

// pieces runs pre-tokenizer pre on text and returns the words.
func pieces(t *testing.T, pre, text string) []string {
	t.Helper()
	p, _, err := lookupPre(pre)
	if err != nil {
		t.Fatal(err)
	}
	var c cpText
	text = normalizeUTF8(text)
	c.load(cpTable(), text)
	var bufs [2][]int32
	var out []string
	lo := 0
	for _, e := range p.split(&c, &bufs) {
		out = append(out, text[c.off[lo]:c.off[e]])
		lo = int(e)
	}
	return out
}

func TestPreTokenizers(t *testing.T) {
	type tc struct {
		pre, text string
		want      []string
	}
	cases := []tc{
		// o200k (gpt-4o, llama4, kanana2): case-split words with their
		// contractions, up to three digits, symbols with trailing newlines
		// and slashes.
		{"kanana2", "Hello world", []string{"Hello", " world"}},
		{"gpt-4o", "helloWorld HTTPServer", []string{"hello", "World", " HTTPServer"}},
		{"llama4", "I'm don't YOU'LL", []string{"I'm", " don't", " YOU'LL"}},
		{"gpt-4o", "12345", []string{"123", "45"}},
		{"gpt-4o", "a/b x !!\n\nfoo", []string{"a", "/b", " x", " !!\n\n", "foo"}},
		{"kanana2", "안녕하세요 세계", []string{"안녕하세요", " 세계"}},
		{"gpt-4o", "ABC한국DEF ÉCOLEécole", []string{"ABC한국", "DEF", " ÉCOLEécole"}},
		{"gpt-4o", "e\u0301x", []string{"e\u0301x"}},
		// A mark is caseless: with the first alternative it stands alone
		// before a run that has no lower-case letter (ǅ is title case).
		{"gpt-4o", "\u0308Xǅ9", []string{"\u0308", "Xǅ", "9"}},
		{"gpt-4o", "  \n  x", []string{"  \n", " ", " x"}},
		// tekken: no contractions, single digits.
		{"tekken", "I'm 123", []string{"I", "'m", " ", "1", "2", "3"}},
		// Qwen3.5 keeps combining marks in words; Qwen2 does not.
		{"qwen35", "e\u0301x", []string{"e\u0301x"}},
		{"qwen2", "e\u0301x", []string{"e", "\u0301x"}},
		// Seed-Coder: symbols without their trailing newlines.
		{"seed-coder", "a;\n\nb", []string{"a", ";", "\n\n", "b"}},
		{"qwen2", "a;\n\nb", []string{"a", ";\n\n", "b"}},
		{"kormo", "2024년", []string{"2", "0", "2", "4", "년"}},
		// DeepSeek-V3: digits by three, CJK and kana runs, then words with
		// an ASCII punctuation lead; digit pieces stay whole as gaps.
		{"deepseek-v3", "Hello world", []string{"Hello", " world"}},
		{"deepseek-v3", "12345abc", []string{"123", "45", "abc"}},
		{"deepseek-v3", "'s (test)", []string{"'s", " (", "test", ")"}},
		{"deepseek-v3", "東京タワー 안녕 세계", []string{"東京タワー", " 안녕", " 세계"}},
		{"deepseek-v3", "a\u200d\u200d1", []string{"a", "\u200d\u200d", "1"}},
		// Youtu: Hangul (syllables and compatibility jamo), CJK
		// punctuation, bopomofo and CJK/kana runs stand alone first; then
		// o200k with single digits.
		{"youtu", "안녕ㄱ하세요, 世界！ㄅㄆ", []string{"안녕ㄱ하세요", ",", " ", "世界", "！", "ㄅㄆ"}},
		{"youtu", "HelloWorld 2024", []string{"Hello", "World", " ", "2", "0", "2", "4"}},
		// MiniCPM 5: digits by three, then Llama 3's regex.
		{"minicpm5", "12345 I'M", []string{"123", "45", " I", "'M"}},
		// K-EXAONE: words run on across single spaces.
		{"exaone-moe", "오늘 날씨가  좋다!", []string{"오늘 날씨가", " ", " 좋다", "!"}},
		{"exaone-moe", "I'm here", []string{"I", "'m", " here"}},
		{"exaone-moe", "a//\n\n12", []string{"a", "//\n", "\n", "1", "2"}},
		// BLOOM's delimiters stay between the words, as the gaps.
		{"bloom", "Hello, world! (test)", []string{"Hello", ",", " world", "! (", "test", ")"}},
		{"viking", "abc 123", []string{"abc", " ", "1", "2", "3"}},
		{"bloom", "a\tb", []string{"a", "\t", "b"}},
		// GPT-2 scanner: contractions (case-sensitive), ' ?\p{L}+', ' ?\p{N}+',
		// ' ?[^\s\p{L}\p{N}]+', '\s+(?!\S)', '\s+'.
		{"gpt-2", "", nil},
		{"gpt-2", "Hello world", []string{"Hello", " world"}},
		{"gpt-2", "I'm here", []string{"I", "'m", " here"}},
		{"gpt-2", "we'll they're", []string{"we", "'ll", " they", "'re"}},
		{"gpt-2", "don'T", []string{"don", "'", "T"}},
		{"gpt-2", "a  b", []string{"a", " ", " b"}},
		{"gpt-2", "a   ", []string{"a", "   "}},
		{"gpt-2", "x 123 45", []string{"x", " 123", " 45"}},
		{"gpt-2", "hi!!! ok", []string{"hi", "!!!", " ok"}},
		{"gpt-2", " !?", []string{" !?"}},
		{"gpt-2", "\n\nabc", []string{"\n", "\n", "abc"}},
		{"gpt-2", "안녕하세요 세계", []string{"안녕하세요", " 세계"}},
		{"gpt-2", " 2024년", []string{" 2024", "년"}},
		{"gpt-2", "ied 4 ½ months", []string{"ied", " 4", " ½", " months"}},
		{"exaone4", "ied 4 ½ months", []string{"ied", " 4", " ½", " months"}},
		{"a.x-4.0", "A.X 4.0", []string{"A", ".", "X", " 4", ".", "0"}},
		{"mpt", "a\u3000b", []string{"a", "\u3000", "b"}},
		// Llama 3: case-insensitive contractions, optional non-letter prefix
		// before letters, digits in threes, punctuation swallowing newlines,
		// \s*[\r\n]+.
		{"llama-bpe", "Hello world", []string{"Hello", " world"}},
		{"llama-bpe", "I'M", []string{"I", "'M"}},
		{"llama-bpe", "12345", []string{"123", "45"}},
		{"llama-bpe", "\t\tabc", []string{"\t", "\tabc"}},
		{"llama-bpe", "a\n\n b", []string{"a", "\n\n", " b"}},
		{"llama-bpe", "x...\n\ny", []string{"x", "...\n\n", "y"}},
		{"llama-bpe", "$100", []string{"$", "100"}},
		{"llama-bpe", "안녕!", []string{"안녕", "!"}},
		{"llama-bpe", "a  b", []string{"a", " ", " b"}},
		{"llama-bpe", "a  ", []string{"a", "  "}},
		{"llama-bpe", "(안녕)", []string{"(안녕", ")"}},
		{"midm-2.0", "2024년 5월", []string{"202", "4", "년", " ", "5", "월"}},
		// Qwen2: single digits.
		{"qwen2", "12345", []string{"1", "2", "3", "4", "5"}},
		{"qwen2", " 2024년", []string{" ", "2", "0", "2", "4", "년"}},
		{"qwen2", "'s 's", []string{"'s", " '", "s"}},
		{"qwen2", "a\r\n\r\nb", []string{"a", "\r\n\r\n", "b"}},
		// EXAONE (and starcoder/refact): \p{N} first, then GPT-2 per piece.
		{"exaone", " 2024년", []string{" ", "2", "0", "2", "4", "년"}},
		{"exaone", "a 1 b", []string{"a", " ", "1", " b"}},
		{"exaone", "ied 4 ½ months", []string{"ied", " ", "4", " ", "½", " months"}},
		{"starcoder", "x12", []string{"x", "1", "2"}},
		{"refact", "x  1", []string{"x", "  ", "1"}},
		// default: punctuation runs, GPT-2, \p{N}+, [0-9]{3}.
		{"default", "Hello, world!!! 12345", []string{"Hello", ",", " world", "!!!", " ", "123", "45"}},
		{"default", "x=`y`", []string{"x", "=", "`", "y", "`"}},
		// falcon: like default with ` in the class and no \p{N}+ step.
		{"falcon", "x=`y`", []string{"x", "=`", "y", "`"}},
		{"falcon", "1234567", []string{"123", "456", "7"}},
		// deepseek-llm: [\r\n], \s?latin+, \s?punct+, \s+$, CJK/Hangul, \p{N}+.
		{"deepseek-llm", "Hello 世界\n123 안녕 ", []string{"Hello", " ", "世界", "\n", "123", " ", "안녕", " "}},
		{"deepseek-llm", "a\u3000b", []string{"a", "\u3000b"}},
		{"deepseek-llm", "x。\u3000", []string{"x", "。", "\u3000"}}, // U+3000 is \s, not punctuation
		// deepseek-coder: [\r\n], \s?\p{L}+, \s?\p{P}+, CJK/Hangul, \p{N}.
		{"deepseek-coder", "def f(x):\n  return 1", []string{"def", " f", "(", "x", "):", "\n", " ", " return", " ", "1"}},
		{"deepseek-coder", "12", []string{"1", "2"}},
		// Invalid UTF-8 is seen as U+FFFD, as in llama.cpp.
		{"gpt-2", "a\xffb", []string{"a", "\uFFFD", "b"}},
		{"qwen2", "\xea\xb0", []string{"\uFFFD\uFFFD"}},
	}
	for _, c := range cases {
		got := pieces(t, c.pre, c.text)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s %q:\n got  %q\n want %q", c.pre, c.text, got, c.want)
		}
	}
}

func TestUnknownPre(t *testing.T) {
	if _, _, err := lookupPre("no-such-pre"); err == nil {
		t.Fatal("unknown pre-tokenizer accepted")
	}
	p, _, err := lookupPre("")
	if err != nil || p.name != "default" {
		t.Fatalf("missing pre: %v, %v", p, err)
	}
}

func TestNormalizeUTF8(t *testing.T) {
	cases := []struct{ in, want string }{
		{"안녕", "안녕"},
		{"a\xffb", "a\uFFFDb"},
		{"\xC0\x80", "\x00"},                             // overlong NUL decodes (leniently) to NUL
		{"\xED\xA0\x80", "\xED\xA0\x80"},                 // a surrogate passes through
		{"\xF4\x90\x80\x80", "\uFFFD\uFFFD\uFFFD\uFFFD"}, // beyond U+10FFFF
		{"\xEA\xB0", "\uFFFD\uFFFD"},
	}
	for _, c := range cases {
		if got := normalizeUTF8(c.in); got != c.want {
			t.Errorf("normalizeUTF8(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestFlags(t *testing.T) {
	tab := cpTable()
	cases := []struct {
		r    rune
		want cpFlags
	}{
		{'a', cfLetter}, {'가', cfLetter}, {'ㄱ', cfLetter}, {'7', cfNumber}, {'½', cfNumber},
		{' ', cfSeparator | cfWhitespace}, {'\n', cfControl | cfWhitespace}, {0x85, cfControl | cfWhitespace},
		{0x3000, cfSeparator | cfWhitespace}, {0x200B, cfControl}, {'.', cfPunct}, {'$', cfSymbol},
		{0x0301, cfMark}, {0xE000, cfControl}, {0x1C, cfControl}, {'😀', cfSymbol},
		{0x0378, cfControl}, {0x2EBF0, cfLetter}, {0x2FFC, cfSymbol}, {0x323B0, cfControl},
	}
	for _, c := range cases {
		if got := flagsOf(tab, c.r); got != c.want {
			t.Errorf("flags(%U) = %08b, want %08b", c.r, got, c.want)
		}
	}
}

// TestSeparatorPreTypes: RoBERTa-style vocabularies have a separator to
// join a pair with (AddSEP) when the file names one, but, as llama.cpp's
// llama_tokenize, do not end an encoded text with it.
func TestSeparatorPreTypes(t *testing.T) {
	bt := newByteTable()
	var toks []string
	for b := 0; b < 256; b++ {
		toks = append(toks, string(bt.toRune[b]))
	}
	toks = append(toks, "<s>", "</s>")
	types := make([]int32, len(toks))
	for i := range types {
		types[i] = TypeNormal
	}
	types[256], types[257] = TypeControl, TypeControl
	ids := map[string]uint32{"bos_token_id": 256, "seperator_token_id": 257}
	yes := true
	for _, c := range []struct {
		pre    string
		ids    map[string]uint32
		addSEP bool
	}{
		{"roberta-bpe", ids, true},
		{"jina-v2-code", map[string]uint32{"bos_token_id": 256}, false}, // no separator to add
		{"gpt-2", ids, false},
	} {
		tk, err := New(Spec{Model: "gpt2", Pre: c.pre, Tokens: toks, Types: types, IDs: c.ids, AddBOS: &yes})
		if err != nil {
			t.Fatal(err)
		}
		if got := texts(tk, mustEncode(t, tk, "a", true, false)); !slices.Equal(got, []string{"<s>", "a"}) || tk.AddSEP() != c.addSEP {
			t.Errorf("%s: got %q, add_sep %v; want [<s> a], %v", c.pre, got, tk.AddSEP(), c.addSEP)
		}
	}
	// A file that asks for the separator must name it.
	_, err := New(Spec{Model: "gpt2", Pre: "gpt-2", Tokens: toks, Types: types, AddSEP: &yes})
	if err == nil {
		t.Error("add_sep_token without a separator accepted")
	}
}

func TestPreTokenizersAdded(t *testing.T) {
	cases := []struct {
		pre, text string
		want      []string
	}{
		// Jais-2: power-of-two chunks of a space run, the last space to
		// the word.
		{"jais-2", "a" + strings.Repeat(" ", 7) + "b", []string{"a", "    ", "  ", " b"}},
		{"jais-2", "x   ", []string{"x", "  ", " "}},
		{"jais-2", "x\n  y", []string{"x", "\n", " ", " y"}},
		// Laguna: lines first, so a space before a line break stays apart.
		{"laguna", "a \nb", []string{"a", " ", "\n", "b"}},
		// SuperBPE: numbers in threes from the right, letters untouched.
		{"superbpe", "x1234567 y", []string{"x", "1", "234", "567", " y"}},
		// Tiny Aya: digit groups only before a non-word code point; a
		// number glued to a word is left to o200k's \p{N}{1,3}
		// (llama.cpp: "2", "024").
		{"tiny_aya", "1234567 2024년", []string{"1", "234", "567", " ", "202", "4", "년"}},
		// granite-embed-multi-97m: only ASCII letters have a case.
		{"granite-embed-multi-97m", "helloWorld éМИР", []string{"hello", "World", " éМИР"}},
	}
	for _, c := range cases {
		if got := pieces(t, c.pre, c.text); !slices.Equal(got, c.want) {
			t.Errorf("%s %q: got %q, want %q", c.pre, c.text, got, c.want)
		}
	}
	if _, _, err := lookupPre("kimi-k2"); err == nil || !strings.Contains(err.Error(), "not supported yet") {
		t.Errorf("kimi-k2: %v, want a not-supported error", err)
	}
}
