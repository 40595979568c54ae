package cuda_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/backends/conformance"
	"github.com/nuri-ai/nuri/backends/cuda"
	"github.com/nuri-ai/nuri/internal/e2e"
	"github.com/nuri-ai/nuri/internal/testshared"
)

// openTestDevice opens the GPU named by NURI_TEST_DEVICE (default
// cuda:0). Without a usable GPU it checks the unavailable path instead:
// the error must wrap backends.ErrUnavailable and give a reason; asking
// for a CUDA device explicitly makes its absence a failure.
func openTestDevice(t *testing.T) *cuda.Device {
	t.Helper()
	name := os.Getenv("NURI_TEST_DEVICE")
	cfg := strings.TrimPrefix(name, "cuda:")
	if !strings.HasPrefix(name, "cuda") {
		cfg = "0"
	}
	dev, err := cuda.Open(cfg, cuda.Options{})
	if err != nil {
		if strings.HasPrefix(name, "cuda") {
			t.Fatalf("NURI_TEST_DEVICE=%s: %v", name, err)
		}
		if !errors.Is(err, backends.ErrUnavailable) || len(err.Error()) < len("cuda: : device unavailable")+5 {
			t.Fatalf("no GPU, but the error is not a reasoned ErrUnavailable: %v", err)
		}
		t.Logf("no usable GPU on this machine (checked the unavailable path): %v", err)
		return nil
	}
	t.Cleanup(func() {
		if err := dev.Close(); err != nil {
			t.Error(err)
		}
	})
	for _, l := range dev.Describe() {
		t.Log(l)
	}
	return dev
}

// TestConformance runs the kit on the GPU (ExactLimits).
func TestConformance(t *testing.T) {
	dev := openTestDevice(t)
	if dev == nil {
		return
	}
	conformance.Run(t, dev)
	s := dev.Stats()
	t.Logf("telemetry: %+v", s)
}

// TestConformanceStories260K compares stories260K's logits on the GPU with
// the CPU's on the golden prompts: with the CPU's numerics, the top-1
// agreement must be perfect and the logits within the golden case's 5e-4
// rel-RMS (the emulated backend measures 1.5e-4).
func TestConformanceStories260K(t *testing.T) {
	dev := openTestDevice(t)
	if dev == nil {
		return
	}
	c, err := e2e.LoadCase(testshared.Path(t, "testdata", "golden", "manifest.json"), "stories260K")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := e2e.Compare(c, dev, 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(rep)
	if rep.VsCPU.Top1 < 1 || rep.VsCPU.RelRMS > 5e-4 || rep.VsCPU.NonFinite > 0 {
		t.Errorf("GPU vs CPU: %v", rep.VsCPU)
	}
}

// TestReadBandwidth measures the GPU's memory read bandwidth with the
// probe `nuri bench model` uses for its roofline (1 GiB, far beyond any
// L2). Above 20 TB/s — several times any HBM — the reads were skipped or
// the clock is wrong.
func TestReadBandwidth(t *testing.T) {
	dev := openTestDevice(t)
	if dev == nil {
		return
	}
	gbs, err := dev.MeasureReadBandwidth(1 << 30)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("read bandwidth: %.0f GB/s", gbs)
	if gbs <= 0 || gbs > 20000 {
		t.Errorf("read bandwidth %.0f GB/s is not plausible", gbs)
	}
}
