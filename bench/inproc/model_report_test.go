package inproc

import (
	"strings"
	"testing"
)

func TestBandwidthLineSpread(t *testing.T) {
	for _, tc := range []struct {
		name    string
		samples []float64
		note    string // "" when no spread note is due
	}{
		{"quiet", []float64{60, 62, 61.5, 59.9}, ""},
		{"one sample", []float64{40}, ""},
		{"at the edge", []float64{85, 100}, ""},
		{"shared", []float64{48.3, 62.6, 55}, "the probes ranged 48.30-62.60 GB/s (the lowest 23% below the best)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := &ModelResults{Threads: 2, Memory: Bandwidth{Where: "host", BufferBytes: 1 << 30, Loops: 4}}
			for _, v := range tc.samples {
				res.Memory.add(v)
			}
			line := bandwidthLine(res)
			if !strings.HasPrefix(line, "read bandwidth: ") || !strings.Contains(line, "each sample the best of 4 read loops") {
				t.Fatalf("line %q", line)
			}
			has := strings.Contains(line, "the probes ranged")
			if tc.note == "" && has {
				t.Errorf("unexpected spread note: %q", line)
			}
			if tc.note != "" && !strings.Contains(line, tc.note) {
				t.Errorf("line %q lacks %q", line, tc.note)
			}
		})
	}
}
