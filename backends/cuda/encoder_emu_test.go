package cuda

import (
	"testing"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/internal/testgguf"
	"github.com/nuri-ai/nuri/internal/testshared"
	"github.com/nuri-ai/nuri/model"
	"github.com/nuri-ai/nuri/quant"
)

// TestEmulatedEncoder runs synth's bert-tiny (an encoder: layer_norm and
// gelu on the device, attention both ways over a cache in device memory)
// through the CUDA backend on the emulator against the CPU: every
// token's hidden state within 1e-5 rel-RMS (the two sum in other orders;
// measured about 1e-6).
func TestEmulatedEncoder(t *testing.T) {
	dev := openEmulated(t)
	path := testgguf.Synth(t, "bert-tiny", "F32", 1)
	tokens := []int32{331, 154, 404, 49, 74, 96, 374, 59, 219, 38, 88, 444, 428, 71, 246, 92, 434, 60, 126, 228}
	hidden := func(d backends.Device) []float32 {
		m, err := model.Load(path, model.LoadOptions{Device: d, Threads: 2})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		var kv model.KVView
		if d != nil {
			kv, err = model.NewSequenceViewOn(d, m.Config(), len(tokens), 16, quant.F32)
		} else {
			kv, err = model.NewSequenceView(m.Config(), len(tokens), 16, quant.F32)
		}
		if err != nil {
			t.Fatal(err)
		}
		defer kv.Cache.Free()
		n := len(tokens)
		b := &model.Batch{Tokens: tokens, Pos: make([]int32, n), Seq: make([]int32, n), Logits: make([]bool, n), Hidden: true}
		for i := range n {
			b.Pos[i], b.Logits[i] = int32(i), true
		}
		out := make([]float32, n*m.Config().NEmbd)
		if err := m.Forward(b, kv, out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	gpu, cpu := hidden(dev), hidden(nil)
	r := testshared.RelRMS(gpu, cpu)
	t.Logf("emulated GPU vs CPU: rel-RMS %.2g", r)
	if r > 1e-5 {
		t.Errorf("emulated GPU vs CPU: rel-RMS %.3g", r)
	}
}
