package quant

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/nuri-ai/nuri/internal/testshared"
)

// matmulManifest is testdata/golden/matmul/manifest.json: ggml's CPU mul_mat
// of one weight matrix per type with float32 activation rows.
type matmulManifest struct {
	Tolerance struct {
		MaxRelRMS float64 `json:"max_rel_rms"`
	} `json:"tolerance"`
	Inputs map[string]string `json:"inputs"`
	Cases  []struct {
		Type    string            `json:"type"`
		Weight  string            `json:"weight"`
		Rows    int               `json:"rows"`
		Cols    int               `json:"cols"`
		Outputs map[string]string `json:"outputs"`
	} `json:"cases"`
}

func readF32File(t *testing.T, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b)%4 != 0 {
		t.Fatalf("%s: %d bytes is not a float32 array", path, len(b))
	}
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

// relRMS is ‖got−want‖₂ / ‖want‖₂.
func relRMS(got, want []float32) float64 {
	var num, den float64
	for i := range want {
		d := float64(got[i]) - float64(want[i])
		num += d * d
		den += float64(want[i]) * float64(want[i])
	}
	if den == 0 {
		return math.Sqrt(num)
	}
	return math.Sqrt(num / den)
}

// TestVecDotMatchesGGMLMatMul checks QuantizeActivations + VecDot against
// llama.cpp's CPU mul_mat for every weight type and batch size, within the
// manifest's relative-RMS tolerance (1e-5: ggml's AVX2 kernels sum in a
// different order, so the results agree to float32 rounding, not bit for bit).
func TestVecDotMatchesGGMLMatMul(t *testing.T) {
	dir := testshared.Path(t, "testdata", "golden", "matmul")
	raw, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m matmulManifest
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("manifest: %v", err)
	}
	if len(m.Cases) == 0 || m.Tolerance.MaxRelRMS == 0 {
		t.Fatal("manifest has no cases or no tolerance")
	}
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
				x := readF32File(t, filepath.Join(dir, m.Inputs[mstr]))
				want := readF32File(t, filepath.Join(dir, out))
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
					if e := relRMS(chk.y, want); e > m.Tolerance.MaxRelRMS {
						t.Errorf("M=%s %s: rel RMS %.3g > %.3g", mstr, chk.what, e, m.Tolerance.MaxRelRMS)
					} else {
						t.Logf("M=%s %s: rel RMS %.3g", mstr, chk.what, e)
					}
				}
			}
		})
	}
}
