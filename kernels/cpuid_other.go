//go:build !amd64

package kernels

// cpuVendor: no vendor to read on this architecture (and no near twins to
// choose).
func cpuVendor() string { return "" }
