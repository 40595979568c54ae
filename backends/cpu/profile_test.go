package cpu_test

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/quant"
)

// TestOpProfile: a profiling device counts every op its streams run under
// the op's name (matmuls with their weights' type and shape, shared
// matmuls joined by "+"), from the last ProfileOps(true) until
// ProfileOps(false), with the packed matmuls' dot phases; a device that is
// not profiling records nothing.
func TestOpProfile(t *testing.T) {
	f := newFixture(t)
	prof, ok := backends.As[backends.OpProfiler](f.dev)
	if !ok {
		t.Fatal("the CPU device is not a backends.OpProfiler")
	}
	r := rand.New(rand.NewPCG(3, 4))
	const rows, cols = 48, 64
	w1, err := f.dev.Upload("w1", quant.Q8_0, rows, cols, q8Bytes(t, randVec(r, rows*cols, 1), rows, cols))
	if err != nil {
		t.Fatal(err)
	}
	w2, err := f.dev.Upload("w2", quant.Q8_0, rows, cols, q8Bytes(t, randVec(r, rows*cols, 1), rows, cols))
	if err != nil {
		t.Fatal(err)
	}
	x := f.tensor("x", 1, cols, randVec(r, cols, 1))
	y1, y2 := f.tensor("y1", 1, rows, nil), f.tensor("y2", 1, rows, nil)
	norm := f.tensor("norm", 1, cols, randVec(r, cols, 1))
	run := func() {
		f.s.MatMul(y1, w1, x)
		f.s.MatMul(y1, w1, x)
		f.s.(backends.SharedMatMuler).MatMulShared([]backends.Tensor{y1, y2}, []backends.Tensor{w1, w2}, x)
		f.s.RMSNorm(x, x, norm, 1e-5)
		f.s.(backends.ResidualMatMuler).MatMulResidual(y2, y1, w1, x)
		f.sync()
	}
	run()
	if got := prof.OpProfile(); len(got) != 0 {
		t.Fatalf("profile before ProfileOps(true): %+v", got)
	}
	prof.ProfileOps(true)
	run()
	prof.ProfileOps(false)
	run()
	got := map[string]int{}
	// Packed weights time their dot phase, a part of the matmul's time;
	// the other ops and unpacked weights (forced-generic kernels) none.
	packs, _ := deviceCopies(quant.Q8_0, cols)
	for _, op := range prof.OpProfile() {
		if op.Time <= 0 {
			t.Errorf("%s: time %v", op.Name, op.Time)
		}
		if packs && strings.HasPrefix(op.Name, "mul_mat") {
			if op.DotTime <= 0 || op.DotTime > op.Time {
				t.Errorf("%s: dot time %v of %v", op.Name, op.DotTime, op.Time)
			}
		} else if op.DotTime != 0 {
			t.Errorf("%s: dot time %v, want none (packs %v)", op.Name, op.DotTime, packs)
		}
		got[op.Name] = op.Calls
	}
	want := map[string]int{"mul_mat Q8_0 48x64": 2, "mul_mat Q8_0 48x64 + Q8_0 48x64": 1, "rms_norm": 1, "mul_mat Q8_0 48x64 + residual add": 1}
	if len(got) != len(want) {
		t.Fatalf("profile %v, want %v", got, want)
	}
	for name, n := range want {
		if got[name] != n {
			t.Errorf("%s: %d calls, want %d (profile %v)", name, got[name], n, got)
		}
	}
	prof.ProfileOps(true)
	if got := prof.OpProfile(); len(got) != 0 {
		t.Errorf("ProfileOps(true) kept the old totals: %+v", got)
	}
	for name := range got {
		if strings.Contains(name, "rows)") {
			t.Errorf("single-row matmul named %q", name)
		}
	}
}

func q8Bytes(t *testing.T, src []float32, rows, cols int) []byte {
	t.Helper()
	rb, _ := quant.Q8_0.RowBytes(cols)
	b := make([]byte, rows*rb)
	if err := quant.Quantize(quant.Q8_0, src, b); err != nil {
		t.Fatal(err)
	}
	return b
}
