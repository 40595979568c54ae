//go:build linux

package main

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mayLockAll reports whether the kernel lets this process mlockall its
// address space: with CAP_IPC_LOCK, or an RLIMIT_MEMLOCK of at least the
// whole address space (the kernel's own test).
func mayLockAll(t *testing.T) bool {
	t.Helper()
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	var capEff, vmSize uint64
	for _, l := range strings.Split(string(status), "\n") {
		f := strings.Fields(l)
		switch {
		case len(f) == 2 && f[0] == "CapEff:":
			if capEff, err = strconv.ParseUint(f[1], 16, 64); err != nil {
				t.Fatal(err)
			}
		case len(f) == 3 && f[0] == "VmSize:":
			kb, err := strconv.ParseUint(f[1], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			vmSize = kb << 10
		}
	}
	const capIPCLock = 14
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_MEMLOCK, &rl); err != nil {
		t.Fatal(err)
	}
	return capEff&(1<<capIPCLock) != 0 || rl.Cur == unix.RLIM_INFINITY || rl.Cur >= vmSize+64<<20
}

// lockedIn is the Locked bytes of the mapping holding b (/proc/self/smaps).
func lockedIn(t *testing.T, b []byte) int64 {
	t.Helper()
	data, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	addr := uint64(uintptr(unsafe.Pointer(&b[0])))
	sc := bufio.NewScanner(bytes.NewReader(data))
	inside := false
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) > 0 && strings.Contains(f[0], "-") && !strings.HasSuffix(f[0], ":") {
			lo, hi, _ := strings.Cut(f[0], "-")
			l, err1 := strconv.ParseUint(lo, 16, 64)
			h, err2 := strconv.ParseUint(hi, 16, 64)
			inside = err1 == nil && err2 == nil && l <= addr && addr < h
			continue
		}
		if inside && len(f) == 3 && f[0] == "Locked:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no mapping holds %#x", addr)
	return 0
}

// --mlock locks the pages in memory at once and the other pages of the
// same mappings as they are first touched, not mappings made later; where
// the kernel refuses, the error names the limit to raise.
func TestLockProcessMemory(t *testing.T) {
	const size = 4 << 20
	// Each buffer is a mapping of its own between inaccessible pages: the
	// kernel merges adjacent anonymous mappings, and smaps counts by
	// mapping.
	mapAnon := func() []byte {
		const page = 4096
		m, err := syscall.Mmap(-1, 0, size+2*page, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = syscall.Munmap(m) })
		if err := syscall.Mprotect(m[:page], syscall.PROT_NONE); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Mprotect(m[page+size:], syscall.PROT_NONE); err != nil {
			t.Fatal(err)
		}
		return m[page : page+size]
	}
	touch := func(b []byte) {
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
	}
	resident, later := mapAnon(), mapAnon()
	touch(resident)
	if !mayLockAll(t) {
		err := lockProcessMemory()
		if err == nil {
			_ = unlockProcessMemory()
			t.Fatal("mlockall succeeded where the kernel's rule says it may not: the test's rule is wrong")
		}
		if !strings.Contains(err.Error(), "RLIMIT_MEMLOCK") || !strings.Contains(err.Error(), "ulimit -l") {
			t.Errorf("refusal %q does not say which limit to raise", err)
		}
		return
	}
	if err := lockProcessMemory(); err != nil {
		t.Fatalf("lock: %v", err)
	}
	t.Cleanup(func() {
		if err := unlockProcessMemory(); err != nil {
			t.Errorf("unlock: %v", err)
		}
	})
	if got := lockedIn(t, resident); got != size {
		t.Errorf("a resident mapping: %d bytes locked, want %d", got, size)
	}
	if got := lockedIn(t, later); got != 0 {
		t.Errorf("an untouched mapping: %d bytes locked before its pages exist, want 0", got)
	}
	touch(later[:size/2])
	if got := lockedIn(t, later); got != size/2 {
		t.Errorf("half an untouched mapping touched after locking: %d bytes locked, want %d", got, size/2)
	}
	after := mapAnon()
	touch(after)
	if got := lockedIn(t, after); got != 0 {
		t.Errorf("a mapping made after locking: %d bytes locked, want 0 (no MCL_FUTURE)", got)
	}
	n, err := lockedBytes()
	if err != nil || n < size+size/2 {
		t.Errorf("lockedBytes %d (%v), want at least the %d locked here", n, err, size+size/2)
	}
}
