//go:build linux

package inproc

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// processRunWait returns how long the process's threads, summed, have
// been runnable but not running, waiting for a CPU while other tasks had
// it (the second field of each /proc/self/task/*/schedstat: run_delay, in
// ns). On a shared machine this is the time other work took from the
// benchmark; a thread that sleeps does not accumulate it. Threads that
// exited are not counted, which only matters for the Go runtime's short-
// lived ones.
func processRunWait() (time.Duration, bool) {
	tasks, err := filepath.Glob("/proc/self/task/*/schedstat")
	if err != nil || len(tasks) == 0 {
		return 0, false
	}
	var total time.Duration
	for _, f := range tasks {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // the thread exited since the listing
		}
		fields := bytes.Fields(b)
		if len(fields) < 2 {
			return 0, false
		}
		ns, err := strconv.ParseInt(string(fields[1]), 10, 64)
		if err != nil {
			return 0, false
		}
		total += time.Duration(ns)
	}
	return total, true
}

// hostSteal returns the time the hypervisor has taken from this machine's
// CPUs, summed over them (the steal column of /proc/stat's first line),
// and how many CPUs that covers. A virtual machine's CPU is a thread on
// its host; while the host runs something else there the guest's work on
// that CPU stops, and one stopped worker stops a whole parallel step. On
// the 2-core VMs of docs/performance.md the host took one CPU for 100 ms
// at a time, every few seconds, only while both CPUs were busy.
func hostSteal() (time.Duration, int, bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, false
	}
	d, cpus, err := parseSteal(b)
	return d, cpus, err == nil
}
