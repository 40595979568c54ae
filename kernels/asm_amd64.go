//go:build amd64

package kernels

// Assembly kernels (see the .s files for the per-output arithmetic). All take
// one weight row of nb blocks and up to a kernel-specific number of
// activation rows in the split layout of actScratch.

//go:noescape
func dotQ8_0AVX2(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)

//go:noescape
func dotQ4_0AVX2(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)

//go:noescape
func dotIQ4_NLAVX2(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)

//go:noescape
func dotIQ4_XSAVX512(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)

//go:noescape
func dotIQ4_XS1AVX2(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)

//go:noescape
func dotIQ4_XSAVX2(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)

//go:noescape
func dotQ5_0AVX2(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)

//go:noescape
func dotQ4_1AVX2(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)

//go:noescape
func dotQ5_1AVX2(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)

//go:noescape
func dotQ8_0VNNI(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)

//go:noescape
func dotQ4_0VNNI(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)

// The same with AVX-VNNI's VEX VPDPBUSD, for CPUs without AVX-512.

//go:noescape
func dotQ8_0AVXVNNI(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)

//go:noescape
func dotQ4_0AVXVNNI(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)

//go:noescape
func dotQ5_0AVXVNNI(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)

//go:noescape
func dotIQ4_NLAVXVNNI(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)

//go:noescape
func dotQ4_1AVXVNNI(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)

//go:noescape
func dotQ5_1AVXVNNI(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)

//go:noescape
func dotQ4_KAVXVNNI(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)

//go:noescape
func dotQ4_K1AVXVNNI(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)

//go:noescape
func dotQ5_KAVXVNNI(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)

//go:noescape
func dotQ5_K1AVXVNNI(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)

//go:noescape
func dotQ6_KAVXVNNI(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)

//go:noescape
func dotQ6_K1AVXVNNI(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)

//go:noescape
func dotQ4_K1AVX2(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)

//go:noescape
func dotQ4_KAVX2(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)

//go:noescape
func dotQ6_K1AVX2(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)

//go:noescape
func dotQ6_KAVX2(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)

//go:noescape
func dotQ5_K1AVX2(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)

//go:noescape
func dotQ5_KAVX2(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)

//go:noescape
func dotQ3_K1AVX2(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)

//go:noescape
func dotQ3_KAVX2(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)

//go:noescape
func dotQ2_K1AVX2(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)

//go:noescape
func dotQ2_KAVX2(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)

//go:noescape
func dotQ4_0AVX512(w *byte, nb int, act *byte, astride int, acc *float32, mode int, nx int, y *float32, ystride int)

//go:noescape
func dotQ8_0AVX512(w *byte, nb int, act *byte, astride int, acc *float32, mode int, nx int, y *float32, ystride int)

//go:noescape
func quantQ8_0Split(x *float32, nb int, qs *byte, d *float32)

//go:noescape
func quantQ8_0Pairs(x *float32, nb int, dst *byte, negZero int)

//go:noescape
func quantQ8_KSplit(x *float32, nb int, qs *byte, d *float32, bs *int16)

//go:noescape
func dotF32AVX2(w *byte, n8 int, a *float32, astride int, n int, y *float32, ystride int)

//go:noescape
func dotF16AVX2(w *byte, n8 int, a *float32, astride int, n int, y *float32, ystride int)

//go:noescape
func dotBF16AVX2(w *byte, n8 int, a *float32, astride int, n int, y *float32, ystride int)

//go:noescape
func dotQ4_KAVX512(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)

//go:noescape
func dotQ6_KAVX512(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)

//go:noescape
func roundF16(x *float32, n8 int, dst *float32)

//go:noescape
func toF16(x *float32, n8 int, dst *uint16)

//go:noescape
func geluF16Table(x *float32, up *float32, n8 int, table *float32, dst *float32)

//go:noescape
func toBF16(x *float32, n8 int, dst *uint16)

//go:noescape
func quantQ8_0Tile(x *float32, nb int, qs *byte, qstride int, d *float32, corr *int32, dstride int, negZero int)

// Four Q4_0, IQ4_NL or Q5_0 weight rows (wstride bytes apart) against one
// activation row, outputs at y[0..3]: see q8_0_amd64.s.

//go:noescape
func dotQ4_0R4AVX2(w *byte, wstride int, nb int, qs *byte, d *float32, y *float32)

//go:noescape
func dotQ4_0R4AVXVNNI(w *byte, wstride int, nb int, qs *byte, d *float32, y *float32)

//go:noescape
func dotQ5_0R4AVXVNNI(w *byte, wstride int, nb int, qs *byte, d *float32, y *float32)

//go:noescape
func dotIQ4_NLR4AVXVNNI(w *byte, wstride int, nb int, qs *byte, d *float32, y *float32)

//go:noescape
func dotIQ4_NLR4AVX2(w *byte, wstride int, nb int, qs *byte, d *float32, y *float32)

//go:noescape
func dotQ5_0R4AVX2(w *byte, wstride int, nb int, qs *byte, d *float32, y *float32)
