package npu_test

import (
	"testing"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/backends/cpu"
	"github.com/nuri-ai/nuri/backends/npu"
	"github.com/nuri-ai/nuri/internal/e2e"
	"github.com/nuri-ai/nuri/internal/testgguf"
	"github.com/nuri-ai/nuri/internal/testshared"
	"github.com/nuri-ai/nuri/model"
	"github.com/nuri-ai/nuri/tokenizer"
)

// minTop1 is the acceptance bar for stories260K on the NPU: the int8
// requantization of its F32 weights may move near-ties, not more.
const minTop1 = 0.9

// TestStories260K loads the real stories260K model on the simulated NPU and
// compares its logits on the golden prompts with the CPU device's and
// llama.cpp's. Measured (recorded in the report): see -v output.
func TestStories260K(t *testing.T) {
	c, err := e2e.LoadCase(testshared.Path(t, "testdata", "golden", "manifest.json"), "stories260K")
	if err != nil {
		t.Fatal(err)
	}
	dev, err := npu.New(npu.Profiles()[0], 0, npu.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	rep, err := e2e.Compare(c, dev, 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(rep)
	q := dev.QuantReport()
	t.Logf("requantization: %d tensors, overall rel-RMS %.4f, worst %s %.4f", len(q.Tensors), q.RMSRel, q.Worst.Name, q.Worst.RMSRel)
	t.Logf("simulated time %v for %d prompts", dev.SimTime(), len(c.Prompts))
	if rep.VsCPU.Top1 < minTop1 {
		t.Errorf("top-1 agreement with the CPU %.3f < %.2f", rep.VsCPU.Top1, minTop1)
	}
	if rep.VsCPU.NonFinite > 0 {
		t.Errorf("%d non-finite logits", rep.VsCPU.NonFinite)
	}
	if len(q.Tensors) == 0 || q.RMSRel <= 0 || q.RMSRel > 0.02 {
		t.Errorf("requantization report %+v: want the weight matrices with an error in (0, 2%%]", q.RMSRel)
	}
	if dev.SimTime() <= 0 {
		t.Error("no simulated time accumulated")
	}
}

// TestStories260KGenerate decodes 60 tokens greedily from "Once upon a
// time" on the NPU and on the CPU and logs both texts. int8 weights may
// change a near-tie late in the story, not its opening: the first 20
// tokens must agree.
func TestStories260KGenerate(t *testing.T) {
	path := testshared.Path(t, "models", "stories260K.gguf")
	tok, err := tokenizer.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	prompt, err := tok.Encode("Once upon a time", true, false)
	if err != nil {
		t.Fatal(err)
	}
	run := func(dev backends.Device) []int32 {
		m, err := model.Load(path, model.LoadOptions{Device: dev})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		out, err := e2e.Greedy(m, dev, prompt, 60)
		if err != nil {
			t.Fatal(err)
		}
		text, err := tok.Decode(out, false)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: Once upon a time%s", dev.Name(), text)
		return out
	}
	dev, err := npu.New(npu.Profiles()[0], 0, npu.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	host := cpu.New(2)
	defer host.Close()
	got, want := run(dev), run(host)
	same := 0
	for same < len(got) && got[same] == want[same] {
		same++
	}
	t.Logf("the NPU's greedy tokens match the CPU's for the first %d of %d; simulated time %v", same, len(got), dev.SimTime())
	if same < 20 {
		t.Errorf("only the first %d tokens match the CPU's", same)
	}
}

// TestWindowedCache runs Gemma 3's windowed layers from a windowed pool
// in the NPU's memory, each windowed block reused as soon as the window
// has passed it, against one pool on the same device: the same bits
// (e2e.CompareWindowedCache).
func TestWindowedCache(t *testing.T) {
	dev, err := npu.New(npu.Profiles()[0], 0, npu.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	m, err := model.Load(testgguf.Synth(t, "gemma3-tiny", "F32", 1), model.LoadOptions{Device: dev})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := e2e.CompareWindowedCache(dev, m, 4, 32); err != nil {
		t.Fatal(err)
	}
}
