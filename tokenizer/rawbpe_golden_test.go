package tokenizer

import (
	"bufio"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/nuri-ai/nuri/gguf"
)

// SentencePiece-style BPE over raw UTF-8 (Gemma 4's tokenizer.ggml.model
// "gemma4", Sarvam's pre-type) against llama.cpp. No Gemma 4 vocabulary is
// in ../shared, so testdata/rawbpe-synth.gguf is one trained here (by
// writeRawBPEVocab, with -update-rawbpe) and
// testdata/rawbpe-llamacpp.txt is llama.cpp's tokenization of the test
// strings with it (testdata/README.md says how).

var updateRawBPE = flag.Bool("update-rawbpe", false, "rewrite testdata/rawbpe-synth.gguf (then regenerate rawbpe-llamacpp.txt with llama.cpp)")

const rawBPEVocabPath = "testdata/rawbpe-synth.gguf"

// rawBPETraining is extra training text beside the reference test strings.
var rawBPETraining = []string{
	"대한민국의 수도는 서울이다. 서울은 한강을 끼고 있으며 인구는 약 천만 명이다.",
	"오늘 날씨가 정말 좋네요! 우리 같이 공원에 산책하러 갈까요?",
	"언어 모델은 다음 토큰을 예측하도록 학습된다. 토큰화는 그 첫 단계이다.",
	"The quick brown fox jumps over the lazy dog. The dog sleeps.",
	"In the beginning the model reads the prompt, then it writes the answer token by token.",
	"func main() {\n\tfmt.Println(\"hello, world\")\n}\n",
	"def add(a, b):\n    return a + b\n\n\nprint(add(1, 2))\n",
}

// writeRawBPEVocab trains a small Gemma-4-style vocabulary on the test
// strings and rawBPETraining and writes it as a vocab-only GGUF: Gemma's
// special tokens, the 256 <0xXX> byte tokens, newline runs, every
// character seen twice or more (the rest fall back to bytes) and up to 700
// merges over whole lines with spaces written ▁, while a pair occurs twice
// (a few merge results left out of the vocabulary, as converted
// vocabularies sometimes have them).
func writeRawBPEVocab(path string, tests []string) error {
	var lines [][]string
	chars := map[string]int{}
	for _, text := range append(slices.Clone(tests), rawBPETraining...) {
		for _, line := range strings.Split(strings.ReplaceAll(text, " ", spaceMark), "\n") {
			if !utf8.ValidString(line) || line == "" {
				continue
			}
			var syms []string
			for _, r := range line {
				syms = append(syms, string(r))
				chars[string(r)]++
			}
			lines = append(lines, syms)
		}
	}
	tokens := []string{"<pad>", "<eos>", "<bos>", "<unk>", "<mask>", "<|turn>", "<turn|>", "<|tool_response>", "</s>", "<|channel>"}
	types := []int32{3, 3, 3, 2, 4, 3, 3, 3, 1, 4}
	for b := 0; b < 256; b++ {
		tokens = append(tokens, fmt.Sprintf("<0x%02X>", b))
		types = append(types, 6)
	}
	for _, nl := range []string{"\n", "\n\n", "\n\n\n", "\t"} {
		tokens, types = append(tokens, nl), append(types, 1)
	}
	have := map[string]bool{}
	for _, tk := range tokens {
		have[tk] = true
	}
	var single []string
	for c, n := range chars {
		if n >= 2 && !have[c] {
			single = append(single, c)
		}
	}
	slices.Sort(single)
	for _, c := range single {
		tokens, types, have[c] = append(tokens, c), append(types, 1), true
	}
	var merges []string
	for len(merges) < 700 {
		counts := map[[2]string]int{}
		for _, syms := range lines {
			for i := 0; i+1 < len(syms); i++ {
				counts[[2]string{syms[i], syms[i+1]}]++
			}
		}
		var best [2]string
		bestN := 1
		for p, n := range counts {
			if n > bestN || n == bestN && (p[0] < best[0] || p[0] == best[0] && p[1] < best[1]) {
				best, bestN = p, n
			}
		}
		if bestN < 2 {
			break
		}
		merges = append(merges, best[0]+" "+best[1])
		joined := best[0] + best[1]
		if len(merges)%97 != 0 && !have[joined] {
			tokens, types, have[joined] = append(tokens, joined), append(types, 1), true
		}
		for li, syms := range lines {
			out := syms[:0]
			for i := 0; i < len(syms); i++ {
				if i+1 < len(syms) && syms[i] == best[0] && syms[i+1] == best[1] {
					out = append(out, joined)
					i++
					continue
				}
				out = append(out, syms[i])
			}
			lines[li] = out
		}
	}
	w, err := gguf.Create(path)
	if err != nil {
		return err
	}
	scores := make([]float32, len(tokens))
	for i := range scores {
		scores[i] = -float32(i)
	}
	kvs := []gguf.KV{
		{Key: "general.architecture", Value: gguf.String("llama")},
		{Key: "general.name", Value: gguf.String("rawbpe-synth")},
		{Key: "llama.context_length", Value: gguf.Uint32(128)},
		{Key: "llama.embedding_length", Value: gguf.Uint32(64)},
		{Key: "llama.block_count", Value: gguf.Uint32(1)},
		{Key: "llama.feed_forward_length", Value: gguf.Uint32(128)},
		{Key: "llama.attention.head_count", Value: gguf.Uint32(4)},
		{Key: "llama.attention.layer_norm_rms_epsilon", Value: gguf.Float32(1e-6)},
		{Key: "tokenizer.ggml.model", Value: gguf.String("gemma4")},
		{Key: "tokenizer.ggml.tokens", Value: gguf.Strings(tokens)},
		{Key: "tokenizer.ggml.scores", Value: gguf.Float32s(scores)},
		{Key: "tokenizer.ggml.token_type", Value: gguf.Int32s(types)},
		{Key: "tokenizer.ggml.merges", Value: gguf.Strings(merges)},
		{Key: "tokenizer.ggml.bos_token_id", Value: gguf.Uint32(2)},
		{Key: "tokenizer.ggml.eos_token_id", Value: gguf.Uint32(1)},
		{Key: "tokenizer.ggml.unknown_token_id", Value: gguf.Uint32(3)},
		{Key: "tokenizer.ggml.padding_token_id", Value: gguf.Uint32(0)},
		{Key: "tokenizer.ggml.add_space_prefix", Value: gguf.Bool(false)},
		// False on purpose: llama.cpp adds Gemma 4's BOS regardless.
		{Key: "tokenizer.ggml.add_bos_token", Value: gguf.Bool(false)},
	}
	for _, kv := range kvs {
		if err := w.Set(kv.Key, kv.Value); err != nil {
			w.Close()
			return err
		}
	}
	return w.Close()
}

// rawBPETestStrings are the pre-tokenizer reference's strings plus the
// cases particular to this tokenizer: special tokens, newline runs taken
// whole or not, characters only bytes can spell.
func rawBPETestStrings(t *testing.T) []string {
	tests := readPretokStrings(t)
	return append(tests,
		"<bos><|turn>user\n안녕하세요<turn|>\n<|turn>model\n",
		"</s> 는 문장 끝이 아니다</s>",
		"\n", "\n\n", "\n\n\n", "\n\n\n\n", "\n\n\n\n\n\n\n", "a\n\n\n\nb", " \n \n",
		"   세 칸   띄어 쓴   문장   ",
		"희귀한 글자: 龘 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 🦄🫠",
		"\t탭\t\t과 줄\r\n바꿈",
		"",
	)
}

// readPretokStrings returns the T strings of testdata/pretok-llamacpp.txt.
func readPretokStrings(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile("testdata/pretok-llamacpp.txt")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		if h, ok := strings.CutPrefix(line, "T "); ok {
			b, err := hex.DecodeString(h)
			if err != nil {
				t.Fatalf("pretok T line: %v", err)
			}
			out = append(out, string(b))
		}
	}
	return out
}

// sarvamVariant writes the vocabulary as Sarvam's tokenizer (model
// "gpt2", pre-type sarvam-moe) to path.
func sarvamVariant(path string) error {
	f, err := gguf.Open(rawBPEVocabPath)
	if err != nil {
		return err
	}
	defer f.Close()
	w, err := gguf.Create(path)
	if err != nil {
		return err
	}
	if err := w.CopyKVs(f, nil); err != nil {
		w.Close()
		return err
	}
	for _, kv := range []gguf.KV{
		{Key: "tokenizer.ggml.model", Value: gguf.String("gpt2")},
		{Key: "tokenizer.ggml.pre", Value: gguf.String("sarvam-moe")},
	} {
		if err := w.Set(kv.Key, kv.Value); err != nil {
			w.Close()
			return err
		}
	}
	return w.Close()
}

func TestRawBPEAgainstLlamaCpp(t *testing.T) {
	tests := rawBPETestStrings(t)
	if *updateRawBPE {
		if err := writeRawBPEVocab(rawBPEVocabPath, tests); err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, s := range tests {
			fmt.Fprintf(&b, "%x\n", s)
		}
		if err := os.WriteFile("testdata/rawbpe-strings.hex", []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := sarvamVariant("testdata/rawbpe-sarvam.gguf"); err != nil {
			t.Fatal(err)
		}
		t.Log("wrote the vocabularies and the strings; run llama.cpp's tokenizer over them next (testdata/README.md)")
	}
	sarvam := filepath.Join(t.TempDir(), "sarvam.gguf")
	if err := sarvamVariant(sarvam); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, vocab, ref string }{
		{"gemma4", rawBPEVocabPath, "testdata/rawbpe-llamacpp.txt"},
		{"sarvam-moe", sarvam, "testdata/rawbpe-sarvam-llamacpp.txt"},
	} {
		t.Run(c.name, func(t *testing.T) {
			tk, err := LoadFile(c.vocab)
			if err != nil {
				t.Fatal(err)
			}
			checkRawBPE(t, tk, tests, c.ref)
			gemma := c.name == "gemma4"
			if tk.addBOS != gemma || !tk.IsEOG(tk.byText["<turn|>"]) || tk.IsEOG(tk.byText["</s>"]) {
				t.Errorf("add BOS %v, <turn|> EOG %v, </s> EOG %v: want %v, true, false (llama.cpp's rules)",
					tk.addBOS, tk.IsEOG(tk.byText["<turn|>"]), tk.IsEOG(tk.byText["</s>"]), gemma)
			}
		})
	}
}

// checkRawBPE compares tk's tokenization and detokenization of tests with
// llama.cpp's rows in ref.
func checkRawBPE(t *testing.T, tk *Tokenizer, tests []string, ref string) {
	f, err := os.Open(ref)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		if n >= len(tests) {
			t.Fatalf("reference has more rows than the %d test strings", len(tests))
		}
		text := tests[n]
		n++
		idsField, detokHex, ok := strings.Cut(sc.Text(), "\t")
		if !ok {
			t.Fatalf("row %d: no tab", n)
		}
		var want []int32
		for _, w := range strings.Fields(idsField) {
			v, err := strconv.Atoi(w)
			if err != nil {
				t.Fatalf("row %d: %v", n, err)
			}
			want = append(want, int32(v))
		}
		if len(want) > 1 && want[0] == tk.bos && want[1] == tk.bos && strings.HasPrefix(text, tk.texts[tk.bos]) {
			want = want[1:] // Encode's one difference: no second BOS (encode.go)
		}
		got := mustEncode(t, tk, text, true, true)
		if !slices.Equal(got, want) {
			t.Errorf("%q:\n got %v %q\nwant %v %q", text, got, texts(tk, got), want, texts(tk, want))
			continue
		}
		wantText, err := hex.DecodeString(detokHex)
		if err != nil {
			t.Fatalf("row %d: %v", n, err)
		}
		// llama_detokenize(remove_special=false, unparse_special=false):
		// the special tokens' texts left out.
		gotText, err := tk.Decode(got, false)
		if err != nil {
			t.Fatal(err)
		}
		if string(gotText) != string(wantText) {
			t.Errorf("decode %q: got %q, want %q", text, gotText, wantText)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n != len(tests) {
		t.Fatalf("reference has %d rows for %d test strings", n, len(tests))
	}
}
