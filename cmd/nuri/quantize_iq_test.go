package main

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nuri-ai/nuri/gguf"
	"github.com/nuri-ai/nuri/internal/testgguf"
	"github.com/nuri-ai/nuri/quant"
)

// TestQuantizeIQRecipes writes llama-quantize's i-quant recipes from the
// golden F32 llama model: IQ3_M needs no importance matrix, IQ3_XS (whose
// q, k, gate and up are IQ3_XXS) and the 1- and 2-bit recipes refuse to run
// without one, as llama-quantize does, and with one every i-quant tensor
// holds exactly quant.QuantizeRow's bytes for its rows.
func TestQuantizeIQRecipes(t *testing.T) {
	srcPath := quantizeGolden(t, "llama-f32.gguf")
	src := testgguf.Open(t, srcPath)
	dir := t.TempDir()
	im := goldenImportance(src, 3)
	imPath := filepath.Join(dir, "imatrix.gguf")
	if err := gguf.WriteImatrix(imPath, im); err != nil {
		t.Fatal(err)
	}

	noIm := filepath.Join(dir, "xs-plain.gguf")
	var stdout, stderr bytes.Buffer
	err := runQuantize([]string{srcPath, noIm, "IQ3_XS"}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "IQ3_XXS needs an importance matrix") {
		t.Errorf("IQ3_XS without --imatrix: error %v, want one asking for an importance matrix", err)
	}
	if _, statErr := openGGUFErr(noIm); statErr == nil {
		t.Error("the refused run left an output file")
	}

	check := func(path string, imp *gguf.Imatrix, want map[quant.Type]bool) {
		t.Helper()
		f := testgguf.Open(t, path)
		seen := map[quant.Type]bool{}
		for i := range f.Tensors {
			ti := &f.Tensors[i]
			seen[ti.Type] = true
			if !quant.IQTranscodable(ti.Type) {
				continue
			}
			st, _ := src.Tensor(ti.Name)
			cols, rows := int(st.Dims[0]), int(st.Rows())
			x := make([]float32, cols*rows)
			if err := quant.Dequantize(st.Type, src.TensorData(st), x); err != nil {
				t.Fatal(err)
			}
			var w []float32
			if imp != nil {
				w = imp.Entries[ti.Name]
			}
			rb, _ := ti.Type.RowBytes(cols)
			got := f.TensorData(ti)
			for r := 0; r < rows; r++ {
				row := make([]byte, rb)
				if err := quant.QuantizeRow(ti.Type, x[r*cols:(r+1)*cols], row, w); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(row, got[r*rb:(r+1)*rb]) {
					t.Fatalf("%s row %d: the file's %v bytes differ from QuantizeRow's", ti.Name, r, ti.Type)
				}
			}
		}
		for typ := range want {
			if !seen[typ] {
				t.Errorf("%s: no %v tensor", filepath.Base(path), typ)
			}
		}
	}

	m := filepath.Join(dir, "m.gguf")
	runQuantizeTest(t, srcPath, m, "IQ3_M")
	check(m, nil, map[quant.Type]bool{quant.IQ3_S: true, quant.Q4_K: true})
	if ft, _ := testgguf.Open(t, m).Uint32("general.file_type"); ft != 27 {
		t.Errorf("IQ3_M: general.file_type %d, want 27", ft)
	}

	for _, c := range []struct {
		recipe string
		ft     uint32
		want   []quant.Type
	}{
		{"IQ3_XS", 22, []quant.Type{quant.IQ3_S, quant.IQ3_XXS}},
		{"IQ3_XXS", 23, []quant.Type{quant.IQ3_XXS, quant.IQ2_S, quant.IQ3_S}},
		{"IQ2_XXS", 19, []quant.Type{quant.IQ2_XXS, quant.Q2_K}},
		{"IQ2_M", 29, []quant.Type{quant.IQ2_S, quant.IQ3_S}},
		{"IQ1_S", 24, []quant.Type{quant.IQ1_S, quant.IQ2_XXS}},
		{"IQ1_M", 31, []quant.Type{quant.IQ1_M, quant.IQ2_XXS}},
	} {
		out := filepath.Join(dir, c.recipe+".gguf")
		runQuantizeTest(t, "--imatrix", imPath, srcPath, out, c.recipe)
		want := map[quant.Type]bool{}
		for _, typ := range c.want {
			want[typ] = true
		}
		check(out, im, want)
		if ft, _ := testgguf.Open(t, out).Uint32("general.file_type"); ft != c.ft {
			t.Errorf("%s: general.file_type %d, want %d", c.recipe, ft, c.ft)
		}
	}
	// Without the matrix the low-bit recipes stop at their first tensor
	// that needs it.
	for _, recipe := range []string{"IQ2_XXS", "IQ1_M", "IQ3_XXS"} {
		var stdout, stderr bytes.Buffer
		err := runQuantize([]string{srcPath, filepath.Join(dir, "none.gguf"), recipe}, &stdout, &stderr)
		if err == nil || !strings.Contains(err.Error(), "needs an importance matrix") {
			t.Errorf("%s without --imatrix: error %v", recipe, err)
		}
	}
}

// TestQuantizeDryRun: --dry-run prints every tensor's new type and size
// as the real run would make them, and the tensors that need an
// importance matrix, and writes nothing.
func TestQuantizeDryRun(t *testing.T) {
	srcPath := quantizeGolden(t, "llama-f32.gguf")
	dir := t.TempDir()
	out := filepath.Join(dir, "m.gguf")
	var stdout, stderr bytes.Buffer
	if err := runQuantize([]string{"--dry-run", srcPath, out, "IQ3_M"}, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if _, err := openGGUFErr(out); err == nil {
		t.Error("--dry-run wrote the output")
	}
	plan := stdout.String()
	// The real run's file has the sizes the plan printed.
	runQuantizeTest(t, srcPath, out, "IQ3_M")
	f := testgguf.Open(t, out)
	var total uint64
	for _, ti := range f.Tensors {
		total += ti.Bytes()
		line := fmt.Sprintf("-> %-7s %10.2f MiB", ti.Type, float64(ti.Bytes())/(1<<20))
		if !strings.Contains(plan, ti.Name) || !strings.Contains(plan, line) {
			t.Errorf("%s: the plan lacks %q", ti.Name, line)
		}
	}
	if want := fmt.Sprintf("-> %.2f MiB", float64(total)/(1<<20)); !strings.Contains(plan, want) {
		t.Errorf("plan total: want %q in\n%s", want, plan)
	}
	if strings.Contains(plan, "importance matrix is needed") {
		t.Error("IQ3_M needs no importance matrix")
	}
	// Without OUT, and for a recipe that needs the matrix: no error, a note.
	stdout.Reset()
	if err := runQuantize([]string{"--dry-run", srcPath, "IQ2_XXS"}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "an importance matrix is needed for") {
		t.Errorf("IQ2_XXS dry run says nothing of the importance matrix:\n%s", stdout.String())
	}
}
