package model_test

import (
	"errors"
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/nuri-ai/nuri/gguf"
	"github.com/nuri-ai/nuri/model"
	"github.com/nuri-ai/nuri/quant"
)

// writeReranker rewrites the GGUF at src the way llama.cpp's converter
// writes a Qwen3-Reranker: a cls.output.weight made of the lm_head rows of
// two label tokens, the labels, rank pooling, and (unless the head is
// tied to the embedding) no output.weight.
func writeReranker(t *testing.T, src string, labelIDs [2]int32) string {
	t.Helper()
	f, err := gguf.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tokens, _ := f.Strings("tokenizer.ggml.tokens")
	head, tied := f.Tensor("output.weight")
	tied = !tied
	if tied {
		head, _ = f.Tensor("token_embd.weight")
	}
	rb, err := head.Type.RowBytes(int(head.Dims[0]))
	if err != nil {
		t.Fatal(err)
	}
	data := f.TensorData(head)
	var cls []byte
	for _, id := range labelIDs {
		cls = append(cls, data[int(id)*rb:(int(id)+1)*rb]...)
	}
	path := filepath.Join(t.TempDir(), "rerank.gguf")
	w, err := gguf.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(w.CopyKVs(f, nil))
	must(w.Set(f.Arch()+".pooling_type", gguf.Uint32(4)))
	must(w.Set(f.Arch()+".classifier.output_labels", gguf.Strings([]string{tokens[labelIDs[0]], tokens[labelIDs[1]]})))
	var names []string
	for _, ti := range f.Tensors {
		if ti.Name == "output.weight" {
			continue
		}
		must(w.AddTensor(ti.Name, ti.Type, ti.Dims...))
		names = append(names, ti.Name)
	}
	must(w.AddTensor("cls.output.weight", head.Type, head.Dims[0], 2))
	for _, n := range names {
		ti, _ := f.Tensor(n)
		must(w.WriteTensor(n, f.TensorData(ti)))
	}
	must(w.WriteTensor("cls.output.weight", cls))
	must(w.Close())
	return path
}

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

		m := loadModel(t, writeReranker(t, src, labels))
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
