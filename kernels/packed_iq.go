package kernels

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/nuri-ai/nuri/quant"
)

// The read-only i-quants have no packed kernels of their own: packIQ
// transcodes each block, through the integers quant.IQDecode describes
// (taken as quant.IQNibbles' 4-bit codes), into IQ4_XS's record with a
// float32 d and, for the types whose multipliers cover 16 elements
// (IQ2_XS, IQ2_S, IQ1_M), a multiplier a half group:
//
//	+0   16 float32 d (the fp16 scale times quant.IQFactor; a NaN scale
//	     as a quiet NaN holding the fp16 bits, so it unpacks unchanged)
//	+64  the 8 (or 16) odd multipliers as int8, multiplier m of the 16
//	     rows at 64+16m
//	+192 (or +320) the codes of 32-element group s at +256s, in IQ4_XS's
//	     arrangement (low nibbles elements 4g.., high nibbles 16+4g..)
//
// Each element's signed level becomes a 4-bit code of the type's table
// (quant.IQCodeLevels); the AVX-512 kernels (gen_packed.py IQ_TABLES) look the
// codes up as level+128 with one VPSHUFB, as IQ4_XS's do, and the AVX2
// ones (iq_avx2) as the signed level. The codebook costs
// nothing at run time, and the records take 4.4 (4.6) bits an element
// against the files' 1.56 (IQ1_S) to 3.44 (IQ3_S): decode reads more bytes
// than the file holds, for kernels that are bound by memory instead of by
// codebook lookups.

const iqRecHeader = 64 // the float32 d of 16 rows

// iqRecord returns the number of multipliers of t's records, where their
// codes start and the record's size.
func iqRecord(t quant.Type) (mults, codes, bytes int) {
	mults = quant.QK_K / quant.IQGroupSize(t)
	codes = iqRecHeader + 16*mults
	return mults, codes, codes + 8*256
}

// iqRecordScale is a record's float32 d (as bits) for the fp16 scale d16.
func iqRecordScale(t quant.Type, d16 uint16) uint32 {
	d := quant.FP16ToFP32(d16)
	if d != d { // NaN: keep the fp16 bits, which the conversion may not
		return 0x7fc00000 | uint32(d16)
	}
	return math.Float32bits(d * quant.IQFactor(t)) // exact: a power of two
}

// iqFileScale is iqRecordScale's inverse.
func iqFileScale(t quant.Type, bits uint32) uint16 {
	d := math.Float32frombits(bits)
	if d != d {
		return uint16(bits)
	}
	return quant.FP32ToFP16(d / quant.IQFactor(t))
}

// packIQ writes block blk of transcoded type t as row r of its record,
// from quant.IQNibbles' codes, whose levels quant.IQCodeLevels gives
// (gen_packed.py's tables are the same) (packIQFromLevels, in the tests, builds the same bytes from the
// levels).
func packIQ(t quant.Type, blk []byte, rec []byte, r int) {
	var oct [32]uint32
	var mult [16]int8
	d16 := quant.IQNibbles(t, blk, &oct, &mult)
	le := binary.LittleEndian
	le.PutUint32(rec[4*r:], iqRecordScale(t, d16))
	mults, off, _ := iqRecord(t)
	for m := range mults {
		rec[iqRecHeader+16*m+r] = byte(mult[m])
	}
	for s := range 8 {
		for g := range 4 {
			sh := 16 * (g % 2)
			lo := oct[4*s+g/2] >> sh & 0xffff   // elements 4g..4g+3 of the group
			hi := oct[4*s+2+g/2] >> sh & 0xffff // elements 16+4g..
			le.PutUint32(rec[off+256*s+64*g+4*r:], spreadNibbles(lo)|spreadNibbles(hi)<<4)
		}
	}
}

// spreadNibbles puts the four nibbles of x into the low nibbles of four
// bytes.
func spreadNibbles(x uint32) uint32 {
	x = (x | x<<8) & 0x00ff00ff
	return (x | x<<4) & 0x0f0f0f0f
}

// unpackIQ is packIQ's inverse: the block (ggml layout) of row r.
func unpackIQ(t quant.Type, rec []byte, r int, blk []byte) {
	var level [quant.QK_K]int8
	var mult [16]int8
	d16 := iqFileScale(t, binary.LittleEndian.Uint32(rec[4*r:]))
	mults, off, _ := iqRecord(t)
	for m := range mults {
		mult[m] = int8(rec[iqRecHeader+16*m+r])
	}
	levels := quant.IQCodeLevels(t)
	for s := range 8 {
		lv := level[32*s : 32*s+32]
		for g := range 4 {
			o := off + 256*s + 64*g + 4*r
			for k := range 4 {
				lv[4*g+k] = levels[rec[o+k]&15]
				lv[16+4*g+k] = levels[rec[o+k]>>4]
			}
		}
	}
	if err := quant.IQEncode(t, d16, &level, &mult, blk); err != nil {
		// Records come from packIQ, whose blocks always encode back.
		panic(fmt.Sprintf("kernels: unpack %v: %v", t, err))
	}
}
