package e2e

import (
	"fmt"
	"math"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/backends/conformance"
	"github.com/nuri-ai/nuri/model"
	"github.com/nuri-ai/nuri/quant"
)

// CompareWindowedCache runs m (a model with sliding-window layers, loaded
// on dev) over total positions twice, from a cache of one pool and from a
// windowed cache (model.NewWindowedKVCache) in dev's memory whose windowed
// blocks are handed back and reused as soon as the window has passed them:
// a prompt chunk of 9, then greedy decodes, blocks of bs positions. The
// attention must read only its window's blocks, so the logits must be the
// same bits; it returns an error saying where they are not.
func CompareWindowedCache(dev backends.Device, m model.Model, bs, total int) error {
	cfg := m.Config()
	W := model.SlidingWindow(cfg)
	if W == 0 {
		return fmt.Errorf("windowed cache: %s has no sliding-window layers a windowed cache can keep", cfg.Arch)
	}
	const chunk = 9
	one, err := windowedRun(dev, m, bs, total, chunk, 0)
	if err != nil {
		return fmt.Errorf("one pool: %w", err)
	}
	windowed, err := windowedRun(dev, m, bs, total, chunk, (W-1+chunk+bs-1)/bs+1)
	if err != nil {
		return fmt.Errorf("windowed pool: %w", err)
	}
	for i := range one {
		if math.Float32bits(one[i]) != math.Float32bits(windowed[i]) {
			return fmt.Errorf("logit %d (row %d): %v from the windowed pool, %v from one pool", i, i/cfg.NVocab, windowed[i], one[i])
		}
	}
	return nil
}

// windowedRun feeds one sequence: the first chunk positions in one pass,
// then a token at a time, each the argmax of the last logits. With
// winBlocks > 0 the windowed layers' blocks come from a ring of that many,
// given back (their entries -1) once wholly behind the window.
func windowedRun(dev backends.Device, m model.Model, bs, total, chunk, winBlocks int) ([]float32, error) {
	cfg := m.Config()
	W := model.SlidingWindow(cfg)
	kv, err := model.NewWindowedKVCache(dev, cfg, (total+bs-1)/bs, winBlocks, bs, model.SameKV(quant.F32))
	if err != nil {
		return nil, err
	}
	defer kv.Free()
	view := model.KVView{Cache: kv, Tables: [][]int32{nil}}
	var free []int32
	if winBlocks > 0 {
		view.WinTables = [][]int32{nil}
		for b := winBlocks - 1; b >= 0; b-- {
			free = append(free, int32(b))
		}
	}
	toks := []int32{331, 154, 404, 49, 74, 96, 374, 59, 219, 38, 88, 444}
	var all []float32
	for lo := 0; lo < total; {
		hi := min(lo+max(1, chunk-lo), total)
		n := hi - lo
		b := &model.Batch{Tokens: toks[lo:hi], Pos: make([]int32, n), Seq: make([]int32, n), Logits: make([]bool, n)}
		for i := range n {
			b.Pos[i], b.Logits[i] = int32(lo+i), true
		}
		for len(view.Tables[0])*bs < hi {
			view.Tables[0] = append(view.Tables[0], int32(len(view.Tables[0])))
			if winBlocks > 0 {
				if len(free) == 0 {
					return nil, fmt.Errorf("positions %d-%d: the ring of %d windowed blocks is used up", lo, hi-1, winBlocks)
				}
				view.WinTables[0] = append(view.WinTables[0], free[len(free)-1])
				free = free[:len(free)-1]
			}
		}
		out := make([]float32, n*cfg.NVocab)
		if err := m.Forward(b, view, out); err != nil {
			return nil, fmt.Errorf("positions %d-%d: %w", lo, hi-1, err)
		}
		all = append(all, out...)
		if lo = hi; len(toks) == lo && lo < total {
			toks = append(toks, int32(conformance.Argmax(out[(n-1)*cfg.NVocab:])))
		}
		if winBlocks == 0 {
			continue
		}
		win := view.WinTables[0]
		for i := range max(0, lo-W+1) / bs {
			if win[i] >= 0 {
				free = append(free, win[i])
				win[i] = -1
			}
		}
	}
	return all, nil
}
