//go:build arm64

package kernels

// hasVecNEON: every arm64 CPU has the NEON attention loops (vec_arm64.s).
const hasVecNEON = true

//go:noescape
func dotF16RowsNEON(out *float32, q *float32, k *uint16, kstride int, n int, d16 int)

//go:noescape
func axpyF16RowsNEON(acc *float32, d16 int, p *float32, n int, v *uint16, vstride int)

//go:noescape
func expF32NEON(dst *float32, src *float32, n4 int)

//go:noescape
func siluMulF32NEON(dst *float32, gate *float32, up *float32, n4 int)
