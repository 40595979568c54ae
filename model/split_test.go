package model_test

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/nuri-ai/nuri/gguf"
	"github.com/nuri-ai/nuri/quant"
)

// TestSplitModel: a model written as three parts (llama.cpp's gguf-split
// layout) loads from its first part and gives the one-file model's logits
// bit for bit.
func TestSplitModel(t *testing.T) {
	path := writeTiny(t, "Q4_K_M", false, 3)
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	parts, err := gguf.WriteSplit(f, filepath.Join(t.TempDir(), "tiny"), 3)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	prompt := []int32{1, 5, 9, 200, 31}
	run := func(p string) ([]int32, []float32) {
		toks, logits, err := greedy(loadModel(t, p), prompt, 6, quant.F16)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		return toks, logits
	}
	wantToks, want := run(path)
	gotToks, got := run(parts[0])
	if !sameTokens(gotToks, wantToks) {
		t.Errorf("greedy %v from the parts, %v from the file", gotToks, wantToks)
	}
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("logit %d: %v from the parts, %v from the file", i, got[i], want[i])
		}
	}
}
