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
	if note := cpuNote(0.875, nil, nil, 2); note != "; CPU share 87.5% of 2 threads" {
		t.Errorf("note %q", note)
	}
	w := 0.012
	if note := cpuNote(0.875, &w, nil, 2); !strings.HasSuffix(note, "; waited for a CPU 1.2% of the time") {
		t.Errorf("note %q", note)
	}
	zero, steal := 0.0, 0.0105
	if note := cpuNote(0.875, &w, &zero, 2); strings.Contains(note, "host") {
		t.Errorf("a zero steal reported: %q", note)
	}
	if note := cpuNote(0.875, &w, &steal, 2); !strings.HasSuffix(note, "; the host took 1.1% of the CPUs' time (steal)") {
		t.Errorf("note %q", note)
	}
	r = reps{wall: 2, steal: 0.1, stealOK: true, cpus: 2, n: 1}
	if s := r.stealShare(); s == nil || *s != 0.025 {
		t.Errorf("steal share %v, want 0.025", s)
	}
	r.cpus = 0
	if s := r.stealShare(); s != nil {
		t.Errorf("steal share without a CPU count: %v", *s)
	}
}

func TestParseSteal(t *testing.T) {
	for _, tc := range []struct {
		name  string
		in    string
		steal time.Duration
		cpus  int
		bad   bool
	}{
		{name: "two cpus", in: "cpu  2241595 0 273492 1610135 7432 0 1415 9677 0 0\ncpu0 1 0 1 1 0 0 0 4753 0 0\ncpu1 1 0 1 1 0 0 0 4924 0 0\nintr 1 2 3\nctxt 5\n",
			steal: 96770 * time.Millisecond, cpus: 2},
		{name: "no steal yet", in: "cpu  1 2 3 4 5 6 7 0 0 0\ncpu0 1 2 3 4 5 6 7 0 0 0\n", cpus: 1},
		{name: "old kernel without steal", in: "cpu  1 2 3 4 5 6 7\ncpu0 1 2 3 4 5 6 7\n", bad: true},
		{name: "no cpu lines", in: "intr 1 2\n", bad: true},
		{name: "garbled", in: "cpu  1 2 3 4 5 6 7 x 0 0\ncpu0 1\n", bad: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			steal, cpus, err := parseSteal([]byte(tc.in))
			if tc.bad {
				if err == nil {
					t.Fatalf("no error; got %v over %d CPUs", steal, cpus)
				}
				return
			}
			if err != nil || steal != tc.steal || cpus != tc.cpus {
				t.Fatalf("got %v over %d CPUs (%v), want %v over %d", steal, cpus, err, tc.steal, tc.cpus)
			}
		})
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
