package quant

// The Q4_K and Q5_K quantizers, ggml's quantize_row_q4_K/q5_K_ref and,
// with an importance matrix, their _impl, split where their sub-blocks'
// make_qkx2_quants searches are: the weights, then the searches, then the
// block's scales and codes. A Quantizer with a Qkx2Fit runs a whole row's
// searches in one go, sixteen sub-blocks (two super-blocks) a pass.

// k4k5Quant is one of the four: Q4_K or Q5_K, with importance or not.
type k4k5Quant struct {
	p                      Qkx2Params
	weighted               bool
	offD, offDmin, offScal int
	pack                   func(L []uint8, y []byte)
}

func k4k5For(t Type, weighted bool) k4k5Quant {
	k := k4k5Quant{weighted: weighted}
	switch t {
	case Q4_K:
		k.p = Qkx2Params{NMax: 15, RMin: -1, RDelta: 0.1, NStep: 20}
		k.offD, k.offDmin, k.offScal, k.pack = q4KD, q4KDmin, q4KScales, packQ4K
	default:
		k.p = Qkx2Params{NMax: 31, RMin: -0.5, RDelta: 0.1, NStep: 15}
		k.offD, k.offDmin, k.offScal, k.pack = q5KD, q5KDmin, q5KScales, packQ5K
	}
	if weighted { // make_qkx3_quants's search
		k.p.RMin, k.p.RDelta, k.p.NStep, k.p.Guard = -0.9, 0.05, 36, true
	}
	return k
}

// weights fills w (QK_K) with the super-block x's search weights and sw
// (QK_K/32) with each sub-block's total where weighted: avg|x| + |x| for
// the reference quantizer, the importance qw grown against twice the
// super-block's mean square for the weighted one.
func (k k4k5Quant) weights(x, qw, w, sw []float32) {
	if !k.weighted {
		for j := 0; j < QK_K/32; j++ {
			xs := x[32*j : 32*j+32]
			var sumX2 float32
			for _, v := range xs {
				sumX2 += float32(v * v)
			}
			avX := sqrt32(sumX2 / 32)
			for l, v := range xs {
				w[32*j+l] = avX + abs32(v)
			}
		}
		return
	}
	sigma2 := 2 * meanSquare(x[:QK_K])
	for j := 0; j < QK_K/32; j++ {
		ws := w[32*j : 32*j+32]
		importanceWeights(ws, x[32*j:32*j+32], qw[32*j:32*j+32], sigma2)
		var sum float32
		for _, v := range ws {
			sum += v
		}
		sw[j] = sum
	}
}

// finish writes the super-block y from its sub-blocks' fits (scales,
// mins, the codes L): the 6-bit scales and mins, relative to the largest
// or (weighted) by make_qp_quants on the sub-blocks' weights sw, then L
// quantized again with the stored scales and packed.
func (k k4k5Quant) finish(x []float32, y []byte, L []uint8, scales, mins, sw []float32) {
	sc := y[k.offScal : k.offScal+12]
	if k.weighted {
		var Ls, Lm [QK_K / 32]uint8
		dBlock := makeQpQuants(63, scales, Ls[:], sw)
		mBlock := makeQpQuants(63, mins, Lm[:], sw)
		clear(sc)
		for j := range Ls {
			putScaleMinK4(sc, j, min(63, Ls[j]), min(63, Lm[j]))
		}
		put16(y[k.offD:], FP32ToFP16(dBlock))
		put16(y[k.offDmin:], FP32ToFP16(mBlock))
	} else {
		var maxScale, maxMn float32
		for j := range scales {
			maxScale = max32(maxScale, scales[j])
			maxMn = max32(maxMn, mins[j])
		}
		var invScale, invMin float32
		if maxScale > 0 {
			invScale = 63 / maxScale
		}
		if maxMn > 0 {
			invMin = 63 / maxMn
		}
		for j := range scales {
			ls := min(63, uint8(nearestInt(invScale*scales[j])))
			lm := min(63, uint8(nearestInt(invMin*mins[j])))
			putScaleMinK4(sc, j, ls, lm)
		}
		put16(y[k.offD:], FP32ToFP16(maxScale/63))
		put16(y[k.offDmin:], FP32ToFP16(maxMn/63))
	}
	requantK4K5(x, y, L, k.p.NMax, k.offD, k.offDmin, k.offScal)
	k.pack(L, y)
}

func quantizeQ4_KBlock(x []float32, y []byte) { quantizeK4K5(k4k5For(Q4_K, false), x, y, nil, nil) }
func quantizeQ5_KBlock(x []float32, y []byte) { quantizeK4K5(k4k5For(Q5_K, false), x, y, nil, nil) }

// quantizeK4K5 quantizes one super-block with k (qw its importance where
// k is weighted), with q's fits where q has them.
func quantizeK4K5(k k4k5Quant, x []float32, y []byte, qw []float32, q *Quantizer) {
	var (
		L                [QK_K]uint8
		w                [QK_K]float32
		scales, mins, sw [QK_K / 32]float32
	)
	k.weights(x, qw, w[:], sw[:])
	q.qkx2(k.p, 32, x[:QK_K], w[:], L[:], scales[:], mins[:])
	k.finish(x, y, L[:], scales[:], mins[:], sw[:])
}

// k4k5Row is quantizeK4K5 over the row src (importance where not nil),
// the row's searches batched through q's Qkx2Fit.
func (q *Quantizer) k4k5Row(t Type, src []float32, dst []byte, importance []float32) {
	k := k4k5For(t, importance != nil)
	n, nb := len(src), len(src)/QK_K
	ng := n / 32
	w, L, s := q.rowScratch(n, 3*ng)
	scales, mins, sw := s[:ng], s[ng:2*ng], s[2*ng:]
	var qw []float32
	for b := range nb {
		if importance != nil {
			qw = importance[b*QK_K : (b+1)*QK_K]
		}
		k.weights(src[b*QK_K:(b+1)*QK_K], qw, w[b*QK_K:(b+1)*QK_K], sw[b*QK_K/32:(b+1)*QK_K/32])
	}
	q.qkx2(k.p, 32, src, w, L, scales, mins)
	bs := t.Traits().BlockBytes
	for b := range nb {
		g := b * QK_K / 32
		k.finish(src[b*QK_K:(b+1)*QK_K], dst[b*bs:(b+1)*bs], L[b*QK_K:(b+1)*QK_K], scales[g:g+QK_K/32], mins[g:g+QK_K/32], sw[g:g+QK_K/32])
	}
}
