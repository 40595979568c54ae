package kernels

import (
	"fmt"

	"github.com/nuri-ai/nuri/quant"
)

// QuantCacheType reports whether t is a KV cache type that attention reads
// through the loops of this file: the 32-element block types of llama.cpp's
// -ctk/-ctv list that have no loops of their own (Q8_0 has DotQ8_0Rows and
// AxpyQ8_0Rows, F16 and F32 the float loops).
func QuantCacheType(t quant.Type) bool {
	switch t {
	case quant.Q4_0, quant.Q4_1, quant.Q5_0, quant.Q5_1, quant.IQ4_NL:
		return true
	}
	return false
}

// levelType reports whether each value of a t block is an int8 level
// times the block's fp16 d (Q4_0: code-8; Q5_0: code-16; IQ4_NL: ggml's
// kvalues), so that a row of t is a Q8_0 row exactly (toQ8_0); Q4_1 and
// Q5_1 add a minimum and are not.
func levelType(t quant.Type) bool {
	return t == quant.Q4_0 || t == quant.Q5_0 || t == quant.IQ4_NL
}

// affineType reports whether each value of a t block is its unsigned code
// times the block's fp16 d plus its fp16 m (Q4_1, Q5_1): a Q8_0 row of the
// codes and d (toQ8_0) holds the values less m, block by block.
func affineType(t quant.Type) bool {
	return t == quant.Q4_1 || t == quant.Q5_1
}

// affineOnQ8_0 reports whether these loops read rows of t (an affineType)
// through the Q8_0 loops, transcoded in assembly, with the minimums added
// apart; elsewhere they take MatMul's row kernels of the type.
func (o VecOps) affineOnQ8_0(t quant.Type) bool {
	return affineType(t) && (o.fast || o.avx2)
}

// QueryScratch holds query heads quantized for DotQuantRowsHeads, and the
// cache rows the loops widen or transcode. It belongs to one worker: its
// buffers are reused from call to call, so a decode step allocates
// nothing once they have grown.
type QueryScratch struct {
	t     quant.Type
	heads int
	nb    int       // blocks a head
	raw   []byte    // the heads in ggml's Q8_0/Q8_1 layout (the reference path)
	qs    []byte    // their quants, head h at h·nb·32 (64-byte aligned)
	qbuf  []byte    // qs's backing store
	d     []float32 // their block scales, head h at h·nb·sp (Q8_1: scale and d·Σq)
	sp    int       // float32s of d a block
	dq    []float32 // Q8_1: the block scales alone, head h at h·nb (for the Q8_0 loops)
	sums  []float32 // Q8_1: the blocks' d·Σq, head h at h·nb (for the minimums' term)
	rowsB int       // bytes of one quantized head in raw
	rows  []byte    // a chunk of cache rows transcoded to Q8_0
	mins  []float32 // Q4_1/Q5_1: the chunk's block minimums, block b of row j at b·rows+j
	deq   []float32 // a chunk of V rows dequantized
}

// quantCacheFast and quantCacheAVX2 are, for the cache types that are not
// level types (Q4_1, Q5_1), the MatMul row kernels of each kernel set that
// take the split activation layout (the 512-bit pair kernels take
// another): the score of a K row is then what a weight row of the type
// gives with the same activation row.
var (
	quantCacheFast = splitRowKernels(kernelVariants())
	quantCacheAVX2 = splitRowKernels(avx2Variants())
)

// splitRowKernels picks, per cache type, the last (most preferred) variant
// with a split-layout row kernel.
func splitRowKernels(variants map[quant.Type][]*fastKernel) map[quant.Type]*fastKernel {
	m := map[quant.Type]*fastKernel{}
	for t, ks := range variants {
		if !QuantCacheType(t) || levelType(t) {
			continue
		}
		for _, k := range ks {
			if k.fn != nil && !k.pairs && k.blockQS == 32 {
				m[t] = k
			}
		}
	}
	return m
}

// quantRowKernel is the row kernel these loops run for K rows of type t
// that are not level types (nil: quant.VecDot).
func (o VecOps) quantRowKernel(t quant.Type) *fastKernel {
	switch {
	case o.affineOnQ8_0(t):
		return nil
	case o.fast || o.neon:
		return quantCacheFast[t]
	case o.avx2:
		return quantCacheAVX2[t]
	}
	return nil
}

// QuantCacheKernelName reports the loop DotQuantRowsHeads runs for a K
// cache of type t: "Q8_0 rows" for the level types (transcoded to Q8_0
// and scored by DotQ8_0RowsHeads), "Q8_0 rows + m" for Q4_1 and Q5_1
// where they are transcoded too, else the row kernel's name, or
// "generic".
func (o VecOps) QuantCacheKernelName(t quant.Type) string {
	if levelType(t) {
		return "Q8_0 rows"
	}
	if o.affineOnQ8_0(t) {
		return "Q8_0 rows + m"
	}
	if k := o.quantRowKernel(t); k != nil {
		return k.name
	}
	return "generic"
}

// QuantizeQuery quantizes heads query vectors (q holds heads·d floats, d a
// multiple of 32) for the scores against a K cache of type t
// (QuantCacheType): to quant.VecDotType(t), Q8_0 or Q8_1, as ggml converts
// an activation row before its vec_dot.
func (o VecOps) QuantizeQuery(t quant.Type, q []float32, heads int, s *QueryScratch) error {
	if !QuantCacheType(t) {
		return fmt.Errorf("kernels: QuantizeQuery: %v is not a quantized cache type", t)
	}
	if heads <= 0 || len(q)%heads != 0 || (len(q)/heads)%32 != 0 {
		return fmt.Errorf("kernels: QuantizeQuery: %d values for %d heads, not whole blocks a head", len(q), heads)
	}
	at := quant.VecDotType(t)
	d := len(q) / heads
	nb := d / 32
	rb, err := at.RowBytes(d)
	if err != nil {
		return fmt.Errorf("kernels: QuantizeQuery: %w", err)
	}
	s.t, s.heads, s.nb, s.rowsB = t, heads, nb, rb
	s.sp = 1
	if at == quant.Q8_1 {
		s.sp = 2
	}
	s.raw = grow(s.raw, heads*rb)
	s.qs = aligned64(&s.qbuf, heads*d)
	s.d = grow(s.d, heads*nb*s.sp)
	if s.sp == 2 {
		s.dq, s.sums = grow(s.dq, heads*nb), grow(s.sums, heads*nb)
	}
	bb := at.BlockBytes()
	for h := range heads {
		raw := s.raw[h*rb : (h+1)*rb]
		if err := quant.QuantizeActivations(at, q[h*d:(h+1)*d], raw); err != nil {
			return fmt.Errorf("kernels: QuantizeQuery: %w", err)
		}
		for b := range nb {
			blk := raw[b*bb : (b+1)*bb]
			i := (h*nb + b) * s.sp
			s.d[i] = quant.FP16ToFP32(uint16(blk[0]) | uint16(blk[1])<<8)
			if s.sp == 2 {
				s.d[i+1] = quant.FP16ToFP32(uint16(blk[2]) | uint16(blk[3])<<8)
				s.dq[h*nb+b], s.sums[h*nb+b] = s.d[i], s.d[i+1]
			}
			copy(s.qs[(h*nb+b)*32:(h*nb+b+1)*32], blk[bb-32:])
		}
	}
	return nil
}

// QuantizeIQ4_NL quantizes src (whole blocks) to IQ4_NL rows at dst with
// quant.Quantize's bits (ggml's quantize_row_iq4_nl). Its scale search,
// sixteen weighted fits of each block, runs one fit a lane where this
// VecOps has AVX-512 (iq4FitsAVX512): a fifth of the Go loops' time. It
// runs quant.IQ4Group's steps itself, on a group of its frame, where a
// quant.Quantizer would be allocated for each store of a token's rows.
func (o VecOps) QuantizeIQ4_NL(src []float32, dst []byte) error {
	if o.IQ4Fit() == nil {
		if err := quant.Quantize(quant.IQ4_NL, src, dst); err != nil {
			return fmt.Errorf("kernels: QuantizeIQ4_NL: %w", err)
		}
		return nil
	}
	bb := quant.IQ4_NL.BlockBytes()
	if len(src)%32 != 0 || len(dst) != len(src)/32*bb {
		return fmt.Errorf("kernels: QuantizeIQ4_NL: %d values into %d bytes, not whole blocks", len(src), len(dst))
	}
	var g quant.IQ4Group
	for b := range len(src) / 32 {
		x := src[32*b : 32*b+32]
		var d float32
		if g.Start(x) {
			iq4Fit(&g)
			d = g.Scale()
		}
		quant.PutIQ4_NL(x, d, dst[b*bb:(b+1)*bb])
	}
	return nil
}

// IQ4Fit returns the IQ4 scale search's fits in assembly for
// quant.Quantizer (one multiplier a lane, quant.IQ4Group.Fit's bits) where
// this VecOps has AVX-512, else nil: quant's Go loops.
func (o VecOps) IQ4Fit() func(*quant.IQ4Group) {
	if o.fast && hasFitsAsm {
		return iq4Fit
	}
	return nil
}

// QxFit returns make_qx_quants's trial fits (Q6_K's scale search) in
// assembly for quant.Quantizer, sixteen trials a pass with
// quant.QxGroup.Fit's bits, where this VecOps has AVX-512, else nil.
func (o VecOps) QxFit() func(*quant.QxGroup) {
	if o.fast && hasFitsAsm {
		return qxFit
	}
	return nil
}

// Fits returns the scale searches this VecOps runs in assembly, for
// quant.Quantizer: IQ4Fit, QxFit and Qkx2Fit's.
func (o VecOps) Fits() quant.Fits {
	return quant.Fits{IQ4Fit: o.IQ4Fit(), QxFit: o.QxFit(), Qkx2Fit: o.Qkx2Fit(), IQNearest: o.IQNearest()}
}

// IQNearest returns the search of an IQ codebook's candidates (the IQ1,
// IQ2 and IQ3 quantizers') in assembly for quant.Quantizer, sixteen
// candidates a pass with quant.IQCandidates.Nearest's answers, where this
// VecOps has AVX-512, else nil.
func (o VecOps) IQNearest() func(*quant.IQCandidates) int {
	if o.fast && hasFitsAsm {
		return iqNearest
	}
	return nil
}

// Qkx2Fit returns make_qkx2_quants's searches (Q2_K, Q4_K and Q5_K's, and
// Q4_1 and Q5_1's with an importance matrix) in assembly for
// quant.Quantizer, sixteen groups a pass with quant.Qkx2Batch.Fit's bits,
// where this VecOps has AVX-512, else nil.
func (o VecOps) Qkx2Fit() func(*quant.Qkx2Batch) {
	if o.fast && hasFitsAsm {
		return qkx2Fit
	}
	return nil
}

// quantChunk is how many cache rows the loops transcode or dequantize at a
// time: 4-9 KiB for heads of 64-128, which stay in L1 while the heads read
// them.
const quantChunk = 64

// DotQuantRowsHeads sets out[h·oStride+j], for each head h of the query s
// holds (QuantizeQuery) and j < n, to the dot product of that head with
// row j of k (rows of the cache type, kStride bytes apart): ggml's vec_dot
// of the type, an exact integer sum per block times the two blocks' d,
// with the blocks added in float32 in another order than quant.VecDot
// (the two agree within float32 rounding). Q4_0, Q5_0 and IQ4_NL rows are
// transcoded to Q8_0 a chunk at a time and scored by DotQ8_0RowsHeads.
// Q4_1 and Q5_1 rows (ggml: d_k·d_q·Σ code·q + m_k·s_q a block, s_q the
// query block's d·Σq) are too where the transcoding is in assembly, their
// codes and d as a Q8_0 row, and Σ m_k·s_q over a row's blocks added after
// (a multiply-add a block, in block order, after the Q8_0 loops' sum);
// elsewhere MatMul's row kernel of the type scores them, up
// to its tile of heads a row. Each head gets the bits of a call of its own.
func (o VecOps) DotQuantRowsHeads(out []float32, oStride, n int, s *QueryScratch, k []byte, kStride int) {
	if n <= 0 || s.heads <= 0 {
		return
	}
	rb := s.nb * s.t.BlockBytes()
	checkRows("DotQuantRowsHeads outputs", s.heads, n, oStride, len(out))
	checkRows("DotQuantRowsHeads", n, rb, kStride, len(k))
	if s.nb == 0 {
		clear(out)
		return
	}
	if levelType(s.t) {
		q8 := s.nb * q8_0Bytes
		s.rows = grow(s.rows, quantChunk*q8)
		qs, qd := s.qs[:s.heads*s.nb*32], s.d[:s.heads*s.nb]
		for j0 := 0; j0 < n; j0 += quantChunk {
			m := min(quantChunk, n-j0)
			o.toQ8_0(s.t, s.rows[:m*q8], nil, k[j0*kStride:], m, s.nb, kStride)
			o.DotQ8_0RowsHeads(out[j0:], oStride, m, qs, qd, s.heads, s.rows[:m*q8], q8)
		}
		return
	}
	if o.affineOnQ8_0(s.t) {
		q8 := s.nb * q8_0Bytes
		s.rows, s.mins = grow(s.rows, quantChunk*q8), grow(s.mins, quantChunk*s.nb)
		qs, qd := s.qs[:s.heads*s.nb*32], s.dq[:s.heads*s.nb]
		for j0 := 0; j0 < n; j0 += quantChunk {
			m := min(quantChunk, n-j0)
			mins := s.mins[:m*s.nb]
			o.toQ8_0(s.t, s.rows[:m*q8], mins, k[j0*kStride:], m, s.nb, kStride)
			o.DotQ8_0RowsHeads(out[j0:], oStride, m, qs, qd, s.heads, s.rows[:m*q8], q8)
			for h := range s.heads {
				o.AxpyF32Rows(out[h*oStride+j0:h*oStride+j0+m], s.sums[h*s.nb:(h+1)*s.nb], mins, m)
			}
		}
		return
	}
	kern := o.quantRowKernel(s.t)
	if kern == nil {
		d := s.nb * 32
		for h := range s.heads {
			q := s.raw[h*s.rowsB : (h+1)*s.rowsB]
			for j := range n {
				out[h*oStride+j] = quant.VecDot(s.t, d, k[j*kStride:j*kStride+rb], q)
			}
		}
		return
	}
	for h0 := 0; h0 < s.heads; h0 += kern.tile {
		m := min(kern.tile, s.heads-h0)
		qs, d := &s.qs[h0*s.nb*32], &s.d[h0*s.nb*s.sp]
		for j := range n {
			kern.fn(&k[j*kStride], s.nb, qs, d, nil, m, &out[h0*oStride+j], oStride*4)
		}
	}
}

// AxpyQuantRowsHeads adds, for h < heads, Σ_j p[h·pStride+j]·v_j to
// acc[h·aStride : h·aStride+d] over j < n, v_j row j of v (the cache type
// t, rows vStride bytes apart, d elements), one fused multiply-add per
// element and row, rows in order; each head's sums get the bits of a call
// of its own.
//
// Q4_0, Q5_0 and IQ4_NL, whose values are an int8 level times the block's
// d, are transcoded to Q8_0 a chunk at a time and added as
// AxpyQ8_0RowsHeads adds: float32(level) times p·d (rounded first). Q4_1
// and Q5_1 rows are dequantized as quant.Dequantize (ggml's to_float) and
// added with AxpyF32Rows, p times the value (ggml's flash attention takes
// a quantized V row to float32 the same way). Transcoding them as the K
// loops do, with each block's Σ p·m added apart, measured no faster with
// AVX-512 and slower with AVX2 (BenchmarkQuantCacheRows).
func (o VecOps) AxpyQuantRowsHeads(t quant.Type, acc []float32, aStride, d int, p []float32, pStride, n, heads int, v []byte, vStride int, s *QueryScratch) error {
	if heads <= 0 || n <= 0 {
		return nil
	}
	if !QuantCacheType(t) || d%32 != 0 {
		return fmt.Errorf("kernels: AxpyQuantRowsHeads: %d elements of %v a row", d, t)
	}
	nb := d / 32
	rb := nb * t.BlockBytes()
	checkRows("AxpyQuantRowsHeads sums", heads, d, aStride, len(acc))
	checkRows("AxpyQuantRowsHeads probabilities", heads, n, pStride, len(p))
	checkRows("AxpyQuantRowsHeads", n, rb, vStride, len(v))
	if levelType(t) {
		q8 := nb * q8_0Bytes
		s.rows = grow(s.rows, quantChunk*q8)
		for j0 := 0; j0 < n; j0 += quantChunk {
			m := min(quantChunk, n-j0)
			o.toQ8_0(t, s.rows[:m*q8], nil, v[j0*vStride:], m, nb, vStride)
			o.AxpyQ8_0RowsHeads(acc, aStride, d, p[j0:], pStride, m, heads, s.rows[:m*q8], q8)
		}
		return nil
	}
	s.deq = grow(s.deq, quantChunk*d)
	for j0 := 0; j0 < n; j0 += quantChunk {
		m := min(quantChunk, n-j0)
		if err := o.dequantRows(t, s.deq[:m*d], v[j0*vStride:], m, nb, vStride); err != nil {
			return err
		}
		for h := range heads {
			o.AxpyF32Rows(acc[h*aStride:h*aStride+d], p[h*pStride+j0:h*pStride+j0+m], s.deq[:m*d], d)
		}
	}
	return nil
}

// nibbleBytes is the block both Q4_0 and IQ4_NL store: fp16 d and 32
// 4-bit codes, element e < 16 the low nibble of byte e, 16+e its high one.
const nibbleBytes = 18

// nibbleLevels returns the int8 level each 4-bit code of a nibble type
// stands for: Q4_0 code-8, IQ4_NL ggml's kvalues.
func nibbleLevels(t quant.Type) [16]int8 {
	if t == quant.IQ4_NL {
		return quant.IQ4Levels()
	}
	var l [16]int8
	for i := range l {
		l[i] = int8(i - 8)
	}
	return l
}

// dequantRows dequantizes n rows of nb blocks of t (src rows sStride
// bytes apart) into consecutive float32 rows at dst, with
// quant.Dequantize's bits: in assembly for Q4_1 and Q5_1 where the CPU has
// AVX2 (a product, then a sum, as quant's reference rounds them).
func (o VecOps) dequantRows(t quant.Type, dst []float32, src []byte, n, nb, sStride int) error {
	if o.fast || o.avx2 {
		switch t {
		case quant.Q4_1:
			dequantQ4_1Rows(&dst[0], &src[0], n, nb, sStride)
			return nil
		case quant.Q5_1:
			dequantQ5_1Rows(&dst[0], &src[0], n, nb, sStride)
			return nil
		}
	}
	d, rb := 32*nb, nb*t.BlockBytes()
	for j := range n {
		if err := quant.Dequantize(t, src[j*sStride:j*sStride+rb], dst[j*d:(j+1)*d]); err != nil {
			return fmt.Errorf("kernels: dequantize %v cache rows: %w", t, err)
		}
	}
	return nil
}

// toQ8_0 transcodes n rows of nb blocks of level type t (src rows
// sStride bytes apart) into consecutive Q8_0 rows at dst: the same d, and
// each value's int8 level as its quant, so every value is unchanged. For
// an affineType the quants are the codes, each value is the Q8_0 one plus
// its block's m, and the m of block b of row j goes to mins[b·n+j].
func (o VecOps) toQ8_0(t quant.Type, dst []byte, mins []float32, src []byte, n, nb, sStride int) {
	if o.fast || o.avx2 {
		switch t {
		case quant.Q5_0:
			q5_0ToQ8_0(&dst[0], &src[0], n, nb, sStride)
			return
		case quant.Q4_1:
			_ = mins[n*nb-1] // the assembly writes n·nb minimums
			q4_1ToQ8_0(&dst[0], &mins[0], &src[0], n, nb, sStride)
			return
		case quant.Q5_1:
			_ = mins[n*nb-1] // the assembly writes n·nb minimums
			q5_1ToQ8_0(&dst[0], &mins[0], &src[0], n, nb, sStride)
			return
		}
		levels := nibbleLevels(t)
		nibbleToQ8_0(&dst[0], &src[0], n, nb, sStride, &levels[0])
		return
	}
	var levels [16]int8
	switch t {
	case quant.Q5_0, quant.Q5_1:
	case quant.Q4_1:
		for i := range levels {
			levels[i] = int8(i)
		}
	default:
		levels = nibbleLevels(t)
	}
	bb := t.BlockBytes()
	for j := range n {
		for b := range nb {
			blk := src[j*sStride+b*bb : j*sStride+(b+1)*bb]
			out := dst[(j*nb+b)*q8_0Bytes : (j*nb+b+1)*q8_0Bytes]
			out[0], out[1] = blk[0], blk[1]
			if affineType(t) {
				mins[b*n+j] = quant.FP16ToFP32(uint16(blk[2]) | uint16(blk[3])<<8)
			}
			switch t {
			case quant.Q5_0, quant.Q5_1:
				// fp16 d (Q5_1: and m), 32 high bits (element e's is bit
				// e), then the nibbles as Q4_0's: value (code | high<<4),
				// less 16 for Q5_0.
				at, off := 2, byte(16)
				if t == quant.Q5_1 {
					at, off = 4, 0
				}
				qh := uint32(blk[at]) | uint32(blk[at+1])<<8 | uint32(blk[at+2])<<16 | uint32(blk[at+3])<<24
				for e, c := range blk[at+4 : at+20] {
					out[2+e] = (c&15 | byte(qh>>e&1)<<4) - off
					out[18+e] = (c>>4 | byte(qh>>(e+16)&1)<<4) - off
				}
				continue
			case quant.Q4_1: // fp16 d and m, then the nibbles
				blk = blk[2:]
			}
			for e, c := range blk[2:nibbleBytes] {
				out[2+e] = byte(levels[c&15])
				out[18+e] = byte(levels[c>>4])
			}
		}
	}
}
