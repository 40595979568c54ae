//go:build amd64

package kernels

import "golang.org/x/sys/cpu"

// hasVecAsm: the VecOps loops use 512-bit registers and VCVTPH2PS on them.
var hasVecAsm = cpu.X86.HasAVX512F && hasQuantAsm

// hasVecVNNI: dotQ8_0Rows4VNNI's VPDPBUSD.
var hasVecVNNI = hasVecAsm && cpu.X86.HasAVX512VNNI

//go:noescape
func dotF16Rows(out *float32, q *float32, k *uint16, kstride int, n int, d16 int)

//go:noescape
func dotF32Rows(out *float32, q *float32, k *float32, kstride int, n int, d16 int)

//go:noescape
func axpyF16Rows(acc *float32, d16 int, p *float32, n int, v *uint16, vstride int)

//go:noescape
func axpyF32Rows(acc *float32, d16 int, p *float32, n int, v *float32, vstride int)

//go:noescape
func expF32(dst, src *float32, n int)

//go:noescape
func subExpSumF64(x *float32, n int, m float32, lanes *float64)

//go:noescape
func scaleRoundF16(x *float32, n int, s float32)

//go:noescape
func siluMulF32(dst, gate, up *float32, n16 int)

//go:noescape
func dotQ8_0Rows(out *float32, q *byte, qd *float32, k *byte, kstride int, n int, nb int)

//go:noescape
func axpyQ8_0Rows(acc *float32, nb int, p *float32, n int, v *byte, vstride int)

//go:noescape
func dotQ8_0Rows4(out *float32, ostride int, q *byte, qd *float32, nb int, k *byte, kstride int, n int)

//go:noescape
func dotQ8_0Rows4VNNI(out *float32, ostride int, q *byte, qd *float32, nb int, k *byte, kstride int, n int)

//go:noescape
func axpyQ8_0Rows4(acc *float32, astride int, nb int, p *float32, pstride int, n int, v *byte, vstride int)

//go:noescape
func prefetchRows(p *byte, n int, stride int, size int)

//go:noescape
func dotF16Rows4(out *float32, ostride int, q *float32, qstride int, k *uint16, kstride int, n int, d16 int, farRows int)

//go:noescape
func dotF16Rows2(out *float32, ostride int, q *float32, qstride int, k *uint16, kstride int, n int, d16 int, farRows int)

//go:noescape
func axpyF16Rows2(acc *float32, astride int, d16 int, p *float32, pstride int, n int, v *uint16, vstride int, farRows int)

//go:noescape
func axpyF16Rows4(acc *float32, astride int, d16 int, p *float32, pstride int, n int, v *uint16, vstride int, farRows int)

//go:noescape
func scaleMaxF32(x *float32, n16 int, s float32) float32

//go:noescape
func subScalarF32(x *float32, n16 int, m float32)

//go:noescape
func scaleF32(x *float32, n16 int, s float32)

//go:noescape
func sumF64(x *float32, n16 int, lanes *float64)

//go:noescape
func sumSquaresF64(x *float32, n16 int, lanes *float64)

//go:noescape
func scaleMulF32(y, x, w *float32, n16 int, s float32)

//go:noescape
func addF32(y, a, b *float32, n16 int)

// hasVecAVX2: the 256-bit VecOps loops (vec_avx2_amd64.s) need AVX2, FMA
// and F16C's VCVTPH2PS.
var hasVecAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA && hasQuantAsm

//go:noescape
func dotF16RowsAVX2(out *float32, q *float32, k *uint16, kstride int, n int, d16 int)

//go:noescape
func dotF32RowsAVX2(out *float32, q *float32, k *float32, kstride int, n int, d16 int)

//go:noescape
func axpyF16RowsAVX2(acc *float32, d16 int, p *float32, n int, v *uint16, vstride int)

//go:noescape
func axpyF32RowsAVX2(acc *float32, d16 int, p *float32, n int, v *float32, vstride int)

//go:noescape
func expF32AVX2(dst, src *float32, n8 int)

//go:noescape
func siluMulF32AVX2(dst, gate, up *float32, n8 int)

//go:noescape
func scaleMaxF32AVX2(x *float32, n8 int, s float32) float32

//go:noescape
func subScalarF32AVX2(x *float32, n8 int, m float32)

//go:noescape
func scaleF32AVX2(x *float32, n8 int, s float32)

//go:noescape
func sumF64AVX2(x *float32, n16 int, lanes *float64)

//go:noescape
func sumSquaresF64AVX2(x *float32, n16 int, lanes *float64)

//go:noescape
func scaleMulF32AVX2(y, x, w *float32, n8 int, s float32)

//go:noescape
func addF32AVX2(y, a, b *float32, n8 int)

//go:noescape
func dotF16Rows4AVX2(out *float32, ostride int, q *float32, qstride int, k *uint16, kstride int, n int, d16 int)

//go:noescape
func dotF16Rows2AVX2(out *float32, ostride int, q *float32, qstride int, k *uint16, kstride int, n int, d16 int)

//go:noescape
func axpyF16Rows2AVX2(acc *float32, astride int, d16 int, p *float32, pstride int, n int, v *uint16, vstride int)

//go:noescape
func axpyQ8_0RowsAVX2(acc *float32, nb int, p *float32, n int, v *byte, vstride int)

//go:noescape
func ropePairsAVX2(x, cs *float32, n8 int)

//go:noescape
func ropeHalvesAVX2(x, cs *float32, half, n8 int)
