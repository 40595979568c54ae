package engine

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/nuri-ai/nuri/internal/synth"
	"github.com/nuri-ai/nuri/model"
	"github.com/nuri-ai/nuri/quant"
)

// windowedModel writes a synth shape with sliding-window layers (Q8_0)
// and loads it.
func windowedModel(t testing.TB, shape string) realModel {
	sh, err := synth.Lookup(shape)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), shape+".gguf")
	if err := synth.Write(path, synth.Options{Shape: sh, Type: "Q8_0", Seed: 11}); err != nil {
		t.Fatalf("synth %s: %v", shape, err)
	}
	return loadReal(t, shape, path)
}

// TestWindowPoolMatchesOnePool: greedy requests on models whose windowed
// layers get a pool of their own (window 16, blocks of 4) produce exactly
// the tokens each produces alone with one pool, while prompts share
// prefixes (hits that must find the windowed blocks of their last
// window), run in chunks, preempt one another, speculate and give
// windowed blocks back as their windows move on.
func TestWindowPoolMatchesOnePool(t *testing.T) {
	for _, shape := range []string{"gemma3-tiny", "gemma4-e-tiny"} {
		t.Run(shape, func(t *testing.T) {
			rm := windowedModel(t, shape)
			nv := rm.m.Config().NVocab
			n, maxTokens := 10, func(i int) int { return 6 + 3*i } // a second under -race
			tails := randomPrompts(3, n, 24, 3, nv)
			shared := randomPrompts(4, 1, 1, 3, nv)[0]
			for len(shared) < 37 {
				shared = append(shared, randomPrompts(uint64(len(shared)), 1, 9, 3, nv)[0]...)
			}
			prompts := make([][]int32, n)
			for i, tail := range tails {
				prompts[i] = append(slices.Clone(shared[:10+3*i]), tail...)
			}
			want := make([][]int32, n)
			for i, p := range prompts {
				e := rm.engine(t, Config{NumBlocks: 64, BlockSize: 4, DisablePrefixCaching: true, DisableWindowPool: true})
				if e.win != nil {
					t.Fatal("DisableWindowPool made a windowed pool")
				}
				s := submit(t, e, Request{Prompt: p, MaxTokens: maxTokens(i), Sampling: greedyParams(), IgnoreEOS: true})
				o := drive(t, e, []*Sequence{s}, 10000)[0]
				if o.finish != FinishLength {
					t.Fatalf("prompt %d alone: finish %q %v", i, o.finish, o.err)
				}
				want[i] = o.tokens
				e.Close()
			}
			for _, c := range []struct {
				name string
				cfg  Config
			}{
				{"preempting", Config{NumBlocks: 24, BlockSize: 4, MaxNumSeqs: 2, MaxNumBatchedTokens: 8}},
				{"speculating", Config{NumBlocks: 200, BlockSize: 4, MaxNumSeqs: 4, MaxNumBatchedTokens: 24, SpecTokens: 6}},
			} {
				t.Run(c.name, func(t *testing.T) {
					e := rm.engine(t, c.cfg)
					if e.win == nil || e.window != 16 || e.win.numBlocks() != windowBlocks(e.cfg, 16) {
						t.Fatalf("windowed pool %v, window %d", e.win != nil, e.window)
					}
					var seqs []*Sequence
					for i, p := range prompts {
						seqs = append(seqs, submit(t, e, Request{Prompt: p, MaxTokens: maxTokens(i), Sampling: greedyParams(), IgnoreEOS: true}))
					}
					maxUsed, maxGlobal := 0, 0
					for step := 0; step < 10000 && len(e.running)+len(e.waiting)+len(e.incoming) > 0; step++ {
						e.step()
						checkInvariants(t, e)
						maxUsed = max(maxUsed, e.win.numUsed())
						maxGlobal = max(maxGlobal, e.pool.numUsed())
					}
					outs := drive(t, e, seqs, 10)
					for i, o := range outs {
						if !slices.Equal(o.tokens, want[i]) {
							t.Errorf("prompt %d (%d tokens): %v\none pool, alone: %v", i, len(prompts[i]), o.tokens, want[i])
						}
					}
					st := e.Stats()
					t.Logf("blocks used at most %d of %d, windowed %d of %d; prefix hits %d tokens, %d preemptions, %d drafts accepted",
						maxGlobal, st.KVBlocks, maxUsed, st.KVWindowBlocks, st.PrefixHits, st.Preemptions, st.SpecAcceptedTokens)
					if st.PrefixHits == 0 {
						t.Error("no prefix hit")
					}
					if c.cfg.SpecTokens == 0 && st.Preemptions == 0 {
						t.Error("no preemption")
					}
					assertAllFree(t, e)
				})
			}
		})
	}
}

// TestPlanKVWindowed checks the split of a budget between the pools.
func TestPlanKVWindowed(t *testing.T) {
	mc := model.Config{NLayer: 6, NHead: 4, NHeadKV: 2, HeadDimK: 64, HeadDimV: 64, NVocab: 10,
		Windows: []int{512, 512, 0, 512, 512, 0}}
	perPos := 6 * 2 * 2 * 64 * 2 // F16 K and V, 2 KV heads, 6 layers
	full, win := perPos/3, perPos*2/3
	for _, c := range []struct {
		name           string
		cfg            Config
		nBlocks, nWin  int
		onePoolNBlocks int
	}{
		// 4 GiB / (16 positions × perPos) blocks in one pool; split: the
		// windowed pool is windowBlocks and the rest goes to the others.
		{"memory", Config{KVCacheMemory: 4 << 30, MaxNumSeqs: 8}, 0, 0, (4 << 30) / (16 * perPos)},
		{"blocks", Config{NumBlocks: 5000, MaxNumSeqs: 8}, 5000, -1, 5000},
		{"too few blocks", Config{NumBlocks: 100, MaxNumSeqs: 8}, 100, 0, 100},
		{"off", Config{KVCacheMemory: 4 << 30, MaxNumSeqs: 8, DisableWindowPool: true}, (4 << 30) / (16 * perPos), 0, (4 << 30) / (16 * perPos)},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, kt, err := c.cfg.withDefaults()
			if err != nil {
				t.Fatal(err)
			}
			p, err := planKV(cfg, mc, kt, 32768)
			if err != nil {
				t.Fatal(err)
			}
			nWin := windowBlocks(cfg, 512)
			wantBlocks, wantWin := c.nBlocks, c.nWin
			switch {
			case c.name == "memory":
				wantWin = nWin
				wantBlocks = int((float64(4<<30) - float64(nWin)*float64(16*win)) / float64(16*full))
			case wantWin < 0:
				wantWin = nWin
			}
			if p.nBlocks != wantBlocks || p.winBlocks != wantWin || p.onePoolBytes != int64(c.onePoolNBlocks)*int64(16*perPos) {
				t.Fatalf("plan %+v, want %d blocks, %d windowed (one pool %d blocks)", p, wantBlocks, wantWin, c.onePoolNBlocks)
			}
			if p.winBlocks > 0 {
				kv, err := model.NewWindowedKVCache(nil, mc, 4, p.winBlocks, 16, model.SameKV(quant.F16))
				if err != nil {
					t.Fatal(err)
				}
				if int64(kv.BytesPerBlock()) != p.perBlock || kv.BytesPerWindowBlock() != 16*win {
					t.Fatalf("cache blocks %d and %d bytes, plan %d", kv.BytesPerBlock(), kv.BytesPerWindowBlock(), p.perBlock)
				}
			}
		})
	}
	// Every layer windowed: the other pool costs nothing, so it takes
	// what MaxNumSeqs full contexts can reference.
	all := mc
	all.Windows = []int{512, 512, 512, 512, 512, 512}
	cfg, kt, err := Config{KVCacheMemory: 1 << 30, MaxNumSeqs: 8}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	p, err := planKV(cfg, all, kt, 32768)
	if err != nil || p.nBlocks != 8*32768/16 || p.winBlocks != windowBlocks(cfg, 512) || p.perBlock != 0 {
		t.Fatalf("all windowed: plan %+v (%v)", p, err)
	}
}

// TestWindowPoolKeepsSharedPrompt: 64 requests sharing a 200-token
// system prompt, 8 running at a time, through a windowed pool (window 32,
// blocks of 4) barely larger than the running sequences' windows. A hit
// on the system prompt needs the windowed blocks of its last window,
// which every request passes early and gives back; generated text's
// windows are evicted before them (slideWindow), so the pool serves as
// many prefix hits as one pool does.
func TestWindowPoolKeepsSharedPrompt(t *testing.T) {
	sys := prompt(99, 200)
	hits := make([]int64, 2)
	for i, windowed := range []bool{false, true} {
		cfg := Config{NumBlocks: 400, BlockSize: 4, MaxNumSeqs: 8, MaxNumBatchedTokens: 64, DisableWindowPool: !windowed}
		var e *Engine
		var f *fakeModel
		if windowed {
			e, f = newFakeWindowedEngine(t, cfg, 1024, 32)
		} else {
			e, f = newFakeEngine(t, cfg, 1024)
		}
		var seqs []*Sequence
		for j := range 64 {
			p := append(slices.Clone(sys), prompt(j, 20)...)
			seqs = append(seqs, submit(t, e, Request{Prompt: p, MaxTokens: 60, Sampling: greedyParams(), IgnoreEOS: true}))
		}
		for j, o := range drive(t, e, seqs, 100000) {
			if want := reference(seqs[j].req.Prompt, greedyParams(), 60, 1024, true); !slices.Equal(o.tokens, want) {
				t.Fatalf("windowed %v: request %d: %v, want %v", windowed, j, o.tokens, want)
			}
		}
		if f.bad != nil {
			t.Fatalf("windowed %v: %v", windowed, f.bad)
		}
		st := e.Stats()
		hits[i] = st.PrefixHits
		t.Logf("windowed %v: %d blocks, %d windowed; prefix hits %d of %d tokens", windowed, st.KVBlocks, st.KVWindowBlocks, st.PrefixHits, st.PrefixQueries)
		assertAllFree(t, e)
	}
	if hits[1] < hits[0] || hits[0] < 56*200 {
		t.Errorf("prefix hits: %d tokens through the windowed pool, %d through one pool (at least %d)", hits[1], hits[0], 56*200)
	}
}

// TestWindowPoolContinuesConversation: a request continuing an earlier
// one (its prompt and reply, then a new turn) hits the whole earlier
// conversation through the windowed pool, whose last window the earlier
// sequence released when it ended, as through one pool.
func TestWindowPoolContinuesConversation(t *testing.T) {
	for _, windowed := range []bool{false, true} {
		cfg := Config{NumBlocks: 400, BlockSize: 4, MaxNumSeqs: 8, MaxNumBatchedTokens: 64, DisableWindowPool: !windowed}
		var e *Engine
		if windowed {
			e, _ = newFakeWindowedEngine(t, cfg, 1024, 32)
		} else {
			e, _ = newFakeEngine(t, cfg, 1024)
		}
		first := prompt(1, 101)
		o := drive(t, e, []*Sequence{submit(t, e, Request{Prompt: first, MaxTokens: 60, Sampling: greedyParams(), IgnoreEOS: true})}, 1000)[0]
		next := append(append(slices.Clone(first), o.tokens...), prompt(2, 20)...)
		s := submit(t, e, Request{Prompt: next, MaxTokens: 5, Sampling: greedyParams(), IgnoreEOS: true})
		o2 := drive(t, e, []*Sequence{s}, 1000)[0]
		// The first sequence computed its prompt and 59 of its 60 tokens.
		if want := (len(first) + 59) / 4 * 4; o2.usage.CachedTokens != want {
			t.Errorf("windowed %v: the continuation hit %d tokens, want %d", windowed, o2.usage.CachedTokens, want)
		}
		if want := reference(next, greedyParams(), 5, 1024, true); !slices.Equal(o2.tokens, want) {
			t.Errorf("windowed %v: %v, want %v", windowed, o2.tokens, want)
		}
		assertAllFree(t, e)
	}
}
