package tokenizer

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/nuri-ai/nuri/internal/testshared"
)

// TestChatTemplateGoldens encodes each rendered chat prompt the way a
// server does (special tokens parsed, BOS per the model, never doubled) and
// compares with Hugging Face's ids.
func TestChatTemplateGoldens(t *testing.T) {
	for _, name := range []string{"qwen3", "llama3", "exaone"} {
		t.Run(name, func(t *testing.T) {
			tk := loadVocab(t, "testdata", "tokenizer", "ggml-vocab-"+name+".gguf")
			raw, err := os.ReadFile(testshared.Path(t, "testdata", "tokenizer", "templates", name+".cases.json"))
			if err != nil {
				t.Fatal(err)
			}
			var cases []struct {
				Name     string  `json:"name"`
				Expected string  `json:"expected"`
				IDs      []int32 `json:"expected_ids_hf"`
			}
			if err := json.Unmarshal(raw, &cases); err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, c := range cases {
				if c.IDs == nil {
					continue
				}
				n++
				got, err := tk.Encode(c.Expected, true, true)
				if err != nil {
					t.Fatalf("%s: %v", c.Name, err)
				}
				if !slices.Equal(got, c.IDs) {
					t.Errorf("%s:\n got  %v\n want %v", c.Name, got, c.IDs)
				}
				dec, err := tk.Decode(got, true)
				if err != nil || string(dec) != c.Expected {
					t.Errorf("%s: decode(special) = %q, %v; want %q", c.Name, dec, err, c.Expected)
				}
			}
			if n == 0 {
				t.Fatal("no cases with expected_ids_hf")
			}
		})
	}
}

// TestStreamKoreanGoldens feeds every golden Korean id sequence to a
// StreamDecoder one id at a time: every chunk must be valid UTF-8 and the
// chunks must add up to the full decode (the original text).
func TestStreamKoreanGoldens(t *testing.T) {
	for _, name := range []string{"qwen3", "llama3", "exaone"} {
		t.Run(name, func(t *testing.T) {
			file := "ggml-vocab-" + name + ".gguf"
			tk := loadVocab(t, "testdata", "tokenizer", file)
			base := testshared.Path(t, "testdata", "tokenizer", file)
			held := 0 // pushes that returned nothing although the piece was not empty
			for i, c := range readVocabCases(t, base+".inp", base+".out") {
				d := tk.NewStreamDecoder(false)
				var sb strings.Builder
				for _, id := range c.ids {
					chunk, err := d.Push(id)
					if err != nil {
						t.Fatalf("case %d: push %d: %v", i, id, err)
					}
					if !utf8.ValidString(chunk) || strings.ContainsRune(chunk, utf8.RuneError) {
						t.Fatalf("case %d: chunk %q after id %d is not clean UTF-8", i, chunk, id)
					}
					if p, _ := tk.Piece(id, false); chunk == "" && len(p) > 0 {
						held++
					}
					sb.WriteString(chunk)
				}
				if rest := d.Flush(); rest != "" {
					t.Errorf("case %d: flush returned %q, want nothing pending", i, rest)
				}
				full, err := tk.Decode(c.ids, false)
				if err != nil {
					t.Fatal(err)
				}
				if sb.String() != string(full) || sb.String() != c.text {
					t.Errorf("case %d: streamed %q\nfull decode %q\ntext %q", i, sb.String(), full, c.text)
				}
			}
			// The fixtures do split Hangul syllables across tokens; make
			// sure the test exercised the hold-back path.
			if held == 0 {
				t.Errorf("no token ever ended inside a UTF-8 sequence; the test lost its point")
			}
			t.Logf("%d pushes held bytes back", held)
		})
	}
}

// TestKoreanEOG checks the end-of-generation sets of the Korean vocabs.
func TestKoreanEOG(t *testing.T) {
	cases := []struct {
		vocab string
		eog   []string
		bos   int32 // -1: none
		eos   int32
	}{
		{"qwen3", []string{"<|im_end|>", "<|endoftext|>"}, -1, 151645},
		{"llama3", []string{"<|eot_id|>", "<|end_of_text|>"}, 128000, 128001},
		{"exaone", []string{"[|endofturn|]", "<|endoftext|>"}, 1, 361},
	}
	for _, c := range cases {
		t.Run(c.vocab, func(t *testing.T) {
			tk := loadVocab(t, "testdata", "tokenizer", "ggml-vocab-"+c.vocab+".gguf")
			for _, txt := range c.eog {
				id, ok := tk.TokenID(txt)
				if !ok {
					t.Fatalf("%q not in vocab", txt)
				}
				if !tk.IsEOG(id) {
					t.Errorf("%q (%d) is not EOG", txt, id)
				}
			}
			bos, ok := tk.BOS()
			if (c.bos < 0) == ok || (ok && bos != c.bos) {
				t.Errorf("BOS = %d, %v; want %d", bos, ok, c.bos)
			}
			if eos, ok := tk.EOS(); !ok || eos != c.eos {
				t.Errorf("EOS = %d, %v; want %d", eos, ok, c.eos)
			}
			if tk.IsEOG(-1) || tk.IsEOG(int32(tk.NVocab())) {
				t.Error("out-of-range ids must not be EOG")
			}
			for _, txt := range []string{"안", "the", "<|im_start|>"} {
				if ids, err := tk.Encode(txt, false, true); err == nil && len(ids) == 1 && tk.IsEOG(ids[0]) {
					t.Errorf("%q is EOG", txt)
				}
			}
		})
	}
}
