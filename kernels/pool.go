package kernels

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// spinFor is how long an idle worker keeps polling for the next job before it
// parks. A forward pass issues hundreds of short parallel ops separated by a
// few microseconds of serial work; waking a parked goroutine costs several
// microseconds (the scheduler has to find an idle P), so workers stay hot for
// a little while. After spinFor without work they sleep and cost nothing.
const spinFor = 200 * time.Microsecond

// Task is one parallel job for RunTask: Run is called on disjoint
// sub-ranges that together cover the job's index range. A pointer to a
// long-lived value (a caller's reusable scratch) passes through this
// interface without allocating, which keeps the hot paths allocation-free:
// a closure given to Run escapes to the heap, a new object per call.
type Task interface {
	Run(lo, hi int)
}

// funcTask adapts a plain function to Task (a func value is pointer-shaped,
// so the conversion itself does not allocate).
type funcTask func(lo, hi int)

func (f funcTask) Run(lo, hi int) { f(lo, hi) }

// Pool is a fixed set of worker goroutines that live until Close. Run splits
// an index range into chunks that the caller and the workers claim from a
// shared atomic counter (dynamic scheduling: on a shared, noisy 2-core
// machine a static split would wait for the slowest core).
//
// A Pool serialises its users: concurrent Run or MatMul calls on the same
// Pool execute one after another. A task must not call Run on its own Pool.
// Workers are not locked to OS threads: locking would make every wake-up a
// hand-off to one specific thread, which is slower in Go's scheduler.
type Pool struct {
	threads int
	mu      sync.Mutex // held for a whole Run or MatMul

	// Current job, written by the caller under mu before gen is bumped.
	job     Task
	n       int
	grain   int
	next    atomic.Int64 // next unclaimed index
	pending atomic.Int32 // helpers still working on the job
	panicV  atomic.Pointer[panicValue]

	gen     atomic.Uint64 // bumped once per job; workers wait for a change
	helpers []*helper
	closed  bool
	wg      sync.WaitGroup // running helper goroutines, for Close

	mm      matmulScratch // MatMul's reusable buffers, guarded by mu
	pk      packedScratch // MatMulPacked's, guarded by mu
	generic bool          // force the pure-Go reference kernels
}

type panicValue struct{ v any }

// helper is the per-goroutine parking state. parked is 1 while the worker is
// (about to be) blocked on wake; whoever flips it back to 0 owns the wake-up.
type helper struct {
	parked atomic.Int32
	wake   chan struct{}
}

// NewPool starts a pool with nThreads-1 helper goroutines (the calling
// goroutine is the remaining worker). nThreads <= 0 means DefaultThreads:
// the physical cores the process may use.
func NewPool(nThreads int) *Pool {
	if nThreads <= 0 {
		nThreads = DefaultThreads()
	}
	p := &Pool{threads: nThreads}
	p.helpers = make([]*helper, nThreads-1)
	for i := range p.helpers {
		h := &helper{wake: make(chan struct{}, 1)}
		p.helpers[i] = h
		p.wg.Add(1)
		go p.work(h)
	}
	return p
}

// Threads reports the number of workers including the caller (1 for a nil
// or closed Pool).
func (p *Pool) Threads() int {
	if p == nil {
		return 1
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return 1
	}
	return p.threads
}

// Close stops the helper goroutines and waits for them. Later calls to Run
// still work but execute on the caller alone.
func (p *Pool) Close() {
	if p == nil {
		return
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	p.job = nil // a nil job tells helpers to exit
	p.gen.Add(1)
	for _, h := range p.helpers {
		if h.parked.CompareAndSwap(1, 0) {
			h.wake <- struct{}{}
		}
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// Run calls fn on disjoint sub-ranges [lo, hi) that together cover [0, n),
// using the pool's workers, and returns when all calls have returned. A panic
// in fn is re-raised on the caller. With a nil or closed Pool fn(0, n) runs
// on the caller.
func (p *Pool) Run(n int, fn func(lo, hi int)) { p.RunTask(n, funcTask(fn)) }

// RunTask is Run for a Task: t.Run is called on disjoint sub-ranges that
// together cover [0, n), and RunTask returns when all calls have. Unlike
// Run's closures, a pointer to a reused value does not allocate.
func (p *Pool) RunTask(n int, t Task) {
	if n <= 0 {
		return
	}
	if p == nil {
		t.Run(0, n)
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	grain := (n + 4*p.threads - 1) / (4 * p.threads)
	p.runLocked(n, grain, t)
}

// SetGeneric forces (on) or releases (off) the pure-Go reference kernels
// for MatMul calls on this Pool. Commands set it from NURI_KERNELS=generic so
// CI can run both paths; a nil Pool always uses the fast kernels.
func (p *Pool) SetGeneric(on bool) {
	p.mu.Lock()
	p.generic = on
	p.mu.Unlock()
}

// Generic reports whether SetGeneric(true) is in effect.
func (p *Pool) Generic() bool {
	if p == nil {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.generic
}

// runTask is runLocked that also accepts a nil Pool (caller only).
func (p *Pool) runTask(n, grain int, t Task) {
	if p == nil {
		if n > 0 {
			t.Run(0, n)
		}
		return
	}
	p.runLocked(n, grain, t)
}

// threadsLocked is Threads for a caller that holds p.mu (or a nil p).
func (p *Pool) threadsLocked() int {
	if p == nil || p.closed {
		return 1
	}
	return p.threads
}

// runLocked runs t over [0, n) in chunks of grain indices. p.mu must be held.
func (p *Pool) runLocked(n, grain int, t Task) {
	if grain < 1 {
		grain = 1
	}
	chunks := (n + grain - 1) / grain
	nh := min(chunks-1, len(p.helpers))
	if p.closed || nh <= 0 {
		t.Run(0, n)
		return
	}
	p.job, p.n, p.grain = t, n, grain
	p.next.Store(0)
	p.panicV.Store(nil)
	p.pending.Store(int32(len(p.helpers)))
	p.gen.Add(1)
	for _, h := range p.helpers {
		if h.parked.CompareAndSwap(1, 0) {
			h.wake <- struct{}{}
		}
	}
	p.help()
	// The caller's share is done; helpers finish their last chunk shortly.
	for spins := 0; p.pending.Load() != 0; spins++ {
		if spins > 64 {
			runtime.Gosched()
		}
	}
	p.job = nil
	if pv := p.panicV.Load(); pv != nil {
		panic(pv.v)
	}
}

// claim takes chunks until none are left.
func (p *Pool) claim() {
	n, g := int64(p.n), int64(p.grain)
	for {
		lo := p.next.Add(g) - g
		if lo >= n {
			return
		}
		p.job.Run(int(lo), int(min(lo+g, n)))
	}
}

// work is a helper goroutine's loop: wait for a new generation, help with
// the job, report completion.
func (p *Pool) work(h *helper) {
	defer p.wg.Done()
	// gen is 0 when the pool is made; a job may already have been issued
	// before this goroutine first runs, so do not read the current value.
	var seen uint64
	for {
		seen = p.wait(h, seen)
		if p.job == nil { // Close
			return
		}
		p.help()
		p.pending.Add(-1)
	}
}

// wait returns once gen differs from seen, spinning for spinFor before it
// parks. A wake token is only a hint: a caller that was descheduled between
// publishing a job and waking us may deliver it after we already did that
// job and parked again, so after every wake-up gen is checked afresh.
func (p *Pool) wait(h *helper, seen uint64) uint64 {
	for {
		start := time.Now()
		for i := 0; ; i++ {
			if g := p.gen.Load(); g != seen {
				return g
			}
			if i&255 == 255 {
				if time.Since(start) > spinFor {
					break
				}
				runtime.Gosched()
			}
		}
		h.parked.Store(1)
		if g := p.gen.Load(); g != seen {
			if !h.parked.CompareAndSwap(1, 0) {
				<-h.wake // a waker flipped the flag first and is sending
			}
			return g
		}
		<-h.wake
	}
}

// help claims chunks, turning a panic into a recorded value that runLocked
// re-raises on the caller once every worker has stopped touching the job.
func (p *Pool) help() {
	defer func() {
		if r := recover(); r != nil {
			p.panicV.CompareAndSwap(nil, &panicValue{fmt.Errorf("kernels: task panic: %v", r)})
			p.next.Store(int64(p.n)) // stop handing out chunks
		}
	}()
	p.claim()
	if s, ok := p.job.(stealer); ok {
		s.steal()
	}
}

// stealer is a task with work left inside chunks that other threads have
// claimed: a thread that finds no chunk left calls steal before it stops.
type stealer interface {
	steal()
}
