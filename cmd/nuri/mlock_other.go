//go:build !linux

package main

import (
	"errors"
	"runtime"
)

// lockProcessMemory: memory is locked on Linux only (mlockall with
// MCL_ONFAULT, which locks pages as they are touched and so leaves out
// reserved address space; elsewhere locking would bring every reserved
// page in).
func lockProcessMemory() error {
	return errors.New("locking the process's memory is done on Linux only, not on " + runtime.GOOS)
}

func unlockProcessMemory() error { return nil }

func lockedBytes() (int64, error) { return 0, errors.New("not on " + runtime.GOOS) }
