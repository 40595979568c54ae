package engine

import (
	"context"
	"math"
	"testing"

	"github.com/nuri-ai/nuri/model"
	"github.com/nuri-ai/nuri/quant"
)

// logitsAt returns the last row's logits of tokens, the reference a
// plain-language-model reranker's score is made from.
func logitsAt(t *testing.T, m model.Model, tokens []int32) []float32 {
	t.Helper()
	kv, err := model.NewSequenceView(m.Config(), len(tokens), 16, quant.F16)
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
