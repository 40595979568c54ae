package main

import (
	"strings"

	"go.uber.org/zap"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/kernels"
	"github.com/nuri-ai/nuri/server"
)

// telemetryField is one DeviceStats field exported as a /metrics gauge.
// what is the name the device uses for the field in DeviceStats.Missing
// ("power: not supported"), so a field it could not read is left out
// instead of being reported as a misleading zero.
type telemetryField struct {
	name, help, what string
	value            func(s *backends.DeviceStats) float64
}

var telemetryFields = []telemetryField{
	{"nuri:device_memory_used_bytes", "Device memory in use, in bytes.", "memory",
		func(s *backends.DeviceStats) float64 { return float64(s.MemoryUsed) }},
	{"nuri:device_memory_total_bytes", "Device memory in total, in bytes.", "memory",
		func(s *backends.DeviceStats) float64 { return float64(s.MemoryTotal) }},
	{"nuri:device_utilization_ratio", "Fraction of the last sample period a kernel was running on the device (0-1).", "utilization",
		func(s *backends.DeviceStats) float64 { return s.Utilization / 100 }},
	{"nuri:device_memory_utilization_ratio", "Fraction of the last sample period device memory was read or written (0-1).", "utilization",
		func(s *backends.DeviceStats) float64 { return s.MemoryUtilization / 100 }},
	{"nuri:device_temperature_celsius", "Device temperature in degrees Celsius.", "temperature",
		func(s *backends.DeviceStats) float64 { return s.TemperatureC }},
	{"nuri:device_power_watts", "Device power draw in watts.", "power",
		func(s *backends.DeviceStats) float64 { return s.PowerW }},
	{"nuri:device_power_limit_watts", "Enforced device power limit in watts.", "power limit",
		func(s *backends.DeviceStats) float64 { return s.PowerLimitW }},
	{"nuri:device_clock_sm_mhz", "Streaming-multiprocessor clock in MHz.", "SM clock",
		func(s *backends.DeviceStats) float64 { return float64(s.SMClockMHz) }},
	{"nuri:device_clock_memory_mhz", "Memory clock in MHz.", "memory clock",
		func(s *backends.DeviceStats) float64 { return float64(s.MemClockMHz) }},
}

// deviceGauges returns the /metrics gauges of dev's telemetry, or nil when
// the device has none (cpu, npu). The reading is taken at every scrape.
func deviceGauges(dev backends.Device, log *zap.Logger) server.GaugeSource {
	tel, ok := backends.As[backends.Telemetry](dev)
	if !ok {
		return nil
	}
	name := dev.Name()
	if s := tel.Stats(); len(s.Missing) > 0 {
		log.Warn("device telemetry incomplete; unreadable fields are left out of /metrics",
			zap.String("device", name), zap.Strings("missing", s.Missing))
	}
	return server.GaugeFunc(func() []server.Gauge {
		s := tel.Stats()
		return telemetryGauges(name, &s)
	})
}

// telemetryGauges turns one reading into gauges labelled device=name,
// leaving out the fields the device could not read.
func telemetryGauges(name string, s *backends.DeviceStats) []server.Gauge {
	missing := map[string]bool{}
	unnamed := false // a Missing entry naming no field: the reading failed as a whole
	for _, m := range s.Missing {
		named := false
		for _, f := range telemetryFields {
			if strings.HasPrefix(m, f.what+":") {
				missing[f.what], named = true, true
			}
		}
		unnamed = unnamed || !named
	}
	if unnamed && allZero(s) {
		return nil // telemetry off ("built with CGO_ENABLED=0", "NVML: ..."): no numbers at all
	}
	label := []server.Label{{Name: "device", Value: name}}
	var out []server.Gauge
	for _, f := range telemetryFields {
		if missing[f.what] {
			continue
		}
		out = append(out, server.Gauge{Name: f.name, Help: f.help,
			Samples: []server.GaugeSample{{Labels: label, Value: f.value(s)}}})
	}
	return out
}

func allZero(s *backends.DeviceStats) bool {
	for _, f := range telemetryFields {
		if f.value(s) != 0 {
			return false
		}
	}
	return true
}

// paceReporter is a device whose single-row matmuls choose among kernel
// forms at run time (the CPU: kernels.Pool.PacingReport).
type paceReporter interface {
	PacingReport() []kernels.PaceChoice
}

// kernelFormGauges returns the /metrics gauges of what dev's pacer has
// chosen so far, or nil for a device without one. Each scrape takes the
// pool's lock once, between two of the engine's ops.
func kernelFormGauges(dev backends.Device) server.GaugeSource {
	pr, ok := backends.As[paceReporter](dev)
	if !ok {
		return nil
	}
	return server.GaugeFunc(func() []server.Gauge { return paceGauges(pr.PacingReport()) })
}

// paceGauges turns a pacing report into three families: the form each kind
// of single-row call runs (an info gauge, 1), each measured pair of forms'
// last time ratio, and the measurements so far. A report with no entries
// (fixed forms, or no call yet) gives families without samples, which the
// server leaves out.
func paceGauges(r []kernels.PaceChoice) []server.Gauge {
	form := server.Gauge{Name: "nuri:cpu_kernel_form_info",
		Help: "The form of the single-row stream kernels a kind of CPU matmul call runs now (far, near or paced), chosen by timing them on the model's calls; the value is 1."}
	ratio := server.Gauge{Name: "nuri:cpu_kernel_form_time_ratio",
		Help: "The last measurement of a pair of kernel forms for a kind of CPU matmul call: the median time of form over against."}
	rounds := server.Gauge{Name: "nuri:cpu_kernel_form_rounds",
		Help: "How many measurements of its kernel forms a kind of CPU matmul call has had."}
	for _, c := range r {
		types := make([]string, len(c.Types))
		for i, t := range c.Types {
			types[i] = t.String()
		}
		kind := []server.Label{{Name: "types", Value: strings.Join(types, "+")}, {Name: "sizes", Value: kernels.SizeClassLabel(c.SizeClass)}}
		form.Samples = append(form.Samples, server.GaugeSample{Labels: append(kind[:2:2], server.Label{Name: "form", Value: c.Form}), Value: 1})
		rounds.Samples = append(rounds.Samples, server.GaugeSample{Labels: kind, Value: float64(c.Rounds)})
		for _, tr := range c.Trials {
			ratio.Samples = append(ratio.Samples, server.GaugeSample{Value: tr.Ratio,
				Labels: append(kind[:2:2], server.Label{Name: "form", Value: tr.Form}, server.Label{Name: "against", Value: tr.Against})})
		}
	}
	return []server.Gauge{form, ratio, rounds}
}

// joinGauges is one source reading each of srcs in turn (nil ones left
// out), or nil where none is left.
func joinGauges(srcs ...server.GaugeSource) server.GaugeSource {
	var live []server.GaugeSource
	for _, s := range srcs {
		if s != nil {
			live = append(live, s)
		}
	}
	switch len(live) {
	case 0:
		return nil
	case 1:
		return live[0]
	}
	return server.GaugeFunc(func() []server.Gauge {
		var out []server.Gauge
		for _, s := range live {
			out = append(out, s.Gauges()...)
		}
		return out
	})
}
