package inproc

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/nuri-ai/nuri/bench"
)

func TestLlamaBenchRecords(t *testing.T) {
	ratio := &Roofline{Ratio: 0.875}
	res := &ModelResults{Backend: "CPU", Threads: 2, Model: ModelInfo{Name: "llama 1.2B Q4_0", SizeBytes: 100, Params: 50}, Tests: []TestResult{
		{Name: "pp128", Tokens: 128, Seconds: []float64{0.25, 0.5}, TPS: []float64{512, 256}, AvgTPS: 384, StdTPS: 181.02,
			Time: time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)},
		{Name: "tg32 @ d64", Tokens: 32, Depth: 64, Seconds: []float64{0.4}, TPS: []float64{80}, AvgTPS: 80, Roofline: ratio},
	}}
	cfg := ModelConfig{Model: "m.gguf", UBatch: 256, KVType: "Q8_0"}
	recs := LlamaBenchRecords(bench.Environment{Commit: "abc", CPUModel: "cpu"}, cfg, res)
	if len(recs) != 2 {
		t.Fatalf("%d records", len(recs))
	}
	pp, tg := recs[0], recs[1]
	if pp.NPrompt != 128 || pp.NGen != 0 || pp.AvgNs != 375000000 || pp.StddevNs != 176776695 || pp.TypeK != "q8_0" ||
		pp.NBatch != 256 || pp.TestTime != "2026-12-06T09:00:00Z" || pp.RooflineRatio != nil {
		t.Errorf("pp record %+v", pp)
	}
	if tg.NPrompt != 0 || tg.NGen != 32 || tg.NDepth != 64 || tg.AvgNs != 400000000 || tg.StddevNs != 0 ||
		tg.RooflineRatio == nil || *tg.RooflineRatio != 0.875 {
		t.Errorf("tg record %+v", tg)
	}
	var b bytes.Buffer
	if err := WriteLlamaBench(&b, "csv", recs); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 3 || !strings.HasSuffix(lines[1], ",384.000000,181.020000,") || !strings.HasSuffix(lines[2], ",80.000000,0.000000,0.875000") {
		t.Errorf("csv:\n%s", b.String())
	}
	b.Reset()
	if err := WriteLlamaBench(&b, "json", nil); err != nil || strings.TrimSpace(b.String()) != "[]" {
		t.Errorf("json of no records: %q, %v", b.String(), err)
	}
	if err := WriteLlamaBench(&b, "sql", recs); err == nil {
		t.Error("sql accepted")
	}
}
