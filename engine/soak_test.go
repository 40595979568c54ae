package engine

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nuri-ai/nuri/sample"
)

// soakDuration is 30 s by default (5 s with -short); NURI_SOAK_DURATION
// (a Go duration, e.g. 2m) sets it for longer runs.
func soakDuration(t *testing.T) time.Duration {
	if v := os.Getenv("NURI_SOAK_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("NURI_SOAK_DURATION=%q: %v", v, err)
		}
		return d
	}
	if testing.Short() {
		return 5 * time.Second
	}
	return 30 * time.Second
}

// soakCase is one random request and what it must produce.
type soakCase struct {
	req        Request
	wantTokens []int32
	wantText   string
	wantFinish FinishReason
	cancel     int // cancel after this many events; -1 never
	viaCtx     bool
}

func newSoakCase(r *rand.Rand, id int, prefixes [][]int32, nCtx int) soakCase {
	// Prompts often share a prefix family so the prefix cache is busy.
	var p []int32
	if r.IntN(2) == 0 {
		fam := prefixes[r.IntN(len(prefixes))]
		p = slices.Clone(fam[:1+r.IntN(len(fam))])
	}
	p = append(p, prompt(id, 1+r.IntN(60))...)
	sp := greedyParams()
	if r.IntN(3) == 0 {
		sp = sample.DefaultParams()
		sp.Seed, sp.HasSeed = r.Uint64(), true
		sp.Temperature = 0.5 + r.Float32()
	}
	c := soakCase{
		req:    Request{ID: fmt.Sprint("soak-", id), Prompt: p, MaxTokens: 1 + r.IntN(80), Sampling: sp, IgnoreEOS: r.IntN(2) == 0},
		cancel: -1,
	}
	c.wantTokens = reference(p, sp, c.req.MaxTokens, nCtx, c.req.IgnoreEOS)
	c.wantText = fakeText(c.wantTokens, c.req.IgnoreEOS)
	c.wantFinish = FinishLength
	if last := c.wantTokens[len(c.wantTokens)-1]; last == fakeEOS && !c.req.IgnoreEOS {
		c.wantFinish = FinishStop
	}
	if r.IntN(4) == 0 && len(c.wantText) > 4 {
		// a stop string taken from the expected text
		i := r.IntN(len(c.wantText) - 3)
		if s := c.wantText[i : i+3]; validStop(s) {
			c.req.Stop = []string{s}
			cut := strings.Index(c.wantText, s)
			c.wantText, c.wantFinish = c.wantText[:cut], FinishStop
			c.wantTokens = nil // the tokens up to the match are checked through the text
		}
	}
	if r.IntN(5) == 0 {
		c.cancel, c.viaCtx = r.IntN(5), r.IntN(2) == 0
	}
	return c
}

func validStop(s string) bool {
	return s != "" && !strings.ContainsRune(s, '\uFFFD') && strings.ToValidUTF8(s, "") == s
}

// TestSoak runs random arrivals, cancellations, stop strings and seeded
// sampling against a KV budget small enough to force preemption, through
// the real Run loop. Every request that is not cancelled must produce
// exactly its reference output; afterwards no block and no goroutine may
// be left.
func TestSoak(t *testing.T) {
	// 24 blocks of 16 = 384 positions, far less than 8 sequences of up to
	// 240 tokens need: preemption is routine.
	const nCtx = 384
	base := runtime.NumGoroutine()
	e, f := newFakeEngine(t, Config{NumBlocks: 24, MaxNumSeqs: 8, MaxNumBatchedTokens: 64, MaxQueuedRequests: 32}, nCtx)
	soak(t, e, f, soakDuration(t), nCtx, base)
}

// TestSoakWindowed is TestSoak with a windowed layer (window 8) in a pool
// of its own: its blocks given back as windows move on, hits that need
// their last window's windowed blocks, preemption and cancellation
// releasing both tables. A third of the soak's time.
func TestSoakWindowed(t *testing.T) {
	const nCtx = 384 // 96 blocks of 4
	base := runtime.NumGoroutine()
	e, f := newFakeWindowedEngine(t, Config{NumBlocks: 96, BlockSize: 4, MaxNumSeqs: 8, MaxNumBatchedTokens: 64, MaxQueuedRequests: 32}, nCtx, 8)
	soak(t, e, f, soakDuration(t)/3, nCtx, base)
}

// soak runs random requests through e's Run loop for dur and checks each
// against its reference; base is the goroutine count before e.
func soak(t *testing.T, e *Engine, f *fakeModel, dur time.Duration, nCtx, base int) {
	f.delay = 100 * time.Microsecond
	stop := runEngine(t, e)

	r := rand.New(rand.NewPCG(2024, 11))
	prefixes := [][]int32{prompt(1, 40), prompt(2, 70), prompt(3, 100)}
	var wg sync.WaitGroup
	var nDone, nCancelled, nFull atomic.Int64
	errs := make(chan error, 64)
	report := func(err error) {
		select {
		case errs <- err:
		default:
		}
	}
	deadline := time.Now().Add(dur)
	for id := 0; time.Now().Before(deadline); id++ {
		c := newSoakCase(r, id, prefixes, nCtx)
		ctx, cancel := context.WithCancel(context.Background())
		s, err := e.Submit(ctx, c.req)
		if errors.Is(err, ErrQueueFull) {
			cancel()
			nFull.Add(1)
			time.Sleep(2 * time.Millisecond)
			continue
		}
		if err != nil {
			cancel()
			t.Fatalf("submit: %v", err)
		}
		wg.Go(func() {
			defer cancel()
			o := &outcome{}
			for ev := range s.Events() {
				o.add(ev)
				if o.events == c.cancel {
					if c.viaCtx {
						cancel()
					} else {
						s.Cancel()
					}
				}
			}
			if err := c.check(o); err != nil {
				report(fmt.Errorf("%s: %w", c.req.ID, err))
			}
			if o.finish == FinishCancelled {
				nCancelled.Add(1)
			}
			nDone.Add(1)
		})
		time.Sleep(time.Duration(r.IntN(3000)) * time.Microsecond)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if f.bad != nil {
		t.Fatalf("model saw inconsistent tables: %v", f.bad)
	}
	assertAllFree(t, e)
	st := e.Stats()
	t.Logf("%v: %d requests (%d cancelled, %d queue-full retries), %d steps, %d preemptions, prefix hits %d/%d tokens",
		dur, nDone.Load(), nCancelled.Load(), nFull.Load(), st.Steps, st.Preemptions, st.PrefixHits, st.PrefixQueries)
	if st.Preemptions == 0 || nCancelled.Load() == 0 || st.PrefixHits == 0 {
		t.Fatalf("soak did not exercise preemption (%d), cancellation (%d) and prefix hits (%d)",
			st.Preemptions, nCancelled.Load(), st.PrefixHits)
	}
	settleGoroutines(t, base)
}

// check compares what a sequence streamed with the case's expectation. A
// cancelled sequence must have streamed a prefix of it.
func (c soakCase) check(o *outcome) error {
	if o.finish == FinishCancelled {
		if !strings.HasPrefix(c.wantText, o.text) {
			return fmt.Errorf("cancelled stream %q is not a prefix of %q", o.text, c.wantText)
		}
		return nil
	}
	if c.cancel >= 0 && o.finish == FinishNone {
		return errors.New("stream closed without a final event")
	}
	if o.finish != c.wantFinish || o.text != c.wantText {
		return fmt.Errorf("finish %q (%s %v) text %q, want %q text %q", o.finish, o.reason, o.err, o.text, c.wantFinish, c.wantText)
	}
	if c.wantTokens != nil && !slices.Equal(o.tokens, c.wantTokens) {
		return fmt.Errorf("tokens %v, want %v", o.tokens, c.wantTokens)
	}
	if o.usage.CompletionTokens != len(o.tokens) || o.usage.PromptTokens != len(c.req.Prompt) {
		return fmt.Errorf("usage %+v for %d tokens", o.usage, len(o.tokens))
	}
	return nil
}
