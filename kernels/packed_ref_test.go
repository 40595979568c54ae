package kernels

import (
	"encoding/binary"
	"math"

	"github.com/nuri-ai/nuri/quant"
)

// packedRef is the reference of MatMulPacked: the same float operations in
// the same order, from the unpacked matrix. Activations are quantized as
// ggml does for the type (Q8_0, Q8_1 for Q4_1/Q5_1, Q8_K for the K-quants;
// float weights round them to their own type), then every output runs
// refBlock over the blocks in order.
func packedRef(wt quant.Type, w []byte, rows, cols int, x []float32, nx int, y []float32) {
	if floatType(wt) {
		packedRefFloat(wt, w, rows, cols, x, nx, y)
		return
	}
	at := quant.VecDotType(wt)
	qk := packedQK(wt)
	nb := cols / qk
	rb, _ := wt.RowBytes(cols)
	ab, _ := at.RowBytes(cols)
	bb, abb := wt.BlockBytes(), ab/nb
	raw := make([]byte, ab)
	for i := range nx {
		if err := quant.QuantizeActivations(at, x[i*cols:(i+1)*cols], raw); err != nil {
			panic(err)
		}
		for r := range rows {
			var acc float32
			for b := range nb {
				acc = refBlock(wt, w[r*rb+b*bb:r*rb+(b+1)*bb], raw[b*abb:(b+1)*abb], acc)
			}
			y[i*rows+r] = acc
		}
	}
}

func f16At(b []byte) float32 { return quant.FP16ToFP32(binary.LittleEndian.Uint16(b)) }

// refBlock adds one weight block's contribution to acc as the packed
// kernels do: exact integer dots (scaled by the integer sub-block scales and
// summed as int32 for the K-quants), then one fused multiply-add by
// d_w·d_a, and one more for a minimum term.
func refBlock(wt quant.Type, blk, act []byte, acc float32) float32 {
	switch wt {
	case quant.Q4_0, quant.Q5_0, quant.Q8_0, quant.Q4_1, quant.Q5_1, quant.IQ4_NL:
		var vals [32]int32
		qs, qh, zero := blk[2:], uint32(0), int32(0)
		switch wt {
		case quant.Q4_0:
			zero = 8
		case quant.Q5_0:
			qh, qs, zero = binary.LittleEndian.Uint32(blk[2:]), blk[6:], 16
		case quant.Q4_1:
			qs = blk[4:]
		case quant.Q5_1:
			qh, qs = binary.LittleEndian.Uint32(blk[4:]), blk[8:]
		}
		for j := range 32 {
			if wt == quant.Q8_0 {
				vals[j] = int32(int8(qs[j]))
				continue
			}
			nib := int32(qs[j%16] >> (4 * (j / 16)) & 15)
			if wt == quant.IQ4_NL {
				vals[j] = int32(quant.IQ4Levels()[nib])
				continue
			}
			vals[j] = nib | int32(qh>>j&1)<<4 - zero
		}
		aq := act[2:]
		if wt == quant.Q4_1 || wt == quant.Q5_1 {
			aq = act[4:] // Q8_1: d, s, qs
		}
		var dot int32
		for j := range 32 {
			dot += vals[j] * int32(int8(aq[j]))
		}
		acc = fma32(float32(dot), f16At(blk)*f16At(act), acc)
		if wt == quant.Q4_1 || wt == quant.Q5_1 {
			acc = fma32(f16At(blk[2:]), f16At(act[2:]), acc)
		}
		return acc
	}
	// K-quants against Q8_K: d (f32), qs[256].
	da := f32le(act)
	aq := act[q8KQSOff : q8KQSOff+quant.QK_K]
	switch wt {
	case quant.IQ2_XXS, quant.IQ3_XXS, quant.IQ3_S, quant.IQ1_S, quant.IQ2_XS, quant.IQ2_S, quant.IQ1_M:
		var level [quant.QK_K]int8
		var mult [16]int8
		d := quant.FP16ToFP32(quant.IQDecode(wt, blk, &level, &mult)) * quant.IQFactor(wt)
		gs := quant.IQGroupSize(wt)
		var tot int32
		for m := range quant.QK_K / gs {
			var dot int32
			for j := range gs {
				dot += int32(level[gs*m+j]) * int32(int8(aq[gs*m+j]))
			}
			tot += int32(mult[m]) * dot
		}
		return fma32(float32(tot), d*da, acc)
	case quant.IQ4_XS:
		levels := quant.IQ4Levels()
		h := binary.LittleEndian.Uint16(blk[2:])
		var tot int32
		for s := range 8 {
			sc := int32(blk[4+s/2]>>(4*(s%2)))&15 | int32(h>>(2*s))&3<<4 - 32
			var dot int32
			for j := range 32 {
				c := blk[8+16*s+j%16] >> (4 * (j / 16)) & 15
				dot += int32(levels[c]) * int32(int8(aq[32*s+j]))
			}
			tot += sc * dot
		}
		return fma32(float32(tot), f16At(blk)*da, acc)
	case quant.Q6_K, quant.Q3_K:
		var u [quant.QK_K]uint8
		var sc [16]int8
		var dw float32
		if wt == quant.Q3_K {
			q3KCodes(blk, &u, &sc)
			dw = f16At(blk[108:])
		} else {
			q6KCodes(blk, &u, &sc)
			dw = f16At(blk[208:])
		}
		zero := packZero(wt)
		var tot int32
		for s := range 16 {
			var dot int32
			for e := 16 * s; e < 16*s+16; e++ {
				dot += (int32(u[e]) - zero) * int32(int8(aq[e]))
			}
			tot += int32(sc[s]) * dot
		}
		return fma32(float32(tot), dw*da, acc)
	}
	// Q2_K, Q4_K, Q5_K: Σ scale·(sub-block dot) and Σ min·(sub-block sum).
	var dots, mins int32
	var dw, dmin float32
	if wt == quant.Q2_K {
		dw, dmin = f16At(blk[80:]), f16At(blk[82:])
		for s := range 16 {
			var dot, sum int32
			for e := 16 * s; e < 16*s+16; e++ {
				av := int32(int8(aq[e]))
				dot += q2KCode(blk, e) * av
				sum += av
			}
			dots += int32(blk[s]&0xF) * dot
			mins += int32(blk[s]>>4) * sum
		}
	} else {
		dw, dmin = f16At(blk), f16At(blk[2:])
		qsOff := 16 // Q4_K: d, dmin, scales[12], qs; Q5_K has qh[32] before qs
		if wt == quant.Q5_K {
			qsOff = 48
		}
		for s := range 8 {
			sc, m := q4KScaleMin(blk[4:16], s)
			var dot, sum int32
			for l := range 32 {
				q := int32(blk[qsOff+32*(s/2)+l]>>(4*(s%2))) & 15
				if wt == quant.Q5_K {
					q |= int32(blk[16+l]>>s&1) << 4
				}
				av := int32(int8(aq[32*s+l]))
				dot += q * av
				sum += av
			}
			dots += int32(sc) * dot
			mins += int32(m) * sum
		}
	}
	acc = fma32(float32(dots), dw*da, acc)
	return fma32(-float32(mins), dmin*da, acc)
}

// q6KCodes decodes a Q6_K block (ggml layout: ql[128], qh[64], scales[16],
// d) into its unsigned 6-bit codes (value + 32) and sub-block scales.
func q6KCodes(blk []byte, u *[quant.QK_K]uint8, sc *[16]int8) {
	for h := range 2 {
		ql, qh := blk[64*h:], blk[128+32*h:]
		for l := range 32 {
			y := u[128*h+l:]
			y[0] = ql[l]&0xF | (qh[l]>>0&3)<<4
			y[32] = ql[l+32]&0xF | (qh[l]>>2&3)<<4
			y[64] = ql[l]>>4 | (qh[l]>>4&3)<<4
			y[96] = ql[l+32]>>4 | (qh[l]>>6&3)<<4
		}
	}
	for s := range 16 {
		sc[s] = int8(blk[192+s])
	}
}

// packedRefFloat is packedRef for F16, BF16 and F32 weights: activations
// rounded to the weight type; per output four chains by column mod 4, one
// fused multiply-add per column in order, then (a0+a1)+(a2+a3). BF16 on
// the VDPBF16PS kernels (packedBF16Dot) is packedRefBF16Dot.
func packedRefFloat(wt quant.Type, w []byte, rows, cols int, x []float32, nx int, y []float32) {
	if wt == quant.BF16 && packedBF16Dot {
		packedRefBF16Dot(w, rows, cols, x, nx, y)
		return
	}
	rb, _ := wt.RowBytes(cols)
	wrow := make([]float32, cols)
	xr := make([]float32, cols)
	for i := range nx {
		for e, v := range x[i*cols : (i+1)*cols] {
			switch wt {
			case quant.F16:
				v = quant.FP16ToFP32(quant.FP32ToFP16(v))
			case quant.BF16:
				v = quant.BF16ToFP32(quant.FP32ToBF16(v))
			}
			xr[e] = v
		}
		for r := range rows {
			if err := quant.Dequantize(wt, w[r*rb:(r+1)*rb], wrow); err != nil {
				panic(err)
			}
			var acc [4]float32
			for c, wv := range wrow {
				acc[c%4] = fma32(wv, xr[c], acc[c%4])
			}
			y[i*rows+r] = (acc[0] + acc[1]) + (acc[2] + acc[3])
		}
	}
}

// packedRefBF16Dot is packedRef for BF16 weights on the VDPBF16PS kernels:
// activations rounded to BF16; per output two chains by column pair mod 2
// (columns 4b, 4b+1 and 4b+2, 4b+3 of block b); per pair the odd column's
// product is added, rounded, then the even one's (each product exact),
// with BF16 denormals read as zero and every denormal sum flushed to zero,
// as VDPBF16PS does; then chain0 + chain1.
func packedRefBF16Dot(w []byte, rows, cols int, x []float32, nx int, y []float32) {
	rb, _ := quant.BF16.RowBytes(cols)
	bf := func(u uint16) float32 {
		if u&0x7f80 == 0 {
			u &= 0x8000 // denormals are zero
		}
		return quant.BF16ToFP32(u)
	}
	ftz := func(f float32) float32 {
		if math.Abs(float64(f)) < 0x1p-126 {
			return float32(math.Copysign(0, float64(f)))
		}
		return f
	}
	xr := make([]uint16, cols)
	for i := range nx {
		for e, v := range x[i*cols : (i+1)*cols] {
			xr[e] = quant.FP32ToBF16(v)
		}
		for r := range rows {
			row := w[r*rb : (r+1)*rb]
			var acc [2]float32
			for p := 0; p < cols/2; p++ {
				w0, w1 := binary.LittleEndian.Uint16(row[4*p:]), binary.LittleEndian.Uint16(row[4*p+2:])
				c := &acc[p%2]
				*c = ftz(fma32(bf(w1), bf(xr[2*p+1]), *c))
				*c = ftz(fma32(bf(w0), bf(xr[2*p]), *c))
			}
			y[i*rows+r] = acc[0] + acc[1]
		}
	}
}
