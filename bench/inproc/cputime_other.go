//go:build !unix

package inproc

import "time"

// processCPU is unavailable here; CPU shares are then not reported.
func processCPU() (time.Duration, bool) { return 0, false }
