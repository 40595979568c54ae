package quant

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"
)

// allTypes are the types Quantize and Dequantize support.
var allTypes = []Type{F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K, IQ4_NL, IQ4_XS}

// awkwardInputs are rows of 512 elements (two super-blocks) that stress the
// scale searches: nothing, one spike, values near fp16's underflow, a
// negative extreme, a constant, a ramp and ordinary Gaussian weights.
func awkwardInputs() map[string][]float32 {
	r := rand.New(rand.NewPCG(7, 11))
	gauss := func(scale float64) []float32 {
		x := make([]float32, 512)
		for i := range x {
			x[i] = float32(r.NormFloat64() * scale)
		}
		return x
	}
	in := map[string][]float32{"zeros": make([]float32, 512)}
	in["gaussian"] = gauss(0.02)
	outlier := gauss(0.01)
	outlier[77] = 50
	in["outlier"] = outlier
	in["tiny"] = gauss(1e-6)
	in["subnormal"] = gauss(1e-40)
	neg := gauss(0.5)
	for i := 0; i < len(neg); i += 37 {
		neg[i] = -4
	}
	in["negative max"] = neg
	constant := make([]float32, 512)
	for i := range constant {
		constant[i] = 0.3
	}
	in["constant"] = constant
	ramp := make([]float32, 512)
	for i := range ramp {
		ramp[i] = float32(i-256) / 64
	}
	in["ramp"] = ramp
	return in
}

// roundTripBound bounds |Dequantize(Quantize(x)) - x| per element by
// rel·(max |x| of its block) + floor. For block size 1 (F16, BF16) the
// "block" is the element itself.
//
// rel: for the 32-element types it follows from the format: half a step,
// or a whole step for the clamped extreme of Q4_0/Q5_0 (d = max/-8 can
// only reach +7d), plus 2^-11 for the fp16 rounding of d (and m). The
// K-quants fit their scales by weighted least squares, so no half-step
// bound exists; theirs are the worst measured over awkwardInputs with ~30%
// margin. floor: fp16 scales underflow below 2^-24, so a block whose scale
// is that small loses up to (largest scale·quant product)·2^-24.
var roundTripBound = map[Type]struct{ rel, floor float64 }{
	F32:  {0, 0},
	F16:  {0x1p-11, 0x1p-25}, // unit roundoff; fp16 subnormal half-step
	BF16: {0x1p-8, 0x1p-134}, // 8-bit significand; half the bf16 subnormal step
	Q4_0: {1.0/8 + 0x1p-11, 8 * 0x1p-24},
	Q4_1: {2.0/30 + 2*0x1p-11, 16 * 0x1p-24},
	Q5_0: {1.0/16 + 0x1p-11, 16 * 0x1p-24},
	Q5_1: {2.0/62 + 2*0x1p-11, 32 * 0x1p-24},
	Q8_0: {1.0/254 + 0x1p-11, 127 * 0x1p-24},
	Q8_1: {1.0/254 + 0x1p-11, 127 * 0x1p-24},
	Q8_K: {1.0/254 + 1e-6, 4e-37},            // f32 scale; -127/max overflows below 127/MaxFloat32
	Q2_K: {0.36, (15*3 + 15*15) * 0x1p-24},   // measured 0.274
	Q3_K: {0.17, 32 * 4 * 0x1p-24},           // measured 0.128
	Q4_K: {0.08, (63*15 + 63*63) * 0x1p-24},  // measured 0.059
	Q5_K: {0.042, (63*31 + 63*63) * 0x1p-24}, // measured 0.032
	Q6_K: {0.021, 128 * 32 * 0x1p-24},        // measured 0.0161
	// The IQ4 types fit their scales like the K-quants; IQ4_NL's largest
	// level is 127, IQ4_XS's group scales reach 32 steps of d.
	IQ4_NL: {0.11, 127 * 0x1p-24},       // measured 0.0858
	IQ4_XS: {0.094, 32 * 127 * 0x1p-24}, // measured 0.0710
}

// worstExcess returns the largest |got-x| / (rel·amax + floor) over x's
// blocks of size bs: above 1 means the bound is broken.
func worstExcess(x, got []float32, bs int, rel, floor float64) float64 {
	worst := 0.0
	for b := 0; b < len(x); b += bs {
		amax := 0.0
		for _, v := range x[b : b+bs] {
			amax = max(amax, math.Abs(float64(v)))
		}
		lim := rel*amax + floor
		for i := b; i < b+bs; i++ {
			e := math.Abs(float64(got[i]) - float64(x[i]))
			if e == 0 {
				continue
			}
			if lim == 0 {
				return math.Inf(1)
			}
			worst = max(worst, e/lim)
		}
	}
	return worst
}

func TestQuantizeRoundTripAwkward(t *testing.T) {
	for _, typ := range allTypes {
		for name, x := range awkwardInputs() {
			n, err := typ.RowBytes(len(x))
			if err != nil {
				t.Fatal(err)
			}
			q1, q2 := make([]byte, n), make([]byte, n)
			if err := Quantize(typ, x, q1); err != nil {
				t.Fatalf("%v %s: %v", typ, name, err)
			}
			if err := Quantize(typ, x, q2); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(q1, q2) {
				t.Errorf("%v %s: Quantize is not deterministic", typ, name)
			}
			got := make([]float32, len(x))
			if err := Dequantize(typ, q1, got); err != nil {
				t.Fatalf("%v %s: %v", typ, name, err)
			}
			for i, v := range got {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					t.Fatalf("%v %s: element %d dequantizes to %v", typ, name, i, v)
				}
			}
			if name == "zeros" {
				for i, v := range got {
					if v != 0 {
						t.Fatalf("%v: zero input dequantizes to %v at %d", typ, v, i)
					}
				}
			}
			b, ok := roundTripBound[typ]
			if !ok {
				t.Fatalf("no bound for %v", typ)
			}
			if r := worstExcess(x, got, typ.BlockSize(), b.rel, b.floor); r > 1 {
				t.Errorf("%v %s: error reaches %.3g× the bound %.3g·amax + %.3g", typ, name, r, b.rel, b.floor)
			}
		}
	}
}

// TestQuantizeRejectsBadSizes: wrong lengths and types are errors, not panics.
func TestQuantizeRejectsBadSizes(t *testing.T) {
	x := make([]float32, 256)
	cases := []struct {
		name string
		err  error
	}{
		{"short dst", Quantize(Q4_0, x, make([]byte, 10))},
		{"long dst", Quantize(Q4_K, x, make([]byte, 145))},
		{"partial block", Quantize(Q4_K, x[:100], make([]byte, 144))},
		{"unsupported type", Quantize(TQ1_0, x, make([]byte, 54))},
		{"unknown type", Quantize(Type(99), x, make([]byte, 256))},
		{"dequantize short src", Dequantize(Q8_0, make([]byte, 33), make([]float32, 32))},
		{"dequantize partial block", Dequantize(Q6_K, make([]byte, 210), make([]float32, 200))},
		{"activation type", QuantizeActivations(Q4_0, x, make([]byte, 144))},
		{"activation short dst", QuantizeActivations(Q8_1, x, make([]byte, 10))},
	}
	for _, c := range cases {
		if c.err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
}

func TestNearestIntRoundsHalfToEven(t *testing.T) {
	for _, c := range []struct {
		in   float32
		want int32
	}{
		{0, 0}, {0.5, 0}, {1.5, 2}, {2.5, 2}, {-0.5, 0}, {-1.5, -2}, {-2.5, -2},
		{0.49999997, 0}, {3.7, 4}, {-3.7, -4}, {127.5, 128}, {4194303, 4194303}, {-4194303, -4194303},
	} {
		if got := nearestInt(c.in); got != c.want {
			t.Errorf("nearestInt(%v) = %d, want %d", c.in, got, c.want)
		}
	}
}

// TestQ8_0WeightVsActivationRounding: the reference (weight) quantizer
// rounds halves away from zero with multiplier 1/d, the AVX2 activation
// path rounds half to even with 127/amax.
func TestQ8_0WeightVsActivationRounding(t *testing.T) {
	x := make([]float32, 32)
	x[0] = 127 // amax: d = 1, both multipliers exactly 1
	x[1] = 2.5
	x[2] = -3.5
	w := make([]byte, 34)
	a := make([]byte, 34)
	if err := Quantize(Q8_0, x, w); err != nil {
		t.Fatal(err)
	}
	if err := QuantizeActivations(Q8_0, x, a); err != nil {
		t.Fatal(err)
	}
	if got := [2]int8{int8(w[3]), int8(w[4])}; got != [2]int8{3, -4} {
		t.Errorf("weight quants %v, want [3 -4] (half away from zero)", got)
	}
	if got := [2]int8{int8(a[3]), int8(a[4])}; got != [2]int8{2, -4} {
		t.Errorf("activation quants %v, want [2 -4] (half to even)", got)
	}
	// Q8_1 stores s = fp16(d·Σq) with Σq = 127 + 2 - 4.
	a1 := make([]byte, 36)
	if err := QuantizeActivations(Q8_1, x, a1); err != nil {
		t.Fatal(err)
	}
	if s := f16at(a1[2:]); s != 125 {
		t.Errorf("Q8_1 s = %v, want 125", s)
	}
}
