package backends

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// OpTimes keeps the totals of an OpProfiler; a device holds one and
// forwards ProfileOps and OpProfile to it. Safe for concurrent use.
type OpTimes struct {
	on     atomic.Bool
	mu     sync.Mutex
	totals map[string]*OpTime
}

// On reports whether ops are being timed (one atomic load: cheap enough
// to ask before every op).
func (p *OpTimes) On() bool { return p.on.Load() }

// Add counts one call of the op name that took d.
func (p *OpTimes) Add(name string, d time.Duration) { p.AddRead(name, d, 0) }

// AddRead counts one call of the op name that took d and read
// weightBytes of weights.
func (p *OpTimes) AddRead(name string, d time.Duration, weightBytes int64) {
	p.AddMatMul(name, d, weightBytes, 0)
}

// AddMatMul counts one call of the matmul op name that took d, read
// weightBytes of weights and spent dot of d streaming them (OpTime.DotTime).
func (p *OpTimes) AddMatMul(name string, d time.Duration, weightBytes int64, dot time.Duration) {
	p.mu.Lock()
	t := p.totals[name]
	if t == nil {
		t = &OpTime{Name: name}
		if p.totals == nil {
			p.totals = map[string]*OpTime{}
		}
		p.totals[name] = t
	}
	t.Calls++
	t.Time += d
	t.WeightBytes += weightBytes
	t.DotTime += dot
	p.mu.Unlock()
}

// WeightBytes is what one matmul of ws reads of them, for AddRead: their
// sizes as stored (a device's own copy may be padded or repacked), as a
// decode roofline counts them.
func WeightBytes(ws []Tensor) int64 {
	var n int64
	for _, w := range ws {
		if b, err := w.NumBytes(); err == nil {
			n += int64(b)
		}
	}
	return n
}

// ProfileOps is OpProfiler.ProfileOps: true clears the totals and starts
// timing, false stops.
func (p *OpTimes) ProfileOps(on bool) {
	p.mu.Lock()
	if on {
		p.totals = map[string]*OpTime{}
	}
	p.on.Store(on)
	p.mu.Unlock()
}

// OpProfile is OpProfiler.OpProfile: the totals since the last start,
// largest time first.
func (p *OpTimes) OpProfile() []OpTime {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]OpTime, 0, len(p.totals))
	for _, t := range p.totals {
		out = append(out, *t)
	}
	slices.SortFunc(out, func(a, b OpTime) int {
		if a.Time != b.Time {
			return cmp.Compare(b.Time, a.Time)
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

// MatMulName is the op profile's name of a matmul of x by the weights ws
// (one, or several sharing x): "mul_mat Q4_0 2048x8192", with " (R rows)"
// for more than one activation row.
func MatMulName(x Tensor, ws []Tensor) string {
	var b strings.Builder
	b.WriteString(OpMatMul.String())
	for i, w := range ws {
		sep := " "
		if i > 0 {
			sep = " + "
		}
		fmt.Fprintf(&b, "%s%v %dx%d", sep, w.Type, w.Rows, w.Cols)
	}
	if x.Rows > 1 {
		fmt.Fprintf(&b, " (%d rows)", x.Rows)
	}
	return b.String()
}
