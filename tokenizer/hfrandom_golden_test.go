package tokenizer

import (
	"slices"
	"testing"

	"golang.org/x/text/unicode/norm"

	"github.com/nuri-ai/nuri/internal/testshared"
)

// TestHFRandomGolden encodes random mixed texts (Korean syllables and jamo
// glued to digits, every kind of whitespace, contractions, emoji, other
// scripts, code and special-token texts) with the qwen3, llama3 and exaone
// vocab GGUFs and compares with Hugging Face's ids for the same texts
// (testdata/hfrandom/golden.jsonl, written by gen.mjs with tokenizers.js
// from the tokenizer.json files in ../shared). Every case must match
// exactly, and its pieces must spell its text.
func TestHFRandomGolden(t *testing.T) {
	type record struct {
		Text   string  `json:"text"`
		Qwen3  []int32 `json:"qwen3"`
		Llama3 []int32 `json:"llama3"`
		Exaone []int32 `json:"exaone"`
	}
	recs := testshared.ReadGoldenLines[record](t, "testdata/hfrandom/golden.jsonl")
	if len(recs) < 300 {
		t.Fatalf("golden.jsonl: %d cases, want 300", len(recs))
	}
	for _, v := range []struct {
		name string
		ids  func(r *record) []int32
	}{
		{"qwen3", func(r *record) []int32 { return r.Qwen3 }},
		{"llama3", func(r *record) []int32 { return r.Llama3 }},
		{"exaone", func(r *record) []int32 { return r.Exaone }},
	} {
		t.Run(v.name, func(t *testing.T) {
			tk := loadVocab(t, "testdata", "tokenizer", "ggml-vocab-"+v.name+".gguf")
			pass, n := 0, 0
			for i := range recs {
				want := v.ids(&recs[i])
				if want == nil {
					continue // a text gen.mjs kept from this vocabulary
				}
				n++
				text := recs[i].Text
				got, err := tk.Encode(text, false, true)
				if err != nil {
					t.Errorf("case %d %q: %v", i, text, err)
					continue
				}
				if !slices.Equal(got, want) {
					t.Errorf("case %d %q:\n got  %v\n want %v", i, text, got, want)
					continue
				}
				// The pieces, not Decode: Llama 3's and EXAONE's decoders clean
				// up the space before a contraction, as Hugging Face's do.
				if dec := joinPieces(t, tk, got); string(dec) != text {
					t.Errorf("case %d: pieces = %q; want %q", i, dec, text)
					continue
				}
				pass++
			}
			// Fewer for exaone, whose texts with non-ASCII numerals are left out.
			if n < 150 {
				t.Errorf("only %d cases for %s", n, v.name)
			}
			t.Logf("%d/%d cases exact", pass, n)
		})
	}
}

// TestNormalizationGolden encodes texts that are not in NFC (Hangul as
// conjoining jamo, combining marks out of order, singletons, compatibility
// ideographs, marks right after special-token texts) with the qwen3 vocab
// GGUF and SetNormalization(NormNFC), and compares with Hugging Face's ids
// from the tokenizer.json, whose normalizer is NFC
// (testdata/hfrandom/normalized.jsonl, written by gen_norm.mjs). Without
// the normalization the texts must tokenize differently: llama.cpp's
// behaviour, and the reason for the option.
func TestNormalizationGolden(t *testing.T) {
	type record struct {
		Text  string  `json:"text"`
		Qwen3 []int32 `json:"qwen3"`
	}
	recs := testshared.ReadGoldenLines[record](t, "testdata/hfrandom/normalized.jsonl")
	if len(recs) < 300 {
		t.Fatalf("normalized.jsonl: %d cases, want 300", len(recs))
	}
	tk := loadFresh(t, "testdata", "tokenizer", "ggml-vocab-qwen3.gguf")
	differ := 0
	for i, r := range recs {
		raw, err := tk.Encode(r.Text, false, true)
		if err != nil {
			t.Fatalf("case %d %q: %v", i, r.Text, err)
		}
		if !slices.Equal(raw, r.Qwen3) {
			differ++
		}
	}
	tk.SetNormalization(NormNFC)
	for i, r := range recs {
		got, err := tk.Encode(r.Text, false, true)
		if err != nil {
			t.Errorf("case %d %q: %v", i, r.Text, err)
			continue
		}
		if !slices.Equal(got, r.Qwen3) {
			t.Errorf("case %d %q:\n got  %v\n want %v", i, r.Text, got, r.Qwen3)
			continue
		}
		// The pieces spell a text canonically equivalent to the input.
		if dec := joinPieces(t, tk, got); norm.NFD.String(string(dec)) != norm.NFD.String(r.Text) {
			t.Errorf("case %d: pieces %q are not canonically equivalent to %q", i, dec, r.Text)
		}
	}
	// Without the normalization the pieces spell the text as given, so a
	// case keeps its ids only where its text is in NFC between the special
	// tokens (a mark right after one): a few at most.
	if differ < len(recs)*9/10 {
		t.Errorf("only %d of %d cases tokenize differently without NFC", differ, len(recs))
	}
	t.Logf("%d of %d cases differ without NFC", differ, len(recs))
}

// joinPieces is the raw text of ids' pieces, control tokens' included.
func joinPieces(t *testing.T, tk *Tokenizer, ids []int32) []byte {
	t.Helper()
	var b []byte
	for _, id := range ids {
		p, err := tk.Piece(id, true)
		if err != nil {
			t.Fatalf("piece %d: %v", id, err)
		}
		b = append(b, p...)
	}
	return b
}
