package tokenizer

import (
	"bufio"
	"encoding/json"
	"os"
	"slices"
	"testing"
)

// TestHFRandomGolden encodes random mixed texts (Korean syllables and jamo
// glued to digits, every kind of whitespace, contractions, emoji, other
// scripts, code and special-token texts) with the qwen3, llama3 and exaone
// vocab GGUFs and compares with Hugging Face's ids for the same texts
// (testdata/hfrandom/golden.jsonl, written by gen.mjs with tokenizers.js
// from the tokenizer.json files in ../shared). Every case must match
// exactly, and its pieces must spell its text.
func TestHFRandomGolden(t *testing.T) {
	f, err := os.Open("testdata/hfrandom/golden.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type record struct {
		Text   string  `json:"text"`
		Qwen3  []int32 `json:"qwen3"`
		Llama3 []int32 `json:"llama3"`
		Exaone []int32 `json:"exaone"`
	}
	var recs []record
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		if line == 1 {
			continue // the header: generator, tool and seed
		}
		var r record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("golden.jsonl line %d: %v", line, err)
		}
		recs = append(recs, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
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
				var dec []byte
				for _, id := range got {
					p, err := tk.Piece(id, true)
					if err != nil {
						t.Fatalf("case %d: piece %d: %v", i, id, err)
					}
					dec = append(dec, p...)
				}
				if string(dec) != text {
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
