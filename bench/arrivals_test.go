package bench

import (
	"math"
	"testing"
	"time"
)

func TestArrivalOffsets(t *testing.T) {
	const n, rate = 20000, 50.0
	for _, shape := range []float64{0.5, 1, 4} {
		offs, err := ArrivalOffsets(n, rate, shape, 7)
		if err != nil {
			t.Fatal(err)
		}
		if offs[0] != 0 {
			t.Errorf("first arrival at %v, want 0", offs[0])
		}
		var gaps []float64
		for i := 1; i < n; i++ {
			if offs[i] < offs[i-1] {
				t.Fatalf("arrivals not monotonic at %d", i)
			}
			gaps = append(gaps, (offs[i] - offs[i-1]).Seconds())
		}
		mean, std := MeanStd(gaps)
		// Gamma(k, θ) gaps: mean 1/rate, coefficient of variation 1/√k. With
		// 20000 samples both are within a few percent; 6% leaves room.
		if math.Abs(mean*rate-1) > 0.06 {
			t.Errorf("shape %g: mean gap %g s, want %g", shape, mean, 1/rate)
		}
		if cv, want := std/mean, 1/math.Sqrt(shape); math.Abs(cv/want-1) > 0.06 {
			t.Errorf("shape %g: CV %g, want %g", shape, cv, want)
		}
	}
	a, _ := ArrivalOffsets(50, 3, 1, 11)
	b, _ := ArrivalOffsets(50, 3, 1, 11)
	c, _ := ArrivalOffsets(50, 3, 1, 12)
	same, differ := true, false
	for i := range a {
		same = same && a[i] == b[i]
		differ = differ || a[i] != c[i]
	}
	if !same || !differ {
		t.Errorf("arrivals must depend on the seed and only on it (same %v, differ %v)", same, differ)
	}
}

func TestArrivalOffsetsErrors(t *testing.T) {
	for _, tc := range [][2]float64{{0, 1}, {-1, 1}, {math.Inf(1), 1}, {1, 0}, {1, math.NaN()}} {
		if _, err := ArrivalOffsets(3, tc[0], tc[1], 1); err == nil {
			t.Errorf("rate %g burstiness %g: no error", tc[0], tc[1])
		}
	}
	if offs, err := ArrivalOffsets(1, 1, 1, 1); err != nil || len(offs) != 1 || offs[0] != time.Duration(0) {
		t.Errorf("one request: %v %v", offs, err)
	}
}
