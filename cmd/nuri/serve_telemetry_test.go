package main

import (
	"io"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/openai/openai-go"
	"go.uber.org/zap"

	"github.com/nuri-ai/nuri/backends"
	nuricpu "github.com/nuri-ai/nuri/backends/cpu"
	"github.com/nuri-ai/nuri/kernels"
	"github.com/nuri-ai/nuri/quant"
	"github.com/nuri-ai/nuri/server"
)

// teleDevice is a CPU device that also reports telemetry, standing in for
// a GPU (no GPU on the test machine).
type teleDevice struct {
	*nuricpu.Device
	name  string
	stats backends.DeviceStats
}

func (d *teleDevice) Name() string                { return d.name }
func (d *teleDevice) Stats() backends.DeviceStats { return d.stats }

// gaugeValues flattens gauges to "name{labels}" → value.
func gaugeValues(gs []server.Gauge) map[string]float64 {
	out := map[string]float64{}
	for _, g := range gs {
		for _, s := range g.Samples {
			k := g.Name + "{"
			for i, l := range s.Labels {
				if i > 0 {
					k += ","
				}
				k += l.Name + `="` + l.Value + `"`
			}
			out[k+"}"] = s.Value
		}
	}
	return out
}

func TestServeTelemetryGauges(t *testing.T) {
	full := backends.DeviceStats{
		MemoryUsed: 3 << 30, MemoryTotal: 80 << 30, Utilization: 37, MemoryUtilization: 12,
		TemperatureC: 54, PowerW: 212.5, PowerLimitW: 700, SMClockMHz: 1980, MemClockMHz: 2619,
	}
	partial := full
	partial.PowerW, partial.PowerLimitW, partial.MemClockMHz = 0, 0, 0
	partial.Missing = []string{"power: Not Supported", "power limit: Not Supported", "memory clock: Not Supported"}
	idle := full
	idle.Utilization, idle.MemoryUtilization = 0, 0 // an idle GPU reads 0 %, which is a value, not a gap

	d := `{device="cuda:0"}`
	for _, c := range []struct {
		name  string
		stats backends.DeviceStats
		want  map[string]float64
	}{
		{"every field", full, map[string]float64{
			"nuri:device_memory_used_bytes" + d: 3 << 30, "nuri:device_memory_total_bytes" + d: 80 << 30,
			"nuri:device_utilization_ratio" + d: 0.37, "nuri:device_memory_utilization_ratio" + d: 0.12,
			"nuri:device_temperature_celsius" + d: 54, "nuri:device_power_watts" + d: 212.5,
			"nuri:device_power_limit_watts" + d: 700, "nuri:device_clock_sm_mhz" + d: 1980,
			"nuri:device_clock_memory_mhz" + d: 2619,
		}},
		{"unreadable fields left out", partial, map[string]float64{
			"nuri:device_memory_used_bytes" + d: 3 << 30, "nuri:device_memory_total_bytes" + d: 80 << 30,
			"nuri:device_utilization_ratio" + d: 0.37, "nuri:device_memory_utilization_ratio" + d: 0.12,
			"nuri:device_temperature_celsius" + d: 54, "nuri:device_clock_sm_mhz" + d: 1980,
		}},
		{"idle is zero, not missing", idle, map[string]float64{
			"nuri:device_memory_used_bytes" + d: 3 << 30, "nuri:device_memory_total_bytes" + d: 80 << 30,
			"nuri:device_utilization_ratio" + d: 0, "nuri:device_memory_utilization_ratio" + d: 0,
			"nuri:device_temperature_celsius" + d: 54, "nuri:device_power_watts" + d: 212.5,
			"nuri:device_power_limit_watts" + d: 700, "nuri:device_clock_sm_mhz" + d: 1980,
			"nuri:device_clock_memory_mhz" + d: 2619,
		}},
		{"telemetry off", backends.DeviceStats{Missing: []string{"telemetry off: built with CGO_ENABLED=0"}}, map[string]float64{}},
		{"NVML init failed", backends.DeviceStats{Missing: []string{"NVML: Driver Not Loaded"}}, map[string]float64{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := c.stats
			gs := telemetryGauges("cuda:0", &s)
			got := gaugeValues(gs)
			if len(got) != len(c.want) {
				keys := make([]string, 0, len(got))
				for k := range got {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				t.Errorf("%d gauges %v, want %d", len(got), keys, len(c.want))
			}
			for k, v := range c.want {
				if g, ok := got[k]; !ok || g != v {
					t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
				}
			}
			for _, g := range gs {
				if g.Help == "" {
					t.Errorf("%s has no help text", g.Name)
				}
			}
		})
	}
}

// TestServeDeviceGaugesLookup: the source is found through the CPU
// fallback wrapper that openDevice puts around accelerators, reads the
// device at every scrape, and is nil for a device without telemetry.
func TestServeDeviceGaugesLookup(t *testing.T) {
	cpu, err := openDevice("cpu", deviceOptions{threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer cpu.Close()
	if src := deviceGauges(cpu, zap.NewNop()); src != nil {
		t.Errorf("cpu has no telemetry, got a gauge source")
	}

	td := &teleDevice{Device: nuricpu.New(1), name: "cuda:3", stats: backends.DeviceStats{MemoryUsed: 1, MemoryTotal: 2, TemperatureC: 30}}
	wrapped := backends.WithFallback(td, nuricpu.New(1), zap.NewNop())
	defer wrapped.Close()
	src := deviceGauges(wrapped, zap.NewNop())
	if src == nil {
		t.Fatal("telemetry behind the fallback wrapper not found")
	}
	if g := gaugeValues(src.Gauges())[`nuri:device_temperature_celsius{device="cuda:3"}`]; g != 30 {
		t.Errorf("temperature = %v, want 30", g)
	}
	td.stats.TemperatureC = 71
	if g := gaugeValues(src.Gauges())[`nuri:device_temperature_celsius{device="cuda:3"}`]; g != 71 {
		t.Errorf("temperature after a change = %v, want 71 (read per scrape)", g)
	}
}

// TestServeMetricsNPUPadding serves on the NPU simulator, whose static
// shapes pad a prefill of P tokens to Buckets().Pad(P): one greedy
// completion must show exactly that padding in nuri:padded_tokens_total
// (decode steps of one token run unpadded at bucket 1), and no device
// gauges (the simulator has no telemetry).
func TestServeMetricsNPUPadding(t *testing.T) {
	dev, err := openDevice("npu:0", deviceOptions{threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	sb, ok := backends.As[backends.ShapeBucketer](dev)
	if !ok {
		t.Fatal("npu:0 has no shape buckets")
	}
	b := sb.Buckets()
	if err := dev.Close(); err != nil {
		t.Fatal(err)
	}

	base := startServe(t, "--device", "npu:0")
	client := openaiClient(base)
	comp, err := client.Completions.New(t.Context(), openai.CompletionNewParams{
		Model:       "stories260K",
		Prompt:      openai.CompletionNewParamsPromptUnion{OfString: openai.String("Once upon a time, in a small village")},
		MaxTokens:   openai.Int(8),
		Temperature: openai.Float(0),
	})
	if err != nil {
		t.Fatal(err)
	}
	p := int(comp.Usage.PromptTokens)
	want := b.Pad(p) - p
	if want == 0 {
		t.Fatalf("prompt of %d tokens is a bucket shape (%s): pick a prompt that pads", p, b)
	}
	t.Logf("prompt of %d tokens runs at %d rows (%s): %d padded", p, b.Pad(p), b, want)
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	line := "\nnuri:padded_tokens_total{model_name=\"stories260K\"} " + strconv.Itoa(want) + "\n"
	if !strings.Contains(text, line) {
		i := strings.Index(text, "nuri:padded_tokens_total{")
		t.Errorf("want %q (prompt %d tokens, %s); got %.80q", strings.TrimSpace(line), p, b, text[max(i, 0):])
	}
	if strings.Contains(text, "nuri:device_") {
		t.Errorf("device gauges from the NPU simulator, which has no telemetry")
	}
}

// TestServeKernelFormGauges: a pacing report becomes the form each kind of
// call runs, each measured pair's ratio and the rounds, under valid
// metric and label names; an empty report gives no samples; the CPU has a
// source and the NPU simulator (which does not expose its pool) none.
func TestServeKernelFormGauges(t *testing.T) {
	rep := []kernels.PaceChoice{
		{Types: []quant.Type{quant.Q4_0}, SizeClass: 5, Form: "near", Rounds: 2, Trials: []kernels.PaceTrial{
			{Form: "paced", Against: "near", Ratio: 1.25, Pairs: 6}, {Form: "far", Against: "near", Ratio: 1.0625, Pairs: 40}}},
		{Types: []quant.Type{quant.Q4_K, quant.Q6_K}, SizeClass: 2, Form: "far", Measuring: true},
	}
	gs := paceGauges(rep)
	want := map[string]float64{
		`nuri:cpu_kernel_form_info{types="Q4_0",sizes="16-32 MiB",form="near"}`:                       1,
		`nuri:cpu_kernel_form_info{types="Q4_K+Q6_K",sizes="2-4 MiB",form="far"}`:                     1,
		`nuri:cpu_kernel_form_time_ratio{types="Q4_0",sizes="16-32 MiB",form="paced",against="near"}`: 1.25,
		`nuri:cpu_kernel_form_time_ratio{types="Q4_0",sizes="16-32 MiB",form="far",against="near"}`:   1.0625,
		`nuri:cpu_kernel_form_rounds{types="Q4_0",sizes="16-32 MiB"}`:                                 2,
		`nuri:cpu_kernel_form_rounds{types="Q4_K+Q6_K",sizes="2-4 MiB"}`:                              0,
	}
	got := gaugeValues(gs)
	if len(got) != len(want) {
		t.Errorf("%d samples %v, want %d", len(got), got, len(want))
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
	name := regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	label := regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
	for _, g := range gs {
		if !name.MatchString(g.Name) || g.Help == "" {
			t.Errorf("family %q (help %q)", g.Name, g.Help)
		}
		for _, s := range g.Samples {
			for _, l := range s.Labels {
				if !label.MatchString(l.Name) {
					t.Errorf("%s: label %q", g.Name, l.Name)
				}
			}
		}
	}
	for _, g := range paceGauges(nil) {
		if len(g.Samples) != 0 {
			t.Errorf("empty report: %s has %d samples", g.Name, len(g.Samples))
		}
	}

	cpu, err := openDevice("cpu", deviceOptions{threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer cpu.Close()
	if kernelFormGauges(cpu) == nil {
		t.Error("cpu: no kernel form gauges")
	}
	npu, err := openDevice("npu:0", deviceOptions{threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer npu.Close()
	if kernelFormGauges(npu) != nil {
		t.Error("npu:0: kernel form gauges from a device that does not report its pool")
	}
	if joinGauges(nil, nil) != nil {
		t.Error("joinGauges of nothing is not nil")
	}
	a := server.GaugeFunc(func() []server.Gauge { return []server.Gauge{{Name: "a"}} })
	b := server.GaugeFunc(func() []server.Gauge { return []server.Gauge{{Name: "b"}, {Name: "c"}} })
	if gs := joinGauges(a, nil, b).Gauges(); len(gs) != 3 || gs[0].Name != "a" || gs[2].Name != "c" {
		t.Errorf("joinGauges(a, nil, b) = %v", gs)
	}
}
