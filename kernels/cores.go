package kernels

import (
	"encoding/binary"
	"runtime"
)

// DefaultThreads is the worker count a pool gets when none is asked for:
// the physical cores this process may run on (a second SMT thread on a
// core shares its load ports and caches, and decode is bound by memory, so
// it only adds contention), capped by GOMAXPROCS, which the Go runtime
// already limits to the process's CPU affinity and cgroup CPU quota.
// Where the topology cannot be read it is GOMAXPROCS.
func DefaultThreads() int {
	n := runtime.GOMAXPROCS(0)
	if c := physicalCores(); c > 0 && c < n {
		n = c
	}
	return max(n, 1)
}

// countCores returns the number of distinct SMT sibling lists (one per
// physical core) over cpus; 0 if any CPU's list is unreadable, since a
// partial count would undercount the cores.
func countCores(cpus []int, siblings func(cpu int) (string, error)) int {
	cores := map[string]bool{}
	for _, cpu := range cpus {
		s, err := siblings(cpu)
		if err != nil || s == "" {
			return 0
		}
		cores[s] = true
	}
	return len(cores)
}

// coresInMask counts the RelationProcessorCore records (Relationship 0) of
// a Windows GetLogicalProcessorInformation buffer whose processor mask
// meets mask: the physical cores holding a logical processor this process
// may run on. A record is a ULONG_PTR mask (ptr bytes), the 4-byte
// relationship, and a 16-byte union aligned to 8 after them.
func coresInMask(buf []byte, mask uint64, ptr int) int {
	size := (ptr+4+7)/8*8 + 16
	cores := 0
	for o := 0; o+size <= len(buf); o += size {
		var procs uint64
		if ptr == 8 {
			procs = binary.LittleEndian.Uint64(buf[o:])
		} else {
			procs = uint64(binary.LittleEndian.Uint32(buf[o:]))
		}
		if binary.LittleEndian.Uint32(buf[o+ptr:]) == 0 && procs&mask != 0 {
			cores++
		}
	}
	return cores
}
