package perplexity

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/nuri-ai/nuri/internal/e2e"
	"github.com/nuri-ai/nuri/internal/testshared"
	"github.com/nuri-ai/nuri/model"
	"github.com/nuri-ai/nuri/quant"
	"github.com/nuri-ai/nuri/tokenizer"
)

func loadModel(t *testing.T, path string) model.Model {
	t.Helper()
	m, err := model.Load(path, model.LoadOptions{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// goldenLongest returns the longest prompt of the named case in the
// shared golden manifest, with llama.cpp's logits for every position.
func goldenLongest(t *testing.T, name string) (modelPath string, tokens []int32, logits []float32, nVocab int) {
	t.Helper()
	c, err := e2e.LoadCase(testshared.Path(t, "testdata", "golden", "manifest.json"), name)
	if err != nil {
		t.Fatal(err)
	}
	best := 0
	for i, p := range c.Prompts {
		if len(p.Tokens) > len(c.Prompts[best].Tokens) {
			best = i
		}
	}
	ref, err := c.Golden(best)
	if err != nil {
		t.Fatal(err)
	}
	return c.ModelPath(), c.Prompts[best].Tokens, ref, c.NVocab
}

// TestPerplexityMatchesLlamaCpp scores stories260K (a trained model) on
// the longest golden prompt, given twice so that it makes two chunks,
// and sets the result against the perplexity of llama.cpp's own logits
// for the same positions (Ctx/2 .. Ctx-2 of the prompt).
func TestPerplexityMatchesLlamaCpp(t *testing.T) {
	path, prompt, ref, nv := goldenLongest(t, "stories260K")
	if prompt[0] != 1 {
		t.Fatalf("the prompt starts with %d, not BOS 1: a chunk's BOS would change it", prompt[0])
	}
	m := loadModel(t, path)
	ctx := len(prompt)
	tokens := append(append([]int32{}, prompt...), prompt...)
	res, err := Perplexity(context.Background(), m, tokens, Options{Ctx: ctx, Batch: 37, KVType: model.SameKV(quant.F16), BOS: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var want moments
	for j := ctx / 2; j < ctx-1; j++ {
		lp := refLogProbs(ref[j*nv : (j+1)*nv])
		want.add(-lp[prompt[j+1]])
	}
	if res.Chunks != 2 || res.Scored != 2*want.n {
		t.Fatalf("%d chunks, %d scored; want 2, %d", res.Chunks, res.Scored, 2*want.n)
	}
	// The golden case holds our logits to rel-RMS 5e-4 of llama.cpp's
	// (max_rel_rms); a token's NLL moves by about twice the logits' error,
	// so the bound is 2 · 5e-4 · the reference logits' RMS over the scored
	// rows (0.0066 here). Measured 2026-12-01: 3.4e-5.
	sq, cnt := 0.0, 0
	for _, v := range ref[ctx/2*nv : (ctx-1)*nv] {
		sq += float64(v) * float64(v)
		cnt++
	}
	tol := 2 * 5e-4 * math.Sqrt(sq/float64(cnt))
	if d := math.Abs(res.MeanNLL.Value - want.estimate().Value); d > tol {
		t.Errorf("mean NLL %.7f, llama.cpp's logits give %.7f (Δ %.2e > %.2e)", res.MeanNLL.Value, want.estimate().Value, d, tol)
	}
	// The same chunk twice: the running mean over both is the first's,
	// up to float64 rounding of the longer sum.
	if math.Abs(res.Running[0]/res.Running[1]-1) > 1e-12 {
		t.Errorf("the same chunk twice gave running estimates %v", res.Running)
	}
	t.Logf("PPL %.4f ± %.4f; llama.cpp's logits: %.4f (Δ ln %.2e, bound %.2e)", res.PPL.Value, res.PPL.Err, math.Exp(want.estimate().Value), res.MeanNLL.Value-want.estimate().Value, tol)
}

// TestKLDivergenceMatchesLlamaCpp writes a base from the F16 golden llama
// model and compares the Q8_0 and Q4_K_M ones with it, against the same
// figures computed from llama.cpp's logits of the three models.
func TestKLDivergenceMatchesLlamaCpp(t *testing.T) {
	basePath, prompt, baseRef, nv := goldenLongest(t, "llama-F16")
	ctx := len(prompt)
	tokens := append(append([]int32{}, prompt...), prompt...)
	o := Options{Ctx: ctx, KVType: model.SameKV(quant.F16), BOS: prompt[0]}
	var file bytes.Buffer
	bw, err := NewBaseWriter(&file, BaseHeader{Ctx: ctx, NVocab: nv, Chunks: 2, Tokens: tokens})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Perplexity(context.Background(), loadModel(t, basePath), tokens, o, bw); err != nil {
		t.Fatal(err)
	}
	if err := bw.Close(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"llama-F16", "llama-Q8_0", "llama-Q4_K_M"} {
		t.Run(name, func(t *testing.T) {
			path, p2, qRef, _ := goldenLongest(t, name)
			if !slices.Equal(p2, prompt) {
				t.Fatal("the cases' prompts differ")
			}
			br, err := NewBaseReader(bytes.NewReader(file.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			res, err := KLDivergence(context.Background(), loadModel(t, path), br, o)
			if err != nil {
				t.Fatal(err)
			}
			// llama.cpp's figures, from its logits in float64 (both
			// chunks are the same prompt: one pass stands for both).
			var kl, same float64
			n := 0
			for j := ctx / 2; j < ctx-1; j++ {
				lp, lq := refLogProbs(baseRef[j*nv:(j+1)*nv]), refLogProbs(qRef[j*nv:(j+1)*nv])
				for i := range lp {
					if lp[i] > -baseRange {
						kl += math.Exp(lp[i]) * (lp[i] - lq[i])
					}
				}
				if argmax(baseRef[j*nv:(j+1)*nv]) == argmax(qRef[j*nv:(j+1)*nv]) {
					same++
				}
				n++
			}
			kl, same = kl/float64(n), same/float64(n)
			// Measured 2026-12-01: F16 below 1e-6 against 0 (the 16-bit
			// grid), Q8_0 5.3e-5 against llama.cpp's 5.3e-5, Q4_K_M
			// 0.003791 against 0.003799; our quantized models' logits may
			// differ from llama.cpp's by the golden rel-RMS of 3e-2.
			// Allowed: 10 % of the reference plus 5e-5 for the grid.
			if d := math.Abs(res.KLD.Value - kl); d > 0.1*kl+5e-5 {
				t.Errorf("mean KLD %.6f, llama.cpp's logits give %.6f", res.KLD.Value, kl)
			}
			// Top agreement may differ by a near tie or two of 49 rows.
			if d := math.Abs(res.SameTop.Value - same); d > 2.5/float64(n) {
				t.Errorf("same top %.4f, llama.cpp's logits give %.4f", res.SameTop.Value, same)
			}
			if res.Scored != 2*n || res.Chunks != 2 {
				t.Errorf("%d scored in %d chunks, want %d in 2", res.Scored, res.Chunks, 2*n)
			}
			t.Logf("KLD %.6f (llama.cpp %.6f), same top %.3f (%.3f), ln PPL ratio %.5f ± %.5f", res.KLD.Value, kl, res.SameTop.Value, same, res.LogPPLRatio.Value, res.LogPPLRatio.Err)
		})
	}
}

// storyTokens is the test text in stories260K's vocabulary, with BOS.
func storyTokens(t *testing.T, path string) []int32 {
	t.Helper()
	text, err := os.ReadFile(filepath.Join("testdata", "story.txt"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := tok.Encode(string(text), false, false)
	if err != nil {
		t.Fatal(err)
	}
	return append([]int32{1}, ids...)
}

// TestPerplexityBatches checks the chunking against a plain computation:
// every chunk run in one forward pass with every row's logits, its first
// token made BOS, the second half scored. Any batch size must give the
// same figures (the model's results do not depend on the batch).
func TestPerplexityBatches(t *testing.T) {
	path := testshared.Path(t, "models", "stories260K.gguf")
	m := loadModel(t, path)
	tokens := storyTokens(t, path)
	const ctx = 64
	nChunks := len(tokens) / ctx
	if nChunks < 3 {
		t.Fatalf("the story makes %d chunks of %d", nChunks, ctx)
	}
	var want moments
	nv := m.Config().NVocab
	for c := range nChunks {
		chunk := append([]int32{}, tokens[c*ctx:(c+1)*ctx]...)
		chunk[0] = 1
		kv, err := model.NewSequenceView(m.Config(), ctx, 16, model.SameKV(quant.F16))
		if err != nil {
			t.Fatal(err)
		}
		b := &model.Batch{Tokens: chunk, Pos: make([]int32, ctx), Seq: make([]int32, ctx), Logits: make([]bool, ctx)}
		for i := range b.Pos {
			b.Pos[i], b.Logits[i] = int32(i), true
		}
		out := make([]float32, ctx*nv)
		if err := m.Forward(b, kv, out); err != nil {
			t.Fatal(err)
		}
		for j := ctx / 2; j < ctx-1; j++ {
			want.add(-refLogProbs(out[j*nv : (j+1)*nv])[chunk[j+1]])
		}
	}
	for _, batch := range []int{ctx, 1, 7, 32, 33} {
		res, err := Perplexity(context.Background(), m, tokens, Options{Ctx: ctx, Batch: batch, KVType: model.SameKV(quant.F16), BOS: 1, Workers: 3}, nil)
		if err != nil {
			t.Fatalf("batch %d: %v", batch, err)
		}
		// The same logits, summed in the same order: float64 rounding of
		// a different log-sum-exp path at most.
		if res.Scored != want.n || math.Abs(res.MeanNLL.Value-want.estimate().Value) > 1e-9 {
			t.Errorf("batch %d: mean NLL %.10f over %d, want %.10f over %d", batch, res.MeanNLL.Value, res.Scored, want.estimate().Value, want.n)
		}
		if len(res.Running) != nChunks || res.Running[nChunks-1] != res.PPL.Value {
			t.Errorf("batch %d: running %v, final %v", batch, res.Running, res.PPL.Value)
		}
	}
	t.Run("chunk limit", func(t *testing.T) {
		res, err := Perplexity(context.Background(), m, tokens, Options{Ctx: ctx, Chunks: 2, KVType: model.SameKV(quant.F16), BOS: 1}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Chunks != 2 || res.Scored != 2*(ctx-1-ctx/2) {
			t.Errorf("%d chunks, %d scored", res.Chunks, res.Scored)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		cctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := Perplexity(cctx, m, tokens, Options{Ctx: ctx, KVType: model.SameKV(quant.F16), BOS: 1}, nil); !errors.Is(err, context.Canceled) {
			t.Errorf("error %v, want context.Canceled", err)
		}
	})
	t.Run("too short", func(t *testing.T) {
		if _, err := Perplexity(context.Background(), m, tokens[:2*ctx-1], Options{Ctx: ctx, KVType: model.SameKV(quant.F16), BOS: 1}, nil); !errors.Is(err, ErrTooFewTokens) {
			t.Errorf("error %v, want ErrTooFewTokens", err)
		}
	})
	t.Run("base of another vocabulary", func(t *testing.T) {
		var buf bytes.Buffer
		w, err := NewBaseWriter(&buf, BaseHeader{Ctx: 4, NVocab: nv + 1, Chunks: 1, Tokens: []int32{1, 2, 3, 4}})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.WriteRows(make([]uint16, rowWords(nv+1))); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		br, err := NewBaseReader(&buf)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := KLDivergence(context.Background(), m, br, Options{KVType: model.SameKV(quant.F16), BOS: 1}); !errors.Is(err, ErrBadBase) {
			t.Errorf("error %v, want ErrBadBase", err)
		}
	})
}
