//go:build arm64

package kernels

import "golang.org/x/sys/cpu"

// hasVecNEON: every arm64 CPU has the NEON attention loops (vec_arm64.s).
const hasVecNEON = true

// hasVecSDOT: the Q8_0 cache's score loop needs FEAT_DotProd.
var hasVecSDOT = cpu.ARM64.HasASIMDDP

//go:noescape
func dotF16RowsNEON(out *float32, q *float32, k *uint16, kstride int, n int, d16 int)

//go:noescape
func axpyF16RowsNEON(acc *float32, d16 int, p *float32, n int, v *uint16, vstride int)

//go:noescape
func dotF32RowsNEON(out *float32, q *float32, k *float32, kstride int, n int, d16 int)

//go:noescape
func axpyF32RowsNEON(acc *float32, d16 int, p *float32, n int, v *float32, vstride int)

//go:noescape
func expF32NEON(dst *float32, src *float32, n4 int)

//go:noescape
func siluMulF32NEON(dst *float32, gate *float32, up *float32, n4 int)

//go:noescape
func dotQ8_0RowsNEON(out *float32, q *byte, qd *float32, k *byte, kstride int, n int, nb int) // vecq8_arm64.s

//go:noescape
func axpyQ8_0RowsNEON(acc *float32, nb int, p *float32, n int, v *byte, vstride int) // vecq8_arm64.s

// The softmax and norm passes (vecnorm_arm64.s), sixteen elements a pass.

//go:noescape
func scaleMaxF32NEON(x *float32, n16 int, s float32) float32

//go:noescape
func subScalarF32NEON(x *float32, n16 int, m float32)

//go:noescape
func scaleF32NEON(x *float32, n16 int, s float32)

//go:noescape
func sumF64NEON(x *float32, n16 int, lanes *float64)

//go:noescape
func sumSquaresF64NEON(x *float32, n16 int, lanes *float64)

//go:noescape
func scaleMulF32NEON(y, x, w *float32, n16 int, s float32)

//go:noescape
func addF32NEON(y, a, b *float32, n16 int)

//go:noescape
func toF16NEON(x *float32, n8 int, dst *uint16)

//go:noescape
func roundF16NEON(x *float32, n8 int, dst *float32)

//go:noescape
func prefetchRowsNEON(p *byte, n int, stride int, size int)
