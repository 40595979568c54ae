package kernels

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/nuri-ai/nuri/quant"
)

// iqCodeTable maps each level (as a byte) of t to its code; 0xff for
// levels t has none of.
func iqCodeTable(t quant.Type) *[256]uint8 {
	var m [256]uint8
	for i := range m {
		m[i] = 0xff
	}
	for c, l := range quant.IQCodeLevels(t) {
		if l != 0 {
			m[uint8(l)] = uint8(c)
		}
	}
	return &m
}

// The four types' code tables, built once and only read.
var (
	iq2CodeTable    = iqCodeTable(quant.IQ2_XXS)
	iq3XXSCodeTable = iqCodeTable(quant.IQ3_XXS)
	iq3SCodeTable   = iqCodeTable(quant.IQ3_S)
	iq1CodeTable    = iqCodeTable(quant.IQ1_S)
)

func iqCodesOf(t quant.Type) *[256]uint8 {
	switch t {
	case quant.IQ2_XXS, quant.IQ2_XS, quant.IQ2_S:
		return iq2CodeTable
	case quant.IQ3_XXS:
		return iq3XXSCodeTable
	case quant.IQ3_S:
		return iq3SCodeTable
	}
	return iq1CodeTable
}

// packIQFromLevels is packIQ from quant.IQDecode's levels, through the
// code tables: the reference the fast packIQ is held to.
func packIQFromLevels(t quant.Type, blk []byte, rec []byte, r int) {
	var level [quant.QK_K]int8
	var mult [16]int8
	d16 := quant.IQDecode(t, blk, &level, &mult)
	binary.LittleEndian.PutUint16(rec[2*r:], d16)
	iqRecordHeader(t, rec)
	mults, off, _ := iqRecord(t)
	for m := range mults {
		rec[iqRecHeader+16*m+r] = byte(mult[m])
	}
	codes := iqCodesOf(t)
	for s := range 8 {
		lv := level[32*s : 32*s+32]
		for g := range 4 {
			o := off + 256*s + 64*g + 4*r
			for k := range 4 {
				rec[o+k] = codes[uint8(lv[4*g+k])] | codes[uint8(lv[16+4*g+k])]<<4
			}
		}
	}
}

// TestPackIQMatchesLevels: packIQ's nibble path writes the bytes the
// level path does, for random blocks of every transcoded type.
func TestPackIQMatchesLevels(t *testing.T) {
	rng := rand.New(rand.NewPCG(81, 82))
	for _, wt := range []quant.Type{quant.IQ2_XXS, quant.IQ2_XS, quant.IQ2_S, quant.IQ3_XXS, quant.IQ3_S, quant.IQ1_S, quant.IQ1_M} {
		bb := packedBlockBytes(wt)
		for n := range 300 {
			blk := randWeights(rng, wt, 1, quant.QK_K, false)
			r := n % packGroup
			want, got := make([]byte, bb), make([]byte, bb)
			packIQFromLevels(wt, blk, want, r)
			packIQ(wt, blk, got, r)
			if !bytes.Equal(got, want) {
				t.Fatalf("%v block %d (row %d): packIQ and packIQFromLevels differ", wt, n, r)
			}
		}
	}
}
