package kernels

import (
	"encoding/binary"
	"fmt"
	"math"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/nuri-ai/nuri/quant"
)

// Packed weights: quantized matrices (Q4_0 … Q8_0, Q2_K … Q6_K, IQ4_NL,
// IQ4_XS) rearranged once, at load, so that a 512-bit register holds the
// same 4-element group of 16 rows. A VPDPBUSD
// with the 4 matching activation quants broadcast then advances 16 outputs
// at once and each lane ends a block holding one output's whole block dot:
// the float work (convert, scale, add) is done once per 16 outputs and
// block instead of once per output and pair of blocks as in the row kernels,
// and one weight load serves every activation row of a tile.
//
// Layout: rows in groups of 16 (the last group padded with zero rows);
// group G is nb records of packedBlockBytes, block b's record at
// groupAt(G) + b·packedBlockBytes. The groups follow each other, or, for a
// single row's four-stream kernels, lie in runs padded so that the streams
// start spread within the page (packRuns, stagger.go):
//
//	+0   16 fp16 scales, row r at 2r
//	+32  the codes, 64 bytes per 4-element group g: row r's 4 bytes at 4r
//	     Q4_0: groups g = 0..3 hold the block's qs bytes 4g..4g+3, whose low
//	           nibbles are elements 4g.. and high nibbles elements 16+4g..
//	           (IQ4_NL: the same; its kernels map each nibble to level+128)
//	     Q5_0: the same, then at +288 the fifth bits, row r's 4 bytes at
//	           288+4r, byte k holding element 4g+k's at bit g and 16+4g+k's
//	           at bit 4+g
//	     Q8_0: groups g = 0..7 hold elements 4g..4g+3 as w+128 (unsigned)
//	Q4_1/Q5_1 records start with the 16 fp16 scales and then (+32) the 16
//	fp16 minimums; their codes (as Q4_0's) follow at +64, Q5_1's fifth bits
//	at +320.
//
// The K-quant records are described at packQ6_K, packQ3_K, packQ2_K,
// packQ4_K and packQ5KHigh, IQ4_XS's at packIQ4_XS, and those of the
// i-quants below 4 bits transcoded into IQ4_XS's form in packed_iq.go.
//
// Activations are Q8_0 (Q8_K for the K-quants and the i-quants, as ggml
// quantizes them), laid out in tiles of up to 8 rows: within a tile, block
// b of row k at (b·n+k)·blocksize, with its scale and its correction words
// (packedCorrs) at b·n+k of two arrays. A correction is −zero·Σq (zero: packZero), which
// turns unsigned codes back into the signed dot exactly; for Q4_1/Q5_1 it
// is Q8_1's s = fp16(d·Σq) as float bits, for Q2_K/Q4_K/Q5_K the
// sub-block sums that the minimums multiply.
//
// Every output (row r, activation i) is Σ over blocks in order of
// fma(float32(dot_b), d_w·d_a, acc), whatever the tile, the thread split or
// the number of activation rows, so batched results equal unbatched ones
// bit for bit; packedRef is its pure-Go reference.

//go:generate python3 gen_packed.py

const packGroup = 16

// PackedWeights is a matrix in the packed layout.
type PackedWeights struct {
	Type       quant.Type
	Rows, Cols int
	data       []byte
	arena      *Arena // keeps data's mapping when it came from an Arena
	// gb is one row group's record bytes. With run > 0 the groups are
	// laid out in runs of run groups, runStride bytes apart (gb·run and
	// padding that no kernel reads), up to group runEnd; the groups from
	// runEnd on follow each other. See packRuns.
	gb, run, runStride, runEnd int
	// pace is the last timed single-row call that had this matrix first,
	// for the pacer (paceSite).
	pace atomic.Uint64
}

// packedBlockBytes is the record size of one block of a 16-row group.
func packedBlockBytes(t quant.Type) int {
	switch t {
	case quant.Q4_0, quant.IQ4_NL:
		return 32 + 4*64
	case quant.Q8_0:
		return 32 + 8*64
	case quant.Q5_0:
		return 32 + 4*64 + 64
	case quant.Q4_1:
		return 64 + 4*64
	case quant.Q5_1:
		return 64 + 4*64 + 64
	case quant.Q6_K:
		return 32 + 16*16 + 16*192
	case quant.Q4_K:
		return 64 + 192 + 8*256
	case quant.Q5_K:
		return 64 + 192 + 8*320
	case quant.Q3_K:
		return 32 + 192 + 8*192
	case quant.Q2_K:
		return 64 + 16*16 + 16*64
	case quant.IQ4_XS:
		return 32 + 96 + 8*256
	case quant.IQ2_XXS, quant.IQ3_XXS, quant.IQ3_S, quant.IQ1_S, quant.IQ2_XS, quant.IQ2_S, quant.IQ1_M:
		_, _, bytes := iqRecord(t)
		return bytes
	case quant.F16, quant.BF16:
		return 4 * 32
	case quant.F32:
		return 4 * 64
	}
	return 0
}

// bf16PackedOffset is where a BF16 record (4 columns of 16 rows) keeps
// column c of row r: columns in pairs, each pair's 64 bytes holding row
// r's two values side by side in its dword r (column 2p low), so that
// VDPBF16PS multiplies a row's two columns by an activation pair in one
// lane; the widening kernels take the even column from the low halves and
// the odd one from the high halves of one load.
func bf16PackedOffset(c, r int) int { return 64*(c/2) + 4*r + 2*(c%2) }

// packedQK is the block size (elements) of a packed type's records and of
// its activation blocks.
func packedQK(t quant.Type) int {
	switch t {
	case quant.Q6_K, quant.Q4_K, quant.Q5_K, quant.Q3_K, quant.Q2_K, quant.IQ4_XS,
		quant.IQ2_XXS, quant.IQ3_XXS, quant.IQ3_S, quant.IQ1_S, quant.IQ2_XS, quant.IQ2_S, quant.IQ1_M:
		return quant.QK_K
	case quant.F16, quant.BF16, quant.F32:
		return 4 // a "block" of float weights is 4 columns
	}
	return 32
}

// floatType reports whether t is a float weight type (F16, BF16, F32),
// whose activations stay float32 (rounded to t) in the packed path.
func floatType(t quant.Type) bool { return t == quant.F16 || t == quant.BF16 || t == quant.F32 }

// PackableShape reports whether a rows×cols matrix of type t can be packed
// on this CPU: CanPack, and for float weights a multiple of 4 columns.
func PackableShape(t quant.Type, cols int) bool {
	return CanPack(t) && cols > 0 && cols%packedQK(t) == 0
}

// packedCorrs is the number of int32 correction words per activation
// block: the zero-point correction of the block (Q8_1's s for Q4_1/Q5_1),
// or of each 16-element sub-block for Q6_K/Q3_K; for Q4_K/Q5_K the
// activation sums of the 32-element sub-blocks and for Q2_K of the
// 16-element ones, two int16 per word, which the minimums multiply; for
// IQ4_XS the zero-point correction of each 32-element group.
func packedCorrs(t quant.Type) int {
	switch t {
	case quant.Q6_K, quant.Q3_K, quant.IQ2_XS, quant.IQ2_S, quant.IQ1_M:
		return 16
	case quant.IQ4_XS, quant.IQ2_XXS, quant.IQ3_XXS, quant.IQ3_S, quant.IQ1_S:
		return 8
	case quant.Q4_K, quant.Q5_K:
		return 4
	case quant.Q2_K:
		return 8
	}
	return 1
}

// packZero is the zero point of the packed codes.
func packZero(t quant.Type) int32 {
	switch t {
	case quant.Q4_0:
		return 8
	case quant.Q5_0:
		return 16
	case quant.Q4_1, quant.Q5_1:
		return 0 // unsigned codes; the minimum takes the activation sum
	case quant.Q6_K:
		return 32
	case quant.Q3_K:
		return 4
	}
	return 128 // Q8_0: w+128
}

// PackedBytes is the size of a rows×cols matrix of type t once packed, or
// 0 where it is not packed (PackableShape): its records, which take the
// file's bytes for every type but the transcoded i-quants (packed_iq.go),
// whose records are larger. A layout in runs (packRuns) adds at most
// 1/maxPadShare of padding to that.
func PackedBytes(t quant.Type, rows, cols int) uint64 {
	if rows <= 0 || !PackableShape(t, cols) {
		return 0
	}
	groups := (rows + packGroup - 1) / packGroup
	return uint64(groups) * uint64(cols/packedQK(t)) * uint64(packedBlockBytes(t))
}

// CanPack reports whether MatMulPacked has kernels for weight type t on
// this CPU.
func CanPack(t quant.Type) bool {
	return hasPackedAsm && packedBlockBytes(t) > 0 || iqPacksOnAVX2(t)
}

// iqPacksOnAVX2 reports whether t packs for the AVX2 kernels: the
// transcoded i-quants, on a CPU with AVX2 and FMA.
func iqPacksOnAVX2(t quant.Type) bool { return hasIQAVX2 && quant.IQTranscodable(t) }

// Bytes is the packed matrix's size.
func (pw *PackedWeights) Bytes() int { return len(pw.data) }

// groups is the number of 16-row groups (the last one may be partial).
func (pw *PackedWeights) groups() int { return (pw.Rows + packGroup - 1) / packGroup }

// groupBytes is the size of one row group's records.
func (pw *PackedWeights) groupBytes() int { return pw.gb }

// groupAt is the offset of row group g's first record in data.
func (pw *PackedWeights) groupAt(g int) int {
	if g < pw.runEnd {
		return g/pw.run*pw.runStride + g%pw.run*pw.gb
	}
	return pw.runEnd/max(1, pw.run)*pw.runStride + (g-pw.runEnd)*pw.gb
}

// PackWeights rearranges a rows×cols matrix of a packable type (ggml
// layout) into the packed layout, using the pool's workers.
func PackWeights(p *Pool, t quant.Type, w []byte, rows, cols int) (*PackedWeights, error) {
	return PackWeightsIn(p, nil, t, w, rows, cols)
}

// PackWeightsIn is PackWeights with the packed copy in arena a (nil: a
// buffer of its own, kernels.LargeBytes).
func PackWeightsIn(p *Pool, a *Arena, t quant.Type, w []byte, rows, cols int) (*PackedWeights, error) {
	bb := packedBlockBytes(t)
	if bb == 0 {
		return nil, fmt.Errorf("pack %v: no packed layout", t)
	}
	rb, err := t.RowBytes(cols)
	if err != nil {
		return nil, fmt.Errorf("pack %v: %w", t, err)
	}
	if rows <= 0 || len(w) != rows*rb {
		return nil, fmt.Errorf("pack %v: %d bytes for %d rows of %d", t, len(w), rows, cols)
	}
	if cols%packedQK(t) != 0 {
		return nil, fmt.Errorf("pack %v: %d columns, not a multiple of %d", t, cols, packedQK(t))
	}
	nb := cols / packedQK(t)
	pw := &PackedWeights{Type: t, Rows: rows, Cols: cols, arena: a, gb: nb * bb}
	groups := pw.groups()
	if set := packedSetOf(t, p.KernelSet() == KernelsAVX2); rows%packGroup == 0 && set.streamsFor(1) {
		pw.layRuns(set.pieceStreams(1), set.rowChunk, p.Threads())
	}
	size := pw.groupAt(groups)
	if a != nil {
		pw.data = a.Bytes(size)
	} else {
		pw.data = LargeBytes(pw, size)
	}
	p.Run(groups, func(lo, hi int) {
		for g := lo; g < hi; g++ {
			nr := min(packGroup, rows-g*packGroup) // padding rows stay zero
			at := pw.groupAt(g)
			for b := range nb {
				rec := pw.data[at+b*bb : at+(b+1)*bb]
				for r := range nr {
					packRow(t, w[(g*packGroup+r)*rb:], b, rec, r)
				}
			}
		}
	})
	return pw, nil
}

// alignedBytes returns n zeroed bytes starting on a 64-byte boundary.
func alignedBytes(n int) []byte {
	var b []byte
	return aligned64(&b, n)
}

// packedActs is one MatMulPacked call's quantized activations in tiles.
type packedActs struct {
	nx, nb int
	qk, nc int // elements and corrections per block
	es     int // bytes per activation element: 1 (int8), or 4 (float32 for float weights)
	span   int // blocks per quantize task (quantSpan elements)
	spans  int // quantize tasks per tile
	qs     []byte
	d      []float32
	corr   []int32
	// A shared call may mix two K-quant types (SharesInput): the second
	// type's corrections, from the same quantized blocks, go to corr2.
	wt2   quant.Type
	nc2   int
	corr2 []int32
}

const packTile = 8

// tileAt returns the offsets of activation row i: tile size n, the row's
// index k within its tile, and the tile's first block record index.
func (a *packedActs) tileAt(i int) (n, k, base int) {
	t0 := i / packTile * packTile
	return min(packTile, a.nx-t0), i - t0, t0 * a.nb
}

// quantSpan is how many elements of each row one quantize task covers.
// Tasks are (tile, column span) pairs, so every cache line of the tile
// layout (a tile's rows side by side, block by block) is written by one
// thread: with one task per row, neighbouring rows on different cores
// shared each line, and the lines bouncing between the cores made the
// quantize phase of a 16-row matmul ~8× slower than one core alone.
const quantSpan = 1024

// newPackedActs describes nx activation rows for weights of type t with
// cols columns (the buffers are attached by the caller).
func newPackedActs(t quant.Type, cols, nx int) packedActs {
	a := packedActs{nx: nx, qk: packedQK(t), nc: packedCorrs(t), es: 1}
	if floatType(t) {
		a.es = 4
		if t == quant.BF16 && packedBF16Dot {
			a.es = 2 // BF16 pairs for VDPBF16PS
		}
	}
	a.nb = cols / a.qk
	a.span = max(1, quantSpan/a.qk)
	a.spans = (a.nb + a.span - 1) / a.span
	return a
}

// quantTasks is the number of quantize tasks.
func (a *packedActs) quantTasks() int { return (a.nx + packTile - 1) / packTile * a.spans }

// quantize converts quantize task q (tile q/spans, column span q%spans) of
// x to Q8_0 (Q8_K for the K-quants) in the tile layout with the assembly
// quantizers (bit-identical to quant.QuantizeActivations for finite
// inputs); float weights get their activations rounded instead.
func (a *packedActs) quantize(in *packedInput, vec VecOps, x []float32, q int, wt quant.Type) {
	t0 := q / a.spans * packTile
	b0 := q % a.spans * a.span
	b1 := min(a.nb, b0+a.span)
	n, _, base := a.tileAt(t0)
	if in.kind != inputPlain {
		a.quantizeBuilt(in, vec, x, t0, n, base, b0, b1, wt)
		return
	}
	cols := a.nb * a.qk
	c0, c1 := b0*a.qk, b1*a.qk
	for k := range n {
		i := t0 + k
		a.quantizeRow(x[i*cols+c0:i*cols+c1], n, k, base, b0, b1, wt)
	}
}

// quantizeBuilt is quantize for rows built from their sources (in): each
// row's span goes through a buffer on the quantizing thread's stack, so it
// stays in L1 between the op that builds it and the quantizer.
func (a *packedActs) quantizeBuilt(in *packedInput, vec VecOps, x []float32, t0, n, base, b0, b1 int, wt quant.Type) {
	var built [quantSpan]float32
	cols := a.nb * a.qk
	c0 := b0 * a.qk
	span := built[:(b1-b0)*a.qk]
	for k := range n {
		in.build(vec, span, x, t0+k, cols, c0)
		a.quantizeRow(span, n, k, base, b0, b1, wt)
	}
}

// quantizeRow quantizes blocks b0..b1-1 of one activation row, row k of
// the n-row tile whose records start at base; span holds those blocks'
// elements.
func (a *packedActs) quantizeRow(span []float32, n, k, base, b0, b1 int, wt quant.Type) {
	if floatType(wt) {
		a.roundFloats(span, n, k, base+b0*n, wt)
		return
	}
	zero := packZero(wt)
	if a.qk == quant.QK_K {
		var bs [16]int16
		for b := b0; b < b1; b++ {
			j := base + b*n + k
			quantQ8_KSplit(&span[(b-b0)*a.qk], 1, &a.qs[j*a.qk], &a.d[j], &bs[0])
			kCorrections(a.corr[j*a.nc:(j+1)*a.nc], wt, &bs)
			if a.corr2 != nil {
				kCorrections(a.corr2[j*a.nc2:(j+1)*a.nc2], a.wt2, &bs)
			}
		}
		return
	}
	j := base + b0*n + k
	quantQ8_0Tile(&span[0], b1-b0, &a.qs[j*32], n*32, &a.d[j], &a.corr[j], n*4, int(-zero))
	if wt == quant.Q4_1 || wt == quant.Q5_1 {
		// Q8_1's s = fp16(d·Σq) with the unrounded d = amax/127, as
		// quant.QuantizeActivations makes it, in the correction slot.
		for b := b0; b < b1; b++ {
			jb := base + b*n + k
			var amax float32
			for _, v := range span[32*(b-b0) : 32*(b-b0)+32] {
				amax = max(amax, float32(math.Abs(float64(v))))
			}
			var total int32
			for _, q := range a.qs[jb*32 : jb*32+32] {
				total += int32(int8(q))
			}
			sv := quant.FP16ToFP32(quant.FP32ToFP16(amax / 127 * float32(total)))
			a.corr[jb] = int32(math.Float32bits(sv))
		}
	}
}

// kCorrections writes the correction words that weights of K-quant type
// wt take with a Q8_K block whose sixteen 16-element sums are bs.
func kCorrections(dst []int32, wt quant.Type, bs *[16]int16) {
	switch wt {
	case quant.Q2_K:
		for p := range 8 {
			dst[p] = int32(uint32(uint16(bs[2*p])) | uint32(uint16(bs[2*p+1]))<<16)
		}
	case quant.Q4_K, quant.Q5_K:
		for p := range 4 {
			s0, s1 := bs[4*p]+bs[4*p+1], bs[4*p+2]+bs[4*p+3]
			dst[p] = int32(uint32(uint16(s0)) | uint32(uint16(s1))<<16)
		}
	case quant.IQ4_XS, quant.IQ2_XXS, quant.IQ3_XXS, quant.IQ3_S, quant.IQ1_S:
		// the zero point's share of each 32-element group
		zero := packZero(wt)
		for s := range 8 {
			dst[s] = -zero * (int32(bs[2*s]) + int32(bs[2*s+1]))
		}
	default: // Q3_K, Q6_K, IQ2_XS, IQ2_S, IQ1_M: the zero point's share of each 16
		zero := packZero(wt)
		for s, v := range bs {
			dst[s] = -zero * int32(v)
		}
	}
}

// roundFloats writes span (whole 4-column blocks of one activation row,
// row k of an n-row tile, first block record at base) in the tile layout
// as float32, rounded to the weights' type as ggml converts it (F16 with
// VCVTPS2PH through VecOps.RoundF16, BF16 to nearest even, F32 as is);
// for the VDPBF16PS kernels (2-byte elements) as the BF16 values
// themselves, a block's two column pairs in two dwords.
func (a *packedActs) roundFloats(span []float32, n, k, base int, wt quant.Type) {
	dst := unsafe.Slice((*float32)(unsafe.Pointer(&a.qs[0])), len(a.qs)/4)
	var tmp [256]float32
	var bf16 [256]uint16
	vec := VecOps{fast: hasVecAsm}
	for c0 := 0; c0 < len(span); c0 += len(tmp) {
		chunk := span[c0:min(c0+len(tmp), len(span))]
		t := tmp[:len(chunk)]
		switch wt {
		case quant.F16:
			vec.RoundF16(t, chunk)
		case quant.BF16:
			h := bf16[:len(chunk)]
			vec.ToBF16(h, chunk)
			if a.es == 2 {
				for e := 0; e < len(h); e += 4 {
					j := base + (c0+e)/4*n + k
					binary.LittleEndian.PutUint64(a.qs[8*j:], uint64(h[e])|uint64(h[e+1])<<16|uint64(h[e+2])<<32|uint64(h[e+3])<<48)
				}
				continue
			}
			for e, v := range h {
				t[e] = quant.BF16ToFP32(v)
			}
		default:
			copy(t, chunk)
		}
		for e := 0; e < len(t); e += 4 {
			j := base + (c0+e)/4*n + k
			copy(dst[4*j:4*j+4], t[e:e+4])
		}
	}
}

// packedScratch holds MatMulPacked's buffers, reused across calls.
type packedScratch struct {
	qbuf []byte
	d    []float32
	corr []int32
	// corr2: a shared call's second K-quant type's corrections.
	corr2 []int32
	tail  []float32 // outputs of partial last row groups
	mats  []packedMat
	// plan: a multi-stream call's chunks (streamPlan), its buffers reused.
	plan  streamPlan
	task  packedTask
	shape packedActs
	// oneStream: see packedTask (set by benchmarks only).
	oneStream bool
	scales    []float32 // MatMulPackedSharedNorm's row scales
	warm      packedWarm
	// succ: for each matrix that began a call that reserved its chunks
	// (the warm path), the heads of the chunks of the call that came
	// after it last time (tailWarm); prev began the last such call.
	succ map[*PackedWeights]*tailWarm
	prev *PackedWeights
	// grouped: the call is MatMulPackedGrouped's (each matrix its own
	// activation row); set for that call only.
	grouped bool
	// pacer: the single-row calls' choice of stream kernels, and the
	// Pacing and Prefetch modes it chooses under.
	pacer pacer
	// timeDots: each call adds its dot phase's time to dots (Pool.TimeDots).
	timeDots bool
	dots     time.Duration
}

// packedMat is one matrix of a call: its weights, its outputs, the index
// of its first row group in the call's combined range of groups, and where
// the outputs of a partial last group go before they are copied out.
type packedMat struct {
	pw         *PackedWeights
	y          []float32
	g0, groups int
	tail       []float32
	res        []float32 // MatMulPackedResidual's residual (nil: none)
	// corr is the activations' correction words for this matrix's type,
	// nc a block (packedActs.corr, or corr2 for a shared call's second
	// type).
	corr []int32
	nc   int
	// row is the activation row this matrix multiplies in a grouped call
	// (MatMulPackedGrouped); the others multiply every row.
	row int
	// ns is how many streams the call's pieces of this matrix have (its
	// type's packedSet.pieceStreams for the call's rows) where the call
	// runs on the multi-stream kernels.
	ns int
}

// streamPiece is the multi-stream part of one chunk of one matrix in a
// single-row or small-batch call: q rows, row i being group lo+i of each
// of ns runs of q groups, the first from group lo and each ws bytes after
// the one before (a multi-stream kernel call takes one or more
// consecutive rows). The rows are claimed through next, in shrinking runs,
// by the thread that took the chunk and by any thread that runs out of
// chunks (packedTask.steal), so the threads finish together instead of
// one waiting out the other's last chunk.
type streamPiece struct {
	m     *packedMat
	lo, q int
	ws    int   // bytes from one stream's records to the next's
	next  int32 // next unclaimed row (atomic)
	_     [64 - 8 - 3*8 - 4]byte
}

// groupRange is groups lo..hi-1 of a call's matrix m, which a chunk
// leaves to the one-group kernels.
type groupRange struct {
	m      *packedMat
	lo, hi int
}

// packedInput says how a call's activation rows are made when they are
// not passed as they are: from the input of the op that would have
// produced them (RMSNorm, SwiGLU), with that op's bits, span by span as
// the quantizer converts them, so the op's output never goes through
// memory and the op is not a step of its own.
type packedInput struct {
	kind     int
	norm     []float32 // inputNorm: the norm's weight, one row
	eps      float32
	scales   []float32 // inputNorm: each row's VecOps.RMSNormScale
	gate, up []float32 // inputSwiGLU: the sources, nx rows each
}

const (
	inputPlain  = iota // the rows are x
	inputNorm          // row i is float32(x[i]·scales[i])·norm (RMSNorm)
	inputSwiGLU        // row i is silu(gate[i])·up[i] (VecOps.SiLUMul)
)

// build writes elements c0.. of activation row i (cols wide) into dst.
func (in *packedInput) build(vec VecOps, dst, x []float32, i, cols, c0 int) {
	o := i*cols + c0
	switch in.kind {
	case inputNorm:
		vec.ScaleMul(dst, x[o:o+len(dst)], in.norm[c0:c0+len(dst)], in.scales[i])
	case inputSwiGLU:
		vec.SiLUMul(dst, in.gate[o:o+len(dst)], in.up[o:o+len(dst)])
	}
}

// packedTask is one MatMulPacked call handed to the workers.
type packedTask struct {
	phase int
	vec   VecOps // MatMulPackedResidual's adds, the inputs' ops
	mats  []packedMat
	x     []float32
	in    packedInput
	a     *packedActs
	// plan (calls with a multi-stream kernel): the dot phase's units are
	// its chunks; nil: they are row groups.
	plan *streamPlan
	// oneStream keeps every call, single rows and small batches, on the
	// one-group kernels (BenchmarkDecodeStreams times both paths in one
	// process).
	oneStream bool
	// rows is how many activation rows each matrix multiplies: all nx,
	// or 1 in a grouped call (each matrix its own row, packedMat.row).
	rows    int
	grouped bool
	avx2    bool  // the AVX2 kernel set: packedSetOf's AVX2 kernels
	pool    *Pool // the call's (nil: the caller alone), for chunksLeft
	// paced: single rows take the paced stream kernels where their type
	// has them (pacer).
	paced bool
	// near: a single-row call's unpaced rows take the near twins where
	// their type has them (pacer, Pool.SetPrefetch).
	near bool
}

// MatMulPacked computes y[i·rows+r] = w[r]·x[i] for nx activation rows, as
// MatMul does for the unpacked matrix up to float rounding (see the layout
// comment for the exact order).
func MatMulPacked(p *Pool, y []float32, pw *PackedWeights, x []float32, nx int) {
	s := lockPacked(p)
	defer unlockPacked(p)
	s.mats = append(s.mats[:0], packedMat{pw: pw, y: y})
	matMulPacked(p, s, x, nx, packedInput{})
}

// MatMulPackedResidual is MatMulPacked into y followed by res[i] += y[i]
// for every output, with the bits of a separate add (each output is
// rounded to float32 first). With several activation rows the thread that
// computes a run of row groups adds them into res right after, while they
// are in its cache; a single row's adds follow the dot job (singleRowAdds).
func MatMulPackedResidual(p *Pool, res, y []float32, pw *PackedWeights, x []float32, nx int) {
	checkResidual("MatMulPackedResidual", res, pw, nx)
	s := lockPacked(p)
	defer unlockPacked(p)
	s.mats = append(s.mats[:0], packedMat{pw: pw, y: y, res: res})
	matMulPacked(p, s, x, nx, packedInput{})
}

// addResidual adds outputs r0..r1-1 of every activation row of m into its
// residual, in the dot job: for batches only (a single row's adds follow
// the job, singleRowAdds).
func (t *packedTask) addResidual(m *packedMat, r0, r1 int) {
	rows := m.pw.Rows
	for i := range t.a.nx {
		o := i * rows
		t.vec.Add(m.res[o+r0:o+r1], m.res[o+r0:o+r1], m.y[o+r0:o+r1])
	}
}

// MatMulPackedShared computes ys[m][i·rows_m+r] = pws[m][r]·x[i] for
// matrices that take the same input (a layer's q, k and v projections, or
// its gate and up): the activations are quantized once and every matrix's
// row groups are shared out in one parallel job, so the threads stream one
// long run of weights instead of stopping and restarting between matrices.
// Each output has exactly the bits MatMulPacked gives it. The matrices must
// have one column count and one type, or two that SharesInput allows.
func MatMulPackedShared(p *Pool, ys [][]float32, pws []*PackedWeights, x []float32, nx int) {
	checkShared(ys, pws)
	s := lockPacked(p)
	defer unlockPacked(p)
	s.setShared(ys, pws)
	matMulPacked(p, s, x, nx, packedInput{})
}

// MatMulPackedSharedNorm is MatMulPackedShared on the RMSNorm of x's rows,
// h[i] = float32(x[i]·s_i)·w with s_i = VecOps.RMSNormScale(x[i], eps),
// with the bits of that norm written out and then multiplied, but without
// h: the quantizer normalises each span of a row as it converts it, which
// takes the norm out of a decode step's serial work and its output out of
// memory. w is one row of the weights' column count.
func MatMulPackedSharedNorm(p *Pool, ys [][]float32, pws []*PackedWeights, x []float32, nx int, w []float32, eps float32) {
	checkShared(ys, pws)
	if len(w) != pws[0].Cols {
		panic(fmt.Sprintf("kernels.MatMulPackedSharedNorm: %d norm weights for %d columns", len(w), pws[0].Cols))
	}
	s := lockPacked(p)
	defer unlockPacked(p)
	s.setShared(ys, pws)
	s.scales = grow(s.scales, nx)
	matMulPacked(p, s, x, nx, packedInput{kind: inputNorm, norm: w, eps: eps, scales: s.scales})
}

// MatMulPackedSwiGLU is MatMulPacked on the rows silu(gate[i])·up[i]
// (VecOps.SiLUMul's bits), built span by span as the quantizer converts
// them instead of written out by an op of their own.
func MatMulPackedSwiGLU(p *Pool, y []float32, pw *PackedWeights, gate, up []float32, nx int) {
	s := lockPacked(p)
	defer unlockPacked(p)
	s.mats = append(s.mats[:0], packedMat{pw: pw, y: y})
	matMulPacked(p, s, nil, nx, swiGLUInput(pw, gate, up, nx))
}

// MatMulPackedResidualSwiGLU is MatMulPackedResidual on the rows
// silu(gate[i])·up[i], as MatMulPackedSwiGLU builds them: a gated FFN's
// down projection and residual add with its activation in one call.
func MatMulPackedResidualSwiGLU(p *Pool, res, y []float32, pw *PackedWeights, gate, up []float32, nx int) {
	checkResidual("MatMulPackedResidualSwiGLU", res, pw, nx)
	s := lockPacked(p)
	defer unlockPacked(p)
	s.mats = append(s.mats[:0], packedMat{pw: pw, y: y, res: res})
	matMulPacked(p, s, nil, nx, swiGLUInput(pw, gate, up, nx))
}

func swiGLUInput(pw *PackedWeights, gate, up []float32, nx int) packedInput {
	if len(gate) < nx*pw.Cols || len(up) < nx*pw.Cols {
		panic(fmt.Sprintf("kernels: SwiGLU matmul: %d×%d weights, %d rows: gate has %d, up %d", pw.Rows, pw.Cols, nx, len(gate), len(up)))
	}
	return packedInput{kind: inputSwiGLU, gate: gate, up: up}
}

// MatMulPackedGrouped computes ys[m] = pws[m]·x[rows[m]] for matrices that
// each multiply one row of x (nx rows of the matrices' common column
// count): a token's experts' down projections, each on its own SwiGLU
// output. The rows are quantized once and every matrix is streamed in one
// parallel job, as MatMulPackedShared does for one input; each ys[m]
// holds one row of outputs, the same bits as MatMulPacked of that row
// alone. The matrices must share a type, or be two K-quants (SharesInput).
func MatMulPackedGrouped(p *Pool, ys [][]float32, pws []*PackedWeights, x []float32, nx int, rows []int) {
	checkShared(ys, pws)
	if len(rows) != len(pws) {
		panic(fmt.Sprintf("kernels.MatMulPackedGrouped: %d rows for %d matrices", len(rows), len(pws)))
	}
	for m, r := range rows {
		if r < 0 || r >= nx {
			panic(fmt.Sprintf("kernels.MatMulPackedGrouped: matrix %d takes row %d of %d", m, r, nx))
		}
	}
	s := lockPacked(p)
	defer unlockPacked(p)
	s.setShared(ys, pws)
	for m, r := range rows {
		s.mats[m].row = r
	}
	s.grouped = true
	defer func() { s.grouped = false }()
	matMulPacked(p, s, x, nx, packedInput{})
}

// setShared lists the matrices of a shared-input call, pws[m] into ys[m].
func (s *packedScratch) setShared(ys [][]float32, pws []*PackedWeights) {
	s.mats = s.mats[:0]
	for m, pw := range pws {
		s.mats = append(s.mats, packedMat{pw: pw, y: ys[m]})
	}
}

// checkResidual panics unless res holds nx rows of pw's outputs (fn names
// the caller).
func checkResidual(fn string, res []float32, pw *PackedWeights, nx int) {
	if len(res) < nx*pw.Rows {
		panic(fmt.Sprintf("kernels.%s: %d×%d weights, %d rows: the residual has %d", fn, pw.Rows, pw.Cols, nx, len(res)))
	}
}

// SharesInput reports whether packed matrices of types a and b with the
// same column count can go in one MatMulPackedShared call: the same type,
// or two K-quants, whose activations are the same Q8_K blocks (each type
// takes its own correction words from them). A call takes at most two
// types. Q4_K_M and Q5_K_M files mix Q4_K or Q5_K with Q6_K in their
// attention v matrices and ffn_down.
func SharesInput(a, b quant.Type) bool {
	return a == b || (kQuant(a) && kQuant(b))
}

// JoinsShared reports whether a matrix of type t can join a shared call
// whose first matrix has type first and whose other type so far is second
// (first itself while there is none), and returns the call's second type
// with t in it: SharesInput, and two types at most.
func JoinsShared(first, second, t quant.Type) (quant.Type, bool) {
	if !SharesInput(first, t) {
		return second, false
	}
	if t == first {
		return second, true
	}
	if second != first && t != second {
		return second, false // a call takes two types at most
	}
	return t, true
}

func kQuant(t quant.Type) bool {
	switch t {
	case quant.Q2_K, quant.Q3_K, quant.Q4_K, quant.Q5_K, quant.Q6_K, quant.IQ4_XS,
		quant.IQ2_XXS, quant.IQ3_XXS, quant.IQ3_S, quant.IQ1_S, quant.IQ2_XS, quant.IQ2_S, quant.IQ1_M:
		return true
	}
	return false
}

// checkShared panics unless pws can share one input and ys has an output
// for each.
func checkShared(ys [][]float32, pws []*PackedWeights) {
	if len(ys) != len(pws) || len(pws) == 0 {
		panic(fmt.Sprintf("kernels.MatMulPackedShared: %d outputs for %d matrices", len(ys), len(pws)))
	}
	second := pws[0].Type
	for _, pw := range pws[1:] {
		if !SharesInput(pw.Type, pws[0].Type) || pw.Cols != pws[0].Cols {
			panic(fmt.Sprintf("kernels.MatMulPackedShared: %v×%d and %v×%d weights do not share an input", pws[0].Type, pws[0].Cols, pw.Type, pw.Cols))
		}
		next, ok := JoinsShared(pws[0].Type, second, pw.Type)
		if !ok {
			panic(fmt.Sprintf("kernels.MatMulPackedShared: %v, %v and %v weights: at most two types share a call", pws[0].Type, second, pw.Type))
		}
		second = next
	}
}

// lockPacked returns the scratch of p, locked (a fresh scratch for a nil
// p); unlockPacked releases it. Not a returned unlock func: a method value
// is a new object on every call.
func lockPacked(p *Pool) *packedScratch {
	if p == nil {
		return new(packedScratch)
	}
	p.mu.Lock()
	return &p.pk
}

// unlockPacked releases what lockPacked(p) locked.
func unlockPacked(p *Pool) {
	if p != nil {
		p.mu.Unlock()
	}
}

// TimeDots turns on (or off) the timing of the dot phase of each
// MatMulPacked-family call on p: the parallel job that streams the
// weights, after the input is built and quantized and before the outputs'
// residual adds. DotTime adds the phases up. An op profile sets a call's
// dot phase against its whole time: in llama-1b decode on the 2-core Zen 5
// VM the single-row calls' dot phases read at 88-100 % of the read probe,
// and the serial work around them was what the calls lost
// (docs/performance.md, round 77).
func (p *Pool) TimeDots(on bool) {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.pk.timeDots = on
	p.mu.Unlock()
}

// DotTime is the total time the MatMulPacked-family calls on p spent in
// their dot phases while TimeDots was on (0 for a nil Pool).
func (p *Pool) DotTime() time.Duration {
	if p == nil {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pk.dots
}

// matMulPacked runs the matrices in s.mats on nx activation rows: x, or
// the rows that in builds from its sources (x is then the norm's input, or
// nil for SwiGLU).
func matMulPacked(p *Pool, s *packedScratch, x []float32, nx int, in packedInput) {
	pw0 := s.mats[0].pw
	if in.kind != inputSwiGLU && len(x) < nx*pw0.Cols {
		panic(fmt.Sprintf("kernels.MatMulPacked: %d×%d weights, %d rows: x has %d", pw0.Rows, pw0.Cols, nx, len(x)))
	}
	// Each matrix's outputs: a row per activation row, or one in a
	// grouped call.
	rows := nx
	if s.grouped {
		rows = min(nx, 1)
	}
	groups, partials := 0, 0
	for i := range s.mats {
		m := &s.mats[i]
		if len(m.y) < rows*m.pw.Rows {
			panic(fmt.Sprintf("kernels.MatMulPacked: %d×%d weights, %d rows: y has %d", m.pw.Rows, m.pw.Cols, rows, len(m.y)))
		}
		m.g0, m.groups = groups, m.pw.groups()
		groups += m.groups
		if m.pw.Rows%packGroup != 0 {
			partials++
		}
	}
	defer func() {
		clear(s.mats) // drop references to the caller's slices
		s.mats = s.mats[:0]
	}()
	if nx == 0 {
		return
	}
	a := &s.shape
	*a = newPackedActs(pw0.Type, pw0.Cols, nx)
	a.qs = aligned64(&s.qbuf, nx*pw0.Cols*a.es)
	s.d = grow(s.d, nx*a.nb)
	s.corr = grow(s.corr, nx*a.nb*a.nc)
	a.d, a.corr = s.d, s.corr
	for i := range s.mats {
		m := &s.mats[i]
		m.corr, m.nc = a.corr, a.nc
		if t := m.pw.Type; t != pw0.Type {
			if a.corr2 == nil {
				a.wt2, a.nc2 = t, packedCorrs(t)
				s.corr2 = grow(s.corr2, nx*a.nb*a.nc2)
				a.corr2 = s.corr2
			}
			m.corr, m.nc = a.corr2, a.nc2
		}
	}
	if partials > 0 {
		s.tail = grow(s.tail, partials*rows*packGroup)
		k := 0
		for i := range s.mats {
			if m := &s.mats[i]; m.pw.Rows%packGroup != 0 {
				m.tail = s.tail[k*rows*packGroup : (k+1)*rows*packGroup]
				k++
			}
		}
	}
	t := &s.task
	*t = packedTask{pool: p, mats: s.mats, x: x, in: in, a: a, oneStream: s.oneStream, vec: p.vecOpsLocked(), rows: rows, grouped: s.grouped,
		avx2: p != nil && p.kernels == KernelsAVX2, near: rows == 1 && s.pacer.near()}
	small := nx*pw0.Cols <= 16*quantSpan
	set := packedSetOf(pw0.Type, t.avx2)
	streams := set.pieceStreams(rows)
	if s.oneStream || !set.streamsFor(rows) {
		streams = 0
	}
	if a.corr2 != nil && streams > 0 {
		// Each matrix's pieces have its own type's streams, but the call
		// takes the multi-stream kernels only where every type has them.
		if !packedSetOf(a.wt2, t.avx2).streamsFor(rows) {
			streams = 0
		}
	}
	if streams > 0 {
		for i := range s.mats {
			m := &s.mats[i]
			m.ns = packedSetOf(m.pw.Type, t.avx2).pieceStreams(rows)
		}
	}
	key, timed := paceKey{types: [2]quant.Type{pw0.Type, pw0.Type}}, false
	if a.corr2 != nil {
		key.types[1] = a.wt2
	}
	var form rowForm
	if p != nil && rows == 1 && streams > 0 {
		if twins := set.twins() | packedSetOf(key.types[1], t.avx2).twins(); twins != 0 {
			bytes := 0
			for i := range s.mats {
				bytes += s.mats[i].pw.Bytes()
			}
			key.size = paceSizeClass(bytes)
			form, timed = s.pacer.begin(key, twins, pw0.pace.Load())
			t.paced = form == formPaced
			if !t.paced {
				t.near = form == formNear
			}
		}
	}
	dotGrain := packedGrain(groups, pw0.groupBytes(), rows, streams, p.threadsLocked(), set.rowChunk)
	units, unit := groups, dotGrain
	if streams > 0 {
		s.plan.plan(s.mats, dotGrain)
		t.plan = &s.plan
		units, unit = s.plan.chunks(), 1 // the pool hands out chunks
	}
	// The caller prepares a small input alone (below), so meanwhile the
	// helpers fetch the weights of the chunks they will start on.
	warm := small && streams > 0 && s.plan.chunks() > 1 && p.asideFree()
	if warm {
		s.warm.set(s.plan.pieces, s.plan.chunkPieces, p.threadsLocked()-1)
		warm = p.startAside(&s.warm)
	}
	if in.kind == inputNorm {
		// Every span of a row needs the row's scale: they come first.
		t.phase = phaseScales
		grain := max(1, (nx+4*p.threadsLocked()-1)/(4*p.threadsLocked()))
		if small {
			grain = nx
		}
		p.runTask(nx, grain, t)
	}
	t.phase = phaseQuantize
	tasks := a.quantTasks()
	grain := 1
	if small {
		// A few microseconds at most: the caller does it alone. Its input
		// was mostly written by the caller, so a helper would read its
		// half from the other core: llama-1b's ffn_down activation (8192
		// values) took 4.7 µs a call on two threads, 2.6 µs on the caller
		// alone (instrumented decode runs).
		grain = tasks
	}
	p.runTask(tasks, grain, t)
	t.phase = phaseDot
	var t0 time.Time
	if timed || s.timeDots {
		t0 = time.Now()
	}
	// A grouped call's matrices are the experts the router picked, and
	// what follows them changes step by step: such calls neither learn
	// successors nor have one.
	chain := warm && !s.grouped
	// next: what followed this call last time (nil: nothing learned), the
	// tail of this call's threads and then of the jobs up to the next.
	var next tailTask
	if chain {
		if e := s.succ[pw0]; e != nil {
			next = e
		}
	}
	if warm {
		p.runReservedTail(units, unit, t, next)
	} else {
		p.runTask(units, unit, t)
	}
	if timed || s.timeDots {
		el := time.Since(t0)
		if timed {
			pw0.pace.Store(s.pacer.end(key, pw0.pace.Load(), form, el.Nanoseconds()))
		}
		if s.timeDots {
			s.dots += el
		}
	}
	if rows == 1 {
		singleRowAdds(t.vec, s.mats)
	}
	*t = packedTask{}
	if warm {
		// The helpers stopped warming before they took the dot job.
		s.warm.clear()
	}
	if chain {
		s.learnSucc(pw0, p.threadsLocked())
	} else {
		s.prev = nil
	}
	if p != nil {
		p.ahead = next
	}
	s.plan.clear()
}

// learnSucc records this call's chunk heads as the successor of the call
// before it (s.prev), where both reserved their chunks (calls of a single
// row or a few, whose input the caller prepares while the helpers warm).
// It runs after the call's dot job, which every helper took part in: no
// helper still reads the entry it rewrites (a helper's tail reads the
// entry of pw0, never that of a different s.prev).
func (s *packedScratch) learnSucc(pw0 *PackedWeights, threads int) {
	if s.prev != nil && s.prev != pw0 {
		e := s.succ[s.prev]
		if e == nil {
			if s.succ == nil || len(s.succ) >= maxSucc {
				s.succ = make(map[*PackedWeights]*tailWarm)
			}
			e = new(tailWarm)
			s.succ[s.prev] = e
		}
		e.set(s.plan.pieces, s.plan.chunkPieces, threads)
	}
	s.prev = pw0
}

// maxSucc bounds packedScratch.succ: a model's decode step has a few
// hundred single-row calls at most; past that the map starts afresh
// rather than keep the matrices of models long closed.
const maxSucc = 4096

// tailWarm is the heads of the chunks that each thread starts a call on
// (chunk 0 the caller's, chunk i helper i's; the call reserves them),
// which the threads of the call before it fetch once they run out of
// chunks there (Pool.runReservedTail), and so do those of any job between
// the two (Pool.ahead, the CPU stream's attention above all): the memory
// keeps streaming through the end of a job, where one thread waits for
// the other, and through the caller's serial work after it, and the next
// call starts on lines already in L2. In llama-1b decode on the 2-core
// Zen 5 VM steps took 0.984-0.988 of the time with the tails against
// without them, alternating every two steps in one process (Q4_0; a null
// swap 0.995-1.000; Q8_0 0.992, Q4_K_M 0.992; docs/performance.md,
// round 73).
//
// The regions point into another matrix's weights; prefetches do not
// fault even where that matrix has been unmapped since.
type tailWarm struct {
	regions []warmRegion
	starts  []int // thread i's regions are regions[starts[i]:starts[i+1]]
}

// set copies the stream pieces of chunks 0..threads-1 (those that exist).
func (w *tailWarm) set(pieces []streamPiece, chunkPieces []int, threads int) {
	w.regions, w.starts = w.regions[:0], append(w.starts[:0], 0)
	for c := 0; c < threads; c++ {
		if c+1 < len(chunkPieces) {
			w.regions = appendRegions(w.regions, pieces[chunkPieces[c]:chunkPieces[c+1]])
		}
		w.starts = append(w.starts, len(w.regions))
	}
}

// tailStep is how many bytes of each stream a tail prefetches between
// checks of whether to stop: the caller checks whether the helpers are
// done, and a quarter of warmStep keeps it within a few hundred
// nanoseconds of them.
const tailStep = 1024

func (w *tailWarm) runTail(id int, p *Pool, seen uint64) {
	if id+1 >= len(w.starts) {
		return
	}
	prefetchRegions(w.regions[w.starts[id]:w.starts[id+1]], tailStep, warmBytes, func() bool { return p.tailOver(id, seen) })
}

// singleRowAdds adds each single-row output into its residual, where the
// call has one (MatMulPackedResidual), on the caller after the dot job.
// The threads used to add each group's outputs as the stream kernels
// stored them (residual twins of those kernels, the residual's lines
// prefetched as each claim began), but on the 2-core Intel Xeon VM the
// separate add made llama-1b decode steps faster: alternating step by
// step in one process, 0.987-0.995 of the time (Q4_0), 0.994-0.996 (Q8_0),
// 0.995 (Q4_K_M), at 0 and 128 positions of context, with the o projection
// and ffn_down both changed; ffn_down alone 0.991-0.996, o alone
// 0.995-1.000 (docs/performance.md, round 65).
func singleRowAdds(vec VecOps, mats []packedMat) {
	for i := range mats {
		if m := &mats[i]; m.res != nil {
			n := m.pw.Rows
			vec.Add(m.res[:n], m.res[:n], m.y[:n])
		}
	}
}

// packedWarm is a single-row call's aside work (Pool.startAside): while
// the caller builds and quantizes the input, helper i reads ahead the
// weights of chunk i, which the call reserves for it (Pool.runReserved):
// each stream piece's streams side by side, in the order the kernels walk
// them, up to warmBytes or until the caller publishes the dot job. The
// lines wait in the helper's L2 for the kernels' own prefetches. In
// llama-1b decode steps this took 0.991-0.996 of the step time (Q4_0,
// Q4_K_M; Q8_0 0.998), alternating step by step (docs/performance.md,
// round 18): the q/k/v and o calls' serial parts are a few microseconds
// in which the memory sat idle.
//
// The regions are copied out of the call's pieces, so a helper reads
// nothing the caller writes before the dot job.
type packedWarm struct {
	regions []warmRegion
	starts  []int // helper i (1..) warms regions[starts[i-2]:starts[i-1]] (helper 1 from 0)
}

// warmRegion is one stream piece: ns streams of n bytes, run apart, from
// the start of data.
type warmRegion struct {
	data []byte
	run  int
	n    int // bytes of each stream (run, or less before padding)
	ns   int
}

// warmBytes caps a helper's warming: well inside its core's L2 (1 MiB on
// Zen 4/5, 2 MiB on recent Intel cores) with the kernels' working set.
// 768 KiB measured level with it: the caller is done well before.
const warmBytes = 256 << 10

// warmStep is how many bytes of each stream go between checks of stop.
const warmStep = 4096

// set copies the stream pieces of chunks 1..helpers (those that exist).
func (w *packedWarm) set(pieces []streamPiece, chunkPieces []int, helpers int) {
	w.regions, w.starts = w.regions[:0], w.starts[:0]
	for c := 1; c <= helpers && c+1 < len(chunkPieces); c++ {
		w.regions = appendRegions(w.regions, pieces[chunkPieces[c]:chunkPieces[c+1]])
		w.starts = append(w.starts, len(w.regions))
	}
}

// appendRegions appends each stream piece's bytes as a warmRegion.
func appendRegions(regions []warmRegion, pieces []streamPiece) []warmRegion {
	for _, pc := range pieces {
		pw, ns := pc.m.pw, pc.m.ns
		o, n := pw.groupAt(pc.lo), pc.q*pw.gb
		regions = append(regions, warmRegion{data: pw.data[o : o+(ns-1)*pc.ws+n], run: pc.ws, n: n, ns: ns})
	}
	return regions
}

// prefetchRegions prefetches regions in order, step bytes of each stream
// at a time, up to budget bytes, and stops early once over reports true
// (it is asked before each step).
func prefetchRegions(regions []warmRegion, step, budget int, over func() bool) {
	for _, r := range regions {
		for off := 0; off < r.n; off += step {
			if budget <= 0 || over() {
				return
			}
			size := min(step, r.n-off)
			prefetchRows(&r.data[off], r.ns, r.run, size)
			budget -= size * r.ns
		}
	}
}

// clear drops the references to the call's weights.
func (w *packedWarm) clear() {
	clear(w.regions)
	w.regions, w.starts = w.regions[:0], w.starts[:0]
}

func (w *packedWarm) runAside(id int, stop *atomic.Bool) {
	if id > len(w.starts) {
		return
	}
	lo := 0
	if id > 1 {
		lo = w.starts[id-2]
	}
	prefetchRegions(w.regions[lo:w.starts[id-1]], warmStep, warmBytes, stop.Load)
}

// packedGrain picks how many row groups one claimed chunk covers: several
// chunks per thread for balance on a shared machine, each a long run of
// weight bytes (up to 1 MiB, or rowChunk bytes for a single row where it
// is set) for the prefetchers. With more than one
// activation tile the chunk's weights are read once per tile, so they are
// kept to 256 KiB, well inside L2. A chunk for a multi-stream kernel
// (streams > 0) is rounded to a whole number of its streams: the kernel
// leaves the remainder to the one-group kernel, which streams worse (a
// 2048×8192 Q4_0 matrix's 14-group chunks sent a seventh of it there: 0.81
// of the read probe against 0.93 with 16-group chunks).
func packedGrain(groups, groupBytes, nx, streams, threads, rowChunk int) int {
	limit := 1 << 20
	if nx == 1 && rowChunk > 0 {
		limit = rowChunk
	}
	if nx > packTile {
		limit = 256 << 10
	}
	// Row stealing (streamPiece) evens out the end of a multi-stream
	// call, so its chunks can be larger: in the decode-step harness the
	// 2048-row matmuls (q/k/v, o) rose 2-7 % (Q4_0, Q8_0, Q4_K, two
	// alternating runs each) with two chunks a thread against four; the
	// larger ones were level. A single row's call takes one chunk a
	// thread (up to the byte limit): llama-1b decode, alternating
	// repetition by repetition with two, ran at 1.001-1.010 of the t/s in
	// six runs on the 2-core Intel Xeon VM (Q4_0, Q4_K_M, Q8_0; median
	// 1.005; docs/performance.md, round 53).
	perThread := 4
	if streams > 0 {
		perThread = 2
		if nx == 1 {
			perThread = 1
		}
	}
	g := min(groups/(perThread*threads), limit/max(1, groupBytes))
	if streams > 0 && g > streams {
		g = (g + streams/2) / streams * streams
	}
	return max(1, g)
}

func (t *packedTask) Run(lo, hi int) {
	switch t.phase {
	case phaseScales:
		cols := t.mats[0].pw.Cols
		for i := lo; i < hi; i++ {
			t.in.scales[i] = t.vec.RMSNormScale(t.x[i*cols:(i+1)*cols], t.in.eps)
		}
	case phaseQuantize:
		for i := lo; i < hi; i++ {
			t.a.quantize(&t.in, t.vec, t.x, i, t.mats[0].pw.Type)
		}
	case phaseDot:
		sp := t.plan
		if sp == nil {
			t.dotRange(lo, hi)
			return
		}
		// Chunks lo..hi-1 (a caller running the job alone gets them all
		// here), each its stream rows and then what they leave over.
		for c := lo; c < hi; c++ {
			for i := sp.chunkPieces[c]; i < sp.chunkPieces[c+1]; i++ {
				t.streamRows(&sp.pieces[i])
			}
			for _, r := range sp.lefts[sp.chunkLefts[c]:sp.chunkLefts[c+1]] {
				t.dot(r.m, r.lo, r.hi)
			}
		}
	}
}

// dotRange runs dot on every matrix's share of groups lo..hi-1 (numbered
// across the call's matrices).
func (t *packedTask) dotRange(lo, hi int) {
	for i := range t.mats {
		m := &t.mats[i]
		if l, h := max(lo, m.g0), min(hi, m.g0+m.groups); l < h {
			t.dot(m, l-m.g0, h-m.g0)
		}
	}
}

// streamRows computes the rows of piece pc that no other thread has
// claimed.
func (t *packedTask) streamRows(pc *streamPiece) {
	m, a := pc.m, t.a
	pw := m.pw
	ks := packedSetOf(pw.Type, t.avx2)
	sk, ns := ks.singleRowKernel(t.paced, t.near), ks.pieceStreams(t.rows)
	var act *byte
	var d *float32
	var corr *int32
	var astride, dstride int
	if t.rows == 1 {
		act, astride, d, corr, dstride = t.rowActs(m)
	}
	for {
		// Half of what is left at a time (guided self-scheduling): long
		// kernel calls while both threads have their own chunks, single
		// rows once one has run out and takes the other's. Q4_0 gate/up
		// read 0.88-1.00 of the probe a row a claim, 0.92-1.04 this way
		// (see gen_packed.py). A single row's piece is taken whole while
		// each thread still has a chunk of its own to claim after this
		// one: nobody can be left waiting on it, and one long kernel call
		// streams better than the five or six shrinking ones. On the
		// 2-core Intel Xeon VM, over 1.2 GB of cold matrices alternating
		// with the halving claims, it took 0.975-0.998 of their time
		// (Q4_0, Q8_0, Q4_K, Q6_K; 2048, 8192 and 32768 rows;
		// docs/performance.md, round 49).
		left := int32(pc.q) - atomic.LoadInt32(&pc.next)
		k := max(1, left/2)
		if t.rows == 1 && t.pool != nil && t.pool.chunksLeft() >= t.pool.threads {
			k = left
		}
		i := int(atomic.AddInt32(&pc.next, k) - k)
		if i >= pc.q {
			return
		}
		g, n := pc.lo+i, min(int(k), pc.q-i)
		w := &pw.data[pw.groupAt(g)]
		if t.rows == 1 {
			sk(w, pc.ws, a.nb, act, astride, d, corr, dstride, &m.y[g*packGroup], pc.q*packGroup*4, n)
			continue
		}
		t.streamTile(m, ks, g, pc.q, pc.ws, n)
		if m.res != nil {
			for st := range ns {
				g0 := g + st*pc.q
				t.addResidual(m, g0*packGroup, (g0+n)*packGroup)
			}
		}
	}
}

// rowActs returns where the one activation row matrix m multiplies lies
// in the tile layout (row 0, or the matrix's own row in a grouped call):
// its first block record and the strides between its blocks.
func (t *packedTask) rowActs(m *packedMat) (act *byte, astride int, d *float32, corr *int32, dstride int) {
	a := t.a
	row := 0
	if t.grouped {
		row = m.row
	}
	n, k, base := a.tileAt(row)
	j := base + k
	return &a.qs[j*a.qk*a.es], n * a.qk * a.es, &a.d[j], &m.corr[j*m.nc], n * 4
}

// streamTile runs the multi-stream kernels over n groups of each stream
// from group g (streams q groups apart) for every row of the call's one
// activation tile, in sub-tiles of 4, 3, 2 and 1 rows (the tile kernels'
// sizes): the later sub-tiles find the claim's weights in L2.
func (t *packedTask) streamTile(m *packedMat, ks *packedSet, g, q, ws, n int) {
	a, pw := t.a, m.pw
	w0 := pw.groupAt(g)
	sk, tk, ns, ts := ks.streams, &ks.tileStreams, ks.pieceStreams(a.nx), ks.tileNS
	astride, dstride := a.nx*a.qk*a.es, a.nx*4
	for k0 := 0; k0 < a.nx; {
		sub := ks.subTile(a.nx - k0)
		act, d, corr := &a.qs[k0*a.qk*a.es], &a.d[k0], &m.corr[k0*m.nc]
		if sub == 1 {
			// The single-row kernel walks ks.ns of the piece's ns streams.
			for s0 := 0; s0 < ns; s0 += ks.ns {
				gs := g + s0*q
				sk(&pw.data[w0+s0*ws], ws, a.nb, act, astride, d, corr, dstride, &m.y[k0*pw.Rows+gs*packGroup], q*packGroup*4, n)
			}
		} else {
			// A tile kernel walks ts of the piece's ns streams.
			for s0 := 0; s0 < ns; s0 += ts {
				gs := g + s0*q
				tk[sub](&pw.data[w0+s0*ws], ws, a.nb, act, astride, d, corr, dstride, &m.y[k0*pw.Rows+gs*packGroup], q*packGroup*4, n, pw.Rows*4)
			}
		}
		k0 += sub
	}
}

// steal is called by each thread once the call's chunks are all taken: it
// computes the stream rows still unclaimed in chunks other threads hold.
func (t *packedTask) steal() {
	if t.phase != phaseDot || t.plan == nil {
		return
	}
	for i := range t.plan.pieces {
		t.streamRows(&t.plan.pieces[i])
	}
}

// dot computes row groups lo..hi-1 of matrix m for every activation tile.
func (t *packedTask) dot(m *packedMat, lo, hi int) {
	pw, a := m.pw, t.a
	nb := a.nb
	set := packedSetOf(pw.Type, t.avx2)
	ks := &set.tiles
	ystride := pw.Rows * 4
	lastPartial := pw.Rows%packGroup != 0
	if t.grouped {
		// One row, the matrix's own, with the single-row kernel.
		act, astride, d, corr, dstride := t.rowActs(m)
		for g := lo; g < hi; g++ {
			r0 := g * packGroup
			y, ys := &m.y[r0], ystride
			if lastPartial && r0+packGroup > pw.Rows {
				y, ys = &m.tail[0], packGroup*4
			}
			ks[1](&pw.data[pw.groupAt(g)], nb, act, astride, d, corr, dstride, y, ys)
		}
		if lastPartial && hi*packGroup > pw.Rows {
			copy(m.y[(hi-1)*packGroup:pw.Rows], m.tail)
		}
		return
	}
	for t0 := 0; t0 < a.nx; t0 += packTile {
		n, _, base := a.tileAt(t0)
		for g := lo; g < hi; g++ {
			w := &pw.data[pw.groupAt(g)]
			r0 := g * packGroup
			partial := lastPartial && r0+packGroup > pw.Rows
			for k0 := 0; k0 < n; {
				sub := 8
				for sub > n-k0 || ks[sub] == nil {
					if sub /= 2; sub == 0 {
						// A pool whose kernel set lacks this type's kernels
						// (Pool.Packs): no packed call can run on it.
						panic(fmt.Sprintf("kernels.MatMulPacked: no %v kernels in the pool's kernel set", pw.Type))
					}
				}
				j := base + k0
				y, ys := &m.y[(t0+k0)*pw.Rows+r0], ystride
				if partial {
					y, ys = &m.tail[(t0+k0)*packGroup], packGroup*4
				}
				ks[sub](w, nb, &a.qs[j*a.qk*a.es], n*a.qk*a.es, &a.d[j], &m.corr[j*m.nc], n*4, y, ys)
				k0 += sub
			}
		}
	}
	if lastPartial && hi*packGroup > pw.Rows {
		r0 := (hi - 1) * packGroup
		for i := range a.nx {
			copy(m.y[i*pw.Rows+r0:(i+1)*pw.Rows], m.tail[i*packGroup:])
		}
	}
	if m.res != nil && t.rows > 1 && lo < hi {
		t.addResidual(m, lo*packGroup, min(hi*packGroup, pw.Rows))
	}
}

type packedKernel func(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)

// streamKernel is a multi-stream GEMV kernel (see gen_packed.py): a
// packedKernel with N = 1 over its set's ns row groups wstride bytes apart,
// group s's outputs at y + s·ystride bytes, and then over the ng-1 groups
// that follow each of them (outputs 64 bytes further on each time).
type streamKernel func(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int)

// streamTileKernel is a multi-stream kernel for a tile of N activation
// rows (see gen_packed.py): a streamKernel whose outputs for activation
// row i are yrow·i bytes further on.
type streamTileKernel func(w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int, yrow int)

// packedSet is one weight type's packed kernels and which calls take which
// (packedSetOf; the sets and the measurements behind their choices are in
// packed_amd64.go).
type packedSet struct {
	tiles [9]packedKernel // the one-group kernels by activation tile size (1, 2, 4, 8)
	// streams walks ns row groups at once for one activation row (nil:
	// none); single says whether single-row calls take it.
	streams streamKernel
	ns      int
	single  bool
	// tileStreams are the multi-stream kernels for small batches by tile
	// size (2, 4), each walking tileNS of the ns streams; calls of 2 to
	// tileRows activation rows take them.
	tileStreams      [5]streamTileKernel
	tileNS, tileRows int
	// rowChunk is the bytes of a single-row call's chunk (packedGrain;
	// 0: 1 MiB).
	rowChunk int
	// pacedStreams is the paced twin of streams (nil: none), which single
	// rows take when the pool's pacer says so.
	pacedStreams streamKernel
	// nearStreams is the near twin of streams (nil: none): the same
	// kernel prefetching nearer, which single rows take in its place
	// where the pool's Prefetch is near.
	nearStreams streamKernel
}

// singleRowKernel is the stream kernel for single rows: the paced twin
// where paced and there is one, else the near twin where near and there
// is one, else the plain kernel.
func (k *packedSet) singleRowKernel(paced, near bool) streamKernel {
	switch {
	case paced && k.pacedStreams != nil:
		return k.pacedStreams
	case near && k.nearStreams != nil:
		return k.nearStreams
	}
	return k.streams
}

// twins is the set of single-row forms besides the plain one that k has.
func (k *packedSet) twins() formSet {
	var s formSet
	if k.nearStreams != nil {
		s |= 1 << formNear
	}
	if k.pacedStreams != nil {
		s |= 1 << formPaced
	}
	return s
}

// pieceStreams is how many streams a call of nx activation rows cuts each
// chunk's row groups into (streamPlan.plan): the single-row kernel's for
// one row; for a batch, enough for its tile kernels (tileNS at a time)
// and, where streamTile leaves a row to the single-row kernel, for that
// (ns at a time). A batch whose sub-tiles all have tile kernels cuts only
// tileNS: over cold 8192x2048 matrices, two-row F16 calls cut in two
// streams took 0.959 of the time of four (BF16 0.993, Q4_K level; round
// 61).
func (k *packedSet) pieceStreams(nx int) int {
	if nx == 1 {
		return k.ns
	}
	for rest := nx; rest > 0; {
		sub := k.subTile(rest)
		if sub == 1 {
			return max(k.ns, k.tileNS)
		}
		rest -= sub
	}
	return k.tileNS
}

// subTile is how many of rest activation rows streamTile takes next: the
// largest tile kernel's (4, 3 or 2 rows) that fits, else one row on the
// single-row kernel.
func (k *packedSet) subTile(rest int) int {
	sub := min(4, rest)
	for sub > 1 && k.tileStreams[sub] == nil {
		sub--
	}
	return sub
}

// streamsFor reports whether a call of nx activation rows runs on the
// multi-stream kernels.
func (k *packedSet) streamsFor(nx int) bool {
	if nx == 1 {
		return k.streams != nil && k.single
	}
	return nx <= k.tileRows
}

// noPackedSet is packedSetOf's answer for a type without packed kernels.
var noPackedSet packedSet

// packRow writes block b of one weight row (ggml layout) as row r of its
// group record.
func packRow(t quant.Type, row []byte, b int, rec []byte, r int) {
	le := binary.LittleEndian
	switch t {
	case quant.Q4_0, quant.IQ4_NL:
		blk := (*[18]byte)(row[b*18:])
		rec[2*r], rec[2*r+1] = blk[0], blk[1]
		for g := range 4 {
			le.PutUint32(rec[32+64*g+4*r:], le.Uint32(blk[2+4*g:]))
		}
	case quant.Q5_0:
		blk := (*[22]byte)(row[b*22:])
		rec[2*r], rec[2*r+1] = blk[0], blk[1]
		for g := range 4 {
			le.PutUint32(rec[32+64*g+4*r:], le.Uint32(blk[6+4*g:]))
		}
		packFifthBits(le.Uint32(blk[2:]), rec[288+4*r:])
	case quant.Q4_1:
		blk := (*[20]byte)(row[b*20:])
		rec[2*r], rec[2*r+1] = blk[0], blk[1]
		rec[32+2*r], rec[33+2*r] = blk[2], blk[3]
		for g := range 4 {
			le.PutUint32(rec[64+64*g+4*r:], le.Uint32(blk[4+4*g:]))
		}
	case quant.Q5_1:
		blk := (*[24]byte)(row[b*24:])
		rec[2*r], rec[2*r+1] = blk[0], blk[1]
		rec[32+2*r], rec[33+2*r] = blk[2], blk[3]
		for g := range 4 {
			le.PutUint32(rec[64+64*g+4*r:], le.Uint32(blk[8+4*g:]))
		}
		packFifthBits(le.Uint32(blk[4:]), rec[320+4*r:])
	case quant.Q8_0:
		blk := (*[34]byte)(row[b*34:])
		rec[2*r], rec[2*r+1] = blk[0], blk[1]
		for g := range 8 {
			le.PutUint32(rec[32+64*g+4*r:], le.Uint32(blk[2+4*g:])^0x80808080)
		}
	case quant.Q6_K:
		packQ6_K((*[210]byte)(row[b*210:]), rec, r)
	case quant.Q4_K:
		packQ4_K((*[144]byte)(row[b*144:]), rec, r, 256)
	case quant.Q3_K:
		packQ3_K((*[110]byte)(row[b*110:]), rec, r)
	case quant.Q2_K:
		packQ2_K((*[84]byte)(row[b*84:]), rec, r)
	case quant.IQ4_XS:
		packIQ4_XS((*[136]byte)(row[b*136:]), rec, r)
	case quant.IQ2_XXS, quant.IQ3_XXS, quant.IQ3_S, quant.IQ1_S, quant.IQ2_XS, quant.IQ2_S, quant.IQ1_M:
		bb := t.BlockBytes()
		packIQ(t, row[b*bb:(b+1)*bb], rec, r)
	case quant.F16:
		for c := range 4 {
			copy(rec[32*c+2*r:32*c+2*r+2], row[2*(4*b+c):])
		}
	case quant.BF16:
		for c := range 4 {
			o := bf16PackedOffset(c, r)
			copy(rec[o:o+2], row[2*(4*b+c):])
		}
	case quant.F32:
		for c := range 4 {
			copy(rec[64*c+4*r:64*c+4*r+4], row[4*(4*b+c):])
		}
	case quant.Q5_K:
		blk := (*[176]byte)(row[b*176:])
		var q4 [144]byte // Q4_K's layout: d, dmin, scales, qs
		copy(q4[:16], blk[:16])
		copy(q4[16:], blk[48:])
		packQ4_K(&q4, rec, r, 320)
		packQ5KHigh(blk[16:48], rec, r)
	}
}

// packFifthBits writes a 32-element block's fifth bits (qh: element j at
// bit j) as a row's 4 bytes of the packed layout: byte k holds element
// 4g+k's bit at bit g and element 16+4g+k's at bit 4+g.
func packFifthBits(qh uint32, dst []byte) {
	for k := range 4 {
		var v uint32
		for g := range 4 {
			v |= (qh >> (4*g + k) & 1) << g
			v |= (qh >> (16 + 4*g + k) & 1) << (4 + g)
		}
		dst[k] = byte(v)
	}
}

// packQ5KHigh writes the fifth bits of a Q5_K block (qh[32]: element l of
// sub-block s at bit s of qh[l]) as row r of its group record: per
// sub-block s, 64 bytes at 256+320s+256, row r's 4 bytes at 4r, byte k
// holding element 4g+k's bit at bit g and element 16+4g+k's at bit 4+g
// (g < 4), the nibble pairing of the codes.
func packQ5KHigh(qh []byte, rec []byte, r int) {
	for s := range 8 {
		h := rec[256+320*s+256+4*r:]
		for k := range 4 {
			var v byte
			for g := range 4 {
				v |= (qh[4*g+k] >> s & 1) << g
				v |= (qh[16+4*g+k] >> s & 1) << (4 + g)
			}
			h[k] = v
		}
	}
}

// q4KScaleMin returns the 6-bit scale and minimum of sub-block s of a Q4_K
// block's 12 packed scale bytes (ggml's get_scale_min_k4).
func q4KScaleMin(sc []byte, s int) (uint8, uint8) {
	if s < 4 {
		return sc[s] & 63, sc[s+4] & 63
	}
	return sc[s+4]&0xF | (sc[s-4]>>6)<<4, sc[s+4]>>4 | (sc[s]>>6)<<4
}

// packQ4_K writes one Q4_K block (d, dmin, scales[12], qs[128]) as row r of
// its group record: +0 the fp16 d and +32 dmin of the 16 rows; +64 the
// 6-bit scales and minimums in three words a row (q4KScaleWords) at
// 64+64i+4r; +256 the codes of sub-block s (32 elements) at 256+sub·s
// (sub: 256, or 320 for Q5_K, whose fifth bits follow each sub-block's
// codes), 64 bytes per 4-element group g < 4 holding elements 4g.. (low
// nibbles) and 16+4g.. (high nibbles), row r's 4 bytes at 4r. ggml keeps
// sub-block s in the nibble s%2 of qs[32(s/2)..]. The record is as long as
// the 16 rows' blocks in the file.
func packQ4_K(blk *[144]byte, rec []byte, r int, sub int) {
	le := binary.LittleEndian
	rec[2*r], rec[2*r+1] = blk[0], blk[1]
	rec[32+2*r], rec[33+2*r] = blk[2], blk[3]
	var sc, m [8]uint32
	for s := range 8 {
		a, b := q4KScaleMin(blk[4:16], s)
		sc[s], m[s] = uint32(a), uint32(b)
	}
	putRowWords(rec, 64, r, q4KScaleWords(sc, m))
	for s := range 8 {
		qs := blk[16+32*(s/2):]
		sh := uint(4 * (s % 2))
		co := rec[256+sub*s:]
		for g := range 4 {
			lo := le.Uint32(qs[4*g:]) >> sh & 0x0F0F0F0F
			hi := le.Uint32(qs[16+4*g:]) >> sh & 0x0F0F0F0F
			le.PutUint32(co[64*g+4*r:], lo|hi<<4)
		}
	}
}

// q4KScaleWords lays out a Q4_K row's eight 6-bit scales and minimums as
// the kernels take them out (gen_packed.py, k_scale and k_mins): word i < 3
// holds minimum 2i at bit 0, scale 2i at 6, minimum 2i+1 at 16 and scale
// 2i+1 at 22, so a mask gives a pair of minimums as two int16 and a shift
// and a mask a scale; the low nibbles of minimums 6 and 7 are word 0's
// bits 12 and 28, those of scales 6 and 7 word 1's, and their top two bits
// word 2's bits 12 (minimum 6), 14 (scale 6), 28 (minimum 7) and 30
// (scale 7). q4KScaleWordsInverse undoes it.
func q4KScaleWords(sc, m [8]uint32) [3]uint32 {
	var w [3]uint32
	for i := range 3 {
		w[i] = m[2*i] | sc[2*i]<<6 | m[2*i+1]<<16 | sc[2*i+1]<<22
	}
	w[0] |= (m[6]&15)<<12 | (m[7]&15)<<28
	w[1] |= (sc[6]&15)<<12 | (sc[7]&15)<<28
	w[2] |= m[6]>>4<<12 | sc[6]>>4<<14 | m[7]>>4<<28 | sc[7]>>4<<30
	return w
}

// q4KScaleWordsInverse returns the scales and minimums of q4KScaleWords.
func q4KScaleWordsInverse(w [3]uint32) (sc, m [8]uint32) {
	for i := range 3 {
		m[2*i], sc[2*i] = w[i]&63, w[i]>>6&63
		m[2*i+1], sc[2*i+1] = w[i]>>16&63, w[i]>>22&63
	}
	m[6] = w[0]>>12&15 | (w[2]>>12&3)<<4
	m[7] = w[0]>>28&15 | (w[2]>>28&3)<<4
	sc[6] = w[1]>>12&15 | (w[2]>>14&3)<<4
	sc[7] = w[1]>>28&15 | (w[2]>>30&3)<<4
	return sc, m
}

// packIQ4_XS writes an IQ4_XS block as row r of its record: +0 d (fp16),
// the eight group scales ls−32 as signed 6-bit fields (iq4XSScaleWords)
// in a word at 32+4r and a half-word at 96+2r, +128+256s group s's 16 code
// bytes in Q4_0's four 64-byte parts (row r's bytes 4g..4g+3 at 64g+4r).
// The record is as long as the 16 rows' blocks in the file.
func packIQ4_XS(blk *[136]byte, rec []byte, r int) {
	le := binary.LittleEndian
	rec[2*r], rec[2*r+1] = blk[0], blk[1]
	h := le.Uint16(blk[2:])
	var sc [8]int8
	for s := range 8 {
		ls := int(blk[4+s/2]>>(4*(s%2)))&15 | int(h>>(2*s))&3<<4
		sc[s] = int8(ls - 32)
		for g := range 4 {
			le.PutUint32(rec[128+256*s+64*g+4*r:], le.Uint32(blk[8+16*s+4*g:]))
		}
	}
	w, hw := iq4XSScaleWords(&sc)
	le.PutUint32(rec[32+4*r:], w)
	le.PutUint16(rec[96+2*r:], hw)
}

// iq4XSScaleWords lays out an IQ4_XS row's eight signed 6-bit scales as
// the kernels take them out (gen_packed.py, iq4xs_scale): groups 0-4 in
// the word as Q3_K's (signed6Word) and the low pair of group 7's at bit
// 24; the half-word holds group 5's at bit 0, the rest of group 7's at 6
// and group 6's at 10 (at the top, so a sign-extending load and one
// shift take it out). iq4XSScaleWordsInverse undoes it.
func iq4XSScaleWords(sc *[8]int8) (uint32, uint16) {
	w := signed6Word(sc[:5])
	v7 := uint32(sc[7]) & 63
	w |= v7 & 3 << 24
	hw := uint32(sc[5])&63 | v7>>2<<6 | (uint32(sc[6])&63)<<10
	return w, uint16(hw)
}

// iq4XSScaleWordsInverse returns the scales of iq4XSScaleWords.
func iq4XSScaleWordsInverse(w uint32, hw uint16) (sc [8]int8) {
	for s := range 5 {
		sc[s] = signed6Field(w, s)
	}
	h := uint32(hw)
	sc[5] = int8(h<<2) >> 2
	sc[6] = int8(h>>10<<2) >> 2
	sc[7] = int8((w>>24&3|(h>>6&15)<<2)<<2) >> 2
	return sc
}

// packQ6_K writes one Q6_K block (ql[128], qh[64], scales[16], d) as row r
// of its group record: the fp16 d, the 16 sub-block scales, and per
// sub-block s (elements 16s..16s+15 in groups a, b, c, d of 4) at 288+192s
// three 64-byte parts X, Y, Z, row r's 4 bytes of each at 4r: bits 0-5 of
// X, Y and Z hold the 6-bit codes of a, b and c, and their bits 6-7 those
// of d, two bits each (X its bits 0-1, Y 2-3, Z 4-5). A kernel gets a, b
// and c with one AND each and d with three shifts, two bit selects and an
// AND: nine operations where two nibble planes and a plane of high bit
// pairs took thirteen. Sub-block s of ggml's layout: elements 128h+32j+l
// (l = 16(s%2)+k) take the nibble j>>1 of ql[64h+32(j&1)+l] and bits 2j of
// qh[32h+l], with h = s/8 and j = (s%8)/2.
func packQ6_K(blk *[210]byte, rec []byte, r int) {
	le := binary.LittleEndian
	rec[2*r], rec[2*r+1] = blk[208], blk[209]
	for s := range 16 {
		rec[32+16*s+r] = blk[192+s]
		h, j, l0 := s/8, (s%8)/2, 16*(s%2)
		ql := blk[64*h+32*(j&1)+l0:]
		qh := blk[128+32*h+l0:]
		ns, hs := uint(4*(j>>1)), uint(2*j)
		var u [4]uint32 // the 6-bit codes of groups a, b, c, d, a byte each
		for q := range 4 {
			u[q] = le.Uint32(ql[4*q:])>>ns&0x0F0F0F0F | (le.Uint32(qh[4*q:])>>hs&0x03030303)<<4
		}
		co := rec[288+192*s:]
		for p := range 3 {
			le.PutUint32(co[64*p+4*r:], u[p]|(u[3]>>(2*p)&0x03030303)<<6)
		}
	}
}

// q3KCodes decodes a Q3_K block (ggml layout: hmask[32], qs[64],
// scales[12], d) into unsigned 3-bit codes (value + 4) and the 16 signed
// sub-block scales (6-bit − 32). Element 128h+32j+l (l < 32) takes bits 2j
// of qs[32h+l] and bit 4h+j of hmask[l].
func q3KCodes(blk []byte, u *[quant.QK_K]uint8, sc *[16]int8) {
	for y := range quant.QK_K {
		h, j, l := y/128, (y%128)/32, y%32
		u[y] = blk[32+32*h+l]>>(2*j)&3 | (blk[l]>>(4*h+j)&1)<<2
	}
	raw := blk[96:108]
	for s := range 16 {
		var v byte
		if s < 8 {
			v = raw[s] & 0xF
		} else {
			v = raw[s-8] >> 4
		}
		v |= (raw[8+s%4] >> (2 * (s / 4)) & 3) << 4
		sc[s] = int8(v) - 32
	}
}

// q2KCode returns the 2-bit code of element y of a Q2_K block (ggml
// layout: scales[16], qs[64], d, dmin): bits 2j of qs[32h+l] for element
// 128h+32j+l.
func q2KCode(blk []byte, y int) int32 {
	h, j, l := y/128, (y%128)/32, y%32
	return int32(blk[16+32*h+l] >> (2 * j) & 3)
}

// packQ2_K writes one Q2_K block as row r of its group record: +0 d and +32
// dmin of the 16 rows, +64 the block's scale byte of sub-block s (scale |
// min<<4) at 64+16s+r, +320 the codes of sub-block s at 320+64s, byte k of
// row r's 4 holding elements 16s+k, +4, +8, +12 at bits 0-1, 2-3, 4-5, 6-7.
func packQ2_K(blk *[84]byte, rec []byte, r int) {
	rec[2*r], rec[2*r+1] = blk[80], blk[81]
	rec[32+2*r], rec[33+2*r] = blk[82], blk[83]
	for s := range 16 {
		rec[64+16*s+r] = blk[s]
		co := rec[320+64*s+4*r:]
		for k := range 4 {
			var v int32
			for g := range 4 {
				v |= q2KCode(blk[:], 16*s+4*g+k) << (2 * g)
			}
			co[k] = byte(v)
		}
	}
}

// packQ3_K writes one Q3_K block as row r of its group record: +0 the fp16
// d of the 16 rows, +32 the signed 6-bit scales in three words a row
// (q3KScaleWords) at 32+64i+4r, and per pair of sub-blocks p (s = 2p, 2p+1)
// 192 bytes at 224+192p: the 2-bit planes of s = 2p (+0) and 2p+1 (+64),
// each byte k of row r's 4 holding groups a, b, c, d (elements 16s+k, +4,
// +8, +12) at bits 0-1, 2-3, 4-5, 6-7, and the third bits (+128), byte k
// holding sub-block 2p's groups at bits 0-3 and 2p+1's at bits 4-7. The
// record is as long as the 16 rows' blocks in the file.
func packQ3_K(blk *[110]byte, rec []byte, r int) {
	var u [quant.QK_K]uint8
	var sc [16]int8
	q3KCodes(blk[:], &u, &sc)
	rec[2*r], rec[2*r+1] = blk[108], blk[109]
	putRowWords(rec, 32, r, q3KScaleWords(&sc))
	for s := range 16 {
		co := rec[224+192*(s/2):]
		e := u[16*s:]
		for k := range 4 {
			co[64*(s%2)+4*r+k] = e[k]&3 | (e[4+k]&3)<<2 | (e[8+k]&3)<<4 | (e[12+k]&3)<<6
			h := e[k]>>2 | (e[4+k]>>2)<<1 | (e[8+k]>>2)<<2 | (e[12+k]>>2)<<3
			co[128+4*r+k] |= h << (4 * (s % 2))
		}
	}
}

// q3KScaleWords lays out a Q3_K row's sixteen signed 6-bit scales as the
// kernels take them out (gen_packed.py, q3_scale): word i holds
// sub-blocks 5i to 5i+4 at bits 0, 6, 12, 18 and 26 (two's complement, so
// a left shift to the top and an arithmetic shift back sign-extend one),
// and bits 24-25 of words 0, 1 and 2 hold sub-block 15's low, middle and
// top pair. q3KScaleWordsInverse undoes it.
func q3KScaleWords(sc *[16]int8) [3]uint32 {
	var w [3]uint32
	for i := range 3 {
		w[i] = signed6Word(sc[5*i : 5*i+5])
	}
	v := uint32(sc[15]) & 63
	for i := range 3 {
		w[i] |= v >> (2 * i) & 3 << 24
	}
	return w
}

// putRowWords writes row r's three words of a group record whose words
// lie 64 bytes apart from base, word i at base+64i+4r (Q4_K's and Q3_K's
// 6-bit scales); rowWords reads them back.
func putRowWords(rec []byte, base, r int, w [3]uint32) {
	for i, v := range w {
		binary.LittleEndian.PutUint32(rec[base+64*i+4*r:], v)
	}
}

func rowWords(rec []byte, base, r int) (w [3]uint32) {
	for i := range w {
		w[i] = binary.LittleEndian.Uint32(rec[base+64*i+4*r:])
	}
	return w
}

// signed6Bits is where field j of a word of signed 6-bit fields starts
// (gen_packed.py's Q3K_SCALE_BITS): the last at the top, so an arithmetic
// shift alone takes it out; bits 24-25 are left free.
var signed6Bits = [5]uint{0, 6, 12, 18, 26}

// signed6Word packs up to five signed 6-bit values as fields 0.. of a
// word (two's complement); signed6Field takes field j back out.
func signed6Word(v []int8) uint32 {
	var w uint32
	for j, x := range v {
		w |= uint32(x) & 63 << signed6Bits[j]
	}
	return w
}

func signed6Field(w uint32, j int) int8 { return int8(w>>signed6Bits[j]<<2) >> 2 }

// q3KScaleWordsInverse returns the scales of q3KScaleWords.
func q3KScaleWordsInverse(w [3]uint32) (sc [16]int8) {
	for s := range 15 {
		sc[s] = signed6Field(w[s/5], s%5)
	}
	var v uint32
	for i := range 3 {
		v |= w[i] >> 24 & 3 << (2 * i)
	}
	sc[15] = int8(v<<2) >> 2
	return sc
}
