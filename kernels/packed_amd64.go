//go:build amd64

package kernels

import (
	"golang.org/x/sys/cpu"

	"github.com/nuri-ai/nuri/quant"
)

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
func q4_Kx16N1S4(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int)

//go:noescape
func q5_Kx16N1S4(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int)

//go:noescape
func q3_Kx16N1S4(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int)

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

// packStreams is the number of row groups the Q4_0-family and float
// streamKernels walk at once (STREAMS in gen_packed.py), packKStreams the
// K-quants' and IQ4_XS's batches and Q2_K's single rows (KSTREAMS),
// packK4Streams the single rows of Q3_K to Q6_K and IQ4_XS.
const (
	packStreams   = 4
	packKStreams  = 2
	packK4Streams = 4 // the single rows of Q3_K to Q6_K and IQ4_XS (K4_STREAMS)
)

// The packed kernel sets (packedSet). Which calls take the multi-stream
// kernels was measured in the decode-step harness (docs/performance.md,
// rounds 7-9):
//   - single rows: every type with a stream kernel; the Q4_0 family four,
//     two records a pass (rounds 16, 17 and, for Q4_0, 48); Q4_K and
//     Q5_K four, interleaved sub-block by sub-block (round 61), as IQ4_XS,
//     Q2_K two; Q6_K and Q3_K four, interleaved four sub-blocks at a time
//     (round 61; before, two with their prefetches spread over the loop,
//     round 16, and before that its one-group kernel, which streamed
//     better than two streams had);
//   - small batches: the Q4_0 family 2-7 rows (llama-1b Q4_0 batched
//     decode, --batch, alternating: B = 2-7 +12-33 %; eight rows keep the
//     one-group N = 8 kernel, which does more per weight byte than two
//     passes of four: 266-287 t/s against 232-284), in tiles of 4, 3, 2
//     and 1 rows; the K-quants (Q3_K aside) and Q6_K two- and three-row
//     tile streams for two rows and three (round 28: a three-row tile
//     in place of 2 + 1 made a 3-row llama-1b step 15-16 ms instead of
//     18-19, B = 3 batched decode +22-24 %), Q3_K two, the float widening
//     kernels two-row ones for two and three (2 + 1); BF16 on VDPBF16PS
//     2-4 rows (gen_packed.py has the figures).
var (
	q4_0Set   = withNear(withPacing(withRowChunk(q4_0FamilySet([9]packedKernel{1: q4_0x16N1, 2: q4_0x16N2, 4: q4_0x16N4, 8: q4_0x16N8}, q4_0x16N1S4, q4_0x16N2S4, q4_0x16N3S4, q4_0x16N4S4, packStreams), rowChunk1_5MiB), q4_0x16N1S4P), q4_0x16N1S4Near)
	q8_0Set   = withNear(withPacing(withRowChunk(q4_0FamilySet([9]packedKernel{1: q8_0x16N1, 2: q8_0x16N2, 4: q8_0x16N4, 8: q8_0x16N8}, q8_0x16N1S4, q8_0x16N2S4, q8_0x16N3S4, q8_0x16N4S4, packStreams), rowChunk2MiB), q8_0x16N1S4P), q8_0x16N1S4Near)
	q5_0Set   = withPacing(q4_0FamilySet([9]packedKernel{1: q5_0x16N1, 2: q5_0x16N2, 4: q5_0x16N4, 8: q5_0x16N8}, q5_0x16N1S4, q5_0x16N2S4, q5_0x16N3S4, q5_0x16N4S4, packStreams), q5_0x16N1S4P)
	q4_1Set   = withPacing(q4_0FamilySet([9]packedKernel{1: q4_1x16N1, 2: q4_1x16N2, 4: q4_1x16N4, 8: q4_1x16N8}, q4_1x16N1S4, q4_1x16N2S4, q4_1x16N3S4, q4_1x16N4S4, packStreams), q4_1x16N1S4P)
	q5_1Set   = withPacing(q4_0FamilySet([9]packedKernel{1: q5_1x16N1, 2: q5_1x16N2, 4: q5_1x16N4, 8: q5_1x16N8}, q5_1x16N1S4, q5_1x16N2S4, q5_1x16N3S4, q5_1x16N4S4, packStreams), q5_1x16N1S4P)
	iq4_NLSet = withPacing(q4_0FamilySet([9]packedKernel{1: iq4_nlx16N1, 2: iq4_nlx16N2, 4: iq4_nlx16N4, 8: iq4_nlx16N8}, iq4_nlx16N1S4, iq4_nlx16N2S4, iq4_nlx16N3S4, iq4_nlx16N4S4, packStreams), iq4_nlx16N1S4P)
	q4_KSet   = withNear(withPacing(withRowChunk(kQuantSet([9]packedKernel{1: q4_Kx16N1, 2: q4_Kx16N2, 4: q4_Kx16N4}, q4_Kx16N1S4, q4_Kx16N2S2, q4_Kx16N3S2, 3, packK4Streams), rowChunk1_5MiB), q4_Kx16N1S4P), q4_Kx16N1S4Near)
	q5_KSet   = withNear(withPacing(kQuantSet([9]packedKernel{1: q5_Kx16N1, 2: q5_Kx16N2, 4: q5_Kx16N4}, q5_Kx16N1S4, q5_Kx16N2S2, q5_Kx16N3S2, 3, packK4Streams), q5_Kx16N1S4P), q5_Kx16N1S4Near)
	q3_KSet   = withNear(withPacing(kQuantSet([9]packedKernel{1: q3_Kx16N1, 2: q3_Kx16N2, 4: q3_Kx16N4, 8: q3_Kx16N8}, q3_Kx16N1S4, q3_Kx16N2S2, nil, 2, packK4Streams), q3_Kx16N1S4P), q3_Kx16N1S4Near)
	q2_KSet   = kQuantSet([9]packedKernel{1: q2_Kx16N1, 2: q2_Kx16N2, 4: q2_Kx16N4}, q2_Kx16N1S2, q2_Kx16N2S2, q2_Kx16N3S2, 3, packKStreams)
	iq4_XSSet = withPacing(kQuantSet([9]packedKernel{1: iq4_XSx16N1, 2: iq4_XSx16N2, 4: iq4_XSx16N4, 8: iq4_XSx16N8}, iq4_XSx16N1S4, iq4_XSx16N2S2, iq4_XSx16N3S2, 3, packK4Streams), iq4_XSx16N1S4P)
	q6_KSet   = withNear(withPacing(withRowChunk(kQuantSet([9]packedKernel{1: q6_Kx16N1, 2: q6_Kx16N2, 4: q6_Kx16N4, 8: q6_Kx16N8}, q6_Kx16N1S4, q6_Kx16N2S2, q6_Kx16N3S2, 3, packK4Streams), rowChunk4MiB), q6_Kx16N1S4P), q6_Kx16N1S4Near)
	// The float types' two-row tile streams walk two of a call's four
	// streams each (sixteen accumulators).
	f16Set = packedSet{
		tiles:   [9]packedKernel{1: f16x16N1, 2: f16x16N2, 4: f16x16N4},
		streams: f16x16N1S4, ns: packStreams, single: true,
		tileStreams: [5]streamTileKernel{2: f16x16N2S2}, tileNS: 2, tileRows: 3,
	}
	bf16Set = packedSet{
		tiles:   [9]packedKernel{1: bf16x16N1, 2: bf16x16N2, 4: bf16x16N4},
		streams: bf16x16N1S4, ns: packStreams, single: true,
		tileStreams: [5]streamTileKernel{2: bf16x16N2S2}, tileNS: 2, tileRows: 3,
	}
	// bf16DotSet: the VDPBF16PS kernels (packedBF16Dot).
	bf16DotSet = packedSet{
		tiles:   [9]packedKernel{1: bf16dotx16N1, 2: bf16dotx16N2, 4: bf16dotx16N4, 8: bf16dotx16N8},
		streams: bf16dotx16N1S4, ns: packStreams, single: true,
		tileStreams: [5]streamTileKernel{2: bf16dotx16N2S4}, tileNS: packStreams, tileRows: 4,
	}
	f32Set = packedSet{
		tiles:   [9]packedKernel{1: f32x16N1, 2: f32x16N2, 4: f32x16N4},
		streams: f32x16N1S4, ns: packStreams, single: true,
		tileStreams: [5]streamTileKernel{2: f32x16N2S2}, tileNS: 2, tileRows: 3,
	}
)

// q4_0FamilySet is a Q4_0-family type's set: ns streams for single rows
// and four-stream tiles of two and four rows for batches of 2-7.
func q4_0FamilySet(tiles [9]packedKernel, streams streamKernel, tile2, tile3, tile4 streamTileKernel, ns int) packedSet {
	return packedSet{tiles: tiles, streams: streams, ns: ns, single: true,
		tileStreams: [5]streamTileKernel{2: tile2, 3: tile3, 4: tile4}, tileNS: packStreams, tileRows: packTile - 1}
}

// kQuantSet is a K-quant's set (IQ4_XS's and the transcoded i-quants'
// too): ns streams for single rows and two-row (and three-row) tile
// streams of two streams for batches of 2 to tileRows.
func kQuantSet(tiles [9]packedKernel, streams streamKernel, tile2, tile3 streamTileKernel, tileRows, ns int) packedSet {
	return packedSet{tiles: tiles, streams: streams, ns: ns, single: true,
		tileStreams: [5]streamTileKernel{2: tile2, 3: tile3}, tileNS: packKStreams, tileRows: tileRows}
}

// rowChunk1_5MiB: Q4_0's and Q4_K's single-row chunks are 1.5 MiB. In
// llama-1b decode steps, alternating two steps with it and two with the
// default 1 MiB in one process (64 steps × 10 repetitions a run, medians
// of the blocks' time ratios; round 56): Q4_0 file 0.9774-0.9790 of the
// step time in three runs (1.75 MiB 0.981-0.982, 2 MiB 0.991, 768 KiB
// 0.990, 1.25 MiB 1.002), Q4_K_M 0.9935-0.9945 (1.75 MiB 0.992-0.994,
// 2 MiB 1.005). The gain comes with the pacer (pacer.go): with it off
// they measured level (0.998, 1.001). In llama-1b the change makes o one
// chunk a thread and q/k/v three chunks; gate/up and ffn_down take 13 and
// 7 (Q4_0) instead of 19 and 8. The rest of the Q4_0 family and the
// other K-quants were not measured and keep 1 MiB.
const rowChunk1_5MiB = 3 << 19

// rowChunk2MiB: Q8_0's single-row chunks are 2 MiB. On the 2-core Intel
// Xeon VM, over 1.2 GB of cold matrices alternating call by call with
// 1 MiB chunks (21 rounds, median time ratio): Q8_0 0.987-0.996 over
// 32768×2048, two 8192×2048 in one shared call and 2048×8192. In
// llama-1b Q8_0 decode, alternating two steps with 2 MiB and two with
// another size (64 steps × 6 repetitions a run, medians of the blocks'
// time ratios): 1 MiB 1.024-1.037, 4 MiB 1.027-1.031 of the step time
// (round 56). Q4_0 and Q4_K take rowChunk1_5MiB: 2 MiB had measured
// level over cold matrices (1.000-1.011) and slower in decode steps.
const rowChunk2MiB = 2 << 20

// rowChunk4MiB: Q6_K's single-row chunks are 4 MiB. Over cold matrices
// 2 MiB had read 0.979-0.983 of 1 MiB's time and 4 MiB 0.975-0.980
// (round 49). In llama-1b decode steps (as for Q8_0 above, round 56),
// where Q6_K is the 216 MB output matrix and, in Q4_K_M, half the
// ffn_down and attn_v matrices, against 2 MiB: 3 MiB 0.997 (Q4_0 file) /
// 0.993 (Q4_K_M), 4 MiB 0.987 / 0.983 (two runs each: 0.9870-0.9874 /
// 0.9826-0.9833), 6 MiB 0.991 / 0.991, 8 MiB 0.989 / 0.987; with the
// pacer off, 4 MiB 0.995 / 0.993.
const rowChunk4MiB = 4 << 20

// withRowChunk is s with single-row chunks of bytes bytes.
func withRowChunk(s packedSet, bytes int) packedSet {
	s.rowChunk = bytes
	return s
}

// withPacing is s with the paced twins of its single-row stream kernels.
func withPacing(s packedSet, streams streamKernel) packedSet {
	s.pacedStreams = streams
	return s
}

// withNear is s with the near twins of its single-row stream kernels.
func withNear(s packedSet, streams streamKernel) packedSet {
	s.nearStreams = streams
	return s
}

// packedSetOf returns weight type t's packed kernels (noPackedSet where it
// has none); avx2: the kernels of a CPU without AVX-512 VNNI or of the
// AVX2 kernel set, which only the transcoded i-quants have.
func packedSetOf(t quant.Type, avx2 bool) *packedSet {
	if avx2 || !hasPackedAsm {
		if hasIQAVX2 {
			if s := iqSet(t, true); s != nil {
				return s
			}
		}
		return &noPackedSet
	}
	if s := iqSet(t, false); s != nil {
		return s
	}
	switch t {
	case quant.Q4_0:
		return &q4_0Set
	case quant.Q8_0:
		return &q8_0Set
	case quant.Q5_0:
		return &q5_0Set
	case quant.Q4_1:
		return &q4_1Set
	case quant.Q5_1:
		return &q5_1Set
	case quant.Q4_K:
		return &q4_KSet
	case quant.Q5_K:
		return &q5_KSet
	case quant.Q3_K:
		return &q3_KSet
	case quant.Q2_K:
		return &q2_KSet
	case quant.Q6_K:
		return &q6_KSet
	case quant.IQ4_XS:
		return &iq4_XSSet
	case quant.IQ4_NL:
		return &iq4_NLSet
	case quant.F16:
		return &f16Set
	case quant.BF16:
		if packedBF16Dot {
			return &bf16DotSet
		}
		return &bf16Set
	case quant.F32:
		return &f32Set
	}
	return &noPackedSet
}

//go:noescape
func iq4_nlx16N1(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func iq4_nlx16N2(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func iq4_nlx16N4(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func iq4_nlx16N8(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func iq4_nlx16N2S4(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

//go:noescape
func iq4_nlx16N3S4(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

//go:noescape
func iq4_nlx16N4S4(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

//go:noescape
func iq4_nlx16N1S4(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int)

//go:noescape
func iq4_XSx16N1S4(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int)

//go:noescape
func iq4_XSx16N2S2(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

//go:noescape
func iq4_XSx16N3S2(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

//go:noescape
func iq4_XSx16N1(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func iq4_XSx16N2(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func iq4_XSx16N4(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

//go:noescape
func iq4_XSx16N8(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

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
func q4_0x16N3S4(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

//go:noescape
func q4_0x16N4S4(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

//go:noescape
func q8_0x16N2S4(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

//go:noescape
func q8_0x16N3S4(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

//go:noescape
func q8_0x16N4S4(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

//go:noescape
func q5_0x16N2S4(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

//go:noescape
func q5_0x16N3S4(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

//go:noescape
func q5_0x16N4S4(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

//go:noescape
func q4_1x16N2S4(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

//go:noescape
func q4_1x16N3S4(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

//go:noescape
func q4_1x16N4S4(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

//go:noescape
func q5_1x16N2S4(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

//go:noescape
func q5_1x16N3S4(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

//go:noescape
func q5_1x16N4S4(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

//go:noescape
func q4_Kx16N2S2(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

//go:noescape
func q4_Kx16N3S2(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

//go:noescape
func q5_Kx16N2S2(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

//go:noescape
func q5_Kx16N3S2(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

//go:noescape
func q3_Kx16N2S2(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

//go:noescape
func q2_Kx16N2S2(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

//go:noescape
func q2_Kx16N3S2(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

//go:noescape
func q6_Kx16N2S2(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

//go:noescape
func q6_Kx16N3S2(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

//go:noescape
func bf16dotx16N2S4(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

//go:noescape
func f16x16N2S2(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

//go:noescape
func bf16x16N2S2(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

//go:noescape
func f32x16N2S2(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

// The near twins of six types' single-row stream kernels: the plain
// forms prefetching nearer (gen_packed.py, NEAR_PREFETCH), for the cores
// whose memory is fast a core (Pool.SetPrefetch).

//go:noescape
func q4_0x16N1S4Near(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int)

//go:noescape
func q8_0x16N1S4Near(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int)

//go:noescape
func q4_Kx16N1S4Near(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int)

//go:noescape
func q3_Kx16N1S4Near(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int)

//go:noescape
func q5_Kx16N1S4Near(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int)

//go:noescape
func q6_Kx16N1S4Near(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int)

// The paced twins of the single-row stream kernels (gen_packed.py, paced).

//go:noescape
func q4_0x16N1S4P(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int)

//go:noescape
func q8_0x16N1S4P(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int)

//go:noescape
func q4_Kx16N1S4P(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int)

//go:noescape
func q6_Kx16N1S4(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int)

//go:noescape
func q6_Kx16N1S4P(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int)

//go:noescape
func q5_Kx16N1S4P(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int)

//go:noescape
func q5_0x16N1S4P(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int)

//go:noescape
func q4_1x16N1S4P(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int)

//go:noescape
func q5_1x16N1S4P(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int)

//go:noescape
func iq4_nlx16N1S4P(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int)

//go:noescape
func q3_Kx16N1S4P(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int)

//go:noescape
func iq4_XSx16N1S4P(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int)
