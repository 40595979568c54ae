package engine

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
)

// runEngine starts e.Run and returns a function that closes the engine and
// reports Run's error.
func runEngine(t testing.TB, e *Engine) func() error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- e.Run(context.Background()) }()
	return func() error {
		e.Close()
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return after Close")
			return nil
		}
	}
}

// readAll blocks until s's stream closes.
func readAll(s *Sequence) *outcome {
	o := &outcome{}
	for ev := range s.Events() {
		o.add(ev)
	}
	o.closed = true
	return o
}

// settleGoroutines waits until the goroutine count drops to at most n.
func settleGoroutines(t testing.TB, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("goroutine leak: %d > %d\n%s", runtime.NumGoroutine(), n, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRunServesConcurrentClients(t *testing.T) {
	base := runtime.NumGoroutine()
	e, f := newFakeEngine(t, Config{NumBlocks: 48, MaxNumSeqs: 6, MaxNumBatchedTokens: 48}, 512)
	stop := runEngine(t, e)
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for i := range 24 {
		wg.Go(func() {
			p := prompt(100+i, 5+i*3)
			s, err := e.Submit(context.Background(), Request{Prompt: p, MaxTokens: 20 + i, Sampling: greedyParams(), IgnoreEOS: true})
			if err != nil {
				errs <- err
				return
			}
			o := readAll(s)
			if want := reference(p, greedyParams(), 20+i, 512, true); !slices.Equal(o.tokens, want) || o.finish != FinishLength {
				errs <- errors.New("wrong output for request " + s.ID())
			}
		})
	}
	// A monitor reads the slots while the scheduler steps (the race
	// detector's part): never more busy than MaxNumSeqs, each within its
	// request's limit.
	watch := make(chan struct{})
	watched := make(chan int)
	go func() {
		most := 0
		for {
			select {
			case <-watch:
				watched <- most
				return
			default:
			}
			busy := 0
			for _, st := range e.Slots() {
				if st.Busy {
					busy++
					if st.Request == nil || st.Generated > st.Request.MaxTokens {
						select {
						case errs <- fmt.Errorf("slot %d: %+v", st.Slot, st):
						default: // enough reported
						}
					}
				}
			}
			most = max(most, busy)
			runtime.Gosched()
		}
	}()
	wg.Wait()
	close(watch)
	// How many it saw busy depends on the scheduling of goroutines (a
	// fast run may end before the monitor looks); never more than the
	// slots. TestSlots and checkSlotInvariants check the slots step by step.
	if most := <-watched; most > 6 {
		t.Errorf("the monitor saw %d busy slots of 6", most)
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if f.bad != nil {
		t.Fatal(f.bad)
	}
	assertAllFree(t, e)
	settleGoroutines(t, base)
}

func TestCloseEndsInFlightSequences(t *testing.T) {
	base := runtime.NumGoroutine()
	e, f := newFakeEngine(t, Config{NumBlocks: 64, MaxNumSeqs: 1}, 1024)
	f.delay = time.Millisecond
	stop := runEngine(t, e)
	running := submit(t, e, Request{Prompt: prompt(1, 4), Sampling: greedyParams(), IgnoreEOS: true})
	queued := submit(t, e, Request{Prompt: prompt(2, 4), Sampling: greedyParams(), IgnoreEOS: true})
	first := <-running.Events()
	if len(first.Tokens) == 0 {
		t.Fatal("no token before Close")
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	for i, s := range []*Sequence{running, queued} {
		o := readAll(s)
		if o.finish != FinishError || !errors.Is(o.err, ErrClosed) {
			t.Errorf("sequence %d: finish %q err %v", i, o.finish, o.err)
		}
	}
	if _, err := e.Submit(context.Background(), Request{Prompt: []int32{1}}); !errors.Is(err, ErrClosed) {
		t.Fatalf("submit after close: %v", err)
	}
	if err := e.Run(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Run after Close: %v", err)
	}
	assertAllFree(t, e)
	settleGoroutines(t, base)
}

func TestRunStopsWithItsContext(t *testing.T) {
	e, _ := newFakeEngine(t, Config{NumBlocks: 8}, 128)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	s := submit(t, e, Request{Prompt: prompt(1, 3), MaxTokens: 2, Sampling: greedyParams(), IgnoreEOS: true})
	if o := readAll(s); o.finish != FinishLength {
		t.Fatalf("finish %q", o.finish)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v", err)
	}
	if _, err := e.Submit(context.Background(), Request{Prompt: []int32{1}}); !errors.Is(err, ErrClosed) {
		t.Fatalf("submit after Run ended: %v", err)
	}
	e.Close() // after Run ended: must not block
}

func TestObserverSeesEveryRequest(t *testing.T) {
	obs := &countingObserver{}
	e, _ := newFakeEngine(t, Config{NumBlocks: 16, Observer: obs}, 256)
	var seqs []*Sequence
	for i := range 3 {
		seqs = append(seqs, submit(t, e, Request{Prompt: prompt(i, 5), MaxTokens: 4, Sampling: greedyParams(), IgnoreEOS: true}))
	}
	drive(t, e, seqs, 100)
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if obs.queue != 3 || obs.ttft != 3 || obs.itl != 9 || obs.e2e != 3 {
		t.Fatalf("observations %+v", obs)
	}
}

type countingObserver struct {
	mu                    sync.Mutex
	queue, ttft, itl, e2e int
}

func (c *countingObserver) ObserveQueue(time.Duration) { c.mu.Lock(); c.queue++; c.mu.Unlock() }
func (c *countingObserver) ObserveTTFT(time.Duration)  { c.mu.Lock(); c.ttft++; c.mu.Unlock() }
func (c *countingObserver) ObserveITL(time.Duration)   { c.mu.Lock(); c.itl++; c.mu.Unlock() }
func (c *countingObserver) ObserveE2E(time.Duration)   { c.mu.Lock(); c.e2e++; c.mu.Unlock() }
