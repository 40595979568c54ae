package synth

import (
	"bytes"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nuri-ai/nuri/gguf"
	"github.com/nuri-ai/nuri/kernels"
	"github.com/nuri-ai/nuri/quant"
)

func TestShapes(t *testing.T) {
	cases := []struct {
		name   string
		params uint64 // exact element count, from the hyper-parameters
		human  string
	}{
		// Llama-3.2-1B: 128256·2048 + 16·(2·2048² + 2·2048·512 + 3·2048·8192 + 2·2048) + 2048.
		{"llama-1b", 1235814400, "1.24"},
		{"exaone4-1.2b", 0, "1.2"},
		{"exaone-2.4b", 0, "2.4"},
		{"qwen3-0.6b", 0, "0.6"},
		{"hcx-seed-0.5b", 0, "0.5"},
		{"tiny", 0, ""},
		{"moe-tiny", 0, ""},
		// 8·(2·2048 + 2048·4096·2 + 2·2048·512 + 2·128 + 2048·32 + 3·2048·768·32) + 2·151936·2048 + 2048.
		{"qwen3moe-a3b-8l", 1981845504, ""},
		// Attention a block 197248; the dense FFN 3·256·512; an MoE FFN
		// 256·8 + 8 + 3·256·128·8 + 3·256·128; the prediction block's
		// eh_proj and norms 512·256 + 3·256; embeddings, output and norm
		// 2·512·256 + 256: 590464 + 3·1084040 + 722304 + 262400.
		{"exaone-moe-tiny", 4827288, ""},
		{"qwen2moe-tiny", 0, ""},
		{"mixtral-tiny", 0, ""},
		{"kanana2-tiny", 0, ""},
		{"deepseek3-tiny", 0, ""},
		{"deepseek2-lite-8l", 0, ""},
		{"glm4moe-tiny", 0, ""},
		// Gemma 3 1B: 262144·1152 embeddings and 26 blocks of 26.8 M.
		{"gemma3-1b", 0, "1.0"},
		{"gemma3-tiny", 0, ""},
		{"gemma2-tiny", 0, ""},
		{"gemma4-tiny", 0, ""},
		{"mistral3-tiny", 0, ""},
		{"gemma4-e-tiny", 0, ""},
		{"gemma4-moe-tiny", 0, ""},
		// Gemma 4 E2B's form: 4.6B, 2.35B of them the per-layer table (its
		// model card says 5.1B with embeddings).
		{"gemma4-e2b", 0, "5.1"},
		// Gemma 2 2B: 256000·2304 embeddings and 26 blocks of 76.1 M.
		{"gemma2-2b", 0, "2.6"},
		{"bert-tiny", 0, ""},
		{"bert-rerank-tiny", 0, ""},
		{"jina-bert-v3-tiny", 0, ""},
		{"nomic-bert-tiny", 0, ""},
		{"nomic-bert-moe-tiny", 0, ""},
		{"modern-bert-tiny", 0, ""},
		{"embeddinggemma-tiny", 0, ""},
		// BGE-M3 (XLM-RoBERTa large): its model card's 568M parameters
		// less the pooler an embedding does not use.
		{"bge-m3", 0, "0.6"},
	}
	if len(Names()) != len(cases) {
		t.Errorf("shapes %v", Names())
	}
	for _, c := range cases {
		s, err := Lookup(c.name)
		if err != nil {
			t.Fatal(err)
		}
		p := s.Params()
		if c.params != 0 && p != c.params {
			t.Errorf("%s: %d parameters, want %d", c.name, p, c.params)
		}
		// The names promise a size: within 15% of it (embeddings counted once).
		if c.human != "" {
			want, err := strconv.ParseFloat(c.human, 64)
			if err != nil {
				t.Fatal(err)
			}
			if r := float64(p) / 1e9 / want; r < 0.85 || r > 1.15 {
				t.Errorf("%s: %.3f B parameters, name says %s B", c.name, float64(p)/1e9, c.human)
			}
		}
		seen := map[string]bool{}
		for _, ti := range s.Tensors() {
			if seen[ti.Name] {
				t.Errorf("%s: duplicate tensor %s", c.name, ti.Name)
			}
			seen[ti.Name] = true
		}
		if s.isEncoder() { // an encoder has no output projection (ModernBERT a final norm)
			if seen["output.weight"] || seen["output_norm.weight"] != (s.Arch == "modern-bert") {
				t.Errorf("%s: an encoder with an output layer", c.name)
			}
		} else if seen["output.weight"] == s.Tied {
			t.Errorf("%s: tied %v but output.weight present %v", c.name, s.Tied, seen["output.weight"])
		}
	}
	if _, err := Lookup("llama-70b"); err == nil || !strings.Contains(err.Error(), "llama-1b") {
		t.Errorf("unknown shape error %v should list the known ones", err)
	}
}

func TestArchTensors(t *testing.T) {
	has := func(s Shape, name string) bool {
		for _, ti := range s.Tensors() {
			if ti.Name == name {
				return true
			}
		}
		return false
	}
	ex4, _ := Lookup("exaone4-1.2b")
	for _, n := range []string{"attn_q_norm", "attn_k_norm", "post_attention_norm", "post_ffw_norm"} {
		if !has(ex4, "blk.29."+n+".weight") {
			t.Errorf("exaone4 lacks %s", n)
		}
	}
	if has(ex4, "blk.0.attn_norm.weight") || has(ex4, "blk.0.ffn_norm.weight") {
		t.Error("exaone4 is post-norm: no attn_norm/ffn_norm")
	}
	q3, _ := Lookup("qwen3-0.6b")
	if !has(q3, "blk.27.attn_k_norm.weight") || !has(q3, "blk.0.attn_norm.weight") {
		t.Error("qwen3 needs pre-norms and q/k norms")
	}
	hcx, _ := Lookup("hcx-seed-0.5b")
	for _, ti := range hcx.Tensors() {
		if ti.Name == "blk.0.attn_q.weight" && !slices.Equal(ti.Dims, []uint64{1024, 2048}) {
			t.Errorf("hcx attn_q %v, want [1024 2048]", ti.Dims)
		}
		if ti.Name == "blk.0.attn_output.weight" && !slices.Equal(ti.Dims, []uint64{2048, 1024}) {
			t.Errorf("hcx attn_output %v, want [2048 1024]", ti.Dims)
		}
	}
}

// TestPlanTiedEmbedding checks llama-quantize's choice for the tied
// embedding of llama-1b, which PERFORMANCE.md's reference files use.
func TestPlanTiedEmbedding(t *testing.T) {
	s, _ := Lookup("llama-1b")
	for _, c := range []struct {
		typ       string
		embd, ffn quant.Type
	}{
		{"Q4_0", quant.Q6_K, quant.Q4_0},
		{"Q4_K_M", quant.Q6_K, quant.Q4_K},
		{"Q8_0", quant.Q8_0, quant.Q8_0},
		{"F16", quant.F16, quant.F16},
	} {
		plan, _, err := Plan(s, c.typ)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range plan {
			switch {
			case p.Name == "token_embd.weight" && p.Type != c.embd:
				t.Errorf("%s: token_embd %v, want %v", c.typ, p.Type, c.embd)
			case p.Name == "blk.3.ffn_up.weight" && p.Type != c.ffn:
				t.Errorf("%s: ffn_up %v, want %v", c.typ, p.Type, c.ffn)
			case p.IsNorm() && p.Type != quant.F32:
				t.Errorf("%s: norm %s is %v, want F32", c.typ, p.Name, p.Type)
			}
		}
	}
	if _, _, err := Plan(s, "Q9_9"); err == nil {
		t.Error("unknown type accepted")
	}
}

func synthBytes(t *testing.T, typ string, seed uint64, workers int) []byte {
	t.Helper()
	s, _ := Lookup("tiny")
	var buf bytes.Buffer
	if err := WriteTo(&buf, Options{Shape: s, Type: typ, Seed: seed, Workers: workers}); err != nil {
		t.Fatalf("%s: %v", typ, err)
	}
	return buf.Bytes()
}

// TestTinyReadsBack synthesizes the tiny shape in several types and checks
// what gguf reads back: metadata, shapes, planned types, and that the
// quantized weights are the quantization of the same values as the F32 file.
func TestTinyReadsBack(t *testing.T) {
	s, _ := Lookup("tiny")
	ref, err := gguf.OpenBytes(synthBytes(t, "F32", 7, 0))
	if err != nil {
		t.Fatal(err)
	}
	// Per-type bound on RMS(dequantized - F32) relative to the weights' 0.02
	// standard deviation: the formats' usual relative errors with margin.
	cases := []struct {
		typ    string
		relRMS float64
	}{
		// Measured: F16 0.0002, BF16 0.0017, Q8_0 0.0051, Q5_1 0.037, Q4_0 0.082,
		// Q6_K 0.017, Q4_K 0.069, Q5_K 0.035, Q2_K 0.29 (worst tensor of each).
		{"F32", 0}, {"F16", 0.0005}, {"BF16", 0.003}, {"Q8_0", 0.008}, {"Q5_1", 0.055},
		{"Q4_0", 0.12}, {"Q6_K", 0.025}, {"Q4_K_M", 0.1}, {"Q5_K_M", 0.05}, {"Q2_K", 0.4},
	}
	for _, c := range cases {
		t.Run(c.typ, func(t *testing.T) {
			f, err := gguf.OpenBytes(synthBytes(t, c.typ, 7, 0))
			if err != nil {
				t.Fatal(err)
			}
			plan, mix, err := Plan(s, c.typ)
			if err != nil {
				t.Fatal(err)
			}
			if f.Arch() != "llama" {
				t.Errorf("arch %q", f.Arch())
			}
			for k, want := range map[string]int{"llama.block_count": 2, "llama.embedding_length": 256,
				"llama.attention.head_count_kv": 2, "llama.vocab_size": 512, "general.file_type": int(mix.FileType)} {
				if got, ok := f.Int(k); !ok || got != want {
					t.Errorf("%s = %d %v, want %d", k, got, ok, want)
				}
			}
			toks, _ := f.Strings("tokenizer.ggml.tokens")
			types, _ := f.Int32s("tokenizer.ggml.token_type")
			merges, _ := f.Strings("tokenizer.ggml.merges")
			if len(toks) != 512 || len(types) != 512 || len(merges) == 0 || toks[32] != "Ġ" || toks[256] != "<|synth_bos|>" {
				t.Errorf("vocab: %d tokens, %d types, %d merges", len(toks), len(types), len(merges))
			}
			if len(f.Tensors) != len(plan) {
				t.Fatalf("%d tensors, plan has %d", len(f.Tensors), len(plan))
			}
			for i, p := range plan {
				ti := &f.Tensors[i]
				if ti.Name != p.Name || ti.Type != p.Type || !slices.Equal(ti.Dims, p.Dims) {
					t.Fatalf("tensor %d: %s %v %v, want %s %v %v", i, ti.Name, ti.Type, ti.Dims, p.Name, p.Type, p.Dims)
				}
				rti, _ := ref.Tensor(ti.Name)
				got := dequant(t, f, ti)
				want := dequant(t, ref, rti)
				var se float64
				for j := range got {
					d := float64(got[j] - want[j])
					se += d * d
				}
				rel := math.Sqrt(se/float64(len(got))) / weightStd
				if rel > c.relRMS {
					t.Errorf("%s (%v): RMS error %.4f of the weight scale, bound %.4f", ti.Name, ti.Type, rel, c.relRMS)
				}
			}
		})
	}
}

func dequant(t *testing.T, f *gguf.File, ti *gguf.TensorInfo) []float32 {
	t.Helper()
	out := make([]float32, ti.Elements())
	if err := quant.Dequantize(ti.Type, f.TensorData(ti), out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestWeightsStatistics checks the F32 weights: mean 0 and standard
// deviation 0.02 (±3% for 64k samples), bounded tails, norms exactly 1.
func TestWeightsStatistics(t *testing.T) {
	f, err := gguf.OpenBytes(synthBytes(t, "F32", 1, 0))
	if err != nil {
		t.Fatal(err)
	}
	for i := range f.Tensors {
		ti := &f.Tensors[i]
		w := dequant(t, f, ti)
		if len(ti.Dims) == 1 {
			for _, x := range w {
				if x != 1 {
					t.Fatalf("norm %s has %g", ti.Name, x)
				}
			}
			continue
		}
		var sum, sq float64
		for _, x := range w {
			sum += float64(x)
			sq += float64(x) * float64(x)
			if math.Abs(float64(x)) > 3.5*weightStd {
				t.Fatalf("%s: %g beyond the ±3.5σ bound", ti.Name, x)
			}
		}
		n := float64(len(w))
		mean, std := sum/n, math.Sqrt(sq/n-(sum/n)*(sum/n))
		if math.Abs(mean) > 0.001 || math.Abs(std/weightStd-1) > 0.03 {
			t.Errorf("%s: mean %g std %g", ti.Name, mean, std)
		}
	}
}

func TestDeterminism(t *testing.T) {
	a := synthBytes(t, "Q4_K_M", 42, 1)
	if b := synthBytes(t, "Q4_K_M", 42, 3); !bytes.Equal(a, b) {
		t.Error("same seed, different worker count: different files")
	}
	c := synthBytes(t, "Q4_K_M", 43, 0)
	if bytes.Equal(a, c) {
		t.Error("different seeds gave the same file")
	}
	if len(a) != len(c) {
		t.Errorf("seeds changed the layout: %d vs %d bytes", len(a), len(c))
	}
}

func TestWriteFileAndProgress(t *testing.T) {
	s, _ := Lookup("tiny")
	p := filepath.Join(t.TempDir(), "tiny.gguf")
	var calls int
	var last, total uint64
	err := Write(p, Options{Shape: s, Type: "Q8_0", Seed: 3, Progress: func(d, tot uint64) {
		if d < last {
			t.Errorf("progress went back: %d after %d", d, last)
		}
		calls++
		last, total = d, tot
	}})
	if err != nil {
		t.Fatal(err)
	}
	if calls < 2 || last != total || total != s.Params() {
		t.Errorf("progress: %d calls, last %d of %d, params %d", calls, last, total, s.Params())
	}
	f, err := gguf.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if !bytes.Equal(f.TensorData(&f.Tensors[0]), func() []byte {
		g, _ := gguf.OpenBytes(synthBytes(t, "Q8_0", 3, 0))
		return g.TensorData(&g.Tensors[0])
	}()) {
		t.Error("Write and WriteTo differ")
	}
	// A failing plan leaves no file behind.
	bad := filepath.Join(t.TempDir(), "bad.gguf")
	if err := Write(bad, Options{Shape: s, Type: "nope"}); err == nil {
		t.Error("bad type accepted")
	}
	if _, err := gguf.Open(bad); err == nil {
		t.Error("partial file left behind")
	}
}

// TestIQRecipes: llama-quantize's i-quant recipes, with llama.cpp's file
// types, each quantizing the weights of its main type (unit importance
// where ggml would ask for an importance matrix), the same file for any
// worker count; a type Nuri cannot read is refused.
func TestIQRecipes(t *testing.T) {
	for _, c := range []struct {
		recipe string
		typ    quant.Type
		ft     uint32
		tol    float64 // on the dequantized weights' RMS ÷ weightStd − 1
	}{
		// The quantized weights' RMS overshoots the floats' (measured
		// ratios): IQ3_XXS 1.025-1.032, IQ2_XXS 1.030-1.037, IQ2_S
		// 1.050-1.059, IQ1_M 1.21-1.22 (its weights, the squares, fit the
		// scale to the large values); the bounds leave room.
		{"IQ3_XXS", quant.IQ3_XXS, 23, 0.05}, {"IQ2_M", quant.IQ2_S, 29, 0.08},
		{"IQ2_XXS", quant.IQ2_XXS, 19, 0.06}, {"IQ1_M", quant.IQ1_M, 31, 0.3},
	} {
		a := synthBytes(t, c.recipe, 5, 1)
		if b := synthBytes(t, c.recipe, 5, 3); !bytes.Equal(a, b) {
			t.Errorf("%s: different worker counts, different files", c.recipe)
		}
		f, err := gguf.OpenBytes(a)
		if err != nil {
			t.Fatal(err)
		}
		if ft, _ := f.Uint32("general.file_type"); ft != c.ft {
			t.Errorf("%s: file type %d, want %d", c.recipe, ft, c.ft)
		}
		n := 0
		for i := range f.Tensors {
			ti := &f.Tensors[i]
			if ti.Type != c.typ {
				continue
			}
			n++
			var sq float64
			w := dequant(t, f, ti)
			for _, x := range w {
				sq += float64(x) * float64(x)
			}
			rms := math.Sqrt(sq / float64(len(w)))
			t.Logf("%s %s: RMS ratio %.4f", c.recipe, ti.Name, rms/weightStd)
			if math.Abs(rms/weightStd-1) > c.tol {
				t.Errorf("%s %s: RMS %g, want %g within %.0f %%", c.recipe, ti.Name, rms, weightStd, 100*c.tol)
			}
		}
		if n == 0 {
			t.Errorf("%s: no tensor of type %v", c.recipe, c.typ)
		}
	}
	shape, _ := Lookup("tiny")
	if _, _, err := Plan(shape, "TQ2_0"); err == nil {
		t.Error("TQ2_0 (not read by Nuri) planned")
	}
}

// TestWriteWithAssemblyFits: the scale searches fitted in assembly
// (kernels' AVX-512 fits, as nuri synth gives them: IQ4's, Q6_K's,
// make_qkx2_quants's for Q2_K, Q4_K and Q5_K, the IQ codebooks' neighbour
// searches) write the same file, byte for byte, as quant's Go loops.
func TestWriteWithAssemblyFits(t *testing.T) {
	vec := kernels.VecOpsFor(kernels.KernelsBest)
	if f := vec.Fits(); f.IQ4Fit == nil || f.QxFit == nil || f.Qkx2Fit == nil || f.IQNearest == nil {
		t.Skip("no AVX-512 on this CPU: the Go loops fit, and there is nothing to compare")
	}
	s, err := Lookup("tiny")
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range []string{"IQ4_NL", "IQ4_XS", "Q6_K", "Q4_K_M", "Q5_K_S", "Q2_K", "IQ3_S", "IQ2_XXS"} {
		var plain, fast bytes.Buffer
		if err := WriteTo(&plain, Options{Shape: s, Type: typ, Seed: 7}); err != nil {
			t.Fatal(err)
		}
		if err := WriteTo(&fast, Options{Shape: s, Type: typ, Seed: 7, Fits: vec.Fits()}); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(plain.Bytes(), fast.Bytes()) {
			t.Errorf("%s: the file with the assembly fits differs from the Go loops' (%d and %d bytes)", typ, fast.Len(), plain.Len())
		}
	}
}
