package kernels

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"testing"
)

func TestCountCores(t *testing.T) {
	smt := map[int]string{0: "0,4", 1: "1,5", 2: "2,6", 3: "3,7", 4: "0,4", 5: "1,5", 6: "2,6", 7: "3,7"}
	lookup := func(m map[int]string) func(int) (string, error) {
		return func(cpu int) (string, error) {
			s, ok := m[cpu]
			if !ok {
				return "", errors.New("no topology")
			}
			return s, nil
		}
	}
	for _, tc := range []struct {
		name string
		cpus []int
		topo map[int]string
		want int
	}{
		{"SMT pairs, all CPUs", []int{0, 1, 2, 3, 4, 5, 6, 7}, smt, 4},
		{"SMT pairs, both threads of one core", []int{0, 4}, smt, 1},
		{"SMT pairs, one thread of two cores", []int{2, 3}, smt, 2},
		{"no SMT", []int{0, 1}, map[int]string{0: "0", 1: "1"}, 2},
		{"topology missing for one CPU", []int{0, 9}, smt, 0},
		{"empty sibling list", []int{0}, map[int]string{0: ""}, 0},
		{"no CPUs", nil, smt, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := countCores(tc.cpus, lookup(tc.topo)); got != tc.want {
				t.Errorf("countCores(%v) = %d, want %d", tc.cpus, got, tc.want)
			}
		})
	}
}

func TestDefaultThreads(t *testing.T) {
	n := DefaultThreads()
	if n < 1 || n > runtime.GOMAXPROCS(0) {
		t.Fatalf("DefaultThreads() = %d, want 1..GOMAXPROCS (%d)", n, runtime.GOMAXPROCS(0))
	}
	if c := physicalCores(); c > 0 && n > c {
		t.Fatalf("DefaultThreads() = %d exceeds the %d physical cores in the affinity mask", n, c)
	}
	p := NewPool(0)
	defer p.Close()
	if got := p.Threads(); got != n {
		t.Errorf("NewPool(0).Threads() = %d, want DefaultThreads() = %d", got, n)
	}
}

// TestCoresInMask parses GetLogicalProcessorInformation buffers built by
// hand: 64-bit (32-byte records) and 32-bit (24-byte) layouts, cores with
// two SMT threads, cache and package records in between, and an affinity
// mask that leaves some cores out.
func TestCoresInMask(t *testing.T) {
	record := func(ptr int, mask uint64, rel uint32) []byte {
		b := make([]byte, (ptr+4+7)/8*8+16)
		if ptr == 8 {
			binary.LittleEndian.PutUint64(b, mask)
		} else {
			binary.LittleEndian.PutUint32(b, uint32(mask))
		}
		binary.LittleEndian.PutUint32(b[ptr:], rel)
		b[ptr+8] = 0xff // union bytes: must not be read as a record
		return b
	}
	for _, ptr := range []int{8, 4} {
		var buf []byte
		for core := range 4 { // cores 0-3, logical processors 2c and 2c+1
			buf = append(buf, record(ptr, 3<<(2*core), 0)...)
			buf = append(buf, record(ptr, 3<<(2*core), 2)...) // its L1 cache
		}
		buf = append(buf, record(ptr, 0xff, 3)...) // the package
		for _, tc := range []struct {
			mask uint64
			want int
		}{{0xff, 4}, {0x01, 1}, {0x03, 1}, {0x05, 2}, {0x0f, 2}, {0x100, 0}} {
			if got := coresInMask(buf, tc.mask, ptr); got != tc.want {
				t.Errorf("ptr %d mask %#x: %d cores, want %d", ptr, tc.mask, got, tc.want)
			}
		}
		if got := coresInMask(buf[:len(buf)-1], 0xff, ptr); got != 4 {
			t.Errorf("ptr %d: a truncated last record gave %d cores, want 4", ptr, got)
		}
	}
}

func TestFastCPUs(t *testing.T) {
	caps := func(m map[int]int) func(int) (int, bool) {
		return func(cpu int) (int, bool) {
			v, ok := m[cpu]
			return v, ok
		}
	}
	same := map[int]int{0: 1024, 1: 1024, 2: 1024, 3: 1024}
	for _, tc := range []struct {
		name string
		cpus []int
		perf string
		caps map[int]int
		want []int
	}{
		{"Intel hybrid: P-cores listed", []int{0, 1, 2, 3, 4, 5, 6, 7}, "0-3\n", nil, []int{0, 1, 2, 3}},
		{"Intel hybrid, affinity on E-cores only", []int{6, 7}, "0-3", nil, []int{6, 7}},
		{"P-core list with singles", []int{0, 2, 4, 9}, "0,2,8-9", nil, []int{0, 2, 9}},
		{"one kind (capacities equal)", []int{0, 1, 2, 3}, "", same, []int{0, 1, 2, 3}},
		{"Apple-like: 4 P + 4 E", []int{0, 1, 2, 3, 4, 5, 6, 7}, "", map[int]int{0: 1024, 1: 1024, 2: 1024, 3: 1024, 4: 420, 5: 420, 6: 420, 7: 420}, []int{0, 1, 2, 3}},
		{"Arm prime + big + little", []int{0, 1, 2, 3, 4, 5}, "", map[int]int{0: 1024, 1: 900, 2: 900, 3: 380, 4: 380, 5: 380}, []int{0, 1, 2}},
		{"no capacities", []int{0, 1}, "", nil, []int{0, 1}},
		{"a capacity missing", []int{0, 1}, "", map[int]int{0: 1024}, []int{0, 1}},
		{"malformed list, capacities used", []int{0, 1}, "0-x", map[int]int{0: 1024, 1: 300}, []int{0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := fastCPUs(tc.cpus, tc.perf, caps(tc.caps))
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("fastCPUs(%v, %q) = %v, want %v", tc.cpus, tc.perf, got, tc.want)
			}
		})
	}
}

func TestParseCPUList(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // sorted members, or "bad"
	}{
		{"0-3", "[0 1 2 3]"}, {"0,2,4-5\n", "[0 2 4 5]"}, {"7", "[7]"},
		{"", "bad"}, {"3-1", "bad"}, {"a", "bad"}, {"1,", "bad"}, {"-1", "bad"},
	} {
		set, ok := parseCPUList(tc.in)
		got := "bad"
		if ok {
			got = fmt.Sprint(slices.Sorted(maps.Keys(set)))
		}
		if got != tc.want {
			t.Errorf("parseCPUList(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}
