package model_test

import (
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/nuri-ai/nuri/internal/testshared"
	"github.com/nuri-ai/nuri/model"
	"github.com/nuri-ai/nuri/quant"
)

var invariancePrompt = []int32{1, 22, 506, 217, 201, 137, 437, 489, 451, 484, 463, 291, 300, 170, 350, 276, 410, 485, 49}

// TestBatchInvariance requires bit-identical logits for a token whatever
// else shares its forward pass: the whole prompt at once, chunks of 5,
// one token at a time, and two sequences interleaved in one batch over a
// shared paged cache with scattered blocks.
func TestBatchInvariance(t *testing.T) {
	for _, name := range []string{"llama-Q4_0.gguf", "qwen3-Q4_K_M.gguf", "llama-F16.gguf"} {
		t.Run(name, func(t *testing.T) {
			checkBatchInvariance(t, loadModel(t, filepath.Join(testshared.Path(t, "testdata", "golden"), name)))
		})
	}
}

// checkBatchInvariance runs TestBatchInvariance's comparisons on m.
func checkBatchInvariance(t *testing.T, m model.Model) {
	t.Helper()
	nv := m.Config().NVocab
	whole := teacherForce(t, m, invariancePrompt, len(invariancePrompt))
	for _, chunk := range []int{5, 1} {
		got := teacherForce(t, m, invariancePrompt, chunk)
		if i := firstDiff(got, whole); i >= 0 {
			t.Errorf("chunks of %d: logit %d (row %d) = %v, whole prompt gives %v", chunk, i, i/nv, got[i], whole[i])
		}
	}
	other := []int32{1, 496, 263, 188, 163, 182, 103, 275, 77, 220, 79}
	a, b := interleaved(t, m, invariancePrompt, other)
	if i := firstDiff(a, whole); i >= 0 {
		t.Errorf("interleaved sequence A: logit %d differs (%v vs %v)", i, a[i], whole[i])
	}
	alone := teacherForce(t, m, other, len(other))
	if i := firstDiff(b, alone); i >= 0 {
		t.Errorf("interleaved sequence B: logit %d differs (%v vs %v)", i, b[i], alone[i])
	}
}

// teacherForce returns every row's logits, feeding the prompt in chunks.
func teacherForce(t *testing.T, m model.Model, prompt []int32, chunk int) []float32 {
	t.Helper()
	s, err := newSession(m, len(prompt), quant.F16)
	if err != nil {
		t.Fatal(err)
	}
	var all []float32
	for i := 0; i < len(prompt); i += chunk {
		out, err := s.feed(prompt[i:min(i+chunk, len(prompt))], true)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, out...)
	}
	return all
}

// interleaved runs two prompts as sequences 0 and 1 of the same batches
// (alternating tokens, then the rest of the longer one), with block tables
// that interleave physical blocks, and returns each sequence's logits.
func interleaved(t *testing.T, m model.Model, pa, pb []int32) ([]float32, []float32) {
	t.Helper()
	const bs = 4
	nba, nbb := (len(pa)+bs-1)/bs, (len(pb)+bs-1)/bs
	cache, err := model.NewKVCache(m.Config(), nba+nbb, bs, model.SameKV(quant.F16))
	if err != nil {
		t.Fatal(err)
	}
	// Scattered layout: A takes odd blocks from the top, B the rest, both
	// in descending physical order.
	var ta, tb []int32
	for i := int32(nba + nbb - 1); i >= 0; i-- {
		if len(ta) < nba && (i%2 == 1 || len(tb) == nbb) {
			ta = append(ta, i)
		} else {
			tb = append(tb, i)
		}
	}
	kv := model.KVView{Cache: cache, Tables: [][]int32{ta, tb}}
	nv := m.Config().NVocab
	var la, lb []float32
	var b model.Batch
	for i := 0; i < max(len(pa), len(pb)); i++ {
		for s, p := range [][]int32{pa, pb} {
			if i < len(p) {
				b.Tokens = append(b.Tokens, p[i])
				b.Pos = append(b.Pos, int32(i))
				b.Seq = append(b.Seq, int32(s))
				b.Logits = append(b.Logits, true)
			}
		}
	}
	// Two forward passes, split mid-prompt.
	half := len(b.Tokens) / 2
	for _, r := range [][2]int{{0, half}, {half, len(b.Tokens)}} {
		sub := model.Batch{Tokens: b.Tokens[r[0]:r[1]], Pos: b.Pos[r[0]:r[1]], Seq: b.Seq[r[0]:r[1]], Logits: b.Logits[r[0]:r[1]]}
		out := make([]float32, sub.NumLogits()*nv)
		if err := m.Forward(&sub, kv, out); err != nil {
			t.Fatal(err)
		}
		for i, s := range sub.Seq {
			row := out[i*nv : (i+1)*nv]
			if s == 0 {
				la = append(la, row...)
			} else {
				lb = append(lb, row...)
			}
		}
	}
	return la, lb
}

func firstDiff(a, b []float32) int {
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return i
		}
	}
	return -1
}

// TestKVCacheTypes runs the golden prompts with Q8_0 and F32 caches: both
// must stay close to llama.cpp's F16-cache logits. The bounds come from
// measurement (in the log) with a margin: F32 drops the fp16 rounding of
// K, V, Q and the probabilities; Q8_0 quantizes K and V to 8 bits.
func TestKVCacheTypes(t *testing.T) {
	dir := testshared.Path(t, "testdata", "golden")
	cases := []struct {
		model  string
		kv     quant.Type
		maxRMS float64
	}{
		{"llama-f32", quant.F32, 2e-3},
		{"llamahd-F16", quant.F32, 2e-2},
		{"llamahd-F16", quant.Q8_0, 5e-2},
		{"qwen3-Q8_0", quant.Q8_0, 5e-2},
	}
	prompt := invariancePrompt
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s/%v", c.model, c.kv), func(t *testing.T) {
			m := loadModel(t, filepath.Join(dir, c.model+".gguf"))
			ref, err := greedyLogits(m, prompt, quant.F16)
			if err != nil {
				t.Fatal(err)
			}
			got, err := greedyLogits(m, prompt, c.kv)
			if err != nil {
				t.Fatal(err)
			}
			r := testshared.RelRMS(got, ref)
			t.Logf("rel-RMS vs F16 cache: %.2e", r)
			if r > c.maxRMS {
				t.Errorf("rel-RMS %.3e > %.0e", r, c.maxRMS)
			}
		})
	}
}

func greedyLogits(m model.Model, prompt []int32, kv quant.Type) ([]float32, error) {
	_, logits, err := greedy(m, prompt, 0, kv)
	return logits, err
}
