package kernels

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// testKernels mirrors what cmd/nuri does with NURI_KERNELS: every Pool the
// tests create takes that kernel set (avx2: no AVX-512; generic: the
// reference kernels), so CI can run the whole suite on each path.
var testKernels KernelSet

func TestMain(m *testing.M) {
	var err error
	if testKernels, err = ParseKernelSet(os.Getenv("NURI_KERNELS")); err != nil {
		fmt.Fprintln(os.Stderr, "NURI_KERNELS:", err)
		os.Exit(2)
	}
	os.Exit(m.Run())
}

func newTestPool(tb testing.TB, threads int) *Pool {
	tb.Helper()
	p := NewPool(threads)
	p.SetKernelSet(testKernels)
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

// TestPoolParkHandshake runs the two sides of the park handshake (bump's
// setGen then a read of parked, wait's setParked then a read of gen) on
// two threads in lockstep, many times: at least one side must see the
// other's write, or a parked helper misses its job. With plain atomic
// stores this failed under qemu-user's arm64 (make test-arm64) in three of
// three runs, 25-4127 times in 200,000 tries; on amd64 a plain store is
// already a full barrier.
func TestPoolParkHandshake(t *testing.T) {
	const tries = 200_000
	p := &Pool{}
	h := &helper{}
	var round, answered atomic.Int64
	sawGen := make([]bool, tries)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		for i := int64(0); i < tries; i++ {
			for round.Load() <= 2*i {
			}
			h.setParked()
			sawGen[i] = p.gen.Load() == uint64(2*i+2)
			answered.Store(i + 1)
		}
	}()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	missed := 0
	for i := int64(0); i < tries; i++ {
		h.parked.Store(0)
		// The second store holds this side back about as long as the
		// first takes to reach the other thread, so both write at once.
		round.Store(2*i + 1)
		round.Store(2*i + 2)
		p.setGen(uint64(2*i + 2))
		sawParked := h.parked.Load() == 1
		for answered.Load() <= i {
		}
		if !sawParked && !sawGen[i] {
			missed++
		}
	}
	if missed > 0 {
		t.Errorf("%d of %d handshakes: neither side saw the other's write (a lost wake-up)", missed, tries)
	}
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

// threadTask records which pool thread ran each chunk: ids[c] is the id
// (0 the caller, i helper i) that the aside work told the thread, or -1
// for a chunk whose thread is unknown (the caller's).
type threadTask struct {
	grain int
	hits  []atomic.Int32
	// asideDone[i] is set by helper i's aside work when it returns;
	// firstAfter[c] records, for reserved chunk c run by helper c, whether
	// that helper's aside work had returned by then.
	asideDone  []atomic.Bool
	firstAfter []atomic.Int32
	runBy      []atomic.Int64 // goroutine of chunk c's Run, c < threads
}

// goid is the current goroutine's id, from its stack header (tests only).
func goid() int64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = b[len("goroutine "):]
	var id int64
	for _, c := range b {
		if c < '0' || c > '9' {
			break
		}
		id = id*10 + int64(c-'0')
	}
	return id
}

func (c *threadTask) Run(lo, hi int) {
	for i := lo; i < hi; i++ {
		c.hits[i].Add(1)
	}
	if ch := lo / c.grain; lo%c.grain == 0 && ch < len(c.runBy) {
		c.runBy[ch].Store(goid())
	}
	if ch := lo / c.grain; lo%c.grain == 0 && ch >= 1 && ch < len(c.asideDone) {
		if c.asideDone[ch].Load() {
			c.firstAfter[ch].Store(1)
		} else {
			c.firstAfter[ch].Store(-1)
		}
	}
}

// spinAside is aside work that runs until it is told to stop (or, with
// budget > 0, until it has polled that often), recording its runs.
type spinAside struct {
	goids   []atomic.Int64
	started []atomic.Int32
	done    []atomic.Bool
	stopped []atomic.Bool
	budget  int
}

func (a *spinAside) runAside(id int, stop *atomic.Bool) {
	a.started[id].Add(1)
	a.goids[id].Store(goid())
	defer a.done[id].Store(true)
	for i := 0; a.budget == 0 || i < a.budget; i++ {
		if stop.Load() {
			a.stopped[id].Store(true)
			return
		}
	}
}

// TestPoolAsideThenReserved: aside work runs on every helper while the
// caller goes on; the next job stops it, each helper finishes it before it
// runs that job, and a reserved job hands chunk i to helper i first and
// still runs every index once. Run under -race this also checks that the
// task fields are handed over properly.
func TestPoolAsideThenReserved(t *testing.T) {
	for _, threads := range []int{2, 3, 5} {
		p := newTestPool(t, threads)
		for rep := range 20 {
			a := &spinAside{goids: make([]atomic.Int64, threads), started: make([]atomic.Int32, threads), done: make([]atomic.Bool, threads), stopped: make([]atomic.Bool, threads)}
			if rep%4 == 3 {
				a.budget = 10 // finishes on its own, before the job
			}
			p.mu.Lock()
			if !p.startAside(a) {
				p.mu.Unlock()
				t.Fatal("startAside refused on a fresh pool")
			}
			if p.startAside(a) {
				p.mu.Unlock()
				t.Fatal("a second startAside was taken while the first was out")
			}
			// Wait (bounded) for every helper to be inside the aside work,
			// as a caller quantizing an input would.
			deadline := time.Now().Add(5 * time.Second)
			for i := 1; i < threads; i++ {
				for a.started[i].Load() == 0 && time.Now().Before(deadline) {
					runtime.Gosched()
				}
			}
			n, grain := 64+rep, 4
			task := &threadTask{grain: grain, hits: make([]atomic.Int32, n), asideDone: a.done[:], firstAfter: make([]atomic.Int32, threads), runBy: make([]atomic.Int64, threads)}
			p.runReserved(n, grain, task)
			p.mu.Unlock()
			for i := range task.hits {
				if h := task.hits[i].Load(); h != 1 {
					t.Fatalf("threads=%d rep %d: index %d ran %d times", threads, rep, i, h)
				}
			}
			if g := task.runBy[0].Load(); g != goid() {
				t.Errorf("threads=%d rep %d: chunk 0 ran on goroutine %d, not the caller's %d", threads, rep, g, goid())
			}
			for i := 1; i < threads; i++ {
				if g, w := task.runBy[i].Load(), a.goids[i].Load(); g != w {
					t.Errorf("threads=%d rep %d: chunk %d ran on goroutine %d, not helper %d's %d", threads, rep, i, g, i, w)
				}
				if s := a.started[i].Load(); s != 1 {
					t.Fatalf("threads=%d rep %d: helper %d ran the aside work %d times", threads, rep, i, s)
				}
				if a.budget == 0 && !a.stopped[i].Load() {
					t.Errorf("threads=%d rep %d: helper %d's aside work ended without being stopped", threads, rep, i)
				}
				if f := task.firstAfter[i].Load(); f == -1 {
					t.Errorf("threads=%d rep %d: chunk %d ran before helper %d's aside work returned", threads, rep, i, i)
				}
			}
		}
	}
}

// spinTail is a tailTask that runs until the pool says it is over,
// recording how often each thread ran it and whether each saw the end.
type spinTail struct {
	runs  []atomic.Int32
	ended []atomic.Bool
}

func newSpinTail(threads int) *spinTail {
	return &spinTail{runs: make([]atomic.Int32, threads), ended: make([]atomic.Bool, threads)}
}

func (s *spinTail) runTail(id int, p *Pool, seen uint64) {
	s.runs[id].Add(1)
	deadline := time.Now().Add(10 * time.Second)
	for !p.tailOver(id, seen) {
		if time.Now().After(deadline) {
			return // ended stays false: the test fails
		}
		runtime.Gosched()
	}
	s.ended[id].Store(true)
}

// waitRuns waits (bounded) until thread id has begun its tail n times: a
// helper begins it just after it reports its part of the job done, so
// possibly after the caller has returned.
func (s *spinTail) waitRuns(id int, n int32) int32 {
	deadline := time.Now().Add(5 * time.Second)
	for s.runs[id].Load() < n && time.Now().Before(deadline) {
		runtime.Gosched()
	}
	return s.runs[id].Load()
}

// TestPoolTail: a job's tail runs once on each thread after its chunks:
// on the caller until every helper is done (the job returns only then),
// on a helper after it has reported the job done and until the next job
// is published, which the helper takes only after its tail returns. Jobs
// without a tail of their own take the pool's ahead task. Under -race
// this also checks how the tail is handed over.
func TestPoolTail(t *testing.T) {
	for _, threads := range []int{2, 3} {
		p := newTestPool(t, threads)
		for rep := range 10 {
			tail := newSpinTail(threads)
			n, grain := 40+rep, 4
			task := &threadTask{grain: grain, hits: make([]atomic.Int32, n), runBy: make([]atomic.Int64, threads)}
			p.mu.Lock()
			p.runReservedTail(n, grain, task, tail)
			if p.tail != nil {
				t.Fatal("the job's tail outlived it")
			}
			p.mu.Unlock()
			for i := range task.hits {
				if h := task.hits[i].Load(); h != 1 {
					t.Fatalf("threads=%d rep %d: index %d ran %d times", threads, rep, i, h)
				}
			}
			if r := tail.runs[0].Load(); r != 1 || !tail.ended[0].Load() {
				t.Fatalf("threads=%d rep %d: the caller ran its tail %d times, ended %v", threads, rep, r, tail.ended[0].Load())
			}
			for i := 1; i < threads; i++ {
				if r := tail.waitRuns(i, 1); r != 1 {
					t.Fatalf("threads=%d rep %d: helper %d ran its tail %d times", threads, rep, i, r)
				}
				if tail.ended[i].Load() {
					t.Fatalf("threads=%d rep %d: helper %d's tail ended before a next job", threads, rep, i)
				}
			}
			// The next job, with an ahead task, ends the helpers' tails
			// before they take it, and runs the ahead task as its tail.
			ahead := newSpinTail(threads)
			next := &threadTask{grain: grain, hits: make([]atomic.Int32, n), runBy: make([]atomic.Int64, threads)}
			p.mu.Lock()
			p.ahead = ahead
			p.runLocked(n, grain, next)
			p.ahead = nil
			p.mu.Unlock()
			for i := 1; i < threads; i++ {
				if !tail.ended[i].Load() {
					t.Fatalf("threads=%d rep %d: helper %d took the next job inside its tail", threads, rep, i)
				}
				if r := ahead.waitRuns(i, 1); r != 1 {
					t.Fatalf("threads=%d rep %d: helper %d ran the ahead task %d times", threads, rep, i, r)
				}
			}
			if r := ahead.runs[0].Load(); r != 1 || !ahead.ended[0].Load() {
				t.Fatalf("threads=%d rep %d: the caller ran the ahead task %d times, ended %v", threads, rep, r, ahead.ended[0].Load())
			}
			// A job with neither ends the ahead tails and runs none.
			last := &threadTask{grain: grain, hits: make([]atomic.Int32, n), runBy: make([]atomic.Int64, threads)}
			p.mu.Lock()
			p.runLocked(n, grain, last)
			p.mu.Unlock()
			for i := 1; i < threads; i++ {
				if !ahead.ended[i].Load() || ahead.runs[i].Load() != 1 {
					t.Fatalf("threads=%d rep %d: helper %d's ahead tail: ended %v, runs %d", threads, rep, i, ahead.ended[i].Load(), ahead.runs[i].Load())
				}
			}
		}
	}
}

// TestPoolAsideStoppedByClose: Close stops aside work that no job
// followed, and the helpers exit.
func TestPoolAsideStoppedByClose(t *testing.T) {
	p := NewPool(2)
	a := &spinAside{goids: make([]atomic.Int64, 2), started: make([]atomic.Int32, 2), done: make([]atomic.Bool, 2), stopped: make([]atomic.Bool, 2)}
	p.mu.Lock()
	ok := p.startAside(a)
	p.mu.Unlock()
	if !ok {
		t.Fatal("startAside refused")
	}
	closed := make(chan struct{})
	go func() { p.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(20 * time.Second):
		t.Fatal("Close hung with aside work out")
	}
	if a.started[1].Load() == 1 && !a.done[1].Load() {
		t.Fatal("helper exited inside its aside work")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.startAside(a) {
		t.Fatal("startAside taken on a closed pool")
	}
}

// dispatchTask is the smallest job: each chunk writes one word of its own.
type dispatchTask struct{ out [2]int64 }

func (d *dispatchTask) Run(lo, hi int) { d.out[lo&1] += int64(hi) }

// BenchmarkPoolDispatch times a job of two one-index chunks on a two-thread
// pool: publishing it, a helper taking one chunk and the caller the other,
// and the caller seeing the helper done. A decode step runs about a
// hundred jobs (matmuls, attention), so this round trip is a fixed cost of
// each of them:
//
//	go test ./kernels -run '^$' -bench PoolDispatch -count 5
func BenchmarkPoolDispatch(b *testing.B) {
	p := NewPool(2)
	defer p.Close()
	t := &dispatchTask{}
	for b.Loop() {
		p.RunTask(2, t)
	}
}
