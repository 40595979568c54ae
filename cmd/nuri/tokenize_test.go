package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/nuri-ai/nuri/internal/testshared"
	"golang.org/x/text/unicode/norm"
)

func TestTokenizeDetokenize(t *testing.T) {
	qwen := testshared.Path(t, "testdata", "tokenizer", "ggml-vocab-qwen3.gguf")
	llama := testshared.Path(t, "testdata", "tokenizer", "ggml-vocab-llama3.gguf")
	const text = "안녕하세요, 자기소개 해 주세요."
	// Reference ids: the Qwen3 template golden (templates/qwen3.cases.json).
	const want = "126246 144370 91145 11 131823 43590 59761 60716 55673 50302 13"

	var out, errb bytes.Buffer
	if err := tokenizeCmd([]string{"--model", qwen, text}, nil, &out, &errb); err != nil {
		t.Fatalf("%v: %s", err, errb.String())
	}
	if got := strings.TrimSpace(out.String()); got != want {
		t.Errorf("tokenize = %q, want %q", got, want)
	}
	if errb.Len() != 0 {
		t.Errorf("a note on text in NFC: %q", errb.String())
	}

	// Stdin, flags after the text, special tokens, pieces.
	out.Reset()
	in := strings.NewReader("<|im_start|>user\n안녕")
	if err := tokenizeCmd([]string{"--model", qwen, "-", "--special", "--pieces"}, in, &out, &errb); err != nil {
		t.Fatalf("%v: %s", err, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) < 3 || lines[0] != "151644\t\"<|im_start|>\"" || lines[1] != "872\t\"user\"" {
		t.Errorf("pieces output:\n%s", out.String())
	}

	// The same text typed as conjoining jamo: jamo tokens as given, the
	// syllables' ids under --unicode-normalization nfc (Hugging Face's
	// NFC normalizer for Qwen).
	jamo := norm.NFD.String(text)
	out.Reset()
	errb.Reset()
	if err := tokenizeCmd([]string{"--model", qwen, jamo}, nil, &out, &errb); err != nil {
		t.Fatalf("%v: %s", err, errb.String())
	}
	if got := strings.TrimSpace(out.String()); got == want || len(strings.Fields(got)) < 20 {
		t.Errorf("tokenize of jamo text = %q, want jamo tokens", got)
	}
	if !strings.Contains(errb.String(), "--unicode-normalization nfc") {
		t.Errorf("no note on text outside NFC: %q", errb.String())
	}
	out.Reset()
	errb.Reset()
	if err := tokenizeCmd([]string{"--model", qwen, "--unicode-normalization", "nfc", jamo}, nil, &out, &errb); err != nil {
		t.Fatalf("%v: %s", err, errb.String())
	}
	if got := strings.TrimSpace(out.String()); got != want {
		t.Errorf("tokenize --unicode-normalization nfc = %q, want %q", got, want)
	}
	if errb.Len() != 0 {
		t.Errorf("a note with --unicode-normalization nfc: %q", errb.String())
	}
	errb.Reset()
	if err := tokenizeCmd([]string{"--model", qwen, "--unicode-normalization", "nfx", "a"}, nil, &out, &errb); err == nil || !strings.Contains(errb.String(), "unknown normalization") {
		t.Errorf("--unicode-normalization nfx: %v, %q", err, errb.String())
	}

	// Llama 3 adds BOS unless --no-bos.
	out.Reset()
	if err := tokenizeCmd([]string{"--model", llama, "hi"}, nil, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "128000 ") {
		t.Errorf("llama3 without BOS: %q", out.String())
	}
	out.Reset()
	if err := tokenizeCmd([]string{"--model", llama, "--no-bos", "hi"}, nil, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(out.String(), "128000") {
		t.Errorf("--no-bos still adds BOS: %q", out.String())
	}

	out.Reset()
	if err := runDetokenize([]string{"--model", qwen, "[126246, 144370,91145", "11 131823 43590 59761 60716 55673 50302 13]"}, &out, &errb); err != nil {
		t.Fatalf("%v: %s", err, errb.String())
	}
	if out.String() != text+"\n" {
		t.Errorf("detokenize = %q", out.String())
	}

	// Errors: bad ids, unknown ids, missing model or text.
	for _, args := range [][]string{
		{"--model", qwen, "12x"},
		{"--model", qwen, "-5"},
		{"--model", qwen, "999999999"},
	} {
		if err := runDetokenize(args, &out, &errb); err == nil {
			t.Errorf("detokenize %v: no error", args)
		}
	}
	if err := tokenizeCmd([]string{text}, nil, &out, &errb); err != errUsage {
		t.Errorf("tokenize without --model: %v", err)
	}
	if err := runDetokenize([]string{"--model", qwen}, &out, &errb); err != errUsage {
		t.Errorf("detokenize without ids: %v", err)
	}
}
