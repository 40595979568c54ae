//go:build !linux

package inproc

import "time"

// processRunWait is unavailable here (it reads Linux's schedstat); the
// wait for a CPU is then not reported.
func processRunWait() (time.Duration, bool) { return 0, false }

// hostSteal is unavailable here (it reads Linux's /proc/stat).
func hostSteal() (time.Duration, int, bool) { return 0, 0, false }
