package kernels

import (
	"os"
	"runtime"
	"testing"
)

func TestParseCacheSize(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"48K", 48 << 10, true},
		{"491520K\n", 491520 << 10, true},
		{"32M", 32 << 20, true},
		{"1G", 1 << 30, true},
		{"4096", 4096, true},
		{"", 0, false},
		{"K", 0, false},
		{"-4K", 0, false},
		{"12Q", 0, false},
	} {
		got, ok := parseCacheSize(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("parseCacheSize(%q) = %d, %v; want %d, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestLastLevelCache(t *testing.T) {
	llc := LastLevelCache()
	if llc < 0 || llc > 1<<40 {
		t.Fatalf("LastLevelCache = %d", llc)
	}
	if _, err := os.Stat("/sys/devices/system/cpu/cpu0/cache/index0/size"); runtime.GOOS == "linux" && err == nil && llc == 0 {
		t.Fatal("sysfs lists CPU 0's caches, LastLevelCache read none")
	}
	t.Logf("last-level cache: %d MiB", llc>>20)
}
