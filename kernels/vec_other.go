//go:build !amd64

package kernels

// hasVecAsm: no assembly VecOps on this architecture.
const hasVecAsm = false

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
