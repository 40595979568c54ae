package cpu_test

import (
	"encoding/binary"
	"encoding/json"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/backends/cpu"
	"github.com/nuri-ai/nuri/internal/testshared"
	"github.com/nuri-ai/nuri/quant"
)

// TestMatMulGolden checks the backend's MatMul op against ggml's own
// mul_mat outputs for every weight type (activations 1, 5 and 32 rows, one
// with an outlier, an all-zero and a tiny row): rel-RMS ≤ the manifest's
// 1e-5, which only an exact activation quantization reaches.
func TestMatMulGolden(t *testing.T) {
	dir := testshared.Path(t, "testdata", "golden", "matmul")
	raw, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var man struct {
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
	if err := json.Unmarshal(raw, &man); err != nil {
		t.Fatal(err)
	}
	if len(man.Cases) == 0 || man.Tolerance.MaxRelRMS == 0 {
		t.Fatal("matmul manifest has no cases or no tolerance")
	}
	dev := cpu.New(2)
	defer dev.Close()
	dev.SetGeneric(os.Getenv("NURI_KERNELS") == "generic")
	s, err := dev.NewStream()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range man.Cases {
		wt, err := quant.ParseType(c.Type)
		if err != nil {
			t.Fatal(err)
		}
		wb, err := os.ReadFile(filepath.Join(dir, c.Weight))
		if err != nil {
			t.Fatal(err)
		}
		w, err := dev.Upload("w_"+c.Type, wt, c.Rows, c.Cols, wb)
		if err != nil {
			t.Fatalf("%s: %v", c.Type, err)
		}
		for _, m := range slices.Sorted(maps.Keys(c.Outputs)) {
			out := c.Outputs[m]
			xs := readF32(t, filepath.Join(dir, man.Inputs[m]))
			ref := readF32(t, filepath.Join(dir, out))
			nx := len(xs) / c.Cols
			x := f32Tensor(t, dev, "x", nx, c.Cols)
			copy(hostF32(t, x), xs)
			y := f32Tensor(t, dev, "y", nx, c.Rows)
			s.MatMul(y, w, x)
			if err := s.Sync(); err != nil {
				t.Fatalf("%s x%s: %v", c.Type, m, err)
			}
			got := hostF32(t, y)
			r := relRMS(got, ref)
			t.Logf("%-5s x%-2s rel-RMS %.2e", c.Type, m, r)
			if r > man.Tolerance.MaxRelRMS {
				t.Errorf("%s with %s rows: rel-RMS %.3e > %.0e", c.Type, m, r, man.Tolerance.MaxRelRMS)
			}
		}
	}
}

func readF32(t *testing.T, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

func relRMS(a, b []float32) float64 {
	var num, den float64
	for i := range b {
		d := float64(a[i]) - float64(b[i])
		num += d * d
		den += float64(b[i]) * float64(b[i])
	}
	return math.Sqrt(num / den)
}

// f32Tensor allocates a zeroed rows×cols F32 tensor on dev.
func f32Tensor(t *testing.T, dev backends.Device, name string, rows, cols int) backends.Tensor {
	t.Helper()
	buf, err := dev.Alloc(rows*cols*4, backends.UsageScratch)
	if err != nil {
		t.Fatal(err)
	}
	return backends.Tensor{Name: name, Buf: buf, Type: quant.F32, Rows: rows, Cols: cols}
}

// hostF32 views an F32 host tensor as a slice.
func hostF32(t *testing.T, x backends.Tensor) []float32 {
	t.Helper()
	b := x.Buf.(*backends.HostBuffer).Bytes()[x.Off:]
	return cpu.BytesF32(b[:x.Rows*x.Cols*4])
}
