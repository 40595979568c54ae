package engine

import (
	"context"
	"math"
	"testing"

	"github.com/nuri-ai/nuri/internal/testgguf"
	"github.com/nuri-ai/nuri/model"
	"github.com/nuri-ai/nuri/quant"
)

// logitsAt returns the last row's logits of tokens, the reference a
// plain-language-model reranker's score is made from.
func logitsAt(t *testing.T, m model.Model, tokens []int32) []float32 {
	t.Helper()
	kv, err := model.NewSequenceView(m.Config(), len(tokens), 16, model.SameKV(quant.F16))
	if err != nil {
		t.Fatal(err)
	}
	n := len(tokens)
	b := &model.Batch{Tokens: tokens, Pos: make([]int32, n), Seq: make([]int32, n)}
	for i := range n {
		b.Pos[i] = int32(i)
	}
	out := make([]float32, m.Config().NVocab)
	if err := m.Forward(b, kv, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// A reranker over a plain language model scores each input with the
// softmax of its answer tokens' logits at the last position (Qwen's own
// scoring): P(yes) = e^yes / (e^yes + e^no). Packed inputs score as they
// do alone.
func TestRerankerScores(t *testing.T) {
	m := embedTinyModel(t)
	yes, no := int32(7), int32(3)
	head, fromFile, err := RerankHead(m, []int32{yes, no})
	if err != nil || fromFile {
		t.Fatal(fromFile, err)
	}
	r, err := NewReranker(m, EmbedderConfig{NCtx: 64}, head)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	inputs := [][]int32{{1, 5, 9, 2}, {4, 4, 8}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, {6}}
	got, err := r.Score(context.Background(), inputs)
	if err != nil {
		t.Fatal(err)
	}
	for i, in := range inputs {
		l := logitsAt(t, m, in)
		want := 1 / (1 + math.Exp(float64(l[no]-l[yes])))
		// The head's dot products in float64 against the matmul kernel's
		// float32 logits: 1e-5 absolute on a probability.
		if math.Abs(float64(got[i])-want) > 1e-5 {
			t.Errorf("input %d: score %v, want %v (logits yes %v no %v)", i, got[i], want, l[yes], l[no])
		}
		alone, err := r.Score(context.Background(), inputs[i:i+1])
		if err != nil {
			t.Fatal(err)
		}
		if alone[0] != got[i] {
			t.Errorf("input %d: %v alone, %v packed", i, alone[0], got[i])
		}
	}
	if r.MaxTokens() != 64 {
		t.Errorf("MaxTokens %d", r.MaxTokens())
	}
}

func TestRerankerHeadChecks(t *testing.T) {
	m := embedTinyModel(t)
	if _, _, err := RerankHead(m, nil); err == nil {
		t.Error("no head and no answers accepted")
	}
	if _, _, err := RerankHead(m, []int32{-1}); err == nil {
		t.Error("a bad answer token accepted")
	}
	for _, h := range []model.ClassHead{
		{},
		{Rows: [][]float32{make([]float32, 3)}},
		{Rows: [][]float32{make([]float32, m.Config().NEmbd)}, Bias: []float32{1, 2}},
	} {
		if _, err := NewReranker(m, EmbedderConfig{}, h); err == nil {
			t.Errorf("head %d rows, bias %v accepted", len(h.Rows), h.Bias)
		}
	}
	// One output is reported raw: the head's dot product plus its bias.
	row := make([]float32, m.Config().NEmbd)
	row[0] = 1
	r, err := NewReranker(m, EmbedderConfig{NCtx: 16}, model.ClassHead{Rows: [][]float32{row}, Bias: []float32{0.5}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := r.Score(context.Background(), [][]int32{{1, 2, 3}})
	if err != nil {
		t.Fatal(err)
	}
	h := hiddenRows(t, m, []int32{1, 2, 3})
	if want := h[2][0] + 0.5; math.Abs(float64(got[0]-want)) > 1e-6 {
		t.Errorf("one output: %v, want %v", got[0], want)
	}
}

// TestRerankerEncoder: a cross-encoder (synth's bert-rerank-tiny: BGE's
// reranker's form, RoBERTa's pooler and one output) scores inputs as
// llama.cpp's rank pooling does: the first token's state, tanh(cls·h +
// b), then cls.output. The references are llama.cpp's scores of the same
// files (upstream 1425386fd; context with embeddings on, pooling RANK,
// one input a decode, llama_get_embeddings_seq), the fixtures' sha256
// checked, over an F32 cache as llama.cpp's encoder attention is F32.
// Tolerances against scores of about 0.05: F32 2e-5 absolute (float sums
// in another order; measured under 1e-6); Q8_0 1e-3 (measured 4.3e-4):
// llama.cpp's pooler matmul rounds its input to 8 bits (a Q8_0 weight's
// vec-dot), where Nuri multiplies the dequantized weights by the state
// in float64, which lands nearer the F32 model's scores (1.9e-4 off them
// against llama.cpp's 6.2e-4).
func TestRerankerEncoder(t *testing.T) {
	inputs := [][]int32{
		{331, 154, 404, 49, 74, 96, 374, 59, 219, 38, 88, 444, 428, 71, 246, 92},
		{434, 60, 126, 228, 63, 406, 50, 226, 47, 136, 296, 429, 147, 120, 315, 185, 105, 192, 381, 99, 64},
		{61, 210, 508, 437, 321},
	}
	for _, c := range []struct {
		typ, sha256 string
		want        []float64
		tol         float64
	}{
		{"F32", "eb1b84a5664681391b51176443d293d9822ea4dce1c9874908650f48f407fd61", []float64{-0.0512853824, -0.0601819754, 0.0304645002}, 2e-5},
		{"Q8_0", "0757fa717fbe0ddb96ca1d3bbdb957a8ad5e52526bebd253953aa5530242b061", []float64{-0.0512722768, -0.0595638901, 0.0308768824}, 1e-3},
	} {
		t.Run(c.typ, func(t *testing.T) {
			path := testgguf.SynthFixture(t, "bert-rerank-tiny", c.typ, 1, c.sha256, "TestRerankerEncoder's comment")
			m, err := model.Load(path, model.LoadOptions{Threads: 2})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			head, fromFile, err := RerankHead(m, nil)
			if err != nil || !fromFile || len(head.Pooler) != 256 || len(head.Rows) != 1 {
				t.Fatalf("head: %v, from the file %v, pooler %d rows, %d outputs", err, fromFile, len(head.Pooler), len(head.Rows))
			}
			r, err := NewReranker(m, EmbedderConfig{KVCacheType: "f32"}, head)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if !r.Pairs() {
				t.Error("an encoder's reranker should read pairs")
			}
			got, err := r.Score(context.Background(), inputs)
			if err != nil {
				t.Fatal(err)
			}
			for i, g := range got {
				if d := math.Abs(float64(g) - c.want[i]); d > c.tol {
					t.Errorf("input %d: %.9g, llama.cpp %.9g (|diff| %.2g)", i, g, c.want[i], d)
				}
			}
		})
	}
}
