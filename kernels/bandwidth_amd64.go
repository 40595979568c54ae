//go:build amd64

package kernels

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// readSum reads every byte of b (len a multiple of 128) with 256-bit loads
// and returns a checksum so the loads cannot be optimised away.
func readSum(b []byte) uint64 {
	if len(b) < 128 || !cpu.X86.HasAVX2 {
		return readSumGo(b)
	}
	return readSumAVX2(unsafe.SliceData(b), len(b)/128)
}

//go:noescape
func readSumAVX2(p *byte, n128 int) uint64
