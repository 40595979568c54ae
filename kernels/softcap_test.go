package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSoftCap: c·tanh(x/c) within 2e-7·c of float64 tanh (the exponential's
// 1 ulp and the subtraction from 1 near 0), on every kernel set, across
// the range where tanh saturates, and NaN kept.
func TestSoftCap(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, ks := range []KernelSet{KernelsBest, KernelsAVX2, KernelsGeneric} {
		vec := vecOpsFor(ks)
		for _, c := range []float32{1, 30, 50} {
			x := make([]float32, 1000)
			for i := range x {
				x[i] = float32(rng.NormFloat64()) * c * 3
			}
			x[0], x[1], x[2], x[3] = 0, 1e-30, -1e-30, 1e6
			want := make([]float64, len(x))
			for i, v := range x {
				want[i] = float64(c) * math.Tanh(float64(v)/float64(c))
			}
			vec.SoftCap(x, c)
			for i, v := range x {
				if d := math.Abs(float64(v) - want[i]); d > 2e-7*float64(c) || math.IsNaN(float64(v)) {
					t.Fatalf("%v, cap %g: value %d: %g, want %g", ks, c, i, v, want[i])
				}
			}
		}
		nan := []float32{float32(math.NaN())}
		vec.SoftCap(nan, 5)
		if !math.IsNaN(float64(nan[0])) {
			t.Errorf("%v: NaN capped to %g", ks, nan[0])
		}
	}
}

// BenchmarkSoftCap caps a gemma-2 vocabulary's logits (256000 values).
//
//	go test -run '^$' -bench SoftCap ./kernels
func BenchmarkSoftCap(b *testing.B) {
	rng := rand.New(rand.NewPCG(9, 9))
	x := make([]float32, 256000)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * 10)
	}
	vec := vecOpsFor(KernelsBest)
	b.ResetTimer()
	for range b.N {
		vec.SoftCap(x, 30)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(x)), "ns/value")
}
