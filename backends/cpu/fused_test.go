package cpu_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/quant"
)

// TestFusedMatMulForms: the stream's fused forms give, bit for bit, the
// ops they stand for run one after another — a norm folded into matmuls
// of packed weights of two types (two kernel calls) and of a weight
// without a packed copy (UploadLookup: the norm then goes through h), and
// SwiGLU with the residual add for one row (the fused kernel) and three
// (matmul, then add), on the fast kernels and forced onto the pure-Go
// ones.
func TestFusedMatMulForms(t *testing.T) {
	r := rand.New(rand.NewPCG(61, 62))
	const cols, ff, eps = 512, 768, 1e-5
	weight := func(f *fixture, name string, wt quant.Type, rows, cols int, lookup bool) backends.Tensor {
		upload := f.dev.Upload
		if lookup {
			upload = f.dev.UploadLookup
		}
		return f.weight(r, name, wt, rows, cols, upload)
	}
	same := func(name string, got, want backends.Tensor) {
		t.Helper()
		g, w := hostF32(t, got), hostF32(t, want)
		for i := range w {
			if math.Float32bits(g[i]) != math.Float32bits(w[i]) {
				t.Fatalf("%s[%d] = %v fused, %v op by op", name, i, g[i], w[i])
			}
		}
	}
	for _, generic := range []bool{false, true} {
		for _, n := range []int{1, 3} {
			name := fmt.Sprintf("generic=%v/rows=%d", generic, n)
			f := newFixture(t)
			f.dev.SetGeneric(generic)
			ws := []backends.Tensor{weight(f, "q", quant.Q4_K, 64, cols, false), weight(f, "k", quant.Q6_K, 32, cols, false),
				weight(f, "v", quant.Q8_0, 48, cols, true), weight(f, "o", quant.Q4_K, 16, cols, false)}
			x := f.tensor("x", n, cols, randVec(r, n*cols, 3))
			norm := f.tensor("norm", 1, cols, randVec(r, cols, 1))
			var fused, plain []backends.Tensor
			for i, w := range ws {
				fused = append(fused, f.tensor(fmt.Sprint("fused", i), n, w.Rows, nil))
				plain = append(plain, f.tensor(fmt.Sprint("plain", i), n, w.Rows, nil))
			}
			f.s.(backends.NormMatMuler).MatMulNormShared(fused, ws, x, norm, eps, f.tensor("h", n, cols, nil))
			h := f.tensor("h2", n, cols, nil)
			f.s.RMSNorm(h, x, norm, eps)
			for i, w := range ws {
				f.s.MatMul(plain[i], w, h)
			}
			f.sync()
			for i := range ws {
				same(fmt.Sprintf("%s/norm/%s", name, ws[i].Name), fused[i], plain[i])
			}

			for _, lookup := range []bool{false, true} {
				down := weight(f, "down", quant.Q4_0, cols, ff, lookup)
				g, u := randVec(r, n*ff, 3), randVec(r, n*ff, 1)
				res := randVec(r, n*cols, 1)
				x1, x2 := f.tensor("x1", n, cols, res), f.tensor("x2", n, cols, res)
				g1, g2, up := f.tensor("g1", n, ff, g), f.tensor("g2", n, ff, g), f.tensor("up", n, ff, u)
				f.s.(backends.SwiGLUMatMuler).MatMulResidualSwiGLU(x1, f.tensor("tmp1", n, cols, nil), down, g1, up)
				f.s.SiLUMul(g2, g2, up)
				tmp := f.tensor("tmp2", n, cols, nil)
				f.s.MatMul(tmp, down, g2)
				f.s.Add(x2, x2, tmp)
				f.sync()
				same(fmt.Sprintf("%s/swiglu/lookup=%v", name, lookup), x1, x2)
			}
		}
	}
}

// TestFusedMatMulFormsErrors: bad shapes fail the op with ErrShape (and
// the stream goes on after Sync).
func TestFusedMatMulFormsErrors(t *testing.T) {
	f := newFixture(t)
	wb := make([]byte, 16*34)
	w, err := f.dev.Upload("w", quant.Q8_0, 16, 32, wb)
	if err != nil {
		t.Fatal(err)
	}
	x, y := f.tensor("x", 2, 32, nil), f.tensor("y", 2, 16, nil)
	norm := f.tensor("norm", 1, 32, nil)
	ns, ss := f.s.(backends.NormMatMuler), f.s.(backends.SwiGLUMatMuler)
	cases := []struct {
		name string
		op   func()
	}{
		{"norm/outputs", func() {
			ns.MatMulNormShared([]backends.Tensor{y, y}, []backends.Tensor{w}, x, norm, 1e-5, f.tensor("h", 2, 32, nil))
		}},
		{"norm/h", func() {
			ns.MatMulNormShared([]backends.Tensor{y}, []backends.Tensor{w}, x, norm, 1e-5, f.tensor("h", 1, 32, nil))
		}},
		{"norm/weight", func() {
			ns.MatMulNormShared([]backends.Tensor{y}, []backends.Tensor{w}, x, f.tensor("n", 1, 16, nil), 1e-5, f.tensor("h", 2, 32, nil))
		}},
		{"swiglu/up", func() { ss.MatMulResidualSwiGLU(y, f.tensor("t", 2, 16, nil), w, x, f.tensor("u", 1, 32, nil)) }},
		{"swiglu/residual", func() {
			ss.MatMulResidualSwiGLU(f.tensor("r", 1, 16, nil), f.tensor("t", 2, 16, nil), w, x, f.tensor("u", 2, 32, nil))
		}},
	}
	for _, c := range cases {
		c.op()
		if err := f.s.Sync(); !errors.Is(err, backends.ErrShape) {
			t.Errorf("%s: %v, want ErrShape", c.name, err)
		}
	}
}
