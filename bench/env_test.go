package bench

import (
	"context"
	"runtime"
	"testing"
)

func TestParseCPUInfo(t *testing.T) {
	// Two sockets' worth of hyperthreads: 4 logical CPUs on 2 physical cores.
	info := `processor	: 0
model name	: Intel(R) Xeon(R) Test CPU
physical id	: 0
core id		: 0

processor	: 1
model name	: Intel(R) Xeon(R) Test CPU
physical id	: 0
core id		: 0

processor	: 2
model name	: Intel(R) Xeon(R) Test CPU
physical id	: 0
core id		: 1

processor	: 3
model name	: Intel(R) Xeon(R) Test CPU
physical id	: 0
core id		: 1
`
	model, cores := parseCPUInfo([]byte(info))
	if model != "Intel(R) Xeon(R) Test CPU" || cores != 2 {
		t.Errorf("got %q, %d cores", model, cores)
	}
	if m, c := parseCPUInfo(nil); m != "" || c != 0 {
		t.Errorf("empty cpuinfo: %q %d", m, c)
	}
	if got := parseMemTotal([]byte("MemFree: 1 kB\nMemTotal:       24576000 kB\n")); got != 24576000*1024 {
		t.Errorf("MemTotal %d", got)
	}
}

func TestCaptureEnvironment(t *testing.T) {
	env := CaptureEnvironment(context.Background(), []string{"nuri", "bench"})
	if env.GoVersion != runtime.Version() || env.OS != runtime.GOOS || env.LogicalCPUs < 1 || env.GOMAXPROCS < 1 ||
		env.Timestamp.IsZero() || len(env.CommandLine) != 2 {
		t.Errorf("%+v", env)
	}
	if runtime.GOOS == "linux" && env.CPUModel == "" {
		t.Error("no CPU model read from /proc/cpuinfo")
	}
}
