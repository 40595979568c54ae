package model_test

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/backends/cpu"
	"github.com/nuri-ai/nuri/internal/synth"
	"github.com/nuri-ai/nuri/model"
	"github.com/nuri-ai/nuri/quant"
)

// plainStreamCPU is the CPU device behind streams that show only the
// backends.Stream methods: no HostOutputs (so the logits go through Read)
// and none of the fused matmul forms.
type plainStreamCPU struct{ *cpu.Device }

func (d plainStreamCPU) NewStream() (backends.Stream, error) {
	s, err := d.Device.NewStream()
	return struct{ backends.Stream }{s}, err
}

// TestLogitsStraightIntoOutput: the CPU stream computes the logits in the
// caller's buffer (backends.HostOutputs). They must have the bits of the
// path that computes them on the device and copies them out, and nothing
// past the rows asked for may be written.
func TestLogitsStraightIntoOutput(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tiny.gguf")
	if err := synth.Write(path, synth.Options{Shape: mustShape(t, "tiny"), Type: "Q8_0", Seed: 5}); err != nil {
		t.Fatal(err)
	}
	direct := cpu.New(2)
	defer direct.Close()
	if _, err := direct.NewStream(); err != nil {
		t.Fatal(err)
	}
	viaRead := plainStreamCPU{cpu.New(2)}
	defer viaRead.Close()
	tokens := []int32{1, 7, 3, 9, 4}
	var got [2][]float32
	for i, dev := range []backends.Device{direct, viaRead} {
		m, err := model.Load(path, model.LoadOptions{Device: dev})
		if err != nil {
			t.Fatal(err)
		}
		cfg := m.Config()
		kv, err := model.NewSequenceView(cfg, 32, 16, quant.F16)
		if err != nil {
			t.Fatal(err)
		}
		b := &model.Batch{Tokens: tokens, Pos: make([]int32, len(tokens)), Seq: make([]int32, len(tokens)),
			Logits: []bool{true, false, true, false, true}}
		for j := range tokens {
			b.Pos[j] = int32(j)
		}
		rows := b.NumLogits()
		// One row more than needed, poisoned: it must come back as it was.
		out := make([]float32, (rows+1)*cfg.NVocab)
		for j := range out {
			out[j] = float32(math.Inf(-1))
		}
		if err := m.Forward(b, kv, out); err != nil {
			t.Fatal(err)
		}
		for j, v := range out[rows*cfg.NVocab:] {
			if !math.IsInf(float64(v), -1) {
				t.Fatalf("device %d: out[%d] past the %d logit rows was written: %v", i, rows*cfg.NVocab+j, rows, v)
			}
		}
		got[i] = out[:rows*cfg.NVocab]
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
	}
	for j := range got[0] {
		if math.Float32bits(got[0][j]) != math.Float32bits(got[1][j]) {
			t.Fatalf("logit %d: %v straight into the output, %v through Read", j, got[0][j], got[1][j])
		}
	}
	if _, ok := any(struct{ backends.Stream }{}).(backends.HostOutputs); ok {
		t.Fatal("the plain stream wrapper still offers HostOutputs: the test compares one path with itself")
	}
}

func mustShape(t *testing.T, name string) synth.Shape {
	t.Helper()
	s, err := synth.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
