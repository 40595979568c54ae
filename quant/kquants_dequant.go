package quant

// Dequantizers of the K-quant super-blocks (ggml-quants.c dequantize_row_*),
// in ggml's float32 order of operations.

func dequantizeQ2_KBlock(x []byte, y []float32) {
	d, dmin := f16at(x[q2KD:]), f16at(x[q2KDmin:])
	sc := x[q2KScales : q2KScales+16]
	is := 0
	for half := 0; half < 2; half++ {
		q := x[q2KQS+32*half : q2KQS+32*half+32]
		out := y[128*half:]
		for shift := 0; shift < 8; shift += 2 {
			for g := 0; g < 2; g++ { // two groups of 16 per shift
				s := sc[is]
				is++
				dl, ml := d*float32(s&0xf), float32(dmin*float32(s>>4))
				for l := 0; l < 16; l++ {
					v := (q[16*g+l] >> shift) & 3
					out[16*g+l] = float32(dl*float32(v)) - ml
				}
			}
			out = out[32:]
		}
	}
}

func dequantizeQ3_KBlock(x []byte, y []float32) {
	dAll := f16at(x[q3KD:])
	sc := x[q3KScales : q3KScales+12]
	hm := x[q3KHmask : q3KHmask+32]
	is := 0
	for half := 0; half < 2; half++ {
		q := x[q3KQS+32*half : q3KQS+32*half+32]
		out := y[128*half:]
		for k := 0; k < 4; k++ { // shift 2k, hmask bit 4·half+k
			shift := 2 * k
			m := uint8(1) << (4*half + k)
			for g := 0; g < 2; g++ {
				dl := dAll * float32(q3KScale(sc, is))
				is++
				for l := 0; l < 16; l++ {
					v := int8((q[16*g+l] >> shift) & 3)
					if hm[16*g+l]&m == 0 {
						v -= 4
					}
					out[16*g+l] = dl * float32(v)
				}
			}
			out = out[32:]
		}
	}
}

func dequantizeQ4_KBlock(x []byte, y []float32) {
	d, dmin := f16at(x[q4KD:]), f16at(x[q4KDmin:])
	sc := x[q4KScales : q4KScales+12]
	for c := 0; c < 4; c++ {
		q := x[q4KQS+32*c : q4KQS+32*c+32]
		s1, m1 := scaleMinK4(2*c, sc)
		s2, m2 := scaleMinK4(2*c+1, sc)
		d1, mn1 := d*float32(s1), float32(dmin*float32(m1))
		d2, mn2 := d*float32(s2), float32(dmin*float32(m2))
		out := y[64*c : 64*c+64]
		for l := 0; l < 32; l++ {
			out[l] = float32(d1*float32(q[l]&0xf)) - mn1
			out[l+32] = float32(d2*float32(q[l]>>4)) - mn2
		}
	}
}

func dequantizeQ5_KBlock(x []byte, y []float32) {
	d, dmin := f16at(x[q5KD:]), f16at(x[q5KDmin:])
	sc := x[q5KScales : q5KScales+12]
	qh := x[q5KQH : q5KQH+32]
	for c := 0; c < 4; c++ {
		ql := x[q5KQS+32*c : q5KQS+32*c+32]
		s1, m1 := scaleMinK4(2*c, sc)
		s2, m2 := scaleMinK4(2*c+1, sc)
		d1, mn1 := d*float32(s1), float32(dmin*float32(m1))
		d2, mn2 := d*float32(s2), float32(dmin*float32(m2))
		u1, u2 := uint8(1)<<(2*c), uint8(2)<<(2*c)
		out := y[64*c : 64*c+64]
		for l := 0; l < 32; l++ {
			v1, v2 := ql[l]&0xf, ql[l]>>4
			if qh[l]&u1 != 0 {
				v1 += 16
			}
			if qh[l]&u2 != 0 {
				v2 += 16
			}
			out[l] = float32(d1*float32(v1)) - mn1
			out[l+32] = float32(d2*float32(v2)) - mn2
		}
	}
}

// q6KQuant returns the four signed 6-bit values that share ql[l], ql[l+32]
// and qh[l] of one 128-element half (elements l, l+32, l+64, l+96).
func q6KQuant(ql, qh []byte, l int) (q1, q2, q3, q4 int8) {
	h := qh[l]
	q1 = int8(ql[l]&0xf|(h&3)<<4) - 32
	q2 = int8(ql[l+32]&0xf|((h>>2)&3)<<4) - 32
	q3 = int8(ql[l]>>4|((h>>4)&3)<<4) - 32
	q4 = int8(ql[l+32]>>4|((h>>6)&3)<<4) - 32
	return
}

func dequantizeQ6_KBlock(x []byte, y []float32) {
	d := f16at(x[q6KD:])
	for half := 0; half < 2; half++ {
		ql := x[q6KQL+64*half : q6KQL+64*half+64]
		qh := x[q6KQH+32*half : q6KQH+32*half+32]
		sc := x[q6KScales+8*half : q6KScales+8*half+8]
		out := y[128*half : 128*half+128]
		for l := 0; l < 32; l++ {
			is := l / 16
			q1, q2, q3, q4 := q6KQuant(ql, qh, l)
			out[l] = float32(d*float32(int8(sc[is]))) * float32(q1)
			out[l+32] = float32(d*float32(int8(sc[is+2]))) * float32(q2)
			out[l+64] = float32(d*float32(int8(sc[is+4]))) * float32(q3)
			out[l+96] = float32(d*float32(int8(sc[is+6]))) * float32(q4)
		}
	}
}

func dequantizeQ8_KBlock(x []byte, y []float32) {
	d := f32at(x[q8KD:])
	for j := 0; j < QK_K; j++ {
		y[j] = d * float32(int8(x[q8KQS+j]))
	}
}
