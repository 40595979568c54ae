package model_test

import (
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/nuri-ai/nuri/internal/testgguf"
	"github.com/nuri-ai/nuri/model"
	"github.com/nuri-ai/nuri/quant"
)

// TestRerankerHead: a reranker's head is its labels' lm_head rows; a tied
// file keeps its logits, an untied one (whose lm_head the converter
// dropped) refuses them instead of computing them from the embedding.
func TestRerankerHead(t *testing.T) {
	labels := [2]int32{7, 3}
	for _, tied := range []bool{true, false} {
		src := writeTiny(t, "F32", tied, 11)
		base := loadModel(t, src)
		ref, err := base.(model.Heads).OutputRows(labels[:])
		if err != nil {
			t.Fatal(err)
		}
		// The base model's logits of the two labels after a prompt.
		prompt := []int32{1, 5, 9, 2, 4}
		s, err := newSession(base, 16, quant.F16)
		if err != nil {
			t.Fatal(err)
		}
		logits, err := s.feed(prompt, false)
		if err != nil {
			t.Fatal(err)
		}

		m := loadModel(t, testgguf.WriteReranker(t, src, labels, ""))
		h, ok, err := m.(model.Heads).ClassifierHead()
		if err != nil || !ok {
			t.Fatalf("tied %v: classifier head: %v %v", tied, ok, err)
		}
		if len(h.Rows) != 2 || len(h.Labels) != 2 || h.Bias != nil {
			t.Fatalf("tied %v: head %d rows, labels %q, bias %v", tied, len(h.Rows), h.Labels, h.Bias)
		}
		for i := range h.Rows {
			if !slices.Equal(h.Rows[i], ref[i]) {
				t.Errorf("tied %v: head row %d differs from the lm_head's row %d", tied, i, labels[i])
			}
		}
		// The head applied to the final hidden state gives the labels'
		// logits (F32 weights: float rounding only, 1e-4 relative).
		rs, err := newSession(m, 16, quant.F16)
		if err != nil {
			t.Fatal(err)
		}
		hid := make([]float32, m.Config().NEmbd)
		b := &model.Batch{Tokens: prompt, Pos: []int32{0, 1, 2, 3, 4}, Seq: make([]int32, 5), Hidden: true}
		if err := m.Forward(b, rs.kv, hid); err != nil {
			t.Fatal(err)
		}
		for i, row := range h.Rows {
			var dot float64
			for j := range row {
				dot += float64(row[j]) * float64(hid[j])
			}
			want := float64(logits[labels[i]])
			if math.Abs(dot-want) > 1e-4*math.Max(1, math.Abs(want)) {
				t.Errorf("tied %v: head·hidden %d = %v, logit %v", tied, i, dot, want)
			}
		}
		_, err = newSessionLogits(m, prompt)
		switch {
		case tied && err != nil:
			t.Errorf("tied reranker: logits refused: %v", err)
		case !tied && !errors.Is(err, model.ErrNoLMHead):
			t.Errorf("untied reranker: logits gave %v, want ErrNoLMHead", err)
		}
		if _, err := m.(model.Heads).OutputRows(labels[:]); (err == nil) != tied {
			t.Errorf("tied %v: OutputRows: %v", tied, err)
		}
	}
}

func newSessionLogits(m model.Model, prompt []int32) ([]float32, error) {
	s, err := newSession(m, 16, quant.F16)
	if err != nil {
		return nil, err
	}
	return s.feed(prompt, false)
}
