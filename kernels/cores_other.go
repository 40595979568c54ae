//go:build !linux

package kernels

// physicalCores is unknown outside Linux; DefaultThreads then uses
// GOMAXPROCS.
func physicalCores() int { return 0 }
