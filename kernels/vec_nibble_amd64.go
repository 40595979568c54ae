//go:build amd64

package kernels

//go:noescape
func nibbleToQ8_0(dst *byte, src *byte, n int, nb int, sstride int, table *int8)

//go:noescape
func q5_0ToQ8_0(dst *byte, src *byte, n int, nb int, sstride int)

//go:noescape
func q4_1ToQ8_0(dst *byte, mins *float32, src *byte, n int, nb int, sstride int)

//go:noescape
func q5_1ToQ8_0(dst *byte, mins *float32, src *byte, n int, nb int, sstride int)

//go:noescape
func dequantQ4_1Rows(dst *float32, src *byte, n int, nb int, sstride int)

//go:noescape
func dequantQ5_1Rows(dst *float32, src *byte, n int, nb int, sstride int)
