package model_test

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/nuri-ai/nuri/gguf"
	"github.com/nuri-ai/nuri/internal/synth"
	"github.com/nuri-ai/nuri/model"
	"github.com/nuri-ai/nuri/quant"
)

// windowedRun feeds two interleaved sequences (prompts in chunks, then
// greedy decodes) through kv, keeping their block tables as the engine
// does: blocks on demand and, for a windowed cache, the windowed layers'
// blocks handed back (last freed, first reused) once wholly behind the
// window, their entries -1. A layer reading a block outside its window
// then reads another position's K/V. It returns every row's logits.
func windowedRun(t *testing.T, m model.Model, kv *model.KVCache, prompts [][]int32, chunk, decode int) []float32 {
	t.Helper()
	bs, W := kv.BlockSize(), kv.Window()
	nv := m.Config().NVocab
	view := model.KVView{Cache: kv, Tables: make([][]int32, len(prompts))}
	var free, winFree []int32
	for b := kv.NumBlocks() - 1; b >= 0; b-- {
		free = append(free, int32(b))
	}
	for b := kv.WindowBlocks() - 1; b >= 0; b-- {
		winFree = append(winFree, int32(b))
	}
	pop := func(list *[]int32) int32 {
		if len(*list) == 0 {
			t.Fatal("out of blocks")
		}
		b := (*list)[len(*list)-1]
		*list = (*list)[:len(*list)-1]
		return b
	}
	if W > 0 {
		view.WinTables = make([][]int32, len(prompts))
	}
	toks := make([][]int32, len(prompts))
	for i, p := range prompts {
		toks[i] = slices.Clone(p)
	}
	done := make([]int, len(prompts)) // positions computed
	var all []float32
	for step := 0; ; step++ {
		b := &model.Batch{}
		for s := range prompts {
			n := min(chunk, len(toks[s])-done[s])
			if len(toks[s]) >= len(prompts[s])+decode && done[s] == len(toks[s]) {
				continue
			}
			if done[s] >= len(prompts[s]) {
				n = 1
			}
			for p := done[s]; p < done[s]+n; p++ {
				for len(view.Tables[s]) <= p/bs {
					view.Tables[s] = append(view.Tables[s], pop(&free))
					if W > 0 {
						view.WinTables[s] = append(view.WinTables[s], pop(&winFree))
					}
				}
				b.Tokens = append(b.Tokens, toks[s][p])
				b.Pos = append(b.Pos, int32(p))
				b.Seq = append(b.Seq, int32(s))
				b.Logits = append(b.Logits, true)
			}
		}
		if len(b.Tokens) == 0 {
			return all
		}
		out := make([]float32, b.NumLogits()*nv)
		if err := m.Forward(b, view, out); err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		all = append(all, out...)
		row := 0
		for s := range prompts {
			n := 0
			for _, q := range b.Seq {
				if int(q) == s {
					n++
				}
			}
			if n == 0 {
				continue
			}
			row += n
			done[s] += n
			if done[s] == len(toks[s]) && len(toks[s]) < len(prompts[s])+decode {
				toks[s] = append(toks[s], argmax(out[(row-1)*nv:row*nv]))
			}
			if W == 0 {
				continue
			}
			for i := range max(0, done[s]-W+1) / bs {
				if blk := view.WinTables[s][i]; blk >= 0 {
					winFree = append(winFree, blk)
					view.WinTables[s][i] = -1
				}
			}
		}
	}
}

// TestWindowedCacheMatchesOnePool checks a windowed cache against the one
// pool on the windowed architectures (Gemma 2, 3 and 4 with its shared
// layers, EXAONE's MoE): two sequences crossing the window of 16 many
// times, prompts in chunks of 9, then decodes, with the windowed blocks
// recycled as soon as they fall behind. Each layer reads the same K/V
// values in the same order either way, so the logits must be identical.
func TestWindowedCacheMatchesOnePool(t *testing.T) {
	const bs, chunk, decode = 4, 9, 24
	zero := gguf.Uint32(0)
	for _, c := range []struct {
		name, shape string
		kv          map[string]*gguf.Value
	}{
		{"gemma3-tiny", "gemma3-tiny", nil},
		{"gemma2-tiny", "gemma2-tiny", nil},
		{"gemma4-tiny", "gemma4-tiny", nil},
		{"gemma4-e-tiny", "gemma4-e-tiny", nil},
		{"exaone-moe-tiny", "exaone-moe-tiny", nil},
		// Every layer windowed (pattern 0): the other pool holds nothing.
		{"exaone-moe-tiny all windowed", "exaone-moe-tiny", map[string]*gguf.Value{"exaone-moe.attention.sliding_window_pattern": &zero}},
	} {
		t.Run(c.name, func(t *testing.T) {
			sh, err := synth.Lookup(c.shape)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), c.shape+".gguf")
			if err := synth.Write(path, synth.Options{Shape: sh, Type: "Q8_0", Seed: 3}); err != nil {
				t.Fatal(err)
			}
			if c.kv != nil {
				path = rewriteGGUF(t, path, c.kv, nil, nil)
			}
			m := loadModel(t, path)
			cfg := m.Config()
			if W := model.SlidingWindow(cfg); W != sh.SWAWindow {
				t.Fatalf("sliding window %d, want %d (windows %v)", W, sh.SWAWindow, cfg.Windows)
			}
			prompts := [][]int32{synthGoldenPrompt[:61], synthGoldenPrompt[5:45]}
			nBlocks := 2 * ((61 + decode + bs - 1) / bs)
			// A sequence holds at most the window and a chunk: (16-1+9)/4+1.
			winBlocks := 2 * ((sh.SWAWindow-1+chunk+bs-1)/bs + 1)
			for _, kt := range []quant.Type{quant.F16, quant.Q8_0, quant.Q4_0, quant.Q5_1} {
				one, err := model.NewKVCache(cfg, nBlocks, bs, model.SameKV(kt))
				if err != nil {
					t.Fatal(err)
				}
				win, err := model.NewWindowedKVCache(nil, cfg, nBlocks, winBlocks, bs, model.SameKV(kt))
				if err != nil {
					t.Fatal(err)
				}
				full, windowed, err := model.KVBytesPerPositionWindowed(cfg, model.SameKV(kt), nil)
				if err != nil || windowed == 0 || (full == 0) != (c.kv != nil) || win.BytesPerBlock() != bs*full || win.BytesPerWindowBlock() != bs*windowed ||
					one.BytesPerBlock() != bs*(full+windowed) {
					t.Fatalf("%v: %d+%d bytes a position (%v); blocks of %d and %d, one pool %d", kt, full, windowed, err,
						win.BytesPerBlock(), win.BytesPerWindowBlock(), one.BytesPerBlock())
				}
				want := windowedRun(t, m, one, prompts, chunk, decode)
				got := windowedRun(t, m, win, prompts, chunk, decode)
				if len(got) != len(want) {
					t.Fatalf("%v: %d logits, want %d", kt, len(got), len(want))
				}
				for i := range got {
					if got[i] != want[i] {
						t.Fatalf("%v: logit %d (row %d) %v, one pool %v", kt, i, i/cfg.NVocab, got[i], want[i])
					}
				}
			}
		})
	}
}

// TestWindowedCacheRefusesStaleWindow checks that a windowed table must
// hold every block of a token's window.
func TestWindowedCacheRefusesStaleWindow(t *testing.T) {
	sh, err := synth.Lookup("gemma3-tiny")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "g.gguf")
	if err := synth.Write(path, synth.Options{Shape: sh, Type: "F32", Seed: 3}); err != nil {
		t.Fatal(err)
	}
	m := loadModel(t, path)
	kv, err := model.NewWindowedKVCache(nil, m.Config(), 8, 8, 4, model.SameKV(quant.F16))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		win []int32
		pos int32
		ok  bool
	}{
		{[]int32{-1, -1, 0, 1, 2, 3}, 23, true},   // window 8..23: blocks 2-5
		{[]int32{-1, -1, 0, 1, 2, 3}, 20, false},  // window 5..20: block 1 is needed
		{[]int32{-1, -1, -1, 1, 2, 3}, 23, false}, // block 2 freed
		{[]int32{-1, -1, 0, 1, 2}, 23, false},     // block 5 missing
		{[]int32{-1, -1, 0, 1, 2, 8}, 23, false},  // the pool has 8 blocks
	} {
		view := model.KVView{Cache: kv, Tables: [][]int32{{0, 1, 2, 3, 4, 5}}, WinTables: [][]int32{tc.win}}
		b := &model.Batch{Tokens: []int32{1}, Pos: []int32{tc.pos}, Seq: []int32{0}}
		err := m.Forward(b, view, make([]float32, m.Config().NVocab))
		if (err == nil) != tc.ok {
			t.Errorf("%v at %d: %v", tc.win, tc.pos, err)
		}
	}
	// Tables without windowed ones are refused.
	err = m.Forward(&model.Batch{Tokens: []int32{1}, Pos: []int32{0}, Seq: []int32{0}}, model.KVView{Cache: kv, Tables: [][]int32{{0}}}, make([]float32, m.Config().NVocab))
	if err == nil {
		t.Error("a windowed cache without windowed tables was taken")
	}
}

// TestWindowedSequenceView checks the single-sequence view whose windowed
// layers hold a ring of blocks against a view of one pool: Gemma 3 fed
// 120 positions in passes of up to 9 (a prompt, then greedy decodes, and
// a benchmark's repetition that rewrites positions 60-68 twice), blocks of
// 4 and a ring of 7, the same bits.
func TestWindowedSequenceView(t *testing.T) {
	sh, err := synth.Lookup("gemma3-tiny")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "g.gguf")
	if err := synth.Write(path, synth.Options{Shape: sh, Type: "Q8_0", Seed: 3}); err != nil {
		t.Fatal(err)
	}
	m := loadModel(t, path)
	cfg := m.Config()
	const nPos, maxBatch, bs = 120, 9, 4
	run := func(kv model.KVView) []float32 {
		var all []float32
		toks := slices.Clone(synthGoldenPrompt[:40])
		feed := func(lo, hi int) []float32 {
			b := &model.Batch{Tokens: toks[lo:hi], Pos: make([]int32, hi-lo), Seq: make([]int32, hi-lo), Logits: make([]bool, hi-lo)}
			for i := range b.Pos {
				b.Pos[i], b.Logits[i] = int32(lo+i), true
			}
			out := make([]float32, (hi-lo)*cfg.NVocab)
			if err := m.Forward(b, kv, out); err != nil {
				t.Fatalf("positions %d-%d: %v", lo, hi-1, err)
			}
			all = append(all, out...)
			return out
		}
		for lo := 0; lo < nPos; {
			if lo == 69 { // twice more over 60-68, as a benchmark's repetitions
				feed(60, 69)
				feed(60, 69)
			}
			hi := min(lo+maxBatch, len(toks))
			out := feed(lo, hi)
			if lo = hi; lo == len(toks) && lo < nPos {
				toks = append(toks, argmax(out[len(out)-cfg.NVocab:]))
			}
		}
		return all
	}
	one, err := model.NewSequenceView(cfg, nPos, bs, model.SameKV(quant.F16))
	if err != nil {
		t.Fatal(err)
	}
	win, err := model.NewWindowedSequenceView(nil, cfg, nPos, maxBatch, bs, model.SameKV(quant.F16))
	if err != nil {
		t.Fatal(err)
	}
	if win.Cache.WindowBlocks() != 7 || len(win.WinTables) != 1 {
		t.Fatalf("%d windowed blocks, %d windowed tables", win.Cache.WindowBlocks(), len(win.WinTables))
	}
	want, got := run(one), run(win)
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("logit %d (row %d): %v with the ring, %v with one pool", i, i/cfg.NVocab, got[i], want[i])
		}
	}
	// A model without windows, or a sequence the ring would cover, gets
	// one pool.
	if v, err := model.NewWindowedSequenceView(nil, cfg, 24, maxBatch, bs, model.SameKV(quant.F16)); err != nil || v.WinTables != nil {
		t.Errorf("a 24-position view: %v windowed tables, %v", v.WinTables, err)
	}
}
