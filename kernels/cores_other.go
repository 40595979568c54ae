//go:build !linux && !darwin

package kernels

// physicalCores is unknown outside Linux and macOS; DefaultThreads then uses
// GOMAXPROCS.
func physicalCores() int { return 0 }
