package model_test

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/nuri-ai/nuri/internal/testshared"
	"github.com/nuri-ai/nuri/quant"
	"github.com/nuri-ai/nuri/tokenizer"
)

// readmeTexts returns the fenced code blocks of the shared models README:
// the expected greedy texts of stories260K, in the README's order (from
// the "Once upon a time" prompt, then from BOS alone).
func readmeTexts(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(testshared.Path(t, "models", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var blocks []string
	parts := strings.Split(string(b), "```")
	for i := 1; i < len(parts); i += 2 {
		blk := strings.TrimPrefix(parts[i], "\n")
		blocks = append(blocks, strings.TrimSuffix(blk, "\n"))
	}
	if len(blocks) < 2 {
		t.Fatalf("models/README.md has %d code blocks, want the two expected texts", len(blocks))
	}
	return blocks
}

// TestStoriesGreedy decodes stories260K greedily through the KV cache
// (one token per forward pass after the prompt) and compares the text with
// llama.cpp's and llama2.c's outputs byte for byte. The text is built as a
// streaming runner prints it: the prompt as typed, then each generated
// token's piece; after a bare BOS the first piece loses its leading space
// (llama2.c's rule).
//
// The number of steps is the README's (120, 200) or, when the README text
// is longer, as many as its tokenization needs: the "Once upon a time"
// text takes 127 generated tokens although the README says 120.
func TestStoriesGreedy(t *testing.T) {
	path := testshared.Path(t, "models", "stories260K.gguf")
	texts := readmeTexts(t)
	m := loadModel(t, path)
	tok, err := tokenizer.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	bos, ok := tok.BOS()
	if !ok {
		t.Fatal("stories260K has no BOS token")
	}
	cases := []struct {
		name       string
		promptText string
		prompt     []int32
		steps      int
		want       string
	}{
		{"once-upon-a-time", "Once upon a time", []int32{1, 403, 407, 261, 378}, 120, texts[0]},
		{"bos", "", []int32{bos}, 200, texts[1]},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			enc, err := tok.Encode(c.promptText, true, false)
			if err != nil || !sameTokens(enc, c.prompt) {
				t.Fatalf("prompt %q encodes to %v (%v), want %v", c.promptText, enc, err, c.prompt)
			}
			want, err := tok.Encode(c.want, true, false)
			if err != nil {
				t.Fatal(err)
			}
			steps := max(c.steps, len(want)-len(c.prompt))
			if steps != c.steps {
				t.Logf("README text is %d generated tokens, README says %d", steps, c.steps)
			}
			for _, kvType := range []quant.Type{quant.F16, quant.F32} {
				gen, _, err := greedy(m, c.prompt, steps, kvType)
				if err != nil {
					t.Fatal(err)
				}
				text := []byte(c.promptText)
				for i, id := range gen {
					p, err := tok.Piece(id, false)
					if err != nil {
						t.Fatal(err)
					}
					if i == 0 && len(c.prompt) == 1 {
						p = bytes.TrimPrefix(p, []byte(" "))
					}
					text = append(text, p...)
				}
				if string(text) != c.want {
					t.Errorf("KV %v: greedy text differs\n got: %q\nwant: %q", kvType, text, c.want)
				}
			}
		})
	}
}
