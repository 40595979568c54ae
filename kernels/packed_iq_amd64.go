//go:build amd64

package kernels

import (
	"golang.org/x/sys/cpu"

	"github.com/nuri-ai/nuri/quant"
)

// The transcoded i-quants' kernels: IQ4_XS's, each with its own level
// table (gen_packed.py IQ_TABLES, packIQ in packed_iq.go), and for the
// types with 16-element multipliers IQ4_XS's with a multiplier a half
// group (gen_packed.py iq4x16): IQ2_XS and IQ2_S share IQ2's table, IQ1_M
// takes IQ1_S's.

// hasIQAVX2: the AVX2 forms of the transcoded i-quants' kernels (one
// activation row at a time; gen_packed.py iq_avx2), for CPUs without the
// AVX-512 ones or the AVX2 kernel set.
var hasIQAVX2 = hasQuantAsm && cpu.X86.HasFMA

// iqAVX2Sets are those kernels, a packedSet each.
var (
	iq2_XXSAVX2 = packedSet{tiles: [9]packedKernel{1: iq2_XXSx16AVX2}}
	iq3_XXSAVX2 = packedSet{tiles: [9]packedKernel{1: iq3_XXSx16AVX2}}
	iq3_SAVX2   = packedSet{tiles: [9]packedKernel{1: iq3_Sx16AVX2}}
	iq1_SAVX2   = packedSet{tiles: [9]packedKernel{1: iq1_Sx16AVX2}}
	iq2HAVX2    = packedSet{tiles: [9]packedKernel{1: iq2Hx16AVX2}}
	iq1HAVX2    = packedSet{tiles: [9]packedKernel{1: iq1Hx16AVX2}}
)

// iqAVX2Set returns transcoded type t's AVX2 kernels (nil for others).
func iqAVX2Set(t quant.Type) *packedSet {
	switch t {
	case quant.IQ2_XXS:
		return &iq2_XXSAVX2
	case quant.IQ3_XXS:
		return &iq3_XXSAVX2
	case quant.IQ3_S:
		return &iq3_SAVX2
	case quant.IQ1_S:
		return &iq1_SAVX2
	case quant.IQ2_XS, quant.IQ2_S:
		return &iq2HAVX2
	case quant.IQ1_M:
		return &iq1HAVX2
	}
	return nil
}

var (
	iq2_XXSSet = kQuantSet([9]packedKernel{1: iq2_XXSx16N1, 2: iq2_XXSx16N2, 4: iq2_XXSx16N4, 8: iq2_XXSx16N8}, iq2_XXSx16N1S2, iq2_XXSx16N1S2R, iq2_XXSx16N2S2, iq2_XXSx16N3S2, 3)
	iq3_XXSSet = kQuantSet([9]packedKernel{1: iq3_XXSx16N1, 2: iq3_XXSx16N2, 4: iq3_XXSx16N4, 8: iq3_XXSx16N8}, iq3_XXSx16N1S2, iq3_XXSx16N1S2R, iq3_XXSx16N2S2, iq3_XXSx16N3S2, 3)
	iq3_SSet   = kQuantSet([9]packedKernel{1: iq3_Sx16N1, 2: iq3_Sx16N2, 4: iq3_Sx16N4, 8: iq3_Sx16N8}, iq3_Sx16N1S2, iq3_Sx16N1S2R, iq3_Sx16N2S2, iq3_Sx16N3S2, 3)
	iq1_SSet   = kQuantSet([9]packedKernel{1: iq1_Sx16N1, 2: iq1_Sx16N2, 4: iq1_Sx16N4, 8: iq1_Sx16N8}, iq1_Sx16N1S2, iq1_Sx16N1S2R, iq1_Sx16N2S2, iq1_Sx16N3S2, 3)
	iq2HSet    = kQuantSet([9]packedKernel{1: iq2Hx16N1, 2: iq2Hx16N2, 4: iq2Hx16N4}, iq2Hx16N1S2, iq2Hx16N1S2R, iq2Hx16N2S2, iq2Hx16N3S2, 3)
	iq1HSet    = kQuantSet([9]packedKernel{1: iq1Hx16N1, 2: iq1Hx16N2, 4: iq1Hx16N4}, iq1Hx16N1S2, iq1Hx16N1S2R, iq1Hx16N2S2, iq1Hx16N3S2, 3)
)

//go:noescape
func iq2_XXSx16N1(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func iq2_XXSx16N2(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func iq2_XXSx16N4(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func iq2_XXSx16N8(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func iq2_XXSx16N1S2(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int)

//go:noescape
func iq2_XXSx16N1S2R(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, res *float32)

//go:noescape
func iq2_XXSx16N2S2(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

//go:noescape
func iq2_XXSx16N3S2(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

//go:noescape
func iq3_XXSx16N1(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func iq3_XXSx16N2(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func iq3_XXSx16N4(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func iq3_XXSx16N8(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func iq3_XXSx16N1S2(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int)

//go:noescape
func iq3_XXSx16N1S2R(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, res *float32)

//go:noescape
func iq3_XXSx16N2S2(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

//go:noescape
func iq3_XXSx16N3S2(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

//go:noescape
func iq3_Sx16N1(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func iq3_Sx16N2(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func iq3_Sx16N4(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func iq3_Sx16N8(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func iq3_Sx16N1S2(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int)

//go:noescape
func iq3_Sx16N1S2R(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, res *float32)

//go:noescape
func iq3_Sx16N2S2(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

//go:noescape
func iq3_Sx16N3S2(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

//go:noescape
func iq1_Sx16N1(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func iq1_Sx16N2(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func iq1_Sx16N4(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func iq1_Sx16N8(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func iq1_Sx16N1S2(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int)

//go:noescape
func iq1_Sx16N1S2R(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, res *float32)

//go:noescape
func iq1_Sx16N2S2(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

//go:noescape
func iq1_Sx16N3S2(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

//go:noescape
func iq2Hx16N1(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func iq2Hx16N2(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func iq2Hx16N4(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func iq2Hx16N1S2(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int)

//go:noescape
func iq2Hx16N1S2R(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, res *float32)

//go:noescape
func iq2Hx16N2S2(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

//go:noescape
func iq2Hx16N3S2(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

//go:noescape
func iq1Hx16N1(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func iq1Hx16N2(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func iq1Hx16N4(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func iq1Hx16N1S2(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int)

//go:noescape
func iq1Hx16N1S2R(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, res *float32)

//go:noescape
func iq1Hx16N2S2(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

//go:noescape
func iq1Hx16N3S2(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

//go:noescape
func iq2_XXSx16AVX2(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func iq3_XXSx16AVX2(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func iq3_Sx16AVX2(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func iq1_Sx16AVX2(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func iq2Hx16AVX2(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func iq1Hx16AVX2(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)
