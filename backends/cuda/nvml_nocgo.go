//go:build !cgo || !linux

package cuda

import "github.com/nuri-ai/nuri/backends"

// telemetry is off in builds without cgo: go-nvml needs it.
type telemetry struct{}

// telemetryOffReason is why telemetry is off in this build.
const telemetryOffReason = "telemetry off: built with CGO_ENABLED=0 (NVML through go-nvml needs cgo)"

func openTelemetry(string) (*telemetry, string) { return nil, telemetryOffReason }

func (t *telemetry) stats() backends.DeviceStats {
	return backends.DeviceStats{Missing: []string{telemetryOffReason}}
}

func (t *telemetry) close() {}
