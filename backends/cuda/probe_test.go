package cuda

import (
	"context"
	"encoding/binary"
	"strings"
	"testing"
	"unsafe"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/bench/inproc"
	"github.com/nuri-ai/nuri/internal/testgguf"
)

// TestEmulatedReadProbe checks that the read probe's kernel visits every
// word: with one non-zero word in a zero buffer, the one thread that reads
// it folds exactly its value and stores it. The sizes run the unrolled
// loop and the tail, with one block (stride 256) and with several.
func TestEmulatedReadProbe(t *testing.T) {
	dev := openEmulated(t)
	const magic = 0x5eed1234
	for _, tc := range []struct{ words, grid int }{
		{1, 1}, {256*4*3 + 77, 1}, {256*4*3 + 77, 3}, {5000, 7},
	} {
		for _, at := range []int{0, 1, tc.words / 2, tc.words - 1} {
			if at >= tc.words {
				continue
			}
			data := make([]byte, tc.words*probeWord)
			binary.LittleEndian.PutUint32(data[at*probeWord+4*(at%4):], magic)
			got, err := probeOnce(dev, data, tc.grid, magic)
			if err != nil {
				t.Fatal(err)
			}
			if got != magic {
				t.Errorf("%d words, %d blocks, marked word %d: stored %#x, want %#x (word not read)", tc.words, tc.grid, at, got, magic)
			}
		}
	}
	gbs, err := dev.MeasureReadBandwidth(1 << 20)
	if err != nil || gbs <= 0 {
		t.Errorf("MeasureReadBandwidth(1 MiB) = %v, %v; want a positive rate", gbs, err)
	}
	if _, err := dev.MeasureReadBandwidth(8); err == nil {
		t.Error("MeasureReadBandwidth(8): no error for a buffer below one word")
	}
}

// probeOnce uploads data, runs one probe launch and returns what it stored.
func probeOnce(dev *Device, data []byte, grid int, magic uint32) (uint32, error) {
	buf, err := dev.Alloc(len(data), backends.UsageScratch)
	if err != nil {
		return 0, err
	}
	defer dev.Free(buf)
	out, err := dev.Alloc(4, backends.UsageScratch)
	if err != nil {
		return 0, err
	}
	defer dev.Free(out)
	var got uint32
	err = dev.do(func() error {
		s := &Stream{dev: dev}
		if err := dev.drv.check("cuStreamCreate", dev.drv.cuStreamCreate(&s.h, 0)); err != nil {
			return err
		}
		defer dev.drv.cuStreamDestroy(s.h)
		if err := dev.drv.check("copy in", dev.drv.cuMemcpyHtoDAsync(buf.(*Buffer).ptr, unsafe.Pointer(&data[0]), uint64(len(data)), s.h)); err != nil {
			return err
		}
		if err := s.readProbe(grid, buf.(*Buffer).ptr, len(data)/probeWord, out.(*Buffer).ptr, magic); err != nil {
			return err
		}
		if err := dev.drv.check("copy out", dev.drv.cuMemcpyDtoHAsync(unsafe.Pointer(&got), out.(*Buffer).ptr, 4, s.h)); err != nil {
			return err
		}
		return dev.drv.check("sync", dev.drv.cuStreamSynchronize(s.h))
	})
	return got, err
}

// TestEmulatedBenchModel runs `nuri bench model`'s measurement on the
// emulated GPU: the roofline comes from the device's own read probe, the
// generation test is paired with a probe before each repetition, and the
// op profile (--op-profile) times every op of its steps.
func TestEmulatedBenchModel(t *testing.T) {
	dev := openEmulated(t)
	path := testgguf.Synth(t, "tiny", "Q8_0", 3)
	cfg := inproc.DefaultModelConfig()
	cfg.Model, cfg.Device, cfg.Prompts, cfg.Gens, cfg.Reps, cfg.BandwidthMiB, cfg.Threads = path, dev.Name(), []int{8}, []int{3}, 2, 1, 1
	cfg.OpProfile = true
	res, err := inproc.RunModel(context.Background(), cfg, inproc.RunOptions{Device: dev})
	if err != nil {
		t.Fatal(err)
	}
	if res.Backend != "CUDA" || res.Device != "cuda:0" || res.Memory.Where != "cuda:0" || len(res.DeviceInfo) == 0 || len(res.Kernels) != 0 {
		t.Errorf("run on %s (%s): memory on %q, device info %q, CPU kernels %v", res.Device, res.Backend, res.Memory.Where, res.DeviceInfo, res.Kernels)
	}
	// Two before the tests, one before each tg repetition, two after tg.
	if len(res.Memory.SamplesGBs) != 6 || res.Memory.BestGBs <= 0 {
		t.Errorf("bandwidth samples %v", res.Memory.SamplesGBs)
	}
	if len(res.Tests) != 2 {
		t.Fatalf("tests %+v", res.Tests)
	}
	tg := res.Tests[1]
	if tg.Roofline == nil || tg.Roofline.BandwidthGBs != res.Memory.BestGBs || tg.Roofline.Ratio <= 0 || len(tg.ProbeGBs) != 2 || tg.Roofline.PairedRatio <= 0 {
		t.Errorf("tg3: roofline %+v, probes %v", tg.Roofline, tg.ProbeGBs)
	}
	calls, matmuls := map[string]float64{}, 0.0
	for _, op := range tg.OpProfile {
		calls[op.Name] = op.Calls
		if strings.HasPrefix(op.Name, "mul_mat Q8_0 ") { // shared-input calls name every weight
			matmuls += op.Calls * float64(1+strings.Count(op.Name, " + "))
		}
	}
	// The tiny llama, per step: per layer one attention, an rms_norm
	// before each half and the q, k, v, o, gate, up and down matrices
	// (q/k/v and gate/up in one shared-input call each); the output
	// matrix; one read of the logits.
	if calls["attention"] < 1 || calls["rms_norm"] < 2*calls["attention"] || calls["read"] != 1 || matmuls != 7*calls["attention"]+1 {
		t.Errorf("tg3 op profile %+v (%v Q8_0 matrices a step)", tg.OpProfile, matmuls)
	}
	if res.Tests[0].OpProfile != nil {
		t.Errorf("pp8 has an op profile")
	}
	if dev.prof.On() {
		t.Error("op profiling still on after the run")
	}
	var text strings.Builder
	if err := inproc.WriteModelText(&text, res); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"roofline: tg3 ", "cuda:0 memory read bandwidth", "in cuda:0 memory", "device: cuda:0: CPU emulator"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("no %q in:\n%s", want, text.String())
		}
	}
}
