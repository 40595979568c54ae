//go:build arm64

package kernels

// NEON kernels with FEAT_DotProd's SDOT (q8_0_arm64.s): one weight row of
// nb blocks against nx activation rows in the split layout, as the amd64
// row kernels take them.

//go:noescape
func dotQ8_0NEON(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)

//go:noescape
func dotQ4_0NEON(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)

//go:noescape
func dotQ4_KNEON(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)

//go:noescape
func dotQ6_KNEON(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)

//go:noescape
func dotQ5_KNEON(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)

// Float weights (float_arm64.s): one row against n float32 activation
// rows over the first 8·n8 columns.

//go:noescape
func dotF32NEON(w *byte, n8 int, a *float32, astride int, n int, y *float32, ystride int)

//go:noescape
func dotF16NEON(w *byte, n8 int, a *float32, astride int, n int, y *float32, ystride int)

//go:noescape
func dotBF16NEON(w *byte, n8 int, a *float32, astride int, n int, y *float32, ystride int)

// IQ4_NL and IQ4_XS (iq4_arm64.s): codes through the 16 levels by TBL.

//go:noescape
func dotIQ4_NLNEON(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)

//go:noescape
func dotIQ4_XSNEON(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)

// Q5_0, Q4_1, Q5_1 (legacy_arm64.s); the _1 types take Q8_1 activations.

//go:noescape
func dotQ5_0NEON(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)

//go:noescape
func dotQ4_1NEON(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)

//go:noescape
func dotQ5_1NEON(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)

// Q2_K and Q3_K (kquants23_arm64.s).

//go:noescape
func dotQ2_KNEON(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)

//go:noescape
func dotQ3_KNEON(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)
