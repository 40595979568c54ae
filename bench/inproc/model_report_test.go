package inproc

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/nuri-ai/nuri/backends"
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
		{Types: []quant.Type{quant.Q4_0}, SizeClass: 5, Form: "paced", Rounds: 2, Trials: []kernels.PaceTrial{
			{Form: "paced", Against: "near", Ratio: 0.9712, Pairs: 16}, {Form: "far", Against: "paced", Ratio: 1.0304, Pairs: 40}}},
		{Types: []quant.Type{quant.Q4_K, quant.Q6_K}, SizeClass: 2, Form: "far", Rounds: 1, Trials: []kernels.PaceTrial{
			{Form: "paced", Against: "far", Ratio: 1.0123, Pairs: 96}}},
		{Types: []quant.Type{quant.Q6_K}, SizeClass: 0, Form: "near", Measuring: true},
	})
	want := "stream kernel forms (measured as they ran; NURI_PACING=off|on and NURI_PREFETCH=near|far fix them): " +
		"Q4_0 16-32 MiB paced (paced/near time 0.971 over 16 pairs, far/paced time 1.030 over 40 pairs; 2 rounds), " +
		"Q4_K+Q6_K 2-4 MiB far (paced/far time 1.012 over 96 pairs; 1 round), " +
		"Q6_K <1 MiB near"
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

// TestOpTableWeightRates: ops that read weights give their rate (bytes over
// time, per step or in total alike) and that rate over the run's
// bandwidth; the others and the outside row leave both cells empty.
func TestOpTableWeightRates(t *testing.T) {
	ops := []backends.OpTime{
		{Name: "mul_mat Q4_0 8192x2048", Calls: 32, Time: 800 * time.Microsecond, WeightBytes: 32 * 9_437_184, DotTime: 640 * time.Microsecond},
		{Name: "attention", Calls: 32, Time: 100 * time.Microsecond},
	}
	steps := opSteps(ops, 2, 0.001) // two 1 ms steps
	if len(steps) != 2 || steps[0].US != 400 || steps[0].Calls != 16 || steps[0].Share != 0.4 {
		t.Fatalf("steps %+v", steps)
	}
	// 302 MB in 0.8 ms.
	if want := 32 * 9_437_184 / 800e-6 / 1e9; math.Abs(steps[0].WeightGBs-want) > 1e-12*want || steps[1].WeightGBs != 0 {
		t.Errorf("weight rates %v, %v; want %v, 0", steps[0].WeightGBs, steps[1].WeightGBs, want)
	}
	// The dot phase: 320 µs a step, the same bytes in 0.64 ms.
	if steps[0].DotUS != 320 || math.Abs(steps[0].DotGBs-steps[0].WeightGBs/0.8) > 1e-9*steps[0].DotGBs || steps[1].DotUS != 0 || steps[1].DotGBs != 0 {
		t.Errorf("dot phases %+v, %+v", steps[0], steps[1])
	}
	tr := TestResult{Name: "tg2", Tokens: 2, Seconds: []float64{0.002}, OpProfile: steps,
		Roofline: &Roofline{BandwidthGBs: steps[0].WeightGBs / 0.8}}
	tab := opTable(tr)
	if len(tab.Columns) != 8 || tab.Columns[4] != "weights GB/s" || tab.Columns[5] != "of bandwidth" ||
		tab.Columns[6] != "dot µs" || tab.Columns[7] != "dot of bandwidth" {
		t.Fatalf("columns %q", tab.Columns)
	}
	if r := tab.Rows[0]; r[4] != f2(steps[0].WeightGBs) || r[5] != pct(0.8) || r[6] != f2(320) || r[7] != pct(1) {
		t.Errorf("matmul row %q, want %s, %s, %s and %s", r, f2(steps[0].WeightGBs), pct(0.8), f2(320), pct(1))
	}
	for _, r := range tab.Rows[1:] {
		if len(r) != 8 || r[4] != "" || r[5] != "" || r[6] != "" || r[7] != "" {
			t.Errorf("row %q: want empty weight cells", r)
		}
	}
	if last := tab.Rows[len(tab.Rows)-1]; last[0] != "(outside ops)" {
		t.Errorf("last row %q, want the outside ops", last)
	}
	tr.Roofline = nil // no roofline (a prefill test): the rates alone
	if r := opTable(tr).Rows[0]; r[4] == "" || r[5] != "" || r[6] == "" || r[7] != "" {
		t.Errorf("without a roofline: row %q", r)
	}
}

func TestKernelsLinePrefetch(t *testing.T) {
	base := "kernels: Q4_0 → Q4_0/avx512vnni-x16; vector loops avx512"
	for _, tc := range []struct {
		prefetch, start, vendor, want string
	}{
		{"", "", "", base},
		{"auto", "near", "AuthenticAMD", base + "; single-row prefetch measured (near or far for each kind of call, starting near for AuthenticAMD; NURI_PREFETCH=near|far fixes it)"},
		{"far", "", "", base + "; single-row prefetch far (fixed by NURI_PREFETCH)"},
	} {
		res := &ModelResults{Kernels: []KernelUse{{Type: "Q4_0", Kernel: "Q4_0/avx512vnni-x16"}}, VectorOps: "avx512",
			Prefetch: tc.prefetch, PrefetchStart: tc.start, PrefetchStartFor: tc.vendor}
		if got := kernelsLine(res); got != tc.want {
			t.Errorf("prefetch %q start %q vendor %q:\n got %q\nwant %q", tc.prefetch, tc.start, tc.vendor, got, tc.want)
		}
	}
}
