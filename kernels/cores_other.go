//go:build !linux && !darwin && !windows

package kernels

// physicalCores is unknown outside Linux, macOS and Windows; DefaultThreads then uses
// GOMAXPROCS.
func physicalCores() int { return 0 }
