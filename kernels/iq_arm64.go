//go:build arm64

package kernels

import (
	"encoding/binary"
	"fmt"
	"unsafe"

	"github.com/nuri-ai/nuri/quant"
)

// The i-quants below 4 bits on arm64. Their codebooks (grids of 4 or 8
// levels an index, signs as 7 stored bits of 8) leave little to NEON
// within a block, so a row is decoded a chunk of blocks at a time into
// int8 levels (quant.IQDecode's integers) with 64-bit table lookups, once
// for all the call's activation rows, and iqBlockSumsNEON (SDOT) takes
// each block's exact integer sum Σ mult·Σ level·q8. The float steps are
// then the reference's, in its order (quant's dotIQLevels, dotIQ1_S,
// dotIQ1_M), so the outputs are quant.VecDot's bits.

//go:noescape
func iqBlockSumsNEON(level *uint64, mult *int32, nb int, q8 *byte, sums *int32) // iqsums_arm64.s

// iqTypes are the i-quants below 4 bits, which these kernels take.
var iqTypes = []quant.Type{quant.IQ2_XXS, quant.IQ2_XS, quant.IQ2_S, quant.IQ3_XXS, quant.IQ3_S, quant.IQ1_S, quant.IQ1_M}

// iqChunkBlocks is how many blocks a row decodes at a time: 16 blocks
// (4096 elements) take 9.2 KiB of stack and stay in L1 for every
// activation row of the call.
const iqChunkBlocks = 16

// iqChunk holds a run of decoded blocks.
type iqChunk struct {
	level [iqChunkBlocks * 32]uint64 // eight int8 levels a word, element order
	delta [iqChunkBlocks * 32]uint64 // IQ1: each element's delta sign, ±1
	mult  [iqChunkBlocks * 16]int32  // one a 16 elements (both halves of a 32-element group)
	d     [iqChunkBlocks]float32     // the block's scale, from its fp16
	sums  [iqChunkBlocks]int32
	sums2 [iqChunkBlocks]int32
}

// iqSignMasks: byte j of the word is 0xff where bit j of the index is set.
type iqSignMasks [256]uint64

// iqSigned applies the sign masks m to the eight positive levels in g:
// a byte v becomes −v where m's byte is 0xff (^v + 1, which never carries
// out of the byte as v ≥ 1).
func iqSigned(g, m uint64) uint64 { return (g ^ m) + (m & 0x0101010101010101) }

// iqKernel is one type's decoder and float steps.
type iqKernel struct {
	bytes  int // a block's bytes
	grid   []uint64
	signs  *iqSignMasks // by the eight stored sign bits
	signs7 *iqSignMasks // by the seven stored ones (quant.IQSigns); 128 used
	factor float32
	iq1    bool
	decode func(k *iqKernel, x []byte, c *iqChunk, b int)
}

// newIQKernel builds t's kernel, its codebook widened to words.
func newIQKernel(t quant.Type) *iqKernel {
	g, width, ok := quant.IQGrid(t)
	if !ok || !quant.IQTranscodable(t) {
		panic(fmt.Sprintf("kernels: %v has no i-quant codebook", t))
	}
	k := &iqKernel{bytes: t.BlockBytes(), factor: quant.IQFactor(t), signs: new(iqSignMasks), signs7: new(iqSignMasks)}
	k.grid = make([]uint64, len(g)/width)
	for i := range k.grid {
		if width == 8 {
			k.grid[i] = binary.LittleEndian.Uint64(g[8*i:])
		} else {
			k.grid[i] = uint64(binary.LittleEndian.Uint32(g[4*i:]))
		}
	}
	for s := range 256 {
		var m uint64
		for j := range 8 {
			if s>>j&1 != 0 {
				m |= 0xff << (8 * j)
			}
		}
		k.signs[s] = m
	}
	for s := range 128 {
		k.signs7[s] = k.signs[quant.IQSigns(uint8(s))]
	}
	switch t {
	case quant.IQ2_XXS:
		k.decode = decodeIQ2_XXS
	case quant.IQ2_XS:
		k.decode = decodeIQ2_XS
	case quant.IQ2_S:
		k.decode = decodeIQ2_S
	case quant.IQ3_XXS:
		k.decode = decodeIQ3_XXS
	case quant.IQ3_S:
		k.decode = decodeIQ3_S
	case quant.IQ1_S:
		k.decode, k.iq1 = decodeIQ1_S, true
	case quant.IQ1_M:
		k.decode, k.iq1 = decodeIQ1_M, true
	}
	return k
}

func le16(b []byte) uint32 { return uint32(binary.LittleEndian.Uint16(b)) }

// setMults writes a 32-element group's multiplier to both of its units.
func setMults(mu []int32, g int, m int32) { mu[2*g], mu[2*g+1] = m, m }

func decodeIQ2_XXS(k *iqKernel, x []byte, c *iqChunk, b int) {
	c.d[b] = quant.FP16ToFP32(uint16(le16(x)))
	lv, mu := c.level[32*b:32*b+32], c.mult[16*b:16*b+16]
	for g := range 8 {
		q := x[2+8*g : 10+8*g]
		aux := binary.LittleEndian.Uint32(q[4:])
		for l := range 4 {
			lv[4*g+l] = iqSigned(k.grid[q[l]], k.signs7[aux>>(7*l)&127])
		}
		setMults(mu, g, int32(2*(aux>>28)+1))
	}
}

// iq2Mults writes IQ2_XS's and IQ2_S's 4-bit scales (at off) as 2·s+1.
func iq2Mults(x []byte, off int, mu []int32) {
	for h := range 16 {
		mu[h] = 2*int32(x[off+h/2]>>(4*(h%2))&15) + 1
	}
}

func decodeIQ2_XS(k *iqKernel, x []byte, c *iqChunk, b int) {
	c.d[b] = quant.FP16ToFP32(uint16(le16(x)))
	lv := c.level[32*b : 32*b+32]
	for o := range 32 {
		q := le16(x[2+2*o:])
		lv[o] = iqSigned(k.grid[q&511], k.signs7[q>>9])
	}
	iq2Mults(x, 66, c.mult[16*b:16*b+16])
}

func decodeIQ2_S(k *iqKernel, x []byte, c *iqChunk, b int) {
	c.d[b] = quant.FP16ToFP32(uint16(le16(x)))
	lv := c.level[32*b : 32*b+32]
	for o := range 32 {
		idx := int(x[2+o]) | int(x[66+o/4])<<(8-2*(o%4))&0x300
		lv[o] = iqSigned(k.grid[idx], k.signs[x[34+o]])
	}
	iq2Mults(x, 74, c.mult[16*b:16*b+16])
}

func decodeIQ3_XXS(k *iqKernel, x []byte, c *iqChunk, b int) {
	c.d[b] = quant.FP16ToFP32(uint16(le16(x)))
	lv, mu := c.level[32*b:32*b+32], c.mult[16*b:16*b+16]
	for g := range 8 {
		q := x[2+8*g : 10+8*g]
		aux := binary.LittleEndian.Uint32(x[66+4*g:])
		for l := range 4 {
			lv[4*g+l] = iqSigned(k.grid[q[2*l]]|k.grid[q[2*l+1]]<<32, k.signs7[aux>>(7*l)&127])
		}
		setMults(mu, g, int32(2*(aux>>28)+1))
	}
}

func decodeIQ3_S(k *iqKernel, x []byte, c *iqChunk, b int) {
	c.d[b] = quant.FP16ToFP32(uint16(le16(x)))
	lv, mu := c.level[32*b:32*b+32], c.mult[16*b:16*b+16]
	for o := range 32 {
		qh, l := int(x[66+o/4]), o%4
		i1 := int(x[2+2*o]) | qh<<(8-2*l)&256
		i2 := int(x[3+2*o]) | qh<<(7-2*l)&256
		lv[o] = iqSigned(k.grid[i1]|k.grid[i2]<<32, k.signs[x[74+o]])
	}
	for g := range 8 {
		setMults(mu, g, 1+2*int32(x[106+g/2]>>(4*(g%2))&15))
	}
}

// The IQ1 codebook's levels are −1, 0 and 1 (int8 bytes already); each
// element also takes its group's (IQ1_S) or octet's (IQ1_M) delta sign.
const iqPlusOnes = 0x0101010101010101 // | all ones: −1 in every byte

func decodeIQ1_S(k *iqKernel, x []byte, c *iqChunk, b int) {
	c.d[b] = quant.FP16ToFP32(uint16(le16(x)))
	lv, dl, mu := c.level[32*b:32*b+32], c.delta[32*b:32*b+32], c.mult[16*b:16*b+16]
	for g := range 8 {
		qh := le16(x[34+2*g:])
		delta := iqPlusOnes | -uint64(qh>>15) // bit 15: the group's delta is −1
		for l := range 4 {
			lv[4*g+l] = k.grid[int(x[2+4*g+l])|int(qh>>(3*l)&7)<<8]
			dl[4*g+l] = delta
		}
		setMults(mu, g, 2*int32(qh>>12&7)+1)
	}
}

func decodeIQ1_M(k *iqKernel, x []byte, c *iqChunk, b int) {
	d16 := le16(x[48:])>>12 | le16(x[50:])>>8&0x00f0 | le16(x[52:])>>4&0x0f00 | le16(x[54:])&0xf000
	c.d[b] = quant.FP16ToFP32(uint16(d16))
	lv, dl, mu := c.level[32*b:32*b+32], c.delta[32*b:32*b+32], c.mult[16*b:16*b+16]
	for p := range 16 { // octets 2p and 2p+1 share a byte of high bits and delta signs
		qh := int(x[32+p])
		lv[2*p] = k.grid[int(x[2*p])|qh<<8&0x700]
		lv[2*p+1] = k.grid[int(x[2*p+1])|qh<<4&0x700]
		// bit 3 (bit 7): octet 2p's (2p+1's) delta is −1.
		dl[2*p] = iqPlusOnes | -uint64(qh>>3&1)
		dl[2*p+1] = iqPlusOnes | -uint64(qh>>7&1)
	}
	for u := range 8 {
		s := le16(x[48+2*(u/2):]) >> (6 * (u % 2))
		mu[2*u] = 2*int32(s&7) + 1
		mu[2*u+1] = 2*int32(s>>3&7) + 1
	}
}

// dot is the type's rowKernel: rows over one weight row.
func (k *iqKernel) dot(w *byte, nb int, qs *byte, d *float32, bs *int16, n int, y *float32, ystride int) {
	k.rows(w, nb*k.bytes, 1, nb, qs, d, bs, n, y, ystride)
}

// rows is the type's rowsKernel: nr weight rows of nb blocks against n
// activation rows in the split layout (Q8_K quants and scales; it does not
// read the group sums, which the IQ1 reference takes: their deltas are
// summed as levels instead). One decoding buffer serves every row, so Go
// zeroes its 9 KiB once a call, not once a row.
func (k *iqKernel) rows(w *byte, wstride, nr, nb int, qs *byte, d *float32, _ *int16, n int, y *float32, ystride int) {
	var c iqChunk
	for r := range nr {
		k.row(&c, unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(w), r*wstride)), nb*k.bytes), nb, qs, d, n,
			(*float32)(unsafe.Add(unsafe.Pointer(y), 4*r)), ystride)
	}
}

// row computes one weight row's outputs through the buffer c.
func (k *iqKernel) row(c *iqChunk, row []byte, nb int, qs *byte, d *float32, n int, y *float32, ystride int) {
	if nb == 0 {
		for i := range n {
			*(*float32)(unsafe.Add(unsafe.Pointer(y), i*ystride)) = 0
		}
		return
	}
	for b0 := 0; b0 < nb; b0 += iqChunkBlocks {
		m := min(iqChunkBlocks, nb-b0)
		for b := range m {
			k.decode(k, row[(b0+b)*k.bytes:], c, b)
		}
		for i := range n {
			q8 := (*byte)(unsafe.Add(unsafe.Pointer(qs), (i*nb+b0)*quant.QK_K))
			iqBlockSumsNEON(&c.level[0], &c.mult[0], m, q8, &c.sums[0])
			if k.iq1 {
				iqBlockSumsNEON(&c.delta[0], &c.mult[0], m, q8, &c.sums2[0])
			}
			dy := unsafe.Slice((*float32)(unsafe.Add(unsafe.Pointer(d), 4*(i*nb+b0))), m)
			yi := (*float32)(unsafe.Add(unsafe.Pointer(y), i*ystride))
			var sumf float32
			if b0 > 0 {
				sumf = *yi
			}
			if k.iq1 {
				for b := range m {
					sumf += float32(float32(c.d[b]*dy[b]) * (float32(c.sums[b]) + float32(0.125*float32(c.sums2[b]))))
				}
			} else {
				for b := range m {
					sumf += float32(float32(c.d[b]*dy[b]) * float32(c.sums[b]))
				}
			}
			*yi = sumf
		}
	}
	if k.iq1 {
		return
	}
	for i := range n {
		yi := (*float32)(unsafe.Add(unsafe.Pointer(y), i*ystride))
		*yi = float32(k.factor * *yi)
	}
}
