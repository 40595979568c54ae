package kernels

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/nuri-ai/nuri/quant"
)

// fma32Exact is fma32's reference: the exact a·b+c in big.Float, rounded
// once to float32.
func fma32Exact(a, b, c float32) float32 {
	x := new(big.Float).SetPrec(200).SetFloat64(float64(a))
	x.Mul(x, new(big.Float).SetPrec(200).SetFloat64(float64(b)))
	x.Add(x, new(big.Float).SetPrec(200).SetFloat64(float64(c)))
	f, _ := x.Float32()
	return f
}

func TestFMA32(t *testing.T) {
	// Halfway cases that a plain float64 FMA double-rounds: the exact sum
	// is a float32 midpoint plus a remainder below float64's precision.
	// (1+2⁻ᵏ)·2⁻²⁴(1−2⁻ᵏ) = 2⁻²⁴ − 2⁻²⁴⁻²ᵏ: added to −(1+2⁻²³) the exact
	// sum sits 2⁻²⁴⁻²ᵏ beyond the midpoint −(1+2⁻²⁴), which float64 drops
	// for k ≥ 15, leaving a tie that rounds to even the wrong way.
	var cases [][3]float32
	for k := 12; k <= 23; k++ {
		e := float32(math.Ldexp(1, -k))
		for _, sc := range []float32{1, 0.5, 1024} {
			b := sc * float32(math.Ldexp(1, -24)) * (1 - e)
			cases = append(cases,
				[3]float32{1 + e, b, -sc * (1 + float32(math.Ldexp(1, -23)))},
				[3]float32{1 + e, -b, sc * (1 + float32(math.Ldexp(1, -23)))},
				[3]float32{-(1 + e), b, sc},
				[3]float32{1 + e, -b, sc})
		}
	}
	cases = append(cases, [3]float32{3, 5, 7}, [3]float32{float32(math.Inf(1)), 1, 1})
	// The same below float32's normal range, where a midpoint's low
	// mantissa bits in float64 differ: the largest denormal (odd) plus
	// 2⁻¹⁵⁰(1−2⁻⁴⁰), which float64 rounds to the midpoint with 2⁻¹²⁶.
	a, b := float32(math.Ldexp(1+0x1p-20, -50)), float32(math.Ldexp(1-0x1p-20, -100))
	maxSub := math.Float32frombits(0x007fffff)
	cases = append(cases, [3]float32{a, b, maxSub}, [3]float32{-a, b, -maxSub})
	naive := 0
	for _, tc := range cases {
		if float32(float64(tc[0])*float64(tc[1])+float64(tc[2])) != fma32Exact(tc[0], tc[1], tc[2]) {
			naive++
		}
	}
	if naive == 0 {
		t.Fatal("no case where a float64 multiply-add rounds twice wrongly: the table does not test fma32")
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		// Mantissas that put a·b's low bits right at c's rounding point.
		a := math.Float32frombits(r.Uint32()&0x007fffff | 0x3f800000)
		b := math.Float32frombits(r.Uint32()&0x007fffff | uint32(0x33000000+r.IntN(8)<<23))
		c := math.Float32frombits(r.Uint32()&0x007fffff | 0x3f800000)
		if r.IntN(2) == 0 {
			b = -b
		}
		cases = append(cases, [3]float32{a, b, c})
	}
	for range 200000 {
		// Sums near and below float32's smallest normal (2⁻¹²⁶), where
		// fma32's midpoint test does not apply, and near its largest.
		ea, eb := r.IntN(40)-80, r.IntN(40)-80
		if r.IntN(4) == 0 {
			ea, eb = r.IntN(20)+50, r.IntN(20)+50
		}
		a := float32(math.Ldexp(1+r.Float64(), ea))
		b := float32(math.Ldexp(1+r.Float64(), eb))
		c := -a * b * float32(1+r.NormFloat64()*0x1p-20)
		if r.IntN(3) == 0 {
			c = float32(math.Ldexp(r.NormFloat64(), -128-r.IntN(20)))
		}
		cases = append(cases, [3]float32{a, b, c})
	}
	bad := 0
	for _, tc := range cases {
		got, want := fma32(tc[0], tc[1], tc[2]), fma32Exact(tc[0], tc[1], tc[2])
		if math.Float32bits(got) != math.Float32bits(want) && !(math.IsNaN(float64(got)) && math.IsNaN(float64(want))) {
			if bad++; bad < 5 {
				t.Errorf("fma32(%g, %g, %g) = %g, want %g", tc[0], tc[1], tc[2], got, want)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d wrong", bad, len(cases))
	}
}

// vecVariants: the assembly VecOps this CPU runs (AVX-512, AVX2), each
// to be compared bit for bit with the reference VecOps{}; the reference
// alone, compared with itself, where there is none.
func vecVariants(t testing.TB) []VecOps {
	var vs []VecOps
	if hasVecAsm {
		vs = append(vs, VecOps{fast: true})
	}
	if hasVecAVX2 {
		vs = append(vs, VecOps{avx2: true})
	}
	if hasVecNEON {
		vs = append(vs, VecOps{neon: true})
	}
	if len(vs) == 0 {
		t.Logf("no assembly VecOps here: comparing the reference with itself")
		vs = append(vs, VecOps{})
	}
	return vs
}

// allVecOps: vecVariants and the reference.
func allVecOps(t testing.TB) []VecOps { return append(vecVariants(t), VecOps{}) }

func randF16s(r *rand.Rand, n int) []uint16 {
	out := make([]uint16, n)
	for i := range out {
		out[i] = quant.FP32ToFP16(float32(r.NormFloat64()))
	}
	return out
}

func randF32s(r *rand.Rand, n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(r.NormFloat64())
	}
	return out
}

// TestVecOpsMatchReference: the assembly loops give the Go reference's
// bits for awkward head sizes (below one chunk, odd chunk counts, tails),
// strides and row counts, and write nothing past their outputs.
func TestVecOpsMatchReference(t *testing.T) {
	ref := VecOps{}
	for _, fast := range vecVariants(t) {
		r := rand.New(rand.NewPCG(3, 4))
		const guard = 7
		for _, d := range []int{1, 8, 15, 16, 17, 32, 48, 64, 80, 96, 112, 128, 200, 256} {
			for _, n := range []int{1, 2, 3, 15, 16, 17, 31, 33, 48} {
				stride := d + r.IntN(3)*16
				q := randF32s(r, d)
				fast.RoundF16(q, q)
				k16, v16 := randF16s(r, (n-1)*stride+d), randF16s(r, (n-1)*stride+d)
				k32, v32 := randF32s(r, (n-1)*stride+d), randF32s(r, (n-1)*stride+d)
				p := randF32s(r, n)
				type run struct {
					name string
					f    func(o VecOps, out []float32)
					size int
				}
				runs := []run{
					{"DotF16Rows", func(o VecOps, out []float32) { o.DotF16Rows(out[:n], q, k16, stride) }, n},
					{"DotF32Rows", func(o VecOps, out []float32) { o.DotF32Rows(out[:n], q, k32, stride) }, n},
					{"AxpyF16Rows", func(o VecOps, out []float32) { o.AxpyF16Rows(out[:d], p, v16, stride) }, d},
					{"AxpyF32Rows", func(o VecOps, out []float32) { o.AxpyF32Rows(out[:d], p, v32, stride) }, d},
				}
				for _, rn := range runs {
					init := randF32s(r, rn.size)
					got := append(append([]float32(nil), init...), make([]float32, guard)...)
					for i := rn.size; i < len(got); i++ {
						got[i] = 12345
					}
					want := append([]float32(nil), init...)
					rn.f(fast, got)
					rn.f(ref, want)
					for i := range want {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("%s %s d=%d n=%d stride=%d: [%d] = %g, reference %g", fast.Name(), rn.name, d, n, stride, i, got[i], want[i])
						}
					}
					for i := rn.size; i < len(got); i++ {
						if got[i] != 12345 {
							t.Fatalf("%s %s d=%d n=%d: wrote past the output at %d", fast.Name(), rn.name, d, n, i)
						}
					}
				}
				// The scores are dot products: within float32 rounding of the
				// float64 sum (bound: d·2⁻²³·Σ|q·k|, generous for d ≤ 256).
				out := make([]float32, n)
				fast.DotF16Rows(out, q, k16, stride)
				for j := range n {
					var exact, mag float64
					for e := range d {
						v := float64(q[e]) * float64(quant.FP16ToFP32(k16[j*stride+e]))
						exact += v
						mag += math.Abs(v)
					}
					if diff := math.Abs(float64(out[j]) - exact); diff > float64(d)*mag/(1<<23) {
						t.Fatalf("%s DotF16Rows d=%d row %d: %g, exact %g", fast.Name(), d, j, out[j], exact)
					}
				}
			}
		}
	}
}

func TestVecOpsRejectsShortRows(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for a K slice shorter than its rows")
		}
	}()
	VecOps{}.DotF16Rows(make([]float32, 3), make([]float32, 16), make([]uint16, 40), 16)
}

// TestRoundF16: the rounding to fp16 values gives quant's conversion there
// and back, bit for bit, on ToF16's inputs, without writing past its
// outputs.
func TestRoundF16(t *testing.T) {
	x := f16Inputs(rand.New(rand.NewPCG(5, 6)))
	for _, n := range []int{len(x), 7, 9, 16, 37} {
		for _, o := range allVecOps(t) {
			got := make([]float32, n+1)
			got[n] = -7
			o.RoundF16(got[:n], x[:n])
			for i, v := range x[:n] {
				if want := quant.FP16ToFP32(quant.FP32ToFP16(v)); math.Float32bits(got[i]) != math.Float32bits(want) {
					t.Fatalf("%s: RoundF16(%g) = %g, want %g", o.Name(), v, got[i], want)
				}
			}
			if got[n] != -7 {
				t.Fatalf("%s: RoundF16 wrote past its %d outputs", o.Name(), n)
			}
		}
	}
}

// bf16Inputs: the special values of a bf16 conversion (signed zeros,
// infinities, NaNs with payloads, the largest finite value, subnormals,
// ties both ways and just past one), then 4000 random bit patterns.
func bf16Inputs(r *rand.Rand) []float32 {
	x := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()),
		math.Float32frombits(0x7f800001), math.Float32frombits(0xffc00000), math.Float32frombits(0x7f7fffff),
		math.Float32frombits(0x7fffffff), math.Float32frombits(0xbf817fff),
		math.Float32frombits(0x00007fff), math.Float32frombits(0x00008000), math.Float32frombits(0x0000ffff),
		math.Float32frombits(0x3f808000), math.Float32frombits(0x3f818000), math.Float32frombits(0x3f808001)}
	for range 4000 {
		x = append(x, math.Float32frombits(r.Uint32()))
	}
	return x
}

// TestToBF16 checks the bf16 conversion against quant.FP32ToBF16 on random
// bit patterns (every exponent: subnormals, infinities, NaNs with any
// payload), on exact ties both ways and on the special values, with
// lengths that leave a scalar tail.
func TestToBF16(t *testing.T) {
	x := bf16Inputs(rand.New(rand.NewPCG(9, 10)))
	for _, n := range []int{len(x), 7, 9, 16} {
		for _, o := range allVecOps(t) {
			got := make([]uint16, n+1)
			got[n] = 0xBEEF
			o.ToBF16(got[:n], x[:n])
			for i, v := range x[:n] {
				if want := quant.FP32ToBF16(v); got[i] != want {
					t.Fatalf("%s: ToBF16(%#08x) = %#04x, want %#04x", o.Name(), math.Float32bits(v), got[i], want)
				}
			}
			if got[n] != 0xBEEF {
				t.Fatalf("%s: ToBF16 wrote past its %d outputs", o.Name(), n)
			}
		}
	}
}

// f16Inputs: the special values of an fp16 conversion (signed zeros,
// infinities, NaNs with payloads, the overflow edge, subnormals and the
// rounding to zero, ties both ways), then 1000 values over sixty binades.
func f16Inputs(r *rand.Rand) []float32 {
	x := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()),
		math.Float32frombits(0x7f800001), math.Float32frombits(0xffc02000),
		65504, 65520, -65520, 1e6, 6e-8, 3e-8, 2.9e-8, 1e-10, -6.1e-5, 5.96e-8, 1.0009765625, 1.00048828125}
	for range 1000 {
		x = append(x, float32(math.Ldexp(r.Float64()*2-1, r.IntN(60)-30)))
	}
	return x
}

// TestToF16 checks the fp16 store against quant.FP32ToFP16 on random
// values of every magnitude and on the special ones (signed zeros,
// infinities, NaN, overflow to infinity, fp16 subnormals and values that
// round to zero), with lengths that leave a scalar tail.
func TestToF16(t *testing.T) {
	x := f16Inputs(rand.New(rand.NewPCG(7, 8)))
	for _, n := range []int{len(x), 7, 9, 16} {
		for _, o := range allVecOps(t) {
			got := make([]uint16, n+1)
			got[n] = 0xBEEF
			o.ToF16(got[:n], x[:n])
			for i, v := range x[:n] {
				if want := quant.FP32ToFP16(v); got[i] != want {
					t.Fatalf("%s: ToF16(%g) = %#04x, want %#04x", o.Name(), v, got[i], want)
				}
			}
			if got[n] != 0xBEEF {
				t.Fatalf("%s: ToF16 wrote past its %d outputs", o.Name(), n)
			}
		}
	}
}

// TestVecOpsQ8_0MatchReference: the Q8_0 cache loops give the Go
// reference's bits, stay within float rounding of the exact dot product,
// and write nothing past their outputs.
func TestVecOpsQ8_0MatchReference(t *testing.T) {
	ref := VecOps{}
	for _, fast := range vecVariants(t) {
		r := rand.New(rand.NewPCG(51, 52))
		for _, nb := range []int{1, 2, 4, 8} {
			d := 32 * nb
			for _, n := range []int{1, 3, 16, 17} {
				stride := (nb + r.IntN(3)) * q8_0Bytes
				rows := make([]byte, (n-1)*stride+nb*q8_0Bytes)
				for j := range n {
					x := randF32s(r, d)
					if err := quant.QuantizeActivations(quant.Q8_0, x, rows[j*stride:j*stride+nb*q8_0Bytes]); err != nil {
						t.Fatal(err)
					}
				}
				qraw := make([]byte, nb*q8_0Bytes)
				if err := quant.QuantizeActivations(quant.Q8_0, randF32s(r, d), qraw); err != nil {
					t.Fatal(err)
				}
				q := make([]byte, d)
				qd := make([]float32, nb)
				for b := range nb {
					qd[b] = quant.FP16ToFP32(uint16(qraw[b*q8_0Bytes]) | uint16(qraw[b*q8_0Bytes+1])<<8)
					copy(q[32*b:], qraw[b*q8_0Bytes+2:(b+1)*q8_0Bytes])
				}
				got, want := make([]float32, n+4), make([]float32, n)
				got[n] = 99
				fast.DotQ8_0Rows(got[:n], q, qd, rows, stride)
				ref.DotQ8_0Rows(want, q, qd, rows, stride)
				for j := range want {
					if math.Float32bits(got[j]) != math.Float32bits(want[j]) {
						t.Fatalf("%s DotQ8_0Rows nb=%d n=%d: [%d] = %g, reference %g", fast.Name(), nb, n, j, got[j], want[j])
					}
					exact := quant.VecDot(quant.Q8_0, d, rows[j*stride:j*stride+nb*q8_0Bytes], qraw)
					if math.Abs(float64(got[j]-exact)) > 1e-5*(1+math.Abs(float64(exact))) {
						t.Fatalf("%s DotQ8_0Rows nb=%d row %d: %g, quant.VecDot %g", fast.Name(), nb, j, got[j], exact)
					}
				}
				if got[n] != 99 {
					t.Fatalf("%s DotQ8_0Rows wrote past its output", fast.Name())
				}
				p := randF32s(r, n)
				init := randF32s(r, d)
				ga := append(append([]float32(nil), init...), 99)
				wa := append([]float32(nil), init...)
				fast.AxpyQ8_0Rows(ga[:d], p, rows, stride)
				ref.AxpyQ8_0Rows(wa, p, rows, stride)
				for e := range wa {
					if math.Float32bits(ga[e]) != math.Float32bits(wa[e]) {
						t.Fatalf("%s AxpyQ8_0Rows nb=%d n=%d: [%d] = %g, reference %g", fast.Name(), nb, n, e, ga[e], wa[e])
					}
				}
				if ga[d] != 99 {
					t.Fatalf("%s AxpyQ8_0Rows wrote past its output", fast.Name())
				}
			}
		}
	}
}

// TestDotF16RowsHeads: several heads against shared K rows give, bit for
// bit, what each head's own DotF16Rows gives on the reference path (every
// assembly path, and the reference itself), for head counts that use the four-head kernel
// zero to two times with leftovers (two of which take the two-head
// kernel where it covers d), row counts below, at and past a 16-row
// group and past the rows prefetched ahead (attnFarRows), and head sizes
// with and without a tail past the last 16 (64 and 128 take the kernel's
// register path; on AVX2 64, 70, 128 and 135 the two- and four-head loops,
// 70 and 135 with a Go tail, and 16, 80 and 96 a loop a head). Zero K rows
// against an all-negative q give +0, as the single-head loops do, which
// the AVX2 loops' first products (VMULPS, -0) must undo. Outputs outside
// each head's n values are left alone.
func TestDotF16RowsHeads(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	for _, o := range allVecOps(t) {
		for _, heads := range []int{1, 2, 3, 4, 5, 6, 8, 9} {
			for _, d := range []int{16, 64, 70, 80, 96, 128, 135, 7} {
				for _, n := range []int{1, 5, 15, 16, 17, 40, 100} {
					kStride, qStride, oStride := 3*d+5, d+3, n+2
					k := make([]uint16, (n-1)*kStride+d)
					for i := range k {
						// Every seventh row is zero, so that the scores of
						// the head below with an all-negative q multiply
						// out to -0 products.
						if i/kStride%7 != 3 {
							k[i] = quant.FP32ToFP16(float32(r.NormFloat64()))
						}
					}
					q := make([]float32, (heads-1)*qStride+d)
					for i := range q {
						q[i] = float32(r.NormFloat64())
						if i/qStride == 1 {
							q[i] = -float32(math.Abs(float64(q[i])))
						}
					}
					got := make([]float32, heads*oStride)
					for i := range got {
						got[i] = -7
					}
					o.DotF16RowsHeads(got, oStride, n, q, qStride, d, heads, k, kStride)
					checkHeadScores(t, fmt.Sprintf("%s heads=%d d=%d n=%d", o.Name(), heads, d, n), got, oStride, n, heads, func(h int, want []float32) {
						VecOps{}.DotF16Rows(want, q[h*qStride:h*qStride+d], k, kStride)
					})
				}
			}
		}
	}
}

// TestAxpyF16RowsHeads: AxpyF16RowsHeads leaves every head's sums bit for
// bit as its own AxpyF16Rows does on the reference path (every path), over the shapes of TestDotF16RowsHeads
// (on AVX2 the two-head loop for every size of 16 or more: odd and even
// chunk counts, with and without a tail), and touches nothing past each
// head's d sums.
func TestAxpyF16RowsHeads(t *testing.T) {
	r := rand.New(rand.NewPCG(43, 44))
	for _, o := range allVecOps(t) {
		for _, heads := range []int{1, 2, 3, 4, 5, 6, 8, 9} {
			for _, d := range []int{16, 64, 70, 80, 96, 128, 135, 7} {
				for _, n := range []int{1, 5, 15, 16, 17, 40, 100} {
					vStride, pStride, aStride := 3*d+5, n+3, d+2
					v := make([]uint16, (n-1)*vStride+d)
					for i := range v {
						v[i] = quant.FP32ToFP16(float32(r.NormFloat64()))
					}
					p := make([]float32, (heads-1)*pStride+n)
					for i := range p {
						p[i] = float32(r.Float64())
					}
					got := make([]float32, heads*aStride)
					for i := range got {
						got[i] = float32(r.NormFloat64())
					}
					want := append([]float32(nil), got...)
					o.AxpyF16RowsHeads(got, aStride, d, p, pStride, n, heads, v, vStride)
					for h := range heads {
						VecOps{}.AxpyF16Rows(want[h*aStride:h*aStride+d], p[h*pStride:h*pStride+n], v, vStride)
					}
					checkHeadSums(t, fmt.Sprintf("%s heads=%d d=%d n=%d", o.Name(), heads, d, n), got, want, aStride)
				}
			}
		}
	}
}

// randQ8_0Rows returns n Q8_0 rows of nb blocks, stride bytes apart,
// random quants and fp16 scales.
func randQ8_0Rows(r *rand.Rand, n, nb, stride int) []byte {
	k := make([]byte, (n-1)*stride+nb*q8_0Bytes)
	for i := range k {
		k[i] = byte(r.Uint32())
	}
	for j := range n {
		for b := range nb {
			d := quant.FP32ToFP16(float32(r.NormFloat64() * 0.01))
			k[j*stride+b*q8_0Bytes], k[j*stride+b*q8_0Bytes+1] = byte(d), byte(d>>8)
		}
	}
	return k
}

// TestDotQ8_0RowsHeads: DotQ8_0RowsHeads gives every head the bits of its
// own DotQ8_0Rows (fast and generic), with head counts around the
// four-head kernel's width and heads of up to eight blocks (the VNNI
// kernel's) and of nine, and writes nothing past each head's n scores.
func TestDotQ8_0RowsHeads(t *testing.T) {
	r := rand.New(rand.NewPCG(47, 48))
	for _, o := range allVecOps(t) {
		for _, heads := range []int{1, 3, 4, 5, 8, 9} {
			for _, nb := range []int{1, 2, 3, 4, 8, 9} {
				for _, n := range []int{1, 5, 16, 17, 40} {
					kStride, oStride := 3*nb*q8_0Bytes+5, n+2
					k := randQ8_0Rows(r, n, nb, kStride)
					q := make([]byte, heads*nb*32)
					for i := range q {
						// Q8_0 quantizers give -127..127. Against a
						// negative K quant, -128 is where the one-head
						// loop's sign trick (ggml's) wraps, while the
						// VNNI kernel multiplies exactly, as the Go
						// reference does.
						if q[i] = byte(r.Uint32()); q[i] == 0x80 {
							q[i] = 0x81
						}
					}
					qd := make([]float32, heads*nb)
					for i := range qd {
						qd[i] = float32(r.NormFloat64() * 0.01)
					}
					got := make([]float32, heads*oStride)
					for i := range got {
						got[i] = -7
					}
					o.DotQ8_0RowsHeads(got, oStride, n, q, qd, heads, k, kStride)
					checkHeadScores(t, fmt.Sprintf("%s heads=%d nb=%d n=%d", o.Name(), heads, nb, n), got, oStride, n, heads, func(h int, want []float32) {
						o.DotQ8_0Rows(want, q[h*nb*32:(h+1)*nb*32], qd[h*nb:(h+1)*nb], k, kStride)
					})
				}
			}
		}
	}
}

// TestDotQ8_0RowsHeadsVNNIExact: where the VNNI kernel runs, it gives the
// Go reference's bits for every quant byte, -128 included (the one-head
// loop's sign trick wraps there, so TestDotQ8_0RowsHeads leaves it out).
func TestDotQ8_0RowsHeadsVNNIExact(t *testing.T) {
	if !hasVecVNNI {
		t.Skip("no AVX512-VNNI: DotQ8_0RowsHeads takes the sign-trick kernel")
	}
	r := rand.New(rand.NewPCG(53, 54))
	fast, ref := VecOps{fast: true}, VecOps{}
	for _, nb := range []int{1, 2, 4, 8} {
		const heads, n = 4, 37
		kStride := nb * q8_0Bytes
		k := randQ8_0Rows(r, n, nb, kStride)
		q := make([]byte, heads*nb*32)
		for i := range q {
			if q[i] = byte(r.Uint32()); i%5 == 0 {
				q[i] = 0x80
			}
		}
		qd := make([]float32, heads*nb)
		for i := range qd {
			qd[i] = float32(r.NormFloat64() * 0.01)
		}
		got, want := make([]float32, heads*n), make([]float32, heads*n)
		fast.DotQ8_0RowsHeads(got, n, n, q, qd, heads, k, kStride)
		ref.DotQ8_0RowsHeads(want, n, n, q, qd, heads, k, kStride)
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("nb=%d: score %d = %v, reference %v", nb, i, got[i], want[i])
			}
		}
	}
}

// TestAxpyQ8_0RowsHeads: AxpyQ8_0RowsHeads leaves every head's sums bit
// for bit as its own AxpyQ8_0Rows does and touches nothing past each
// head's d sums.
func TestAxpyQ8_0RowsHeads(t *testing.T) {
	r := rand.New(rand.NewPCG(49, 50))
	for _, o := range allVecOps(t) {
		for _, heads := range []int{1, 3, 4, 5, 8, 9} {
			for _, nb := range []int{1, 2, 3, 4} {
				for _, n := range []int{1, 5, 16, 17, 40} {
					d := nb * 32
					vStride, pStride, aStride := 3*nb*q8_0Bytes+5, n+3, d+2
					v := randQ8_0Rows(r, n, nb, vStride)
					p := make([]float32, (heads-1)*pStride+n)
					for i := range p {
						p[i] = float32(r.Float64())
					}
					got := make([]float32, heads*aStride)
					for i := range got {
						got[i] = float32(r.NormFloat64())
					}
					want := append([]float32(nil), got...)
					o.AxpyQ8_0RowsHeads(got, aStride, d, p, pStride, n, heads, v, vStride)
					for h := range heads {
						o.AxpyQ8_0Rows(want[h*aStride:h*aStride+d], p[h*pStride:h*pStride+n], v, vStride)
					}
					checkHeadSums(t, fmt.Sprintf("%s heads=%d nb=%d n=%d", o.Name(), heads, nb, n), got, want, aStride)
				}
			}
		}
	}
}

// TestSoftmaxPasses: ScaleMax, SubScalar and Scale give the scalar loops'
// bits on every length from 0 to 50, with NaNs, infinities, signed zeros
// and subnormals among the values; the maximum skips NaNs (equal as a
// value: which zero wins a tie of +0 and −0 may differ, and nothing
// downstream can tell them apart after the subtraction and exp).
func TestSoftmaxPasses(t *testing.T) {
	r := rand.New(rand.NewPCG(45, 46))
	specials := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0, float32(math.Copysign(0, -1)), 1e-40, -3e-39}
	for n := range 51 {
		for trial := range 4 {
			x := make([]float32, n)
			for i := range x {
				x[i] = float32(r.NormFloat64() * 10)
				if trial > 1 && r.IntN(5) == 0 {
					x[i] = specials[r.IntN(len(specials))]
				}
			}
			s := float32(0.125 + r.Float64())
			ref := VecOps{}
			for _, fast := range vecVariants(t) {
				a, b := append([]float32(nil), x...), append([]float32(nil), x...)
				ma, mb := fast.ScaleMax(a, s), ref.ScaleMax(b, s)
				if ma != mb && !(math.IsInf(float64(ma), -1) && math.IsInf(float64(mb), -1)) {
					t.Fatalf("%s n=%d trial %d: max %v, scalar %v", fast.Name(), n, trial, ma, mb)
				}
				fast.SubScalar(a, mb)
				ref.SubScalar(b, mb)
				fast.Scale(a, 1/s)
				ref.Scale(b, 1/s)
				for i := range a {
					if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
						t.Fatalf("%s n=%d trial %d: element %d = %v, scalar %v", fast.Name(), n, trial, i, a[i], b[i])
					}
				}
			}
		}
	}
	// A NaN in each lane ahead of the maximum in the same lane: the lane's
	// running maximum must pass over it and still take the maximum.
	for _, fast := range vecVariants(t) {
		for lane := range 16 {
			x := make([]float32, 64)
			for i := range x {
				x[i] = float32(r.NormFloat64())
			}
			x[lane], x[lane+32] = float32(math.NaN()), 50
			if m := fast.ScaleMax(x, 2); m != 100 {
				t.Fatalf("%s: NaN at %d, 50 at %d: max %v, want 100", fast.Name(), lane, lane+32, m)
			}
		}
	}
}

// checkHeadScores fails t unless each of the heads' n scores in got
// (oStride apart) has the bits that alone(h, want) writes for head h on
// its own, and the rest of its oStride slots still hold the -7 they were
// filled with.
func checkHeadScores(t *testing.T, shape string, got []float32, oStride, n, heads int, alone func(h int, want []float32)) {
	t.Helper()
	want := make([]float32, n)
	for h := range heads {
		alone(h, want)
		for j := range oStride {
			g := got[h*oStride+j]
			if j >= n {
				if g != -7 {
					t.Fatalf("%s: head %d wrote past its %d outputs", shape, h, n)
				}
				continue
			}
			if math.Float32bits(g) != math.Float32bits(want[j]) {
				t.Fatalf("%s: head %d row %d = %v, alone %v", shape, h, j, g, want[j])
			}
		}
	}
}

// checkHeadSums fails t unless got (heads' sums aStride apart, and the
// slots between them) has the bits of want, the sums one head at a time.
func checkHeadSums(t *testing.T, shape string, got, want []float32, aStride int) {
	t.Helper()
	for i := range got {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: element %d (head %d) = %v, one head at a time %v", shape, i, i/aStride, got[i], want[i])
		}
	}
}

// TestSumF64: the vector path gives the scalar lanes' bits on awkward
// lengths, within float64 rounding of one float64 chain (softmax
// probabilities: positive, spanning many binades), and the exact sum where
// every partial sum is exact.
func TestSumF64(t *testing.T) {
	r := rand.New(rand.NewPCG(49, 50))
	ref := VecOps{}
	for _, fast := range vecVariants(t) {
		for _, n := range []int{0, 1, 15, 16, 17, 31, 33, 64, 100, 1024, 4099} {
			x := make([]float32, n)
			var chain float64
			for i := range x {
				x[i] = float32(math.Exp(-r.Float64() * 40))
				chain += float64(x[i])
			}
			sf, sr := fast.SumF64(x), ref.SumF64(x)
			if math.Float64bits(sf) != math.Float64bits(sr) {
				t.Fatalf("%s n=%d: SumF64 %v, scalar %v", fast.Name(), n, sf, sr)
			}
			// Positive terms: any float64 order is within (n−1)·2^-53·Σ of the
			// exact sum, so two orders within twice that.
			if d := math.Abs(sf - chain); d > 2*float64(max(n-1, 0))*0x1p-53*chain {
				t.Fatalf("%s n=%d: SumF64 %v, one float64 chain %v", fast.Name(), n, sf, chain)
			}
			grid := make([]float32, n)
			chain = 0
			for i := range grid {
				grid[i] = float32(r.IntN(2001)-1000) / 256
				chain += float64(grid[i])
			}
			if g := fast.SumF64(grid); g != chain {
				t.Fatalf("%s n=%d: SumF64 %v of multiples of 1/256, exact %v", fast.Name(), n, g, chain)
			}
			// Signed values over sixty binades: the float64 sums round and
			// cancel, so a lane taken out of its place changes the bits.
			wide := signedWide(r, n)
			if sf, sr := fast.SumF64(wide), ref.SumF64(wide); math.Float64bits(sf) != math.Float64bits(sr) {
				t.Fatalf("%s n=%d: SumF64 %v of signed values over sixty binades, scalar %v", fast.Name(), n, sf, sr)
			}
			if sf, sr := fast.SumSquares(wide), ref.SumSquares(wide); math.Float64bits(sf) != math.Float64bits(sr) {
				t.Fatalf("%s n=%d: SumSquares %v of values over sixty binades, scalar %v", fast.Name(), n, sf, sr)
			}
		}
	}
}

// signedWide returns n values ±m·2^e, m in [1, 2), e in [−40, 20).
func signedWide(r *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		v := math.Ldexp(1+r.Float64(), r.IntN(60)-40)
		if r.IntN(2) == 0 {
			v = -v
		}
		x[i] = float32(v)
	}
	return x
}

// TestNormOps checks SumSquares, ScaleMul and Add: the vector path
// bit-identical to the scalar one on awkward lengths (with guards past
// the outputs), and SumSquares equal to ggml's one float64 chain where
// the squares span few binades (the exactness argument of its comment).
func TestNormOps(t *testing.T) {
	r := rand.New(rand.NewPCG(47, 48))
	ref := VecOps{}
	for _, fast := range vecVariants(t) {
		for _, n := range []int{0, 1, 15, 16, 17, 31, 33, 64, 100, 2048, 2053} {
			x, w, b := make([]float32, n), make([]float32, n), make([]float32, n)
			for i := range x {
				x[i] = float32(r.NormFloat64() * 3)
				w[i] = float32(r.NormFloat64())
				b[i] = float32(r.NormFloat64())
			}
			var chain float64
			for _, v := range x {
				chain += float64(v * v)
			}
			sf, sr := fast.SumSquares(x), ref.SumSquares(x)
			if math.Float64bits(sf) != math.Float64bits(sr) {
				t.Fatalf("%s n=%d: SumSquares %v, scalar %v", fast.Name(), n, sf, sr)
			}
			// Any order of float64 summation is within (n−1)·2^-53·Σ of the
			// exact sum (the squares are positive), so two orders within twice
			// that.
			if d := math.Abs(sf - chain); d > 2*float64(max(n-1, 0))*0x1p-53*chain {
				t.Fatalf("%s n=%d: SumSquares %v, one float64 chain %v", fast.Name(), n, sf, chain)
			}
			// Multiples of 1/64 up to 10 square to multiples of 2^-12 below
			// 2^7: the partial sums stay exact, and so equal whatever the order.
			grid := make([]float32, n)
			chain = 0
			for i := range grid {
				grid[i] = float32(r.IntN(1281)-640) / 64
				chain += float64(grid[i] * grid[i])
			}
			if g := fast.SumSquares(grid); g != chain {
				t.Fatalf("%s n=%d: SumSquares %v of multiples of 1/64, one float64 chain %v", fast.Name(), n, g, chain)
			}
			s := float32(0.3 + r.Float64())
			for _, op := range []struct {
				name string
				run  func(o VecOps, y []float32)
			}{
				{"ScaleMul", func(o VecOps, y []float32) { o.ScaleMul(y, x, w, s) }},
				{"Add", func(o VecOps, y []float32) { o.Add(y, x, b) }},
			} {
				const guard = 5
				got, want := make([]float32, n+guard), make([]float32, n+guard)
				for i := range got {
					got[i], want[i] = -7, -7
				}
				op.run(fast, got)
				op.run(ref, want)
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%s n=%d %s: element %d = %v, scalar %v", fast.Name(), n, op.name, i, got[i], want[i])
					}
				}
				for i := range n {
					var e float32
					if op.name == "Add" {
						e = x[i] + b[i]
					} else {
						e = float32(x[i]*s) * w[i]
					}
					if math.Float32bits(want[i]) != math.Float32bits(e) {
						t.Fatalf("%s n=%d %s: element %d = %v, want %v", fast.Name(), n, op.name, i, want[i], e)
					}
				}
			}
		}
		// In place, as RMSNorm and the residual adds use them.
		x := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17}
		fast.Add(x, x, x)
		fast.ScaleMul(x, x, x, 0.5)
		for i, v := range x {
			if want := float32((i + 1) * (i + 1) * 2); v != want {
				t.Fatalf("%s in place: element %d = %v, want %v", fast.Name(), i, v, want)
			}
		}
	}
}

// TestPrefetchRows: rows reaching past the slice are dropped, not read,
// and degenerate calls prefetch nothing; both paths take every call.
func TestPrefetchRows(t *testing.T) {
	b := make([]byte, 4096)
	for _, c := range []struct {
		name            string
		b               []byte
		n, stride, size int
		want            int
	}{
		{"in bounds", b, 16, 256, 128, 16},
		{"rows past the end", b, 100, 256, 128, 16},
		{"last row ends at the end", b, 100, 256, 256, 16},
		{"last row one byte short", b[:4095], 100, 256, 256, 15},
		{"row larger than b", b, 1, 0, 8192, 0},
		{"zero stride", b, 4, 0, 64, 4},
		{"unaligned tail", b[3:], 5, 1000, 100, 4},
		{"empty", nil, 4, 64, 64, 0},
		{"no rows", b, 0, 64, 64, 0},
		{"negative stride", b, 4, -64, 64, 0},
	} {
		if got := prefetchRowCount(len(c.b), c.n, c.stride, c.size); got != c.want {
			t.Errorf("%s: %d rows prefetched, want %d", c.name, got, c.want)
		}
		for _, o := range allVecOps(t) {
			o.PrefetchRows(c.b, c.n, c.stride, c.size)
		}
	}
}

// BenchmarkF16RowsHeads: the multi-head score and weighted-sum loops for
// the query heads of one KV head (heads=4: one four-head call; pairs=4:
// two two-head calls; single=4: a call a head, which is what the loops
// fall back to), over n rows a slot of eight KV heads apart, as a cache's.
//
//	go test -run '^$' -bench F16RowsHeads -benchtime 2000x ./kernels
func BenchmarkF16RowsHeads(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	const n = 512
	for _, o := range vecVariants(&testing.T{}) {
		for _, d := range []int{64, 128} {
			stride := 8 * d
			k := randF16s(r, (n-1)*stride+d)
			q := randFloats(r, 4*d, 1)
			p := randFloats(r, 4*n, 1)
			out := make([]float32, 4*n)
			acc := make([]float32, 4*d)
			for _, c := range []struct {
				name     string
				heads, g int // heads in calls of g
			}{{"heads=4", 4, 4}, {"pairs=4", 4, 2}, {"single=4", 4, 1}, {"heads=3", 3, 3}, {"heads=2", 2, 2}} {
				b.Run(fmt.Sprintf("%s/d=%d/dot/%s", o.Name(), d, c.name), func(b *testing.B) {
					for range b.N {
						for h := 0; h < c.heads; h += c.g {
							o.DotF16RowsHeads(out[h*n:], n, n, q[h*d:], d, d, c.g, k, stride)
						}
					}
				})
				b.Run(fmt.Sprintf("%s/d=%d/axpy/%s", o.Name(), d, c.name), func(b *testing.B) {
					for range b.N {
						for h := 0; h < c.heads; h += c.g {
							o.AxpyF16RowsHeads(acc[h*d:], d, d, p[h*n:], n, n, c.g, k, stride)
						}
					}
				})
			}
		}
	}
}

// BenchmarkAxpyQ8_0Rows: one head's weighted sum over n Q8_0 rows of 64
// a slot of eight KV heads apart, per path (the reference included).
//
//	go test -run '^$' -bench AxpyQ8_0Rows -benchtime 2000x ./kernels
func BenchmarkAxpyQ8_0Rows(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 8))
	const n, nb = 512, 2
	stride := 8 * nb * q8_0Bytes
	v := randQ8_0Rows(r, n, nb, stride)
	p := randFloats(r, n, 1)
	acc := make([]float32, nb*32)
	for _, o := range allVecOps(&testing.T{}) {
		b.Run(o.Name(), func(b *testing.B) {
			for range b.N {
				o.AxpyQ8_0Rows(acc, p, v, stride)
			}
		})
	}
}

// BenchmarkVecPasses: the passes that run between the matmuls, per path
// (the reference included), in ns an element: a softmax's three passes
// over 4096 scores, an RMSNorm (sum of squares, then scale times weight)
// of 2048, a residual add, and an fp16 store of 4096 values.
//
//	go test -run '^$' -bench VecPasses -benchtime 20000x ./kernels
func BenchmarkVecPasses(b *testing.B) {
	r := rand.New(rand.NewPCG(9, 10))
	x := randFloats(r, 4096, 4)
	w := randFloats(r, 2048, 1)
	y := make([]float32, 4096)
	h := make([]uint16, 4096)
	for _, o := range allVecOps(&testing.T{}) {
		for _, c := range []struct {
			name string
			n    int
			run  func()
		}{
			{"softmax", 4096, func() {
				copy(y, x)
				m := o.ScaleMax(y, 0.125)
				o.SubScalar(y, m)
				o.Scale(y, 0.5)
			}},
			{"rmsnorm", 2048, func() {
				s := float32(1 / math.Sqrt(o.SumSquares(x[:2048])/2048+1e-6))
				o.ScaleMul(y[:2048], x[:2048], w, s)
			}},
			{"add", 2048, func() { o.Add(y[:2048], x[:2048], w) }},
			{"tof16", 4096, func() { o.ToF16(h, x) }},
		} {
			b.Run(o.Name()+"/"+c.name, func(b *testing.B) {
				for range b.N {
					c.run()
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(c.n), "ns/elem")
			})
		}
	}
}

// TestDotRowsBelowOneChunk: a head smaller than one 16-element chunk (the
// tiny test models' 8) has no lanes to sum, so each score is its elements'
// fused multiply-adds in order from +0, on every path.
func TestDotRowsBelowOneChunk(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, o := range append(vecVariants(t), VecOps{}) {
		for _, d := range []int{1, 7, 8, 15} {
			const n, stride = 5, 19
			q := randF32s(r, d)
			k16 := randF16s(r, (n-1)*stride+d)
			k32 := randF32s(r, (n-1)*stride+d)
			got16, got32 := make([]float32, n), make([]float32, n)
			o.DotF16Rows(got16, q, k16, stride)
			o.DotF32Rows(got32, q, k32, stride)
			for j := range n {
				var w16, w32 float32
				for e := range d {
					w16 = fma32(q[e], quant.FP16ToFP32(k16[j*stride+e]), w16)
					w32 = fma32(q[e], k32[j*stride+e], w32)
				}
				if math.Float32bits(got16[j]) != math.Float32bits(w16) || math.Float32bits(got32[j]) != math.Float32bits(w32) {
					t.Fatalf("%s d=%d row %d: f16 %g (want %g), f32 %g (want %g)", o.Name(), d, j, got16[j], w16, got32[j], w32)
				}
			}
		}
	}
}

// TestSoftmaxPassesFused: ExpSumF64 gives the bits of SubScalar, Exp and
// SumF64 one after another, and ScaleRoundF16 those of Scale and
// RoundF16, on every path and the reference, for awkward lengths (the
// masked tails), scores over a wide range with the row's maximum among
// them, -Inf (masked positions), +Inf and NaN.
func TestSoftmaxPassesFused(t *testing.T) {
	r := rand.New(rand.NewPCG(71, 72))
	same := func(a, b float32) bool {
		return math.Float32bits(a) == math.Float32bits(b) || (a != a && b != b)
	}
	for _, o := range allVecOps(t) {
		for _, n := range []int{0, 1, 7, 15, 16, 17, 31, 32, 33, 47, 100, 161, 1024, 4099} {
			for _, special := range []float32{0, float32(math.Inf(-1)), float32(math.Inf(1)), float32(math.NaN())} {
				x := make([]float32, n)
				m := float32(math.Inf(-1))
				for i := range x {
					x[i] = float32(r.NormFloat64() * 30)
					m = max(m, x[i])
				}
				if special != 0 && n > 0 {
					for k := 0; k < 3; k++ {
						x[r.IntN(n)] = special
					}
				}
				want := append([]float32(nil), x...)
				o.SubScalar(want, m)
				o.Exp(want, want)
				wantSum := o.SumF64(want)
				got := append([]float32(nil), x...)
				gotSum := o.ExpSumF64(got, m)
				if math.Float64bits(gotSum) != math.Float64bits(wantSum) && !(gotSum != gotSum && wantSum != wantSum) {
					t.Fatalf("%s n=%d (%v): ExpSumF64 sum %v, the three passes %v", o.Name(), n, special, gotSum, wantSum)
				}
				for i := range got {
					if !same(got[i], want[i]) {
						t.Fatalf("%s n=%d (%v): ExpSumF64 x[%d] = %v, the three passes %v", o.Name(), n, special, i, got[i], want[i])
					}
				}
				s := float32(1 / wantSum)
				o.Scale(want, s)
				o.RoundF16(want, want)
				o.ScaleRoundF16(got, s)
				for i := range got {
					if !same(got[i], want[i]) {
						t.Fatalf("%s n=%d (%v): ScaleRoundF16 x[%d] = %v, Scale then RoundF16 %v", o.Name(), n, special, i, got[i], want[i])
					}
				}
			}
		}
	}
}
