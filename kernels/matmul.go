package kernels

import (
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"

	"github.com/nuri-ai/nuri/quant"
)

// CheckMatMul reports why MatMul(p, y, w, wt, rows, cols, x, nx) would be
// invalid, or nil. Callers that take shapes from untrusted files validate
// once with it; MatMul itself panics on the same conditions because a bad
// shape there is a programming error.
func CheckMatMul(y []float32, w []byte, wt quant.Type, rows, cols int, x []float32, nx int) error {
	if !HasMatMul(wt) {
		return fmt.Errorf("matmul: no dot product for weight type %v", wt)
	}
	if rows <= 0 || cols <= 0 || nx < 0 {
		return fmt.Errorf("matmul: bad shape rows=%d cols=%d nx=%d", rows, cols, nx)
	}
	rb, err := wt.RowBytes(cols)
	if err != nil {
		return fmt.Errorf("matmul: %w", err)
	}
	if len(w) < rows*rb {
		return fmt.Errorf("matmul: %d×%d %v weights need %d bytes, got %d", rows, cols, wt, rows*rb, len(w))
	}
	if len(x) < nx*cols {
		return fmt.Errorf("matmul: %d activation rows of %d need %d floats, got %d", nx, cols, nx*cols, len(x))
	}
	if len(y) < nx*rows {
		return fmt.Errorf("matmul: %d output rows of %d need %d floats, got %d", nx, rows, nx*rows, len(y))
	}
	return nil
}

// HasMatMul reports whether MatMul takes weights of type t: the types
// quant.VecDot has a dot product for (its reference path).
func HasMatMul(t quant.Type) bool {
	switch t {
	case quant.F32, quant.F16, quant.BF16, quant.Q4_0, quant.Q4_1, quant.Q5_0, quant.Q5_1,
		quant.Q8_0, quant.Q2_K, quant.Q3_K, quant.Q4_K, quant.Q5_K, quant.Q6_K,
		quant.IQ4_NL, quant.IQ4_XS, quant.IQ2_XXS, quant.IQ2_XS, quant.IQ2_S, quant.IQ3_XXS, quant.IQ3_S,
		quant.IQ1_S, quant.IQ1_M:
		return true
	}
	return false
}

// MatMul computes y[i*rows+r] = dot(W row r, x row i) for the nx activation
// rows of x (each cols float32s) and the rows×cols weight matrix w of type
// wt in ggml layout.
//
// As in ggml, each activation row is first converted once to
// quant.VecDotType(wt) with quant.QuantizeActivations; every output is then
// a sum over weight blocks in block order. The per-output arithmetic does not
// depend on nx or on how rows are split between threads, so a row's result
// is bit-identical whether it is computed alone or inside a batch (for a
// given kernel choice: the fast and the reference paths differ in float
// rounding).
//
// p may be nil (single-threaded, allocates scratch per call). MatMul panics
// when CheckMatMul reports an error.
func MatMul(p *Pool, y []float32, w []byte, wt quant.Type, rows, cols int, x []float32, nx int) {
	if err := CheckMatMul(y, w, wt, rows, cols, x, nx); err != nil {
		panic("kernels.MatMul: " + err.Error())
	}
	if nx == 0 {
		return
	}
	matMulKernel(p, y, w, wt, rows, cols, x, nx, rowKernelFor(p.KernelSet(), wt))
}

// matMulKernel is MatMul with an explicit kernel (nil: the reference path),
// so tests can run every kernel variant the CPU supports.
func matMulKernel(p *Pool, y []float32, w []byte, wt quant.Type, rows, cols int, x []float32, nx int, k *fastKernel) {
	var s *matmulScratch
	if p != nil {
		p.mu.Lock()
		defer p.mu.Unlock()
		s = &p.mm
	} else {
		s = new(matmulScratch)
	}
	t := &s.task
	*t = mmTask{y: y, w: w, wt: wt, rows: rows, cols: cols, x: x, nx: nx, s: s, k: k}
	t.at = quant.VecDotType(wt)
	t.aRowBytes, _ = t.at.RowBytes(cols)
	t.wRowBytes, _ = wt.RowBytes(cols)
	s.prepare(t)

	// Phase 1: quantize each activation row once.
	t.phase = phaseQuantize
	p.runTask(nx, 1, t)
	// Phase 2: the dot products, split by weight rows.
	t.phase = phaseDot
	p.runTask(rows, rowGrain(rows, t.wRowBytes, nx, p.threadsLocked()), t)
	*t = mmTask{} // drop references to the caller's slices
}

// rowGrain picks how many weight rows one claimed chunk covers. Each thread
// gets several chunks (load balance on a noisy shared machine). For GEMV the
// chunks are large contiguous byte ranges (up to 1 MiB) so the hardware
// prefetchers stay on one long stream; for batches they are at most 32 rows,
// so a chunk's weights stay in L2 while the activation tiles pass over them.
func rowGrain(rows, rowBytes, nx, threads int) int {
	g := rows / (4 * threads)
	if nx > 4 {
		g = min(rows/(8*threads), 32)
	} else {
		g = min(g, max(1, (1<<20)/rowBytes))
	}
	return max(1, g)
}

const (
	phaseQuantize = iota
	phaseDot
	phaseScales // MatMulPackedSharedNorm's row scales, before phaseQuantize
)

// mmTask is one MatMul call. It lives in the Pool's scratch and is handed to
// the workers as a task (no allocation per call).
type mmTask struct {
	phase      int
	y          []float32
	w          []byte
	wt, at     quant.Type
	rows, cols int
	x          []float32
	nx         int
	aRowBytes  int
	wRowBytes  int
	k          *fastKernel // nil: reference path
	s          *matmulScratch
}

func (t *mmTask) Run(lo, hi int) {
	switch t.phase {
	case phaseQuantize:
		for i := lo; i < hi; i++ {
			t.quantizeRow(i)
		}
	case phaseDot:
		if t.k == nil {
			t.refRows(lo, hi)
		} else if t.k.float != nil {
			t.floatRows(lo, hi)
		} else if t.k.pair != nil {
			t.pairRows(lo, hi)
		} else {
			t.fastRows(lo, hi)
		}
	}
}

func (t *mmTask) quantizeRow(i int) {
	if t.k != nil && t.s.quantizeFast(t, i) {
		return
	}
	raw := t.s.raw[i*t.aRowBytes : (i+1)*t.aRowBytes]
	if err := quant.QuantizeActivations(t.at, t.x[i*t.cols:(i+1)*t.cols], raw); err != nil {
		panic(fmt.Sprintf("kernels.MatMul: quantize activations to %v: %v", t.at, err))
	}
	if t.k != nil {
		t.s.split(t, i, raw)
	}
}

// refRows is the reference path: quant.VecDot per output.
func (t *mmTask) refRows(lo, hi int) {
	for r := lo; r < hi; r++ {
		wr := t.w[r*t.wRowBytes : (r+1)*t.wRowBytes]
		for i := 0; i < t.nx; i++ {
			t.y[i*t.rows+r] = quant.VecDot(t.wt, t.cols, wr, t.s.raw[i*t.aRowBytes:(i+1)*t.aRowBytes])
		}
	}
}

// fastRows runs an assembly kernel: activation tiles outermost so one tile
// (a few KiB) stays in L1 while the chunk's weight rows stream past it.
func (t *mmTask) fastRows(lo, hi int) {
	k, s := t.k, t.s
	nb := t.cols / t.wt.BlockSize()
	qsRow := s.qsRowBytes(k, nb)
	ystride := t.rows * 4
	for i0 := 0; i0 < t.nx; i0 += k.tile {
		n := min(k.tile, t.nx-i0)
		qs := &s.qs[i0*qsRow]
		var d *float32
		if !k.pairs {
			d = &s.d[i0*nb*k.scalesPerBlock()]
		}
		var bs *int16
		if k.bsums {
			bs = &s.bs[i0*nb*16]
		}
		y := t.y[i0*t.rows:]
		if k.rows != nil {
			k.rows(&t.w[lo*t.wRowBytes], t.wRowBytes, hi-lo, nb, qs, d, bs, n, &y[lo], ystride)
			continue
		}
		if n == 1 && k.oneRows != nil {
			k.oneRows(&t.w[lo*t.wRowBytes], t.wRowBytes, hi-lo, nb, qs, d, bs, n, &y[lo], ystride)
			continue
		}
		fn := k.fn
		if n == 1 && k.one != nil {
			fn = k.one
		}
		for r := lo; r < hi; r++ {
			fn(&t.w[r*t.wRowBytes], nb, qs, d, bs, n, &y[r], ystride)
		}
	}
}

// l1ActBytes is how many bytes of a tile's activations the pair kernels
// keep in L1 (48 KiB on the target cores, shared with the weight stream);
// wider tiles are split into column chunks.
const l1ActBytes = 32 << 10

// pairGroup is how many weight rows share one column chunk in pairRows.
const pairGroup = 32

// pairRows runs a pair-layout kernel. When one activation tile is larger
// than l1ActBytes (long rows: ffn_down, or several rows of a wide layer),
// each group of pairGroup weight rows is computed in column chunks of
// k.colBlocks blocks: every row of the group runs over chunk 1, saving its
// accumulator lanes, then over chunk 2 starting from them, and so on, so the
// chunk's activations stay in L1 while the weights pass. The lanes see the
// same additions in the same order as in one call over the whole row, so the
// result is bit-identical to the unsplit kernel and does not depend on nx.
func (t *mmTask) pairRows(lo, hi int) {
	k, s := t.k, t.s
	nb := t.cols / 32
	qsRow := s.qsRowBytes(k, nb)
	bb := t.wt.BlockBytes()
	ystride := t.rows * 4
	for i0 := 0; i0 < t.nx; i0 += k.tile {
		n := min(k.tile, t.nx-i0)
		act := &s.qs[i0*qsRow]
		y := t.y[i0*t.rows:]
		cb := k.colBlocks
		if cb <= 0 || cb >= nb || n*qsRow <= l1ActBytes {
			for r := lo; r < hi; r++ {
				k.pair(&t.w[r*t.wRowBytes], nb, act, qsRow, nil, 0, n, &y[r], ystride)
			}
			continue
		}
		for r0 := lo; r0 < hi; r0 += pairGroup {
			r1 := min(r0+pairGroup, hi)
			for c0 := 0; c0 < nb; c0 += cb {
				c1 := min(c0+cb, nb)
				mode := 0
				if c0 > 0 {
					mode |= 1
				}
				if c1 < nb {
					mode |= 2
				}
				a := &s.qs[i0*qsRow+c0/2*pairBytes]
				for r := r0; r < r1; r++ {
					k.pair(&t.w[r*t.wRowBytes+c0*bb], c1-c0, a, qsRow, &s.acc[r*k.tile*16], mode, n, &y[r], ystride)
				}
			}
		}
	}
}

// floatRows runs a float kernel on the first multiple of 8 columns and adds
// the remaining columns in Go, in column order, after the kernel's sum.
func (t *mmTask) floatRows(lo, hi int) {
	k, a := t.k, t.s.d
	n8 := t.cols / 8
	es := t.wRowBytes / t.cols
	for i0 := 0; i0 < t.nx; i0 += k.tile {
		n := min(k.tile, t.nx-i0)
		for r := lo; r < hi; r++ {
			wr := t.w[r*t.wRowBytes : (r+1)*t.wRowBytes]
			k.float(&wr[0], n8, &a[i0*t.cols], t.cols*4, n, &t.y[i0*t.rows+r], t.rows*4)
			for i := i0; i < i0+n && n8*8 < t.cols; i++ {
				acc := t.y[i*t.rows+r]
				for j := n8 * 8; j < t.cols; j++ {
					acc += float32(floatAt(t.wt, wr[j*es:]) * a[i*t.cols+j])
				}
				t.y[i*t.rows+r] = acc
			}
		}
	}
}

// floatAt decodes the float weight at the start of b.
func floatAt(t quant.Type, b []byte) float32 {
	switch t {
	case quant.F16:
		return quant.FP16ToFP32(uint16(b[0]) | uint16(b[1])<<8)
	case quant.BF16:
		return quant.BF16ToFP32(uint16(b[0]) | uint16(b[1])<<8)
	}
	return f32le(b)
}

// widen converts an activation row already rounded to F32/F16/BF16 by
// quant.QuantizeActivations back to float32 (exactly).
func widen(t quant.Type, raw []byte, dst []float32) {
	es := len(raw) / len(dst)
	for j := range dst {
		dst[j] = floatAt(t, raw[j*es:])
	}
}

// matmulScratch holds MatMul's activation buffers, reused across calls.
type matmulScratch struct {
	raw  []byte    // nx rows in quant.VecDotType(wt) ggml layout
	qs   []byte    // fast path: the int8 quants of all blocks, contiguous
	d    []float32 // fast path: the per-block activation scales
	bs   []int16   // fast path, Q8_K: the 16 per-group sums of each block
	acc  []float32 // pair kernels split by columns: saved lanes, per weight row
	qbuf []byte    // backing store of qs (qs is a 64-byte aligned window)
	task mmTask
}

func (s *matmulScratch) prepare(t *mmTask) {
	s.raw = grow(s.raw, t.nx*t.aRowBytes)
	if t.k == nil {
		return
	}
	if t.k.float != nil {
		s.d = grow(s.d, t.nx*t.cols)
		return
	}
	nb := t.cols / t.wt.BlockSize()
	n := t.nx * s.qsRowBytes(t.k, nb)
	s.qs = aligned64(&s.qbuf, n)
	if !t.k.pairs {
		s.d = grow(s.d, t.nx*nb*t.k.scalesPerBlock())
	}
	if t.k.bsums {
		s.bs = grow(s.bs, t.nx*nb*16)
	}
	if t.k.pair != nil && t.k.colBlocks > 0 && nb > t.k.colBlocks {
		// Indexed by weight row: concurrent workers own disjoint rows.
		s.acc = grow(s.acc, t.rows*t.k.tile*16)
	}
}

// Activation block layouts (ggml-common.h).
const (
	q8_0Bytes  = 34 // d fp16, qs[32]
	q8_1Bytes  = 36 // d fp16, s fp16 (fp16 of d·Σqs), qs[32]
	q8KBytes   = 292
	q8KQSOff   = 4   // after d (float32)
	q8KBsumOff = 260 // after qs[256]
)

// split copies activation row i from ggml layout into the kernels' layout.
func (s *matmulScratch) split(t *mmTask, i int, raw []byte) {
	if t.k.float != nil {
		widen(t.at, raw, s.d[i*t.cols:(i+1)*t.cols])
		return
	}
	nb := t.cols / t.wt.BlockSize()
	if t.k.pairs {
		rb := s.qsRowBytes(t.k, nb)
		splitPairs(raw, s.qs[i*rb:(i+1)*rb], nb, t.k.zero)
		return
	}
	qs := s.qs[i*nb*t.k.blockQS : (i+1)*nb*t.k.blockQS]
	sp := t.k.scalesPerBlock()
	d := s.d[i*nb*sp : (i+1)*nb*sp]
	switch t.at {
	case quant.Q8_0:
		for b := 0; b < nb; b++ {
			blk := raw[b*q8_0Bytes : (b+1)*q8_0Bytes]
			d[b] = quant.FP16ToFP32(uint16(blk[0]) | uint16(blk[1])<<8)
			copy(qs[b*32:(b+1)*32], blk[2:])
		}
	case quant.Q8_1:
		for b := 0; b < nb; b++ {
			blk := raw[b*q8_1Bytes : (b+1)*q8_1Bytes]
			d[2*b] = quant.FP16ToFP32(uint16(blk[0]) | uint16(blk[1])<<8)
			d[2*b+1] = quant.FP16ToFP32(uint16(blk[2]) | uint16(blk[3])<<8)
			copy(qs[b*32:(b+1)*32], blk[4:])
		}
	case quant.Q8_K:
		bs := s.bs[i*nb*16 : (i+1)*nb*16]
		for b := 0; b < nb; b++ {
			blk := raw[b*q8KBytes : (b+1)*q8KBytes]
			d[b] = f32le(blk)
			copy(qs[b*256:(b+1)*256], blk[q8KQSOff:q8KQSOff+256])
			for g := 0; g < 16; g++ {
				o := q8KBsumOff + 2*g
				bs[b*16+g] = int16(uint16(blk[o]) | uint16(blk[o+1])<<8)
			}
		}
	default:
		panic(fmt.Sprintf("kernels: no split layout for %v", t.at))
	}
}

// aligned64 returns n bytes of *buf starting on a 64-byte boundary, growing
// *buf when it is too small (its contents are then zero).
func aligned64(buf *[]byte, n int) []byte {
	if cap(*buf) < n+64 {
		*buf = make([]byte, n+64)
	}
	b := (*buf)[:cap(*buf)]
	off := int(-uintptr(unsafe.Pointer(unsafe.SliceData(b))) & 63)
	return b[off : off+n : off+n]
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// scalesPerBlock is how many float32 of s.d one activation block takes:
// the scale, and for Q8_1 also its s.
func (k *fastKernel) scalesPerBlock() int {
	if k.sums {
		return 2
	}
	return 1
}

// qsRowBytes is the size of one activation row in s.qs for kernel k.
func (s *matmulScratch) qsRowBytes(k *fastKernel, nb int) int {
	if k.pairs {
		return (nb + 1) / 2 * pairBytes
	}
	return nb * k.blockQS
}

// pairBytes is the size of one record of the pair layout: two Q8_0 blocks
// as the 512-bit kernels consume them.
const pairBytes = 192

// splitPairs converts one Q8_0 activation row (ggml layout) into the pair
// layout: per two blocks, the 64 quants; 16 int32 lanes holding
// −zero·(sum of the 4 quants the lane covers), which turns VPDPBUSD's
// unsigned weight codes (w + zero) back into signed products exactly; and
// each block's scale repeated 8 times. An odd last block is followed by a
// zero padding block, which contributes exact zeros.
func splitPairs(raw, dst []byte, nb, zero int) {
	for b := 0; b < nb; b++ {
		blk := raw[b*q8_0Bytes : (b+1)*q8_0Bytes]
		rec := dst[b/2*pairBytes:]
		h := (b % 2) * 32
		copy(rec[h:h+32], blk[2:34])
		d := quant.FP16ToFP32(uint16(blk[0]) | uint16(blk[1])<<8)
		for l := 0; l < 8; l++ {
			q := blk[2+4*l : 6+4*l]
			sum := int32(int8(q[0])) + int32(int8(q[1])) + int32(int8(q[2])) + int32(int8(q[3]))
			binary.LittleEndian.PutUint32(rec[64+h+4*l:], uint32(-int32(zero)*sum))
			binary.LittleEndian.PutUint32(rec[128+h+4*l:], math.Float32bits(d))
		}
	}
	if nb%2 == 1 {
		rec := dst[nb/2*pairBytes:]
		for _, o := range []int{32, 96, 160} {
			clear(rec[o : o+32])
		}
	}
}
