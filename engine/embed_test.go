package engine

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nuri-ai/nuri/internal/testgguf"
	"github.com/nuri-ai/nuri/internal/testshared"
	"github.com/nuri-ai/nuri/model"
	"github.com/nuri-ai/nuri/quant"
)

func embedTinyModel(t *testing.T) model.Model {
	t.Helper()
	path := testgguf.Synth(t, "tiny", "F32", 9)
	m, err := model.Load(path, model.LoadOptions{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// hiddenRows runs tokens in one pass and returns every row's final hidden
// state: the reference the pooled embeddings are checked against.
func hiddenRows(t *testing.T, m model.Model, tokens []int32) [][]float32 {
	t.Helper()
	cfg := m.Config()
	kv, err := model.NewSequenceView(cfg, len(tokens), 16, model.SameKV(quant.F16))
	if err != nil {
		t.Fatal(err)
	}
	n := len(tokens)
	b := &model.Batch{Tokens: tokens, Pos: make([]int32, n), Seq: make([]int32, n), Logits: make([]bool, n), Hidden: true}
	for i := range n {
		b.Pos[i], b.Logits[i] = int32(i), true
	}
	out := make([]float32, n*cfg.NEmbd)
	if err := m.Forward(b, kv, out); err != nil {
		t.Fatal(err)
	}
	rows := make([][]float32, n)
	for i := range rows {
		rows[i] = out[i*cfg.NEmbd : (i+1)*cfg.NEmbd]
	}
	return rows
}

// Each pooling gives the reference's rows pooled, in one pass or in
// chunks of three tokens (batch invariance keeps the bits), and a short
// input after a long one is unaffected by the cache it reuses.
func TestEmbedderPooling(t *testing.T) {
	m := embedTinyModel(t)
	long := []int32{1, 5, 9, 200, 17, 3, 3, 80, 41, 7, 2, 250, 11}
	short := []int32{1, 44, 19, 6}
	for _, pool := range []Pooling{PoolLast, PoolMean, PoolCLS} {
		for _, batch := range []int{512, 3} {
			e, err := NewEmbedder(m, EmbedderConfig{NCtx: 64, Pooling: pool, BatchTokens: batch})
			if err != nil {
				t.Fatal(err)
			}
			for _, in := range [][]int32{long, short} {
				got, err := e.Embed(context.Background(), in)
				if err != nil {
					t.Fatal(err)
				}
				rows := hiddenRows(t, m, in)
				want := make([]float32, len(rows[0]))
				switch pool {
				case PoolLast:
					copy(want, rows[len(rows)-1])
				case PoolCLS:
					copy(want, rows[0])
				case PoolMean:
					sum := make([]float64, len(want))
					for _, r := range rows {
						for i, v := range r {
							sum[i] += float64(v) / float64(len(rows))
						}
					}
					for i, v := range sum {
						want[i] = float32(v)
					}
				}
				if !slices.Equal(got, want) {
					t.Fatalf("%s, batch %d, %d tokens: embedding differs from the pooled rows", pool, batch, len(in))
				}
			}
			if err := e.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestEmbedderErrors(t *testing.T) {
	m := embedTinyModel(t)
	e, err := NewEmbedder(m, EmbedderConfig{NCtx: 8, Pooling: PoolLast})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for _, in := range [][]int32{nil, make([]int32, 9)} {
		if _, err := e.Embed(context.Background(), in); !errors.Is(err, ErrEmbedInput) {
			t.Errorf("%d tokens: %v, want ErrEmbedInput", len(in), err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.Embed(ctx, []int32{1, 2}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	if _, err := NewEmbedder(m, EmbedderConfig{Pooling: "max"}); err == nil {
		t.Error("pooling max accepted")
	}
	v := []float32{3, 4}
	if Normalize(v); math.Abs(float64(v[0])-0.6) > 1e-7 || math.Abs(float64(v[1])-0.8) > 1e-7 {
		t.Errorf("Normalize: %v", v)
	}
}

// Inputs wait their turn; past MaxQueued waiting the embedder answers
// ErrQueueFull, and a wait ends with its context.
func TestEmbedderQueue(t *testing.T) {
	m := embedTinyModel(t)
	e, err := NewEmbedder(m, EmbedderConfig{NCtx: 16, Pooling: PoolLast, MaxQueued: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	e.turn <- struct{}{} // an input is being embedded
	ctx, cancel := context.WithCancel(context.Background())
	waited := make(chan error, 1)
	go func() {
		_, err := e.Embed(ctx, []int32{1, 2})
		waited <- err
	}()
	for e.waiting.Load() != 1 {
		runtime.Gosched()
	}
	if _, err := e.Embed(context.Background(), []int32{1, 2}); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("second waiter: %v, want ErrQueueFull", err)
	}
	cancel()
	if err := <-waited; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled waiter: %v", err)
	}
	<-e.turn
	if _, err := e.Embed(context.Background(), []int32{1, 2}); err != nil {
		t.Fatalf("after the queue emptied: %v", err)
	}
}

// Packed passes give each input the bits it has alone: short inputs
// share a pass as sequences of their own, a long one runs alone in chunks,
// for every pooling.
func TestEmbedBatchPacksInputs(t *testing.T) {
	m := embedTinyModel(t)
	inputs := [][]int32{{1, 5, 9}, {1, 44}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13}, {1, 19, 6, 7, 200}, {1}, {1, 8, 8, 8, 8, 8, 8, 8}}
	for _, pool := range []Pooling{PoolLast, PoolMean, PoolCLS} {
		e, err := NewEmbedder(m, EmbedderConfig{NCtx: 64, Pooling: pool, BatchTokens: 8})
		if err != nil {
			t.Fatal(err)
		}
		checkBatchMatchesAlone(t, e, inputs, string(pool))
		if _, err := e.EmbedBatch(context.Background(), [][]int32{{1}, {}}); !errors.Is(err, ErrEmbedInput) {
			t.Fatalf("an empty input: %v", err)
		}
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// checkBatchMatchesAlone embeds inputs in one batch and each alone, and
// fails unless every embedding has the same bits both ways.
func checkBatchMatchesAlone(t *testing.T, e *Embedder, inputs [][]int32, what string) {
	t.Helper()
	packed, err := e.EmbedBatch(context.Background(), inputs)
	if err != nil {
		t.Fatal(err)
	}
	for i, in := range inputs {
		alone, err := e.Embed(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(alone, packed[i]) {
			t.Errorf("%s: input %d (%d tokens) differs packed and alone", what, i, len(in))
		}
	}
}

// With last-token pooling, inputs that start alike share the whole cache
// blocks of their common prefix in a pass; each embedding keeps the bits
// it has alone. Inputs that differ early, or that are no longer than the
// prefix plus their last token, share less or nothing.
func TestEmbedBatchSharesPrefix(t *testing.T) {
	m := embedTinyModel(t)
	prefix := make([]int32, 40)
	for i := range prefix {
		prefix[i] = int32(3 + i*7%200)
	}
	with := func(tail ...int32) []int32 { return append(slices.Clone(prefix), tail...) }
	for _, inputs := range [][][]int32{
		{with(5, 6, 7), with(9), with(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18), with(200)},
		{prefix[:17], with(4), prefix[:33]},      // shared blocks capped by the shortest input
		{with(5), append([]int32{9}, prefix...)}, // differs at once: nothing shared
	} {
		e, err := NewEmbedder(m, EmbedderConfig{NCtx: 128, Pooling: PoolLast})
		if err != nil {
			t.Fatal(err)
		}
		checkBatchMatchesAlone(t, e, inputs, "with a shared prefix")
		e.Close()
	}
	e, _ := NewEmbedder(m, EmbedderConfig{NCtx: 128, Pooling: PoolLast})
	defer e.Close()
	if n := e.sharedPrefix([][]int32{with(5), with(6)}); n != 32 {
		t.Errorf("shared prefix %d, want 32 (two whole blocks of the 40 common tokens)", n)
	}
	if n := e.sharedPrefix([][]int32{prefix[:17], with(4)}); n != 16 {
		t.Errorf("shared prefix %d, want 16 (the 17-token input keeps its last)", n)
	}
	mean, _ := NewEmbedder(m, EmbedderConfig{NCtx: 128, Pooling: PoolMean})
	defer mean.Close()
	if n := mean.sharedPrefix([][]int32{with(5), with(6)}); n != 0 {
		t.Errorf("mean pooling shared %d tokens", n)
	}
}

// TestEmbedderEncoder: an encoder's embeddings are its whole-input
// hidden rows pooled, even with passes asked shorter than an input (an
// encoder's pass holds its whole context) and several inputs sharing a
// prefix (nothing is shared: every token sees the whole input).
func TestEmbedderEncoder(t *testing.T) {
	m, err := model.Load(testgguf.Synth(t, "bert-tiny", "Q8_0", 4), model.LoadOptions{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	inputs := [][]int32{
		{1, 5, 9, 200, 17, 3, 3, 80, 41, 7, 2, 250, 11, 60, 61, 62, 63, 64, 65, 66, 67},
		{1, 5, 9, 200, 17, 3, 3, 80, 41, 7, 2, 250, 11, 60, 61, 62, 63, 64, 65, 66, 68, 70},
		{1, 44, 19, 6},
	}
	for _, pool := range []Pooling{PoolCLS, PoolMean, PoolLast} {
		e, err := NewEmbedder(m, EmbedderConfig{NCtx: 1000, Pooling: pool, BatchTokens: 5})
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.EmbedBatch(context.Background(), inputs)
		if err != nil {
			t.Fatal(err)
		}
		for k, in := range inputs {
			rows := hiddenRows(t, m, in)
			var want []float32
			switch pool {
			case PoolCLS:
				want = rows[0]
			case PoolLast:
				want = rows[len(rows)-1]
			case PoolMean:
				sum := make([]float64, len(rows[0]))
				for _, r := range rows {
					for i, v := range r {
						sum[i] += float64(v) / float64(len(rows))
					}
				}
				want = toFloat32(sum)
			}
			if !slices.Equal(got[k], want) {
				t.Errorf("%s: input %d's embedding differs from its pooled rows", pool, k)
			}
		}
		if _, err := e.Embed(context.Background(), make([]int32, 129)); !errors.Is(err, ErrEmbedInput) {
			t.Errorf("an input past the 128 positions: %v, want ErrEmbedInput", err)
		}
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestEmbedBatchCombinesRequests: requests that queue while a run holds
// the embedder are run together, in one run, and each gets the bits it
// gets alone; a queued request whose context ends leaves the queue.
func TestEmbedBatchCombinesRequests(t *testing.T) {
	m := embedTinyModel(t)
	e, err := NewEmbedder(m, EmbedderConfig{NCtx: 64, Pooling: PoolMean})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	reqs := [][][]int32{{{1, 5, 9, 200}}, {{17, 3}, {3, 80, 41, 7, 2}}, {{250, 11, 6}}}
	alone := make([][][]float32, len(reqs))
	for i, r := range reqs {
		if alone[i], err = e.EmbedBatch(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	queued := func() int {
		e.qmu.Lock()
		defer e.qmu.Unlock()
		return len(e.queue)
	}
	e.turn <- struct{}{} // a run under way
	runs := e.runs.Load()
	got := make([][][]float32, len(reqs))
	errs := make([]error, len(reqs))
	var wg sync.WaitGroup
	for i, r := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = e.EmbedBatch(context.Background(), r)
		}()
	}
	for queued() < len(reqs) {
		time.Sleep(time.Millisecond)
	}
	<-e.turn // the run ends
	wg.Wait()
	if n := e.runs.Load() - runs; n != 1 {
		t.Errorf("%d runs for three queued requests, want 1", n)
	}
	for i := range reqs {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		for k := range reqs[i] {
			if !slices.Equal(got[i][k], alone[i][k]) {
				t.Errorf("request %d input %d: combined differs from alone", i, k)
			}
		}
	}

	e.turn <- struct{}{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := e.EmbedBatch(ctx, reqs[0])
		done <- err
	}()
	for queued() < 1 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled while queued: %v", err)
	}
	if queued() != 0 {
		t.Error("the cancelled request stayed queued")
	}
	<-e.turn
}

// TestEmbeddingGemmaGolden holds synth's embeddinggemma-tiny (Gemma 3's
// block run both ways, symmetric windows of 8 either way in two layers of
// three, mean pooling, dense projections to 384 and back) to llama.cpp's
// pooled embedding of a 40-token input (testdata/README.md), the fixture's
// sha256 checked, over an F32 cache as llama.cpp's encoder attention is.
// Tolerances are the synth goldens' for the weight type (rel-RMS 1e-3 for
// F32, 3e-2 quantized), measured 5.9e-4 and 1.0e-2: as with gemma3-tiny's
// logits, an fp16 rounding (a GELU table index) that falls the other way
// is amplified by the random sandwich-normed layers. Cosine similarity at
// least 0.9999 (measured 0.9999998 and 0.99995). A window off by one
// position either way gives 0.19.
func TestEmbeddingGemmaGolden(t *testing.T) {
	prompt := []int32{331, 154, 404, 49, 74, 96, 374, 59, 219, 38, 88, 444, 428, 71, 246, 92, 434, 60, 126, 228,
		63, 406, 50, 226, 47, 136, 296, 429, 147, 120, 315, 185, 105, 192, 381, 99, 64, 61, 210, 508}
	for _, c := range []struct {
		typ, sha256 string
		maxRel      float64
	}{
		{"F32", "02ba000b77ffc74b329e249baf34b95d848b68836c9e0e9e60249b228fc69ca0", 1e-3},
		{"Q8_0", "f47bc2e29cdfc97f8d19603bd42ce5107341cd4ba361c0eb6166489a5ceffbfc", 3e-2},
	} {
		t.Run(c.typ, func(t *testing.T) {
			path := testgguf.SynthFixture(t, "embeddinggemma-tiny", c.typ, 1, c.sha256, "engine/testdata/README.md")
			ref := testshared.ReadF32(t, filepath.Join("testdata", "embeddinggemma-tiny-"+c.typ+".pooled.f32"))
			m, err := model.Load(path, model.LoadOptions{Threads: 2})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			e, err := NewEmbedder(m, EmbedderConfig{Pooling: PoolMean, KVCacheType: "f32"})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			got, err := e.Embed(context.Background(), prompt)
			if err != nil {
				t.Fatal(err)
			}
			r := testshared.RelRMS(got, ref)
			var ab, aa, bb float64
			for i := range got {
				ab += float64(got[i]) * float64(ref[i])
				aa += float64(got[i]) * float64(got[i])
				bb += float64(ref[i]) * float64(ref[i])
			}
			cos := ab / math.Sqrt(aa*bb)
			t.Logf("rel-RMS %.2g, cosine %.8f", r, cos)
			if len(got) != 256 || r > c.maxRel || cos < 0.9999 {
				t.Errorf("%d values, rel-RMS %.3g (max %g), cosine %.6f", len(got), r, c.maxRel, cos)
			}
		})
	}
}
