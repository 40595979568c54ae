package kernels

import (
	"encoding/binary"
	"sync/atomic"
	"time"
)

// MeasureReadBandwidth returns the memory read bandwidth in GB/s (1e9 bytes
// per second) that the Pool's threads achieve together streaming through a
// freshly allocated buffer of about the given size (whole probe chunks of
// just under 1 MiB, at least one). Use a buffer well beyond the last-level
// cache share, ~1 GiB, to measure DRAM: this is the roofline for
// single-token decode, which reads every weight once. The best of two
// passes in each read loop (Measure) is reported.
func MeasureReadBandwidth(bytes int, p *Pool) float64 {
	return NewBandwidthProbe(bytes).Measure(p)
}

// BandwidthProbe is a buffer for repeated read-bandwidth measurements: a
// benchmark that measures before every repetition allocates it once.
type BandwidthProbe struct {
	buf []byte
	sum atomic.Uint64 // keeps the reads observable
}

// probeChunk is the unit a pass hands out to the threads: 2 KiB short of
// 1 MiB, so that the parts of the two- and four-part loops start at
// different offsets within a 4 KiB page (0 and 3072; 0, 3584, 3072 and
// 2560), and so do neighbouring chunks. Parts a whole number of pages
// apart (presumably walking in step through the same cache sets) read
// less: on the 2-core Intel Xeon VM, with 1 MiB chunks, the probe's best
// loop read 0.946 and 0.950 of what it reads with this size (medians of 14
// alternating measurements over 1 GiB, two runs), so the roofline sat
// 4-6 % below what the memory gives (docs/performance.md, round 52).
const probeChunk = 1<<20 - 2<<10

// NewBandwidthProbe allocates a probe of bytes (rounded down to whole
// chunks of probeChunk, at least one) and writes every page: untouched
// pages would all map the shared zero page and read from cache. The
// buffer is on huge pages where the system gives them (LargeBytes), as the
// packed weights and the KV cache are: a read of 4 KiB pages walks the
// page tables every 4 KiB and was 16-23 % slower here (53-56 against
// 63-70 GB/s, 1 GiB, 2 threads, alternating), so a probe on them would set
// the roofline below what the memory gives the weights.
func NewBandwidthProbe(bytes int) *BandwidthProbe {
	bytes = max(bytes, probeChunk) / probeChunk * probeChunk
	b := &BandwidthProbe{}
	b.buf = LargeBytes(b, bytes)
	for i := 0; i < len(b.buf); i += 4096 {
		b.buf[i] = byte(i >> 12)
	}
	return b
}

// Bytes is the probe's size.
func (b *BandwidthProbe) Bytes() int { return len(b.buf) }

// probeLoop is one of a measurement's read loops: each chunk read as parts
// equal parts side by side (one: front to back), every line of each part
// prefetched 2 KiB ahead where prefetch.
type probeLoop struct {
	parts    int
	prefetch bool
}

// probeStreams are the part counts of the plain read loops. Which loop
// reads the most depends on the machine and the moment, and the kernels
// walk several streams too, so the roofline is the best of them: on the
// 2-core Zen 5 VM the two- and four-part loops read 4-23 % more than the
// one-part loop in busy minutes, enough that decode steps had measured
// above the old one-loop roofline (docs/performance.md, round 16). The
// four-part loop loads 64 bytes at a time where it can, as the kernels do
// (round 20).
var probeStreams = [...]int{1, 2, 4}

// probeLoops are the loops a measurement takes: the plain ones and, where
// the CPU has it (hasPrefetchLoop), four parts with software prefetches,
// the kernels' own way of reading their weights. On the 2-core Intel Xeon
// VM the prefetching loop read 8-13 % more than the best plain one (45.3
// against 40.3 GB/s, medians of nine alternating passes over 1 GiB; 1.5
// to 2.3 KiB ahead read alike, 1 and 3 KiB less): a roofline without it
// sat that far below what the memory gives (docs/performance.md, round
// 53).
var probeLoops = func() []probeLoop {
	var ls []probeLoop
	for _, s := range probeStreams {
		ls = append(ls, probeLoop{parts: s})
	}
	if hasPrefetchLoop {
		ls = append(ls, probeLoop{parts: 4, prefetch: true})
	}
	return ls
}()

// ProbeLoops is how many read loops a measurement takes the best of (the
// plain ones, and the prefetching one where the CPU has it).
func ProbeLoops() int { return len(probeLoops) }

// Measure streams the whole buffer with p's threads twice in each of the
// probeLoops and returns the best pass in GB/s.
func (b *BandwidthProbe) Measure(p *Pool) float64 {
	return max(b.loops(p), b.loops(p))
}

// loops streams the whole buffer once in each of the probeLoops and
// returns the best pass in GB/s.
func (b *BandwidthProbe) loops(p *Pool) float64 {
	best := 0.0
	for _, l := range probeLoops {
		best = max(best, b.pass(p, l))
	}
	return best
}

// pass streams the whole buffer once with p's threads in loop l and
// returns GB/s.
func (b *BandwidthProbe) pass(p *Pool, l probeLoop) float64 {
	start := time.Now()
	p.Run(len(b.buf)/probeChunk, func(lo, hi int) {
		var s uint64
		for c := lo; c < hi; c++ {
			chunk := b.buf[c*probeChunk : (c+1)*probeChunk]
			if l.prefetch {
				s += readSumPrefetch(chunk)
			} else {
				s += readSum(chunk, l.parts)
			}
		}
		b.sum.Add(s)
	})
	return float64(len(b.buf)) / time.Since(start).Seconds() / 1e9
}

// readSumGo is the portable readSum: it reads b (len a multiple of
// 32·streams) as streams equal parts side by side, 32 bytes of each in
// turn, and returns the sum of its 64-bit words.
func readSumGo(b []byte, streams int) uint64 {
	part := len(b) / streams / 32 * 32
	var s0, s1, s2, s3 uint64
	for i := 0; i < part; i += 32 {
		for k := range streams {
			w := b[k*part+i : k*part+i+32]
			s0 += binary.LittleEndian.Uint64(w)
			s1 += binary.LittleEndian.Uint64(w[8:])
			s2 += binary.LittleEndian.Uint64(w[16:])
			s3 += binary.LittleEndian.Uint64(w[24:])
		}
	}
	return s0 + s1 + s2 + s3
}
