//go:build !amd64

package kernels

func nibbleToQ8_0(dst *byte, src *byte, n int, nb int, sstride int, table *int8) {
	panic("kernels: no assembly")
}

func q5_0ToQ8_0(dst *byte, src *byte, n int, nb int, sstride int) { panic("kernels: no assembly") }

func q4_1ToQ8_0(dst *byte, mins *float32, src *byte, n int, nb int, sstride int) {
	panic("kernels: no assembly")
}

func q5_1ToQ8_0(dst *byte, mins *float32, src *byte, n int, nb int, sstride int) {
	panic("kernels: no assembly")
}

func dequantQ4_1Rows(dst *float32, src *byte, n int, nb int, sstride int) {
	panic("kernels: no assembly")
}

func dequantQ5_1Rows(dst *float32, src *byte, n int, nb int, sstride int) {
	panic("kernels: no assembly")
}
