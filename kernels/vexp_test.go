package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestExpAccuracy: the vector exponential is within 2 ulp of the correctly
// rounded exp over the range that matters (results between the smallest
// normal float32 and overflow), exact at 0, and handles the edges.
func TestExpAccuracy(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	worst := 0.0
	for range 200000 {
		x := float32(r.Float64()*(88.7+87.3) - 87.3)
		got := exp32(x)
		want := math.Exp(float64(x))
		ulp := float64(math.Nextafter32(float32(want), float32(math.Inf(1)))) - float64(float32(want))
		if e := math.Abs(float64(got)-want) / ulp; e > worst {
			worst = e
		}
	}
	if worst > 2 {
		t.Errorf("worst error %.2f ulp, want ≤ 2", worst)
	}
	t.Logf("worst error %.2f ulp", worst)
	for _, c := range []struct{ x, want float32 }{
		{0, 1}, {float32(math.Inf(-1)), 0}, {-200, 0}, {200, float32(math.Inf(1))}, {float32(math.Inf(1)), float32(math.Inf(1))},
	} {
		if got := exp32(c.x); got != c.want {
			t.Errorf("exp32(%g) = %g, want %g", c.x, got, c.want)
		}
	}
	if got := exp32(float32(math.NaN())); got == got {
		t.Errorf("exp32(NaN) = %g", got)
	}
}

// TestVecExpSiLUMatchReference: the assembly gives the Go reference's bits
// for every length (tails included), edge values and aliasing.
func TestVecExpSiLUMatchReference(t *testing.T) {
	fast, ref := VecOps{fast: hasVecAsm}, VecOps{}
	r := rand.New(rand.NewPCG(33, 34))
	special := []float32{0, float32(math.Copysign(0, -1)), 89, -104, 88.72, -87.34, 1e-30, -1e-30, 150, -150,
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 3.4e38, -3.4e38}
	for _, n := range []int{1, 15, 16, 17, 33, 100, 1000} {
		x := make([]float32, n)
		u := make([]float32, n)
		for i := range x {
			x[i] = float32(r.NormFloat64() * 8)
			u[i] = float32(r.NormFloat64())
			if r.IntN(10) == 0 {
				x[i] = special[r.IntN(len(special))]
			}
		}
		same := func(name string, got, want []float32) {
			t.Helper()
			for i := range want {
				g, w := got[i], want[i]
				if math.Float32bits(g) != math.Float32bits(w) && !(g != g && w != w) {
					t.Fatalf("%s n=%d: [%d] x=%g: %g, reference %g", name, n, i, x[i], g, w)
				}
			}
		}
		g1, g2 := make([]float32, n), make([]float32, n)
		guarded := make([]float32, n+16)
		for i := range guarded {
			guarded[i] = 42
		}
		fast.Exp(guarded[:n], x)
		for i := n; i < len(guarded); i++ {
			if guarded[i] != 42 {
				t.Fatalf("Exp n=%d wrote past its output at %d", n, i)
			}
		}
		fast.Exp(g1, x)
		ref.Exp(g2, x)
		same("Exp", g1, g2)
		fast.SiLUMul(g1, x, u)
		ref.SiLUMul(g2, x, u)
		same("SiLUMul", g1, g2)
		// In place, output aliasing the gate.
		a := append([]float32(nil), x...)
		fast.SiLUMul(a, a, u)
		same("SiLUMul in place", a, g2)
		for i := range x {
			if want := float64(x[i]) / (1 + math.Exp(-float64(x[i]))) * float64(u[i]); !math.IsNaN(want) && math.Abs(want) < math.MaxFloat32 &&
				math.Abs(float64(g1[i])-want) > 1e-6*math.Abs(want)+1e-30 {
				t.Fatalf("SiLUMul(%g, %g) = %g, want %g", x[i], u[i], g1[i], want)
			}
		}
	}
}
