package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/nuri-ai/nuri/quant"
)

// TestGELUMul checks the table against gelu computed in float64 (within
// the fp16 rounding of input and output: 2⁻¹⁰ relative each, plus the
// input's effect through the slope, at most 1.13) and the edges.
func TestGELUMul(t *testing.T) {
	gelu := func(z float64) float64 {
		return 0.5 * z * (1 + math.Tanh(math.Sqrt(2/math.Pi)*z*(1+0.044715*z*z)))
	}
	var zs []float32
	for z := float32(-12); z <= 12; z += 0.01 {
		zs = append(zs, z)
	}
	zs = append(zs, 0, -10, 10, float32(math.Copysign(0, -1)), 1e-8, -1e-8)
	ups := make([]float32, len(zs))
	for i := range ups {
		ups[i] = 1 + float32(i%7)*0.25
	}
	got := make([]float32, len(zs))
	GELUMul(got, zs, ups)
	for i, z := range zs {
		want := gelu(float64(z)) * float64(ups[i])
		switch {
		case z <= -10:
			want = 0
		case z >= 10:
			want = float64(z) * float64(ups[i])
		}
		tol := 3e-3*math.Abs(want) + 2*float64(ups[i])*math.Abs(float64(z))*1e-3 + 1e-7
		if d := math.Abs(float64(got[i]) - want); d > tol || math.IsNaN(float64(got[i])) {
			t.Errorf("gelu(%g)·%g = %g, want %g (±%g)", z, ups[i], got[i], want, tol)
		}
	}
	// The table's own rounding: each entry is an fp16 value.
	for _, z := range []float32{-3, -0.5, 0.3, 2.7} {
		g := []float32{0}
		GELUMul(g, []float32{z}, []float32{1})
		if quant.FP16ToFP32(quant.FP32ToFP16(g[0])) != g[0] {
			t.Errorf("gelu(%g) = %g is not an fp16 value", z, g[0])
		}
	}
}

// TestVecGELUMul: the vector form gives the reference's bits, on every
// kernel set, for lengths around its run of 256 and gates across ±10.
func TestVecGELUMul(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, ks := range []KernelSet{KernelsBest, KernelsAVX2, KernelsGeneric} {
		vec := vecOpsFor(ks)
		for _, n := range []int{1, 7, 8, 9, 15, 16, 17, 255, 256, 257, 1000, 6912} {
			gate, up := make([]float32, n), make([]float32, n)
			for i := range gate {
				gate[i] = float32(rng.NormFloat64() * 6)
				up[i] = float32(rng.NormFloat64())
			}
			// The table's edges, values the fp16 rounding takes past
			// them, infinities, NaN, zeros, subnormals.
			special := []float32{-10, 10, math.Nextafter32(-10, 0), math.Nextafter32(10, 0), -10.001, 9.999, 70000, -70000,
				float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 0, float32(math.Copysign(0, -1)), 1e-40, -1e-8}
			for i := 0; i < n; i += 1 + i%5 {
				gate[i] = special[i%len(special)]
			}
			want, got := make([]float32, n), make([]float32, n)
			GELUMul(want, gate, up)
			vec.GELUMul(got, gate, up)
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !(got[i] != got[i] && want[i] != want[i]) {
					t.Fatalf("%v, n=%d: gelu(%g)·%g = %g, want %g", ks, n, gate[i], up[i], got[i], want[i])
				}
			}
		}
	}
}

// TestVecGELU: GELU is GELUMul with every up 1, bit for bit, across the
// table's ±10 edges.
func TestVecGELU(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, ks := range []KernelSet{KernelsBest, KernelsAVX2, KernelsGeneric} {
		vec := vecOpsFor(ks)
		for _, n := range []int{1, 8, 9, 255, 256, 257, 1000} {
			x := make([]float32, n)
			for i := range x {
				x[i] = float32(rng.NormFloat64() * 6)
			}
			x[0], x[n/2] = -10, 10
			ones := make([]float32, n)
			for i := range ones {
				ones[i] = 1
			}
			want, got := make([]float32, n), make([]float32, n)
			GELUMul(want, x, ones)
			vec.GELU(got, x)
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%v, n=%d: gelu(%g) = %g, want %g", ks, n, x[i], got[i], want[i])
				}
			}
		}
	}
}

// BenchmarkVecGELUMul: a gemma-4-e2b decode step's widest FFN row (12288).
func BenchmarkVecGELUMul(b *testing.B) {
	n := 12288
	gate, up, dst := make([]float32, n), make([]float32, n), make([]float32, n)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range gate {
		gate[i], up[i] = float32(rng.NormFloat64()*3), float32(rng.NormFloat64())
	}
	for _, ks := range []KernelSet{KernelsBest, KernelsGeneric} {
		vec := vecOpsFor(ks)
		b.Run(ks.String(), func(b *testing.B) {
			b.SetBytes(int64(12 * n))
			for b.Loop() {
				vec.GELUMul(dst, gate, up)
			}
		})
	}
}
