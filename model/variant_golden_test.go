package model_test

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nuri-ai/nuri/gguf"
	"github.com/nuri-ai/nuri/internal/synth"
	"github.com/nuri-ai/nuri/internal/testgguf"
	"github.com/nuri-ai/nuri/internal/testshared"
	"github.com/nuri-ai/nuri/quant"
)

// writeVariant writes synth's tiny llama (F32, seed 5), or its qwen3 or
// exaone4 twin, with one feature the shared goldens do not cover:
// YaRN, linear scaling, a scaling factor under type "none", RoPE
// frequency factors, q/k/v/o biases, qwen2's biases and output bias, a
// YaRN attention factor (testdata/variant-golden/README.md).
func writeVariant(t *testing.T, variant string) string {
	t.Helper()
	s, err := synth.Lookup("tiny")
	if err != nil {
		t.Fatal(err)
	}
	arch := "llama"
	switch {
	case strings.HasPrefix(variant, "qwen3"):
		s = synth.Shape{Name: "q3", Arch: "qwen3", Embd: 256, Layers: 2, Heads: 4, KVHeads: 2, HeadDim: 64, FF: 512, Vocab: 512, Ctx: 512,
			RopeBase: 1000000, Eps: 1e-6, QKNorm: true}
		arch = "qwen3"
	case strings.HasPrefix(variant, "exaone4"):
		s = synth.Shape{Name: "e4", Arch: "exaone4", Embd: 256, Layers: 2, Heads: 4, KVHeads: 2, HeadDim: 64, FF: 512, Vocab: 512, Ctx: 512,
			RopeBase: 1000000, Eps: 1e-5, QKNorm: true, PostNorm: true}
		arch = "exaone4"
	case strings.HasPrefix(variant, "qwen2"):
		arch = "qwen2"
	}
	src := filepath.Join(t.TempDir(), "src.gguf")
	if err := synth.Write(src, synth.Options{Shape: s, Type: "F32", Seed: 5}); err != nil {
		t.Fatal(err)
	}
	f := testgguf.Open(t, src)
	var kvs []gguf.KV
	for _, kv := range f.KV {
		if arch != s.Arch {
			if rest, ok := strings.CutPrefix(kv.Key, s.Arch+"."); ok {
				kv.Key = arch + "." + rest
			}
			if kv.Key == "general.architecture" {
				kv.Value = gguf.String(arch)
			}
		}
		kvs = append(kvs, kv)
	}
	var ts []testgguf.Tensor
	for i := range f.Tensors {
		ts = append(ts, testgguf.TensorOf(f, &f.Tensors[i]))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	randBytes := func(n int, sc float64) []byte {
		b := make([]byte, 4*n)
		for i := range n {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(float32(rng.NormFloat64()*sc)))
		}
		return b
	}
	a := arch + "."
	switch variant {
	case "yarn", "qwen3-yarn":
		kvs = append(kvs, gguf.KV{Key: a + "rope.scaling.type", Value: gguf.String("yarn")},
			gguf.KV{Key: a + "rope.scaling.factor", Value: gguf.Float32(4)},
			gguf.KV{Key: a + "rope.scaling.original_context_length", Value: gguf.Uint32(32)})
	case "linear":
		kvs = append(kvs, gguf.KV{Key: a + "rope.scaling.type", Value: gguf.String("linear")},
			gguf.KV{Key: a + "rope.scaling.factor", Value: gguf.Float32(2.5)})
	case "none-factor":
		kvs = append(kvs, gguf.KV{Key: a + "rope.scaling.type", Value: gguf.String("none")},
			gguf.KV{Key: a + "rope.scaling.factor", Value: gguf.Float32(2.5)})
	case "ropefreqs", "exaone4-ropefreqs":
		v := make([]float32, 32)
		for i := range v {
			v[i] = 1 + float32(i)*0.3
		}
		ts = append(ts, testgguf.Tensor{Name: "rope_freqs.weight", Type: quant.F32, Dims: []uint64{32}, Data: f32Bytes(v)})
	case "bias", "qwen2":
		var extra []testgguf.Tensor
		for _, w := range ts {
			for _, p := range []string{"attn_q", "attn_k", "attn_v", "attn_output"} {
				if strings.HasSuffix(w.Name, "."+p+".weight") && (variant == "bias" || p != "attn_output") {
					n := int(w.Dims[1])
					extra = append(extra, testgguf.Tensor{Name: strings.Replace(w.Name, ".weight", ".bias", 1), Type: quant.F32,
						Dims: []uint64{uint64(n)}, Data: randBytes(n, 0.5)})
				}
			}
		}
		ts = append(ts, extra...)
		if variant == "qwen2" {
			ts = append(ts, testgguf.Tensor{Name: "output.bias", Type: quant.F32, Dims: []uint64{512}, Data: randBytes(512, 0.5)})
		}
	case "attnfactor":
		kvs = append(kvs, gguf.KV{Key: a + "rope.scaling.type", Value: gguf.String("yarn")},
			gguf.KV{Key: a + "rope.scaling.factor", Value: gguf.Float32(8)},
			gguf.KV{Key: a + "rope.scaling.attn_factor", Value: gguf.Float32(0.8)},
			gguf.KV{Key: a + "rope.scaling.original_context_length", Value: gguf.Uint32(16)})
	default:
		t.Fatalf("no variant %q", variant)
	}
	return testgguf.WriteGGUF(t, variant+".gguf", kvs, ts)
}

// TestVariantGoldens: the features of the dense architectures that the
// shared goldens leave out, against llama.cpp's logits for the same files
// (24 tokens, in one pass and a token at a time). Tolerance 1e-3 rel-RMS
// and full top-1 agreement, the shared goldens' for float weights;
// measured 2e-6 to 4e-4.
func TestVariantGoldens(t *testing.T) {
	for _, c := range []struct{ variant, sha256 string }{
		{"yarn", "3b499d67ccf1a334cd884ed0c119962fbd78c9e01c4671520c6ffdfc3c7f930b"},
		{"linear", "3b56ab89662959a9f71b3a463ffe13bf75e1c6aef1f450ef6b602ac55fd2d114"},
		{"none-factor", "e9ad5b5374b3e8d6e8714c3639f93077b6f61f994e84dad900fa5e53dec6f27d"},
		{"ropefreqs", "272075711a911d0cc8afa6c7bbedc0aa847cc24ac61e3da4fc4b2ab3e044b6a1"},
		{"bias", "0de2b01ef87b3d4a79cd7bae58148ed56d5dc0becb927995719b5db37d1b21dc"},
		{"qwen2", "9d96e1e909fcbe7f6cf83279a1e5dc52c261e627b8eac763eff1a0b1ac30bb8b"},
		{"qwen3-yarn", "e1256376c3f12119f031fabf36963753a9ad67e9e54d48f8b72ab0a72fc2e7f9"},
		{"exaone4-ropefreqs", "392f0c68a038603695da24bc6a8bc814369db364c2d7dcebee9d7f351ee38348"},
		{"attnfactor", "6422db3a43d5eb9c019a34a4e002f35bb6d22b2bc9738005424d506239d9156a"},
	} {
		t.Run(c.variant, func(t *testing.T) {
			path := writeVariant(t, c.variant)
			checkFixture(t, path, c.sha256, "testdata/variant-golden/README.md")
			ref := testshared.ReadF32(t, filepath.Join("testdata", "variant-golden", c.variant+".logits.f32"))
			prompt := synthGoldenPrompt[:24]
			compareGolden(t, loadModel(t, path), prompt, ref, []int{len(prompt), 1}, 1e-3, 1)
		})
	}
}
