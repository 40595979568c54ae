package kernels

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// physicalCores counts the distinct cores among the CPUs in this process's
// affinity mask, reading each CPU's SMT sibling list from sysfs; 0 when
// the mask or the topology cannot be read. On a CPU of two kinds of core
// it counts the fast kind only (fastCPUs).
func physicalCores() int {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return 0
	}
	var cpus []int
	for cpu, left := 0, set.Count(); left > 0 && cpu < 1024; cpu++ { // CPUSet's range
		if set.IsSet(cpu) {
			cpus = append(cpus, cpu)
			left--
		}
	}
	perf, _ := os.ReadFile("/sys/devices/cpu_core/cpus")
	cpus = fastCPUs(cpus, string(perf), func(cpu int) (int, bool) {
		b, err := os.ReadFile(fmt.Sprintf("/sys/devices/system/cpu/cpu%d/cpu_capacity", cpu))
		if err != nil {
			return 0, false
		}
		v, err := strconv.Atoi(strings.TrimSpace(string(b)))
		return v, err == nil
	})
	return countCores(cpus, func(cpu int) (string, error) {
		b, err := os.ReadFile(fmt.Sprintf("/sys/devices/system/cpu/cpu%d/topology/thread_siblings_list", cpu))
		return strings.TrimSpace(string(b)), err
	})
}
