package inproc

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// userHZ is the unit of /proc/stat's times: USER_HZ, 100 on every Linux
// architecture (the kernel converts to it for user space).
const userHZ = 100

// parseSteal reads the steal time (the eighth number of the "cpu" line)
// and counts the "cpuN" lines of a /proc/stat.
func parseSteal(b []byte) (time.Duration, int, error) {
	var steal time.Duration
	found, cpus := false, 0
	for line := range bytes.Lines(b) {
		fields := bytes.Fields(line)
		if len(fields) == 0 {
			continue
		}
		switch name := fields[0]; {
		case string(name) == "cpu":
			if len(fields) < 9 {
				return 0, 0, errors.New("/proc/stat: cpu line without a steal column")
			}
			ticks, err := strconv.ParseInt(string(fields[8]), 10, 64)
			if err != nil {
				return 0, 0, fmt.Errorf("/proc/stat: steal column: %w", err)
			}
			steal, found = time.Duration(ticks)*time.Second/userHZ, true
		case len(name) > 3 && bytes.HasPrefix(name, []byte("cpu")):
			cpus++
		}
	}
	if !found {
		return 0, 0, errors.New("/proc/stat: no cpu line")
	}
	if cpus == 0 {
		return 0, 0, errors.New("/proc/stat: no cpuN lines")
	}
	return steal, cpus, nil
}
