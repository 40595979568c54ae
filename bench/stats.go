package bench

import (
	"math"
	"sort"
)

// LatencyStats summarises a sample of latencies in milliseconds. Percentiles
// interpolate linearly between order statistics (numpy's default, which is
// what vLLM's benchmark reports); Std is the population standard deviation.
type LatencyStats struct {
	N      int     `json:"n"`
	Mean   float64 `json:"mean"`
	Median float64 `json:"median"`
	P90    float64 `json:"p90"`
	P99    float64 `json:"p99"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	Std    float64 `json:"std"`
}

// Summarize computes LatencyStats of xs; an empty sample gives all zeros.
// xs is not modified.
func Summarize(xs []float64) LatencyStats {
	if len(xs) == 0 {
		return LatencyStats{}
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	var sum float64
	for _, x := range s {
		sum += x
	}
	mean := sum / float64(len(s))
	var sq float64
	for _, x := range s {
		sq += (x - mean) * (x - mean)
	}
	return LatencyStats{
		N:      len(s),
		Mean:   mean,
		Median: PercentileSorted(s, 50),
		P90:    PercentileSorted(s, 90),
		P99:    PercentileSorted(s, 99),
		Min:    s[0],
		Max:    s[len(s)-1],
		Std:    math.Sqrt(sq / float64(len(s))),
	}
}

// PercentileSorted returns the p-th percentile (0..100) of an ascending
// sample by linear interpolation; 0 for an empty sample.
func PercentileSorted(s []float64, p float64) float64 {
	if len(s) == 0 {
		return 0
	}
	if p <= 0 {
		return s[0]
	}
	if p >= 100 {
		return s[len(s)-1]
	}
	rank := p / 100 * float64(len(s)-1)
	lo := int(math.Floor(rank))
	hi := lo + 1
	if hi >= len(s) {
		return s[lo]
	}
	frac := rank - float64(lo)
	return s[lo] + (s[hi]-s[lo])*frac
}

// MeanStd returns the mean and sample standard deviation (n-1), the form
// llama-bench prints as "t/s ± stddev".
func MeanStd(xs []float64) (mean, std float64) {
	if len(xs) == 0 {
		return 0, 0
	}
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	if len(xs) < 2 {
		return mean, 0
	}
	var sq float64
	for _, x := range xs {
		sq += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(sq / float64(len(xs)-1))
}
