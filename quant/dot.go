package quant

import "fmt"

// VecDot references: one weight row against one activation row already in
// VecDotType(w), computed like ggml's generic ggml_vec_dot_*: exact integer
// sums inside each block, then scaled and accumulated in float32 block by
// block. The K-quant functions sum each super-block's integer products
// into one int32 before scaling (ggml's generic code keeps 8 partial sums;
// the difference is rounding only). F32/F16/BF16 accumulate in float64 as
// ggml's scalar path does. Each block's term is rounded before it is added
// (float32(...)): Go may fuse a product into the sum after it on arm64 and
// other architectures with fused multiply-add, and then the same row would
// give other bits there than on amd64 and in ggml.

// VecDot returns the dot product of an n-element weight row of type w with
// an activation row of type VecDotType(w); n must be a multiple of w's
// block size (rows come from tensors whose shapes were validated at load
// time, so a partial block cannot occur). It panics when w has no dot
// product here or the rows are shorter than n elements: both are programming
// errors, since rows come from tensors whose sizes were checked at load time.
func VecDot(w Type, n int, wRow []byte, aRow []byte) float32 {
	switch w {
	case F32:
		return dotF32(n, wRow, aRow)
	case F16:
		return dotHalf(n, wRow, aRow, FP16ToFP32)
	case BF16:
		return dotHalf(n, wRow, aRow, BF16ToFP32)
	case Q4_0:
		return dotQ4_0(n/qk, wRow, aRow)
	case Q4_1:
		return dotQ4_1(n/qk, wRow, aRow)
	case Q5_0:
		return dotQ5_0(n/qk, wRow, aRow)
	case Q5_1:
		return dotQ5_1(n/qk, wRow, aRow)
	case Q8_0:
		return dotQ8_0(n/qk, wRow, aRow)
	case Q2_K:
		return dotQ2_K(n/QK_K, wRow, aRow)
	case Q3_K:
		return dotQ3_K(n/QK_K, wRow, aRow)
	case Q4_K:
		return dotQ4_K(n/QK_K, wRow, aRow)
	case Q5_K:
		return dotQ5_K(n/QK_K, wRow, aRow)
	case Q6_K:
		return dotQ6_K(n/QK_K, wRow, aRow)
	case IQ4_NL:
		return dotIQ4_NL(n/qk, wRow, aRow)
	case IQ4_XS:
		return dotIQ4_XS(n/QK_K, wRow, aRow)
	case IQ2_XXS:
		return dotIQLevels(IQ2_XXS, n/QK_K, wRow, aRow)
	case IQ2_XS:
		return dotIQLevels(IQ2_XS, n/QK_K, wRow, aRow)
	case IQ2_S:
		return dotIQLevels(IQ2_S, n/QK_K, wRow, aRow)
	case IQ3_XXS:
		return dotIQLevels(IQ3_XXS, n/QK_K, wRow, aRow)
	case IQ3_S:
		return dotIQLevels(IQ3_S, n/QK_K, wRow, aRow)
	case IQ1_S:
		return dotIQ1_S(n/QK_K, wRow, aRow)
	case IQ1_M:
		return dotIQ1_M(n/QK_K, wRow, aRow)
	}
	panic(fmt.Sprintf("quant.VecDot: no dot product for weight type %v", w))
}

func dotF32(n int, w, a []byte) float32 {
	var sum float64
	for i := 0; i < n; i++ {
		sum += float64(f32at(w[4*i:]) * f32at(a[4*i:]))
	}
	return float32(sum)
}

func dotHalf(n int, w, a []byte, conv func(uint16) float32) float32 {
	var sum float64
	for i := 0; i < n; i++ {
		sum += float64(conv(le16(w[2*i:])) * conv(le16(a[2*i:])))
	}
	return float32(sum)
}

// q8Block returns the 32 quants and the fp16 scale of block i of a Q8_0
// (off = 2) or Q8_1 (off = 4) activation row.
func q8Block(a []byte, i, bytes, off int) (qs []byte, d float32) {
	b := a[i*bytes : (i+1)*bytes]
	return b[off : off+qk], f16at(b)
}

func dotQ4_0(nb int, w, a []byte) float32 {
	var sumf float32
	for i := 0; i < nb; i++ {
		x := w[i*18 : i*18+18]
		qy, dy := q8Block(a, i, 34, q8_0QS)
		var sumi int32
		for j := 0; j < qk/2; j++ {
			b := x[q4_0QS+j]
			sumi += (int32(b&0xf) - 8) * int32(int8(qy[j]))
			sumi += (int32(b>>4) - 8) * int32(int8(qy[j+qk/2]))
		}
		sumf += float32(float32(float32(sumi)*f16at(x)) * dy)
	}
	return sumf
}

func dotQ4_1(nb int, w, a []byte) float32 {
	var sumf float32
	for i := 0; i < nb; i++ {
		x := w[i*20 : i*20+20]
		qy, dy := q8Block(a, i, 36, q8_1QS)
		var sumi int32
		for j := 0; j < qk/2; j++ {
			b := x[q4_1QS+j]
			sumi += int32(b&0xf) * int32(int8(qy[j]))
			sumi += int32(b>>4) * int32(int8(qy[j+qk/2]))
		}
		sy := f16at(a[i*36+q8_1Sum:])
		sumf += float32(float32(f16at(x)*dy)*float32(sumi)) + float32(f16at(x[2:])*sy)
	}
	return sumf
}

func dotQ5_0(nb int, w, a []byte) float32 {
	var sumf float32
	for i := 0; i < nb; i++ {
		x := w[i*22 : i*22+22]
		qy, dy := q8Block(a, i, 34, q8_0QS)
		qh := getQH(x[q5_0QH:])
		var sumi int32
		for j := 0; j < qk/2; j++ {
			b := x[q5_0QS+j]
			x0 := int32(b&0xf|uint8(qh>>j)&1<<4) - 16
			x1 := int32(b>>4|uint8(qh>>(j+16))&1<<4) - 16
			sumi += x0*int32(int8(qy[j])) + x1*int32(int8(qy[j+qk/2]))
		}
		sumf += float32(float32(f16at(x)*dy) * float32(sumi))
	}
	return sumf
}

func dotQ5_1(nb int, w, a []byte) float32 {
	var sumf float32
	for i := 0; i < nb; i++ {
		x := w[i*24 : i*24+24]
		qy, dy := q8Block(a, i, 36, q8_1QS)
		qh := getQH(x[q5_1QH:])
		var sumi int32
		for j := 0; j < qk/2; j++ {
			b := x[q5_1QS+j]
			x0 := int32(b&0xf | uint8(qh>>j)&1<<4)
			x1 := int32(b>>4 | uint8(qh>>(j+16))&1<<4)
			sumi += x0*int32(int8(qy[j])) + x1*int32(int8(qy[j+qk/2]))
		}
		sy := f16at(a[i*36+q8_1Sum:])
		sumf += float32(float32(f16at(x)*dy)*float32(sumi)) + float32(f16at(x[2:])*sy)
	}
	return sumf
}

func dotQ8_0(nb int, w, a []byte) float32 {
	var sumf float32
	for i := 0; i < nb; i++ {
		x := w[i*34 : i*34+34]
		qy, dy := q8Block(a, i, 34, q8_0QS)
		var sumi int32
		for j := 0; j < qk; j++ {
			sumi += int32(int8(x[q8_0QS+j])) * int32(int8(qy[j]))
		}
		sumf += float32(float32(sumi) * float32(f16at(x)*dy))
	}
	return sumf
}

// q8KBlock returns block i of a Q8_K row: its quants, float32 scale and the
// sums of each group of 16 quants.
func q8KBlock(a []byte, i int) (qs []byte, d float32, bsum func(g int) int32) {
	b := a[i*292 : (i+1)*292]
	return b[q8KQS : q8KQS+QK_K], f32at(b[q8KD:]), func(g int) int32 {
		return int32(int16(le16(b[q8KBsums+2*g:])))
	}
}

func dotQ2_K(nb int, w, a []byte) float32 {
	var sumf float32
	for i := 0; i < nb; i++ {
		x := w[i*84 : i*84+84]
		q8, dy, bsum := q8KBlock(a, i)
		sc := x[q2KScales : q2KScales+16]
		var summs int32
		for j := 0; j < 16; j++ {
			summs += bsum(j) * int32(sc[j]>>4)
		}
		// Element e of group g (16 per group) is bits at shift 2·((g/2)%4)
		// of byte qs[32·(g/8) + 16·(g%2) + e].
		var isum int32
		for g := 0; g < 16; g++ {
			q := x[q2KQS+32*(g/8)+16*(g%2):]
			shift := 2 * ((g / 2) % 4)
			var s int32
			for l := 0; l < 16; l++ {
				s += int32(int8(q8[16*g+l])) * int32((q[l]>>shift)&3)
			}
			isum += int32(sc[g]&0xf) * s
		}
		dall := dy * f16at(x[q2KD:])
		dmin := dy * f16at(x[q2KDmin:])
		sumf += float32(dall*float32(isum)) - float32(dmin*float32(summs))
	}
	return sumf
}

func dotQ3_K(nb int, w, a []byte) float32 {
	var sumf float32
	for i := 0; i < nb; i++ {
		x := w[i*110 : i*110+110]
		q8, dy, _ := q8KBlock(a, i)
		sc := x[q3KScales : q3KScales+12]
		hm := x[q3KHmask : q3KHmask+32]
		var isum int32
		for g := 0; g < 16; g++ {
			half, k, sub := g/8, (g/2)%4, g%2
			q := x[q3KQS+32*half+16*sub:]
			m := uint8(1) << (4*half + k)
			var s int32
			for l := 0; l < 16; l++ {
				v := int32((q[l] >> (2 * k)) & 3)
				if hm[16*sub+l]&m == 0 {
					v -= 4
				}
				s += int32(int8(q8[16*g+l])) * v
			}
			isum += int32(q3KScale(sc, g)) * s
		}
		sumf += float32(float32(f16at(x[q3KD:])*dy) * float32(isum))
	}
	return sumf
}

// dotK4K5 is the Q4_K/Q5_K dot: quant(e) returns the 4/5-bit value of
// element e of the super-block.
func dotK4K5(x []byte, q8 []byte, dy float32, bsum func(int) int32, offD, offDmin, offSc int, quant func(e int) int32) float32 {
	sc := x[offSc : offSc+12]
	var isum, mins int32
	for j := 0; j < QK_K/32; j++ {
		s, m := scaleMinK4(j, sc)
		var part int32
		for l := 0; l < 32; l++ {
			part += int32(int8(q8[32*j+l])) * quant(32*j+l)
		}
		isum += int32(s) * part
		mins += int32(m) * (bsum(2*j) + bsum(2*j+1))
	}
	d := f16at(x[offD:]) * dy
	dmin := f16at(x[offDmin:]) * dy
	return float32(d*float32(isum)) - float32(dmin*float32(mins))
}

func dotQ4_K(nb int, w, a []byte) float32 {
	var sumf float32
	for i := 0; i < nb; i++ {
		x := w[i*144 : i*144+144]
		q8, dy, bsum := q8KBlock(a, i)
		qs := x[q4KQS : q4KQS+128]
		sumf += dotK4K5(x, q8, dy, bsum, q4KD, q4KDmin, q4KScales, func(e int) int32 {
			b := qs[32*(e/64)+e%32]
			if e%64 < 32 {
				return int32(b & 0xf)
			}
			return int32(b >> 4)
		})
	}
	return sumf
}

func dotQ5_K(nb int, w, a []byte) float32 {
	var sumf float32
	for i := 0; i < nb; i++ {
		x := w[i*176 : i*176+176]
		q8, dy, bsum := q8KBlock(a, i)
		qs := x[q5KQS : q5KQS+128]
		qh := x[q5KQH : q5KQH+32]
		sumf += dotK4K5(x, q8, dy, bsum, q5KD, q5KDmin, q5KScales, func(e int) int32 {
			b := qs[32*(e/64)+e%32]
			v := int32(b & 0xf)
			if e%64 >= 32 {
				v = int32(b >> 4)
			}
			if qh[e%32]>>(e/32)&1 != 0 { // bit 2c (low) or 2c+1 (high) = e/32
				v += 16
			}
			return v
		})
	}
	return sumf
}

func dotQ6_K(nb int, w, a []byte) float32 {
	var sumf float32
	for i := 0; i < nb; i++ {
		x := w[i*210 : i*210+210]
		q8, dy, _ := q8KBlock(a, i)
		var isum int32
		for half := 0; half < 2; half++ {
			ql := x[q6KQL+64*half:]
			qh := x[q6KQH+32*half:]
			sc := x[q6KScales+8*half:]
			base := 128 * half
			for l := 0; l < 32; l++ {
				is := l / 16
				q1, q2, q3, q4 := q6KQuant(ql, qh, l)
				isum += int32(int8(sc[is])) * int32(q1) * int32(int8(q8[base+l]))
				isum += int32(int8(sc[is+2])) * int32(q2) * int32(int8(q8[base+l+32]))
				isum += int32(int8(sc[is+4])) * int32(q3) * int32(int8(q8[base+l+64]))
				isum += int32(int8(sc[is+6])) * int32(q4) * int32(int8(q8[base+l+96]))
			}
		}
		sumf += float32(float32(f16at(x[q6KD:])*dy) * float32(isum))
	}
	return sumf
}
