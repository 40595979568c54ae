package server

import (
	"context"
	"sync"
)

// tracker counts requests that hold sequences. Unlike a WaitGroup it may
// refuse new work once draining starts, so begin and wait never race.
type tracker struct {
	mu       sync.Mutex
	n        int
	draining bool
	idle     chan struct{} // closed when draining and n reaches 0
}

// begin registers a request; false once draining has started.
func (t *tracker) begin() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.draining {
		return false
	}
	t.n++
	return true
}

func (t *tracker) end() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.n--
	if t.draining && t.n == 0 && t.idle != nil {
		close(t.idle)
		t.idle = nil
	}
}

// drain refuses new requests and waits until the running ones end or ctx
// is done.
func (t *tracker) drain(ctx context.Context) error {
	t.mu.Lock()
	t.draining = true
	if t.n == 0 {
		t.mu.Unlock()
		return nil
	}
	if t.idle == nil {
		t.idle = make(chan struct{})
	}
	idle := t.idle
	t.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
