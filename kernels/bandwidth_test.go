package kernels

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"golang.org/x/sys/cpu"
)

// TestReadSumStreams checks that every probe loop reads every byte once:
// the checksum is the sum of the buffer's 64-bit words whatever the order,
// so each loop (the assembly where the CPU has it, and the portable one)
// must give the sum computed word by word. Sizes cover one pass of each
// loop, odd multiples and a probe chunk.
func TestReadSumStreams(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{512, 1536, 4096 + 512, 64 << 10, probeChunk} {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		var want uint64
		for i := 0; i < n; i += 8 {
			want += binary.LittleEndian.Uint64(b[i:])
		}
		for _, s := range probeStreams {
			t.Run(fmt.Sprintf("%dB/%d", n, s), func(t *testing.T) {
				if got := readSum(b, s); got != want {
					t.Errorf("readSum: %#x, want %#x", got, want)
				}
				if got := readSumGo(b, s); got != want {
					t.Errorf("readSumGo: %#x, want %#x", got, want)
				}
			})
		}
		t.Run(fmt.Sprintf("%dB/4 prefetching", n), func(t *testing.T) {
			if got := readSumPrefetch(b); got != want {
				t.Errorf("readSumPrefetch: %#x, want %#x", got, want)
			}
		})
	}
}

// TestProbeChunkParts: the multi-part loops' parts, and neighbouring
// chunks, start at different offsets within a 4 KiB page (probeChunk), and
// every loop's assembly takes a whole chunk (multiples of 128 bytes a
// part).
func TestProbeChunkParts(t *testing.T) {
	const page = 4096
	if probeChunk%page == 0 {
		t.Errorf("probeChunk %d: neighbouring chunks start at the same page offset", probeChunk)
	}
	for _, s := range probeStreams {
		if probeChunk%(128*s) != 0 {
			t.Errorf("probeChunk %d: not a whole number of %d-part passes of 128 bytes a part", probeChunk, s)
		}
		if s == 1 {
			continue
		}
		seen := map[int]bool{}
		for k := range s {
			off := k * (probeChunk / s) % page
			if seen[off] {
				t.Errorf("%d-part loop: two parts at page offset %d", s, off)
			}
			seen[off] = true
		}
	}
}

// TestBandwidthProbe: a measurement reads the whole buffer (the checksum
// it keeps moves by the buffer's sum each pass) and reports a positive
// rate; on amd64 with AVX2 it takes the prefetching loop too.
func TestBandwidthProbe(t *testing.T) {
	p := NewPool(2)
	defer p.Close()
	b := NewBandwidthProbe(4 << 20)
	var want uint64
	for i := 0; i < len(b.buf); i += 8 {
		want += binary.LittleEndian.Uint64(b.buf[i:])
	}
	before := b.sum.Load()
	if gbs := b.Measure(p); !(gbs > 0) {
		t.Fatalf("Measure: %v GB/s", gbs)
	}
	if runtime.GOARCH == "amd64" && cpu.X86.HasAVX2 && len(probeLoops) != len(probeStreams)+1 {
		t.Errorf("%d probe loops, want the %d plain ones and the prefetching one", len(probeLoops), len(probeStreams))
	}
	if got, passes := b.sum.Load()-before, uint64(2*len(probeLoops)); got != want*passes {
		t.Errorf("checksum moved by %#x, want %d passes of %#x", got, passes, want)
	}
}
