//go:build cgo && linux

package cuda

import (
	"fmt"

	"github.com/NVIDIA/go-nvml/pkg/nvml"

	"github.com/nuri-ai/nuri/backends"
)

// telemetry reads one GPU's state through NVML (go-nvml loads
// libnvidia-ml.so.1 with dlopen through cgo).
type telemetry struct {
	dev nvml.Device
}

// openTelemetry finds the NVML device with the given PCI bus id; on
// failure it returns the reason telemetry is off.
func openTelemetry(pciBusID string) (*telemetry, string) {
	if r := nvml.Init(); r != nvml.SUCCESS {
		return nil, "NVML: " + nvml.ErrorString(r)
	}
	d, r := nvml.DeviceGetHandleByPciBusId(pciBusID)
	if r != nvml.SUCCESS {
		_ = nvml.Shutdown()
		return nil, fmt.Sprintf("NVML: device %s: %s", pciBusID, nvml.ErrorString(r))
	}
	return &telemetry{dev: d}, ""
}

// stats reads every field it can; each failure is named in Missing.
func (t *telemetry) stats() backends.DeviceStats {
	var s backends.DeviceStats
	miss := func(what string, r nvml.Return) {
		s.Missing = append(s.Missing, what+": "+nvml.ErrorString(r))
	}
	if m, r := t.dev.GetMemoryInfo(); r == nvml.SUCCESS {
		s.MemoryUsed, s.MemoryTotal = m.Used, m.Total
	} else {
		miss("memory", r)
	}
	if u, r := t.dev.GetUtilizationRates(); r == nvml.SUCCESS {
		s.Utilization, s.MemoryUtilization = float64(u.Gpu), float64(u.Memory)
	} else {
		miss("utilization", r)
	}
	if v, r := t.dev.GetTemperature(nvml.TEMPERATURE_GPU); r == nvml.SUCCESS {
		s.TemperatureC = float64(v)
	} else {
		miss("temperature", r)
	}
	if v, r := t.dev.GetPowerUsage(); r == nvml.SUCCESS {
		s.PowerW = float64(v) / 1000
	} else {
		miss("power", r)
	}
	if v, r := t.dev.GetEnforcedPowerLimit(); r == nvml.SUCCESS {
		s.PowerLimitW = float64(v) / 1000
	} else {
		miss("power limit", r)
	}
	if v, r := t.dev.GetClockInfo(nvml.CLOCK_SM); r == nvml.SUCCESS {
		s.SMClockMHz = v
	} else {
		miss("SM clock", r)
	}
	if v, r := t.dev.GetClockInfo(nvml.CLOCK_MEM); r == nvml.SUCCESS {
		s.MemClockMHz = v
	} else {
		miss("memory clock", r)
	}
	return s
}

func (t *telemetry) close() { _ = nvml.Shutdown() }
