//go:build linux

package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// lockProcessMemory locks the process's mappings with MCL_ONFAULT: the
// pages in memory now at once, the others as they are first touched, so
// reserved address space and pages given back (MADV_DONTNEED) cost no
// memory. MCL_FUTURE is left out on purpose: with a finite
// RLIMIT_MEMLOCK each later mapping would count against it, and the Go
// runtime cannot survive a refused mapping.
func lockProcessMemory() error {
	err := unix.Mlockall(unix.MCL_CURRENT | unix.MCL_ONFAULT)
	if err == nil {
		return nil
	}
	if errors.Is(err, unix.ENOMEM) || errors.Is(err, unix.EPERM) {
		// The kernel takes the whole address space (locked pages or not)
		// against the limit unless the process holds CAP_IPC_LOCK.
		limit := "unknown"
		var rl unix.Rlimit
		if unix.Getrlimit(unix.RLIMIT_MEMLOCK, &rl) == nil {
			limit = strconv.FormatUint(rl.Cur, 10) + " bytes"
			if rl.Cur == unix.RLIM_INFINITY {
				limit = "unlimited"
			}
		}
		return fmt.Errorf("mlockall: %w (RLIMIT_MEMLOCK %s, without CAP_IPC_LOCK: raise it with 'ulimit -l unlimited', LimitMEMLOCK=infinity in a systemd unit or --ulimit memlock=-1 for a container)", err, limit)
	}
	return fmt.Errorf("mlockall: %w", err)
}

// unlockProcessMemory undoes lockProcessMemory (tests).
func unlockProcessMemory() error { return unix.Munlockall() }

// lockedBytes is the process's memory locked in RAM now
// (/proc/self/smaps_rollup's Locked).
func lockedBytes() (int64, error) {
	b, err := os.ReadFile("/proc/self/smaps_rollup")
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := bytes.Fields(sc.Bytes())
		if len(f) == 3 && string(f[0]) == "Locked:" {
			kb, err := strconv.ParseInt(string(f[1]), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("smaps_rollup: %q: %w", sc.Text(), err)
			}
			return kb << 10, nil
		}
	}
	return 0, errors.New("smaps_rollup: no Locked line")
}
