//go:build amd64

package kernels

import (
	"golang.org/x/sys/cpu"

	"github.com/nuri-ai/nuri/quant"
)

// The transcoded i-quants' kernels (packed_iq.go): their records carry
// their code table and power of two, so one set serves every type of a
// record form: IQ4_XS's kernels for the 32-element multipliers (iqG:
// IQ2_XXS, IQ3_XXS, IQ3_S, IQ1_S), gen_packed.py's iq4x16 for the
// 16-element ones (iqH: IQ2_XS, IQ2_S, IQ1_M), and each an AVX2 form.

// hasIQAVX2: the AVX2 forms (one activation row at a time; gen_packed.py
// iq_avx2), for CPUs without the AVX-512 ones or the AVX2 kernel set.
var hasIQAVX2 = hasQuantAsm && cpu.X86.HasFMA

var (
	iqGSet  = kQuantSet([9]packedKernel{1: iqGx16N1, 2: iqGx16N2, 4: iqGx16N4, 8: iqGx16N8}, iqGx16N1S2, iqGx16N2S2, iqGx16N3S2, 3, packKStreams)
	iqHSet  = kQuantSet([9]packedKernel{1: iqHx16N1, 2: iqHx16N2, 4: iqHx16N4}, iqHx16N1S2, iqHx16N2S2, iqHx16N3S2, 3, packKStreams)
	iqGAVX2 = packedSet{tiles: [9]packedKernel{1: iqGx16AVX2}}
	iqHAVX2 = packedSet{tiles: [9]packedKernel{1: iqHx16AVX2}}
)

// iqSet returns transcoded type t's kernels (nil for other types).
func iqSet(t quant.Type, avx2 bool) *packedSet {
	switch quant.IQGroupSize(t) {
	case 32:
		if avx2 {
			return &iqGAVX2
		}
		return &iqGSet
	case 16:
		if avx2 {
			return &iqHAVX2
		}
		return &iqHSet
	}
	return nil
}

//go:noescape
func iqGx16N1(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func iqGx16N2(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func iqGx16N4(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func iqGx16N8(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func iqGx16N1S2(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int)

//go:noescape
func iqGx16N2S2(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

//go:noescape
func iqGx16N3S2(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

//go:noescape
func iqGx16AVX2(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func iqHx16N1(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func iqHx16N2(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func iqHx16N4(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func iqHx16N1S2(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int)

//go:noescape
func iqHx16N2S2(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

//go:noescape
func iqHx16N3S2(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

//go:noescape
func iqHx16AVX2(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)
