//go:build !arm64

package kernels

// hasVecNEON: the NEON loops are arm64's (vec_arm64.s).
const hasVecNEON = false

// hasVecSDOT: arm64's FEAT_DotProd.
const hasVecSDOT = false

func dotF16RowsNEON(out *float32, q *float32, k *uint16, kstride int, n int, d16 int) {
	panic("kernels: no NEON")
}

func axpyF16RowsNEON(acc *float32, d16 int, p *float32, n int, v *uint16, vstride int) {
	panic("kernels: no NEON")
}

func expF32NEON(dst *float32, src *float32, n4 int) { panic("kernels: no NEON") }

func siluMulF32NEON(dst *float32, gate *float32, up *float32, n4 int) { panic("kernels: no NEON") }

func dotF32RowsNEON(out *float32, q *float32, k *float32, kstride int, n int, d16 int) {
	panic("kernels: no NEON")
}

func axpyF32RowsNEON(acc *float32, d16 int, p *float32, n int, v *float32, vstride int) {
	panic("kernels: no NEON")
}

func dotQ8_0RowsNEON(out *float32, q *byte, qd *float32, k *byte, kstride int, n int, nb int) {
	panic("kernels: no NEON")
}

func axpyQ8_0RowsNEON(acc *float32, nb int, p *float32, n int, v *byte, vstride int) {
	panic("kernels: no NEON")
}

func scaleMaxF32NEON(x *float32, n16 int, s float32) float32 { panic("kernels: no NEON") }

func subScalarF32NEON(x *float32, n16 int, m float32) { panic("kernels: no NEON") }

func scaleF32NEON(x *float32, n16 int, s float32) { panic("kernels: no NEON") }

func sumF64NEON(x *float32, n16 int, lanes *float64) { panic("kernels: no NEON") }

func sumSquaresF64NEON(x *float32, n16 int, lanes *float64) { panic("kernels: no NEON") }

func scaleMulF32NEON(y, x, w *float32, n16 int, s float32) { panic("kernels: no NEON") }

func addF32NEON(y, a, b *float32, n16 int) { panic("kernels: no NEON") }

func toF16NEON(x *float32, n8 int, dst *uint16) { panic("kernels: no NEON") }

func roundF16NEON(x *float32, n8 int, dst *float32) { panic("kernels: no NEON") }

func prefetchRowsNEON(p *byte, n int, stride int, size int) { panic("kernels: no NEON") }
