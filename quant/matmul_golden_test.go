package quant

import (
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/nuri-ai/nuri/internal/testshared"
)

// TestVecDotMatchesGGMLMatMul checks QuantizeActivations + VecDot against
// llama.cpp's CPU mul_mat for every weight type and batch size, within the
// manifest's relative-RMS tolerance (1e-5: ggml's AVX2 kernels sum in a
// different order, so the results agree to float32 rounding, not bit for bit).
func TestVecDotMatchesGGMLMatMul(t *testing.T) {
	m := testshared.LoadMatMulManifest(t)
	dir := m.Dir
	for _, c := range m.Cases {
		t.Run(c.Type, func(t *testing.T) {
			wt, err := ParseType(c.Type)
			if err != nil {
				t.Fatal(err)
			}
			w, err := os.ReadFile(filepath.Join(dir, c.Weight))
			if err != nil {
				t.Fatal(err)
			}
			rowBytes, err := wt.RowBytes(c.Cols)
			if err != nil {
				t.Fatal(err)
			}
			if len(w) != rowBytes*c.Rows {
				t.Fatalf("weight file has %d bytes, want %d", len(w), rowBytes*c.Rows)
			}
			at := VecDotType(wt)
			aBytes, err := at.RowBytes(c.Cols)
			if err != nil {
				t.Fatal(err)
			}
			// Every weight row dequantized once, for the second check below.
			wf := make([]float32, c.Rows*c.Cols)
			if err := Dequantize(wt, w, wf); err != nil {
				t.Fatal(err)
			}
			ms := make([]string, 0, len(c.Outputs))
			for mstr := range c.Outputs {
				ms = append(ms, mstr)
			}
			sort.Strings(ms)
			for _, mstr := range ms {
				out := c.Outputs[mstr]
				x := testshared.ReadF32(t, filepath.Join(dir, m.Inputs[mstr]))
				want := testshared.ReadF32(t, filepath.Join(dir, out))
				nx := len(x) / c.Cols
				if len(want) != nx*c.Rows {
					t.Fatalf("M=%s: output has %d values, want %d", mstr, len(want), nx*c.Rows)
				}
				got := make([]float32, len(want))
				viaDeq := make([]float32, len(want))
				a := make([]byte, aBytes)
				af := make([]float32, c.Cols)
				for i := 0; i < nx; i++ {
					if err := QuantizeActivations(at, x[i*c.Cols:(i+1)*c.Cols], a); err != nil {
						t.Fatal(err)
					}
					if err := Dequantize(at, a, af); err != nil {
						t.Fatal(err)
					}
					for r := 0; r < c.Rows; r++ {
						got[i*c.Rows+r] = VecDot(wt, c.Cols, w[r*rowBytes:(r+1)*rowBytes], a)
						var s float64
						for k, v := range wf[r*c.Cols : (r+1)*c.Cols] {
							s += float64(v) * float64(af[k])
						}
						viaDeq[i*c.Rows+r] = float32(s)
					}
				}
				// VecDot against ggml, and Dequantize(W)·Dequantize(A)
				// against ggml: the latter checks the dequantizers of both
				// the weight and the activation formats. Not for Q8_1
				// activations: ggml's Q4_1/Q5_1 dot adds m·s with the stored
				// s = fp16(d·Σq), which differs from Σ of the dequantized
				// values by up to ~1e-3 relative.
				checks := []struct {
					what string
					y    []float32
				}{{"VecDot", got}}
				if at != Q8_1 {
					checks = append(checks, struct {
						what string
						y    []float32
					}{"dequantized dot", viaDeq})
				}
				for _, chk := range checks {
					if e := testshared.RelRMS(chk.y, want); e > m.Tolerance.MaxRelRMS {
						t.Errorf("M=%s %s: rel RMS %.3g > %.3g", mstr, chk.what, e, m.Tolerance.MaxRelRMS)
					} else {
						t.Logf("M=%s %s: rel RMS %.3g", mstr, chk.what, e)
					}
				}
			}
		})
	}
}
