package model_test

import (
	"path/filepath"
	"testing"

	"github.com/nuri-ai/nuri/backends/cpu"
	"github.com/nuri-ai/nuri/internal/synth"
	"github.com/nuri-ai/nuri/model"
	"github.com/nuri-ai/nuri/quant"
)

// TestDecodeStepAllocs: a decode step on the CPU allocates nothing, as
// issue 5 asks of the hot path. Nothing else allocates during decode, so
// the collector does not run and each object would be fresh heap memory,
// first touched between ops while both threads wait for the caller (a 4
// KiB page fault took ~13 µs on the 2-core VMs). ~120 objects a llama-1b
// step made no measurable difference to its time (docs/performance.md,
// round 12); this keeps new ones from creeping in. The tiny llama covers
// the packed single-row matmuls with their fused norm, SwiGLU and residual
// forms, RoPE, the KV store and attention; F16 covers the float weights'
// stream kernels; qwen3 and exaone4 the separate norms and adds; four
// sequences the batched kernels and multi-position RoPE; the mixtures of
// experts their routing, grouped downs and row scaling, and deepseek2 its
// latent attention (split projections, per-head matmuls, GetRows).
func TestDecodeStepAllocs(t *testing.T) {
	tiny := mustShape(t, "tiny")
	qwen3, exaone4 := tiny, tiny
	qwen3.Arch, qwen3.QKNorm, qwen3.Tied = "qwen3", true, true
	exaone4.Arch, exaone4.QKNorm, exaone4.PostNorm = "exaone4", true, true
	cases := []struct {
		name  string
		shape synth.Shape
		typ   string
		kv    quant.Type
		seqs  int
	}{
		{"llama/Q4_0", tiny, "Q4_0", quant.F16, 1},
		{"llama/Q4_K_M", tiny, "Q4_K_M", quant.F16, 1},
		{"llama/F16", tiny, "F16", quant.F16, 1},
		{"llama/Q8_0/kv-q8_0", tiny, "Q8_0", quant.Q8_0, 1},
		{"llama/Q4_0/4-seqs", tiny, "Q4_0", quant.F16, 4},
		{"qwen3/Q4_0", qwen3, "Q4_0", quant.F16, 1},
		{"exaone4/Q4_K_M", exaone4, "Q4_K_M", quant.F16, 1},
		{"qwen3moe/Q4_K_M", mustShape(t, "moe-tiny"), "Q4_K_M", quant.F16, 1},
		{"qwen3moe/Q4_K_M/4-seqs", mustShape(t, "moe-tiny"), "Q4_K_M", quant.F16, 4},
		{"exaone-moe/Q8_0", mustShape(t, "exaone-moe-tiny"), "Q8_0", quant.F16, 1},
		{"glm4moe/Q8_0", mustShape(t, "glm4moe-tiny"), "Q8_0", quant.F16, 1},
		{"deepseek2/Q8_0", mustShape(t, "deepseek3-tiny"), "Q8_0", quant.F16, 1},
		{"deepseek2/Q8_0/4-seqs", mustShape(t, "deepseek3-tiny"), "Q8_0", quant.F16, 4},
		{"gemma3/Q8_0", mustShape(t, "gemma3-tiny"), "Q8_0", quant.F16, 1},
		{"gemma2/Q8_0", mustShape(t, "gemma2-tiny"), "Q8_0", quant.F16, 1},
		{"gemma4/Q8_0", mustShape(t, "gemma4-e-tiny"), "Q8_0", quant.F16, 1},
		{"gemma4-moe/Q8_0", mustShape(t, "gemma4-moe-tiny"), "Q8_0", quant.F16, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "tiny.gguf")
			if err := synth.Write(path, synth.Options{Shape: c.shape, Type: c.typ, Seed: 3}); err != nil {
				t.Fatal(err)
			}
			dev := cpu.New(2)
			defer dev.Close()
			m, err := model.Load(path, model.LoadOptions{Device: dev})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			cfg := m.Config()
			kv, err := model.NewKVCache(cfg, c.seqs*4, 16, model.SameKV(c.kv))
			if err != nil {
				t.Fatal(err)
			}
			// Sequence s owns blocks 4s..4s+3 (64 positions).
			view := model.KVView{Cache: kv, Tables: make([][]int32, c.seqs)}
			for s := range view.Tables {
				view.Tables[s] = []int32{int32(4 * s), int32(4*s + 1), int32(4*s + 2), int32(4*s + 3)}
			}
			out := make([]float32, c.seqs*cfg.NVocab)
			b := &model.Batch{Tokens: make([]int32, c.seqs), Pos: make([]int32, c.seqs), Seq: make([]int32, c.seqs)}
			for s := range b.Seq {
				b.Seq[s] = int32(s)
			}
			b.Logits = make([]bool, c.seqs)
			for s := range b.Logits {
				b.Logits[s] = true
			}
			pos := int32(0)
			step := func() {
				for s := range b.Tokens {
					b.Tokens[s], b.Pos[s] = 1+(pos+int32(s))%7, pos
				}
				pos++
				if err := m.Forward(b, view, out); err != nil {
					t.Fatal(err)
				}
			}
			// Warm-up: the first steps size the scratch buffers.
			for range 3 {
				step()
			}
			if n := testing.AllocsPerRun(40, step); n != 0 {
				t.Errorf("a decode step allocated %.1f objects, want 0", n)
			}
		})
	}
}
