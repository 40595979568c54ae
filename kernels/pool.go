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
//
// Between jobs the caller can hand the helpers aside work (startAside)
// that the next job stops; a job run with runReserved then gives each
// thread its own first chunk, the one its aside work prepared for
// (MatMulPacked's single-row calls warm their weights this way).
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

	gen atomic.Uint64 // bumped once per job; workers wait for a change

	// reserve: the job's first chunks are handed out by thread, chunk 0
	// to the caller and chunk i to helper i, before the rest are claimed.
	reserve bool
	// aside is the job the helpers run while the caller works alone
	// (startAside); stop asks them to end it.
	aside    asideTask
	asideOut bool // startAside's work has had no job after it yet
	// tail is the job's work for a thread that has run out of chunks
	// (tailTask); nil for none. ahead is the tail of the unreserved jobs
	// that have none of their own: what the next single-row matmul is
	// expected to read first (MatMulPacked sets it).
	tail    tailTask
	ahead   tailTask
	stop    atomic.Bool
	helpers []*helper
	closed  bool
	wg      sync.WaitGroup // running helper goroutines, for Close

	mm      matmulScratch // MatMul's reusable buffers, guarded by mu
	pk      packedScratch // MatMulPacked's, guarded by mu
	kernels KernelSet     // which kernels calls may run (SetKernelSet)
}

type panicValue struct{ v any }

// helper is the per-goroutine parking state. parked is 1 while the worker is
// (about to be) blocked on wake; whoever flips it back to 0 owns the wake-up.
type helper struct {
	id     int // 1.. (the caller is thread 0)
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
		h := &helper{id: i + 1, wake: make(chan struct{}, 1)}
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
	p.endAside()
	p.closed = true
	p.job = nil // a nil job tells helpers to exit
	p.bump(false)
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

// SetGeneric forces (on) the pure-Go reference kernels for this Pool's
// calls, or returns (off) to the best ones: SetKernelSet with
// KernelsGeneric or KernelsBest. A nil Pool always uses the best kernels.
func (p *Pool) SetGeneric(on bool) {
	if on {
		p.SetKernelSet(KernelsGeneric)
	} else {
		p.SetKernelSet(KernelsBest)
	}
}

// Generic reports whether the Pool runs the pure-Go reference kernels.
func (p *Pool) Generic() bool { return p.KernelSet() == KernelsGeneric }

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
func (p *Pool) runLocked(n, grain int, t Task) { p.run(n, grain, t, false, nil) }

// runReserved is runLocked with chunk 0 going to the caller and chunk i to
// helper i before the others are claimed: work the threads prepared for
// during startAside.
func (p *Pool) runReserved(n, grain int, t Task) { p.run(n, grain, t, true, nil) }

// runReservedTail is runReserved with tail work for the threads that
// finish their chunks before the others (tailTask).
func (p *Pool) runReservedTail(n, grain int, t Task, tail tailTask) { p.run(n, grain, t, true, tail) }

func (p *Pool) run(n, grain int, t Task, reserve bool, tail tailTask) {
	if grain < 1 {
		grain = 1
	}
	chunks := (n + grain - 1) / grain
	nh := min(chunks-1, len(p.helpers))
	if p.closed || nh <= 0 {
		t.Run(0, n)
		return
	}
	p.endAside()
	if tail == nil && !reserve {
		// A reserved job is the call p.ahead foretold: its own chunks'
		// heads are no tail for it, and the call rewrites that entry once
		// this job is done (MatMulPacked).
		tail = p.ahead
	}
	p.job, p.n, p.grain, p.reserve, p.tail = t, n, grain, reserve, tail
	first := int64(0) // the first chunk claimed: after the reserved ones
	if reserve {
		first = int64(len(p.helpers)+1) * int64(grain)
	}
	p.next.Store(first)
	p.panicV.Store(nil)
	p.publish()
	p.help(0)
	if tail != nil {
		tail.runTail(0, p, 0)
	}
	// The caller's share is done; helpers finish their last chunk shortly.
	p.waitHelpers()
	p.job, p.tail = nil, nil
	if pv := p.panicV.Load(); pv != nil {
		panic(pv.v)
	}
}

// publish hands the job in p's fields to every helper: gen moves to the
// next even value (odd ones are aside work).
func (p *Pool) publish() {
	p.pending.Store(int32(len(p.helpers)))
	p.bump(false)
}

// bump moves gen on to its next even value (a job) or odd one (aside
// work) and wakes the parked helpers.
func (p *Pool) bump(aside bool) {
	g := p.gen.Load() + 1
	if (g&1 == 1) != aside {
		g++
	}
	p.setGen(g)
	for _, h := range p.helpers {
		// A spinning helper never writes parked, so the load finds the
		// line shared in both caches; a CAS would take it over every
		// job. A helper that sets parked after this load sees the new gen
		// on its own re-check (wait).
		if h.parked.Load() == 1 && h.parked.CompareAndSwap(1, 0) {
			h.wake <- struct{}{}
		}
	}
}

// setGen and setParked write the two halves of a Dekker pair: bump writes
// gen and then reads each helper's parked flag, wait writes parked and
// then reads gen, and one of the two must see the other's write or the
// wake-up is lost. Go's atomics promise that, but a store and a later
// load of another word need a store-load fence between them, and
// qemu-user on x86 hosts runs arm64's STLR then LDAR without one: both
// loads missed the other side's store in 419 of 200,000 tries, and `make
// test-arm64` once hung with the helper parked and the caller waiting for
// it. A swap is a full barrier everywhere (XCHG, which amd64's plain
// atomic store already is; SWPAL or an exclusive pair on arm64; a locked
// instruction under emulation). TestPoolParkHandshake checks the pair.
func (p *Pool) setGen(g uint64) { p.gen.Swap(g) }

// setParked: see setGen.
func (h *helper) setParked() { h.parked.Swap(1) }

// waitHelpers returns once every helper has finished the current job.
func (p *Pool) waitHelpers() {
	for spins := 0; p.pending.Load() != 0; spins++ {
		if spins > 64 {
			runtime.Gosched()
		}
	}
}

// tailTask is a job's work for a thread that has found no chunk left:
// runTail runs on the caller (id 0) until every helper has finished the
// job, and on helper id after it has reported the job done, until the
// next job or aside work is published. It reads no state the job writes,
// and like asideTask it must not panic: a helper's tail runs after the
// caller may have returned, with no one to hand the panic to.
type tailTask interface {
	runTail(id int, p *Pool, seen uint64)
}

// tailOver reports whether thread id's tail work should stop: for the
// caller, every helper has finished the job; for a helper, the job it
// saw as gen seen is no longer the pool's latest.
func (p *Pool) tailOver(id int, seen uint64) bool {
	if id == 0 {
		return p.pending.Load() == 0
	}
	return p.gen.Load() != seen
}

// asideTask is work for the helpers while the caller runs serial code of
// its own: each helper calls runAside with its id (1..) and returns when
// it is done or soon after stop reads true. It must not panic: no caller
// is waiting to be handed the panic, so it would end the process.
type asideTask interface {
	runAside(id int, stop *atomic.Bool)
}

// startAside hands t to the helpers and returns at once; the next job
// that the helpers take part in (one of two chunks or more), or Close,
// stops it, and the helpers go on to that job as soon as they have
// stopped, without the caller waiting for them. t must stay unchanged
// until then. It reports false, and t is not run, where there are no
// helpers or aside work is already out (asideFree). p.mu must be held.
//
// A helper reads p.aside only on seeing an odd gen, and the caller writes
// it only here, after a job (even gen) has followed the last aside work:
// every helper finished that work before it took the job.
func (p *Pool) startAside(t asideTask) bool {
	if !p.asideFree() {
		return false
	}
	p.aside, p.asideOut = t, true
	p.stop.Store(false)
	p.bump(true)
	return true
}

// asideFree reports whether startAside would take work now: there are
// helpers and no aside work is out. A caller checks it before it fills in
// the task, which a helper may still be reading otherwise.
func (p *Pool) asideFree() bool {
	return p != nil && !p.closed && len(p.helpers) > 0 && !p.asideOut
}

// endAside asks the helpers to stop their aside work, if any is out.
func (p *Pool) endAside() {
	if p.asideOut {
		p.stop.Store(true)
		p.asideOut = false
	}
}

// claim runs the job's chunks until none are left: first the one reserved
// for thread id, if the job reserves them.
func (p *Pool) claim(id int) {
	n, g := int64(p.n), int64(p.grain)
	if p.reserve {
		if lo := int64(id) * g; lo < n {
			p.job.Run(int(lo), int(min(lo+g, n)))
		}
	}
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
		if seen&1 == 1 {
			p.aside.runAside(h.id, &p.stop)
			continue
		}
		if p.job == nil { // Close
			return
		}
		tail := p.tail // the caller clears it once pending is 0
		p.help(h.id)
		p.pending.Add(-1)
		if tail != nil {
			tail.runTail(h.id, p, seen)
		}
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
		h.setParked()
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
func (p *Pool) help(id int) {
	defer func() {
		if r := recover(); r != nil {
			p.panicV.CompareAndSwap(nil, &panicValue{fmt.Errorf("kernels: task panic: %v", r)})
			p.next.Store(int64(p.n)) // stop handing out chunks
		}
	}()
	p.claim(id)
	if s, ok := p.job.(stealer); ok {
		s.steal()
	}
}

// stealer is a task with work left inside chunks that other threads have
// claimed: a thread that finds no chunk left calls steal before it stops.
type stealer interface {
	steal()
}

// chunksLeft is how many chunks of the running job no thread has claimed
// yet. It is for the job's own tasks: where the caller runs a job alone
// the count is left over from an earlier job, which only changes how a
// task cuts up work that no other thread shares anyway.
func (p *Pool) chunksLeft() int {
	if p.grain == 0 {
		return 0
	}
	left := int64(p.n) - p.next.Load()
	return int(max(0, (left+int64(p.grain)-1)/int64(p.grain)))
}
