package quant

import "math"

// The 32-element block formats (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1): block
// layouts, ggml's reference quantizers (quantize_row_*_ref) and dequantizers.
//
// Arithmetic is float32 throughout, in ggml's order of operations. Products
// that feed a sum are wrapped in float32(...) so the compiler may not fuse
// them into an FMA (the Go spec allows fusion otherwise); ggml-base is built
// without FMA, so fusing would change rounding.

const qk = 32 // elements per block of the formats in this file

// Byte offsets inside the blocks.
const (
	q4_0QS  = 2 // d(2) qs[16]
	q4_1QS  = 4 // d(2) m(2) qs[16]
	q5_0QH  = 2 // d(2) qh[4] qs[16]
	q5_0QS  = 6
	q5_1QH  = 4 // d(2) m(2) qh[4] qs[16]
	q5_1QS  = 8
	q8_0QS  = 2 // d(2) qs[32]
	q8_1QS  = 4 // d(2) s(2) qs[32]
	q8_1Sum = 2
)

// absMaxSigned returns the element with the largest magnitude (the first one
// on ties) and that magnitude, as ggml's "amax/max" loops compute them.
func absMaxSigned(x []float32) (maxv, amax float32) {
	for _, v := range x {
		if a := abs32(v); amax < a {
			amax, maxv = a, v
		}
	}
	return maxv, amax
}

func abs32(v float32) float32 { return math.Float32frombits(math.Float32bits(v) &^ (1 << 31)) }

func minMax(x []float32) (lo, hi float32) {
	lo, hi = math.MaxFloat32, -math.MaxFloat32
	for _, v := range x {
		if v < lo {
			lo = v
		}
		if v > hi {
			hi = v
		}
	}
	return lo, hi
}

func inv(d float32) float32 {
	if d != 0 {
		return 1 / d
	}
	return 0
}

// truncInt converts like C's (int) cast of a float: toward zero.
func truncInt(v float32) int32 { return int32(v) }

func quantizeQ4_0Block(x []float32, y []byte) {
	maxv, _ := absMaxSigned(x[:qk])
	d := maxv / -8
	id := inv(d)
	put16(y, FP32ToFP16(d))
	for j := 0; j < qk/2; j++ {
		x0 := float32(x[j] * id)
		x1 := float32(x[j+qk/2] * id)
		xi0 := min(15, int8(truncInt(x0+8.5)))
		xi1 := min(15, int8(truncInt(x1+8.5)))
		y[q4_0QS+j] = uint8(xi0) | uint8(xi1)<<4
	}
}

func dequantizeQ4_0Block(x []byte, y []float32) {
	d := f16at(x)
	for j := 0; j < qk/2; j++ {
		b := x[q4_0QS+j]
		y[j] = float32(int(b&0x0f)-8) * d
		y[j+qk/2] = float32(int(b>>4)-8) * d
	}
}

func quantizeQ4_1Block(x []float32, y []byte) {
	lo, hi := minMax(x[:qk])
	d := (hi - lo) / 15
	id := inv(d)
	put16(y, FP32ToFP16(d))
	put16(y[2:], FP32ToFP16(lo))
	for j := 0; j < qk/2; j++ {
		x0 := float32((x[j] - lo) * id)
		x1 := float32((x[j+qk/2] - lo) * id)
		xi0 := min(15, int8(truncInt(x0+0.5)))
		xi1 := min(15, int8(truncInt(x1+0.5)))
		y[q4_1QS+j] = uint8(xi0) | uint8(xi1)<<4
	}
}

func dequantizeQ4_1Block(x []byte, y []float32) {
	d, m := f16at(x), f16at(x[2:])
	for j := 0; j < qk/2; j++ {
		b := x[q4_1QS+j]
		y[j] = float32(float32(b&0x0f)*d) + m
		y[j+qk/2] = float32(float32(b>>4)*d) + m
	}
}

func quantizeQ5_0Block(x []float32, y []byte) {
	maxv, _ := absMaxSigned(x[:qk])
	d := maxv / -16
	id := inv(d)
	put16(y, FP32ToFP16(d))
	var qh uint32
	for j := 0; j < qk/2; j++ {
		x0 := float32(x[j] * id)
		x1 := float32(x[j+qk/2] * id)
		xi0 := uint8(min(31, int8(truncInt(x0+16.5))))
		xi1 := uint8(min(31, int8(truncInt(x1+16.5))))
		y[q5_0QS+j] = xi0&0x0f | (xi1&0x0f)<<4
		qh |= uint32(xi0&0x10) >> 4 << j
		qh |= uint32(xi1&0x10) >> 4 << (j + qk/2)
	}
	putQH(y[q5_0QH:], qh)
}

func dequantizeQ5_0Block(x []byte, y []float32) {
	d := f16at(x)
	qh := getQH(x[q5_0QH:])
	for j := 0; j < qk/2; j++ {
		b := x[q5_0QS+j]
		h0 := uint8(qh>>j) & 1 << 4
		h1 := uint8(qh>>(j+qk/2)) & 1 << 4
		y[j] = float32(int(b&0x0f|h0)-16) * d
		y[j+qk/2] = float32(int(b>>4|h1)-16) * d
	}
}

func quantizeQ5_1Block(x []float32, y []byte) {
	lo, hi := minMax(x[:qk])
	d := (hi - lo) / 31
	id := inv(d)
	put16(y, FP32ToFP16(d))
	put16(y[2:], FP32ToFP16(lo))
	var qh uint32
	for j := 0; j < qk/2; j++ {
		x0 := float32((x[j] - lo) * id)
		x1 := float32((x[j+qk/2] - lo) * id)
		xi0 := uint8(truncInt(x0 + 0.5))
		xi1 := uint8(truncInt(x1 + 0.5))
		y[q5_1QS+j] = xi0&0x0f | (xi1&0x0f)<<4
		qh |= uint32(xi0&0x10) >> 4 << j
		qh |= uint32(xi1&0x10) >> 4 << (j + qk/2)
	}
	putQH(y[q5_1QH:], qh)
}

func dequantizeQ5_1Block(x []byte, y []float32) {
	d, m := f16at(x), f16at(x[2:])
	qh := getQH(x[q5_1QH:])
	for j := 0; j < qk/2; j++ {
		b := x[q5_1QS+j]
		h0 := uint8(qh>>j) & 1 << 4
		h1 := uint8(qh>>(j+qk/2)) & 1 << 4
		y[j] = float32(float32(b&0x0f|h0)*d) + m
		y[j+qk/2] = float32(float32(b>>4|h1)*d) + m
	}
}

// quantizeQ8_0Block is the reference (weight) quantizer: 1/d as multiplier
// and roundf (half away from zero). Activations use quantizeQ8_0Act.
func quantizeQ8_0Block(x []float32, y []byte) {
	var amax float32
	for _, v := range x[:qk] {
		amax = max(amax, abs32(v))
	}
	d := amax / 127
	id := inv(d)
	put16(y, FP32ToFP16(d))
	for j := 0; j < qk; j++ {
		y[q8_0QS+j] = uint8(int8(roundAway(x[j] * id)))
	}
}

func dequantizeQ8_0Block(x []byte, y []float32) {
	d := f16at(x)
	for j := 0; j < qk; j++ {
		y[j] = float32(int8(x[q8_0QS+j])) * d
	}
}

// quantizeQ8_1Block is quantize_row_q8_1_ref: like Q8_0 plus s = d·Σq.
func quantizeQ8_1Block(x []float32, y []byte) {
	var amax float32
	for _, v := range x[:qk] {
		amax = max(amax, abs32(v))
	}
	d := amax / 127
	id := inv(d)
	put16(y, FP32ToFP16(d))
	var sum int32
	for j := 0; j < qk; j++ {
		q := int8(roundAway(x[j] * id))
		y[q8_1QS+j] = uint8(q)
		sum += int32(q)
	}
	put16(y[q8_1Sum:], FP32ToFP16(float32(sum)*d))
}

func dequantizeQ8_1Block(x []byte, y []float32) {
	d := f16at(x)
	for j := 0; j < qk; j++ {
		y[j] = float32(int8(x[q8_1QS+j])) * d
	}
}

// roundAway is C's roundf: nearest, halves away from zero.
func roundAway(v float32) int32 { return int32(math.Round(float64(v))) }

func getQH(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

func putQH(b []byte, v uint32) {
	b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
}
