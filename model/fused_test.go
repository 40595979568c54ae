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
// and none of the fused forms (RMSNorm, SwiGLU and the residual add folded
// into matmuls, shared-input matmuls).
type plainStreamCPU struct{ *cpu.Device }

func (d plainStreamCPU) NewStream() (backends.Stream, error) {
	s, err := d.Device.NewStream()
	return struct{ backends.Stream }{s}, err
}

// TestFusedFormsMatchPlainOps: the CPU stream's fused forms (the logits
// computed in the caller's buffer, the norms and the SwiGLU built inside
// the matmuls' quantizers, the residual adds inside their epilogues) must
// give the bits of the plain ops one after another, for a prefill batch
// (the batched kernels) and the decode steps after it (the single-row
// ones), and write nothing past the logit rows asked for.
func TestFusedFormsMatchPlainOps(t *testing.T) {
	if _, ok := any(struct{ backends.Stream }{}).(backends.HostOutputs); ok {
		t.Fatal("the plain stream wrapper still offers HostOutputs: the test would compare one path with itself")
	}
	// The tiny llama, and tiny shapes of the architectures whose blocks
	// differ: per-head q/k norms (qwen3), post-norms instead of pre-norms
	// (exaone4: no norm to fold, no plain residual), tied embeddings.
	tiny := mustShape(t, "tiny")
	qwen3, exaone4 := tiny, tiny
	qwen3.Arch, qwen3.QKNorm, qwen3.Tied = "qwen3", true, true
	exaone4.Arch, exaone4.QKNorm, exaone4.PostNorm = "exaone4", true, true
	cases := []struct {
		shape synth.Shape
		types []string
	}{{tiny, []string{"Q8_0", "Q4_0", "Q4_K_M", "F16"}}, {qwen3, []string{"Q4_0"}}, {exaone4, []string{"Q4_K_M"}}}
	for _, c := range cases {
		for _, typ := range c.types {
			name := c.shape.Arch + "/" + typ
			path := filepath.Join(t.TempDir(), "tiny.gguf")
			if err := synth.Write(path, synth.Options{Shape: c.shape, Type: typ, Seed: 5}); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			fused := cpu.New(2)
			plain := plainStreamCPU{cpu.New(2)}
			a := runSteps(t, fused, path)
			b := runSteps(t, plain, path)
			fused.Close()
			plain.Close()
			for j := range a {
				if math.Float32bits(a[j]) != math.Float32bits(b[j]) {
					t.Fatalf("%s: logit %d: %v with the fused forms, %v with the plain ops", name, j, a[j], b[j])
				}
			}
		}
	}
}

// runSteps loads path on dev, runs a 5-token prompt wanting three rows of
// logits, then three single-token steps, and returns every logit.
func runSteps(t *testing.T, dev backends.Device, path string) []float32 {
	t.Helper()
	m, err := model.Load(path, model.LoadOptions{Device: dev})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := m.Close(); err != nil {
			t.Error(err)
		}
	}()
	cfg := m.Config()
	kv, err := model.NewSequenceView(cfg, 32, 16, model.SameKV(quant.F16))
	if err != nil {
		t.Fatal(err)
	}
	var all []float32
	run := func(b *model.Batch) {
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
				t.Fatalf("out[%d] past the %d logit rows was written: %v", rows*cfg.NVocab+j, rows, v)
			}
		}
		all = append(all, out[:rows*cfg.NVocab]...)
	}
	prompt := []int32{1, 7, 3, 9, 4}
	b := &model.Batch{Tokens: prompt, Pos: make([]int32, len(prompt)), Seq: make([]int32, len(prompt)),
		Logits: []bool{true, false, true, false, true}}
	for j := range prompt {
		b.Pos[j] = int32(j)
	}
	run(b)
	for j, tok := range []int32{11, 2, 30} {
		run(&model.Batch{Tokens: []int32{tok}, Pos: []int32{int32(len(prompt) + j)}, Seq: []int32{0}})
	}
	return all
}

func mustShape(t *testing.T, name string) synth.Shape {
	t.Helper()
	s, err := synth.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
