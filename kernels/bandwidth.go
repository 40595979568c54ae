package kernels

import (
	"encoding/binary"
	"sync/atomic"
	"time"
)

// MeasureReadBandwidth returns the memory read bandwidth in GB/s (1e9 bytes
// per second) that the Pool's threads achieve together streaming through a
// freshly allocated buffer of the given size (at least 1 MiB). Use a buffer
// well beyond the last-level cache share, ~1 GiB, to measure DRAM: this is
// the roofline for single-token decode, which reads every weight once. The
// buffer is written first (untouched pages would all map the shared zero
// page and read from cache) and the best of three passes is reported.
func MeasureReadBandwidth(bytes int, p *Pool) float64 {
	const chunk = 1 << 20
	bytes = max(bytes, chunk) / chunk * chunk
	buf := make([]byte, bytes)
	n := bytes / chunk
	p.Run(n, func(lo, hi int) {
		for i := lo * chunk; i < hi*chunk; i += 4096 {
			buf[i] = byte(i >> 12)
		}
	})
	var sum atomic.Uint64 // keeps the reads observable
	best := 0.0
	for pass := 0; pass < 3; pass++ {
		start := time.Now()
		p.Run(n, func(lo, hi int) {
			var s uint64
			for c := lo; c < hi; c++ {
				s += readSum(buf[c*chunk : (c+1)*chunk])
			}
			sum.Add(s)
		})
		el := time.Since(start).Seconds()
		if gbs := float64(bytes) / el / 1e9; gbs > best {
			best = gbs
		}
	}
	if sum.Load() == 1 { // practically never; stops the sum being dead code
		best += 1e-12
	}
	return best
}

// readSumGo is the portable readSum: it reads every byte of b (len a
// multiple of 32) and returns a checksum.
func readSumGo(b []byte) uint64 {
	var s0, s1, s2, s3 uint64
	for i := 0; i+32 <= len(b); i += 32 {
		s0 += binary.LittleEndian.Uint64(b[i:])
		s1 += binary.LittleEndian.Uint64(b[i+8:])
		s2 += binary.LittleEndian.Uint64(b[i+16:])
		s3 += binary.LittleEndian.Uint64(b[i+24:])
	}
	return s0 + s1 + s2 + s3
}
