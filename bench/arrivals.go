package bench

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// ArrivalOffsets returns when each of n requests is sent, relative to the
// start, for an open-loop load of rate requests per second. Gaps between
// arrivals follow a gamma distribution with shape burstiness and mean 1/rate:
// burstiness 1 is a Poisson process (exponential gaps), below 1 is burstier,
// above 1 is more regular. The first request goes at time zero, and the
// sequence depends only on the seed.
func ArrivalOffsets(n int, rate, burstiness float64, seed uint64) ([]time.Duration, error) {
	if !(rate > 0) || math.IsInf(rate, 0) {
		return nil, fmt.Errorf("request rate %g must be positive and finite", rate)
	}
	if !(burstiness > 0) || math.IsInf(burstiness, 0) {
		return nil, fmt.Errorf("burstiness %g must be positive and finite", burstiness)
	}
	rng := rand.New(rand.NewPCG(seed, 0x61727276)) // "arrv"
	scale := 1 / (rate * burstiness)               // gamma mean = shape·scale = 1/rate
	out := make([]time.Duration, n)
	var t float64
	for i := 1; i < n; i++ {
		t += gamma(rng, burstiness) * scale
		out[i] = time.Duration(t * float64(time.Second))
	}
	return out, nil
}

// gamma draws from Gamma(shape, 1) by Marsaglia and Tsang's method; shapes
// below one use the boost Gamma(a) = Gamma(a+1)·U^(1/a).
func gamma(rng *rand.Rand, shape float64) float64 {
	if shape < 1 {
		u := rng.Float64()
		for u == 0 {
			u = rng.Float64()
		}
		return gamma(rng, shape+1) * math.Pow(u, 1/shape)
	}
	d := shape - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := rng.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := rng.Float64()
		if u < 1-0.0331*x*x*x*x {
			return d * v
		}
		if u > 0 && math.Log(u) < 0.5*x*x+d*(1-v+math.Log(v)) {
			return d * v
		}
	}
}
