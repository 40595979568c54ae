package cuda

import (
	"testing"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/backends/conformance"
	"github.com/nuri-ai/nuri/internal/testgguf"
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

// TestEmulatedWindowedCache runs Gemma 3's windowed layers
// from a windowed pool in device memory (model.NewWindowedKVCache) on the
// emulator, each windowed block handed back and reused as soon as the
// window has passed it, against a cache of one pool on the same device:
// the attention kernel must read only its window's blocks, so the logits
// are the same bits.
func TestEmulatedWindowedCache(t *testing.T) {
	dev := openEmulated(t)
	const bs, total = 4, 32
	// Gemma 4's shared-KV layers take the same path (the model package
	// checks them on the CPU); on the emulator they take a minute.
	for _, shape := range []string{"gemma3-tiny"} {
		path := testgguf.Synth(t, shape, "F32", 1)
		m, err := model.Load(path, model.LoadOptions{Device: dev, Threads: 2})
		if err != nil {
			t.Fatal(err)
		}
		cfg := m.Config()
		W := model.SlidingWindow(cfg)
		run := func(winBlocks int) []float32 {
			kv, err := model.NewWindowedKVCache(dev, cfg, total/bs, winBlocks, bs, quant.F32)
			if err != nil {
				t.Fatal(err)
			}
			defer kv.Free()
			view := model.KVView{Cache: kv, Tables: [][]int32{nil}}
			var free []int32
			for b := winBlocks - 1; b >= 0; b-- {
				free = append(free, int32(b))
			}
			if winBlocks > 0 {
				view.WinTables = [][]int32{nil}
			}
			toks := []int32{331, 154, 404, 49, 74, 96, 374, 59, 219, 38, 88, 444}
			var all []float32
			for lo := 0; lo < total; {
				hi := min(lo+max(1, 9-lo), total)
				n := hi - lo
				b := &model.Batch{Tokens: toks[lo:hi], Pos: make([]int32, n), Seq: make([]int32, n), Logits: make([]bool, n)}
				for i := range n {
					b.Pos[i], b.Logits[i] = int32(lo+i), true
				}
				for len(view.Tables[0])*bs < hi {
					view.Tables[0] = append(view.Tables[0], int32(len(view.Tables[0])))
					if winBlocks > 0 {
						view.WinTables[0] = append(view.WinTables[0], free[len(free)-1])
						free = free[:len(free)-1]
					}
				}
				out := make([]float32, n*cfg.NVocab)
				if err := m.Forward(b, view, out); err != nil {
					t.Fatalf("%s: positions %d-%d: %v", shape, lo, hi-1, err)
				}
				all = append(all, out...)
				if lo = hi; len(toks) == lo && lo < total {
					toks = append(toks, int32(conformance.Argmax(out[(n-1)*cfg.NVocab:])))
				}
				for i := range max(0, lo-W+1) / bs {
					if blk := view.WinTables; winBlocks > 0 && blk[0][i] >= 0 {
						free = append(free, blk[0][i])
						blk[0][i] = -1
					}
				}
			}
			return all
		}
		one, windowed := run(0), run((W-1+9+bs-1)/bs+1)
		for i := range one {
			if one[i] != windowed[i] {
				t.Fatalf("%s: logit %d (row %d): %v from the windowed pool, %v from one pool", shape, i, i/cfg.NVocab, windowed[i], one[i])
			}
		}
		m.Close()
	}
}
