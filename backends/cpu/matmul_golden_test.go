package cpu_test

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/backends/cpu"
	"github.com/nuri-ai/nuri/internal/testshared"
	"github.com/nuri-ai/nuri/kernels"
	"github.com/nuri-ai/nuri/quant"
)

// TestMatMulGolden checks the backend's MatMul op against ggml's own
// mul_mat outputs for every weight type (activations 1, 5 and 32 rows, one
// with an outlier, an all-zero and a tiny row): rel-RMS ≤ the manifest's
// 1e-5, which only an exact activation quantization reaches.
func TestMatMulGolden(t *testing.T) {
	man := testshared.LoadMatMulManifest(t)
	dir := man.Dir
	dev := cpu.New(2)
	defer dev.Close()
	ks, err := kernels.ParseKernelSet(os.Getenv("NURI_KERNELS"))
	if err != nil {
		t.Fatalf("NURI_KERNELS: %v", err)
	}
	dev.SetKernelSet(ks)
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
			xs := testshared.ReadF32(t, filepath.Join(dir, man.Inputs[m]))
			ref := testshared.ReadF32(t, filepath.Join(dir, out))
			nx := len(xs) / c.Cols
			x := f32Tensor(t, dev, "x", nx, c.Cols)
			copy(hostF32(t, x), xs)
			y := f32Tensor(t, dev, "y", nx, c.Rows)
			s.MatMul(y, w, x)
			if err := s.Sync(); err != nil {
				t.Fatalf("%s x%s: %v", c.Type, m, err)
			}
			got := hostF32(t, y)
			r := testshared.RelRMS(got, ref)
			t.Logf("%-5s x%-2s rel-RMS %.2e", c.Type, m, r)
			if r > man.Tolerance.MaxRelRMS {
				t.Errorf("%s with %s rows: rel-RMS %.3e > %.0e", c.Type, m, r, man.Tolerance.MaxRelRMS)
			}
		}
	}
}

// f32Tensor allocates a zeroed rows×cols F32 tensor on dev.
func f32Tensor(t testing.TB, dev backends.Device, name string, rows, cols int) backends.Tensor {
	t.Helper()
	buf, err := dev.Alloc(rows*cols*4, backends.UsageScratch)
	if err != nil {
		t.Fatal(err)
	}
	return backends.Tensor{Name: name, Buf: buf, Type: quant.F32, Rows: rows, Cols: cols}
}

// hostF32 views an F32 host tensor as a slice.
func hostF32(t testing.TB, x backends.Tensor) []float32 {
	t.Helper()
	b := x.Buf.(*backends.HostBuffer).Bytes()[x.Off:]
	return cpu.BytesF32(b[:x.Rows*x.Cols*4])
}
