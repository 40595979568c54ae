package imatrix

import (
	"math"
	"testing"

	"github.com/nuri-ai/nuri/backends/cpu"
	"github.com/nuri-ai/nuri/gguf"
	"github.com/nuri-ai/nuri/internal/testshared"
	"github.com/nuri-ai/nuri/model"
	"github.com/nuri-ai/nuri/quant"
)

// TestCollectsMatmulInputs runs stories260K over a few tokens through a
// wrapped CPU device and checks the first layer's q/k/v entry against
// the mean square computed by hand: the token embeddings, RMS-normalised
// and times attn_norm. It also checks that every block matrix was seen
// (the unfused path: ffn_down's input is SwiGLU's output, 172 columns).
func TestCollectsMatmulInputs(t *testing.T) {
	path := testshared.Path(t, "models", "stories260K.gguf")
	dev := Wrap(cpu.New(2), DefaultKeep(false))
	m, err := model.Load(path, model.LoadOptions{Device: dev})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	cfg := m.Config()
	tokens := []int32{1, 403, 407, 261, 378, 300, 17, 42}
	kv, err := model.NewSequenceView(cfg, len(tokens), 16, model.SameKV(quant.F16))
	if err != nil {
		t.Fatal(err)
	}
	b := &model.Batch{Tokens: tokens, Pos: make([]int32, len(tokens)), Seq: make([]int32, len(tokens)), Logits: make([]bool, len(tokens))}
	for i := range b.Pos {
		b.Pos[i], b.Logits[i] = int32(i), true
	}
	if err := m.Forward(b, kv, make([]float32, len(tokens)*cfg.NVocab)); err != nil {
		t.Fatal(err)
	}
	im, err := dev.Imatrix([]string{"test"}, 1, len(tokens))
	if err != nil {
		t.Fatal(err)
	}
	if want := 7 * cfg.NLayer; len(im.Entries) != want {
		t.Errorf("%d matrices recorded, want %d (q, k, v, o, gate, up, down per block)", len(im.Entries), want)
	}
	if got := len(im.Entries["blk.0.ffn_down.weight"]); got != cfg.NFF {
		t.Errorf("ffn_down entry of %d columns, want %d", got, cfg.NFF)
	}
	if _, ok := im.Entries["output.weight"]; ok {
		t.Error("the output matrix was recorded without --process-output")
	}

	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	floats := func(name string) []float32 {
		ti, ok := f.Tensor(name)
		if !ok {
			t.Fatalf("no %s", name)
		}
		v := make([]float32, ti.Elements())
		if err := quant.Dequantize(ti.Type, f.TensorData(ti), v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	eps, _ := f.Float32("llama.attention.layer_norm_rms_epsilon")
	emb, norm := floats("token_embd.weight"), floats("blk.0.attn_norm.weight")
	n := cfg.NEmbd
	want := make([]float64, n)
	for _, tok := range tokens {
		row := emb[int(tok)*n : (int(tok)+1)*n]
		var ss float64
		for _, v := range row {
			ss += float64(v) * float64(v)
		}
		scale := 1 / math.Sqrt(ss/float64(n)+float64(eps))
		for j, v := range row {
			h := float64(v) * scale * float64(norm[j])
			want[j] += h * h / float64(len(tokens))
		}
	}
	for _, name := range []string{"blk.0.attn_q.weight", "blk.0.attn_k.weight", "blk.0.attn_v.weight"} {
		got := im.Entries[name]
		if len(got) != n || im.Counts[name][0] != float32(len(tokens)) {
			t.Fatalf("%s: %d columns over %v rows", name, len(got), im.Counts[name])
		}
		for j := range n {
			// float32 activations against a float64 computation.
			if math.Abs(float64(got[j])-want[j]) > 1e-4*want[j]+1e-9 {
				t.Fatalf("%s column %d: %g, want %g", name, j, got[j], want[j])
			}
		}
	}
}
