package tokenizer

import (
	"slices"
	"testing"

	"github.com/nuri-ai/nuri/internal/testshared"
	"golang.org/x/text/unicode/norm"
)

// loadFresh loads a vocabulary of its own, for tests that change a
// Tokenizer's settings (loadVocab's are shared between tests).
func loadFresh(t testing.TB, elem ...string) *Tokenizer {
	t.Helper()
	tk, err := LoadFile(testshared.Path(t, elem...))
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func TestParseNormalization(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Normalization
		err  bool
	}{
		{"", NormNone, false},
		{"none", NormNone, false},
		{"nfc", NormNFC, false},
		{"NFC", NormNFC, false},
		{"nfd", NormNFD, false},
		{"NfKc", NormNFKC, false},
		{"nfkd", NormNFKD, false},
		{"nfx", NormNone, true},
		{"nfc ", NormNone, true},
	} {
		got, err := ParseNormalization(c.in)
		if (err != nil) != c.err || got != c.want {
			t.Errorf("ParseNormalization(%q) = %v, %v; want %v, error %v", c.in, got, err, c.want, c.err)
		}
		if err == nil {
			if back, _ := ParseNormalization(got.String()); back != got {
				t.Errorf("%v does not read back from its name", got)
			}
		}
	}
}

// TestNormalizationEncode checks each form on byte-level BPE (Qwen3) and
// SentencePiece (llama-spm): the text between special tokens is encoded as
// its normal form would be, the special tokens stay whole, a mark after one
// is not composed with it, and NormNone keeps the bytes as given.
func TestNormalizationEncode(t *testing.T) {
	qwen := loadFresh(t, "testdata", "tokenizer", "ggml-vocab-qwen3.gguf")
	spm := loadFresh(t, "testdata", "vocab", "ggml-vocab-llama-spm.gguf")
	imEnd, ok := qwen.TokenID("<|im_end|>")
	if !ok {
		t.Fatal("qwen3 has no <|im_end|>")
	}
	hangulNFD := norm.NFD.String("한국어 문장입니다") // conjoining jamo
	for _, c := range []struct {
		name string
		tk   *Tokenizer
		form Normalization
		text string
		same string // encodes like this text without normalization
	}{
		{"qwen nfc hangul", qwen, NormNFC, hangulNFD, "한국어 문장입니다"},
		{"qwen nfc trailing jamo", qwen, NormNFC, "가\u11a8 하\u11ab", "각 한"},
		{"qwen nfc mark order", qwen, NormNFC, "q\u0307\u0323 e\u0301cole", "q\u0323\u0307 école"},
		{"qwen nfc singleton", qwen, NormNFC, "\u212b \uf900", "Å 豈"},
		{"qwen nfkc width", qwen, NormNFKC, "Ｈｅｌｌｏ\u3000①ﬁ", "Hello 1fi"},
		{"qwen nfd", qwen, NormNFD, "한 é", "\u1112\u1161\u11ab e\u0301"},
		{"qwen nfkd", qwen, NormNFKD, "①é", "1e\u0301"},
		{"qwen none", qwen, NormNone, hangulNFD, hangulNFD},
		{"qwen invalid utf-8", qwen, NormNFC, "\xff\xfe가\u11a8\xea", "\xff\xfe각\xea"},
		{"spm nfc", spm, NormNFC, "cafe\u0301 a\u030a", "café å"},
		{"spm nfkc", spm, NormNFKC, "ｆｉｌｅ①", "file1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			want, err := c.tk.Encode(c.same, true, true)
			if err != nil {
				t.Fatal(err)
			}
			c.tk.SetNormalization(c.form)
			defer c.tk.SetNormalization(NormNone)
			if c.tk.Normalization() != c.form {
				t.Fatalf("Normalization() = %v", c.tk.Normalization())
			}
			got, err := c.tk.Encode(c.text, true, true)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				t.Errorf("Encode(%q) = %v; want %v (the ids of %q)", c.text, got, want, c.same)
			}
		})
	}

	t.Run("special tokens", func(t *testing.T) {
		qwen.SetNormalization(NormNFC)
		defer qwen.SetNormalization(NormNone)
		// NFC of the whole text would turn ">" + U+0338 into U+226F and
		// lose the token; Hugging Face splits the added tokens out first.
		got, err := qwen.Encode("가\u11a8<|im_end|>\u0338e\u0301", false, true)
		if err != nil {
			t.Fatal(err)
		}
		qwen.SetNormalization(NormNone)
		head, _ := qwen.Encode("각", false, true)
		tail, _ := qwen.Encode("\u0338é", false, true)
		want := slices.Concat(head, []int32{imEnd}, tail)
		if !slices.Equal(got, want) {
			t.Errorf("got %v; want %v", got, want)
		}
	})
}

// TestNormalizationNoAlloc: text already in the normal form costs no copy.
func TestNormalizationNoAlloc(t *testing.T) {
	qwen := loadFresh(t, "testdata", "tokenizer", "ggml-vocab-qwen3.gguf")
	qwen.SetNormalization(NormNFC)
	s := qwen.getScratch()
	defer qwen.putScratch(s)
	text := "<|im_start|>user\n안녕하세요, café!<|im_end|>"
	frags := qwen.partition(text, true, s)
	n := len(frags)
	allocs := testing.AllocsPerRun(100, func() {
		got, out := qwen.normalizeFragments(text, frags, s)
		if got != text || len(out) != n {
			t.Fatalf("normalizeFragments changed NFC text %q", text)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations for text already in NFC", allocs)
	}
}
