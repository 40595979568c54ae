package main

import (
	"flag"
	"fmt"

	"github.com/nuri-ai/nuri/tokenizer"
)

// addNormalizationFlag registers --unicode-normalization, the form input
// text is normalized to before it is tokenized.
func addNormalizationFlag(fs *flag.FlagSet, n *tokenizer.Normalization) {
	fs.TextVar(n, "unicode-normalization", tokenizer.NormNone,
		"Unicode normalization of input text before tokenizing: none (llama.cpp's), nfc (what Hugging Face's tokenizer.json does for the Qwen family: Hangul typed as conjoining jamo becomes syllables), nfkc, nfd or nfkd")
}

// loadTokenizer loads the tokenizer of a GGUF file and sets its
// normalization.
func loadTokenizer(path string, n tokenizer.Normalization) (*tokenizer.Tokenizer, error) {
	tk, err := tokenizer.LoadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load tokenizer from %s: %w", path, err)
	}
	tk.SetNormalization(n)
	return tk, nil
}
