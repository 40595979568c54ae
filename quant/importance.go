package quant

import "fmt"

// Quantizers that take an importance matrix (llama-imatrix's output):
// per column of a weight matrix, the mean square of the activation it
// multiplies, so the scale searches spend their precision where the
// products are large. They follow ggml-quants.c's quantize_row_*_impl
// (quantize_q*_K, quantize_q4_0, … with quant_weights), which
// llama-quantize calls when given --imatrix; float32 in ggml's order of
// operations, as the reference quantizers here.

// TakesImportance reports whether t's quantizer uses an importance matrix.
// Q8_0 and the float types ignore one, as in llama.cpp.
func TakesImportance(t Type) bool {
	switch t {
	case Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS, IQ3_XXS, IQ3_S, IQ2_XXS, IQ2_XS, IQ2_S, IQ1_S, IQ1_M:
		return true
	}
	return false
}

// RequiresImportance reports whether llama-quantize refuses to quantize
// tensor name to t in recipe m without an importance matrix
// (tensor_requires_imatrix): the i-quants of three bits and less but
// IQ3_S, and Q2_K in the Q2_K_S recipe. The embedding and the output
// matrix never need one.
func (m Mix) RequiresImportance(name string, t Type) bool {
	switch name {
	case "token_embd.weight", "per_layer_token_embd.weight", "output.weight":
		return false
	}
	switch t {
	case IQ3_XXS, IQ2_XXS, IQ2_XS, IQ2_S, IQ1_S, IQ1_M:
		return true
	case Q2_K:
		return m.ftype == ftypeQ2_KS
	}
	return false
}

// QuantizeRow quantizes one row of a weight matrix (len(src) elements,
// a whole number of t's blocks) into dst. importance has one value per
// column (len(src)); nil, or a type that takes none, gives Quantize's
// bytes.
func QuantizeRow(t Type, src []float32, dst []byte, importance []float32) error {
	return (*Quantizer)(nil).QuantizeRow(t, src, dst, importance)
}

// QuantizeRow is the package's QuantizeRow, the same bytes, with q's fits
// for IQ4_NL, IQ4_XS and Q6_K (a nil q: the Go loops).
func (q *Quantizer) QuantizeRow(t Type, src []float32, dst []byte, importance []float32) error {
	if importance == nil || !TakesImportance(t) {
		if !q.fits(t) {
			return Quantize(t, src, dst)
		}
		importance = nil // a type that takes none: its plain quantizer, fitted by q
	}
	if err := checkSizes(t, len(src), len(dst), true); err != nil {
		return err
	}
	if importance != nil && len(importance) != len(src) {
		return fmt.Errorf("quantize %v: %d importance values for a row of %d", t, len(importance), len(src))
	}
	tr := t.Traits()
	switch t {
	case Q4_0, Q4_1, Q5_0, Q5_1:
		// The legacy types weigh each value against the whole row's
		// mean square.
		var sumX2 float32
		for _, v := range src {
			sumX2 += float32(v * v)
		}
		sigma2 := sumX2 / float32(len(src))
		for i, o := 0, 0; i < len(src); i, o = i+qk, o+tr.BlockBytes {
			quantizeLegacyWeighted(t, src[i:i+qk], dst[o:o+tr.BlockBytes], importance[i:i+qk], sigma2)
		}
		return nil
	}
	for i, o := 0, 0; i < len(src); i, o = i+tr.BlockSize, o+tr.BlockBytes {
		x, y := src[i:i+tr.BlockSize], dst[o:o+tr.BlockBytes]
		var qw []float32 // nil only for q's fitted types (fits)
		if importance != nil {
			qw = importance[i : i+tr.BlockSize]
		}
		switch t {
		case Q2_K:
			quantizeQ2_KWeighted(x, y, qw)
		case Q3_K:
			quantizeQ3_KWeighted(x, y, qw)
		case Q4_K:
			var L [QK_K]uint8
			quantizeK4K5Weighted(x, y, qw, L[:], 15, q4KD, q4KDmin, q4KScales)
			packQ4K(L[:], y)
		case Q5_K:
			var L [QK_K]uint8
			quantizeK4K5Weighted(x, y, qw, L[:], 31, q5KD, q5KDmin, q5KScales)
			packQ5K(L[:], y)
		case Q6_K:
			quantizeQ6_K(x, y, qw, q)
		case IQ4_NL:
			quantizeIQ4_NL(x, y, qw, q)
		case IQ4_XS:
			quantizeIQ4_XS(x, y, qw, q)
		case IQ3_XXS, IQ3_S, IQ2_XXS, IQ2_XS, IQ2_S:
			quantizeIQGridBlock(t, x, y, qw)
		case IQ1_S:
			quantizeIQ1_SBlock(x, y, qw)
		case IQ1_M:
			quantizeIQ1_MBlock(x, y, qw)
		}
	}
	return nil
}

// importanceWeights fills w with qw[i]·√(sigma2 + x[i]²): the importance
// of each value, grown with its own size against the block's spread.
func importanceWeights(w, x, qw []float32, sigma2 float32) {
	for i, v := range x {
		w[i] = qw[i] * sqrt32(sigma2+float32(v*v))
	}
}

// meanSquare is Σx²/len(x) in float32, summed in order.
func meanSquare(x []float32) float32 {
	var s float32
	for _, v := range x {
		s += float32(v * v)
	}
	return float32(s / float32(len(x))) // not fused into the caller's sums
}

// quantizeLegacyWeighted is quantize_row_q4_0/q4_1/q5_0/q5_1_impl for one
// 32-element block: Q4_0 and Q5_0 through make_qx_quants, Q4_1 and Q5_1
// through make_qkx3_quants, weighted by importance against the row's mean
// square sigma2.
func quantizeLegacyWeighted(t Type, x []float32, y []byte, qw []float32, sigma2 float32) {
	var w [qk]float32
	importanceWeights(w[:], x, qw, sigma2)
	switch t {
	case Q4_0, Q5_0:
		var L [qk]int8
		nmax := int32(8)
		if t == Q5_0 {
			nmax = 16
		}
		d := makeQxQuants(nmax, x, L[:], w[:], nil)
		put16(y, FP32ToFP16(d))
		if t == Q4_0 {
			for j := 0; j < qk/2; j++ {
				y[q4_0QS+j] = uint8(L[j]) | uint8(L[j+qk/2])<<4
			}
			return
		}
		packQ5(y[q5_0QS:], y[q5_0QH:], L[:])
	case Q4_1, Q5_1:
		var L, laux [qk]uint8
		p := qkx2Params{nmax: 15, rmin: -0.9, rdelta: 0.05, nstep: 36, guard: true}
		if t == Q5_1 {
			p.nmax = 31
		}
		d, mn := makeQkx2Quants(p, x, w[:], L[:], laux[:])
		put16(y, FP32ToFP16(d))
		put16(y[2:], FP32ToFP16(-mn))
		if t == Q4_1 {
			for j := 0; j < qk/2; j++ {
				y[q4_1QS+j] = L[j] | L[j+qk/2]<<4
			}
			return
		}
		var Ls [qk]int8
		for j, l := range L {
			Ls[j] = int8(l)
		}
		packQ5(y[q5_1QS:], y[q5_1QH:], Ls[:])
	}
}

// packQ5 stores 32 five-bit values: low nibbles in qs (element j low,
// j+16 high), fifth bits in the 32-bit qh.
func packQ5(qs, qhb []byte, L []int8) {
	var qh uint32
	for j := 0; j < qk/2; j++ {
		x0, x1 := uint8(L[j]), uint8(L[j+qk/2])
		qs[j] = x0&0x0f | (x1&0x0f)<<4
		qh |= uint32(x0&0x10) >> 4 << j
		qh |= uint32(x1&0x10) >> 4 << (j + qk/2)
	}
	putQH(qhb, qh)
}

// quantizeQ2_KWeighted is quantize_row_q2_K_impl for one super-block: each
// 16-element sub-block fitted with make_qkx3_quants on the importance
// weights (against the super-block's mean square), then the 4-bit scales
// and mins with make_qp_quants weighted by each sub-block's total weight.
func quantizeQ2_KWeighted(x []float32, y []byte, qw []float32) {
	var (
		L            [QK_K]uint8
		laux         [16]uint8
		w            [16]float32
		scales, mins [QK_K / 16]float32
		sw           [QK_K / 16]float32
		Ls, Lm       [QK_K / 16]uint8
	)
	sigma2 := meanSquare(x[:QK_K])
	p := qkx2Params{nmax: 3, rmin: -0.9, rdelta: 0.05, nstep: 36, guard: true}
	for j := 0; j < QK_K/16; j++ {
		xs := x[16*j : 16*j+16]
		importanceWeights(w[:], xs, qw[16*j:16*j+16], sigma2)
		for _, v := range w {
			sw[j] += v
		}
		scales[j], mins[j] = makeQkx2Quants(p, xs, w[:], L[16*j:16*j+16], laux[:])
	}
	dm := makeQpQuants(15, scales[:], Ls[:], sw[:])
	mm := makeQpQuants(15, mins[:], Lm[:], sw[:])
	put16(y[q2KD:], FP32ToFP16(dm))
	put16(y[q2KDmin:], FP32ToFP16(mm))
	for j := range Ls {
		y[q2KScales+j] = Ls[j] | Lm[j]<<4
	}
	finishQ2K(x, y, L[:])
}

// quantizeQ3_KWeighted is quantize_row_q3_K_impl for one super-block: each
// 16-element sub-block's scale by make_qx_quants on the importance weights
// (against twice the super-block's mean square), then the 6-bit scales by
// make_qx_quants weighted by each sub-block's total weight.
func quantizeQ3_KWeighted(x []float32, y []byte, qw []float32) {
	var (
		L      [QK_K]int8
		w      [16]float32
		scales [QK_K / 16]float32
		sw     [QK_K / 16]float32
		Ls     [QK_K / 16]int8
	)
	sigma2 := 2 * meanSquare(x[:QK_K])
	for j := 0; j < QK_K/16; j++ {
		importanceWeights(w[:], x[16*j:16*j+16], qw[16*j:16*j+16], sigma2)
		var sum float32
		for _, v := range w {
			sum += v
		}
		sw[j] = sum
		scales[j] = makeQxQuants(4, x[16*j:16*j+16], L[16*j:16*j+16], w[:], nil)
	}
	sc := y[q3KScales : q3KScales+12]
	clear(sc)
	dBlock := makeQxQuants(32, scales[:], Ls[:], sw[:], nil)
	for j := 0; j < QK_K/16; j++ {
		l := uint8(Ls[j])
		if j < 8 {
			sc[j] = l & 0xf
		} else {
			sc[j-8] |= (l & 0xf) << 4
		}
		l >>= 4
		sc[j%4+8] |= l << (2 * (j / 4))
	}
	put16(y[q3KD:], FP32ToFP16(dBlock))
	finishQ3K(x, y, L[:])
}

// quantizeK4K5Weighted is the scale part of quantize_row_q4_K_impl and
// quantize_row_q5_K_impl: each 32-element sub-block fitted with
// make_qkx3_quants on the importance weights (against twice the
// super-block's mean square), the 6-bit scales and mins by make_qp_quants
// weighted by each sub-block's total weight, then L quantized again with
// the stored ones.
func quantizeK4K5Weighted(x []float32, y []byte, qw []float32, L []uint8, nmax int32, offD, offDmin, offScales int) {
	var (
		laux         [32]uint8
		w            [32]float32
		scales, mins [QK_K / 32]float32
		sw           [QK_K / 32]float32
		Ls, Lm       [QK_K / 32]uint8
	)
	sigma2 := 2 * meanSquare(x[:QK_K])
	p := qkx2Params{nmax: nmax, rmin: -0.9, rdelta: 0.05, nstep: 36, guard: true}
	for j := 0; j < QK_K/32; j++ {
		xs := x[32*j : 32*j+32]
		importanceWeights(w[:], xs, qw[32*j:32*j+32], sigma2)
		var sum float32
		for _, v := range w {
			sum += v
		}
		sw[j] = sum
		scales[j], mins[j] = makeQkx2Quants(p, xs, w[:], L[32*j:32*j+32], laux[:])
	}
	dBlock := makeQpQuants(63, scales[:], Ls[:], sw[:])
	mBlock := makeQpQuants(63, mins[:], Lm[:], sw[:])
	sc := y[offScales : offScales+12]
	clear(sc)
	for j := range Ls {
		putScaleMinK4(sc, j, min(63, Ls[j]), min(63, Lm[j]))
	}
	put16(y[offD:], FP32ToFP16(dBlock))
	put16(y[offDmin:], FP32ToFP16(mBlock))
	requantK4K5(x, y, L, nmax, offD, offDmin, offScales)
}

// makeQpQuants is make_qp_quants: non-negative values x (sub-block scales
// or mins) as L·scale with L in 0..nmax, the scale chosen among nine
// candidates around nmax/max by the weighted error, then refined by up to
// five passes of per-element coordinate descent.
func makeQpQuants(nmax int32, x []float32, L []uint8, qw []float32) float32 {
	n := len(x)
	var maxv float32
	for _, v := range x {
		maxv = max32(maxv, v)
	}
	if maxv < groupMaxEps {
		clear(L[:n])
		return 0
	}
	fnmax := float32(nmax)
	iscale := fnmax / maxv
	for i, v := range x {
		L[i] = uint8(nearestInt(iscale * v))
	}
	scale := 1 / iscale
	var bestMSE float32
	for i, v := range x {
		diff := v - float32(scale*float32(L[i]))
		bestMSE += float32(float32(qw[i]*diff) * diff)
	}
	for is := int32(-4); is <= 4; is++ {
		if is == 0 {
			continue
		}
		iscaleIs := (float32(0.1*float32(is)) + fnmax) / maxv
		scaleIs := 1 / iscaleIs
		var mse float32
		for i, v := range x {
			l := min(nmax, nearestInt(iscaleIs*v))
			diff := v - float32(scaleIs*float32(l))
			mse += float32(float32(qw[i]*diff) * diff)
		}
		if mse < bestMSE {
			bestMSE = mse
			iscale = iscaleIs
		}
	}
	var sumlx, suml2 float32
	for i, v := range x {
		l := min(nmax, nearestInt(iscale*v))
		L[i] = uint8(l)
		w := qw[i]
		fl := float32(l)
		sumlx += float32(float32(w*v) * fl)
		suml2 += float32(float32(w*fl) * fl)
	}
	for itry := 0; itry < 5; itry++ {
		changed := 0
		for i, v := range x {
			w := qw[i]
			li := float32(L[i])
			slx := sumlx - float32(float32(w*v)*li)
			sl2 := suml2 - float32(float32(w*li)*li)
			if slx > 0 && sl2 > 0 {
				newL := min(nmax, nearestInt(float32(v*sl2)/slx))
				if newL != int32(L[i]) {
					fn := float32(newL)
					slx += float32(float32(w*v) * fn)
					sl2 += float32(float32(w*fn) * fn)
					if float32(float32(slx*slx)*suml2) > float32(float32(sumlx*sumlx)*sl2) {
						L[i] = uint8(newL)
						sumlx, suml2 = slx, sl2
						changed++
					}
				}
			}
		}
		if changed == 0 {
			break
		}
	}
	if suml2 > 0 {
		return sumlx / suml2
	}
	return 0
}
