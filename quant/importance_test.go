package quant

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"
)

var importanceTypes = []Type{Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS}

// importanceRows makes rows of Gaussian weights and a log-normal
// importance per column (a few columns matter far more than the rest, as
// in real activations).
func importanceRows(seed uint64, rows, cols int, spread float64) ([][]float32, []float32) {
	r := rand.New(rand.NewPCG(seed, 99))
	imp := make([]float32, cols)
	for j := range imp {
		imp[j] = float32(math.Exp(spread * r.NormFloat64()))
	}
	xs := make([][]float32, rows)
	for i := range xs {
		xs[i] = make([]float32, cols)
		for j := range xs[i] {
			xs[i][j] = float32(0.02 * r.NormFloat64())
		}
	}
	return xs, imp
}

// weightedError is Σ_rows Σ_j imp_j·(x_j − x̂_j)² of t's quantization, with
// or without the importance given to the quantizer.
func weightedError(t *testing.T, typ Type, xs [][]float32, imp []float32, use bool) (weighted, plain float64) {
	t.Helper()
	cols := len(imp)
	rb, err := typ.RowBytes(cols)
	if err != nil {
		t.Fatal(err)
	}
	q := make([]byte, rb)
	back := make([]float32, cols)
	for _, x := range xs {
		var give []float32
		if use {
			give = imp
		}
		if err := QuantizeRow(typ, x, q, give); err != nil {
			t.Fatal(err)
		}
		if err := Dequantize(typ, q, back); err != nil {
			t.Fatal(err)
		}
		for j := range x {
			d := float64(x[j] - back[j])
			if math.IsNaN(d) || math.IsInf(d, 0) {
				t.Fatalf("%v: element %d decodes to %v", typ, j, back[j])
			}
			weighted += float64(imp[j]) * d * d
			plain += d * d
		}
	}
	return weighted, plain
}

func TestQuantizeRowChecksSizes(t *testing.T) {
	x := make([]float32, 256)
	dst := make([]byte, 256)
	if err := QuantizeRow(Q4_K, x, dst[:144], make([]float32, 255)); err == nil {
		t.Error("255 importance values for a row of 256 were taken")
	}
	if err := QuantizeRow(Q4_K, x[:255], dst, make([]float32, 255)); err == nil {
		t.Error("a row of 255 was taken for Q4_K")
	}
}

// TestImportanceAwkward runs the weighted quantizers on the awkward rows
// (zeros, spikes, subnormals, constants) with a spiky importance: every
// value decodes to a finite number, zeros to zeros.
func TestImportanceAwkward(t *testing.T) {
	imp := make([]float32, 512)
	for j := range imp {
		imp[j] = float32(1 + j%7)
	}
	imp[5], imp[300] = 1e4, 0 // one column that matters most, one not at all
	for name, x := range awkwardInputs() {
		for _, typ := range importanceTypes {
			rb, _ := typ.RowBytes(len(x))
			q := make([]byte, rb)
			back := make([]float32, len(x))
			if err := QuantizeRow(typ, x, q, imp); err != nil {
				t.Fatal(err)
			}
			if err := Dequantize(typ, q, back); err != nil {
				t.Fatal(err)
			}
			for j, v := range back {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) || (name == "zeros" && v != 0) {
					t.Fatalf("%s, %v: element %d decodes to %v", name, typ, j, v)
				}
			}
		}
	}
}

func TestQuantizeRowWithoutImportance(t *testing.T) {
	xs, _ := importanceRows(1, 2, 512, 1)
	for _, typ := range allTypes {
		rb, _ := typ.RowBytes(512)
		a, b := make([]byte, rb), make([]byte, rb)
		if err := Quantize(typ, xs[0], a); err != nil {
			t.Fatal(err)
		}
		if err := QuantizeRow(typ, xs[0], b, nil); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%v: QuantizeRow without importance differs from Quantize", typ)
		}
	}
	// Types that take no importance ignore it.
	imp := make([]float32, 512)
	for _, typ := range []Type{Q8_0, F16, BF16, F32} {
		rb, _ := typ.RowBytes(512)
		a, b := make([]byte, rb), make([]byte, rb)
		_ = Quantize(typ, xs[1], a)
		if err := QuantizeRow(typ, xs[1], b, imp); err != nil || !bytes.Equal(a, b) {
			t.Errorf("%v: importance changed a type that takes none (%v)", typ, err)
		}
	}
}

// TestImportanceLowersWeightedError is what an importance matrix is for:
// the error weighted by it falls, for every type that takes one.
func TestImportanceLowersWeightedError(t *testing.T) {
	xs, imp := importanceRows(2, 48, 512, 1.5)
	for _, typ := range importanceTypes {
		with, _ := weightedError(t, typ, xs, imp, true)
		without, _ := weightedError(t, typ, xs, imp, false)
		t.Logf("%-6v weighted error with importance ÷ without: %.3f", typ, with/without)
		if with >= maxImportanceRatio[typ]*without {
			t.Errorf("%v: weighted error %.4g with the importance, %.4g without (ratio %.3f, want < %.2f)",
				typ, with, without, with/without, maxImportanceRatio[typ])
		}
	}
}

// maxImportanceRatio bounds weighted error with ÷ without importance on
// TestImportanceLowersWeightedError's rows (log-normal importance, σ 1.5):
// the value measured 2026-12-01 (in the comment) plus about a third of its
// distance to 1. A quantizer that ignored the importance would give 1.
var maxImportanceRatio = map[Type]float64{
	Q4_0: 0.67, Q5_0: 0.69, // 0.508, 0.533
	Q4_1: 0.57, Q5_1: 0.61, // 0.349, 0.412
	Q2_K: 0.55, Q3_K: 0.67, // 0.325, 0.500
	Q4_K: 0.64, Q5_K: 0.68, Q6_K: 0.68, // 0.461, 0.522, 0.515
	IQ4_NL: 0.68, IQ4_XS: 0.69, // 0.519, 0.523
}

// TestImportanceUniform: an importance of all ones leaves the plain error
// about where the reference quantizer has it (the searches differ, so the
// bytes do).
func TestImportanceUniform(t *testing.T) {
	xs, imp := importanceRows(3, 32, 512, 0)
	for _, typ := range importanceTypes {
		_, with := weightedError(t, typ, xs, imp, true)
		_, without := weightedError(t, typ, xs, imp, false)
		t.Logf("%-6v plain error, uniform importance ÷ none: %.3f", typ, with/without)
		// Measured 0.79-0.98 (2026-12-01): the weighted searches try more
		// scales than the reference ones.
		if with > 1.05*without {
			t.Errorf("%v: uniform importance raised the plain error %.3f×", typ, with/without)
		}
	}
}
