package quant

import "fmt"

// IQDecode and IQEncode turn the i-quants below 4 bits, whose levels are
// small integers, into those integers and back, for kernels that transcode
// them into a layout without codebooks: element e of a block stands for
// d₁₆·IQFactor(t)·mult[e/IQGroupSize(t)]·level[e], with d₁₆ the block's
// fp16 scale and
//
//	type     level                         mult           group  factor
//	IQ2_XXS  ±{8, 25, 43}                  2·ls+1, 1..31  32     1/8
//	IQ2_XS   ±{8, 25, 43}                  2·ls+1, 1..31  16     1/8
//	IQ2_S    ±{8, 25, 43}                  2·ls+1, 1..31  16     1/8
//	IQ3_XXS  ±{4, 12, …, 52, 62}           2·ls+1, 1..31  32     1/4
//	IQ3_S    ±{1, 3, …, 15}                2·ls+1, 1..31  32     1
//	IQ1_S    8g ± 1, g ∈ {−1, 0, 1}        2·ls+1, 1..15  32     1/8
//	IQ1_M    8g ± 1, g ∈ {−1, 0, 1}        2·ls+1, 1..15  16     1/8
//
// ggml's dot product of a block is d₁₆·d_a·factor·Σ mult·Σ level·q8 with
// the same integer sums. The factors are powers of two, so d₁₆·factor is
// exact in float32.

// IQTranscodable reports whether IQDecode handles t.
func IQTranscodable(t Type) bool { return IQGroupSize(t) != 0 }

// IQGroupSize is the number of elements each of t's multipliers covers: 32
// or 16 for the types IQDecode handles, 0 for the others.
func IQGroupSize(t Type) int {
	switch t {
	case IQ2_XXS, IQ3_XXS, IQ3_S, IQ1_S:
		return 32
	case IQ2_XS, IQ2_S, IQ1_M:
		return 16
	}
	return 0
}

// IQFactor is the power of two IQDecode's integers leave out (1 for the
// types IQDecode does not handle).
func IQFactor(t Type) float32 {
	switch t {
	case IQ2_XXS, IQ2_XS, IQ2_S, IQ1_S, IQ1_M:
		return 0.125
	case IQ3_XXS:
		return 0.25
	}
	return 1
}

// IQDecode writes block blk of type t (IQTranscodable) as integers: each
// element's signed level and each group's multiplier (the first
// QK_K/IQGroupSize(t) of mult); it returns the block's fp16 scale d₁₆ (its
// bits). It reads IQNibbles' codes through IQCodeLevels; Dequantize, which
// reads the codebooks itself, checks both (TestIQDecodeEncode).
func IQDecode(t Type, blk []byte, level *[QK_K]int8, mult *[16]int8) uint16 {
	var oct [32]uint32
	d16 := IQNibbles(t, blk, &oct, mult)
	levels := IQCodeLevels(t)
	for k, w := range oct {
		for j := 0; j < 8; j++ {
			level[8*k+j] = levels[w>>(4*j)&15]
		}
	}
	return d16
}

// IQCodeLevels is the level each of IQNibbles' 4-bit codes for type t
// stands for; codes no element takes stand for 0.
func IQCodeLevels(t Type) [16]int8 {
	signed := func(mags ...int8) (l [16]int8) {
		for c, m := range mags {
			l[c], l[8+c] = m, -m
		}
		return l
	}
	switch t {
	case IQ2_XXS, IQ2_XS, IQ2_S:
		return signed(8, 25, 43)
	case IQ3_XXS:
		return signed(4, 12, 20, 28, 36, 44, 52, 62)
	case IQ3_S:
		return signed(1, 3, 5, 7, 9, 11, 13, 15)
	case IQ1_S, IQ1_M:
		// code = g+1 | (delta < 0)<<2: the level 8g+delta.
		return [16]int8{-7, 1, 9, 0, -9, -1, 7}
	}
	panic(fmt.Sprintf("quant.IQCodeLevels: %v is not transcodable", t))
}

// iqIndex maps a codebook's entries (as their bytes, in a uint64) back to
// their indices.
func iqIndex(grid []byte, width int) map[uint64]uint16 {
	m := make(map[uint64]uint16, len(grid)/width)
	for i := 0; i < len(grid)/width; i++ {
		var k uint64
		for j := 0; j < width; j++ {
			k |= uint64(grid[i*width+j]) << (8 * j)
		}
		m[k] = uint16(i)
	}
	return m
}

// The codebooks' reverse maps, built once and only read.
var (
	iq2xxsIndex = iqIndex(iq2xxsGrid, 8)
	iq2xsIndex  = iqIndex(iq2xsGrid, 8)
	iq2sIndex   = iqIndex(iq2sGrid, 8)
	iq3xxsIndex = iqIndex(iq3xxsGrid, 4)
	iq3sIndex   = iqIndex(iq3sGrid, 4)
	iq1sIndex   = iqIndex(iq1sGridRaw, 8)
)

// iqLookup returns the index of the entry whose bytes are the magnitudes
// of level[0:width] (for IQ1, the levels' g as bytes) and the sign bits.
func iqLookup(index map[uint64]uint16, level []int8, width int, mag func(v int8) (byte, bool)) (idx int, signs uint8, err error) {
	var k uint64
	for j := 0; j < width; j++ {
		m, neg := mag(level[j])
		k |= uint64(m) << (8 * j)
		if neg {
			signs |= 1 << j
		}
	}
	i, ok := index[k]
	if !ok {
		return 0, 0, fmt.Errorf("levels %v are not in the codebook", level[:width])
	}
	return int(i), signs, nil
}

// iq3PairLookup finds the two 4-element IQ3 entries of eight signed
// levels and their eight sign bits.
func iq3PairLookup(index map[uint64]uint16, lv []int8) (i1, i2 int, signs uint8, err error) {
	i1, s1, err := iqLookup(index, lv, 4, absLevel)
	if err != nil {
		return 0, 0, 0, err
	}
	i2, s2, err := iqLookup(index, lv[4:], 4, absLevel)
	if err != nil {
		return 0, 0, 0, err
	}
	return i1, i2, s1 | s2<<4, nil
}

func absLevel(v int8) (byte, bool) {
	if v < 0 {
		return byte(-v), true
	}
	return byte(v), false
}

// IQEncode is IQDecode's inverse: it writes the block of type t whose
// IQDecode gives d16, level and mult, or fails where no block does (a
// level outside the codebook, an odd count of minus signs in a sign octet,
// an even or out-of-range multiplier, an IQ1 group whose deltas differ).
func IQEncode(t Type, d16 uint16, level *[QK_K]int8, mult *[16]int8, blk []byte) error {
	if len(blk) != t.BlockBytes() || !IQTranscodable(t) {
		return fmt.Errorf("quant.IQEncode: %d bytes of %v", len(blk), t)
	}
	clear(blk)
	if t != IQ1_M {
		put16(blk, d16)
	}
	ls := func(g int, bits int) (uint32, error) {
		m := int32(mult[g])
		if m < 1 || m%2 == 0 || (m-1)/2 >= 1<<bits {
			return 0, fmt.Errorf("quant.IQEncode %v: group %d multiplier %d", t, g, m)
		}
		return uint32(m-1) / 2, nil
	}
	seven := func(signs uint8) (uint32, error) {
		if IQSigns(signs&127) != signs {
			return 0, fmt.Errorf("quant.IQEncode %v: sign bits %#08b have an odd count", t, signs)
		}
		return uint32(signs & 127), nil
	}
	switch t {
	case IQ2_XXS, IQ3_XXS:
		for g := 0; g < 8; g++ {
			l, err := ls(g, 4)
			if err != nil {
				return err
			}
			aux := l << 28
			for o := 0; o < 4; o++ {
				lv := level[32*g+8*o : 32*g+8*o+8]
				var s uint8
				if t == IQ2_XXS {
					idx, signs, err := iqLookup(iq2xxsIndex, lv, 8, absLevel)
					if err != nil {
						return err
					}
					blk[2+8*g+o], s = byte(idx), signs
				} else {
					i1, i2, s8, err := iq3PairLookup(iq3xxsIndex, lv)
					if err != nil {
						return err
					}
					blk[2+8*g+2*o], blk[2+8*g+2*o+1], s = byte(i1), byte(i2), s8
				}
				s7, err := seven(s)
				if err != nil {
					return err
				}
				aux |= s7 << (7 * o)
			}
			a := blk[2+8*g+4:]
			if t == IQ3_XXS {
				a = blk[2+64+4*g:]
			}
			put16(a, uint16(aux))
			put16(a[2:], uint16(aux>>16))
		}
	case IQ3_S:
		for g := 0; g < 8; g++ {
			l, err := ls(g, 4)
			if err != nil {
				return err
			}
			blk[106+g/2] |= byte(l) << (4 * (g % 2))
		}
		for k := 0; k < 32; k++ {
			lv := level[8*k : 8*k+8]
			i1, i2, s8, err := iq3PairLookup(iq3sIndex, lv)
			if err != nil {
				return err
			}
			g, l := k/4, k%4
			blk[2+2*k], blk[2+2*k+1] = byte(i1), byte(i2)
			blk[66+g] |= byte(i1>>8)<<(2*l) | byte(i2>>8)<<(2*l+1)
			blk[74+k] = s8
		}
	case IQ1_S:
		for g := 0; g < 8; g++ {
			l, err := ls(g, 3)
			if err != nil {
				return err
			}
			neg, delta := iq1Delta8(level[32*g])
			qh := uint16(l) << 12
			if neg {
				qh |= 0x8000
			}
			for o := 0; o < 4; o++ {
				idx, err := iq1Lookup(level[32*g+8*o:32*g+8*o+8], delta)
				if err != nil {
					return fmt.Errorf("quant.IQEncode IQ1_S group %d: %w", g, err)
				}
				blk[2+4*g+o] = byte(idx)
				qh |= uint16(idx>>8) << (3 * o)
			}
			put16(blk[34+2*g:], qh)
		}
	case IQ2_XS, IQ2_S:
		scales, index := iq2LayoutOf(t).scales, iq2xsIndex
		if t == IQ2_S {
			index = iq2sIndex
		}
		for h := 0; h < 16; h++ {
			l, err := ls(h, 4)
			if err != nil {
				return err
			}
			blk[scales+h/2] |= byte(l) << (4 * (h % 2))
		}
		for k := 0; k < 32; k++ {
			idx, signs, err := iqLookup(index, level[8*k:8*k+8], 8, absLevel)
			if err != nil {
				return err
			}
			if t == IQ2_S {
				blk[2+k] = byte(idx)
				blk[66+k/4] |= byte(idx>>8) << (2 * (k % 4))
				blk[34+k] = signs
				continue
			}
			s7, err := seven(signs)
			if err != nil {
				return err
			}
			put16(blk[2+2*k:], uint16(idx)|uint16(s7)<<9)
		}
	case IQ1_M:
		var sc [4]uint16
		for h := 0; h < 16; h++ {
			l, err := ls(h, 3)
			if err != nil {
				return err
			}
			ib := h / 2
			sc[ib/2] |= uint16(l) << (6*(ib%2) + 3*(h%2))
		}
		for k := range sc {
			sc[k] |= d16 >> (4 * k) & 0xf << 12
			put16(blk[48+2*k:], sc[k])
		}
		for k := 0; k < 32; k++ {
			lv := level[8*k : 8*k+8]
			neg, delta := iq1Delta8(lv[0])
			idx, err := iq1Lookup(lv, delta)
			if err != nil {
				return fmt.Errorf("quant.IQEncode IQ1_M octet %d: %w", k, err)
			}
			blk[k] = byte(idx)
			h := byte(idx >> 8)
			if neg {
				h |= 8
			}
			blk[32+k/2] |= h << (4 * (k % 2))
		}
	}
	return nil
}

// iq1Delta8 reads an IQ1 level's delta: whether it is −1, and its value.
func iq1Delta8(v int8) (neg bool, delta int8) {
	if v == -9 || v == -1 || v == 7 { // 8g−1
		return true, -1
	}
	return false, 1
}

// iq1Lookup returns the IQ1 codebook index of 8 levels 8g+delta.
func iq1Lookup(lv []int8, delta int8) (int, error) {
	idx, _, err := iqLookup(iq1sIndex, lv, 8, func(v int8) (byte, bool) {
		if (v-delta)%8 != 0 || v-delta < -8 || v-delta > 8 {
			return 0x80, false // matches no entry
		}
		return byte((v - delta) / 8), false
	})
	return idx, err
}

// IQNibbles is IQDecode for kernels that want each element as a 4-bit
// code instead of its level (IQCodeLevels): for IQ2 and IQ3 the index of
// its magnitude among the type's levels (ascending), plus 8 where it is
// negative; for IQ1 g+1, plus 4 where its delta is negative. Octet k's
// elements 8k..8k+7 go to oct[k], element 8k+j in bits 4j..4j+3. It reads
// each octet's codebook entry as one precomputed word.
func IQNibbles(t Type, blk []byte, oct *[32]uint32, mult *[16]int8) uint16 {
	switch t {
	case IQ2_XXS:
		for g := 0; g < 8; g++ {
			idx, aux := iq2xxsGroup(blk, g)
			mult[g] = int8(2*(aux>>28) + 1)
			for l := 0; l < 4; l++ {
				oct[4*g+l] = iq2xxsNib[idx[l]] | signNibbles[IQSigns(uint8(aux>>(7*l)))]
			}
		}
	case IQ2_XS, IQ2_S:
		l := iq2LayoutOf(t)
		l.mults(blk, mult)
		for k := 0; k < 32; k++ {
			idx, signs := l.entry(blk, k)
			oct[k] = l.nib[idx] | signNibbles[signs]
		}
	case IQ3_XXS:
		for g := 0; g < 8; g++ {
			idx, aux := iq3xxsGroup(blk, g)
			mult[g] = int8(2*(aux>>28) + 1)
			for l := 0; l < 4; l++ {
				oct[4*g+l] = uint32(iq3xxsNib[idx[2*l]]) | uint32(iq3xxsNib[idx[2*l+1]])<<16 |
					signNibbles[IQSigns(uint8(aux>>(7*l)))]
			}
		}
	case IQ3_S:
		for g := 0; g < 8; g++ {
			mult[g] = int8(iq3sScale(blk, g))
		}
		for k := 0; k < 32; k++ {
			i1, i2, signs := iq3sEntry(blk, k)
			oct[k] = uint32(iq3sNib[i1]) | uint32(iq3sNib[i2])<<16 | signNibbles[signs]
		}
	case IQ1_S:
		for g := 0; g < 8; g++ {
			qh := le16(blk[34+2*g:])
			mult[g] = int8(2*(qh>>12&7) + 1)
			var neg uint32
			if qh&0x8000 != 0 {
				neg = 0x44444444
			}
			for l := 0; l < 4; l++ {
				oct[4*g+l] = iq1Nib[iq1sEntry(blk, 4*g+l)] | neg
			}
		}
	case IQ1_M:
		_, ls := iq1mScales(blk)
		for h, m := range ls {
			mult[h] = int8(m)
		}
		for k := 0; k < 32; k++ {
			idx, neg := iq1mEntry(blk, k)
			oct[k] = iq1Nib[idx]
			if neg {
				oct[k] |= 0x44444444
			}
		}
		return iq1mD16(blk)
	default:
		panic(fmt.Sprintf("quant.IQNibbles: %v is not transcodable", t))
	}
	return le16(blk)
}

// nibbleCodes turns codebook codes (level indices of bits bits an
// element) into words of one nibble an element.
func nibbleCodes(codes []uint16, width, bits int) []uint32 {
	out := make([]uint32, len(codes))
	for i, c := range codes {
		for j := 0; j < width; j++ {
			out[i] |= uint32(c>>(bits*j)&(1<<bits-1)) << (4 * j)
		}
	}
	return out
}

// The codebooks as nibble words, and the sign bits of an octet as the
// eighth bit of each nibble: built once and only read.
var (
	iq2xxsNib   = nibbleCodes(iq2XXSCodes[:], 8, 2)
	iq2xsNib    = nibbleCodes(iq2XSCodes[:], 8, 2)
	iq2sNib     = nibbleCodes(iq2SCodes[:], 8, 2)
	iq3xxsNib   = narrowNibbles(nibbleCodes(iq3XXSCodes[:], 4, 3))
	iq3sNib     = narrowNibbles(nibbleCodes(iq3SCodes[:], 4, 3))
	iq1Nib      = nibbleCodes(iq1SCodes[:], 8, 2)
	signNibbles = func() (t [256]uint32) {
		for s := range t {
			for j := 0; j < 8; j++ {
				if s>>j&1 != 0 {
					t[s] |= 8 << (4 * j)
				}
			}
		}
		return t
	}()
)

func narrowNibbles(w []uint32) []uint16 {
	out := make([]uint16, len(w))
	for i, v := range w {
		out[i] = uint16(v)
	}
	return out
}
