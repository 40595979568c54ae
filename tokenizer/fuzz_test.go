package tokenizer

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/nuri-ai/nuri/internal/testshared"
	"golang.org/x/text/unicode/norm"
)

// FuzzEncode feeds arbitrary bytes to the Korean BPE vocabularies and the
// SPM one. Nothing may panic or fail; on the byte-level BPE vocabularies
// valid UTF-8 must come back exactly from the tokens' pieces, and
// canonically equivalent with SetNormalization(NormNFC).
//
// The round trip uses the raw concatenation of pieces, not Decode:
// Decode applies llama.cpp's clean_spaces (for llama-bpe and exaone it
// turns "a ." into "a."), which is deliberately lossy. Every special token
// is rendered (special=true) because with parse_special the text may
// contain control tokens.
func FuzzEncode(f *testing.F) {
	bpe := []*Tokenizer{
		loadVocab(f, "testdata", "tokenizer", "ggml-vocab-qwen3.gguf"),
		loadVocab(f, "testdata", "tokenizer", "ggml-vocab-llama3.gguf"),
		loadVocab(f, "testdata", "tokenizer", "ggml-vocab-exaone.gguf"),
	}
	spm := loadVocab(f, "testdata", "vocab", "ggml-vocab-llama-spm.gguf")
	nfc := loadFresh(f, "testdata", "tokenizer", "ggml-vocab-qwen3.gguf")
	nfc.SetNormalization(NormNFC)
	// SentencePiece-style BPE over raw UTF-8 (Gemma 4's), on the test's
	// own vocabulary: every byte has its <0xXX> token, so valid UTF-8
	// without a literal ▁ returns exactly, each ▁ read as a space.
	raw, err := LoadFile(rawBPEVocabPath)
	if err != nil {
		f.Fatal(err)
	}
	// WordPiece and Unigram on small vocabularies of their own: both
	// normalize, so only the absence of errors and the ids are checked.
	others := []*Tokenizer{
		toyWPM(f, nil, "hello", "##llo", "he", "한", "##국", "a", "##a"),
		toyUGM(f, true, true, map[string]string{"Ａ": "A", "\u3000": " ", "ab": "X"}),
		toyUGM(f, false, false, nil),
	}
	edge, err := os.ReadFile(testshared.Path(f, "testdata", "korean", "edge_cases.txt"))
	if err != nil {
		f.Fatal(err)
	}
	for _, line := range strings.Split(string(edge), "\n") {
		f.Add([]byte(line))
	}
	for _, s := range []string{"", " ", "\xea\xb0", "\xff\xfe", "<|im_start|>user\n안녕<|im_end|>", "[|endofturn|]", "  \t\t\n\n  ", "I'm 2024년 ½"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		text := string(data)
		for _, tk := range bpe {
			for _, parse := range []bool{false, true} {
				ids, err := tk.Encode(text, true, parse)
				if err != nil {
					t.Fatalf("%s: %v", tk.PreType(), err)
				}
				var raw []byte
				d := tk.NewStreamDecoder(true)
				var streamed strings.Builder
				for i, id := range ids {
					if i == 0 && tk.AddBOS() {
						continue // the BOS Encode added
					}
					p, err := tk.Piece(id, true)
					if err != nil {
						t.Fatal(err)
					}
					raw = append(raw, p...)
					chunk, err := d.Push(id)
					if err != nil || !utf8.ValidString(chunk) {
						t.Fatalf("stream chunk %q, %v", chunk, err)
					}
					streamed.WriteString(chunk)
				}
				streamed.WriteString(d.Flush())
				if _, err := tk.Decode(ids, parse); err != nil {
					t.Fatal(err)
				}
				if utf8.Valid(data) {
					if !bytes.Equal(raw, data) {
						t.Fatalf("%s parse=%v: pieces %q != input %q (ids %v)", tk.PreType(), parse, raw, data, ids)
					}
					if streamed.String() != text {
						t.Fatalf("%s: streamed %q != input %q", tk.PreType(), streamed.String(), text)
					}
				} else if !utf8.ValidString(streamed.String()) {
					t.Fatalf("stream produced invalid UTF-8 %q", streamed.String())
				}
			}
		}
		for _, parse := range []bool{false, true} {
			ids, err := raw.Encode(text, true, parse)
			if err != nil {
				t.Fatalf("raw UTF-8 BPE: %v", err)
			}
			var back []byte
			for _, id := range ids[1:] { // after the BOS Encode added
				p, err := raw.Piece(id, true)
				if err != nil {
					t.Fatal(err)
				}
				back = append(back, p...)
			}
			// A ▁ can also come back as its bytes' tokens (a merged symbol
			// the vocabulary lacks falls back to bytes, as in llama.cpp).
			back = bytes.ReplaceAll(back, []byte(spaceMark), []byte(" "))
			if utf8.Valid(data) && !strings.Contains(text, spaceMark) && !bytes.Equal(back, data) {
				t.Fatalf("raw UTF-8 BPE parse=%v: pieces %q != input %q (ids %v)", parse, back, data, ids)
			}
		}
		// NFC on Qwen3: the pieces spell a text canonically equivalent to a
		// valid UTF-8 input (not always its NFC: a user-defined token such
		// as <think> is matched before the rest is normalized, so a U+0338
		// after its ">" is not composed with it).
		ids, err := nfc.Encode(text, false, false)
		if err != nil {
			t.Fatalf("nfc: %v", err)
		}
		var composed []byte
		for _, id := range ids {
			p, err := nfc.Piece(id, true)
			if err != nil {
				t.Fatal(err)
			}
			composed = append(composed, p...)
		}
		if utf8.Valid(data) && !bytes.Equal(norm.NFD.Bytes(composed), norm.NFD.Bytes(data)) {
			t.Fatalf("nfc: pieces %q not canonically equivalent to %q (ids %v)", composed, data, ids)
		}
		ids, err = spm.Encode(text, true, false)
		if err != nil {
			t.Fatalf("spm: %v", err)
		}
		if _, err := spm.Decode(ids, true); err != nil {
			t.Fatal(err)
		}
		for _, tk := range others {
			ids, err := tk.Encode(text, true, true)
			if err != nil {
				t.Fatalf("%s: %v", tk.kind, err)
			}
			if _, err := tk.Decode(ids, true); err != nil {
				t.Fatalf("%s: %v", tk.kind, err)
			}
		}
	})
}
