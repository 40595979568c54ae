package model_test

import (
	"math"
	"testing"

	"github.com/nuri-ai/nuri/gguf"
	"github.com/nuri-ai/nuri/kernels"
	"github.com/nuri-ai/nuri/model"
	"github.com/nuri-ai/nuri/quant"
)

// TestIQ4Models runs the tiny llama written in llama-quantize's i-quant
// recipes (IQ4_NL, IQ4_XS, and those whose main types are the i-quants
// below 4 bits: IQ2_M's is IQ2_S), on the packed kernels (the i-quants
// below 4 bits transcoded into IQ4_XS's records), on AVX2's row kernels
// and on the pure-Go reference path.
// All multiply the same exact per-block integer products and differ only
// in float summation order, so the logits must agree to a small fraction
// of their spread: the
// bound, 1e-5 of the largest |logit| per row, is ~100× the differences
// measured between the paths (at most 1.2e-7 of it: float32 rounding
// in the summation order).
func TestIQ4Models(t *testing.T) {
	prompt := []int32{1, 17, 42, 99, 7, 3}
	for _, c := range []struct {
		typ  string
		main quant.Type
	}{
		{"IQ4_NL", quant.IQ4_NL}, {"IQ4_XS", quant.IQ4_XS}, {"IQ2_XXS", quant.IQ2_XXS}, {"IQ2_XS", quant.IQ2_XS},
		{"IQ2_M", quant.IQ2_S}, {"IQ3_XXS", quant.IQ3_XXS}, {"IQ3_S", quant.IQ3_S}, {"IQ1_S", quant.IQ1_S}, {"IQ1_M", quant.IQ1_M},
	} {
		typ := c.typ
		path := writeTiny(t, typ, false, 11)
		if f, err := gguf.Open(path); err != nil {
			t.Fatal(err)
		} else {
			found := false
			for _, ti := range f.Tensors {
				found = found || ti.Type == c.main
			}
			f.Close()
			if !found {
				t.Fatalf("%s: no %v tensor in the file", typ, c.main)
			}
		}
		run := func(ks kernels.KernelSet) []float32 {
			m, err := model.Load(path, model.LoadOptions{Threads: testThreads, Kernels: ks})
			if err != nil {
				t.Fatalf("%s: load: %v", typ, err)
			}
			defer m.Close()
			toks, logits, err := greedy(m, prompt, 4, quant.F16)
			if err != nil {
				t.Fatalf("%s: %v", typ, err)
			}
			if len(toks) != 4 {
				t.Fatalf("%s: %d tokens", typ, len(toks))
			}
			return logits
		}
		ref := run(kernels.KernelsGeneric)
		nv := len(ref) / len(prompt)
		for _, ks := range []kernels.KernelSet{kernels.KernelsBest, kernels.KernelsAVX2} {
			fast := run(ks)
			for r := range prompt {
				a, b := fast[r*nv:(r+1)*nv], ref[r*nv:(r+1)*nv]
				var scale, worst float64
				for j := range a {
					scale = math.Max(scale, math.Abs(float64(b[j])))
					worst = math.Max(worst, math.Abs(float64(a[j])-float64(b[j])))
				}
				if scale == 0 || math.IsNaN(worst) || worst > 1e-5*scale {
					t.Errorf("%s kernels %v row %d: logits differ from the reference by %.3g (largest |logit| %.3g)", typ, ks, r, worst, scale)
				}
			}
		}
	}
}
