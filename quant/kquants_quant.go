package quant

// Reference quantizers of the K-quants (ggml-quants.c quantize_row_q*_K_ref),
// one 256-element super-block at a time. llama-quantize without an
// importance matrix calls exactly these (quantize_q*_K → *_ref).

// Byte offsets inside the K-quant super-blocks.
const (
	// Q2_K: scales[16] qs[64] d dmin
	q2KScales, q2KQS, q2KD, q2KDmin = 0, 16, 80, 82
	// Q3_K: hmask[32] qs[64] scales[12] d
	q3KHmask, q3KQS, q3KScales, q3KD = 0, 32, 96, 108
	// Q4_K: d dmin scales[12] qs[128]
	q4KD, q4KDmin, q4KScales, q4KQS = 0, 2, 4, 16
	// Q5_K: d dmin scales[12] qh[32] qs[128]
	q5KD, q5KDmin, q5KScales, q5KQH, q5KQS = 0, 2, 4, 16, 48
	// Q6_K: ql[128] qh[64] scales[16] d
	q6KQL, q6KQH, q6KScales, q6KD = 0, 128, 192, 208
	// Q8_K: d(f32) qs[256] bsums[16](int16)
	q8KD, q8KQS, q8KBsums = 0, 4, 260
)

// packQ2Bits stores 256 2-bit values in the Q2_K/Q3_K order: byte l of each
// 32-byte half holds elements l, l+32, l+64, l+96 of that 128-element half.
func packQ2Bits(L []uint8, qs []byte) {
	for j := 0; j < QK_K; j += 128 {
		for l := 0; l < 32; l++ {
			qs[j/4+l] = L[j+l] | L[j+l+32]<<2 | L[j+l+64]<<4 | L[j+l+96]<<6
		}
	}
}

func quantizeQ2_KBlock(x []float32, y []byte) { quantizeQ2_K(x, y, nil, nil) }

// quantizeQ2_K is quantize_row_q2_K_ref for one super-block, or with an
// importance matrix qw quantize_row_q2_K_impl's; q's fits where q has
// them.
func quantizeQ2_K(x []float32, y []byte, qw []float32, q *Quantizer) {
	if qw != nil {
		quantizeQ2_KWeighted(x, y, qw, q)
		return
	}
	var (
		L               [QK_K]uint8
		weights         [QK_K]float32
		scales, mins    [QK_K / 16]float32
		maxScale, maxMn float32
	)
	p := Qkx2Params{NMax: 3, RMin: -0.5, RDelta: 0.1, NStep: 15, UseMad: true}
	for i, v := range x[:QK_K] {
		weights[i] = abs32(v)
	}
	q.qkx2(p, 16, x[:QK_K], weights[:], L[:], scales[:], mins[:])
	for j := range scales {
		maxScale = max32(maxScale, scales[j])
		maxMn = max32(maxMn, mins[j])
	}
	sc := y[q2KScales : q2KScales+16]
	if maxScale > 0 {
		iscale := 15 / maxScale
		for j := range sc {
			sc[j] = uint8(nearestInt(iscale * scales[j]))
		}
		put16(y[q2KD:], FP32ToFP16(maxScale/15))
	} else {
		clear(sc)
		put16(y[q2KD:], FP32ToFP16(0))
	}
	if maxMn > 0 {
		iscale := 15 / maxMn
		for j := range sc {
			sc[j] |= uint8(nearestInt(iscale*mins[j]) << 4)
		}
		put16(y[q2KDmin:], FP32ToFP16(maxMn/15))
	} else {
		put16(y[q2KDmin:], FP32ToFP16(0))
	}
	finishQ2K(x, y, L[:])
}

// finishQ2K quantizes x again with the block's stored scales and mins and
// packs the 2-bit values (the end of both Q2_K quantizers).
func finishQ2K(x []float32, y []byte, L []uint8) {
	sc := y[q2KScales : q2KScales+16]
	dAll, dMin := f16at(y[q2KD:]), f16at(y[q2KDmin:])
	for j := 0; j < QK_K/16; j++ {
		d := dAll * float32(sc[j]&0xf)
		if d == 0 {
			continue
		}
		dm := float32(dMin * float32(sc[j]>>4))
		for ii := 0; ii < 16; ii++ {
			L[16*j+ii] = uint8(clampInt(nearestInt((x[16*j+ii]+dm)/d), 0, 3))
		}
	}
	packQ2Bits(L, y[q2KQS:q2KQS+64])
}

func max32(a, b float32) float32 {
	if b > a {
		return b
	}
	return a
}

// q3KScale returns the j-th 6-bit signed scale (−32..31) of a Q3_K block.
func q3KScale(sc []byte, j int) int8 {
	var lo uint8
	if j < 8 {
		lo = sc[j] & 0xf
	} else {
		lo = sc[j-8] >> 4
	}
	hi := (sc[8+j%4] >> (2 * (j / 4))) & 3
	return int8(lo|hi<<4) - 32
}

func quantizeQ3_KBlock(x []float32, y []byte) {
	var (
		L                [QK_K]int8
		scales           [QK_K / 16]float32
		maxScale, amaxSc float32
	)
	for j := 0; j < QK_K/16; j++ {
		scales[j] = makeQ3Quants(4, x[16*j:16*j+16], L[16*j:16*j+16])
		if a := abs32(scales[j]); a > amaxSc {
			amaxSc, maxScale = a, scales[j]
		}
	}
	sc := y[q3KScales : q3KScales+12]
	clear(sc)
	if maxScale != 0 {
		iscale := -32 / maxScale
		for j := 0; j < QK_K/16; j++ {
			l := int8(nearestInt(iscale * scales[j]))
			l = max(-32, min(31, l)) + 32
			if j < 8 {
				sc[j] = uint8(l) & 0xf
			} else {
				sc[j-8] |= (uint8(l) & 0xf) << 4
			}
			l >>= 4
			sc[j%4+8] |= uint8(l) << (2 * (j / 4))
		}
		put16(y[q3KD:], FP32ToFP16(1/iscale))
	} else {
		put16(y[q3KD:], FP32ToFP16(0))
	}
	finishQ3K(x, y, L[:])
}

// finishQ3K quantizes x again with the block's stored scales and packs
// the values, their third bits in hmask (the end of both Q3_K quantizers).
func finishQ3K(x []float32, y []byte, L []int8) {
	sc := y[q3KScales : q3KScales+12]
	dAll := f16at(y[q3KD:])
	for j := 0; j < QK_K/16; j++ {
		d := dAll * float32(q3KScale(sc, j))
		if d == 0 {
			continue
		}
		for ii := 0; ii < 16; ii++ {
			L[16*j+ii] = int8(clampInt(nearestInt(x[16*j+ii]/d), -4, 3) + 4)
		}
	}
	// The third bit goes to hmask: bit k of hmask[m] is element 32k+m.
	hmask := y[q3KHmask : q3KHmask+32]
	clear(hmask)
	var U [QK_K]uint8
	for j := 0; j < QK_K; j++ {
		u := uint8(L[j])
		if u > 3 {
			hmask[j%32] |= 1 << (j / 32)
			u -= 4
		}
		U[j] = u
	}
	packQ2Bits(U[:], y[q3KQS:q3KQS+64])
}

// putScaleMinK4 packs the 6-bit scale ls and min lm of sub-block j into the
// 12 scale bytes of Q4_K/Q5_K (the inverse of scaleMinK4).
func putScaleMinK4(sc []byte, j int, ls, lm uint8) {
	if j < 4 {
		sc[j] = ls
		sc[j+4] = lm
		return
	}
	sc[j+4] = ls&0xf | (lm&0xf)<<4
	sc[j-4] |= (ls >> 4) << 6
	sc[j] |= (lm >> 4) << 6
}

// scaleMinK4 is get_scale_min_k4: the 6-bit scale and min of sub-block j.
func scaleMinK4(j int, q []byte) (sc, m uint8) {
	if j < 4 {
		return q[j] & 63, q[j+4] & 63
	}
	return q[j+4]&0xf | (q[j-4]>>6)<<4, q[j+4]>>4 | (q[j]>>6)<<4
}

// requantK4K5 quantizes x again (0..nmax) with the Q4_K/Q5_K block's
// stored scales and mins.
func requantK4K5(x []float32, y []byte, L []uint8, nmax int32, offD, offDmin, offScales int) {
	sc := y[offScales : offScales+12]
	dAll, dMin := f16at(y[offD:]), f16at(y[offDmin:])
	for j := 0; j < QK_K/32; j++ {
		s, m := scaleMinK4(j, sc)
		d := dAll * float32(s)
		if d == 0 {
			continue
		}
		dm := float32(dMin * float32(m))
		for ii := 0; ii < 32; ii++ {
			L[32*j+ii] = uint8(clampInt(nearestInt((x[32*j+ii]+dm)/d), 0, nmax))
		}
	}
}

// packQ4K stores a Q4_K block's 4-bit values: each 64 elements as 32
// bytes, the first 32 in the low nibbles.
func packQ4K(L []uint8, y []byte) {
	q := y[q4KQS : q4KQS+128]
	for j := 0; j < QK_K; j += 64 {
		for l := 0; l < 32; l++ {
			q[j/2+l] = L[j+l] | L[j+l+32]<<4
		}
	}
}

// packQ5K stores a Q5_K block's 5-bit values: low nibbles in qs, fifth
// bits in qh.
func packQ5K(L []uint8, y []byte) {
	qh := y[q5KQH : q5KQH+32]
	ql := y[q5KQS : q5KQS+128]
	clear(qh)
	// Chunk c of 64 elements: low nibbles/bit 2c for the first 32, high
	// nibbles/bit 2c+1 for the next 32.
	for c := 0; c < QK_K/64; c++ {
		m1, m2 := uint8(1)<<(2*c), uint8(2)<<(2*c)
		for j := 0; j < 32; j++ {
			l1, l2 := L[64*c+j], L[64*c+j+32]
			if l1 > 15 {
				l1 -= 16
				qh[j] |= m1
			}
			if l2 > 15 {
				l2 -= 16
				qh[j] |= m2
			}
			ql[32*c+j] = l1 | l2<<4
		}
	}
}

func quantizeQ6_KBlock(x []float32, y []byte) { quantizeQ6_K(x, y, nil, nil) }

// quantizeQ6_K is quantize_row_q6_K_impl for one super-block: with qw nil
// the reference quantizer, else each 16-element scale fitted with the
// importance weights qw as they are (ggml does not scale them by the
// values here, unlike in the other types).
func quantizeQ6_K(x []float32, y []byte, qw []float32, q *Quantizer) {
	var (
		L                  [QK_K]int8
		scales             [QK_K / 16]float32
		maxScale, maxAbsSc float32
	)
	for ib := 0; ib < QK_K/16; ib++ {
		var w []float32
		if qw != nil {
			w = qw[16*ib : 16*ib+16]
		}
		s := makeQxQuants(32, x[16*ib:16*ib+16], L[16*ib:16*ib+16], w, q)
		scales[ib] = s
		if a := abs32(s); a > maxAbsSc {
			maxAbsSc, maxScale = a, s
		}
	}
	if maxAbsSc < groupMaxEps {
		clear(y[:210])
		return
	}
	iscale := -128 / maxScale
	put16(y[q6KD:], FP32ToFP16(1/iscale))
	sc := y[q6KScales : q6KScales+16]
	for ib := range sc {
		sc[ib] = uint8(int8(min(127, nearestInt(iscale*scales[ib]))))
	}
	dAll := f16at(y[q6KD:])
	for j := 0; j < QK_K/16; j++ {
		d := dAll * float32(int8(sc[j]))
		if d == 0 {
			continue
		}
		for ii := 0; ii < 16; ii++ {
			L[16*j+ii] = int8(clampInt(nearestInt(x[16*j+ii]/d), -32, 31) + 32)
		}
	}
	ql := y[q6KQL : q6KQL+128]
	qh := y[q6KQH : q6KQH+64]
	for j := 0; j < QK_K; j += 128 {
		for l := 0; l < 32; l++ {
			q1 := uint8(L[j+l])
			q2 := uint8(L[j+l+32])
			q3 := uint8(L[j+l+64])
			q4 := uint8(L[j+l+96])
			ql[j/2+l] = q1&0xf | (q3&0xf)<<4
			ql[j/2+l+32] = q2&0xf | (q4&0xf)<<4
			qh[j/4+l] = q1>>4 | (q2>>4)<<2 | (q3>>4)<<4 | (q4>>4)<<6
		}
	}
}

// quantizeQ8_KBlock is quantize_row_q8_K_ref (used for activations too):
// q = min(127, nearest_int(-127/max · x)), d = 1/iscale, plus group sums.
func quantizeQ8_KBlock(x []float32, y []byte) {
	maxv, amax := absMaxSigned(x[:QK_K])
	if amax == 0 {
		clear(y[:292]) // ggml leaves bsums stale here; zero is their true value
		return
	}
	iscale := -127 / maxv
	qs := y[q8KQS : q8KQS+QK_K]
	for j := 0; j < QK_K; j++ {
		qs[j] = uint8(int8(min(127, nearestInt(iscale*x[j]))))
	}
	for j := 0; j < QK_K/16; j++ {
		var sum int32
		for _, q := range qs[16*j : 16*j+16] {
			sum += int32(int8(q))
		}
		put16(y[q8KBsums+2*j:], uint16(int16(sum)))
	}
	putf32(y[q8KD:], 1/iscale)
}
