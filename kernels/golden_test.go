package kernels

import (
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/nuri-ai/nuri/internal/testshared"
	"github.com/nuri-ai/nuri/quant"
)

// TestMatMulGolden checks MatMul against llama.cpp's outputs for every type
// and batch size (1, 5 with an outlier/zero/tiny row, 32), on the best
// kernels, AVX2's and the reference path regardless of NURI_KERNELS, and MatMulPacked for
// the packable types, within the manifest's relative-RMS tolerance (1e-5).
func TestMatMulGolden(t *testing.T) {
	m := testshared.LoadMatMulManifest(t)
	dir := m.Dir
	fast, avx2, generic := NewPool(2), NewPool(2), NewPool(2)
	defer fast.Close()
	defer avx2.Close()
	defer generic.Close()
	avx2.SetKernelSet(KernelsAVX2)
	generic.SetGeneric(true)
	for _, c := range m.Cases {
		t.Run(c.Type, func(t *testing.T) {
			wt, err := quant.ParseType(c.Type)
			if err != nil {
				t.Fatal(err)
			}
			w, err := os.ReadFile(filepath.Join(dir, c.Weight))
			if err != nil {
				t.Fatal(err)
			}
			ms := make([]string, 0, len(c.Outputs))
			for k := range c.Outputs {
				ms = append(ms, k)
			}
			sort.Strings(ms)
			for _, mstr := range ms {
				x := testshared.ReadF32(t, filepath.Join(dir, m.Inputs[mstr]))
				want := testshared.ReadF32(t, filepath.Join(dir, c.Outputs[mstr]))
				nx := len(x) / c.Cols
				if len(want) != nx*c.Rows {
					t.Fatalf("M=%s: %d outputs, want %d", mstr, len(want), nx*c.Rows)
				}
				for _, p := range []*Pool{fast, avx2, generic} {
					got := runGuarded(t, p, wt, w, c.Rows, c.Cols, x, nx)
					if e := testshared.RelRMS(got, want); e > m.Tolerance.MaxRelRMS {
						t.Errorf("M=%s %s: rel-RMS %.3g > %g", mstr, p.KernelName(wt), e, m.Tolerance.MaxRelRMS)
					} else {
						t.Logf("M=%s %s: rel-RMS %.3g", mstr, p.KernelName(wt), e)
					}
				}
				if !PackableShape(wt, c.Cols) {
					continue
				}
				// BF16 on each of its kernel sets (VDPBF16PS where the CPU
				// has AVX512-BF16, the widening kernels everywhere).
				modes := []bool{packedBF16Dot}
				if wt == quant.BF16 {
					modes = bf16Modes()
				}
				for _, dot := range modes {
					withBF16Dot(dot, func() {
						pw, err := PackWeights(fast, wt, w, c.Rows, c.Cols)
						if err != nil {
							t.Fatal(err)
						}
						got := make([]float32, nx*c.Rows)
						MatMulPacked(fast, got, pw, x, nx)
						if e := testshared.RelRMS(got, want); e > m.Tolerance.MaxRelRMS {
							t.Errorf("M=%s %s: rel-RMS %.3g > %g", mstr, fast.WeightKernelName(wt), e, m.Tolerance.MaxRelRMS)
						} else {
							t.Logf("M=%s %s: rel-RMS %.3g", mstr, fast.WeightKernelName(wt), e)
						}
					})
				}
			}
		})
	}
}
