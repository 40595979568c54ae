package kernels

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/nuri-ai/nuri/internal/testshared"
	"github.com/nuri-ai/nuri/quant"
)

// goldenManifest is testdata/golden/matmul/manifest.json: llama.cpp's CPU
// mul_mat of one weight matrix per type with float32 activation rows.
type goldenManifest struct {
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

func readF32s(t *testing.T, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b)%4 != 0 {
		t.Fatalf("%s: %d bytes is not a float32 array", path, len(b))
	}
	f := make([]float32, len(b)/4)
	for i := range f {
		f[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return f
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

// TestMatMulGolden checks MatMul against llama.cpp's outputs for every type
// and batch size (1, 5 with an outlier/zero/tiny row, 32), on both the fast
// and the reference path regardless of NURI_KERNELS, within the manifest's
// relative-RMS tolerance (1e-5).
func TestMatMulGolden(t *testing.T) {
	dir := testshared.Path(t, "testdata", "golden", "matmul")
	raw, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m goldenManifest
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("manifest: %v", err)
	}
	if len(m.Cases) == 0 || m.Tolerance.MaxRelRMS == 0 {
		t.Fatal("manifest has no cases or no tolerance")
	}
	fast, generic := NewPool(2), NewPool(2)
	defer fast.Close()
	defer generic.Close()
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
				x := readF32s(t, filepath.Join(dir, m.Inputs[mstr]))
				want := readF32s(t, filepath.Join(dir, c.Outputs[mstr]))
				nx := len(x) / c.Cols
				if len(want) != nx*c.Rows {
					t.Fatalf("M=%s: %d outputs, want %d", mstr, len(want), nx*c.Rows)
				}
				for _, p := range []*Pool{fast, generic} {
					got := runGuarded(t, p, wt, w, c.Rows, c.Cols, x, nx)
					if e := relRMS(got, want); e > m.Tolerance.MaxRelRMS {
						t.Errorf("M=%s %s: rel-RMS %.3g > %g", mstr, p.KernelName(wt), e, m.Tolerance.MaxRelRMS)
					} else {
						t.Logf("M=%s %s: rel-RMS %.3g", mstr, p.KernelName(wt), e)
					}
				}
			}
		})
	}
}
