//go:build !arm64

package kernels

// hasVecNEON: the NEON loops are arm64's (vec_arm64.s).
const hasVecNEON = false

func dotF16RowsNEON(out *float32, q *float32, k *uint16, kstride int, n int, d16 int) {
	panic("kernels: no NEON")
}

func axpyF16RowsNEON(acc *float32, d16 int, p *float32, n int, v *uint16, vstride int) {
	panic("kernels: no NEON")
}

func expF32NEON(dst *float32, src *float32, n4 int) { panic("kernels: no NEON") }

func siluMulF32NEON(dst *float32, gate *float32, up *float32, n4 int) { panic("kernels: no NEON") }
