package inproc

import (
	"strings"
	"testing"

	"github.com/nuri-ai/nuri/kernels"
	"github.com/nuri-ai/nuri/quant"
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

func TestPacingLine(t *testing.T) {
	uses := paceUses([]kernels.PaceChoice{
		{Types: []quant.Type{quant.Q4_0}, SizeClass: 5, Paced: true, Ratio: 0.9712, Pairs: 16, Rounds: 2},
		{Types: []quant.Type{quant.Q4_K, quant.Q6_K}, SizeClass: 2, Ratio: 1.0123, Pairs: 96, Rounds: 1},
		{Types: []quant.Type{quant.Q6_K}, SizeClass: 0, Measuring: true},
	})
	want := "stream kernel pacing (measured as it ran; NURI_PACING=off|on fixes it): " +
		"Q4_0 16-32 MiB paced (paced/plain time 0.971 over 16 pairs, 2 rounds), " +
		"Q4_K+Q6_K 2-4 MiB plain (paced/plain time 1.012 over 96 pairs, 1 round), " +
		"Q6_K <1 MiB plain"
	if got := pacingLine(uses); got != want {
		t.Errorf("pacingLine:\n got %q\nwant %q", got, want)
	}
	res := &ModelResults{Pacing: uses}
	var b strings.Builder
	if err := WriteModelText(&b, res); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), want+"\n") {
		t.Errorf("WriteModelText lacks the pacing line:\n%s", b.String())
	}
}
