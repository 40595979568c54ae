//go:build amd64

package kernels

import "golang.org/x/sys/cpu"

//go:noescape
func q4_0x16N1(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func q4_0x16N2(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func q4_0x16N4(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func q4_0x16N8(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func q8_0x16N1(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func q8_0x16N2(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func q8_0x16N4(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func q8_0x16N8(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func q4_0x16N1S4(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int)

//go:noescape
func q8_0x16N1S4(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int)

//go:noescape
func q5_0x16N1S4(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int)

//go:noescape
func q4_1x16N1S4(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int)

//go:noescape
func q5_1x16N1S4(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int)

//go:noescape
func f16x16N1S4(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int)

//go:noescape
func bf16x16N1S4(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int)

//go:noescape
func f32x16N1S4(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int)

//go:noescape
func q4_Kx16N1S2(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int)

//go:noescape
func q5_Kx16N1S2(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int)

//go:noescape
func q3_Kx16N1S2(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int)

//go:noescape
func q2_Kx16N1S2(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int)

// hasPackedAsm: the packed kernels need 512-bit VNNI with byte shifts
// (AVX512BW) and the assembly activation quantizer.
var hasPackedAsm = cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VNNI && hasQuantAsm

// packedBF16Dot: BF16 weights take the VDPBF16PS kernels (AVX512-BF16)
// and BF16 activation pairs, else widened weights, float32 activations
// and VFMADD231PS. Set once at start-up (tests flip it to cover both).
var packedBF16Dot = hasBF16DotAsm

// hasBF16DotAsm: this CPU can run the VDPBF16PS kernels.
var hasBF16DotAsm = hasPackedAsm && cpu.X86.HasAVX512BF16

// The multi-stream kernels that also add their outputs to a residual.
var (
	q4_0StreamsRes streamResKernel = q4_0x16N1S4R
	q8_0StreamsRes streamResKernel = q8_0x16N1S4R
	q5_0StreamsRes streamResKernel = q5_0x16N1S4R
	q4_1StreamsRes streamResKernel = q4_1x16N1S4R
	q5_1StreamsRes streamResKernel = q5_1x16N1S4R
	q4_KStreamsRes streamResKernel = q4_Kx16N1S2R
	q5_KStreamsRes streamResKernel = q5_Kx16N1S2R
	q3_KStreamsRes streamResKernel = q3_Kx16N1S2R
	q2_KStreamsRes streamResKernel = q2_Kx16N1S2R
)

// The multi-stream tile kernels (batched decode), by tile size.
var (
	q4_0TileStreams = [5]streamTileKernel{2: q4_0x16N2S4, 4: q4_0x16N4S4}
	q8_0TileStreams = [5]streamTileKernel{2: q8_0x16N2S4, 4: q8_0x16N4S4}
	q5_0TileStreams = [5]streamTileKernel{2: q5_0x16N2S4, 4: q5_0x16N4S4}
	q4_1TileStreams = [5]streamTileKernel{2: q4_1x16N2S4, 4: q4_1x16N4S4}
	q5_1TileStreams = [5]streamTileKernel{2: q5_1x16N2S4, 4: q5_1x16N4S4}
	q4_KTileStreams = [5]streamTileKernel{2: q4_Kx16N2S2}
	q5_KTileStreams = [5]streamTileKernel{2: q5_Kx16N2S2}
	q3_KTileStreams = [5]streamTileKernel{2: q3_Kx16N2S2}
	q2_KTileStreams = [5]streamTileKernel{2: q2_Kx16N2S2}
	q6_KTileStreams = [5]streamTileKernel{2: q6_Kx16N2S2}
)

var (
	q4_0Packed = [9]packedKernel{1: q4_0x16N1, 2: q4_0x16N2, 4: q4_0x16N4, 8: q4_0x16N8}
	q8_0Packed = [9]packedKernel{1: q8_0x16N1, 2: q8_0x16N2, 4: q8_0x16N4, 8: q8_0x16N8}
	q5_0Packed = [9]packedKernel{1: q5_0x16N1, 2: q5_0x16N2, 4: q5_0x16N4, 8: q5_0x16N8}
	q4_1Packed = [9]packedKernel{1: q4_1x16N1, 2: q4_1x16N2, 4: q4_1x16N4, 8: q4_1x16N8}
	q5_1Packed = [9]packedKernel{1: q5_1x16N1, 2: q5_1x16N2, 4: q5_1x16N4, 8: q5_1x16N8}
	q6_KPacked = [9]packedKernel{1: q6_Kx16N1, 2: q6_Kx16N2, 4: q6_Kx16N4, 8: q6_Kx16N8}
	q4_KPacked = [9]packedKernel{1: q4_Kx16N1, 2: q4_Kx16N2, 4: q4_Kx16N4}
	q5_KPacked = [9]packedKernel{1: q5_Kx16N1, 2: q5_Kx16N2, 4: q5_Kx16N4}
	q3_KPacked = [9]packedKernel{1: q3_Kx16N1, 2: q3_Kx16N2, 4: q3_Kx16N4, 8: q3_Kx16N8}
	q2_KPacked = [9]packedKernel{1: q2_Kx16N1, 2: q2_Kx16N2, 4: q2_Kx16N4}

	q4_0Streams streamKernel = q4_0x16N1S4
	q8_0Streams streamKernel = q8_0x16N1S4
	q5_0Streams streamKernel = q5_0x16N1S4
	q4_1Streams streamKernel = q4_1x16N1S4
	q5_1Streams streamKernel = q5_1x16N1S4
	f16Streams  streamKernel = f16x16N1S4
	bf16Streams streamKernel = bf16x16N1S4
	f32Streams  streamKernel = f32x16N1S4
	q4_KStreams streamKernel = q4_Kx16N1S2
	q5_KStreams streamKernel = q5_Kx16N1S2
	q3_KStreams streamKernel = q3_Kx16N1S2
	q2_KStreams streamKernel = q2_Kx16N1S2
	q6_KStreams streamKernel = q6_Kx16N1S2
)

//go:noescape
func q6_Kx16N1(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func q6_Kx16N2(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func q6_Kx16N4(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func q6_Kx16N8(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func q4_Kx16N1(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func q4_Kx16N2(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func q4_Kx16N4(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func q5_Kx16N1(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func q5_Kx16N2(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func q5_Kx16N4(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func q3_Kx16N1(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func q3_Kx16N2(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func q3_Kx16N4(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func q3_Kx16N8(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func q2_Kx16N1(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func q2_Kx16N2(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func q2_Kx16N4(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func q5_0x16N1(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func q5_0x16N2(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func q5_0x16N4(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func q5_0x16N8(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func q4_1x16N1(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func q4_1x16N2(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func q4_1x16N4(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func q4_1x16N8(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func q5_1x16N1(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func q5_1x16N2(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func q5_1x16N4(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func q5_1x16N8(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

var (
	f16Packed  = [9]packedKernel{1: f16x16N1, 2: f16x16N2, 4: f16x16N4}
	bf16Packed = [9]packedKernel{1: bf16x16N1, 2: bf16x16N2, 4: bf16x16N4}
	// bf16DotPacked and bf16DotStreams are the VDPBF16PS kernels
	// (packedBF16Dot).
	bf16DotPacked               = [9]packedKernel{1: bf16dotx16N1, 2: bf16dotx16N2, 4: bf16dotx16N4, 8: bf16dotx16N8}
	bf16DotStreams streamKernel = bf16dotx16N1S4
	// bf16DotTileStreams: the VDPBF16PS kernels' tile streams.
	bf16DotTileStreams = [5]streamTileKernel{2: bf16dotx16N2S4}
	// The float widening kernels' two-row tile streams (two streams each).
	f16TileStreams  = [5]streamTileKernel{2: f16x16N2S2}
	bf16TileStreams = [5]streamTileKernel{2: bf16x16N2S2}
	f32TileStreams  = [5]streamTileKernel{2: f32x16N2S2}
	f32Packed       = [9]packedKernel{1: f32x16N1, 2: f32x16N2, 4: f32x16N4}
)

//go:noescape
func f16x16N1(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func f16x16N2(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func f16x16N4(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func bf16x16N1(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func bf16x16N2(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func bf16x16N4(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func f32x16N1(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func f32x16N2(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func f32x16N4(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func bf16dotx16N1(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func bf16dotx16N2(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func bf16dotx16N4(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func bf16dotx16N1S4(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int)

//go:noescape
func bf16dotx16N8(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func q4_0x16N2S4(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

//go:noescape
func q4_0x16N4S4(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

//go:noescape
func q8_0x16N2S4(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

//go:noescape
func q8_0x16N4S4(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

//go:noescape
func q5_0x16N2S4(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

//go:noescape
func q5_0x16N4S4(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

//go:noescape
func q4_1x16N2S4(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

//go:noescape
func q4_1x16N4S4(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

//go:noescape
func q5_1x16N2S4(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

//go:noescape
func q5_1x16N4S4(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

//go:noescape
func q4_Kx16N2S2(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

//go:noescape
func q5_Kx16N2S2(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

//go:noescape
func q3_Kx16N2S2(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

//go:noescape
func q2_Kx16N2S2(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

//go:noescape
func q6_Kx16N1S2(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int)

//go:noescape
func q6_Kx16N2S2(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

//go:noescape
func q4_0x16N1S4R(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, res *float32)

//go:noescape
func q8_0x16N1S4R(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, res *float32)

//go:noescape
func q5_0x16N1S4R(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, res *float32)

//go:noescape
func q4_1x16N1S4R(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, res *float32)

//go:noescape
func q5_1x16N1S4R(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, res *float32)

//go:noescape
func q4_Kx16N1S2R(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, res *float32)

//go:noescape
func q5_Kx16N1S2R(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, res *float32)

//go:noescape
func q3_Kx16N1S2R(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, res *float32)

//go:noescape
func q2_Kx16N1S2R(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, res *float32)

//go:noescape
func bf16dotx16N2S4(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

//go:noescape
func f16x16N2S2(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

//go:noescape
func bf16x16N2S2(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

//go:noescape
func f32x16N2S2(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)
