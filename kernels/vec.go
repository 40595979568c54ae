package kernels

import (
	"fmt"
	"math"

	"github.com/nuri-ai/nuri/quant"
)

// VecOps are the vector loops of attention over a float KV cache: scores
// (q·K rows) and the probability-weighted sum of V rows, for fp16 and f32
// caches. The assembly and the pure-Go versions perform the same float32
// operations in the same order (the Go one emulates each fused
// multiply-add exactly), so they give identical bits, and one output never
// depends on how many rows a call covers beyond its own.
//
// Score of one row (d = len(q)): the first 16·⌊d/16⌋ elements are split in
// chunks of 16; chunk c accumulates into accumulator c mod 4, lane l taking
// element 16c+l with one fused multiply-add in chunk order. The four
// accumulators are added as (a0+a1)+(a2+a3), the 16 lanes are summed in a
// fixed tree (l+8, l+4, l+2, l+1), and the remaining d mod 16 elements are
// then added in order, one fused multiply-add each.
//
// Weighted sum: acc[e] += p[j]·v[j][e] for rows j in order, one fused
// multiply-add per element and row.
//
// fast selects the AVX-512 loops, avx2 the 256-bit ones (AVX2, FMA,
// F16C), which hold each 16-lane accumulator in two registers and so give
// the same bits; a method takes the widest it has.
type VecOps struct{ fast, avx2, neon bool }

// VecOps returns the loops this Pool runs: the assembly ones its kernel
// set allows where the CPU has them, AVX-512 first (a nil Pool takes the
// fastest path, as MatMul does).
func (p *Pool) VecOps() VecOps { return vecOpsFor(p.KernelSet()) }

// vecOpsLocked is VecOps for a caller that holds p.mu (or a nil p).
func (p *Pool) vecOpsLocked() VecOps {
	if p == nil {
		return vecOpsFor(KernelsBest)
	}
	return vecOpsFor(p.kernels)
}

// vecOpsFor is the VecOps kernel set k runs on this CPU: the AVX2 set
// never reaches an AVX-512 loop, so that a machine with AVX-512 tests the
// path of one without.
// VecOpsFor returns the vector loops of kernel set k, for callers without
// a Pool (the model's host-side soft cap of logits).
func VecOpsFor(k KernelSet) VecOps { return vecOpsFor(k) }

func vecOpsFor(k KernelSet) VecOps {
	switch k {
	case KernelsBest:
		return VecOps{fast: hasVecAsm, avx2: hasVecAVX2, neon: hasVecNEON}
	case KernelsAVX2:
		return VecOps{avx2: hasVecAVX2}
	}
	return VecOps{}
}

// Name reports the widest implementation: "avx512", "avx2", "neon" (arm64:
// the attention loops, exp, SiLU and the softmax and norm passes) or
// "generic".
func (o VecOps) Name() string {
	switch {
	case o.fast:
		return "avx512"
	case o.avx2:
		return "avx2"
	case o.neon:
		return "neon"
	}
	return "generic"
}

// checkRows panics unless n runs of d elements, stride apart, fit in have
// elements (a cache's rows, or the heads' slices of a RowsHeads call).
func checkRows(what string, n, d, stride, have int) {
	if n > 0 && (stride < d || (n-1)*stride+d > have) {
		panic(fmt.Sprintf("kernels: %s: %d rows of %d with stride %d need %d elements, have %d", what, n, d, stride, (n-1)*stride+d, have))
	}
}

// DotF16Rows sets out[j] = q·k[j·kStride : j·kStride+len(q)] for every j <
// len(out), k holding fp16 bits. q must already be rounded to fp16 values
// when the result is to match an fp16 dot product.
func (o VecOps) DotF16Rows(out, q []float32, k []uint16, kStride int) {
	dotRows(o, "DotF16Rows", out, q, k, kStride, quant.FP16ToFP32, dotF16Rows, dotF16RowsAVX2, dotF16RowsNEON)
}

// DotF16RowsHeads is DotF16Rows for several query heads against the same
// rows (the query heads of one KV head): for h < heads and j < n,
// out[h·oStride+j] = q[h·qStride : h·qStride+d] · k[j·kStride : j·kStride+d],
// each head bit-identical to its own DotF16Rows. The fast path widens each
// K row once for four heads at a time, and for two (PairF16Heads); so does
// the AVX2 one for heads of 4 or 8 chunks.
func (o VecOps) DotF16RowsHeads(out []float32, oStride, n int, q []float32, qStride, d, heads int, k []uint16, kStride int) {
	if heads <= 0 || n <= 0 {
		return
	}
	checkRows("DotF16RowsHeads outputs", heads, n, oStride, len(out))
	checkRows("DotF16RowsHeads queries", heads, d, qStride, len(q))
	checkRows("DotF16RowsHeads", n, d, kStride, len(k))
	h, d16 := 0, d/16
	if o.fast && d16 > 0 {
		for ; h+4 <= heads; h += 4 {
			dotF16Rows4(&out[h*oStride], oStride, &q[h*qStride], qStride, &k[0], kStride, n, d16, attnFarRows)
			for g := h; g < h+4 && d16*16 < d; g++ {
				dotTail(out[g*oStride:g*oStride+n], q[g*qStride:g*qStride+d], k, kStride, d16*16, quant.FP16ToFP32)
			}
		}
		if h+2 <= heads && o.PairF16Heads(d) {
			n16 := n &^ 15
			if n16 > 0 {
				dotF16Rows2(&out[h*oStride], oStride, &q[h*qStride], qStride, &k[0], kStride, n16, d16, attnFarRows)
			}
			for g := h; g < h+2 && n16 < n; g++ { // the rows after the last 16
				o.DotF16Rows(out[g*oStride+n16:g*oStride+n], q[g*qStride:g*qStride+d], k[n16*kStride:], kStride)
			}
			h += 2
		}
	} else if o.avx2 && avx2HeadsF16(d16) {
		for ; h+4 <= heads; h += 4 {
			dotF16Rows4AVX2(&out[h*oStride], oStride, &q[h*qStride], qStride, &k[0], kStride, n, d16)
			for g := h; g < h+4 && d16*16 < d; g++ {
				dotTail(out[g*oStride:g*oStride+n], q[g*qStride:g*qStride+d], k, kStride, d16*16, quant.FP16ToFP32)
			}
		}
		if h+2 <= heads {
			dotF16Rows2AVX2(&out[h*oStride], oStride, &q[h*qStride], qStride, &k[0], kStride, n, d16)
			for g := h; g < h+2 && d16*16 < d; g++ {
				dotTail(out[g*oStride:g*oStride+n], q[g*qStride:g*qStride+d], k, kStride, d16*16, quant.FP16ToFP32)
			}
			h += 2
		}
	}
	for ; h < heads; h++ {
		o.DotF16Rows(out[h*oStride:h*oStride+n], q[h*qStride:h*qStride+d], k, kStride)
	}
}

// PairF16Heads reports whether DotF16RowsHeads and AxpyF16RowsHeads have
// loops of their own for two heads of d elements (64 or 128 on the fast
// path; 64-79 and 128-143 on AVX2, whose score loops take heads of 4 or 8
// chunks and leave a tail to Go), so that a caller with two heads need not
// pad them to four.
func (o VecOps) PairF16Heads(d int) bool {
	return (o.fast && (d == 64 || d == 128)) || (o.avx2 && avx2HeadsF16(d/16))
}

// FourHeads reports whether padding two or three heads to four pays in the
// multi-head loops (DotF16RowsHeads, AxpyF16RowsHeads, DotQ8_0RowsHeads,
// AxpyQ8_0RowsHeads): on AVX-512, which reads each row once for four heads
// and is bound by that reading. Elsewhere a padded head costs about what a
// real one does: the generic and Q8_0-AVX2 paths run a loop a head, and the
// AVX2 F16 loops, bound by their multiplies and adds (the same number a
// head however the heads are grouped), ran three heads as a pair and a
// single 12-22 % faster than padded to four (BenchmarkF16RowsHeads, 512
// rows: heads of 64, scores 3.5-3.7 against 4.1-4.2 µs, sums 2.05-2.08
// against 2.60-2.66 µs; of 128, 6.5-6.6 against 7.4-8.0 and 4.6 against
// 5.8-5.9).
func (o VecOps) FourHeads() bool { return o.fast }

// avx2HeadsF16: the head sizes, in 16-element chunks, of the AVX2 two- and
// four-head score loops (dotF16Rows2AVX2, dotF16Rows4AVX2).
func avx2HeadsF16(d16 int) bool { return d16 == 4 || d16 == 8 }

// PrefetchRows asks the CPU to bring n rows of size bytes, stride bytes
// apart from b[0], into its caches ahead of their use, and returns at
// once: attention prefetches the next cache block's rows of a KV head
// while it computes on the current one, because the blocks of a paged
// cache need not follow each other in memory and the hardware prefetchers
// cannot know where the next one is. Rows outside b are skipped; it does
// nothing on the generic path.
func (o VecOps) PrefetchRows(b []byte, n, stride, size int) {
	if n = prefetchRowCount(len(b), n, stride, size); n <= 0 {
		return
	}
	switch {
	case o.fast || o.avx2:
		prefetchRows(&b[0], n, stride, size)
	case o.neon:
		prefetchRowsNEON(&b[0], n, stride, size)
	}
}

// prefetchRowCount is how many of n rows of size bytes, stride apart, lie
// wholly inside have bytes.
func prefetchRowCount(have, n, stride, size int) int {
	if n <= 0 || size <= 0 || stride < 0 || size > have {
		return 0
	}
	if stride == 0 {
		return n
	}
	return min(n, (have-size)/stride+1)
}

// DotF32Rows is DotF16Rows for an f32 cache.
func (o VecOps) DotF32Rows(out, q []float32, k []float32, kStride int) {
	dotRows(o, "DotF32Rows", out, q, k, kStride, f32Value, dotF32Rows, dotF32RowsAVX2, dotF32RowsNEON)
}

// AxpyF16Rows adds Σ_j p[j]·v[j·vStride : j·vStride+len(acc)] to acc, rows
// in order, v holding fp16 bits.
func (o VecOps) AxpyF16Rows(acc, p []float32, v []uint16, vStride int) {
	axpyRows(o, "AxpyF16Rows", acc, p, v, vStride, quant.FP16ToFP32, axpyF16Rows, axpyF16RowsAVX2, axpyF16RowsNEON)
}

// AxpyF16RowsHeads is AxpyF16Rows for several heads over the same rows:
// for h < heads, acc[h·aStride : h·aStride+d] += Σ_j p[h·pStride+j]·v[j·vStride : j·vStride+d]
// over j < n, each head bit-identical to its own AxpyF16Rows. The fast path
// widens each V row once for four heads at a time, and for two; the AVX2
// one for two at a time.
func (o VecOps) AxpyF16RowsHeads(acc []float32, aStride, d int, p []float32, pStride, n, heads int, v []uint16, vStride int) {
	if heads <= 0 || n <= 0 {
		return
	}
	checkRows("AxpyF16RowsHeads sums", heads, d, aStride, len(acc))
	checkRows("AxpyF16RowsHeads probabilities", heads, n, pStride, len(p))
	checkRows("AxpyF16RowsHeads", n, d, vStride, len(v))
	h, d16 := 0, d/16
	if o.fast && d16 > 0 {
		for ; h+4 <= heads; h += 4 {
			axpyF16Rows4(&acc[h*aStride], aStride, d16, &p[h*pStride], pStride, n, &v[0], vStride, attnFarRows)
			for g := h; g < h+4 && d16*16 < d; g++ {
				axpyTail(acc[g*aStride:g*aStride+d], p[g*pStride:g*pStride+n], v, vStride, d16*16, quant.FP16ToFP32)
			}
		}
		if h+2 <= heads {
			axpyF16Rows2(&acc[h*aStride], aStride, d16, &p[h*pStride], pStride, n, &v[0], vStride, attnFarRows)
			for g := h; g < h+2 && d16*16 < d; g++ {
				axpyTail(acc[g*aStride:g*aStride+d], p[g*pStride:g*pStride+n], v, vStride, d16*16, quant.FP16ToFP32)
			}
			h += 2
		}
	} else if o.avx2 && d16 > 0 {
		for ; h+2 <= heads; h += 2 {
			axpyF16Rows2AVX2(&acc[h*aStride], aStride, d16, &p[h*pStride], pStride, n, &v[0], vStride)
			for g := h; g < h+2 && d16*16 < d; g++ {
				axpyTail(acc[g*aStride:g*aStride+d], p[g*pStride:g*pStride+n], v, vStride, d16*16, quant.FP16ToFP32)
			}
		}
	}
	for ; h < heads; h++ {
		o.AxpyF16Rows(acc[h*aStride:h*aStride+d], p[h*pStride:h*pStride+n], v, vStride)
	}
}

// ScaleMax multiplies x by s in place and returns the largest product,
// NaNs skipped (-Inf when there is none): a softmax's first pass.
func (o VecOps) ScaleMax(x []float32, s float32) float32 {
	m := float32(math.Inf(-1))
	i := 0
	if n16 := len(x) / 16; o.fast && n16 > 0 {
		m, i = scaleMaxF32(&x[0], n16, s), n16*16
	} else if n8 := len(x) / 8; o.avx2 && n8 > 0 {
		m, i = scaleMaxF32AVX2(&x[0], n8, s), n8*8
	} else if n16 := len(x) / 16; o.neon && n16 > 0 {
		m, i = scaleMaxF32NEON(&x[0], n16, s), n16*16
	}
	for ; i < len(x); i++ {
		v := x[i] * s
		x[i] = v
		if v > m { // not max(): NaNs are skipped, as the vector loop does
			m = v
		}
	}
	return m
}

// SubScalar sets x[i] = x[i] − m.
func (o VecOps) SubScalar(x []float32, m float32) {
	i := 0
	if n16 := len(x) / 16; o.fast && n16 > 0 {
		subScalarF32(&x[0], n16, m)
		i = n16 * 16
	} else if n8 := len(x) / 8; o.avx2 && n8 > 0 {
		subScalarF32AVX2(&x[0], n8, m)
		i = n8 * 8
	} else if n16 := len(x) / 16; o.neon && n16 > 0 {
		subScalarF32NEON(&x[0], n16, m)
		i = n16 * 16
	}
	for ; i < len(x); i++ {
		x[i] -= m
	}
}

// Scale sets x[i] = x[i]·s.
func (o VecOps) Scale(x []float32, s float32) {
	i := 0
	if n16 := len(x) / 16; o.fast && n16 > 0 {
		scaleF32(&x[0], n16, s)
		i = n16 * 16
	} else if n8 := len(x) / 8; o.avx2 && n8 > 0 {
		scaleF32AVX2(&x[0], n8, s)
		i = n8 * 8
	} else if n16 := len(x) / 16; o.neon && n16 > 0 {
		scaleF32NEON(&x[0], n16, s)
		i = n16 * 16
	}
	for ; i < len(x); i++ {
		x[i] *= s
	}
}

// SumSquares returns the sum of the float32 squares x[i]·x[i] in float64,
// in a fixed order whatever the path: sixteen lanes, lane j adding the
// squares with i ≡ j (mod 16) in increasing i, then lane j+w added into
// lane j for w = 8, 4, 2, 1. ggml sums RMSNorm's squares in one float64
// chain; the order differs, but every square has a 24-bit significand, so
// while the squares span fewer than 53−24−log2(len(x)) binades (18 for
// 2048 elements) both sums are exact and equal, and beyond that they
// differ by float64 roundings far below the float32 the caller keeps.
// The one chain took 4.8 µs for 2048 elements, most of a llama-1b
// RMSNorm.
func (o VecOps) SumSquares(x []float32) float64 {
	var lanes [16]float64
	i := 0
	if n16 := len(x) / 16; (o.fast || o.avx2 || o.neon) && n16 > 0 {
		switch {
		case o.fast:
			sumSquaresF64(&x[0], n16, &lanes[0])
		case o.avx2:
			sumSquaresF64AVX2(&x[0], n16, &lanes[0])
		default:
			sumSquaresF64NEON(&x[0], n16, &lanes[0])
		}
		i = n16 * 16
	}
	for ; i < len(x); i++ {
		lanes[i%16] += float64(float32(x[i] * x[i]))
	}
	return foldLanes(&lanes)
}

// SumF64 returns the sum of x in float64, in SumSquares' order: sixteen
// lanes, lane j summing x[i] for i ≡ j (mod 16) in increasing i, then
// lane j+w added into lane j for w = 8, 4, 2, 1. Every float32 converts
// to float64 exactly, so the sum differs from one float64 chain only by
// float64 roundings; the chain's dependent adds took ~4 cycles a value
// (a softmax over 1024 positions: 32 heads × 1.2 µs a layer).
func (o VecOps) SumF64(x []float32) float64 {
	var lanes [16]float64
	i := 0
	if n16 := len(x) / 16; (o.fast || o.avx2 || o.neon) && n16 > 0 {
		switch {
		case o.fast:
			sumF64(&x[0], n16, &lanes[0])
		case o.avx2:
			sumF64AVX2(&x[0], n16, &lanes[0])
		default:
			sumF64NEON(&x[0], n16, &lanes[0])
		}
		i = n16 * 16
	}
	for ; i < len(x); i++ {
		lanes[i%16] += float64(x[i])
	}
	return foldLanes(&lanes)
}

// ExpSumF64 sets x[i] = exp(x[i] − m) and returns their sum in float64:
// SubScalar, Exp and SumF64 with their bits, in one pass over x where the
// CPU has AVX-512. With ScaleRoundF16 a softmax of an F16 cache takes
// three passes over a head's scores instead of six: one-token decode
// attention in llama-1b's shape (BenchmarkAttentionDecode, F16, warm)
// took 3.5 against 3.8 µs at 16 positions and 14.3 against 14.7 µs at
// 160, side by side on the Zen 5 VM, and measured level at 1024 and 2048
// (docs/performance.md, round 74).
func (o VecOps) ExpSumF64(x []float32, m float32) float64 {
	if o.fast && len(x) > 0 {
		var lanes [16]float64
		subExpSumF64(&x[0], len(x), m, &lanes[0])
		return foldLanes(&lanes)
	}
	o.SubScalar(x, m)
	o.Exp(x, x)
	return o.SumF64(x)
}

// ScaleRoundF16 sets x[i] = x[i]·s rounded to fp16: Scale then RoundF16
// with their bits, in one pass where the CPU has AVX-512 (a softmax's
// last passes for an F16 cache).
func (o VecOps) ScaleRoundF16(x []float32, s float32) {
	if o.fast && len(x) > 0 {
		scaleRoundF16(&x[0], len(x), s)
		return
	}
	o.Scale(x, s)
	o.RoundF16(x, x)
}

// foldLanes adds lane j+w into lane j for w = 8, 4, 2, 1 and returns lane 0.
func foldLanes(lanes *[16]float64) float64 {
	for w := 8; w >= 1; w /= 2 {
		for j := range w {
			lanes[j] += lanes[j+w]
		}
	}
	return lanes[0]
}

// RMSNormScale returns 1/sqrt(mean(x²)+eps) as ggml's rms_norm rounds it:
// the squares summed in float64 (SumSquares), the mean rounded to float32,
// mean+eps in float32, its square root rounded once to float32 (a float64
// sqrt rounded to float32 is sqrtf, both correctly rounded), then the
// float32 reciprocal. The norm is then ScaleMul(y, x, w, scale).
func (o VecOps) RMSNormScale(x []float32, eps float32) float32 {
	mean := float32(o.SumSquares(x) / float64(len(x)))
	return 1 / float32(math.Sqrt(float64(mean+eps)))
}

// ScaleMul sets y[i] = float32(x[i]·s)·w[i], rounding the product before
// the second multiplication (ggml's RMSNorm scales, then a separate op
// multiplies by the weight). y may be x.
func (o VecOps) ScaleMul(y, x, w []float32, s float32) {
	if len(x) != len(w) || len(y) < len(x) {
		panic(fmt.Sprintf("kernels: ScaleMul: %d outputs for %d values and %d weights", len(y), len(x), len(w)))
	}
	i := 0
	if n16 := len(x) / 16; o.fast && n16 > 0 {
		scaleMulF32(&y[0], &x[0], &w[0], n16, s)
		i = n16 * 16
	} else if n8 := len(x) / 8; o.avx2 && n8 > 0 {
		scaleMulF32AVX2(&y[0], &x[0], &w[0], n8, s)
		i = n8 * 8
	} else if n16 := len(x) / 16; o.neon && n16 > 0 {
		scaleMulF32NEON(&y[0], &x[0], &w[0], n16, s)
		i = n16 * 16
	}
	for ; i < len(x); i++ {
		y[i] = float32(x[i]*s) * w[i]
	}
}

// Add sets y[i] = a[i] + b[i]. y may be a or b.
func (o VecOps) Add(y, a, b []float32) {
	if len(a) != len(b) || len(y) < len(a) {
		panic(fmt.Sprintf("kernels: Add: %d outputs for %d and %d values", len(y), len(a), len(b)))
	}
	i := 0
	if n16 := len(a) / 16; o.fast && n16 > 0 {
		addF32(&y[0], &a[0], &b[0], n16)
		i = n16 * 16
	} else if n8 := len(a) / 8; o.avx2 && n8 > 0 {
		addF32AVX2(&y[0], &a[0], &b[0], n8)
		i = n8 * 8
	} else if n16 := len(a) / 16; o.neon && n16 > 0 {
		addF32NEON(&y[0], &a[0], &b[0], n16)
		i = n16 * 16
	}
	for ; i < len(a); i++ {
		y[i] = a[i] + b[i]
	}
}

// AxpyF32Rows is AxpyF16Rows for an f32 cache.
func (o VecOps) AxpyF32Rows(acc, p []float32, v []float32, vStride int) {
	axpyRows(o, "AxpyF32Rows", acc, p, v, vStride, f32Value, axpyF32Rows, axpyF32RowsAVX2, axpyF32RowsNEON)
}

func f32Value(v float32) float32 { return v }

// dotRows is DotF16Rows/DotF32Rows over cache elements of type T, widened
// by at; asm (AVX-512), asm2 (AVX2) and neon (arm64; nil where there is
// none) are the kernels for the first 16·⌊d/16⌋ elements.
func dotRows[T uint16 | float32](o VecOps, name string, out, q []float32, k []T, kStride int,
	at func(T) float32, asm, asm2, neon func(out, q *float32, k *T, kstride, n, d16 int)) {
	d := len(q)
	checkRows(name, len(out), d, kStride, len(k))
	if len(out) == 0 {
		return
	}
	d16 := d / 16
	switch {
	case o.fast && d16 > 0:
		asm(&out[0], &q[0], &k[0], kStride, len(out), d16)
	case o.avx2 && d16 > 0:
		asm2(&out[0], &q[0], &k[0], kStride, len(out), d16)
	case o.neon && neon != nil && d16 > 0:
		neon(&out[0], &q[0], &k[0], kStride, len(out), d16)
	case d16 == 0:
		// All of each row is tail: laneDot of no chunks is +0.
		clear(out)
	default:
		for j := range out {
			r := k[j*kStride:]
			out[j] = laneDot(q[:d16*16], func(e int) float32 { return at(r[e]) })
		}
	}
	dotTail(out, q, k, kStride, d16*16, at)
}

// dotTail adds elements from..len(q)-1 of each row's dot product to out,
// in order (the part the 16-element kernels leave).
func dotTail[T uint16 | float32](out, q []float32, k []T, kStride, from int, at func(T) float32) {
	if from == len(q) {
		return
	}
	for j := range out {
		r := k[j*kStride:]
		s := out[j]
		for e := from; e < len(q); e++ {
			s = fma32(q[e], at(r[e]), s)
		}
		out[j] = s
	}
}

// axpyRows is AxpyF16Rows/AxpyF32Rows over cache elements of type T, asm,
// asm2 and neon as dotRows'.
func axpyRows[T uint16 | float32](o VecOps, name string, acc, p []float32, v []T, vStride int,
	at func(T) float32, asm, asm2, neon func(acc *float32, d16 int, p *float32, n int, v *T, vstride int)) {
	d := len(acc)
	checkRows(name, len(p), d, vStride, len(v))
	if len(p) == 0 {
		return
	}
	d16 := d / 16
	from := d16 * 16 // the elements left to the Go loop
	switch {
	case o.fast && d16 > 0:
		asm(&acc[0], d16, &p[0], len(p), &v[0], vStride)
	case o.avx2 && d16 > 0:
		asm2(&acc[0], d16, &p[0], len(p), &v[0], vStride)
	case o.neon && neon != nil && d16 > 0:
		neon(&acc[0], d16, &p[0], len(p), &v[0], vStride)
	default:
		from = 0
	}
	axpyTail(acc, p, v, vStride, from, at)
}

// axpyTail adds Σ_j p[j]·v_j[e] to acc[e] for e from..len(acc)-1, rows in
// order (the part the 16-element kernels leave).
func axpyTail[T uint16 | float32](acc, p []float32, v []T, vStride, from int, at func(T) float32) {
	if from == len(acc) {
		return
	}
	for j, pj := range p {
		r := v[j*vStride:]
		for e := from; e < len(acc); e++ {
			acc[e] = fma32(pj, at(r[e]), acc[e])
		}
	}
}

// RoundF16 sets dst[i] to src[i] rounded to the nearest fp16 value (ties to
// even), as float32; dst and src may be the same slice.
func (o VecOps) RoundF16(dst, src []float32) {
	if len(dst) < len(src) {
		panic(fmt.Sprintf("kernels: RoundF16: %d outputs for %d inputs", len(dst), len(src)))
	}
	n8 := len(src) / 8
	switch {
	case n8 == 0:
	case hasQuantAsm && (o.fast || o.avx2):
		roundF16(&src[0], n8, &dst[0])
	case o.neon:
		roundF16NEON(&src[0], n8, &dst[0])
	default:
		n8 = 0
	}
	for i := n8 * 8; i < len(src); i++ {
		dst[i] = quant.FP16ToFP32(quant.FP32ToFP16(src[i]))
	}
}

// ToBF16 sets dst[i] to the bf16 bits of src[i] rounded to nearest even,
// exactly as quant.FP32ToBF16 (the activations of BF16 weights). It
// repeats ToF16's shape on purpose: calling the assembly through a func
// value would make dst and src escape, and the packed matmul's buffers
// with them.
func (o VecOps) ToBF16(dst []uint16, src []float32) {
	if len(dst) < len(src) {
		panic(fmt.Sprintf("kernels: ToBF16: %d outputs for %d inputs", len(dst), len(src)))
	}
	n8 := 0
	if hasQuantAsm && (o.fast || o.avx2) {
		n8 = len(src) / 8
		if n8 > 0 {
			toBF16(&src[0], n8, &dst[0])
		}
	}
	for i := n8 * 8; i < len(src); i++ {
		dst[i] = quant.FP32ToBF16(src[i])
	}
}

// ToF16 sets dst[i] to the fp16 bits of src[i] rounded to nearest even,
// exactly as quant.FP32ToFP16 (an F16 KV cache store).
func (o VecOps) ToF16(dst []uint16, src []float32) {
	if len(dst) < len(src) {
		panic(fmt.Sprintf("kernels: ToF16: %d outputs for %d inputs", len(dst), len(src)))
	}
	n8 := len(src) / 8
	switch {
	case n8 == 0:
	case hasQuantAsm && (o.fast || o.avx2):
		toF16(&src[0], n8, &dst[0])
	case o.neon:
		toF16NEON(&src[0], n8, &dst[0])
	default:
		n8 = 0
	}
	for i := n8 * 8; i < len(src); i++ {
		dst[i] = quant.FP32ToFP16(src[i])
	}
}

// laneDot is the reference of the assembly score loop (see VecOps) over
// len(q), a multiple of 16.
func laneDot(q []float32, at func(e int) float32) float32 {
	var acc [4][16]float32
	for c := range len(q) / 16 {
		a := &acc[c%4]
		for l := range 16 {
			e := 16*c + l
			a[l] = fma32(q[e], at(e), a[l])
		}
	}
	var s [16]float32
	for l := range 16 {
		s[l] = (acc[0][l] + acc[1][l]) + (acc[2][l] + acc[3][l])
	}
	for w := 8; w >= 1; w /= 2 {
		for l := range w {
			s[l] += s[l+w]
		}
	}
	return s[0]
}

// fma32 returns a·b+c rounded once to float32, as VFMADD231PS does. The
// product is exact in float64; rounding the float64 sum to float32 is a
// second rounding, wrong only when that sum lies exactly halfway between
// two float32 values after the first rounding discarded a remainder, which
// TwoSum recovers.
//
// The first test settles almost every call: float32 midpoints are float64
// values, so the exact sum and its float64 rounding s lie between the same
// two midpoints unless s is one, and then both round to the same float32.
// Where float32 is normal (|s| ≥ 2⁻¹²⁶) a midpoint's low 29 mantissa bits
// read 1 and 28 zeros; smaller sums take the careful path. Without this
// test the generic SiLU and attention loops, which run fma32 per element,
// spent most of their time in the Nextafter path (127 ns an element of
// SiLU·up).
func fma32(a, b, c float32) float32 {
	// The product is exact, so fusing it into the adds below would change
	// nothing; float64() keeps the compiler from fusing all the same, so
	// kernels holds no fused multiply-add on arm64 (make test-arm64 checks).
	p := float64(float64(a) * float64(b))
	s := p + float64(c)
	r := float32(s)
	if bits := math.Float64bits(s); bits&(1<<29-1) != 1<<28 && bits&0x7ff0000000000000 >= 0x3810000000000000 {
		return r
	}
	if float64(r) == s || math.IsInf(s, 0) || math.IsNaN(s) {
		return r
	}
	toward := float32(math.Inf(1))
	if s < float64(r) {
		toward = float32(math.Inf(-1))
	}
	r2 := math.Nextafter32(r, toward)
	if math.IsInf(float64(r2), 0) || s != (float64(r)+float64(r2))/2 {
		return r
	}
	bv := s - p
	e := (p - (s - bv)) + (float64(c) - bv)
	switch {
	case e == 0:
		return r // a true tie: float32() already rounded it to even
	case (e > 0) == (float64(r2) > float64(r)):
		return r2
	}
	return r
}

// DotQ8_0Rows sets out[j] to the dot product of a Q8_0 query (quants q,
// nb·32 of them, block scales qd) with the Q8_0 row j of k (34-byte blocks,
// rows kStride bytes apart), as ggml's Q8_0 vec-dot does in integers per
// block. Order: per block, 8 int32 lanes (lane l: quants 4l..4l+3, exact)
// each added to a float32 lane with one fused multiply-add by d_k·d_q,
// blocks in order; then the lanes in the tree l+4, l+2, l+1.
func (o VecOps) DotQ8_0Rows(out []float32, q []byte, qd []float32, k []byte, kStride int) {
	nb := len(qd)
	if len(q) < nb*32 {
		panic(fmt.Sprintf("kernels: DotQ8_0Rows: %d quants for %d blocks", len(q), nb))
	}
	checkRows("DotQ8_0Rows", len(out), nb*q8_0Bytes, kStride, len(k))
	if len(out) == 0 || nb == 0 {
		clear(out)
		return
	}
	if o.fast || o.avx2 { // an AVX2 loop, which AVX-512 CPUs run too
		dotQ8_0Rows(&out[0], &q[0], &qd[0], &k[0], kStride, len(out), nb)
		return
	}
	if o.neon && hasVecSDOT {
		dotQ8_0RowsNEON(&out[0], &q[0], &qd[0], &k[0], kStride, len(out), nb)
		return
	}
	for j := range out {
		var lanes [8]float32
		for b := range nb {
			blk := k[j*kStride+b*q8_0Bytes:]
			s := quant.FP16ToFP32(uint16(blk[0])|uint16(blk[1])<<8) * qd[b]
			for l := range 8 {
				var isum int32
				for i := 4 * l; i < 4*l+4; i++ {
					isum += int32(int8(blk[2+i])) * int32(int8(q[32*b+i]))
				}
				lanes[l] = fma32(float32(isum), s, lanes[l])
			}
		}
		for w := 4; w >= 1; w /= 2 {
			for l := range w {
				lanes[l] += lanes[l+w]
			}
		}
		out[j] = lanes[0]
	}
}

// DotQ8_0RowsHeads is DotQ8_0Rows for several query heads against the same
// Q8_0 rows (the query heads of one KV head): head h's quants are
// q[h·nb·32 : (h+1)·nb·32] and its block scales qd[h·nb : (h+1)·nb], with
// nb = len(qd)/heads, and its scores go to out[h·oStride : h·oStride+n].
// Each head is bit-identical to its own DotQ8_0Rows for quants of
// -127..127, all a Q8_0 quantizer makes (dotQ8_0Rows4VNNI says where they
// part). The fast path reads each K block and its scale once for four
// heads, with VPDPBUSD where the CPU has it.
func (o VecOps) DotQ8_0RowsHeads(out []float32, oStride, n int, q []byte, qd []float32, heads int, k []byte, kStride int) {
	if heads <= 0 || n <= 0 {
		return
	}
	nb := len(qd) / heads
	if len(qd) != heads*nb || len(q) < heads*nb*32 {
		panic(fmt.Sprintf("kernels: DotQ8_0RowsHeads: %d heads from %d quants and %d scales", heads, len(q), len(qd)))
	}
	checkRows("DotQ8_0RowsHeads outputs", heads, n, oStride, len(out))
	checkRows("DotQ8_0RowsHeads", n, nb*q8_0Bytes, kStride, len(k))
	h := 0
	if (o.fast || o.avx2) && nb > 0 {
		// dotQ8_0Rows4 is AVX2 code; the VNNI one needs AVX-512.
		vnni := o.fast && hasVecVNNI && nb <= 8 // the VNNI kernel's frame holds eight blocks a head
		for ; h+4 <= heads; h += 4 {
			// Direct calls: through a func value the slices would escape.
			if vnni {
				dotQ8_0Rows4VNNI(&out[h*oStride], oStride, &q[h*nb*32], &qd[h*nb], nb, &k[0], kStride, n)
			} else {
				dotQ8_0Rows4(&out[h*oStride], oStride, &q[h*nb*32], &qd[h*nb], nb, &k[0], kStride, n)
			}
		}
	}
	for ; h < heads; h++ {
		o.DotQ8_0Rows(out[h*oStride:h*oStride+n], q[h*nb*32:(h+1)*nb*32], qd[h*nb:(h+1)*nb], k, kStride)
	}
}

// AxpyQ8_0Rows adds Σ_j p[j]·v_j to acc, v_j the Q8_0 row j of v (rows
// vStride bytes apart, len(acc)/32 blocks): per element one fused
// multiply-add of float32(quant) by p[j]·d_j per row, rows in order.
func (o VecOps) AxpyQ8_0Rows(acc, p []float32, v []byte, vStride int) {
	nb := len(acc) / 32
	if len(acc)%32 != 0 {
		panic(fmt.Sprintf("kernels: AxpyQ8_0Rows: %d outputs, not whole blocks", len(acc)))
	}
	checkRows("AxpyQ8_0Rows", len(p), nb*q8_0Bytes, vStride, len(v))
	if len(p) == 0 || nb == 0 {
		return
	}
	switch {
	case o.fast:
		axpyQ8_0Rows(&acc[0], nb, &p[0], len(p), &v[0], vStride)
		return
	case o.avx2:
		axpyQ8_0RowsAVX2(&acc[0], nb, &p[0], len(p), &v[0], vStride)
		return
	case o.neon:
		axpyQ8_0RowsNEON(&acc[0], nb, &p[0], len(p), &v[0], vStride)
		return
	}
	for b := range nb {
		for j, pj := range p {
			blk := v[j*vStride+b*q8_0Bytes:]
			s := pj * quant.FP16ToFP32(uint16(blk[0])|uint16(blk[1])<<8)
			for e := range 32 {
				acc[32*b+e] = fma32(float32(int8(blk[2+e])), s, acc[32*b+e])
			}
		}
	}
}

// AxpyQ8_0RowsHeads is AxpyQ8_0Rows for several heads over the same Q8_0
// rows: for h < heads, acc[h·aStride : h·aStride+d] += Σ_j p[h·pStride+j]·v_j
// over j < n (d a multiple of 32), each head bit-identical to its own
// AxpyQ8_0Rows. The fast path widens each V block once for four heads.
func (o VecOps) AxpyQ8_0RowsHeads(acc []float32, aStride, d int, p []float32, pStride, n, heads int, v []byte, vStride int) {
	if heads <= 0 || n <= 0 {
		return
	}
	if d%32 != 0 {
		panic(fmt.Sprintf("kernels: AxpyQ8_0RowsHeads: %d sums a head, not whole blocks", d))
	}
	checkRows("AxpyQ8_0RowsHeads sums", heads, d, aStride, len(acc))
	checkRows("AxpyQ8_0RowsHeads probabilities", heads, n, pStride, len(p))
	nb := d / 32
	checkRows("AxpyQ8_0RowsHeads", n, nb*q8_0Bytes, vStride, len(v))
	h := 0
	if o.fast && nb > 0 {
		for ; h+4 <= heads; h += 4 {
			axpyQ8_0Rows4(&acc[h*aStride], aStride, nb, &p[h*pStride], pStride, n, &v[0], vStride)
		}
	}
	for ; h < heads; h++ {
		o.AxpyQ8_0Rows(acc[h*aStride:h*aStride+d], p[h*pStride:h*pStride+n], v, vStride)
	}
}

// attnFarRows is how many rows ahead the four-head F16 loops prefetch into
// L2, on top of their L1 prefetch eight rows ahead: a long run of cache
// rows (a KV head's, a slot apart) then keeps enough lines in flight. In a
// decode-shaped harness at 2048 positions (eviction between layers) 32 or
// 64 rows cut attention's time by 12-17 % against none; 16 by half that.
const attnFarRows = 32
