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
		if (t == Q4_1 || t == Q5_1) && q != nil && q.Qkx2Fit != nil {
			q.affineRowWeighted(t, src, dst, importance, sigma2)
			return nil
		}
		for i, o := 0, 0; i < len(src); i, o = i+qk, o+tr.BlockBytes {
			quantizeLegacyWeighted(t, src[i:i+qk], dst[o:o+tr.BlockBytes], importance[i:i+qk], sigma2, q)
		}
		return nil
	}
	if (t == Q4_K || t == Q5_K) && q != nil && q.Qkx2Fit != nil {
		q.k4k5Row(t, src, dst, importance)
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
			quantizeQ2_K(x, y, qw, q)
		case Q3_K:
			quantizeQ3_KWeighted(x, y, qw, q)
		case Q4_K, Q5_K:
			quantizeK4K5(k4k5For(t, qw != nil), x, y, qw, q)
		case Q6_K:
			quantizeQ6_K(x, y, qw, q)
		case IQ4_NL:
			quantizeIQ4_NL(x, y, qw, q)
		case IQ4_XS:
			quantizeIQ4_XS(x, y, qw, q)
		case IQ3_XXS, IQ3_S, IQ2_XXS, IQ2_XS, IQ2_S:
			quantizeIQGridBlock(t, x, y, qw, q)
		case IQ1_S:
			quantizeIQ1_SBlock(x, y, qw, q)
		case IQ1_M:
			quantizeIQ1_MBlock(x, y, qw, q)
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
// square sigma2; Q4_0's and Q5_0's search with q's QxFit where q has one.
func quantizeLegacyWeighted(t Type, x []float32, y []byte, qw []float32, sigma2 float32, q *Quantizer) {
	var w [qk]float32
	importanceWeights(w[:], x, qw, sigma2)
	switch t {
	case Q4_0, Q5_0:
		var L [qk]int8
		nmax := int32(8)
		if t == Q5_0 {
			nmax = 16
		}
		d := makeQxQuants(nmax, x, L[:], w[:], q)
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
		d, mn := makeQkx2Quants(affineParams(t), x, w[:], L[:], laux[:])
		putAffine(t, y, d, mn, L[:])
	}
}

// affineParams is make_qkx3_quants's search for Q4_1 or Q5_1 blocks.
func affineParams(t Type) Qkx2Params {
	p := Qkx2Params{NMax: 15, RMin: -0.9, RDelta: 0.05, NStep: 36, Guard: true}
	if t == Q5_1 {
		p.NMax = 31
	}
	return p
}

// putAffine writes a Q4_1 or Q5_1 block: scale d, min −mn and the codes L.
func putAffine(t Type, y []byte, d, mn float32, L []uint8) {
	put16(y, FP32ToFP16(d))
	put16(y[2:], FP32ToFP16(-mn))
	if t == Q4_1 {
		for j := 0; j < qk/2; j++ {
			y[q4_1QS+j] = L[j] | L[j+qk/2]<<4
		}
		return
	}
	var Ls [qk]int8
	for j, l := range L[:qk] {
		Ls[j] = int8(l)
	}
	packQ5(y[q5_1QS:], y[q5_1QH:], Ls[:])
}

// affineRowWeighted is quantizeLegacyWeighted over a Q4_1 or Q5_1 row with
// the blocks' searches batched through q's Qkx2Fit.
func (q *Quantizer) affineRowWeighted(t Type, src []float32, dst []byte, qw []float32, sigma2 float32) {
	n, nb := len(src), len(src)/qk
	w, L, s := q.rowScratch(n, 2*nb)
	scales, mins := s[:nb], s[nb:]
	for i := 0; i < n; i += qk {
		importanceWeights(w[i:i+qk], src[i:i+qk], qw[i:i+qk], sigma2)
	}
	q.qkx2(affineParams(t), qk, src, w, L, scales, mins)
	bs := t.Traits().BlockBytes
	for b := range nb {
		putAffine(t, dst[b*bs:(b+1)*bs], scales[b], mins[b], L[b*qk:(b+1)*qk])
	}
}

// rowScratch is q's scratch for a row's batched searches: n weights, n
// codes and ns scales (and mins, and sums), grown as rows need.
func (q *Quantizer) rowScratch(n, ns int) (w []float32, L []uint8, s []float32) {
	q.rowW, q.rowL, q.rowS = grow(q.rowW, n), grow(q.rowL, n), grow(q.rowS, ns)
	return q.rowW, q.rowL, q.rowS
}

// grow is s with room for n elements, reallocated only when too short.
func grow[E any](s []E, n int) []E {
	if cap(s) < n {
		return make([]E, n)
	}
	return s[:n]
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
func quantizeQ2_KWeighted(x []float32, y []byte, qw []float32, q *Quantizer) {
	var (
		L            [QK_K]uint8
		w            [QK_K]float32
		scales, mins [QK_K / 16]float32
		sw           [QK_K / 16]float32
		Ls, Lm       [QK_K / 16]uint8
	)
	sigma2 := meanSquare(x[:QK_K])
	p := Qkx2Params{NMax: 3, RMin: -0.9, RDelta: 0.05, NStep: 36, Guard: true}
	for j := 0; j < QK_K/16; j++ {
		ws := w[16*j : 16*j+16]
		importanceWeights(ws, x[16*j:16*j+16], qw[16*j:16*j+16], sigma2)
		for _, v := range ws {
			sw[j] += v
		}
	}
	q.qkx2(p, 16, x[:QK_K], w[:], L[:], scales[:], mins[:])
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
// make_qx_quants weighted by each sub-block's total weight; both with q's
// QxFit where q has one.
func quantizeQ3_KWeighted(x []float32, y []byte, qw []float32, q *Quantizer) {
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
		scales[j] = makeQxQuants(4, x[16*j:16*j+16], L[16*j:16*j+16], w[:], q)
	}
	sc := y[q3KScales : q3KScales+12]
	clear(sc)
	dBlock := makeQxQuants(32, scales[:], Ls[:], sw[:], q)
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
