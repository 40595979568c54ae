package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nuri-ai/nuri/bench/benchtest"
)

// serveReport runs a small benchmark against a fake server and builds its report.
func serveReport(t *testing.T, fail benchtest.Failure) *Report {
	t.Helper()
	srv := benchtest.New(benchtest.Config{Variant: benchtest.VLLM, Tokens: 5, TokenDelay: time.Millisecond, FailEvery: 4, Failure: fail})
	defer srv.Close()
	c := newTestClient(t, srv.URL, EndpointChat)
	cfg := baseConfig(srv.URL)
	cfg.NumPrompts, cfg.Concurrency, cfg.Goodput = 8, []int{1, 2, 8}, Goodput{TTFTMS: 1000, TPOTMS: 500}
	res, err := RunServe(context.Background(), c, cfg, korean(t, 8), ServeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	env := CaptureEnvironment(context.Background(), []string{"nuri", "bench", "serve"})
	raw, ids, err := c.Models(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	env.Server = &ServerInfo{BaseURL: srv.URL, Models: raw, ModelIDs: ids}
	r := BuildServeReport(env, cfg, res)
	r.Label = "fake"
	return r
}

func TestWriteReports(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out", "nested")
	r := serveReport(t, benchtest.Fail500)
	if err := WriteReports(dir, r); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 {
		t.Errorf("report dir holds %d entries (leftover temporaries?)", len(entries))
	}
	back, err := ReadReport(filepath.Join(dir, ResultsFile))
	if err != nil {
		t.Fatal(err)
	}
	if back.Kind != "serve" || back.Label != "fake" || len(back.Metrics) != len(r.Metrics) || back.Env.GoVersion == "" {
		t.Errorf("round trip: kind %q label %q %d metrics", back.Kind, back.Label, len(back.Metrics))
	}
	var res ServeResults
	if err := json.Unmarshal(back.Results.(json.RawMessage), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Levels) != 3 || res.Levels[0].Summary.Failures["http_500"] != 2 || len(res.Levels[2].Requests) != 8 {
		t.Errorf("results payload: %+v", res.Levels[0].Summary)
	}

	html, err := os.ReadFile(filepath.Join(dir, HTMLFile))
	if err != nil {
		t.Fatal(err)
	}
	info, err := benchtest.CheckHTML(html)
	if err != nil {
		t.Fatal(err)
	}
	if info.Elements["svg"] != 6 || info.Elements["table"] < 5 {
		t.Errorf("report.html: %d charts, %d tables", info.Elements["svg"], info.Elements["table"])
	}
	for _, want := range []string{"Token throughput vs load", "TTFT percentiles vs load", "TPOT percentiles vs load",
		"E2EL distribution (CDF)", "Serving Benchmark Result", "http_500", "simulated failure", "fake-model"} {
		if !strings.Contains(info.Text, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}

	md, err := os.ReadFile(filepath.Join(dir, MarkdownFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# Serving benchmark: fake-model", "| level | ok | failed |", "| concurrency 8 | 6 | 2 |",
		"## Failures", "```text", "Mean TTFT (ms):", "Charts in report.html", "| http_500 | 2 |", "goodput req/s"} {
		if !bytes.Contains(md, []byte(want)) {
			t.Errorf("report.md lacks %q", want)
		}
	}
}

func TestReadReportErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for name, body := range map[string]string{
		"garbage.json": "not json",
		"schema.json":  `{"schema":"other/v9","kind":"serve"}`,
	} {
		if _, err := ReadReport(write(name, body)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := ReadReport(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("missing file accepted")
	}
}

func TestGenericReport(t *testing.T) {
	// The shape `nuri bench model` and `nuri bench kernels` use: their own
	// tables, bar charts and metrics.
	r := NewReport("kernels", "Kernel throughput", Environment{Timestamp: time.Unix(0, 0), GoVersion: "go1.x"})
	r.AddMetric("Q4_0", "gemv", "GB/s", HigherIsBetter, 11.5)
	r.AddSection(Section{
		Title:      "Kernels",
		Paragraphs: []string{"a < b & c"},
		Tables:     []Table{{Columns: []string{"kernel", "GB/s"}, Rows: [][]string{{"q4_0|x", "11.50"}}}},
		Charts: []Chart{&BarChart{Title: "GB/s", YLabel: "GB/s", Categories: []string{"Q4_0", "Q8_0"},
			Series: []BarSeries{{Name: "gemv", Values: []float64{11.5, 10}}}}},
	})
	var md, html bytes.Buffer
	if err := WriteMarkdown(&md, r); err != nil {
		t.Fatal(err)
	}
	if err := WriteHTML(&html, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), `| q4_0\|x | 11.50 |`) || !strings.Contains(md.String(), "|---|---:|") ||
		!strings.Contains(md.String(), "a &lt; b & c") {
		t.Errorf("markdown:\n%s", md.String())
	}
	info, err := benchtest.CheckHTML(html.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if info.Elements["svg"] != 1 || info.Elements["rect"] < 3 || !strings.Contains(info.Text, "a < b & c") {
		t.Errorf("html: %+v", info.Elements)
	}
}
