package kernels

import (
	"encoding/binary"
	"fmt"

	"github.com/nuri-ai/nuri/quant"
)

// Row writes row r of the matrix in ggml's layout into dst (RowBytes(Cols)
// bytes): the exact bytes the matrix was packed from. A backend that keeps
// only the packed copy resident serves row lookups (a tied embedding's
// GetRows) from it instead of from file pages it gave back, which would
// fault in, one page per looked-up row.
func (pw *PackedWeights) Row(r int, dst []byte) error {
	rb, err := pw.Type.RowBytes(pw.Cols)
	if err != nil {
		return fmt.Errorf("packed row: %w", err)
	}
	if r < 0 || r >= pw.Rows || len(dst) != rb {
		return fmt.Errorf("packed row %d of %d×%d %v into %d bytes (want %d)", r, pw.Rows, pw.Cols, pw.Type, len(dst), rb)
	}
	bb := packedBlockBytes(pw.Type)
	nb := pw.Cols / packedQK(pw.Type)
	g, rr := r/packGroup, r%packGroup
	clear(dst) // the inverses below OR bit fields into place
	at := pw.groupAt(g)
	for b := range nb {
		unpackRow(pw.Type, pw.data[at+b*bb:at+(b+1)*bb], rr, dst, b)
	}
	return nil
}

// unpackRow is packRow's inverse: block b of a row (ggml layout, zeroed)
// from row r of its group record.
func unpackRow(t quant.Type, rec []byte, r int, row []byte, b int) {
	le := binary.LittleEndian
	switch t {
	case quant.Q4_0, quant.IQ4_NL:
		blk := row[b*18 : (b+1)*18]
		blk[0], blk[1] = rec[2*r], rec[2*r+1]
		for g := range 4 {
			copy(blk[2+4*g:6+4*g], rec[32+64*g+4*r:])
		}
	case quant.Q5_0:
		blk := row[b*22 : (b+1)*22]
		blk[0], blk[1] = rec[2*r], rec[2*r+1]
		for g := range 4 {
			copy(blk[6+4*g:10+4*g], rec[32+64*g+4*r:])
		}
		le.PutUint32(blk[2:], unpackFifthBits(rec[288+4*r:]))
	case quant.Q4_1:
		blk := row[b*20 : (b+1)*20]
		blk[0], blk[1] = rec[2*r], rec[2*r+1]
		blk[2], blk[3] = rec[32+2*r], rec[33+2*r]
		for g := range 4 {
			copy(blk[4+4*g:8+4*g], rec[64+64*g+4*r:])
		}
	case quant.Q5_1:
		blk := row[b*24 : (b+1)*24]
		blk[0], blk[1] = rec[2*r], rec[2*r+1]
		blk[2], blk[3] = rec[32+2*r], rec[33+2*r]
		for g := range 4 {
			copy(blk[8+4*g:12+4*g], rec[64+64*g+4*r:])
		}
		le.PutUint32(blk[4:], unpackFifthBits(rec[320+4*r:]))
	case quant.Q8_0:
		blk := row[b*34 : (b+1)*34]
		blk[0], blk[1] = rec[2*r], rec[2*r+1]
		for g := range 8 {
			le.PutUint32(blk[2+4*g:], le.Uint32(rec[32+64*g+4*r:])^0x80808080)
		}
	case quant.Q6_K:
		unpackQ6_K((*[210]byte)(row[b*210:]), rec, r)
	case quant.Q4_K:
		unpackQ4_K((*[144]byte)(row[b*144:]), rec, r, 256)
	case quant.Q5_K:
		blk := row[b*176 : (b+1)*176]
		var q4 [144]byte
		unpackQ4_K(&q4, rec, r, 320)
		copy(blk[:16], q4[:16])
		copy(blk[48:], q4[16:])
		unpackQ5KHigh(blk[16:48], rec, r)
	case quant.Q3_K:
		unpackQ3_K((*[110]byte)(row[b*110:]), rec, r)
	case quant.Q2_K:
		unpackQ2_K((*[84]byte)(row[b*84:]), rec, r)
	case quant.IQ2_XXS, quant.IQ3_XXS, quant.IQ3_S, quant.IQ1_S, quant.IQ2_XS, quant.IQ2_S, quant.IQ1_M:
		bb := t.BlockBytes()
		unpackIQ(t, rec, r, row[b*bb:(b+1)*bb])
	case quant.IQ4_XS:
		blk := row[b*136 : (b+1)*136]
		blk[0], blk[1] = rec[2*r], rec[2*r+1]
		var h uint16
		sc := iq4XSScaleWordsInverse(le.Uint32(rec[32+4*r:]), le.Uint16(rec[96+2*r:]))
		for s := range 8 {
			ls := int(sc[s]) + 32
			blk[4+s/2] |= byte(ls&15) << (4 * (s % 2))
			h |= uint16(ls>>4) << (2 * s)
			for g := range 4 {
				copy(blk[8+16*s+4*g:12+16*s+4*g], rec[128+256*s+64*g+4*r:])
			}
		}
		le.PutUint16(blk[2:], h)
	case quant.F16:
		for c := range 4 {
			copy(row[2*(4*b+c):2*(4*b+c)+2], rec[32*c+2*r:])
		}
	case quant.BF16:
		for c := range 4 {
			copy(row[2*(4*b+c):2*(4*b+c)+2], rec[bf16PackedOffset(c, r):])
		}
	case quant.F32:
		for c := range 4 {
			copy(row[4*(4*b+c):4*(4*b+c)+4], rec[64*c+4*r:])
		}
	}
}

// unpackFifthBits is packFifthBits' inverse: the block's qh word from a
// row's 4 bytes.
func unpackFifthBits(src []byte) uint32 {
	var qh uint32
	for k := range 4 {
		v := uint32(src[k])
		for g := range 4 {
			qh |= (v >> g & 1) << (4*g + k)
			qh |= (v >> (4 + g) & 1) << (16 + 4*g + k)
		}
	}
	return qh
}

// unpackQ5KHigh is packQ5KHigh's inverse (qh zeroed).
func unpackQ5KHigh(qh []byte, rec []byte, r int) {
	for s := range 8 {
		h := rec[256+320*s+256+4*r:]
		for k := range 4 {
			v := h[k]
			for g := range 4 {
				qh[4*g+k] |= (v >> g & 1) << s
				qh[16+4*g+k] |= (v >> (4 + g) & 1) << s
			}
		}
	}
}

// unpackQ4_K is packQ4_K's inverse (blk zeroed): the 6-bit scales and
// minimums go back into ggml's 12-byte encoding (get_scale_min_k4's
// inverse: bytes 0-3 and 4-7 hold sub-blocks 0-3's scale and minimum in
// their low 6 bits and the top 2 bits of sub-blocks 4-7's; bytes 8-11 the
// low nibbles of sub-blocks 4-7's).
func unpackQ4_K(blk *[144]byte, rec []byte, r int, sub int) {
	le := binary.LittleEndian
	blk[0], blk[1] = rec[2*r], rec[2*r+1]
	blk[2], blk[3] = rec[32+2*r], rec[33+2*r]
	sc := blk[4:16]
	scales, mins := q4KScaleWordsInverse(rowWords(rec, 64, r))
	for s := range 8 {
		d, m := byte(scales[s]), byte(mins[s])
		if s < 4 {
			sc[s] |= d & 63
			sc[s+4] |= m & 63
		} else {
			sc[s+4] = d&0xF | (m&0xF)<<4
			sc[s-4] |= (d >> 4) << 6
			sc[s] |= (m >> 4) << 6
		}
		qs := blk[16+32*(s/2):]
		sh := uint(4 * (s % 2))
		co := rec[256+sub*s:]
		for g := range 4 {
			w := le.Uint32(co[64*g+4*r:])
			le.PutUint32(qs[4*g:], le.Uint32(qs[4*g:])|(w&0x0F0F0F0F)<<sh)
			le.PutUint32(qs[16+4*g:], le.Uint32(qs[16+4*g:])|(w>>4&0x0F0F0F0F)<<sh)
		}
	}
}

// unpackQ6_K is packQ6_K's inverse (blk zeroed).
func unpackQ6_K(blk *[210]byte, rec []byte, r int) {
	le := binary.LittleEndian
	blk[208], blk[209] = rec[2*r], rec[2*r+1]
	for s := range 16 {
		blk[192+s] = rec[32+16*s+r]
		h, j, l0 := s/8, (s%8)/2, 16*(s%2)
		ql := blk[64*h+32*(j&1)+l0:]
		qh := blk[128+32*h+l0:]
		ns, hs := uint(4*(j>>1)), uint(2*j)
		co := rec[288+192*s:]
		var u [4]uint32
		for p := range 3 {
			w := le.Uint32(co[64*p+4*r:])
			u[p] = w & 0x3F3F3F3F
			u[3] |= (w >> 6 & 0x03030303) << (2 * p)
		}
		for q := range 4 {
			le.PutUint32(ql[4*q:], le.Uint32(ql[4*q:])|(u[q]&0x0F0F0F0F)<<ns)
			le.PutUint32(qh[4*q:], le.Uint32(qh[4*q:])|(u[q]>>4&0x03030303)<<hs)
		}
	}
}

// unpackQ3_K is packQ3_K's inverse (blk zeroed): codes back into the
// hmask and 2-bit planes, the signed scales back into ggml's 12-byte
// 6-bit encoding (q3KCodes' inverse).
func unpackQ3_K(blk *[110]byte, rec []byte, r int) {
	blk[108], blk[109] = rec[2*r], rec[2*r+1]
	raw := blk[96:108]
	sc := q3KScaleWordsInverse(rowWords(rec, 32, r))
	for s := range 16 {
		v := byte(sc[s] + 32)
		if s < 8 {
			raw[s] |= v & 0xF
		} else {
			raw[s-8] |= (v & 0xF) << 4
		}
		raw[8+s%4] |= (v >> 4 & 3) << (2 * (s / 4))
		co := rec[224+192*(s/2):]
		for k := range 4 {
			lo := co[64*(s%2)+4*r+k]
			hi := co[128+4*r+k] >> (4 * (s % 2))
			for g := range 4 {
				y := 16*s + 4*g + k
				h, j, l := y/128, (y%128)/32, y%32
				blk[32+32*h+l] |= (lo >> (2 * g) & 3) << (2 * j)
				blk[l] |= (hi >> g & 1) << (4*h + j)
			}
		}
	}
}

// unpackQ2_K is packQ2_K's inverse (blk zeroed).
func unpackQ2_K(blk *[84]byte, rec []byte, r int) {
	blk[80], blk[81] = rec[2*r], rec[2*r+1]
	blk[82], blk[83] = rec[32+2*r], rec[33+2*r]
	for s := range 16 {
		blk[s] = rec[64+16*s+r]
		co := rec[320+64*s+4*r:]
		for k := range 4 {
			for g := range 4 {
				y := 16*s + 4*g + k
				h, j, l := y/128, (y%128)/32, y%32
				blk[16+32*h+l] |= (co[k] >> (2 * g) & 3) << (2 * j)
			}
		}
	}
}
