package npu

import (
	"sync"
	"time"

	"github.com/nuri-ai/nuri/backends"
)

// Cost is work for the roofline: tensor ops (int8 or float), bytes moved
// in device memory and over the host link.
type Cost struct {
	Int8Ops, FloatOps   float64
	DevBytes, HostBytes float64
}

// Seconds is the roofline time of c on p: the slowest of the compute
// units and the two memory paths, each at its peak. Every op the simulator
// runs is charged this, and Plan estimates with it.
func (p Profile) Seconds(c Cost) float64 {
	t := c.Int8Ops/p.Int8OPS + c.FloatOps/p.FloatOPS
	t = max(t, c.DevBytes/p.Bandwidth)
	return max(t, c.HostBytes/p.HostBandwidth)
}

// cost is an op's Cost and its token rows, requested and run (buckets).
type cost struct {
	Cost
	tokens, padded int
}

// SimStats is the simulated device's account of the work done.
type SimStats struct {
	Time      time.Duration                 // simulated device time
	ByOp      map[backends.Op]time.Duration // time per op kind
	Calls     map[backends.Op]int           // op calls
	Int8Ops   float64                       // int8 tensor ops
	FloatOps  float64                       // float ops
	DevBytes  float64                       // device memory traffic
	HostBytes float64                       // host link traffic
	Tokens    int                           // token rows requested
	Padded    int                           // token rows run after bucket padding
	Transfers time.Duration                 // Read/Write time (host link)
}

// clock accumulates simulated time. Device time is a sum over ops: the
// simulated chip runs one op at a time, as a compiled graph does.
type clock struct {
	mu sync.Mutex
	s  SimStats
}

func newClock() *clock {
	return &clock{s: SimStats{ByOp: map[backends.Op]time.Duration{}, Calls: map[backends.Op]int{}}}
}

func (c *clock) charge(p Profile, op backends.Op, w cost) {
	d := time.Duration(p.Seconds(w.Cost) * 1e9)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.s.Time += d
	c.s.ByOp[op] += d
	c.s.Calls[op]++
	c.s.Int8Ops += w.Int8Ops
	c.s.FloatOps += w.FloatOps
	c.s.DevBytes += w.DevBytes
	c.s.HostBytes += w.HostBytes
	c.s.Tokens += w.tokens
	c.s.Padded += w.padded
}

// transfer charges a host↔device copy of n bytes (not an op).
func (c *clock) transfer(p Profile, n int) {
	d := time.Duration(float64(n) / p.HostBandwidth * 1e9)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.s.Time += d
	c.s.Transfers += d
	c.s.HostBytes += float64(n)
}

func (c *clock) snapshot() SimStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.s
	s.ByOp = make(map[backends.Op]time.Duration, len(c.s.ByOp))
	for k, v := range c.s.ByOp {
		s.ByOp[k] = v
	}
	s.Calls = make(map[backends.Op]int, len(c.s.Calls))
	for k, v := range c.s.Calls {
		s.Calls[k] = v
	}
	return s
}

func (c *clock) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.s = SimStats{ByOp: map[backends.Op]time.Duration{}, Calls: map[backends.Op]int{}}
}
