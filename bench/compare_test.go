package bench

import (
	"bytes"
	"strings"
	"testing"
)

func TestCompare(t *testing.T) {
	a := &Report{Kind: "serve", Metrics: []Metric{
		{Group: "c1", Name: "tput", Unit: "tok/s", Value: 100, Better: HigherIsBetter},
		{Group: "c1", Name: "ttft", Unit: "ms", Value: 50, Better: LowerIsBetter},
		{Group: "c1", Name: "count", Value: 20},
		{Group: "c1", Name: "gone", Value: 1, Better: HigherIsBetter},
		{Group: "c1", Name: "zero", Value: 0, Better: LowerIsBetter},
	}}
	b := &Report{Kind: "serve", Metrics: []Metric{
		{Group: "c1", Name: "ttft", Unit: "ms", Value: 40, Better: LowerIsBetter},
		{Group: "c1", Name: "tput", Unit: "tok/s", Value: 101, Better: HigherIsBetter},
		{Group: "c1", Name: "count", Value: 20},
		{Group: "c1", Name: "zero", Value: 3, Better: LowerIsBetter},
		{Group: "c4", Name: "tput", Unit: "tok/s", Value: 300, Better: HigherIsBetter},
	}}
	got := Compare(a, b)
	want := []struct {
		name, verdict string
		ratio         float64
		ok            bool
	}{
		{"c1/tput", "same", 1.01, true},
		{"c1/ttft", "better", 0.8, true},
		{"c1/count", "", 1, true},
		{"c1/gone", "", 0, false},
		{"c1/zero", "", 0, false},
		{"c4/tput", "", 0, false},
	}
	if len(got) != len(want) {
		t.Fatalf("%d comparisons, want %d", len(got), len(want))
	}
	for i, w := range want {
		r, ok := got[i].Ratio()
		if got[i].Group+"/"+got[i].Name != w.name || got[i].Verdict() != w.verdict || ok != w.ok || (ok && r != w.ratio) {
			t.Errorf("%d: %s ratio %g %v verdict %q; want %s %g %v %q", i, got[i].Group+"/"+got[i].Name, r, ok, got[i].Verdict(), w.name, w.ratio, w.ok, w.verdict)
		}
	}
	worse := Comparison{A: 10, B: 5, HasA: true, HasB: true, Better: HigherIsBetter}
	if worse.Verdict() != "worse" {
		t.Errorf("halved throughput: %q", worse.Verdict())
	}

	var out bytes.Buffer
	a.Label, b.Kind = "nuri", "model"
	if err := WriteComparison(&out, "a/results.json", "b/results.json", a, b); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{"A: a/results.json", "nuri: serve", "warning: comparing", "0.800x", "better", "group  metric"} {
		if !strings.Contains(s, want) {
			t.Errorf("comparison lacks %q:\n%s", want, s)
		}
	}
	// Columns line up: every table row has the ratio column at the same offset.
	lines := strings.Split(strings.TrimSpace(s), "\n")
	var header string
	for _, l := range lines {
		if strings.HasPrefix(l, "group") {
			header = l
		}
	}
	col := strings.Index(header, "B/A") + len("B/A")
	for _, l := range lines {
		if strings.Contains(l, "0.800x") && strings.Index(l, "0.800x")+len("0.800x") != col {
			t.Errorf("ratio column misaligned:\n%s\n%s", header, l)
		}
	}
}
