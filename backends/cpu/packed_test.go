package cpu_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/backends/cpu"
	"github.com/nuri-ai/nuri/internal/testshared"
	"github.com/nuri-ai/nuri/kernels"
	"github.com/nuri-ai/nuri/quant"
)

// TestUploadRepacks: weights are repacked at Upload when the CPU has the
// packed kernels (OwnsCopy says so, MatMul then gives MatMulPacked's bits)
// or copied where it streams them with row kernels instead
// (TestUploadCopiesPlain); a device forced onto the reference kernels
// keeps using the caller's bytes, and every route agrees within float
// rounding.
func TestUploadRepacks(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	const rows, cols, nx = 37, 512, 5
	for _, wt := range []quant.Type{quant.Q4_0, quant.Q8_0, quant.Q6_K, quant.Q4_K, quant.Q5_K, quant.Q5_0, quant.Q4_1, quant.F16, quant.BF16, quant.F32} {
		src := randVec(r, rows*cols, 0.1)
		rb, _ := wt.RowBytes(cols)
		wb := make([]byte, rows*rb)
		if err := quant.Quantize(wt, src, wb); err != nil {
			t.Fatal(err)
		}
		x := randVec(r, nx*cols, 1)
		run := func(generic bool) ([]float32, bool) {
			f := newFixture(t)
			f.dev.SetGeneric(generic)
			w, err := f.dev.Upload("w", wt, rows, cols, wb)
			if err != nil {
				t.Fatal(err)
			}
			xt := f.tensor("x", nx, cols, x)
			y := f32Tensor(t, f.dev, "y", nx, rows)
			f.s.MatMul(y, w, xt)
			f.sync()
			return append([]float32(nil), hostF32(t, y)...), f.dev.OwnsCopy(w)
		}
		fast, owns := run(false)
		ref, refOwns := run(true)
		packs, plain := deviceCopies(wt, cols)
		if want := packs || plain; owns != want {
			t.Errorf("%v: OwnsCopy = %v, want %v (packs %v, plain copy %v)", wt, owns, want, packs, plain)
		}
		if refOwns {
			t.Errorf("%v: a device forced onto the reference kernels repacked or copied", wt)
		}
		if packs {
			p := kernels.NewPool(1)
			pw, err := kernels.PackWeights(p, wt, wb, rows, cols)
			if err != nil {
				t.Fatal(err)
			}
			want := make([]float32, nx*rows)
			kernels.MatMulPacked(p, want, pw, x, nx)
			p.Close()
			for i := range want {
				if math.Float32bits(fast[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%v: y[%d] = %g, MatMulPacked %g", wt, i, fast[i], want[i])
				}
			}
		}
		// Same integer block dots, other float summation orders (bound:
		// the matmul goldens' 1e-5; observed ≤ 1.4e-6).
		if rel := testshared.RelRMS(fast, ref); rel > 1e-5 {
			t.Errorf("%v: fast and reference routes differ by rel-RMS %.3g", wt, rel)
		}
	}
}

// deviceCopies reports whether a default device repacks a weight of type
// t and cols columns at Upload, and whether it copies it as it is instead.
func deviceCopies(t quant.Type, cols int) (packs, plain bool) {
	p := kernels.NewPool(1)
	defer p.Close()
	packs = kernels.PackableShape(t, cols) && p.Packs(t)
	return packs, !packs && p.CopiesPlain(t)
}

// TestOwnsCopyForeignTensor: a tensor the device never uploaded is not
// reported as owned.
func TestOwnsCopyForeignTensor(t *testing.T) {
	dev := cpu.New(1)
	defer dev.Close()
	b := make([]byte, 18*4)
	tt := backends.Tensor{Name: "w", Buf: backends.WrapHost(b), Type: quant.Q4_0, Rows: 2, Cols: 64}
	if dev.OwnsCopy(tt) {
		t.Error("OwnsCopy true for a tensor that was never uploaded")
	}
}

// TestMatMulShared: the stream's shared-input matmul leaves every output
// exactly as a separate MatMul does, for weights of one packed type (one
// shared job), for a mix of types (grouped by what can share an input, the
// rest one by one), for Q4_K_M's q/k/v (two Q4_K matrices around a Q6_K
// one, one job) and for three K-quant types (two to a job).
func TestMatMulShared(t *testing.T) {
	r := rand.New(rand.NewPCG(43, 44))
	const cols, nx = 256, 3
	for _, types := range [][]quant.Type{{quant.Q4_0, quant.Q4_0, quant.Q4_0}, {quant.Q4_K, quant.Q6_K}, {quant.Q8_0, quant.F16},
		{quant.Q4_K, quant.Q6_K, quant.Q4_K}, {quant.Q6_K, quant.Q4_K, quant.Q4_K, quant.Q6_K}, {quant.Q4_K, quant.Q6_K, quant.Q5_K, quant.Q4_K}} {
		f := newFixture(t)
		rowCounts := []int{40, 9, 16, 33}
		x := f.tensor("x", nx, cols, randVec(r, nx*cols, 1))
		var ws, dsts, alone []backends.Tensor
		for i, wt := range types {
			w := f.weight(r, "w", wt, rowCounts[i], cols, f.dev.Upload)
			ws = append(ws, w)
			dsts = append(dsts, f32Tensor(t, f.dev, "y", nx, rowCounts[i]))
			alone = append(alone, f32Tensor(t, f.dev, "y1", nx, rowCounts[i]))
			f.s.MatMul(alone[i], w, x)
		}
		sm, ok := f.s.(backends.SharedMatMuler)
		if !ok {
			t.Fatal("the CPU stream does not implement backends.SharedMatMuler")
		}
		sm.MatMulShared(dsts, ws, x)
		f.sync()
		for i := range ws {
			got, want := hostF32(t, dsts[i]), hostF32(t, alone[i])
			for j := range want {
				if math.Float32bits(got[j]) != math.Float32bits(want[j]) {
					t.Fatalf("%v: matrix %d y[%d] = %g, alone %g", types, i, j, got[j], want[j])
				}
			}
		}
		// A shape error is reported, not panicked on.
		sm.MatMulShared(dsts[:1], ws[1:2], x)
		if err := f.s.Sync(); err == nil {
			t.Errorf("%v: mismatched output shape: no error", types)
		}
	}
}

// TestMatMulGrouped: the stream's grouped matmul (each weight its own row
// of x) leaves every output exactly as MatMul of that row does, for one
// packed type (one job), mixed types (grouped by what can share a call,
// the rest one by one) and a one-row weight (not packed); bad rows and
// shapes are reported, not panicked on.
func TestMatMulGrouped(t *testing.T) {
	r := rand.New(rand.NewPCG(47, 48))
	const cols, nx = 256, 4
	for _, types := range [][]quant.Type{{quant.Q4_0, quant.Q4_0, quant.Q4_0, quant.Q4_0}, {quant.Q4_K, quant.Q6_K, quant.Q4_K},
		{quant.Q8_0, quant.F16, quant.Q8_0}, {quant.Q6_K, quant.Q4_0, quant.Q4_K, quant.Q6_K}} {
		f := newFixture(t)
		rowCounts := []int{40, 1, 16, 33}
		rows := []int{3, 0, 3, 1}
		x := f.tensor("x", nx, cols, randVec(r, nx*cols, 1))
		var ws, dsts, alone []backends.Tensor
		for i, wt := range types {
			w := f.weight(r, "w", wt, rowCounts[i], cols, f.dev.Upload)
			ws = append(ws, w)
			dsts = append(dsts, f32Tensor(t, f.dev, "y", 1, rowCounts[i]))
			alone = append(alone, f32Tensor(t, f.dev, "y1", 1, rowCounts[i]))
			xr := x
			xr.Off, xr.Rows = x.Off+rows[i]*cols*4, 1
			f.s.MatMul(alone[i], w, xr)
		}
		gm, ok := f.s.(backends.GroupedMatMuler)
		if !ok {
			t.Fatal("the CPU stream does not implement backends.GroupedMatMuler")
		}
		gm.MatMulGrouped(dsts, ws, x, rows[:len(ws)])
		f.sync()
		for i := range ws {
			got, want := hostF32(t, dsts[i]), hostF32(t, alone[i])
			for j := range want {
				if math.Float32bits(got[j]) != math.Float32bits(want[j]) {
					t.Fatalf("%v: matrix %d y[%d] = %g, alone %g", types, i, j, got[j], want[j])
				}
			}
		}
		for _, bad := range [][]int{{nx, 0, 0, 0}, {-1, 0, 0, 0}, {0}} {
			gm.MatMulGrouped(dsts, ws, x, bad[:min(len(bad), len(ws))])
			if err := f.s.Sync(); err == nil {
				t.Errorf("%v: rows %v: no error", types, bad)
			}
		}
		gm.MatMulGrouped(dsts[:1], ws[1:2], x, rows[:1])
		if err := f.s.Sync(); err == nil {
			t.Errorf("%v: mismatched output shape: no error", types)
		}
	}
}

// TestMatMulResidual: MatMulResidual(x, tmp, w, in) leaves tmp as MatMul
// and x as MatMul then Add, bit for bit, for packed weights (the fused
// path) and unpacked ones (a one-row weight is not packed: separate ops);
// a mismatched residual is an error.
func TestMatMulResidual(t *testing.T) {
	r := rand.New(rand.NewPCG(45, 46))
	const cols = 256
	for _, wt := range []quant.Type{quant.Q4_0, quant.Q6_K, quant.F32, quant.Q5_1} {
		for _, sh := range []struct{ rows, nx int }{{40, 1}, {531, 1}, {33, 3}, {1, 2}} {
			f := newFixture(t)
			w := f.weight(r, "w", wt, sh.rows, cols, f.dev.Upload)
			in := f.tensor("in", sh.nx, cols, randVec(r, sh.nx*cols, 1))
			start := randVec(r, sh.nx*sh.rows, 1)
			x := f.tensor("x", sh.nx, sh.rows, start)
			xRef := f.tensor("x_ref", sh.nx, sh.rows, start)
			tmp, tmpRef := f32Tensor(t, f.dev, "tmp", sh.nx, sh.rows), f32Tensor(t, f.dev, "tmp_ref", sh.nx, sh.rows)
			rm, ok := f.s.(backends.ResidualMatMuler)
			if !ok {
				t.Fatal("the CPU stream does not implement backends.ResidualMatMuler")
			}
			rm.MatMulResidual(x, tmp, w, in)
			f.s.MatMul(tmpRef, w, in)
			f.s.Add(xRef, xRef, tmpRef)
			f.sync()
			name := fmt.Sprintf("%v %dx%d nx=%d", wt, sh.rows, cols, sh.nx)
			for _, c := range []struct {
				what      string
				got, want backends.Tensor
			}{{"tmp", tmp, tmpRef}, {"x", x, xRef}} {
				got, want := hostF32(t, c.got), hostF32(t, c.want)
				for j := range want {
					if math.Float32bits(got[j]) != math.Float32bits(want[j]) {
						t.Fatalf("%s: %s[%d] = %g, separate ops %g", name, c.what, j, got[j], want[j])
					}
				}
			}
			rm.MatMulResidual(f32Tensor(t, f.dev, "short", sh.nx, sh.rows-1), tmp, w, in)
			if err := f.s.Sync(); err == nil {
				t.Errorf("%s: mismatched residual: no error", name)
			}
		}
	}
}

// TestUploadCopiesPlain: under each kernel set, a weight is repacked,
// copied as it is (kernels.Pool.CopiesPlain: no packed kernel, but a row
// kernel, and an Arena on huge pages) or read in place, and OwnsCopy says
// which. The tensor Upload returns still wraps the caller's bytes, yet
// MatMul and GetRows read the device's copy: with the caller's bytes
// overwritten afterwards they give what they gave before.
func TestUploadCopiesPlain(t *testing.T) {
	r := rand.New(rand.NewPCG(43, 44))
	const rows, cols, nx = 21, 256, 3
	copied := 0
	for _, ks := range []kernels.KernelSet{kernels.KernelsBest, kernels.KernelsAVX2, kernels.KernelsGeneric} {
		p := kernels.NewPool(1)
		p.SetKernelSet(ks)
		for _, wt := range []quant.Type{quant.Q4_0, quant.Q8_0, quant.Q4_K, quant.Q6_K, quant.IQ4_NL, quant.F16} {
			rb, _ := wt.RowBytes(cols)
			wb := make([]byte, rows*rb)
			if err := quant.Quantize(wt, randVec(r, rows*cols, 0.1), wb); err != nil {
				t.Fatal(err)
			}
			f := newFixture(t)
			f.dev.SetKernelSet(ks)
			w, err := f.dev.Upload("w", wt, rows, cols, wb)
			if err != nil {
				t.Fatal(err)
			}
			if hb, ok := w.Buf.(*backends.HostBuffer); !ok || &hb.Bytes()[0] != &wb[0] {
				t.Fatalf("%v %v: Upload's tensor does not wrap the caller's bytes", ks, wt)
			}
			plain := p.CopiesPlain(wt)
			if want := p.Packs(wt) || plain; f.dev.OwnsCopy(w) != want {
				t.Fatalf("%v %v: OwnsCopy = %v, want %v (packs %v)", ks, wt, f.dev.OwnsCopy(w), want, p.Packs(wt))
			}
			if !plain {
				continue
			}
			copied++
			run := func() ([]float32, []float32) {
				y := f32Tensor(t, f.dev, "y", nx, rows)
				f.s.MatMul(y, w, f.tensor("x", nx, cols, randVec(rand.New(rand.NewPCG(1, 2)), nx*cols, 1)))
				e := f32Tensor(t, f.dev, "e", 2, cols)
				f.s.GetRows(e, w, []int32{0, rows - 1})
				f.sync()
				return append([]float32(nil), hostF32(t, y)...), append([]float32(nil), hostF32(t, e)...)
			}
			y0, e0 := run()
			for i := range wb {
				wb[i] = byte(r.Uint32())
			}
			y1, e1 := run()
			for i := range y0 {
				if math.Float32bits(y0[i]) != math.Float32bits(y1[i]) {
					t.Fatalf("%v %v: MatMul read the caller's bytes: y[%d] %v, then %v", ks, wt, i, y0[i], y1[i])
				}
			}
			for i := range e0 {
				if math.Float32bits(e0[i]) != math.Float32bits(e1[i]) {
					t.Fatalf("%v %v: GetRows read the caller's bytes: value %d %v, then %v", ks, wt, i, e0[i], e1[i])
				}
			}
		}
		p.Close()
	}
	// Linux amd64 copies under the AVX2 set, Linux arm64 under the best.
	if copied == 0 && runtime.GOOS == "linux" && (runtime.GOARCH == "amd64" || runtime.GOARCH == "arm64") {
		t.Fatal("no weight was copied")
	}
	t.Logf("%d weights copied", copied)
}
