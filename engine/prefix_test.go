package engine

import (
	"errors"
	"slices"
	"testing"

	"go.uber.org/zap/zaptest"
)

func TestPrefixCacheReusesSharedPrefix(t *testing.T) {
	e, f := newFakeEngine(t, Config{NumBlocks: 64}, 1024)
	shared := prompt(1, 256)
	p1 := append(slices.Clone(shared), prompt(2, 20)...)
	p2 := append(slices.Clone(shared), prompt(3, 37)...)

	o1 := drive(t, e, []*Sequence{submit(t, e, Request{Prompt: p1, MaxTokens: 10, Sampling: greedyParams(), IgnoreEOS: true})}, 100)[0]
	before := e.Stats()
	o2 := drive(t, e, []*Sequence{submit(t, e, Request{Prompt: p2, MaxTokens: 10, Sampling: greedyParams(), IgnoreEOS: true})}, 100)[0]
	after := e.Stats()

	if got := after.PrefillTokens - before.PrefillTokens; got != 37 {
		t.Fatalf("second request prefilled %d tokens, want only the 37 after the shared prefix", got)
	}
	if o2.usage.CachedTokens != 256 || o1.usage.CachedTokens != 0 {
		t.Fatalf("cached tokens %d then %d", o1.usage.CachedTokens, o2.usage.CachedTokens)
	}
	// The first token's event tells the stream as much, before the end.
	if o2.firstCache != 256 || o1.firstCache != 0 {
		t.Fatalf("the first events' cached tokens %d then %d", o1.firstCache, o2.firstCache)
	}
	if hits := after.PrefixHits - before.PrefixHits; hits != 256 {
		t.Fatalf("prefix hits %d tokens", hits)
	}
	if q := after.PrefixQueries - before.PrefixQueries; q != int64(len(p2)) {
		t.Fatalf("prefix queries %d tokens, want %d", q, len(p2))
	}
	for i, o := range []*outcome{o1, o2} {
		want := reference([][]int32{p1, p2}[i], greedyParams(), 10, 1024, true)
		if !slices.Equal(o.tokens, want) {
			t.Fatalf("request %d: %v, want the uncached %v", i+1, o.tokens, want)
		}
	}
	if f.bad != nil {
		t.Fatal(f.bad)
	}
	assertAllFree(t, e)
	if e.Stats().KVBlocksCached == 0 {
		t.Fatal("no block stayed cached")
	}
}

func TestPrefixCacheIdenticalPromptLeavesOneToken(t *testing.T) {
	e, _ := newFakeEngine(t, Config{NumBlocks: 16}, 256)
	p := prompt(5, 48) // exactly three blocks
	want := reference(p, greedyParams(), 4, 256, true)
	for round := range 2 {
		o := drive(t, e, []*Sequence{submit(t, e, Request{Prompt: p, MaxTokens: 4, Sampling: greedyParams(), IgnoreEOS: true})}, 100)[0]
		if !slices.Equal(o.tokens, want) {
			t.Fatalf("round %d: %v, want %v", round, o.tokens, want)
		}
		// the last block cannot be reused whole: its last token must run
		if round == 1 && o.usage.CachedTokens != 32 {
			t.Fatalf("cached %d tokens, want 32", o.usage.CachedTokens)
		}
	}
}

func TestPrefixSharedBetweenRunningSequences(t *testing.T) {
	e, f := newFakeEngine(t, Config{NumBlocks: 32}, 512)
	shared := prompt(7, 64)
	a := submit(t, e, Request{Prompt: append(slices.Clone(shared), 3, 4), MaxTokens: 30, Sampling: greedyParams(), IgnoreEOS: true})
	e.step() // a's prompt is computed and its four full blocks registered
	b := submit(t, e, Request{Prompt: append(slices.Clone(shared), 5), MaxTokens: 30, Sampling: greedyParams(), IgnoreEOS: true})
	e.step()
	for i := range 4 {
		if a.blocks[i] != b.blocks[i] || e.pool.ref[a.blocks[i]] != 2 {
			t.Fatalf("block %d not shared: %d vs %d (ref %d)", i, a.blocks[i], b.blocks[i], e.pool.ref[a.blocks[i]])
		}
	}
	outs := drive(t, e, []*Sequence{a, b}, 200)
	for i, o := range outs {
		want := reference(append(slices.Clone(shared), [][]int32{{3, 4}, {5}}[i]...), greedyParams(), 30, 512, true)
		if !slices.Equal(o.tokens, want) {
			t.Fatalf("request %d: %v, want %v", i, o.tokens, want)
		}
	}
	if f.bad != nil {
		t.Fatal(f.bad)
	}
	assertAllFree(t, e)
}

func TestPrefixCacheEvictsLeastRecentlyUsed(t *testing.T) {
	// 8 blocks: each request holds 3 at most; finished ones stay cached
	// until new allocations evict the oldest.
	e, _ := newFakeEngine(t, Config{NumBlocks: 8}, 128)
	run := func(p []int32) *outcome {
		return drive(t, e, []*Sequence{submit(t, e, Request{Prompt: p, MaxTokens: 1, Sampling: greedyParams(), IgnoreEOS: true})}, 50)[0]
	}
	pa, pb, pc := prompt(1, 33), prompt(2, 33), prompt(3, 33)
	run(pa) // caches 2 blocks of A
	run(pb) // 2 of B
	run(pc) // 2 of C: 6 cached, 2 free
	if st := e.Stats(); st.KVBlocksCached != 6 {
		t.Fatalf("cached %d blocks, want 6", st.KVBlocksCached)
	}
	// Needs 3 blocks: the 2 free ones, then the LRU head. Sequences free
	// their tail first, so A's second block goes and its first survives.
	run(prompt(4, 40))
	if o := run(pa); o.usage.CachedTokens != 16 {
		t.Fatalf("A hit %d tokens after its second block was evicted, want 16", o.usage.CachedTokens)
	}
	if o := run(pc); o.usage.CachedTokens != 32 {
		t.Fatalf("C hit %d tokens, want 32", o.usage.CachedTokens)
	}
	assertAllFree(t, e)
}

func TestPrefixCachingDisabled(t *testing.T) {
	e, _ := newFakeEngine(t, Config{NumBlocks: 32, DisablePrefixCaching: true}, 512)
	p := prompt(1, 100)
	for range 2 {
		o := drive(t, e, []*Sequence{submit(t, e, Request{Prompt: p, MaxTokens: 2, Sampling: greedyParams()})}, 100)[0]
		if o.usage.CachedTokens != 0 {
			t.Fatal("cache hit with prefix caching off")
		}
	}
	if st := e.Stats(); st.PrefillTokens != 200 || st.KVBlocksCached != 0 || st.PrefixHits != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// Per-request adapters (Request.LoRA) change every K/V, so cached prompt
// blocks are shared between requests with the same adapter and never
// across adapters; each reply is what it is alone. The fake model starts
// a sequence's hash chain from its adapter, so a block computed under
// another adapter would break the chain its check verifies.
func TestPrefixCacheSeparatesAdapters(t *testing.T) {
	f := newFakeModel(256)
	f.cfg.LoRA = []string{"a", "b"}
	e, err := New(Config{NumBlocks: 64}, f, fakeTokenizer{}, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	p := prompt(5, 70)
	for i, lora := range []int32{1, 0, 2, 1, 0} {
		s := submit(t, e, Request{Prompt: p, MaxTokens: 12, Sampling: greedyParams(), IgnoreEOS: true, LoRA: lora})
		out := drive(t, e, []*Sequence{s}, 1000)[0]
		if f.bad != nil {
			t.Fatal(f.bad)
		}
		if want := referenceLoRA(p, greedyParams(), 12, 256, true, lora); !slices.Equal(out.tokens, want) {
			t.Fatalf("request %d (adapter %d): %v, want %v", i, lora, out.tokens, want)
		}
		// The first request of each adapter finds nothing cached, the
		// second its 64 full-block tokens.
		wantCached := 0
		if i >= 3 {
			wantCached = 64
		}
		if out.usage.CachedTokens != wantCached {
			t.Errorf("request %d (adapter %d): %d cached tokens, want %d", i, lora, out.usage.CachedTokens, wantCached)
		}
	}
	if _, err := e.Submit(t.Context(), Request{Prompt: p, Sampling: greedyParams(), LoRA: 3}); !errors.Is(err, ErrUnknownAdapter) {
		t.Fatalf("adapter 3 of 2: %v", err)
	}
}

// Request.CacheSalt: requests share cached prompt blocks only with equal
// salts (and adapters); replies are unchanged.
func TestPrefixCacheSeparatesSalts(t *testing.T) {
	e, f := newFakeEngine(t, Config{NumBlocks: 64}, 256)
	p := prompt(7, 70)
	for i, tc := range []struct {
		salt   string
		cached int
	}{{"", 0}, {"tenant-a", 0}, {"tenant-b", 0}, {"tenant-a", 64}, {"", 64}, {"tenant-b", 64}, {"tenant-c", 0}} {
		s := submit(t, e, Request{Prompt: p, MaxTokens: 8, Sampling: greedyParams(), IgnoreEOS: true, CacheSalt: tc.salt})
		out := drive(t, e, []*Sequence{s}, 1000)[0]
		if f.bad != nil {
			t.Fatal(f.bad)
		}
		if want := reference(p, greedyParams(), 8, 256, true); !slices.Equal(out.tokens, want) {
			t.Fatalf("request %d (salt %q): %v, want %v", i, tc.salt, out.tokens, want)
		}
		if out.usage.CachedTokens != tc.cached {
			t.Errorf("request %d (salt %q): %d cached tokens, want %d", i, tc.salt, out.usage.CachedTokens, tc.cached)
		}
	}
	assertAllFree(t, e)
}
