//go:build race

package engine

// raceEnabled scales the real-model tests down under the race detector,
// which slows the model's kernels tenfold or more; the scheduler's
// concurrency is what -race is for.
const raceEnabled = true
