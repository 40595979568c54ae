//go:build amd64

package kernels

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// readSum reads every byte of b as streams (1, 2 or 4) equal parts side by
// side with 256-bit loads (512-bit for four parts where AVX-512 is
// available) and returns a checksum, the sum of its 64-bit
// words, so the loads cannot be optimised away. len(b) must be a multiple
// of 32·streams; the assembly takes multiples of 128·streams.
func readSum(b []byte, streams int) uint64 {
	if len(b) == 0 || len(b)%(128*streams) != 0 || !cpu.X86.HasAVX2 {
		return readSumGo(b, streams)
	}
	p := unsafe.SliceData(b)
	switch streams {
	case 1:
		return readSumAVX2(p, len(b)/128)
	case 2:
		return readSum2AVX2(p, len(b)/128, len(b)/2)
	case 4:
		if cpu.X86.HasAVX512F {
			return readSum4AVX512(p, len(b)/256, len(b)/4)
		}
		return readSum4AVX2(p, len(b)/256, len(b)/4)
	}
	return readSumGo(b, streams)
}

//go:noescape
func readSumAVX2(p *byte, n128 int) uint64

//go:noescape
func readSum2AVX2(p *byte, n64 int, part int) uint64

//go:noescape
func readSum4AVX2(p *byte, n64 int, part int) uint64

//go:noescape
func readSum4AVX512(p *byte, n64 int, part int) uint64

//go:noescape
func readSum4PFAVX2(p *byte, n64 int, part int) uint64

// hasPrefetchLoop says whether readSumPrefetch has its assembly here.
var hasPrefetchLoop = cpu.X86.HasAVX2

// readSumPrefetch reads every byte of b as four equal parts side by side
// with 256-bit loads, prefetching every line of each part 2 KiB ahead, and
// returns readSum's checksum. len(b) must be a multiple of 128; the
// assembly takes multiples of 256.
func readSumPrefetch(b []byte) uint64 {
	if len(b) == 0 || len(b)%256 != 0 || !hasPrefetchLoop {
		return readSumGo(b, 4)
	}
	return readSum4PFAVX2(unsafe.SliceData(b), len(b)/256, len(b)/4)
}
