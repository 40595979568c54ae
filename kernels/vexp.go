package kernels

import (
	"fmt"
	"math"
)

// Vector exponential for the element-wise ops (SiLU, softmax): a Cephes-style
// float32 exp, accurate to about 1 ulp. The assembly and Go versions run the
// same float32 operations, so they agree bit for bit:
//
//	x' = min(max(x, −104), 89)            (NaN passes through)
//	n  = roundEven(x'·log2 e)
//	r  = fma(−n, ln2_lo, fma(−n, ln2_hi, x'))
//	p  = ((((c0·r + c1)·r + c2)·r + c3)·r + c4)·r + c5   (each step one fma)
//	e  = fma(p, r·r, r) + 1
//	exp(x) = e·2ⁿ                          (one rounding, as VSCALEFPS;
//	                                        AVX2 multiplies by 2^⌊n/2⌋, exact,
//	                                        then by 2^(n−⌊n/2⌋))
const (
	expHi    = float32(89)
	expLo    = float32(-104)
	expLog2e = float32(1.44269504088896341)
	expLn2Hi = float32(0.693359375)
	expLn2Lo = float32(-2.12194440e-4)
	expC0    = float32(1.9875691500e-4)
	expC1    = float32(1.3981999507e-3)
	expC2    = float32(8.3334519073e-3)
	expC3    = float32(4.1665795894e-2)
	expC4    = float32(1.6666665459e-1)
	expC5    = float32(5.0000001201e-1)
)

// exp32 is the reference of the vector exponential.
func exp32(x float32) float32 {
	if x != x {
		return x
	}
	x = min(max(x, expLo), expHi)
	t := x * expLog2e
	n := float32(math.RoundToEven(float64(t)))
	r := fma32(-n, expLn2Hi, x)
	r = fma32(-n, expLn2Lo, r)
	p := expC0
	p = fma32(p, r, expC1)
	p = fma32(p, r, expC2)
	p = fma32(p, r, expC3)
	p = fma32(p, r, expC4)
	p = fma32(p, r, expC5)
	r2 := r * r
	e := fma32(p, r2, r)
	e = e + 1
	// e·2ⁿ is exact in float64 (n is within −150..128), so the conversion
	// is the one rounding VSCALEFPS makes; a multiply by the power built
	// from its exponent bits costs far less than math.Ldexp.
	return float32(float64(e) * math.Float64frombits(uint64(1023+int64(n))<<52))
}

// silu32 is the reference of one SiLU-times-up element: g/(1+exp(−g))·u.
func silu32(g, u float32) float32 {
	e := exp32(-g)
	t := e + 1
	q := g / t
	return q * u
}

// Exp sets dst[i] = exp(src[i]) (the vector exponential above); dst and src
// may be the same slice.
func (o VecOps) Exp(dst, src []float32) {
	if len(dst) < len(src) {
		panic(fmt.Sprintf("kernels: Exp: %d outputs for %d inputs", len(dst), len(src)))
	}
	if o.fast {
		if len(src) > 0 {
			expF32(&dst[0], &src[0], len(src))
		}
		return
	}
	i := 0
	if n8 := len(src) / 8; o.avx2 && n8 > 0 {
		expF32AVX2(&dst[0], &src[0], n8)
		i = n8 * 8
	} else if n4 := len(src) / 4; o.neon && n4 > 0 {
		expF32NEON(&dst[0], &src[0], n4)
		i = n4 * 4
	}
	for ; i < len(src); i++ {
		dst[i] = exp32(src[i])
	}
}

// SiLUMul sets dst[i] = gate[i]/(1+exp(−gate[i]))·up[i], the gated FFN's
// activation; dst may alias gate or up.
func (o VecOps) SiLUMul(dst, gate, up []float32) {
	if len(gate) != len(up) || len(dst) < len(gate) {
		panic(fmt.Sprintf("kernels: SiLUMul: %d outputs for %d gates and %d ups", len(dst), len(gate), len(up)))
	}
	i := 0
	if o.fast {
		if n16 := len(gate) / 16; n16 > 0 {
			siluMulF32(&dst[0], &gate[0], &up[0], n16)
			i = n16 * 16
		}
	} else if n8 := len(gate) / 8; o.avx2 && n8 > 0 {
		siluMulF32AVX2(&dst[0], &gate[0], &up[0], n8)
		i = n8 * 8
	} else if n4 := len(gate) / 4; o.neon && n4 > 0 {
		siluMulF32NEON(&dst[0], &gate[0], &up[0], n4)
		i = n4 * 4
	}
	for ; i < len(gate); i++ {
		dst[i] = silu32(gate[i], up[i])
	}
}
