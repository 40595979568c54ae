package model_test

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/nuri-ai/nuri/gguf"
	"github.com/nuri-ai/nuri/model"
	"github.com/nuri-ai/nuri/quant"
)

// Batch.Hidden gives the lm_head's input: multiplied by the output matrix
// (read from the file, in float64) it gives the logits Forward writes,
// row for row, for tied and untied embeddings. F32 weights keep the
// comparison to float rounding: 1e-5 of the logits' scale.
func TestForwardHiddenIsLMHeadInput(t *testing.T) {
	for _, tied := range []bool{false, true} {
		path := writeTiny(t, "F32", tied, 5)
		m := loadModel(t, path)
		cfg := m.Config()
		prompt := []int32{1, 17, 4, 99, 23, 8}
		run := func(hidden bool) []float32 {
			kv, err := model.NewSequenceView(cfg, len(prompt), 16, model.SameKV(quant.F16))
			if err != nil {
				t.Fatal(err)
			}
			b := &model.Batch{Tokens: prompt, Pos: make([]int32, len(prompt)), Seq: make([]int32, len(prompt)), Logits: make([]bool, len(prompt)), Hidden: hidden}
			for i := range prompt {
				b.Pos[i], b.Logits[i] = int32(i), i%2 == 1 || i == len(prompt)-1
			}
			out := make([]float32, b.NumLogits()*b.OutWidth(cfg))
			if err := m.Forward(b, kv, out); err != nil {
				t.Fatal(err)
			}
			return out
		}
		logits, hidden := run(false), run(true)
		f, err := gguf.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		name := "output.weight"
		if tied {
			name = "token_embd.weight"
		}
		ti, ok := f.Tensor(name)
		if !ok {
			t.Fatalf("no %s", name)
		}
		w := f.TensorData(ti)
		rows := len(hidden) / cfg.NEmbd
		scale, worst := 0.0, 0.0
		for r := range rows {
			h := hidden[r*cfg.NEmbd : (r+1)*cfg.NEmbd]
			for v := range cfg.NVocab {
				sum := 0.0
				for k := range cfg.NEmbd {
					wk := math.Float32frombits(binary.LittleEndian.Uint32(w[4*(v*cfg.NEmbd+k):]))
					sum += float64(h[k]) * float64(wk)
				}
				got := float64(logits[r*cfg.NVocab+v])
				scale = max(scale, math.Abs(sum))
				worst = max(worst, math.Abs(got-sum))
			}
		}
		f.Close()
		if rows != 3 || worst > 1e-5*scale {
			t.Fatalf("tied=%v: %d rows; logits differ from hidden·Wᵀ by %g (scale %g)", tied, rows, worst, scale)
		}
	}
}
