package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/nuri-ai/nuri/quant"
)

var quantCacheTypes = []quant.Type{quant.Q4_0, quant.Q4_1, quant.Q5_0, quant.Q5_1, quant.IQ4_NL}

// quantRows quantizes n random rows of d values to t, kStride bytes apart
// (the gap between rows filled with a guard byte), and returns them with
// their dequantized values.
func quantRows(t *testing.T, r *rand.Rand, typ quant.Type, n, d, stride int) ([]byte, [][]float32) {
	t.Helper()
	rb := d / 32 * typ.BlockBytes()
	rows := make([]byte, (n-1)*stride+rb)
	for i := range rows {
		rows[i] = 0xA5
	}
	deq := make([][]float32, n)
	for j := range n {
		if err := quant.Quantize(typ, randF32s(r, d), rows[j*stride:j*stride+rb]); err != nil {
			t.Fatal(err)
		}
		deq[j] = make([]float32, d)
		if err := quant.Dequantize(typ, rows[j*stride:j*stride+rb], deq[j]); err != nil {
			t.Fatal(err)
		}
	}
	return rows, deq
}

// TestQuantCacheScores: the scores of query heads against K rows of each
// quantized cache type are quant.VecDot's (ggml's vec_dot of the type):
// bit for bit on the reference path of Q4_1 and Q5_1, within float32
// rounding of it on their assembly row kernels and on the Q8_0 loops the
// other types are transcoded for, for awkward head counts (more than a
// kernel's tile), row counts (more than a chunk) and strides, writing
// nothing past their outputs.
func TestQuantCacheScores(t *testing.T) {
	for _, typ := range quantCacheTypes {
		for _, o := range allVecOps(t) {
			if (o.fast || o.avx2 || o.neon) && o.QuantCacheKernelName(typ) == "generic" && !levelType(typ) {
				t.Errorf("%s: no assembly row kernel for a %v cache", o.Name(), typ)
			}
			r := rand.New(rand.NewPCG(61, uint64(typ)))
			var s QueryScratch
			for _, nb := range []int{1, 2, 3, 4, 8} {
				d := 32 * nb
				rb := nb * typ.BlockBytes()
				for _, heads := range []int{1, 2, 3, 5} {
					for _, n := range []int{1, 7, 33, 130} {
						stride := rb + r.IntN(3)*typ.BlockBytes()
						rows, deq := quantRows(t, r, typ, n, d, stride)
						q := randF32s(r, heads*d)
						if err := o.QuantizeQuery(typ, q, heads, &s); err != nil {
							t.Fatal(err)
						}
						oStride := n + 2
						out := make([]float32, heads*oStride)
						for i := range out {
							out[i] = 99
						}
						o.DotQuantRowsHeads(out, oStride, n, &s, rows, stride)
						at := quant.VecDotType(typ)
						qraw := make([]byte, heads*s.rowsB)
						for h := range heads {
							if err := quant.QuantizeActivations(at, q[h*d:(h+1)*d], qraw[h*s.rowsB:(h+1)*s.rowsB]); err != nil {
								t.Fatal(err)
							}
							qd := make([]float32, d)
							if err := quant.Dequantize(at, qraw[h*s.rowsB:(h+1)*s.rowsB], qd); err != nil {
								t.Fatal(err)
							}
							for j := range n {
								got := out[h*oStride+j]
								want := quant.VecDot(typ, d, rows[j*stride:j*stride+rb], qraw[h*s.rowsB:(h+1)*s.rowsB])
								if !o.fast && !o.avx2 && !o.neon && !levelType(typ) {
									if math.Float32bits(got) != math.Float32bits(want) {
										t.Fatalf("%v generic nb=%d heads=%d n=%d: [%d][%d] = %g, quant.VecDot %g", typ, nb, heads, n, h, j, got, want)
									}
									continue
								}
								// The kernels and quant.VecDot add the same
								// per-block products in other orders: each
								// of the ≤ nb+8 float32 additions rounds by
								// at most 2⁻²⁴ of a partial sum, which is at
								// most Σ|w·q|; 2e-6 of that covers nb = 8.
								// Q4_1 and Q5_1 on the Q8_0 loops add
								// Σ (w-m)·q and Σ m·Σq apart, each at
								// most Σ (|w-m|+|m|)·|q|.
								var mag float64
								for e := range d {
									w := math.Abs(float64(deq[j][e]))
									if affineType(typ) {
										blk := rows[j*stride+e/32*typ.BlockBytes():]
										m := float64(quant.FP16ToFP32(uint16(blk[2]) | uint16(blk[3])<<8))
										w = math.Abs(float64(deq[j][e])-m) + math.Abs(m)
									}
									mag += w * math.Abs(float64(qd[e]))
								}
								if diff := math.Abs(float64(got) - float64(want)); diff > 2e-6*mag+1e-30 {
									t.Fatalf("%v %s nb=%d heads=%d n=%d: [%d][%d] = %g, quant.VecDot %g (|Σ| %g)", typ, o.QuantCacheKernelName(typ), nb, heads, n, h, j, got, want, mag)
								}
							}
							for j := n; j < oStride && h < heads-1; j++ {
								if out[h*oStride+j] != 99 {
									t.Fatalf("%v %s: head %d wrote past its %d scores", typ, o.Name(), h, n)
								}
							}
						}
						if out[(heads-1)*oStride+n] != 99 {
							t.Fatalf("%v %s: wrote past the last head's scores", typ, o.Name())
						}
					}
				}
			}
		}
	}
}

// TestQuantCacheAxpy: the weighted sums of quantized V rows are, on every
// VecOps, head by head and rows in order, one fused multiply-add per
// element and row: of float32(level) by p·d for Q4_0 and IQ4_NL, of p by
// the dequantized value for the others.
func TestQuantCacheAxpy(t *testing.T) {
	for _, typ := range quantCacheTypes {
		for _, o := range allVecOps(t) {
			r := rand.New(rand.NewPCG(62, uint64(typ)))
			var s QueryScratch
			for _, nb := range []int{1, 2, 4} {
				d := 32 * nb
				for _, heads := range []int{1, 3, 4} {
					for _, n := range []int{1, 16, 17, 40, 129} {
						stride := nb*typ.BlockBytes() + r.IntN(2)*typ.BlockBytes()
						rows, deq := quantRows(t, r, typ, n, d, stride)
						aStride, pStride := d+3, n+1
						acc := randF32s(r, heads*aStride)
						p := randF32s(r, heads*pStride)
						want := append([]float32(nil), acc...)
						for h := range heads {
							for j := range n {
								for e := range d {
									w := &want[h*aStride+e]
									if level, dj, ok := nibbleAt(typ, rows[j*stride:], e); ok {
										*w = fma32(float32(level), p[h*pStride+j]*dj, *w)
									} else {
										*w = fma32(p[h*pStride+j], deq[j][e], *w)
									}
								}
							}
						}
						if err := o.AxpyQuantRowsHeads(typ, acc, aStride, d, p, pStride, n, heads, rows, stride, &s); err != nil {
							t.Fatal(err)
						}
						for i := range want {
							if math.Float32bits(acc[i]) != math.Float32bits(want[i]) {
								t.Fatalf("%v %s nb=%d heads=%d n=%d: acc[%d] = %g, want %g", typ, o.Name(), nb, heads, n, i, acc[i], want[i])
							}
						}
					}
				}
			}
		}
	}
}

// TestQuantCacheRefusals: types without these loops and rows that are not
// whole blocks are errors, not wrong numbers.
func TestQuantCacheRefusals(t *testing.T) {
	var s QueryScratch
	o := VecOps{}
	for _, typ := range []quant.Type{quant.F16, quant.Q8_0, quant.Q4_K} {
		if err := o.QuantizeQuery(typ, make([]float32, 64), 1, &s); err == nil {
			t.Errorf("QuantizeQuery accepted a %v cache", typ)
		}
	}
	if err := o.QuantizeQuery(quant.Q4_0, make([]float32, 48), 1, &s); err == nil {
		t.Error("QuantizeQuery accepted a head of 48 values")
	}
	if err := o.AxpyQuantRowsHeads(quant.Q4_0, make([]float32, 48), 48, 48, make([]float32, 1), 1, 1, 1, make([]byte, 64), 64, &s); err == nil {
		t.Error("AxpyQuantRowsHeads accepted rows of 48 values")
	}
}

// nibbleAt decodes element e of a Q4_0, Q5_0 or IQ4_NL row into its int8
// level and its block's d (false for other types), from ggml's block
// layouts.
func nibbleAt(typ quant.Type, row []byte, e int) (int8, float32, bool) {
	bb := typ.BlockBytes()
	blk := row[e/32*bb : (e/32+1)*bb]
	d := quant.FP16ToFP32(uint16(blk[0]) | uint16(blk[1])<<8)
	i := e % 32
	nibble := func(qs []byte) byte {
		if i >= 16 {
			return qs[i-16] >> 4
		}
		return qs[i] & 15
	}
	switch typ {
	case quant.Q4_0:
		return int8(nibble(blk[2:])) - 8, d, true
	case quant.IQ4_NL:
		return quant.IQ4Levels()[nibble(blk[2:])], d, true
	case quant.Q5_0:
		high := blk[2+i/8] >> (i % 8) & 1
		return int8(nibble(blk[6:])|high<<4) - 16, d, true
	}
	return 0, 0, false
}

// TestQuantCacheToQ8_0: a row of Q4_0, Q5_0 or IQ4_NL transcoded to Q8_0
// (in assembly where the CPU has AVX2) holds the same values, bit for
// bit, on every VecOps; a row of Q4_1 or Q5_1 the same values less each
// block's m (the value is the Q8_0 one, rounded, plus m).
func TestQuantCacheToQ8_0(t *testing.T) {
	for _, typ := range quantCacheTypes {
		for _, o := range allVecOps(t) {
			r := rand.New(rand.NewPCG(63, uint64(typ)))
			for _, nb := range []int{1, 3, 4} {
				const n = 9
				d := 32 * nb
				stride := nb*typ.BlockBytes() + 5
				rows, deq := quantRows(t, r, typ, n, d, stride)
				dst := make([]byte, n*nb*q8_0Bytes+1)
				dst[len(dst)-1] = 0x5A
				mins := make([]float32, n*nb+1)
				mins[n*nb] = 99
				o.toQ8_0(typ, dst[:n*nb*q8_0Bytes], mins[:n*nb], rows, n, nb, stride)
				if mins[n*nb] != 99 {
					t.Fatalf("%v %s: wrote past the minimums", typ, o.Name())
				}
				if dst[len(dst)-1] != 0x5A {
					t.Fatalf("%v %s: wrote past the rows", typ, o.Name())
				}
				got := make([]float32, d)
				for j := range n {
					if err := quant.Dequantize(quant.Q8_0, dst[j*nb*q8_0Bytes:(j+1)*nb*q8_0Bytes], got); err != nil {
						t.Fatal(err)
					}
					for e := range d {
						v := got[e]
						if affineType(typ) {
							blk := rows[j*stride+e/32*typ.BlockBytes():]
							m := quant.FP16ToFP32(uint16(blk[2]) | uint16(blk[3])<<8)
							if mins[e/32*n+j] != m {
								t.Fatalf("%v %s nb=%d row %d block %d: m %g, want %g", typ, o.Name(), nb, j, e/32, mins[e/32*n+j], m)
							}
							v += m
						}
						if math.Float32bits(v) != math.Float32bits(deq[j][e]) {
							t.Fatalf("%v %s nb=%d row %d [%d]: %g as Q8_0, %g", typ, o.Name(), nb, j, e, v, deq[j][e])
						}
					}
				}
			}
		}
	}
}

// TestQuantCacheDequantRows: the rows the V loops dequantize for Q4_1 and
// Q5_1 (in assembly where the CPU has AVX2) are quant.Dequantize's, bit
// for bit, on every VecOps, and nothing is written past them.
func TestQuantCacheDequantRows(t *testing.T) {
	for _, typ := range []quant.Type{quant.Q4_1, quant.Q5_1} {
		for _, o := range allVecOps(t) {
			r := rand.New(rand.NewPCG(64, uint64(typ)))
			for _, nb := range []int{1, 2, 4} {
				const n = 11
				d := 32 * nb
				stride := nb*typ.BlockBytes() + 3
				rows, deq := quantRows(t, r, typ, n, d, stride)
				dst := make([]float32, n*d+1)
				dst[n*d] = 99
				if err := o.dequantRows(typ, dst[:n*d], rows, n, nb, stride); err != nil {
					t.Fatal(err)
				}
				if dst[n*d] != 99 {
					t.Fatalf("%v %s: wrote past the rows", typ, o.Name())
				}
				for j := range n {
					for e := range d {
						if math.Float32bits(dst[j*d+e]) != math.Float32bits(deq[j][e]) {
							t.Fatalf("%v %s nb=%d row %d [%d]: %g, quant.Dequantize %g", typ, o.Name(), nb, j, e, dst[j*d+e], deq[j][e])
						}
					}
				}
			}
		}
	}
}

// BenchmarkQuantCacheRows: the score and weighted-sum loops of a quantized
// cache (DotQuantRowsHeads, AxpyQuantRowsHeads) for the query heads of one
// KV head, over n rows of 64 values a slot of eight KV heads apart, as a
// cache's: heads=4 is a decode step of llama-1b, heads=16 a prefill's
// token group.
//
//	go test -run '^$' -bench QuantCacheRows -benchtime 2000x ./kernels
func BenchmarkQuantCacheRows(b *testing.B) {
	const n, nb = 1024, 2
	for _, o := range vecVariants(&testing.T{}) {
		for _, typ := range quantCacheTypes {
			r := rand.New(rand.NewPCG(11, uint64(typ)))
			stride := 8 * nb * typ.BlockBytes()
			rows, _ := quantRows(&testing.T{}, r, typ, n, 32*nb, stride)
			for _, heads := range []int{4, 16} {
				var s QueryScratch
				if err := o.QuantizeQuery(typ, randF32s(r, heads*32*nb), heads, &s); err != nil {
					b.Fatal(err)
				}
				out := make([]float32, heads*n)
				p := randFloats(r, heads*n, 1)
				acc := make([]float32, heads*32*nb)
				b.Run(fmt.Sprintf("%s/%v/heads=%d/dot", o.Name(), typ, heads), func(b *testing.B) {
					for range b.N {
						o.DotQuantRowsHeads(out, n, n, &s, rows, stride)
					}
				})
				b.Run(fmt.Sprintf("%s/%v/heads=%d/axpy", o.Name(), typ, heads), func(b *testing.B) {
					for range b.N {
						if err := o.AxpyQuantRowsHeads(typ, acc, 32*nb, 32*nb, p, n, n, heads, rows, stride, &s); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		}
	}
}
