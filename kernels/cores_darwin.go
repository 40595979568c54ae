package kernels

import "golang.org/x/sys/unix"

// physicalCores is, on macOS, the cores of the fastest performance level:
// Apple silicon's performance cores (hw.perflevel0), whose efficiency
// cores would hold every matmul's threads back at its barrier, as
// llama.cpp also defaults to; hw.physicalcpu on Macs without levels (Intel).
// 0 when neither can be read.
func physicalCores() int {
	for _, name := range []string{"hw.perflevel0.physicalcpu", "hw.physicalcpu"} {
		if n, err := unix.SysctlUint32(name); err == nil && n > 0 {
			return int(n)
		}
	}
	return 0
}
