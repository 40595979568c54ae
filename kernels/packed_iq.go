package kernels

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/nuri-ai/nuri/quant"
)

// The i-quants below 4 bits have no packed kernels of their own: packIQ
// transcodes each block, through the integers quant.IQDecode describes
// (taken as quant.IQNibbles' 4-bit codes), into IQ4_XS's record with a
// header of its own and, for the types whose multipliers cover 16
// elements (IQ2_XS, IQ2_S, IQ1_M), a multiplier a half group:
//
//	+0   16 fp16 d, the file's
//	+32  the type's 16-byte code table, level+128 by code
//	     (quant.IQCodeLevels)
//	+48  the type's power of two (quant.IQFactor) as float32
//	+64  the 8 (or 16) odd multipliers as int8, multiplier m of the 16
//	     rows at 64+16m
//	+192 (or +320) the codes of 32-element group s at +256s, in IQ4_XS's
//	     arrangement (low nibbles elements 4g.., high nibbles 16+4g..)
//
// The kernels widen d and multiply it by the factor (exact: d·factor may
// not fit fp16, it always fits float32), and look the codes up in the
// record's table with one VPSHUFB (the AVX2 ones as signed levels), so
// one set of kernels serves every type of a record form (gen_packed.py).
// The codebook costs nothing at run time, and the records take 4.4 (4.6)
// bits an element against the files' 1.56 (IQ1_S) to 3.44 (IQ3_S): decode
// reads more bytes than the file holds, for kernels that are bound by
// memory instead of by codebook lookups.

const (
	iqRecHeader = 64 // d, the table and the factor
	iqRecTable  = 32
	iqRecFactor = 48
)

// iqRecord returns the number of multipliers of t's records, where their
// codes start and the record's size.
func iqRecord(t quant.Type) (mults, codes, bytes int) {
	mults = quant.QK_K / quant.IQGroupSize(t)
	codes = iqRecHeader + 16*mults
	return mults, codes, codes + 8*256
}

// iqRecordHeader writes the table and the factor of t's records (every
// row writes the same bytes).
func iqRecordHeader(t quant.Type, rec []byte) {
	for c, l := range quant.IQCodeLevels(t) {
		rec[iqRecTable+c] = byte(l) ^ 0x80 // level+128
	}
	binary.LittleEndian.PutUint32(rec[iqRecFactor:], math.Float32bits(quant.IQFactor(t)))
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
	le.PutUint16(rec[2*r:], d16)
	iqRecordHeader(t, rec)
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
	d16 := binary.LittleEndian.Uint16(rec[2*r:])
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
