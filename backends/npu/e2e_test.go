package npu_test

import (
	"testing"

	"github.com/nuri-ai/nuri/backends/npu"
	"github.com/nuri-ai/nuri/internal/e2e"
	"github.com/nuri-ai/nuri/internal/testshared"
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
