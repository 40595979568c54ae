//go:build race

package kernels

// raceEnabled trims the per-type sweeps under the race detector, which
// slows the kernels tenfold: the pool's concurrency, not every weight
// type, is what -race is for (the full sweeps run without it).
const raceEnabled = true
