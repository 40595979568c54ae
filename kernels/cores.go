package kernels

import (
	"encoding/binary"
	"runtime"
	"strconv"
	"strings"
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

// fastCPUs keeps, of cpus, those of the fast kind on a CPU with two kinds
// of core, whose slow cores would hold every matmul's threads back at its
// barrier (llama.cpp also leaves them out): Intel's performance cores
// where perfCores (sysfs's cpu_core/cpus list) names them, else the CPUs
// whose capacity (sysfs's cpu_capacity: 1024 for the fastest) is at least
// three quarters of the largest, which keeps an Arm big core beside a
// prime one. cpus is returned whole when neither tells the kinds apart.
func fastCPUs(cpus []int, perfCores string, capacity func(cpu int) (int, bool)) []int {
	if perf, ok := parseCPUList(perfCores); ok {
		var keep []int
		for _, c := range cpus {
			if perf[c] {
				keep = append(keep, c)
			}
		}
		if len(keep) > 0 {
			return keep
		}
	}
	caps := make([]int, len(cpus))
	top := 0
	for i, c := range cpus {
		v, ok := capacity(c)
		if !ok || v <= 0 {
			return cpus
		}
		caps[i], top = v, max(top, v)
	}
	var keep []int
	for i, c := range cpus {
		if 4*caps[i] >= 3*top {
			keep = append(keep, c)
		}
	}
	return keep
}

// parseCPUList reads a sysfs CPU list ("0-3,8,10-11"); false when s is
// empty or malformed.
func parseCPUList(s string) (map[int]bool, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, false
	}
	set := map[int]bool{}
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 0 {
			return nil, false
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a || b-a > 1<<16 {
				return nil, false
			}
		}
		for c := a; c <= b; c++ {
			set[c] = true
		}
	}
	return set, true
}
