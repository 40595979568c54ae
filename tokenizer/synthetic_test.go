package tokenizer

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

// toyBPE builds a byte-level vocabulary: the 256 byte runes, then the
// results of merges, then extra tokens.
func toyBPE(t *testing.T, pre string, merges []string, extra []string, types map[string]int32) *Tokenizer {
	t.Helper()
	bt := newByteTable()
	var toks []string
	for b := 0; b < 256; b++ {
		toks = append(toks, string(bt.toRune[b]))
	}
	seen := map[string]bool{}
	for _, m := range merges {
		a, b, _ := strings.Cut(m, " ")
		if !seen[a+b] {
			toks = append(toks, a+b)
			seen[a+b] = true
		}
	}
	toks = append(toks, extra...)
	ty := make([]int32, len(toks))
	for i, tok := range toks {
		ty[i] = TypeNormal
		if v, ok := types[tok]; ok {
			ty[i] = v
		}
	}
	tk, err := New(Spec{Model: "gpt2", Pre: pre, Tokens: toks, Types: ty, Merges: merges})
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func mustEncode(t *testing.T, tk *Tokenizer, text string, addSpecial, parseSpecial bool) []int32 {
	t.Helper()
	ids, err := tk.Encode(text, addSpecial, parseSpecial)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func texts(tk *Tokenizer, ids []int32) []string {
	var s []string
	for _, id := range ids {
		s = append(s, tk.TokenText(id))
	}
	return s
}

func TestToyBPEMergeOrder(t *testing.T) {
	// Ranks decide, not token length: "a b" (rank 0) beats "b c" (rank 1),
	// so "abc" becomes "ab"+"c" even though "bc" would also be a token.
	tk := toyBPE(t, "gpt-2", []string{"a b", "b c", "ab c", "Ġ a"}, nil, nil)
	cases := []struct {
		text string
		want []string
	}{
		{"abc", []string{"abc"}},
		{"bc", []string{"bc"}},
		{"abca", []string{"abc", "a"}},
		{" a", []string{"Ġa"}},
		{" ab", []string{"Ġ", "ab"}}, // rank 0 "a b" wins over rank 3 "Ġ a"
	}
	for _, c := range cases {
		got := texts(tk, mustEncode(t, tk, c.text, false, false))
		if !slices.Equal(got, c.want) {
			t.Errorf("%q: got %q want %q", c.text, got, c.want)
		}
	}
	// Ties in rank go to the leftmost pair: "aaa" with merge "a a" gives
	// "aa"+"a", not "a"+"aa".
	tk = toyBPE(t, "gpt-2", []string{"a a"}, nil, nil)
	if got := texts(tk, mustEncode(t, tk, "aaa", false, false)); !slices.Equal(got, []string{"aa", "a"}) {
		t.Errorf("aaa: got %q", got)
	}
}

// TestMergeHeapMatchesLinear checks the two merge implementations agree on
// random words, short and long, on a real vocabulary.
func TestMergeHeapMatchesLinear(t *testing.T) {
	tk := loadVocab(t, "testdata", "tokenizer", "ggml-vocab-qwen3.gguf")
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"가", "나", "다", "한", "국", "어", "a", "b", "e", "th", "in", " ", "1", "ㅋ", "!", "\xea", "\xb0"}
	var s scratch
	for i := 0; i < 2000; i++ {
		var sb strings.Builder
		n := 1 + rng.IntN(40)
		for j := 0; j < n; j++ {
			sb.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		w := sb.String()
		lin := tk.mergeLinear(w, &s, nil)
		hp := tk.mergeHeap(w, &s, nil)
		if !slices.Equal(lin, hp) {
			t.Fatalf("%q: linear %v heap %v", w, lin, hp)
		}
	}
}

func toySPM(t *testing.T) *Tokenizer {
	t.Helper()
	toks := []string{"<unk>", "<s>", "</s>"}
	ty := []int32{TypeUnknown, TypeControl, TypeControl}
	sc := []float32{0, 0, 0}
	for b := 0; b < 256; b++ {
		toks = append(toks, fmt.Sprintf("<0x%02X>", b))
		ty = append(ty, TypeByte)
		sc = append(sc, 0)
	}
	for _, w := range []struct {
		s     string
		score float32
	}{{"▁", -1}, {"h", -2}, {"e", -2}, {"l", -2}, {"o", -2}, {"▁h", -3}, {"he", -1.5}, {"ll", -1}, {"▁he", -2.5}, {"llo", -0.5}, {"▁hello", -0.1}, {"안", -2}} {
		toks = append(toks, w.s)
		ty = append(ty, TypeNormal)
		sc = append(sc, w.score)
	}
	tk, err := New(Spec{Model: "llama", Tokens: toks, Types: ty, Scores: sc})
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func TestToySPM(t *testing.T) {
	tk := toySPM(t)
	cases := []struct {
		text       string
		addSpecial bool
		want       []string
	}{
		{"hello", false, []string{"▁hello"}},
		{"hello", true, []string{"<s>", "▁hello"}},
		{"hell", false, []string{"▁he", "ll"}},
		{"안녕", false, []string{"▁", "안", "<0xEB>", "<0x85>", "<0x95>"}}, // byte fallback
		{"", true, []string{"<s>"}},
		{"", false, nil},
	}
	for _, c := range cases {
		got := texts(tk, mustEncode(t, tk, c.text, c.addSpecial, false))
		if !slices.Equal(got, c.want) {
			t.Errorf("%q: got %q want %q", c.text, got, c.want)
		}
	}
	// The space prefix comes back on a special token's right side too.
	got := texts(tk, mustEncode(t, tk, "hello</s>hello", false, true))
	if want := []string{"▁hello", "</s>", "▁hello"}; !slices.Equal(got, want) {
		t.Errorf("special split: got %q want %q", got, want)
	}
	// Decoding drops exactly one leading space (add_space_prefix) and
	// reassembles fallback bytes.
	for _, text := range []string{"hello", "안녕 hello", " hello", "hell o"} {
		ids := mustEncode(t, tk, text, false, false)
		dec, err := tk.Decode(ids, false)
		if err != nil || string(dec) != text {
			t.Errorf("decode(encode(%q)) = %q, %v", text, dec, err)
		}
	}
	// With BOS first, llama.cpp strips nothing (the BOS took the strip).
	ids := mustEncode(t, tk, "hello", true, false)
	if dec, _ := tk.Decode(ids, false); string(dec) != " hello" {
		t.Errorf("decode with BOS = %q, want %q", dec, " hello")
	}
}

func TestSpecialParsing(t *testing.T) {
	tk := loadVocab(t, "testdata", "tokenizer", "ggml-vocab-qwen3.gguf")
	start, _ := tk.TokenID("<|im_start|>")
	think, _ := tk.TokenID("<think>")
	got := mustEncode(t, tk, "<|im_start|>user", false, true)
	if len(got) != 2 || got[0] != start {
		t.Errorf("parse_special: %v", got)
	}
	got = mustEncode(t, tk, "<|im_start|>user", false, false)
	if slices.Contains(got, start) {
		t.Errorf("control token parsed without parse_special: %v", got)
	}
	// User-defined tokens are always split out.
	got = mustEncode(t, tk, "a<think>b", false, false)
	if !slices.Contains(got, think) {
		t.Errorf("user-defined token not split: %v", got)
	}
	// Control tokens render only with special.
	if p, _ := tk.Piece(start, false); len(p) != 0 {
		t.Errorf("control piece without special = %q", p)
	}
	if p, _ := tk.Piece(start, true); string(p) != "<|im_start|>" {
		t.Errorf("control piece with special = %q", p)
	}
	if p, _ := tk.Piece(think, false); string(p) != "<think>" {
		t.Errorf("user-defined piece = %q", p)
	}
}

func TestInvalidIDs(t *testing.T) {
	tk := toySPM(t)
	for _, id := range []int32{-1, int32(tk.NVocab()), 1 << 30} {
		if _, err := tk.Decode([]int32{5, id}, false); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("Decode(%d) err = %v", id, err)
		}
		if _, err := tk.Piece(id, true); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("Piece(%d) err = %v", id, err)
		}
		d := tk.NewStreamDecoder(false)
		if _, err := d.Push(id); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("Push(%d) err = %v", id, err)
		}
		if tk.TokenText(id) != "" || tk.IsEOG(id) || tk.IsControl(id) {
			t.Errorf("accessors accept id %d", id)
		}
	}
}

func TestNewErrors(t *testing.T) {
	yes := true
	cases := []struct {
		name string
		s    Spec
	}{
		{"empty", Spec{Model: "gpt2"}},
		{"model", Spec{Model: "bert", Tokens: []string{"a"}}},
		{"dup", Spec{Model: "gpt2", Tokens: []string{"a", "a"}}},
		{"pre", Spec{Model: "gpt2", Pre: "nope", Tokens: []string{"a"}}},
		{"bos", Spec{Model: "gpt2", Tokens: []string{"a"}, AddBOS: &yes}},
		{"scores", Spec{Model: "llama", Tokens: []string{"a", "b"}, Scores: []float32{0}}},
		{"types", Spec{Model: "llama", Tokens: []string{"a", "b"}, Types: []int32{1}}},
	}
	for _, c := range cases {
		if _, err := New(c.s); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
}

func TestCleanSpaces(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", ""},
		{"Hello , world !", "Hello, world!"},
		{"a ' b", "a'b"},
		{"it 's I 'm we 're you 've", "it's I'm we're you've"},
		{"don 't I 'd we 'll", "don 't I 'd we 'll"},
		{" ' ' ", "'' "}, // the zeroed space stops the second match, as in llama.cpp
		{"안녕 .", "안녕."},
	}
	for _, c := range cases {
		if got := string(cleanSpaces([]byte(c.in))); got != c.want {
			t.Errorf("cleanSpaces(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestStreamDecoderBytes(t *testing.T) {
	// A toy vocab whose tokens are single raw bytes lets the test push
	// arbitrary byte sequences.
	tk := toyBPE(t, "gpt-2", nil, []string{"<|x|>"}, map[string]int32{"<|x|>": TypeControl})
	ctrl, _ := tk.TokenID("<|x|>")
	push := func(d *StreamDecoder, bs string) []string {
		var out []string
		for i := 0; i < len(bs); i++ {
			id := tk.byteSym[bs[i]]
			s, err := d.Push(id)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
		}
		return out
	}
	cases := []struct {
		in    string
		want  []string
		flush string
	}{
		{"한", []string{"", "", "한"}, ""},
		{"a한b", []string{"a", "", "", "한", "b"}, ""},
		{"\xed\x95", []string{"", ""}, "\uFFFD\uFFFD"},       // cut short: flushed as U+FFFD
		{"\xed\x95a", []string{"", "", "\uFFFD\uFFFDa"}, ""}, // can never complete
		{"\xff", []string{"\uFFFD"}, ""},
		{"\xed\xa0", []string{"", "\uFFFD\uFFFD"}, ""}, // surrogate prefix is invalid
		{"\U0001F600", []string{"", "", "", "\U0001F600"}, ""},
	}
	for _, c := range cases {
		d := tk.NewStreamDecoder(false)
		got := push(d, c.in)
		if !slices.Equal(got, c.want) {
			t.Errorf("%q: chunks %q want %q", c.in, got, c.want)
		}
		if f := d.Flush(); f != c.flush {
			t.Errorf("%q: flush %q want %q", c.in, f, c.flush)
		}
		for _, s := range append(got, c.flush) {
			if !utf8.ValidString(s) {
				t.Errorf("%q: invalid chunk %q", c.in, s)
			}
		}
	}
	d := tk.NewStreamDecoder(false)
	if s, _ := d.Push(ctrl); s != "" {
		t.Errorf("control token streamed as %q without special", s)
	}
	d = tk.NewStreamDecoder(true)
	if s, _ := d.Push(ctrl); s != "<|x|>" {
		t.Errorf("control token streamed as %q with special", s)
	}
}

// TestConcurrentEncode runs Encode from several goroutines on one
// tokenizer (run with -race to check the word cache).
func TestConcurrentEncode(t *testing.T) {
	tk := loadVocab(t, "testdata", "tokenizer", "ggml-vocab-exaone.gguf")
	inputs := []string{"안녕하세요, 세계!", "대한민국의 수도는 서울입니다.", "Hello world 2024년", "  \t\n줄바꿈"}
	want := make([][]int32, len(inputs))
	for i, s := range inputs {
		want[i] = mustEncode(t, tk, s, false, false)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for k := 0; k < 200; k++ {
				i := (g + k) % len(inputs)
				got, err := tk.Encode(inputs[i], false, false)
				if err != nil || !slices.Equal(got, want[i]) {
					errs <- fmt.Sprintf("%q: %v %v", inputs[i], got, err)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestTextFilter checks the partition pre-filter never rules out a token
// that occurs.
func TestTextFilter(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	alpha := []byte("ab \t<|>")
	rnd := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alpha[rng.IntN(len(alpha))]
		}
		return string(b)
	}
	var f textFilter
	ruledOut := 0
	for i := 0; i < 3000; i++ {
		text := rnd(1 + rng.IntN(60))
		f.scan(text)
		for j := 0; j < 20; j++ {
			tok := rnd(1 + rng.IntN(6))
			if strings.Contains(text, tok) && !f.mayContain(tok) {
				t.Fatalf("filter rules out %q, which occurs in %q", tok, text)
			}
			if !f.mayContain(tok) {
				ruledOut++
			}
		}
	}
	if ruledOut == 0 {
		t.Error("filter never ruled anything out")
	}
}

// TestEOGRules checks the text-based EOG rules on a toy vocabulary.
func TestEOGRules(t *testing.T) {
	extra := []string{"<|endofturn|>", "<|stop|>", "<|end|>", "<|return|>", "<|call|>", "<|im_end|>", "plain"}
	types := map[string]int32{"<|endofturn|>": TypeUserDefined, "<|stop|>": TypeControl, "<|im_end|>": TypeNormal}
	tk := toyBPE(t, "gpt-2", nil, extra, types)
	id := func(s string) int32 {
		v, ok := tk.TokenID(s)
		if !ok {
			t.Fatalf("%q missing", s)
		}
		return v
	}
	for _, s := range []string{"<|endofturn|>", "<|stop|>", "<|return|>", "<|call|>", "<|im_end|>"} {
		if !tk.IsEOG(id(s)) {
			t.Errorf("%q should be EOG", s)
		}
	}
	// gpt-oss: with <|return|> and <|call|>, <|end|> is not EOG.
	if tk.IsEOG(id("<|end|>")) || tk.IsEOG(id("plain")) {
		t.Error("<|end|> or plain is EOG")
	}
	// llama.cpp forces its EOG texts to CONTROL; the Korean extras keep
	// their type (a user-defined marker still renders without special).
	if !tk.IsControl(id("<|im_end|>")) {
		t.Error("<|im_end|> not forced to control")
	}
	if p, _ := tk.Piece(id("<|endofturn|>"), false); string(p) != "<|endofturn|>" {
		t.Errorf("user-defined <|endofturn|> piece = %q", p)
	}
	if _, ok := tk.BOS(); ok {
		t.Error("BPE vocab without bos_token_id has a BOS")
	}

	// Solar Open: with <|calls|> and <|flush|>, <|end|> is not EOG either;
	// with <|end|> alone it is.
	solar := toyBPE(t, "gpt-2", nil, []string{"<|end|>", "<|calls|>", "<|flush|>"}, nil)
	alone := toyBPE(t, "gpt-2", nil, []string{"<|end|>", "<|flush|>"}, nil)
	for _, c := range []struct {
		tk   *Tokenizer
		want bool
	}{{solar, false}, {alone, true}} {
		end, _ := c.tk.TokenID("<|end|>")
		flush, _ := c.tk.TokenID("<|flush|>")
		if c.tk.IsEOG(end) != c.want || !c.tk.IsEOG(flush) {
			t.Errorf("<|end|> EOG %v (want %v), <|flush|> EOG %v (want true)", c.tk.IsEOG(end), c.want, c.tk.IsEOG(flush))
		}
	}
	// gpt-oss's channel markers always render.
	ch := toyBPE(t, "gpt-2", nil, []string{"<|channel|>"}, map[string]int32{"<|channel|>": TypeControl})
	chID, _ := ch.TokenID("<|channel|>")
	if p, _ := ch.Piece(chID, false); string(p) != "<|channel|>" {
		t.Errorf("<|channel|> piece without special = %q, want it rendered", p)
	}
}

// FIM finds the fill-in-the-middle tokens (and FIMRepo the repository
// ones) by their texts where the file names none (Qwen's vocabularies),
// and reports none where the vocabulary has none (Llama 3's, EXAONE's).
func TestFIMTokens(t *testing.T) {
	for _, tc := range []struct {
		file string
		ok   bool
	}{{"ggml-vocab-qwen3.gguf", true}, {"ggml-vocab-llama3.gguf", false}, {"ggml-vocab-exaone.gguf", false}} {
		tk := loadVocab(t, "testdata", "tokenizer", tc.file)
		pre, suf, mid, ok := tk.FIM()
		if ok != tc.ok {
			t.Errorf("%s: FIM ok %v, want %v", tc.file, ok, tc.ok)
			continue
		}
		if !ok {
			continue
		}
		repo, sep := tk.FIMRepo()
		for id, want := range map[int32]string{pre: "<|fim_prefix|>", suf: "<|fim_suffix|>", mid: "<|fim_middle|>", repo: "<|repo_name|>", sep: "<|file_sep|>"} {
			if got := tk.TokenText(id); id < 0 || got != want {
				t.Errorf("%s: token %d is %q, want %q", tc.file, id, got, want)
			}
		}
	}
	if repo, sep := loadVocab(t, "testdata", "tokenizer", "ggml-vocab-llama3.gguf").FIMRepo(); repo >= 0 || sep >= 0 {
		t.Errorf("llama3: repository FIM tokens %d %d, want none", repo, sep)
	}
}
