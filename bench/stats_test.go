package bench

import (
	"math"
	"testing"
)

func TestSummarize(t *testing.T) {
	// Expected values from numpy: np.mean, np.percentile (linear), np.std.
	cases := []struct {
		in   []float64
		want LatencyStats
	}{
		{nil, LatencyStats{}},
		{[]float64{5}, LatencyStats{N: 1, Mean: 5, Median: 5, P90: 5, P99: 5, Min: 5, Max: 5}},
		{[]float64{4, 1, 3, 2}, LatencyStats{N: 4, Mean: 2.5, Median: 2.5, P90: 3.7, P99: 3.97, Min: 1, Max: 4, Std: math.Sqrt(1.25)}},
		{[]float64{10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 1000},
			LatencyStats{N: 11, Mean: 1550.0 / 11, Median: 60, P90: 100, P99: 910, Min: 10, Max: 1000, Std: 273.045269}},
	}
	for _, tc := range cases {
		got := Summarize(tc.in)
		ok := got.N == tc.want.N
		for _, p := range [][2]float64{{got.Mean, tc.want.Mean}, {got.Median, tc.want.Median}, {got.P90, tc.want.P90},
			{got.P99, tc.want.P99}, {got.Min, tc.want.Min}, {got.Max, tc.want.Max}, {got.Std, tc.want.Std}} {
			ok = ok && math.Abs(p[0]-p[1]) <= 1e-4*math.Max(1, math.Abs(p[1]))
		}
		if !ok {
			t.Errorf("Summarize(%v) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
	in := []float64{3, 1, 2}
	Summarize(in)
	if in[0] != 3 || in[1] != 1 {
		t.Errorf("Summarize modified its input: %v", in)
	}
}

func TestMeanStd(t *testing.T) {
	m, s := MeanStd([]float64{2, 4, 4, 4, 5, 5, 7, 9})
	if m != 5 || math.Abs(s-2.13809) > 1e-4 {
		t.Errorf("MeanStd = %g ± %g, want 5 ± 2.13809 (sample std)", m, s)
	}
	if m, s := MeanStd([]float64{3}); m != 3 || s != 0 {
		t.Errorf("one sample: %g ± %g", m, s)
	}
}
