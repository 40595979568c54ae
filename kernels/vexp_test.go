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
	ref := VecOps{}
	for _, fast := range vecVariants(t) {
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
						t.Fatalf("%s %s n=%d: [%d] x=%g: %g, reference %g", fast.Name(), name, n, i, x[i], g, w)
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
					t.Fatalf("%s Exp n=%d wrote past its output at %d", fast.Name(), n, i)
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
					t.Fatalf("%s SiLUMul(%g, %g) = %g, want %g", fast.Name(), x[i], u[i], g1[i], want)
				}
			}
		}
	}
}

// TestExpScaleEdges: every float32 in −104..−87 and 88..89, where e·2ⁿ
// leaves float32's normal range (n down to −150: denormal results, which
// the AVX2 loop reaches by two multiplies) or nears overflow (n = 128),
// gives the reference's bits, through Exp and through SiLUMul's exp(−g).
func TestExpScaleEdges(t *testing.T) {
	var x []float32
	for _, span := range [][2]float32{{-104, -87}, {88, 89}} {
		for v := span[0]; v <= span[1]; v = math.Nextafter32(v, span[1]+1) {
			x = append(x, v)
		}
	}
	want := make([]float32, len(x))
	VecOps{}.Exp(want, x)
	g := make([]float32, len(x))
	u := make([]float32, len(x))
	for i, v := range x {
		g[i], u[i] = -v, 1.5
	}
	wantS := make([]float32, len(x))
	VecOps{}.SiLUMul(wantS, g, u)
	denormal := 0
	for _, w := range want {
		if w != 0 && math.Abs(float64(w)) < 0x1p-126 {
			denormal++
		}
	}
	if denormal == 0 {
		t.Fatal("no denormal result: the inputs miss the range they are for")
	}
	for _, o := range vecVariants(t) {
		got := make([]float32, len(x))
		o.Exp(got, x)
		for i := range x {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%s: Exp(%v) = %v (%#08x), reference %v (%#08x)", o.Name(), x[i], got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
			}
		}
		o.SiLUMul(got, g, u)
		for i := range x {
			if math.Float32bits(got[i]) != math.Float32bits(wantS[i]) {
				t.Fatalf("%s: SiLUMul(%v, 1.5) = %v, reference %v", o.Name(), g[i], got[i], wantS[i])
			}
		}
	}
}
