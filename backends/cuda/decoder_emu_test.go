package cuda

import (
	"testing"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/internal/e2e"
	"github.com/nuri-ai/nuri/internal/testgguf"
	"github.com/nuri-ai/nuri/kernels"
	"github.com/nuri-ai/nuri/model"
	"github.com/nuri-ai/nuri/quant"
)

// TestEmulatedGemma4 runs synth's Gemma 4 and Ministral 3 shapes through
// the CUDA backend on the emulator against the CPU, the prompt in one
// pass and then a token at a time: windowed and global layers of their
// own head sizes and KV heads, shared-KV layers reading another layer's
// cache in device memory, per-layer embeddings, experts beside the dense
// block; Ministral's queries scaled per token. Logits within rel-RMS 5e-4
// for Gemma 4 (measured 7e-5 to 2.3e-4: as for embeddinggemma-tiny, a
// GELU table index that falls the other way is amplified by the random
// sandwich-normed layers; llama.cpp and the CPU differ as much) and 1e-5
// for Ministral 3 (measured 3.6e-7).
func TestEmulatedGemma4(t *testing.T) {
	dev := openEmulated(t)
	prompt := []int32{331, 154, 404, 49, 74, 96, 374, 59, 219, 38, 88, 444, 428, 71, 246, 92, 434, 60, 126, 228, 63, 406}
	for shape, tol := range map[string]float64{"gemma4-tiny": 5e-4, "gemma4-e-tiny": 5e-4, "gemma4-moe-tiny": 5e-4, "mistral3-tiny": 1e-5} {
		path := testgguf.Synth(t, shape, "F32", 1)
		logits := func(d backends.Device) []float32 {
			m, kv := loadOn(t, d, path, len(prompt))
			nv := m.Config().NVocab
			var all []float32
			// The first 16 tokens in one pass, the rest a token at a time.
			for lo := 0; lo < len(prompt); {
				hi := min(lo+max(1, 16-lo), len(prompt))
				n := hi - lo
				b := &model.Batch{Tokens: prompt[lo:hi], Pos: make([]int32, n), Seq: make([]int32, n), Logits: make([]bool, n)}
				for i := range n {
					b.Pos[i], b.Logits[i] = int32(lo+i), true
				}
				out := make([]float32, n*nv)
				if err := m.Forward(b, kv, out); err != nil {
					t.Fatal(err)
				}
				all = append(all, out...)
				lo = hi
			}
			return all
		}
		checkAgainstCPU(t, shape, logits(dev), logits(nil), tol)
	}
}

// TestEmulatedWindowedCache runs Gemma 3's windowed layers from a
// windowed pool in device memory on the emulator, each windowed block
// handed back and reused as soon as the window has passed it, against a
// cache of one pool on the same device (e2e.CompareWindowedCache): the
// attention kernel must read only its window's blocks, so the logits are
// the same bits. Gemma 4's shared-KV layers take the same path (the model
// package checks them on the CPU); on the emulator they take a minute.
func TestEmulatedWindowedCache(t *testing.T) {
	dev := openEmulated(t)
	m, err := model.Load(testgguf.Synth(t, "gemma3-tiny", "F32", 1), model.LoadOptions{Device: dev, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := e2e.CompareWindowedCache(dev, m, 4, 32); err != nil {
		t.Fatal(err)
	}
}

// TestEmulatedIQuants runs the tiny llama in llama-quantize's i-quant
// recipes (whose main types are, between them, all seven i-quants below
// 4 bits, beside Q2_K, Q4_K, Q5_K and IQ3_S) and in Q2_K and Q3_K_M
// through the CUDA backend on the emulator, every op on the device, the
// prompt in one pass, against the CPU's pure-Go kernels. It checks the
// wiring (kernel names, codebooks, types); each kernel's exactness is the
// conformance kit's (ExactLimits). A random model of 1.5-3.5 bits is too
// sensitive for a tight bound here: where a sum's last bit differs, a Q8_K
// rounding in the next layer can flip, and the logits move by up to 0.012
// rel-RMS (measured; most recipes within 2e-7). A codebook entry read the
// wrong way round moved them by 0.37-1.3, so the bound is 0.05.
func TestEmulatedIQuants(t *testing.T) {
	dev := openEmulated(t)
	prompt := []int32{331, 154, 404, 49, 74, 96, 374, 59, 219, 38, 88, 444}
	for _, recipe := range []string{"IQ2_XS", "IQ2_M", "IQ3_XXS", "IQ1_S", "IQ1_M", "Q2_K", "Q3_K_M"} {
		path := testgguf.Synth(t, "tiny", recipe, 3)
		logits := func(d backends.Device) []float32 {
			m, err := model.Load(path, model.LoadOptions{Device: d, Threads: 2, Kernels: kernels.KernelsGeneric})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			var kv model.KVView
			if d != nil {
				kv, err = model.NewSequenceViewOn(d, m.Config(), len(prompt), 16, model.SameKV(quant.F32))
			} else {
				kv, err = model.NewSequenceView(m.Config(), len(prompt), 16, model.SameKV(quant.F32))
			}
			if err != nil {
				t.Fatal(err)
			}
			n, nv := len(prompt), m.Config().NVocab
			b := &model.Batch{Tokens: prompt, Pos: make([]int32, n), Seq: make([]int32, n), Logits: make([]bool, n)}
			for i := range n {
				b.Pos[i], b.Logits[i] = int32(i), true
			}
			out := make([]float32, n*nv)
			if err := m.Forward(b, kv, out); err != nil {
				t.Fatal(err)
			}
			return out
		}
		checkAgainstCPU(t, recipe, logits(dev), logits(nil), 0.05)
	}
}
