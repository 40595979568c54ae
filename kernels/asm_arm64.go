//go:build arm64

package kernels

// The arm64 row kernels (neon_arm64.h has their conventions): one weight
// row of nb blocks against nx activation rows in the split layout, as the
// amd64 row kernels take them. All but the float ones need FEAT_DotProd.

//go:noescape
func dotQ8_0NEON(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int) // q8_0_arm64.s

//go:noescape
func dotQ4_0NEON(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int) // q8_0_arm64.s

//go:noescape
func dotQ5_0NEON(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int) // legacy_arm64.s

//go:noescape
func dotQ4_1NEON(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int) // legacy_arm64.s; Q8_1 activations

//go:noescape
func dotQ5_1NEON(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int) // legacy_arm64.s; Q8_1 activations

//go:noescape
func dotIQ4_NLNEON(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int) // iq4_arm64.s

//go:noescape
func dotIQ4_XSNEON(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int) // iq4_arm64.s

//go:noescape
func dotQ2_KNEON(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int) // kquants23_arm64.s

//go:noescape
func dotQ3_KNEON(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int) // kquants23_arm64.s

//go:noescape
func dotQ4_KNEON(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int) // kquants_arm64.s

//go:noescape
func dotQ5_KNEON(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int) // kquants_arm64.s

//go:noescape
func dotQ6_KNEON(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int) // kquants_arm64.s

// Float weights (float_arm64.s): one row against n float32 activation
// rows over the first 8·n8 columns.

//go:noescape
func dotF32NEON(w *byte, n8 int, a *float32, astride int, n int, y *float32, ystride int)

//go:noescape
func dotF16NEON(w *byte, n8 int, a *float32, astride int, n int, y *float32, ystride int)

//go:noescape
func dotBF16NEON(w *byte, n8 int, a *float32, astride int, n int, y *float32, ystride int)

// The activation quantizers (quantize_arm64.s) into the split layout,
// bit-identical to quant.QuantizeActivations for finite inputs.

//go:noescape
func quantQ8_0Split(x *float32, nb int, qs *byte, d *float32)

//go:noescape
func quantQ8_KSplit(x *float32, nb int, qs *byte, d *float32, bs *int16)

// roundBF16NEON rounds 4·n4 floats at x to bf16 values, as float32, into
// dst: quant.FP32ToBF16 widened back (quantize_arm64.s).
//
//go:noescape
func roundBF16NEON(x *float32, n4 int, dst *float32)
