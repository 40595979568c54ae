package tokenizer

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/nuri-ai/nuri/internal/testshared"
)

// vocabCase is one test vector of llama.cpp's test-tokenizer-0 format.
type vocabCase struct {
	text string
	ids  []int32
}

// readVocabCases reads FILE.inp / FILE.out as test-tokenizer-0.cpp does:
// inputs are separated by "\n__ggml_vocab_test__\n" (so the newline that
// ends each input line is not part of it), outputs are one line of
// space-separated ids per input.
func readVocabCases(t testing.TB, inp, out string) []vocabCase {
	t.Helper()
	rawIn, err := os.ReadFile(inp)
	if err != nil {
		t.Fatal(err)
	}
	rawOut, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	const sep = "\n__ggml_vocab_test__\n"
	var texts []string
	s := string(rawIn)
	for pos := 0; pos < len(s); {
		next := strings.Index(s[pos:], sep)
		if next < 0 {
			texts = append(texts, s[pos:])
			break
		}
		texts = append(texts, s[pos:pos+next])
		pos += next + len(sep)
	}
	lines := strings.Split(strings.TrimSuffix(string(rawOut), "\n"), "\n")
	if len(lines) != len(texts) {
		t.Fatalf("%s: %d inputs but %d output lines", inp, len(texts), len(lines))
	}
	cases := make([]vocabCase, len(texts))
	for i, line := range lines {
		cases[i].text = texts[i]
		for _, f := range strings.Fields(line) {
			v, err := strconv.Atoi(f)
			if err != nil {
				t.Fatalf("%s line %d: %v", out, i+1, err)
			}
			cases[i].ids = append(cases[i].ids, int32(v))
		}
	}
	return cases
}

// loaded caches tokenizers across tests: loading the big Korean vocabs
// takes a moment and they are immutable.
var loaded sync.Map // path -> *Tokenizer

func loadVocab(t testing.TB, elem ...string) *Tokenizer {
	t.Helper()
	path := testshared.Path(t, elem...)
	if tk, ok := loaded.Load(path); ok {
		return tk.(*Tokenizer)
	}
	tk, err := LoadFile(path)
	if err != nil {
		t.Fatalf("load %s: %v", path, err)
	}
	loaded.Store(path, tk)
	return tk
}

func checkCases(t *testing.T, tk *Tokenizer, cases []vocabCase, roundtrip bool) {
	t.Helper()
	pass := 0
	for i, c := range cases {
		got, err := tk.Encode(c.text, false, false)
		if err != nil {
			t.Errorf("case %d %q: %v", i, c.text, err)
			continue
		}
		if !slices.Equal(got, c.ids) {
			t.Errorf("case %d %q:\n got  %v\n want %v", i, c.text, got, c.ids)
			continue
		}
		if roundtrip {
			dec, err := tk.Decode(got, false)
			if err != nil || string(dec) != c.text {
				t.Errorf("case %d: decode = %q, %v; want %q", i, dec, err, c.text)
				continue
			}
		}
		pass++
	}
	t.Logf("%d/%d cases exact", pass, len(cases))
}

// TestLlamaCppVocabs runs llama.cpp's own vocabulary test vectors. A
// vocabulary that comes without them (llama.cpp ships aquila, baichuan and
// gpt-neox so) must still load and encode its own tokens' text; at least
// one vocabulary must have vectors.
func TestLlamaCppVocabs(t *testing.T) {
	dir := testshared.Path(t, "testdata", "vocab")
	files, err := filepath.Glob(filepath.Join(dir, "*.gguf"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no vocab files in %s (%v)", dir, err)
	}
	withVectors := 0
	for _, f := range files {
		name := filepath.Base(f)
		_, statErr := os.Stat(f + ".inp")
		if statErr == nil {
			withVectors++
		}
		t.Run(strings.TrimSuffix(strings.TrimPrefix(name, "ggml-vocab-"), ".gguf"), func(t *testing.T) {
			tk := loadVocab(t, "testdata", "vocab", name)
			if statErr != nil {
				encodeOwnTokens(t, tk)
				return
			}
			checkCases(t, tk, readVocabCases(t, f+".inp", f+".out"), false)
		})
	}
	if withVectors == 0 {
		t.Fatalf("no vocabulary in %s has .inp/.out vectors", dir)
	}
}

// encodeOwnTokens encodes the text of every normal token (joined in
// batches, with and without special parsing) and decodes the result: no
// error, and every id within the vocabulary.
func encodeOwnTokens(t *testing.T, tk *Tokenizer) {
	t.Helper()
	var b strings.Builder
	flush := func() {
		for _, parse := range []bool{false, true} {
			ids, err := tk.Encode(b.String(), true, parse)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tk.Decode(ids, true); err != nil {
				t.Fatal(err)
			}
		}
		b.Reset()
	}
	for id := range int32(tk.NVocab()) {
		if tk.attrs[id]&attrNormal == 0 {
			continue
		}
		p, _ := tk.Piece(id, false)
		b.Write(p)
		if b.Len() > 4096 {
			flush()
		}
	}
	flush()
	t.Logf("no vectors: encoded the text of all %d tokens", tk.NVocab())
}

// TestKoreanVocabs runs the Hugging Face reference tokenizations of Korean
// text and checks that decoding returns the text byte for byte.
func TestKoreanVocabs(t *testing.T) {
	for _, name := range []string{"qwen3", "llama3", "exaone"} {
		t.Run(name, func(t *testing.T) {
			file := "ggml-vocab-" + name + ".gguf"
			tk := loadVocab(t, "testdata", "tokenizer", file)
			base := testshared.Path(t, "testdata", "tokenizer", file)
			cases := readVocabCases(t, base+".inp", base+".out")
			if len(cases) != 45 {
				t.Fatalf("%d cases, want 45", len(cases))
			}
			checkCases(t, tk, cases, true)
		})
	}
}

// TestUpstreamVectors runs llama.cpp's llama-bpe and qwen2 test vectors on
// the Llama 3 and Qwen3 vocabularies.
func TestUpstreamVectors(t *testing.T) {
	for _, c := range []struct{ vocab, vectors string }{
		{"ggml-vocab-llama3.gguf", "ggml-vocab-llama-bpe.gguf"},
		{"ggml-vocab-qwen3.gguf", "ggml-vocab-qwen2.gguf"},
	} {
		t.Run(c.vectors, func(t *testing.T) {
			tk := loadVocab(t, "testdata", "tokenizer", c.vocab)
			base := strings.TrimSuffix(testshared.Path(t, "testdata", "tokenizer", "upstream_llamacpp_tests", c.vectors+".inp"), ".inp")
			checkCases(t, tk, readVocabCases(t, base+".inp", base+".out"), false)
		})
	}
}
