package kernels

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/nuri-ai/nuri/quant"
)

// allTypes are the weight types MatMul accepts.
var allTypes = []quant.Type{
	quant.F32, quant.F16, quant.BF16,
	quant.Q4_0, quant.Q4_1, quant.Q5_0, quant.Q5_1, quant.Q8_0,
	quant.Q2_K, quant.Q3_K, quant.Q4_K, quant.Q5_K, quant.Q6_K,
	quant.IQ4_NL, quant.IQ4_XS,
	quant.IQ2_XXS, quant.IQ2_XS, quant.IQ2_S, quant.IQ3_XXS, quant.IQ3_S, quant.IQ1_S, quant.IQ1_M,
}

// randWeights returns rows×cols weights of type wt. quantized=true runs
// random floats through quant.Quantize (realistic data); false fills the
// blocks with random bytes and only makes the float scale fields sane, so
// every quant bit pattern (e.g. -128 in Q8_0, which the quantizer never
// emits) is exercised. The i-quants below 4 bits always take random bytes:
// their codebook searches would slow the sweeps, and random codes reach
// every entry.
func randWeights(rng *rand.Rand, wt quant.Type, rows, cols int, quantized bool) []byte {
	rb, err := wt.RowBytes(cols)
	if err != nil {
		panic(err)
	}
	w := make([]byte, rows*rb)
	if quantized && !quant.IQTranscodable(wt) {
		f := randFloats(rng, rows*cols, 0.05)
		if err := quant.Quantize(wt, f, w); err != nil {
			panic(err)
		}
		return w
	}
	for i := range w {
		w[i] = byte(rng.Uint32())
	}
	fp16 := func(off int, scale float32) {
		binary.LittleEndian.PutUint16(w[off:], quant.FP32ToFP16((rng.Float32()*2-1)*scale))
	}
	switch wt {
	case quant.F32:
		for i := 0; i < rows*cols; i++ {
			binary.LittleEndian.PutUint32(w[4*i:], math.Float32bits(float32(rng.NormFloat64())))
		}
	case quant.F16:
		for i := 0; i < rows*cols; i++ {
			fp16(2*i, 2)
		}
	case quant.BF16:
		for i := 0; i < rows*cols; i++ {
			binary.LittleEndian.PutUint16(w[2*i:], quant.FP32ToBF16(float32(rng.NormFloat64())))
		}
	default:
		bb := wt.BlockBytes()
		var offs []int // fp16 fields inside a block
		switch wt {
		case quant.Q4_0, quant.Q5_0, quant.Q8_0, quant.IQ4_NL, quant.IQ4_XS,
			quant.IQ2_XXS, quant.IQ2_XS, quant.IQ2_S, quant.IQ3_XXS, quant.IQ3_S, quant.IQ1_S:
			offs = []int{0}
		case quant.Q4_1, quant.Q5_1, quant.Q4_K, quant.Q5_K:
			offs = []int{0, 2}
		case quant.Q2_K:
			offs = []int{80, 82}
		case quant.Q3_K:
			offs = []int{108}
		case quant.Q6_K:
			offs = []int{208}
		}
		for b := 0; b < len(w)/bb; b++ {
			for _, o := range offs {
				fp16(b*bb+o, 0.01)
			}
			if wt == quant.IQ1_M { // d's fp16 in the top nibbles of its four scale words
				d := quant.FP32ToFP16((rng.Float32()*2 - 1) * 0.01)
				for k := range 4 {
					o := b*bb + 48 + 2*k
					v := binary.LittleEndian.Uint16(w[o:])&0x0fff | (d>>(4*k)&0xf)<<12
					binary.LittleEndian.PutUint16(w[o:], v)
				}
			}
		}
	}
	return w
}

// randFloats returns normal values times scale with a few large outliers.
func randFloats(rng *rand.Rand, n int, scale float64) []float32 {
	f := make([]float32, n)
	for i := range f {
		v := rng.NormFloat64() * scale
		if rng.IntN(97) == 0 {
			v *= 30
		}
		f[i] = float32(v)
	}
	return f
}

// reference computes MatMul's result the obvious way from quant's functions,
// independently of the package's driver and scratch handling.
func reference(t testing.TB, wt quant.Type, w []byte, rows, cols int, x []float32, nx int) []float32 {
	at := quant.VecDotType(wt)
	arb, err := at.RowBytes(cols)
	if err != nil {
		t.Fatal(err)
	}
	wrb, _ := wt.RowBytes(cols)
	y := make([]float32, nx*rows)
	a := make([]byte, arb)
	for i := 0; i < nx; i++ {
		if err := quant.QuantizeActivations(at, x[i*cols:(i+1)*cols], a); err != nil {
			t.Fatal(err)
		}
		for r := 0; r < rows; r++ {
			y[i*rows+r] = quant.VecDot(wt, cols, w[r*wrb:(r+1)*wrb], a)
		}
	}
	return y
}

// magnitude returns Σ_j |w_j·a_j| per output in float64 from dequantized
// weights and activations: the scale of the rounding error any summation
// order can make.
func magnitude(t testing.TB, wt quant.Type, w []byte, rows, cols int, x []float32, nx int) []float64 {
	at := quant.VecDotType(wt)
	arb, _ := at.RowBytes(cols)
	wrb, _ := wt.RowBytes(cols)
	wf := make([]float32, cols)
	af := make([][]float32, nx)
	a := make([]byte, arb)
	for i := range af {
		if err := quant.QuantizeActivations(at, x[i*cols:(i+1)*cols], a); err != nil {
			t.Fatal(err)
		}
		af[i] = make([]float32, cols)
		if err := quant.Dequantize(at, a, af[i]); err != nil {
			t.Fatal(err)
		}
	}
	m := make([]float64, nx*rows)
	mins := make([]float32, cols)
	zq := make([]byte, wrb)
	for r := 0; r < rows; r++ {
		row := w[r*wrb : (r+1)*wrb]
		if err := quant.Dequantize(wt, row, wf); err != nil {
			t.Fatal(err)
		}
		// For types with a min or offset term, w = d·sc·q − m (Q6_K:
		// d·sc·q − 32·d·sc, Q3_K: d·sc·u − 4·d·sc): the kernels sum the
		// two parts separately, so their rounding scales with |m| too.
		// Zeroing the quants leaves w = −m.
		clear(mins)
		if lo, hi, ok := quantBytes(wt); ok {
			copy(zq, row)
			bb := wt.BlockBytes()
			for b := 0; b < len(zq)/bb; b++ {
				clear(zq[b*bb+lo : b*bb+hi])
			}
			if err := quant.Dequantize(wt, zq, mins); err != nil {
				t.Fatal(err)
			}
		}
		for i := 0; i < nx; i++ {
			var s float64
			for j, v := range wf {
				s += (math.Abs(float64(v)) + 2*math.Abs(float64(mins[j]))) * math.Abs(float64(af[i][j]))
			}
			m[i*rows+r] = s
		}
	}
	return m
}

// quantBytes returns the byte range of the quant bits inside a block of the
// types whose dequantization has a min or offset term that the kernels
// handle separately.
func quantBytes(wt quant.Type) (lo, hi int, ok bool) {
	switch wt {
	case quant.Q4_1:
		return 4, 20, true
	case quant.Q5_1:
		return 4, 24, true
	case quant.Q2_K:
		return 16, 80, true
	case quant.Q3_K:
		return 0, 96, true // hmask and qs: every code u = 0, w = −4·d·sc
	case quant.Q4_K:
		return 16, 144, true
	case quant.Q5_K:
		return 16, 176, true
	case quant.Q6_K:
		return 0, 192, true
	}
	return 0, 0, false
}

const guard = 4 // sentinel floats before and after y

var sentinel = float32(math.Float32frombits(0x7fc0dead)) // a NaN payload

// runGuarded calls MatMul into a y with sentinels around it and checks them.
func runGuarded(t testing.TB, p *Pool, wt quant.Type, w []byte, rows, cols int, x []float32, nx int) []float32 {
	t.Helper()
	return runGuardedWith(t, func(y []float32) { MatMul(p, y, w, wt, rows, cols, x, nx) }, wt, rows, cols, nx)
}

// runGuardedWith runs mm into a y with sentinels around it and checks them.
func runGuardedWith(t testing.TB, mm func(y []float32), wt quant.Type, rows, cols, nx int) []float32 {
	t.Helper()
	buf := make([]float32, nx*rows+2*guard)
	for i := range buf {
		buf[i] = sentinel
	}
	y := buf[guard : guard+nx*rows]
	mm(y)
	for i := 0; i < guard; i++ {
		if math.Float32bits(buf[i]) != 0x7fc0dead || math.Float32bits(buf[len(buf)-1-i]) != 0x7fc0dead {
			t.Fatalf("%v rows=%d cols=%d nx=%d: guard value overwritten", wt, rows, cols, nx)
		}
	}
	for i, v := range y {
		if math.Float32bits(v) == 0x7fc0dead {
			t.Fatalf("%v rows=%d cols=%d nx=%d: output %d not written", wt, rows, cols, nx, i)
		}
	}
	return y
}

// fastTol is the bound for fast-vs-reference differences: both sum the same
// exact per-block integer products, in different float orders, so each is
// within a few ulps·(number of terms) of the exact sum Σ|w·a|·ε.
const fastTol = 2e-6

func colsFor(wt quant.Type) []int {
	bs := wt.BlockSize()
	if bs == 1 {
		return []int{1, 7, 32, 67, 256}
	}
	if bs == quant.QK_K {
		return []int{256, 768, 1280} // 1, 3 and 5 super-blocks
	}
	return []int{32, 96, 224, 544} // 1, 3, 7 and 17 blocks
}

func TestMatMulMatchesReference(t *testing.T) {
	p := newTestPool(t, 2)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, wt := range sweepTypes(allTypes) {
		t.Run(wt.String(), func(t *testing.T) {
			for _, quantized := range []bool{true, false} {
				for _, cols := range colsFor(wt) {
					for _, rows := range []int{1, 3, 17, 33} {
						w := randWeights(rng, wt, rows, cols, quantized)
						for _, nx := range []int{1, 2, 3, 5, 8, 17} {
							x := randFloats(rng, nx*cols, 1)
							got := runGuarded(t, p, wt, w, rows, cols, x, nx)
							want := reference(t, wt, w, rows, cols, x, nx)
							compare(t, p, wt, w, rows, cols, x, nx, got, want,
								fmt.Sprintf("quantized=%v rows=%d cols=%d nx=%d", quantized, rows, cols, nx))
						}
					}
				}
			}
		})
	}
}

// compare demands bit equality on the reference path and the fastTol bound
// on a fast kernel.
func compare(t *testing.T, p *Pool, wt quant.Type, w []byte, rows, cols int, x []float32, nx int, got, want []float32, what string) {
	t.Helper()
	compareNamed(t, p.KernelName(wt), wt, w, rows, cols, x, nx, got, want, what)
}

func compareNamed(t *testing.T, name string, wt quant.Type, w []byte, rows, cols int, x []float32, nx int, got, want []float32, what string) {
	t.Helper()
	// The reference path, and the arm64 kernels, which take the
	// reference's float steps in its order, must give the reference's bits.
	if name == "generic" || strings.HasSuffix(name, "/neon+dotprod") {
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%s (%s): y[%d] = %g, reference %g (must be bit-identical)", what, name, i, got[i], want[i])
			}
		}
		return
	}
	mag := magnitude(t, wt, w, rows, cols, x, nx)
	tol := fastTol
	if wt.BlockSize() == 1 {
		// Float kernels: 8 lanes of cols/8 FMAs each, then the lane tree;
		// the reference rounds each product and sums in float64.
		tol = max(tol, float64(2*cols/8+32)*0x1p-24)
	}
	for i := range want {
		d := math.Abs(float64(got[i]) - float64(want[i]))
		if d > tol*mag[i] || math.IsNaN(float64(got[i])) {
			t.Fatalf("%s (%s): y[%d] = %g, reference %g, |diff| %g > %g·Σ|w·a| = %g",
				what, name, i, got[i], want[i], d, tol, tol*mag[i])
		}
	}
}

// TestBatchInvariance: an output's bits do not depend on the other rows of
// the batch, their number, its position in the batch, or the thread count.
func TestBatchInvariance(t *testing.T) {
	pools := []*Pool{newTestPool(t, 1), newTestPool(t, 2), newTestPool(t, 3)}
	rng := rand.New(rand.NewPCG(3, 4))
	const rows, nx = 67, 16
	for _, wt := range allTypes {
		cols := 512
		if wt.BlockSize() == quant.QK_K {
			cols = 1024
		}
		w := randWeights(rng, wt, rows, cols, true)
		x := randFloats(rng, nx*cols, 1)
		batch := runGuarded(t, pools[1], wt, w, rows, cols, x, nx)
		for pi, p := range pools {
			for i := 0; i < nx; i++ {
				alone := runGuarded(t, p, wt, w, rows, cols, x[i*cols:(i+1)*cols], 1)
				// Also at a different position inside a shorter batch.
				shift := i % 3
				var part []float32
				if i >= shift && i-shift+5 <= nx {
					part = runGuarded(t, p, wt, w, rows, cols, x[(i-shift)*cols:(i-shift+5)*cols], 5)[shift*rows:]
				}
				for r := 0; r < rows; r++ {
					b := math.Float32bits(batch[i*rows+r])
					if a := math.Float32bits(alone[r]); a != b {
						t.Fatalf("%v pool %d: row %d output %d alone %08x, in batch of %d %08x", wt, pi, i, r, a, nx, b)
					}
					if part != nil && math.Float32bits(part[r]) != b {
						t.Fatalf("%v pool %d: row %d output %d at batch position %d differs", wt, pi, i, r, shift)
					}
				}
			}
		}
	}
}

func TestMatMulRejectsBadShapes(t *testing.T) {
	w := make([]byte, 2*34)
	x := make([]float32, 64)
	y := make([]float32, 4)
	cases := []struct {
		name           string
		wt             quant.Type
		rows, cols, nx int
		w              []byte
		x, y           []float32
	}{
		{"cols not a block multiple", quant.Q8_0, 2, 33, 1, w, x, y},
		{"weights too short", quant.Q8_0, 3, 32, 1, w, x, y},
		{"activations too short", quant.Q8_0, 2, 32, 3, w, x, y},
		{"outputs too short", quant.Q8_0, 2, 32, 2, w, x, y[:3]},
		{"zero rows", quant.Q8_0, 0, 32, 1, w, x, y},
		{"no dot product", quant.Q8_K, 1, 256, 1, make([]byte, 292), make([]float32, 256), y},
		{"unknown type", quant.Type(200), 1, 32, 1, w, x, y},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := CheckMatMul(c.y, c.w, c.wt, c.rows, c.cols, c.x, c.nx); err == nil {
				t.Fatal("CheckMatMul accepted it")
			}
			defer func() {
				if recover() == nil {
					t.Fatal("MatMul did not panic")
				}
			}()
			MatMul(nil, c.y, c.w, c.wt, c.rows, c.cols, c.x, c.nx)
		})
	}
	if err := CheckMatMul(y, w, quant.Q8_0, 2, 32, x, 2); err != nil {
		t.Fatalf("valid shape rejected: %v", err)
	}
}

func TestMatMulNilPoolAndZeroBatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	w := randWeights(rng, quant.Q4_0, 9, 64, true)
	x := randFloats(rng, 3*64, 1)
	got := runGuarded(t, nil, quant.Q4_0, w, 9, 64, x, 3)
	p := newTestPool(t, 2)
	p.SetGeneric(false) // the nil Pool always takes the fast path
	want := runGuarded(t, p, quant.Q4_0, w, 9, 64, x, 3)
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("nil pool y[%d] = %g, pool %g", i, got[i], want[i])
		}
	}
	MatMul(p, nil, w, quant.Q4_0, 9, 64, nil, 0) // nx = 0 is a no-op
}

func TestMatMulDoesNotAllocate(t *testing.T) {
	p := newTestPool(t, 2)
	rng := rand.New(rand.NewPCG(7, 8))
	for _, wt := range []quant.Type{quant.Q4_0, quant.Q8_0, quant.Q4_K, quant.Q6_K, quant.F16} {
		cols := 1024
		w := randWeights(rng, wt, 64, cols, true)
		x := randFloats(rng, 4*cols, 1)
		y := make([]float32, 4*64)
		MatMul(p, y, w, wt, 64, cols, x, 4) // sizes the scratch
		allocs := testing.AllocsPerRun(20, func() { MatMul(p, y, w, wt, 64, cols, x, 4) })
		if allocs != 0 {
			t.Errorf("%v: %v allocations per MatMul", wt, allocs)
		}
	}
}

// TestEveryKernelVariant runs each kernel this CPU supports (not only the
// preferred one) against the reference on awkward shapes, checks batch
// invariance for it, and checks that variants documented as bit-identical
// to the AVX2 kernel (same lane layout) are.
func TestEveryKernelVariant(t *testing.T) {
	p := newTestPool(t, 2)
	rng := rand.New(rand.NewPCG(15, 16))
	for wt, ks := range kernelVariants() {
		for _, quantized := range []bool{true, false} {
			for _, cols := range colsFor(wt) {
				const rows = 45 // chunks of 5 rows on 2 threads: oneRows runs 4 + 1
				w := randWeights(rng, wt, rows, cols, quantized)
				for _, nx := range []int{1, 3, 5, 8, 17} {
					x := randFloats(rng, nx*cols, 1)
					want := reference(t, wt, w, rows, cols, x, nx)
					var avx2 []float32
					for _, k := range ks {
						got := runGuardedWith(t, func(y []float32) { matMulKernel(p, y, w, wt, rows, cols, x, nx, k) }, wt, rows, cols, nx)
						what := fmt.Sprintf("%s quantized=%v cols=%d nx=%d", k.name, quantized, cols, nx)
						compareNamed(t, k.name, wt, w, rows, cols, x, nx, got, want, what)
						for i := 0; i < nx; i++ {
							alone := runGuardedWith(t, func(y []float32) {
								matMulKernel(p, y, w, wt, rows, cols, x[i*cols:(i+1)*cols], 1, k)
							}, wt, rows, cols, 1)
							for r := range alone {
								if math.Float32bits(alone[r]) != math.Float32bits(got[i*rows+r]) {
									t.Fatalf("%s: row %d output %d alone differs from batch of %d", what, i, r, nx)
								}
							}
						}
						if strings.HasSuffix(k.name, "/avx2") {
							avx2 = got
						}
						// avx2+vnni (Q4_0, Q8_0), avx2+avxvnni and avx512
						// (K-quants) keep the AVX2 lane layout: same bits.
						if (strings.HasSuffix(k.name, "/avx2+vnni") || strings.HasSuffix(k.name, "/avx2+avxvnni") || strings.HasSuffix(k.name, "/avx512")) && avx2 != nil {
							for i := range got {
								if math.Float32bits(got[i]) != math.Float32bits(avx2[i]) {
									t.Fatalf("%s: y[%d] differs from the avx2 variant", what, i)
								}
							}
						}
					}
				}
			}
		}
	}
}
