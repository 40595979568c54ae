package tokenizer

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestCheckDraft(t *testing.T) {
	qwen := loadVocab(t, "testdata", "tokenizer", "ggml-vocab-qwen3.gguf")
	llama := loadVocab(t, "testdata", "tokenizer", "ggml-vocab-llama3.gguf")
	exaone := loadVocab(t, "testdata", "tokenizer", "ggml-vocab-exaone.gguf")
	spm := loadVocab(t, "testdata", "vocab", "ggml-vocab-llama-spm.gguf")

	// Small synthetic vocabularies: a base, one padded with a few
	// tokens, one with a token renamed, one far larger.
	spec := func(n int, edit func(toks []string)) *Tokenizer {
		toks := []string{"<unk>", "<s>", "</s>"}
		for i := len(toks); i < n; i++ {
			toks = append(toks, fmt.Sprintf("tok%d", i))
		}
		if edit != nil {
			edit(toks)
		}
		ty := slices.Repeat([]int32{1}, n)
		ty[0], ty[1], ty[2] = 2, 3, 3
		bos, eos := uint32(1), uint32(2)
		tk, err := New(Spec{Model: "llama", Tokens: toks, Types: ty, IDs: map[string]uint32{"bos_token_id": bos, "eos_token_id": eos}})
		if err != nil {
			t.Fatal(err)
		}
		return tk
	}
	base := spec(300, nil)
	for _, tc := range []struct {
		name     string
		model, d *Tokenizer
		want     string // "" for compatible, else a part of the error
	}{
		{"the same vocabulary", qwen, qwen, ""},
		{"padded with a few tokens", base, spec(310, nil), ""},
		{"a renamed early control token", base, spec(300, func(t []string) { t[3] = "<pad>" }), ""},
		{"a renamed token", base, spec(300, func(t []string) { t[200] = "other" }), `token 200 is "other"`},
		{"far larger", base, spec(300+129, nil), "sizes differ"},
		{"another BPE vocabulary", qwen, llama, "begin-of-text"},
		{"another Korean vocabulary", llama, exaone, "begin-of-text"},
		{"SentencePiece against BPE", llama, spm, "SentencePiece"},
	} {
		err := tc.model.CheckDraft(tc.d)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %v, want an error about %q", tc.name, err, tc.want)
		}
		t.Logf("%s: %v", tc.name, err)
	}
}
