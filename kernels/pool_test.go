package kernels

import (
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// testGeneric mirrors what cmd/nuri does with NURI_KERNELS=generic: every
// Pool the tests create is switched to the reference kernels, so CI can run
// the whole suite on both paths.
var testGeneric bool

func TestMain(m *testing.M) {
	testGeneric = os.Getenv("NURI_KERNELS") == "generic"
	os.Exit(m.Run())
}

func newTestPool(tb testing.TB, threads int) *Pool {
	tb.Helper()
	p := NewPool(threads)
	p.SetGeneric(testGeneric)
	tb.Cleanup(p.Close)
	return p
}

func TestPoolRunCoversRangeOnce(t *testing.T) {
	for _, threads := range []int{1, 2, 3, 5} {
		p := newTestPool(t, threads)
		if p.Threads() != threads {
			t.Fatalf("Threads() = %d, want %d", p.Threads(), threads)
		}
		for _, n := range []int{1, 2, 3, 7, 64, 1000, 4099} {
			for rep := 0; rep < 20; rep++ {
				hits := make([]atomic.Int32, n)
				p.Run(n, func(lo, hi int) {
					if lo < 0 || hi > n || lo >= hi {
						t.Errorf("bad range [%d,%d) for n=%d", lo, hi, n)
						return
					}
					for i := lo; i < hi; i++ {
						hits[i].Add(1)
					}
				})
				for i := range hits {
					if h := hits[i].Load(); h != 1 {
						t.Fatalf("threads=%d n=%d: index %d visited %d times", threads, n, i, h)
					}
				}
			}
		}
	}
}

// countTask counts the visits of each index (RunTask's test task).
type countTask struct {
	hits []atomic.Int32
	bad  atomic.Int32
}

func (c *countTask) Run(lo, hi int) {
	if lo < 0 || hi > len(c.hits) || lo >= hi {
		c.bad.Add(1)
		return
	}
	for i := lo; i < hi; i++ {
		c.hits[i].Add(1)
	}
}

// TestPoolRunTask: RunTask covers the range once on a pool, a nil pool
// and a closed one, and a reused task costs no allocation (the point of
// RunTask next to Run's closures).
func TestPoolRunTask(t *testing.T) {
	p := newTestPool(t, 2)
	closed := NewPool(2)
	closed.Close()
	for _, tc := range []struct {
		name string
		p    *Pool
	}{{"pool", p}, {"nil", nil}, {"closed", closed}} {
		for _, n := range []int{1, 5, 64, 1000} {
			c := &countTask{hits: make([]atomic.Int32, n)}
			tc.p.RunTask(n, c)
			if c.bad.Load() != 0 {
				t.Fatalf("%s n=%d: a call got an empty or out-of-range span", tc.name, n)
			}
			for i := range c.hits {
				if h := c.hits[i].Load(); h != 1 {
					t.Fatalf("%s n=%d: index %d visited %d times", tc.name, n, i, h)
				}
			}
		}
	}
	c := &countTask{hits: make([]atomic.Int32, 256)}
	if a := testing.AllocsPerRun(50, func() { p.RunTask(256, c) }); a != 0 {
		t.Errorf("RunTask with a reused task allocated %.1f objects a call", a)
	}
}

func TestPoolUsesSeveralWorkers(t *testing.T) {
	p := newTestPool(t, 2)
	// A chunk blocks until another chunk has started, which can only
	// happen when two workers run at once.
	var started atomic.Int32
	p.Run(2, func(lo, hi int) {
		started.Add(1)
		for started.Load() < 2 {
		}
	})
}

func TestPoolPanicReachesCaller(t *testing.T) {
	p := newTestPool(t, 2)
	for rep := 0; rep < 10; rep++ {
		func() {
			defer func() {
				r := recover()
				if r == nil || !strings.Contains(fmt.Sprint(r), "boom") {
					t.Fatalf("recovered %v, want the task's panic", r)
				}
			}()
			p.Run(64, func(lo, hi int) {
				if lo <= 40 && 40 < hi {
					panic("boom")
				}
			})
		}()
	}
	// The pool still works afterwards.
	var sum atomic.Int64
	p.Run(100, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			sum.Add(int64(i))
		}
	})
	if sum.Load() != 4950 {
		t.Fatalf("sum after panic = %d, want 4950", sum.Load())
	}
}

func TestPoolNilAndClosed(t *testing.T) {
	var nilPool *Pool
	if nilPool.Threads() != 1 {
		t.Fatal("nil pool should report 1 thread")
	}
	var calls int
	nilPool.Run(10, func(lo, hi int) {
		calls++
		if lo != 0 || hi != 10 {
			t.Fatalf("nil pool ran [%d,%d)", lo, hi)
		}
	})
	p := NewPool(3)
	p.Close()
	p.Close() // idempotent
	if p.Threads() != 1 {
		t.Fatalf("closed pool reports %d threads", p.Threads())
	}
	p.Run(10, func(lo, hi int) { calls++ })
	if calls != 2 {
		t.Fatalf("calls = %d, want 2", calls)
	}
}

func TestPoolParkedWorkersWake(t *testing.T) {
	p := newTestPool(t, 2)
	for rep := 0; rep < 3; rep++ {
		// Let the helper go past its spin window and park.
		waitParked(t, p)
		var n atomic.Int32
		p.Run(8, func(lo, hi int) { n.Add(int32(hi - lo)) })
		if n.Load() != 8 {
			t.Fatalf("ran %d of 8 indices after parking", n.Load())
		}
	}
}

func waitParked(t *testing.T, p *Pool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		all := true
		for _, h := range p.helpers {
			all = all && h.parked.Load() == 1
		}
		if all {
			return
		}
		time.Sleep(100 * time.Microsecond)
	}
	t.Fatal("helpers never parked")
}

// TestPoolLateWakeTokenIsHarmless: a caller descheduled between publishing
// a job and waking a parked helper can deliver the token after the helper
// already did that job and parked again. The helper must treat it as a hint
// and keep serving (an earlier version exited, hanging the next Run).
func TestPoolLateWakeTokenIsHarmless(t *testing.T) {
	p := newTestPool(t, 2)
	for rep := 0; rep < 3; rep++ {
		waitParked(t, p)
		h := p.helpers[0]
		if !h.parked.CompareAndSwap(1, 0) {
			t.Fatal("helper not parked")
		}
		h.wake <- struct{}{}              // the late token, with no new job behind it
		time.Sleep(10 * time.Millisecond) // let the helper act on it first
		done := make(chan struct{})
		go func() {
			defer close(done)
			var started atomic.Int32
			p.Run(2, func(lo, hi int) {
				started.Add(1)
				for started.Load() < 2 { // needs the helper
				}
			})
		}()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatal("Run hung after a late wake token")
		}
	}
}
