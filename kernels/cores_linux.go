package kernels

import (
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// physicalCores counts the distinct cores among the CPUs in this process's
// affinity mask, reading each CPU's SMT sibling list from sysfs; 0 when
// the mask or the topology cannot be read.
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
	return countCores(cpus, func(cpu int) (string, error) {
		b, err := os.ReadFile(fmt.Sprintf("/sys/devices/system/cpu/cpu%d/topology/thread_siblings_list", cpu))
		return strings.TrimSpace(string(b)), err
	})
}
