//go:build unix

package inproc

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time (user + system) the process has used, so
// a run on a shared machine can say how much of its threads' time it got.
func processCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
