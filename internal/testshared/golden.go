package testshared

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// MatMulManifest is testdata/golden/matmul/manifest.json: ggml's CPU mul_mat
// of one weight matrix per type with float32 activation rows.
type MatMulManifest struct {
	Dir       string `json:"-"` // the folder the manifest's file names are relative to
	Tolerance struct {
		MaxRelRMS float64 `json:"max_rel_rms"`
	} `json:"tolerance"`
	Inputs map[string]string `json:"inputs"` // batch size → activation file
	Cases  []MatMulCase      `json:"cases"`
}

// MatMulCase is one weight type's matrix and its reference outputs.
type MatMulCase struct {
	Type    string            `json:"type"`
	Weight  string            `json:"weight"`
	Rows    int               `json:"rows"`
	Cols    int               `json:"cols"`
	Outputs map[string]string `json:"outputs"` // batch size → output file
}

// LoadMatMulManifest reads the matmul golden manifest or fails the test;
// a manifest without cases or tolerance is a failure too.
func LoadMatMulManifest(tb testing.TB) MatMulManifest {
	tb.Helper()
	dir := Path(tb, "testdata", "golden", "matmul")
	raw, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var m MatMulManifest
	if err := json.Unmarshal(raw, &m); err != nil {
		tb.Fatalf("matmul manifest: %v", err)
	}
	if len(m.Cases) == 0 || m.Tolerance.MaxRelRMS == 0 {
		tb.Fatal("matmul manifest has no cases or no tolerance")
	}
	m.Dir = dir
	return m
}

// ReadF32 reads a little-endian float32 array file (the golden format).
func ReadF32(tb testing.TB, path string) []float32 {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	if len(b)%4 != 0 {
		tb.Fatalf("%s: %d bytes is not a float32 array", path, len(b))
	}
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

// RelRMS is ‖got−want‖₂ / ‖want‖₂ (the absolute norm when want is zero),
// the golden metric of every reference comparison.
func RelRMS(got, want []float32) float64 {
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

// ReadGoldenLines reads a JSON-lines golden file written by one of the
// project's generators: its first line is a header (generator, tools and
// seed), each other line a record. A line that does not decode fails the
// test.
func ReadGoldenLines[T any](tb testing.TB, path string) []T {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var recs []T
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		if line == 1 {
			continue
		}
		var r T
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			tb.Fatalf("%s line %d: %v", path, line, err)
		}
		recs = append(recs, r)
	}
	if err := sc.Err(); err != nil {
		tb.Fatalf("read %s: %v", path, err)
	}
	return recs
}
