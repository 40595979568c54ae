package quant

// The i-quants below 4 bits (ggml-common.h block_iq2_xxs … block_iq1_m):
// each group of 8 weights (4 for IQ3) is one entry of a fixed codebook of
// small non-negative levels, signs stored apart, a 3- or 4-bit odd
// multiplier per 16 or 32 weights and an fp16 scale per super-block. Large
// Korean models are often published in these types (IQ2_M, IQ3_XS, IQ3_M
// and the rest are mixes of them), so Nuri loads and runs them, and
// writes them with ggml's quantizers (iqgridquant.go, iq1quant.go), which
// search the codebooks, best with an importance matrix.
//
// Layouts (little-endian; QK_K = 256 elements a block):
//
//	IQ2_XXS  66 bytes: d fp16; 8 × (4 index bytes, u32 of 4×7 sign bits | scale<<28)
//	IQ2_XS   74 bytes: d fp16; 32 × u16 (9-bit index | 7 sign bits<<9); scales[8]
//	IQ2_S    82 bytes: d fp16; idx[32] low bits; signs[32]; qh[8]; scales[8]
//	IQ3_XXS  98 bytes: d fp16; idx[64]; 8 × u32 (4×7 sign bits | scale<<28)
//	IQ3_S   110 bytes: d fp16; idx[64] low bits; qh[8]; signs[32]; scales[4]
//	IQ1_S    50 bytes: d fp16; idx[32] low bits; 8 × u16 (4×3 index bits, scale, delta sign)
//	IQ1_M    56 bytes: idx[32] low bits; qh[16]; 4 × u16 scales, d's fp16 in their top nibbles
//
// Seven sign bits stand for eight: the eighth makes the count of negative
// signs even (ggml's ksigns_iq2xs), so the quantizer flips the least
// important weight when it has to.

const (
	iq2xxsBytes = 66
	iq2xsBytes  = 74
	iq2sBytes   = 82
	iq3xxsBytes = 98
	iq3sBytes   = 110
	iq1sBytes   = 50
	iq1mBytes   = 56
	// iq1Delta is IQ1S_DELTA and IQ1M_DELTA: the shift every IQ1 group
	// takes, up or down by its sign bit.
	iq1Delta = 0.125
)

// iqGrid expands a codebook of level indices (iqgrids.go) into vectors of
// width bytes each.
func iqGrid(codes []uint16, width, bits int, levels []int8) []byte {
	out := make([]byte, len(codes)*width)
	for i, c := range codes {
		for j := 0; j < width; j++ {
			out[i*width+j] = byte(levels[c>>(bits*j)&(1<<bits-1)])
		}
	}
	return out
}

// The expanded codebooks, built once; nothing writes them afterwards.
var (
	iq2Levels   = []int8{8, 25, 43}
	iq2xxsGrid  = iqGrid(iq2XXSCodes[:], 8, 2, iq2Levels)
	iq2xsGrid   = iqGrid(iq2XSCodes[:], 8, 2, iq2Levels)
	iq2sGrid    = iqGrid(iq2SCodes[:], 8, 2, iq2Levels)
	iq3xxsGrid  = iqGrid(iq3XXSCodes[:], 4, 3, []int8{4, 12, 20, 28, 36, 44, 52, 62})
	iq3sGrid    = iqGrid(iq3SCodes[:], 4, 3, []int8{1, 3, 5, 7, 9, 11, 13, 15})
	iq1sGridRaw = iqGrid(iq1SCodes[:], 8, 2, []int8{-1, 0, 1})
)

// IQGrid returns a copy of the codebook an i-quant type indexes: entries of
// width bytes (8 for the IQ2 and IQ1 types, 4 for IQ3), each byte a level
// (int8 for IQ1_S and IQ1_M, uint8 for the others), in ggml's order. ok is
// false for types without a codebook.
func IQGrid(t Type) (grid []byte, width int, ok bool) {
	var g []byte
	switch t {
	case IQ2_XXS:
		g, width = iq2xxsGrid, 8
	case IQ2_XS:
		g, width = iq2xsGrid, 8
	case IQ2_S:
		g, width = iq2sGrid, 8
	case IQ3_XXS:
		g, width = iq3xxsGrid, 4
	case IQ3_S:
		g, width = iq3sGrid, 4
	case IQ1_S, IQ1_M:
		g, width = iq1sGridRaw, 8
	default:
		return nil, 0, false
	}
	return append([]byte(nil), g...), width, true
}

// IQSigns returns the eight sign bits seven stored bits stand for: bit 7
// is set when bits 0-6 hold an odd number of ones.
func IQSigns(s7 uint8) uint8 {
	s := s7 & 127
	p := s ^ s>>4
	p ^= p >> 2
	p ^= p >> 1
	return s | (p&1)<<7
}

// iqSigned returns level v with the sign bit j of signs applied.
func iqSigned(v byte, signs uint8, j int) int8 {
	if signs>>j&1 != 0 {
		return -int8(v)
	}
	return int8(v)
}

// iq2Octet writes to out[:8] the signed levels of the 8 elements an IQ2
// codebook index and a sign byte encode.
func iq2Octet(grid []byte, idx int, signs uint8, out []int8) {
	g := grid[8*idx : 8*idx+8]
	for j, v := range g {
		out[j] = iqSigned(v, signs, j)
	}
}

// iq2xxsGroup returns group g's (32 elements) index bytes and its packed
// signs-and-scale word.
func iq2xxsGroup(x []byte, g int) (idx []byte, aux uint32) {
	b := x[2+8*g : 2+8*g+8]
	return b[:4], uint32(le16(b[4:])) | uint32(le16(b[6:]))<<16
}

// iq2xsEntry returns IQ2_XS's index and sign byte for octet k (0..31).
func iq2xsEntry(x []byte, k int) (idx int, signs uint8) {
	q := le16(x[2+2*k:])
	return int(q & 511), IQSigns(uint8(q >> 9))
}

// iq2sEntry returns IQ2_S's index and sign byte for octet k (0..31).
func iq2sEntry(x []byte, k int) (idx int, signs uint8) {
	g, l := k/4, k%4
	idx = int(x[2+k]) | int(x[66+g])<<(8-2*l)&0x300
	return idx, x[2+32+k]
}

// iq3sEntry returns IQ3_S's two 4-element indices and sign byte for octet
// k (0..31).
func iq3sEntry(x []byte, k int) (i1, i2 int, signs uint8) {
	g, l := k/4, k%4
	qh := int(x[66+g])
	i1 = int(x[2+2*k]) | qh<<(8-2*l)&256
	i2 = int(x[2+2*k+1]) | qh<<(7-2*l)&256
	return i1, i2, x[74+k]
}

// iq1sEntry returns IQ1_S's index for octet k (0..31).
func iq1sEntry(x []byte, k int) int {
	qh := le16(x[34+2*(k/4):])
	return int(x[2+k]) | int(qh>>(3*(k%4))&7)<<8
}

// iq1mEntry returns IQ1_M's index and delta sign (true: −) for octet k.
func iq1mEntry(x []byte, k int) (idx int, neg bool) {
	qh := x[32+k/2]
	if k%2 == 0 {
		return int(x[k]) | int(qh)<<8&0x700, qh&0x08 != 0
	}
	return int(x[k]) | int(qh)<<4&0x700, qh&0x80 != 0
}

// iq1mD16 returns IQ1_M's fp16 super-block scale, kept in the top nibbles
// of its four scale words.
func iq1mD16(x []byte) uint16 {
	return le16(x[48:])>>12 | le16(x[50:])>>8&0x00f0 | le16(x[52:])>>4&0x0f00 | le16(x[54:])&0xf000
}

// iq1mScales returns IQ1_M's super-block scale and its 16 3-bit multipliers
// (one per 16 elements) as 2m+1.
func iq1mScales(x []byte) (d float32, ls [16]int32) {
	var sc [4]uint16
	for k := range sc {
		sc[k] = le16(x[48+2*k:])
	}
	d = FP16ToFP32(iq1mD16(x))
	for ib := 0; ib < 8; ib++ {
		s := sc[ib/2] >> (6 * (ib % 2))
		ls[2*ib] = 2*int32(s&7) + 1
		ls[2*ib+1] = 2*int32(s>>3&7) + 1
	}
	return d, ls
}

func dequantizeIQ2_XXSBlock(x []byte, y []float32) {
	d := f16at(x)
	for g := 0; g < 8; g++ {
		idx, aux := iq2xxsGroup(x, g)
		db := d * (0.5 + float32(aux>>28)) * 0.25
		for l := 0; l < 4; l++ {
			var lv [8]int8
			iq2Octet(iq2xxsGrid, int(idx[l]), IQSigns(uint8(aux>>(7*l))), lv[:])
			scaleLevels(y[32*g+8*l:], db, lv[:])
		}
	}
}

// iq2xsScale returns the multiplier 0.5+ls of octet k's 16 elements as
// IQ2_XS and IQ2_S store it (two 4-bit scales a group of 32).
func iq2xsScale(scales []byte, k int) uint32 {
	return uint32(scales[k/4]>>(4*(k%4/2))) & 0xf
}

// iq2Layout is what tells IQ2_XS from IQ2_S: the codebook (as bytes and
// as nibble codes), how an octet's index and signs are read, and where the
// 4-bit multipliers sit.
type iq2Layout struct {
	grid   []byte
	nib    []uint32
	entry  func(x []byte, k int) (idx int, signs uint8)
	scales int
}

func iq2LayoutOf(t Type) iq2Layout {
	if t == IQ2_S {
		return iq2Layout{iq2sGrid, iq2sNib, iq2sEntry, 74}
	}
	return iq2Layout{iq2xsGrid, iq2xsNib, iq2xsEntry, 66}
}

// mults writes block x's 16 multipliers 2·ls+1.
func (l iq2Layout) mults(x []byte, mult *[16]int8) {
	for h := 0; h < 16; h++ {
		mult[h] = int8(2*iq2xsScale(x[l.scales:], 2*h) + 1)
	}
}

// dequantize is ggml's dequantize_row_iq2_xs / _iq2_s for one block.
func (l iq2Layout) dequantize(x []byte, y []float32) {
	d := f16at(x)
	for k := 0; k < 32; k++ {
		db := d * (0.5 + float32(iq2xsScale(x[l.scales:], k))) * 0.25
		idx, signs := l.entry(x, k)
		var lv [8]int8
		iq2Octet(l.grid, idx, signs, lv[:])
		scaleLevels(y[8*k:], db, lv[:])
	}
}

func dequantizeIQ2_XSBlock(x []byte, y []float32) { iq2LayoutOf(IQ2_XS).dequantize(x, y) }

func dequantizeIQ2_SBlock(x []byte, y []float32) { iq2LayoutOf(IQ2_S).dequantize(x, y) }

// iq3xxsGroup returns group g's 8 index bytes and signs-and-scale word.
func iq3xxsGroup(x []byte, g int) (idx []byte, aux uint32) {
	a := x[2+64+4*g:]
	return x[2+8*g : 2+8*g+8], uint32(le16(a)) | uint32(le16(a[2:]))<<16
}

// iq3Octet writes to out[:8] the signed levels of the 8 elements two
// 4-element IQ3 codebook indices and a sign byte encode.
func iq3Octet(grid []byte, i1, i2 int, signs uint8, out []int8) {
	g1, g2 := grid[4*i1:4*i1+4], grid[4*i2:4*i2+4]
	for j := 0; j < 4; j++ {
		out[j] = iqSigned(g1[j], signs, j)
		out[j+4] = iqSigned(g2[j], signs, j+4)
	}
}

// scaleLevels writes db·level to y, as ggml's db·grid·(±1).
func scaleLevels(y []float32, db float32, level []int8) {
	for j, v := range level {
		y[j] = db * float32(v)
	}
}

func dequantizeIQ3_XXSBlock(x []byte, y []float32) {
	d := f16at(x)
	for g := 0; g < 8; g++ {
		idx, aux := iq3xxsGroup(x, g)
		db := d * (0.5 + float32(aux>>28)) * 0.5
		for l := 0; l < 4; l++ {
			var lv [8]int8
			iq3Octet(iq3xxsGrid, int(idx[2*l]), int(idx[2*l+1]), IQSigns(uint8(aux>>(7*l))), lv[:])
			scaleLevels(y[32*g+8*l:], db, lv[:])
		}
	}
}

// iq3sScale returns group g's multiplier 1+2·ls.
func iq3sScale(x []byte, g int) int32 {
	return 1 + 2*int32(x[106+g/2]>>(4*(g%2))&0xf)
}

func dequantizeIQ3_SBlock(x []byte, y []float32) {
	d := f16at(x)
	for k := 0; k < 32; k++ {
		db := d * float32(iq3sScale(x, k/4))
		i1, i2, signs := iq3sEntry(x, k)
		var lv [8]int8
		iq3Octet(iq3sGrid, i1, i2, signs, lv[:])
		scaleLevels(y[8*k:], db, lv[:])
	}
}

// iq1Grid returns IQ1 codebook entry idx (levels −1, 0, 1).
func iq1Grid(idx int) []byte { return iq1sGridRaw[8*idx : 8*idx+8] }

func dequantizeIQ1_SBlock(x []byte, y []float32) {
	d := f16at(x)
	for g := 0; g < 8; g++ {
		qh := le16(x[34+2*g:])
		dl := d * float32(2*int32(qh>>12&7)+1)
		delta := float32(iq1Delta)
		if qh&0x8000 != 0 {
			delta = -iq1Delta
		}
		for l := 0; l < 4; l++ {
			grid := iq1Grid(iq1sEntry(x, 4*g+l))
			out := y[32*g+8*l:]
			for j := 0; j < 8; j++ {
				out[j] = dl * (float32(int8(grid[j])) + delta)
			}
		}
	}
}

func dequantizeIQ1_MBlock(x []byte, y []float32) {
	d, ls := iq1mScales(x)
	for k := 0; k < 32; k++ {
		dl := d * float32(ls[k/2])
		idx, neg := iq1mEntry(x, k)
		delta := float32(iq1Delta)
		if neg {
			delta = -iq1Delta
		}
		grid := iq1Grid(idx)
		out := y[8*k:]
		for j := 0; j < 8; j++ {
			out[j] = dl * (float32(int8(grid[j])) + delta)
		}
	}
}

// The dot products follow ggml's generic ggml_vec_dot_iq*_q8_K: exact
// integer sums over a super-block (each group's times its odd multiplier),
// one float step a super-block, and the types' constant factor at the end.

// iqDot accumulates ggml's "sumf += d·bsum" over nb super-blocks of bb
// bytes; block returns a super-block's integer sum.
func iqDot(nb, bb int, w, a []byte, block func(x, q8 []byte) int32) float32 {
	var sumf float32
	for i := 0; i < nb; i++ {
		x := w[i*bb : (i+1)*bb]
		q8, dy, _ := q8KBlock(a, i)
		d := f16at(x) * dy
		sumf += float32(d * float32(block(x, q8)))
	}
	return sumf
}

// iqLevelsDot returns a super-block's integer sum for the i-quants whose
// elements are mult·level (IQDecode): Σ mult·Σ level·q8 over its groups,
// ggml's bsum (its grid·q8·(±1) is level·q8).
func iqLevelsDot(t Type) func(x, q8 []byte) int32 {
	gs := IQGroupSize(t)
	return func(x, q8 []byte) int32 {
		var level [QK_K]int8
		var mult [16]int8
		IQDecode(t, x, &level, &mult)
		var bsum int32
		for m := 0; m < QK_K/gs; m++ {
			var sumi int32
			for j, v := range level[gs*m : gs*m+gs] {
				sumi += int32(v) * int32(int8(q8[gs*m+j]))
			}
			bsum += sumi * int32(mult[m])
		}
		return bsum
	}
}

// dotIQLevels is ggml's dot product of the IQ2 and IQ3 types: their
// factor (0.125, 0.25 or 1) times Σ d·bsum.
func dotIQLevels(t Type, nb int, w, a []byte) float32 {
	return IQFactor(t) * iqDot(nb, t.BlockBytes(), w, a, iqLevelsDot(t))
}

// iq1OctetDot returns the dot of IQ1 codebook entry idx with 8 activations.
func iq1OctetDot(idx int, q8 []byte) int32 {
	var s int32
	for j, v := range iq1Grid(idx) {
		s += int32(int8(v)) * int32(int8(q8[j]))
	}
	return s
}

func dotIQ1_S(nb int, w, a []byte) float32 {
	var sumf float32
	for i := 0; i < nb; i++ {
		x := w[i*iq1sBytes : (i+1)*iq1sBytes]
		q8, dy, bsums := q8KBlock(a, i)
		var sumi, sumi1 int32
		for g := 0; g < 8; g++ {
			qh := le16(x[34+2*g:])
			ls := 2*int32(qh>>12&7) + 1
			delta := int32(1)
			if qh&0x8000 != 0 {
				delta = -1
			}
			var lsum int32
			for l := 0; l < 4; l++ {
				lsum += iq1OctetDot(iq1sEntry(x, 4*g+l), q8[32*g+8*l:])
			}
			sumi += ls * lsum
			sumi1 += ls * delta * (bsums(2*g) + bsums(2*g+1))
		}
		sumf += float32(float32(f16at(x)*dy) * (float32(sumi) + float32(iq1Delta*float32(sumi1))))
	}
	return sumf
}

func dotIQ1_M(nb int, w, a []byte) float32 {
	var sumf float32
	for i := 0; i < nb; i++ {
		x := w[i*iq1mBytes : (i+1)*iq1mBytes]
		q8, dy, _ := q8KBlock(a, i)
		d, ls := iq1mScales(x)
		var sumi1, sumi2 int32
		for h := 0; h < 16; h++ { // 16 elements a multiplier
			var s1, s2 int32
			for k := 2 * h; k < 2*h+2; k++ {
				idx, neg := iq1mEntry(x, k)
				s1 += iq1OctetDot(idx, q8[8*k:])
				var sa int32
				for _, v := range q8[8*k : 8*k+8] {
					sa += int32(int8(v))
				}
				if neg {
					sa = -sa
				}
				s2 += sa
			}
			sumi1 += s1 * ls[h]
			sumi2 += s2 * ls[h]
		}
		sumf += float32(float32(d*dy) * (float32(sumi1) + float32(iq1Delta*float32(sumi2))))
	}
	return sumf
}
