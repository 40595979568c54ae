//go:build !amd64

package kernels

import "github.com/nuri-ai/nuri/quant"

// hasVecAsm: no assembly VecOps on this architecture.
const hasVecAsm = false

const hasVecVNNI = false

func dotF16Rows(out *float32, q *float32, k *uint16, kstride int, n int, d16 int) {
	panic("kernels: no assembly")
}

func dotF32Rows(out *float32, q *float32, k *float32, kstride int, n int, d16 int) {
	panic("kernels: no assembly")
}

func axpyF16Rows(acc *float32, d16 int, p *float32, n int, v *uint16, vstride int) {
	panic("kernels: no assembly")
}

func axpyF32Rows(acc *float32, d16 int, p *float32, n int, v *float32, vstride int) {
	panic("kernels: no assembly")
}

// hasQuantAsm: no assembly fp16 rounding on this architecture.
const hasQuantAsm = false

func roundF16(x *float32, n8 int, dst *float32) { panic("kernels: no assembly") }

func toF16(x *float32, n8 int, dst *uint16) { panic("kernels: no assembly") }

func geluF16Table(x *float32, up *float32, n8 int, table *float32, dst *float32) {
	panic("kernels: no assembly")
}

func toBF16(x *float32, n8 int, dst *uint16) { panic("kernels: no assembly") }

// hasPackedAsm: no packed kernels on this architecture.
const hasPackedAsm = false

// packedBF16Dot: no VDPBF16PS kernels on this architecture.
var packedBF16Dot = false

const hasBF16DotAsm = false

// packedSetOf: no packed kernels on this architecture.
func packedSetOf(quant.Type, bool) *packedSet { return &noPackedSet }

// hasIQAVX2: no AVX2 kernels on this architecture.
const hasIQAVX2 = false

func expF32(dst, src *float32, n int) { panic("kernels: no assembly") }

func subExpSumF64(x *float32, n int, m float32, lanes *float64) { panic("kernels: no assembly") }

func scaleRoundF16(x *float32, n int, s float32) { panic("kernels: no assembly") }

func siluMulF32(dst, gate, up *float32, n16 int) { panic("kernels: no assembly") }

func quantQ8_0Tile(x *float32, nb int, qs *byte, qstride int, d *float32, corr *int32, dstride int, negZero int) {
	panic("kernels: no assembly")
}

func dotQ8_0Rows(out *float32, q *byte, qd *float32, k *byte, kstride int, n int, nb int) {
	panic("kernels: no assembly")
}

func axpyQ8_0Rows(acc *float32, nb int, p *float32, n int, v *byte, vstride int) {
	panic("kernels: no assembly")
}

func dotQ8_0Rows4(out *float32, ostride int, q *byte, qd *float32, nb int, k *byte, kstride int, n int) {
	panic("kernels: no assembly")
}

func dotQ8_0Rows4VNNI(out *float32, ostride int, q *byte, qd *float32, nb int, k *byte, kstride int, n int) {
	panic("kernels: no assembly")
}

func axpyQ8_0Rows4(acc *float32, astride int, nb int, p *float32, pstride int, n int, v *byte, vstride int) {
	panic("kernels: no assembly")
}

func prefetchRows(p *byte, n int, stride int, size int) {}

func dotF16Rows4(out *float32, ostride int, q *float32, qstride int, k *uint16, kstride int, n int, d16 int, farRows int) {
	panic("kernels: no assembly")
}

func dotF16Rows2(out *float32, ostride int, q *float32, qstride int, k *uint16, kstride int, n int, d16 int, farRows int) {
	panic("kernels: no assembly")
}

func axpyF16Rows2(acc *float32, astride int, d16 int, p *float32, pstride int, n int, v *uint16, vstride int, farRows int) {
	panic("kernels: no assembly")
}

func axpyF16Rows4(acc *float32, astride int, d16 int, p *float32, pstride int, n int, v *uint16, vstride int, farRows int) {
	panic("kernels: no assembly")
}

func scaleMaxF32(x *float32, n16 int, s float32) float32 { panic("kernels: no assembly") }

func subScalarF32(x *float32, n16 int, m float32) { panic("kernels: no assembly") }

func scaleF32(x *float32, n16 int, s float32) { panic("kernels: no assembly") }

func sumF64(x *float32, n16 int, lanes *float64)        { panic("kernels: no assembly") }
func sumSquaresF64(x *float32, n16 int, lanes *float64) { panic("kernels: no assembly") }

func scaleMulF32(y, x, w *float32, n16 int, s float32) { panic("kernels: no assembly") }

func addF32(y, a, b *float32, n16 int) { panic("kernels: no assembly") }

// hasVecAVX2: no 256-bit VecOps loops on this architecture.
const hasVecAVX2 = false

func dotF16RowsAVX2(out *float32, q *float32, k *uint16, kstride int, n int, d16 int) {
	panic("kernels: no assembly")
}

func dotF32RowsAVX2(out *float32, q *float32, k *float32, kstride int, n int, d16 int) {
	panic("kernels: no assembly")
}

func axpyF16RowsAVX2(acc *float32, d16 int, p *float32, n int, v *uint16, vstride int) {
	panic("kernels: no assembly")
}

func axpyF32RowsAVX2(acc *float32, d16 int, p *float32, n int, v *float32, vstride int) {
	panic("kernels: no assembly")
}

func expF32AVX2(dst, src *float32, n8 int) { panic("kernels: no assembly") }

func siluMulF32AVX2(dst, gate, up *float32, n8 int) { panic("kernels: no assembly") }

func scaleMaxF32AVX2(x *float32, n8 int, s float32) float32 { panic("kernels: no assembly") }

func subScalarF32AVX2(x *float32, n8 int, m float32) { panic("kernels: no assembly") }

func scaleF32AVX2(x *float32, n8 int, s float32) { panic("kernels: no assembly") }

func sumF64AVX2(x *float32, n16 int, lanes *float64)        { panic("kernels: no assembly") }
func sumSquaresF64AVX2(x *float32, n16 int, lanes *float64) { panic("kernels: no assembly") }

func scaleMulF32AVX2(y, x, w *float32, n8 int, s float32) { panic("kernels: no assembly") }

func addF32AVX2(y, a, b *float32, n8 int) { panic("kernels: no assembly") }

func dotF16Rows4AVX2(out *float32, ostride int, q *float32, qstride int, k *uint16, kstride int, n int, d16 int) {
	panic("kernels: no assembly")
}

func dotF16Rows2AVX2(out *float32, ostride int, q *float32, qstride int, k *uint16, kstride int, n int, d16 int) {
	panic("kernels: no assembly")
}

func axpyF16Rows2AVX2(acc *float32, astride int, d16 int, p *float32, pstride int, n int, v *uint16, vstride int) {
	panic("kernels: no assembly")
}

func axpyQ8_0RowsAVX2(acc *float32, nb int, p *float32, n int, v *byte, vstride int) {
	panic("kernels: no assembly")
}

func ropePairsAVX2(x, cs *float32, n8 int)        { panic("kernels: no assembly") }
func ropeHalvesAVX2(x, cs *float32, half, n8 int) { panic("kernels: no assembly") }
