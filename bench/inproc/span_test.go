package inproc

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestRepsShares(t *testing.T) {
	r := reps{wall: 2, cpu: 3.5, wait: 0.2, cpuOK: true, waitOK: true, n: 2}
	if got := r.share(2); got != 0.875 {
		t.Errorf("share %v, want 0.875", got)
	}
	if w := r.waitShare(2); w == nil || *w != 0.05 {
		t.Errorf("wait share %v, want 0.05", w)
	}
	r.waitOK = false
	if w := r.waitShare(2); w != nil {
		t.Errorf("unknown wait reported as %v", *w)
	}
	if note := cpuNote(0.875, nil, 2); note != "; CPU share 87.5% of 2 threads" {
		t.Errorf("note %q", note)
	}
	w := 0.012
	if note := cpuNote(0.875, &w, 2); !strings.HasSuffix(note, "; waited for a CPU 1.2% of the time") {
		t.Errorf("note %q", note)
	}
}

// TestProcessRunWait: on Linux the threads' wait for a CPU is read, and
// it grows when more goroutines spin than there are CPUs to run them.
func TestProcessRunWait(t *testing.T) {
	w0, ok := processRunWait()
	if runtime.GOOS != "linux" {
		if ok {
			t.Fatal("a wait reading off Linux")
		}
		return
	}
	if !ok {
		t.Fatal("no reading of /proc/self/task/*/schedstat")
	}
	// Twice as many spinning threads as CPUs for 50 ms (GOMAXPROCS raised
	// so that they all run Go code at once): the kernel makes each wait
	// about half the time, ~n·25 ms in all.
	n := 2 * runtime.NumCPU()
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(n))
	done := make(chan struct{})
	for range n {
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			for end := time.Now().Add(50 * time.Millisecond); time.Now().Before(end); {
			}
			done <- struct{}{}
		}()
	}
	for range n {
		<-done
	}
	w1, ok := processRunWait()
	if want := time.Duration(n) * 5 * time.Millisecond; !ok || w1-w0 < want {
		t.Fatalf("wait %v → %v (ok %v) with %d threads spinning on %d CPUs: want a rise of %v or more", w0, w1, ok, n, runtime.NumCPU(), want)
	}
}
