package server

import (
	"bytes"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/nuri-ai/nuri/chat"
	"github.com/nuri-ai/nuri/engine"
)

// setGauges replaces the test server's backend with one that has src.
func setGauges(t *testing.T, ts *testServer, src GaugeSource) {
	t.Helper()
	r, err := chat.NewBuiltin("chatml")
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.srv.SetBackend(&Backend{Engine: ts.eng, Tokenizer: fakeTokenizer{}, Chat: r, Gauges: src}); err != nil {
		t.Fatal(err)
	}
}

func dev(name string) []Label { return []Label{{Name: "device", Value: name}} }

func TestMetricsExtraGauges(t *testing.T) {
	ts := newTestServer(t, Config{ModelName: "m"}, "abc")
	var calls atomic.Int32
	setGauges(t, ts, GaugeFunc(func() []Gauge {
		temp := 40 + float64(calls.Add(1)) // a fresh reading per scrape
		return []Gauge{
			{Name: "nuri:device_memory_used_bytes", Help: "Device memory in use, in bytes.", Samples: []GaugeSample{
				{Labels: dev("cuda:0"), Value: 3 << 30}, {Labels: dev("cuda:1"), Value: 1 << 20}}},
			{Name: "nuri:device_temperature_celsius", Help: "GPU temperature.", Samples: []GaugeSample{{Labels: dev("cuda:0"), Value: temp}}},
			{Name: "nuri:device_utilization_ratio", Help: "multi\nline \\ help", Samples: []GaugeSample{
				{Labels: []Label{{Name: "zone", Value: `a"b`}, {Name: "device", Value: "cuda:0"}}, Value: 0.25}}},
			{Name: "nuri:device_power_watts", Help: "not readable: no samples"}, // left out entirely
		}
	}))

	got, text := scrape(t, ts)
	want := map[string]float64{
		`nuri:device_memory_used_bytes{device="cuda:0"}`:                    3 << 30,
		`nuri:device_memory_used_bytes{device="cuda:1"}`:                    1 << 20,
		`nuri:device_temperature_celsius{device="cuda:0"}`:                  41,
		`nuri:device_utilization_ratio{device="cuda:0",zone="a\"b"}`:        0.25, // labels sorted, value escaped
		`nuri:padded_tokens_total{model_name="m"}`:                          0,
		`vllm:num_requests_running{model_name="m"}`:                         0, // built-ins still there
		`vllm:request_success_total{model_name="m",finished_reason="stop"}`: 0,
	}
	for k, v := range want {
		if g, ok := got[k]; !ok {
			t.Errorf("sample %s missing:\n%s", k, text)
		} else if g != v {
			t.Errorf("%s = %v, want %v", k, g, v)
		}
	}
	for _, line := range []string{
		"# HELP nuri:device_memory_used_bytes Device memory in use, in bytes.\n# TYPE nuri:device_memory_used_bytes gauge\n",
		"# HELP nuri:device_temperature_celsius GPU temperature.\n# TYPE nuri:device_temperature_celsius gauge\n",
		"# HELP nuri:device_utilization_ratio multi\\nline \\\\ help\n# TYPE nuri:device_utilization_ratio gauge\n",
		"# TYPE nuri:padded_tokens_total counter\n",
	} {
		if !strings.Contains(text, line) {
			t.Errorf("/metrics lacks %q", line)
		}
	}
	if strings.Contains(text, "nuri:device_power_watts") {
		t.Errorf("a gauge without samples was written:\n%s", text)
	}
	if n := strings.Count(text, "# TYPE nuri:device_memory_used_bytes "); n != 1 {
		t.Errorf("TYPE line for a two-sample family written %d times", n)
	}
	// the source is read at every scrape, not cached
	got, _ = scrape(t, ts)
	if g := got[`nuri:device_temperature_celsius{device="cuda:0"}`]; g != 42 {
		t.Errorf("second scrape temperature = %v, want 42 (source read again)", g)
	}
	if calls.Load() != 2 {
		t.Errorf("source called %d times for 2 scrapes", calls.Load())
	}
}

// TestMetricsBadGauges: families that would make Prometheus reject the
// scrape (bad names, duplicates, names of built-ins) are left out and the
// rest is still served.
func TestMetricsBadGauges(t *testing.T) {
	ts := newTestServer(t, Config{ModelName: "m"}, "abc")
	one := []GaugeSample{{Labels: dev("npu:0"), Value: 1}}
	setGauges(t, ts, GaugeFunc(func() []Gauge {
		return []Gauge{
			{Name: "nuri:ok_gauge", Help: "fine", Samples: one},
			{Name: "9starts_with_digit", Samples: one},
			{Name: "has space", Samples: one},
			{Name: "", Samples: one},
			{Name: "nuri:ok_gauge", Help: "duplicate", Samples: one},
			{Name: "vllm:num_requests_running", Samples: one},
			{Name: "go_goroutines", Samples: one},
			{Name: "nuri:padded_tokens_total", Samples: one},
			{Name: "nuri:bad_label", Samples: []GaugeSample{{Labels: []Label{{Name: "bad-label", Value: "x"}}, Value: 1}}},
			{Name: "nuri:reserved_label", Samples: []GaugeSample{{Labels: []Label{{Name: "__name__", Value: "x"}}, Value: 1}}},
			{Name: "nuri:no_labels", Help: "plain", Samples: []GaugeSample{{Value: 7}}},
		}
	}))
	got, text := scrape(t, ts)
	if got[`nuri:ok_gauge{device="npu:0"}`] != 1 || got["nuri:no_labels"] != 7 {
		t.Errorf("valid gauges missing:\n%s", text)
	}
	for _, bad := range []string{"9starts", "has space", "nuri:bad_label", "nuri:reserved_label", "help duplicate"} {
		if strings.Contains(text, bad) {
			t.Errorf("invalid gauge %q written:\n%s", bad, text)
		}
	}
	for _, name := range []string{"nuri:ok_gauge", "vllm:num_requests_running", "go_goroutines", "nuri:padded_tokens_total"} {
		if n := strings.Count(text, "# TYPE "+name+" "); n != 1 {
			t.Errorf("%s has %d TYPE lines, want 1", name, n)
		}
	}
	if got[`vllm:num_requests_running{model_name="m"}`] != 0 || got[`vllm:num_requests_running{device="npu:0"}`] != 0 {
		t.Errorf("a source overrode a built-in metric:\n%s", text)
	}
	if _, ok := got[`go_goroutines{device="npu:0"}`]; ok {
		t.Errorf("a source redefined go_goroutines:\n%s", text)
	}
}

// TestMetricsWithoutGauges: no source (the CPU device has no telemetry)
// writes only the built-in families, padding counter included.
func TestMetricsWithoutGauges(t *testing.T) {
	ts := newTestServer(t, Config{ModelName: "m"}, "abc")
	ts.eng.mu.Lock()
	ts.eng.padded = 96
	ts.eng.mu.Unlock()
	got, text := scrape(t, ts)
	if strings.Contains(text, "nuri:device_") {
		t.Errorf("device gauges without a source:\n%s", text)
	}
	if g := got[`nuri:padded_tokens_total{model_name="m"}`]; g != 96 {
		t.Errorf("nuri:padded_tokens_total = %v, want 96 (engine.Stats.PaddedTokens)", g)
	}
	if _, ok := got[`vllm:num_requests_running{model_name="m"}`]; !ok {
		t.Errorf("built-in metrics missing:\n%s", text)
	}
}

func TestValidMetricNames(t *testing.T) {
	for _, c := range []struct {
		s            string
		metric, labl bool
	}{
		{"nuri:device_power_watts", true, false},
		{"device", true, true},
		{"_x9", true, true},
		{"__name__", true, false},
		{"9x", false, false},
		{"a-b", false, false},
		{"", false, false},
		{"가", false, false},
	} {
		if got := validMetricName(c.s); got != c.metric {
			t.Errorf("validMetricName(%q) = %v", c.s, got)
		}
		if got := validLabelName(c.s); got != c.labl {
			t.Errorf("validLabelName(%q) = %v", c.s, got)
		}
	}
}

// vllm:lora_requests_info names the adapters in use, only where there are
// adapters.
func TestMetricsLoRAInfo(t *testing.T) {
	m := NewMetrics("base")
	var buf bytes.Buffer
	if err := m.write(&buf, engine.Stats{}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "lora_requests_info") {
		t.Fatal("LoRA info without adapters")
	}
	buf.Reset()
	if err := m.write(&buf, engine.Stats{LoRALoaded: 3, LoRARunning: []string{"law", "med"}, LoRAWaiting: []string{"ko\\"}}); err != nil {
		t.Fatal(err)
	}
	want := `vllm:lora_requests_info{model_name="base",max_lora="3",running_lora_adapters="law,med",waiting_lora_adapters="ko\\"}`
	if !strings.Contains(buf.String(), want) {
		t.Fatalf("no %s in\n%s", want, buf.String())
	}
}
