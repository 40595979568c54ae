package main

import (
	"bytes"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nuri-ai/nuri/gguf"
	"github.com/nuri-ai/nuri/internal/testgguf"
	"github.com/nuri-ai/nuri/internal/testshared"
	"github.com/nuri-ai/nuri/quant"
)

// quantizeGoldenTypes are the single-type reference files of llama-f32.gguf
// that llama-quantize --pure produced (../shared/testdata/golden/llama-T.gguf).
var quantizeGoldenTypes = []string{"Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "F16", "BF16"}

func quantizeGolden(t *testing.T, name string) string {
	t.Helper()
	return testshared.Path(t, "testdata", "golden", name)
}

// runQuantizeTest runs `nuri quantize args...` and fails the test on error.
func runQuantizeTest(t *testing.T, args ...string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if err := runQuantize(args, &stdout, &stderr); err != nil {
		t.Fatalf("nuri quantize %s: %v\nstderr:\n%s", strings.Join(args, " "), err, stderr.String())
	}
}

// compareTensors checks that got has exactly ref's tensors with the same
// types and shapes, and (when withBytes) the same data.
func compareTensors(t *testing.T, got, ref *gguf.File, withBytes bool) {
	t.Helper()
	if len(got.Tensors) != len(ref.Tensors) {
		t.Errorf("%d tensors, reference has %d", len(got.Tensors), len(ref.Tensors))
	}
	for i := range ref.Tensors {
		rt := &ref.Tensors[i]
		gt, ok := got.Tensor(rt.Name)
		if !ok {
			t.Errorf("%s: missing", rt.Name)
			continue
		}
		if gt.Type != rt.Type || !equalDims(gt.Dims, rt.Dims) {
			t.Errorf("%s: %v %v, reference %v %v", rt.Name, gt.Type, gt.Dims, rt.Type, rt.Dims)
			continue
		}
		if withBytes && !bytes.Equal(got.TensorData(gt), ref.TensorData(rt)) {
			t.Errorf("%s (%v): data differs from the reference", rt.Name, rt.Type)
		}
	}
}

func equalDims(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestQuantizeGoldenPure is the acceptance check: `nuri quantize --pure
// llama-f32.gguf out.gguf T` must give llama-quantize's tensors bit for bit.
// The whole file is compared too: metadata order, tensor order and padding
// follow llama-quantize, so the files are identical.
func TestQuantizeGoldenPure(t *testing.T) {
	src := quantizeGolden(t, "llama-f32.gguf")
	for _, typ := range quantizeGoldenTypes {
		t.Run(typ, func(t *testing.T) {
			refPath := quantizeGolden(t, "llama-"+typ+".gguf")
			out := filepath.Join(t.TempDir(), "out.gguf")
			runQuantizeTest(t, "--pure", src, out, typ)
			compareTensors(t, testgguf.Open(t, out), testgguf.Open(t, refPath), true)
			quantizeSameBytes(t, out, refPath)
		})
	}
}

func quantizeSameBytes(t *testing.T, a, b string) {
	t.Helper()
	x, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	y, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(x, y) {
		t.Errorf("%s and %s differ (%d vs %d bytes)", filepath.Base(a), filepath.Base(b), len(x), len(y))
	}
}

// TestQuantizeGoldenMixes checks llama-quantize's per-tensor type choice.
// For llama the reference was made from llama-f32.gguf, so the bytes must
// match too. The other architectures' references were quantized from an
// F32 original that is not in ../shared (only its F16 rounding is), so for
// them only the type of every tensor is compared.
func TestQuantizeGoldenMixes(t *testing.T) {
	cases := []struct {
		src, ref, mix string
		bytes         bool
	}{
		{"llama-f32.gguf", "llama-Q4_K_M.gguf", "Q4_K_M", true},
		{"qwen3-F16.gguf", "qwen3-Q4_K_M.gguf", "Q4_K_M", false}, // tied embeddings: token_embd gets Q6_K
		{"qwen2-F16.gguf", "qwen2-Q4_K_M.gguf", "Q4_K_M", false}, // 1-D biases stay F32
		{"exaone-F16.gguf", "exaone-Q4_K_M.gguf", "Q4_K_M", false},
		{"exaone4-F16.gguf", "exaone4-Q4_K_M.gguf", "Q4_K_M", false},
		{"granite-F16.gguf", "granite-Q4_K_M.gguf", "Q4_K_M", false},
		{"qwen3-F16.gguf", "qwen3-Q8_0.gguf", "Q8_0", false},
		{"exaone4-F16.gguf", "exaone4-Q8_0.gguf", "Q8_0", false},
	}
	for _, c := range cases {
		t.Run(c.ref, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out.gguf")
			runQuantizeTest(t, quantizeGolden(t, c.src), out, c.mix)
			got, ref := testgguf.Open(t, out), testgguf.Open(t, quantizeGolden(t, c.ref))
			compareTensors(t, got, ref, c.bytes)
			gft, _ := got.Uint32("general.file_type")
			rft, _ := ref.Uint32("general.file_type")
			if gft != rft {
				t.Errorf("general.file_type %d, reference %d", gft, rft)
			}
		})
	}
}

// quantizeRMSEBound is the largest RMSE (relative to the RMS of the source
// weights) allowed when dequantizing a reference file against the F32
// source. Each bound is the worst tensor measured on llama-f32.gguf (in the
// comment) with about 25% margin: the data is fixed, so a larger error can
// only mean a broken dequantizer, while the margin keeps the test from
// pinning float details. F16/BF16 are pure rounding: 2^-11 and 2^-8
// relative at most, RMS about a third of that.
var quantizeRMSEBound = map[string]float64{
	"Q4_0": 0.11,   // measured 0.0866
	"Q4_1": 0.10,   // 0.0788
	"Q5_0": 0.055,  // 0.0432
	"Q5_1": 0.048,  // 0.0380
	"Q8_0": 0.0070, // 0.00540
	"Q2_K": 0.37,   // 0.298
	"Q3_K": 0.19,   // 0.152
	"Q4_K": 0.090,  // 0.0717
	"Q5_K": 0.046,  // 0.0364
	"Q6_K": 0.023,  // 0.0178
	"F16":  2.6e-4, // 2.08e-4
	"BF16": 2.1e-3, // 1.67e-3
}

func TestDequantizeGoldenRoundTrip(t *testing.T) {
	src := testgguf.Open(t, quantizeGolden(t, "llama-f32.gguf"))
	for _, typ := range quantizeGoldenTypes {
		t.Run(typ, func(t *testing.T) {
			ref := testgguf.Open(t, quantizeGolden(t, "llama-"+typ+".gguf"))
			worst := 0.0
			for i := range ref.Tensors {
				rt := &ref.Tensors[i]
				st, ok := src.Tensor(rt.Name)
				if !ok || st.Type != quant.F32 {
					t.Fatalf("%s: not an F32 tensor of the source", rt.Name)
				}
				want := make([]float32, st.Elements())
				if err := quant.Dequantize(quant.F32, src.TensorData(st), want); err != nil {
					t.Fatal(err)
				}
				got := make([]float32, rt.Elements())
				if err := quant.Dequantize(rt.Type, ref.TensorData(rt), got); err != nil {
					t.Fatalf("%s: %v", rt.Name, err)
				}
				var se, ss float64
				for k := range want {
					d := float64(got[k]) - float64(want[k])
					se += d * d
					ss += float64(want[k]) * float64(want[k])
				}
				rel := math.Sqrt(se / ss)
				worst = max(worst, rel)
			}
			b, ok := quantizeRMSEBound[typ]
			if !ok {
				t.Fatalf("no RMSE bound for %s", typ)
			}
			t.Logf("%s: worst relative RMSE %.4g (bound %.4g)", typ, worst, b)
			if worst > b {
				t.Errorf("worst relative RMSE %.4g > bound %.4g", worst, b)
			}
		})
	}
}

// TestQuantizeRowSizeFallback: stories260K's feed-forward rows (172) fit no
// block size. Without --fallback that is an error naming the tensor; with
// --fallback F16 those tensors are F16 and the rest Q4_0.
func TestQuantizeRowSizeFallback(t *testing.T) {
	src := testshared.Path(t, "models", "stories260K.gguf")
	out := filepath.Join(t.TempDir(), "out.gguf")
	var stdout, stderr bytes.Buffer
	err := runQuantize([]string{"--pure", src, out, "Q4_0"}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "blk.0.ffn_down.weight") || !strings.Contains(err.Error(), "172") {
		t.Fatalf("want an error naming blk.0.ffn_down.weight and its row length 172, got %v", err)
	}
	if _, serr := os.Stat(out); !os.IsNotExist(serr) {
		t.Errorf("a failed run left %s behind", out)
	}

	runQuantizeTest(t, src, out, "Q4_0", "--pure", "--fallback", "F16") // flags after the arguments work too
	f := testgguf.Open(t, out)
	nF16 := 0
	for _, ti := range f.Tensors {
		want := quant.Q4_0
		switch {
		case len(ti.Dims) < 2 || ti.Dims[1] == 1:
			want = quant.F32
		case ti.Dims[0] == 172:
			want = quant.F16
			nF16++
		}
		if ti.Type != want {
			t.Errorf("%s %v: type %v, want %v", ti.Name, ti.Dims, ti.Type, want)
		}
	}
	if nF16 == 0 {
		t.Error("no tensor needed the fallback")
	}
	if ft, _ := f.Uint32("general.file_type"); ft != 2 {
		t.Errorf("general.file_type = %d, want 2 (Q4_0)", ft)
	}
}

func TestQuantizeUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"a.gguf", "b.gguf"},
		{"a.gguf", "b.gguf", "Q9_9"},
		{"--fallback", "nope", "a.gguf", "b.gguf", "Q4_0"},
		{"--bogus", "a.gguf", "b.gguf", "Q4_0"},
	} {
		if err := runQuantize(args, io.Discard, io.Discard); err != errUsage {
			t.Errorf("nuri quantize %q: got %v, want a usage error", args, err)
		}
	}
	// A missing input is an ordinary error that names the file.
	err := runQuantize([]string{"/nonexistent/in.gguf", filepath.Join(t.TempDir(), "o.gguf"), "Q4_0"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/in.gguf") {
		t.Errorf("missing input: got %v", err)
	}
}

// TestQuantizeRequantize: a quantized model converts only with
// --allow-requantize, and then as its dequantized weights would: each
// converted tensor is Quantize(Dequantize(source)), bit for bit.
func TestQuantizeRequantize(t *testing.T) {
	src := synthTinyModel(t) // Q4_0 layers, Q6_K output (llama-quantize's Q4_0 recipe)
	out := filepath.Join(t.TempDir(), "q8.gguf")
	err := runQuantize([]string{src, out, "Q8_0"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--allow-requantize") {
		t.Fatalf("without the flag: %v, want an error naming --allow-requantize", err)
	}
	var errb strings.Builder
	if err := runQuantize([]string{"--allow-requantize", src, out, "Q8_0"}, io.Discard, &errb); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errb.String(), "requantizing") {
		t.Errorf("no warning: %q", errb.String())
	}
	in, err := gguf.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	got, err := gguf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	converted := 0
	for i := range in.Tensors {
		ti := &in.Tensors[i]
		to, ok := got.Tensor(ti.Name)
		if !ok {
			t.Fatalf("%s missing", ti.Name)
		}
		if to.Type == ti.Type {
			continue
		}
		converted++
		x := make([]float32, ti.Elements())
		if err := quant.Dequantize(ti.Type, in.TensorData(ti), x); err != nil {
			t.Fatal(err)
		}
		want := make([]byte, to.Bytes())
		if err := quant.Quantize(to.Type, x, want); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.TensorData(to), want) {
			t.Errorf("%s: %v → %v differs from Quantize(Dequantize)", ti.Name, ti.Type, to.Type)
		}
	}
	if converted == 0 {
		t.Error("no tensor was converted")
	}
	// Writing onto the input would truncate what the quantizer reads.
	before, _ := os.ReadFile(src)
	err = runQuantize([]string{"--allow-requantize", src, src, "Q8_0"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "a file of the input model") {
		t.Errorf("output onto the input: %v", err)
	}
	if after, _ := os.ReadFile(src); !bytes.Equal(before, after) {
		t.Error("the input changed")
	}
}

// TestQuantizeLoRA: nuri quantize --lora merges the adapter into the
// weights it adapts (to F32 here, so nothing else changes them) and the
// merged model's logits are the base model's with the adapter applied at
// run time (nuri logits --lora), within float32 rounding; an adapter of
// another architecture, or for a tensor the model lacks, is refused.
func TestQuantizeLoRA(t *testing.T) {
	base := testshared.Path(t, "models", "stories260K.gguf")
	adapter := storiesAdapter(t, 0.05)
	dir := t.TempDir()
	merged := filepath.Join(dir, "merged.gguf")
	var out strings.Builder
	if err := runQuantize([]string{"--lora-scaled", adapter + ":0.7", base, merged, "F32"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "merged 1 LoRA adapters into 2 tensors") {
		t.Errorf("output %q", out.String())
	}
	logits := func(name string, args ...string) []float32 {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := runLogits(append([]string{"--tokens", "1,403,407,261,378,410,20,261", "--out", path, "--threads", "2"}, args...), io.Discard, io.Discard); err != nil {
			t.Fatal(err)
		}
		return testshared.ReadF32(t, path)
	}
	runtime := logits("runtime.f32", "--model", base, "--lora-scaled", adapter+":0.7")
	fromMerged := logits("merged.f32", "--model", merged)
	plain := logits("plain.f32", "--model", base)
	// Merged weights round W + ΔW once, the run-time adapter its product
	// after the matmul: measured 1.2e-7 apart, the adapter moving the
	// logits by 0.21.
	if e := testshared.RelRMS(fromMerged, runtime); e > 1e-5 {
		t.Errorf("merged model: rel-RMS %.2g from the adapter at run time", e)
	}
	if e := testshared.RelRMS(plain, runtime); e < 1e-3 {
		t.Fatalf("the adapter moves the logits by %.2g only", e)
	}
	vocab := testshared.Path(t, "testdata", "tokenizer", "ggml-vocab-qwen3.gguf")
	if err := runQuantize([]string{"--lora", vocab, base, filepath.Join(dir, "other.gguf"), "F32"}, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "adapter.type") {
		t.Errorf("a file that is no adapter: %v", err)
	}
}

// TestQuantizeTrimsUnitDims: a tensor stored with a trailing dimension
// of 1 (a converter's [256, 1] classifier output) is written as
// llama-quantize writes it, [256] (ggml_n_dims); the rest keep theirs.
// With that, quantizing synth's bert-rerank-tiny matched llama-quantize's
// output byte for byte (Q4_K_M, Q8_0, Q4_0, Q6_K; 2026-12-02).
func TestQuantizeTrimsUnitDims(t *testing.T) {
	for _, c := range []struct{ in, want []uint64 }{
		{[]uint64{256, 1}, []uint64{256}}, {[]uint64{256, 1, 1}, []uint64{256}}, {[]uint64{1}, []uint64{1}},
		{[]uint64{1, 1}, []uint64{1}}, {[]uint64{1, 256}, []uint64{1, 256}}, {[]uint64{4, 1, 3}, []uint64{4, 1, 3}},
	} {
		if got := ggmlDims(c.in); !slices.Equal(got, c.want) {
			t.Errorf("%v: %v, want %v", c.in, got, c.want)
		}
	}
	in := testgguf.Synth(t, "bert-rerank-tiny", "F32", 1)
	out := filepath.Join(t.TempDir(), "q.gguf")
	var stdout, stderr bytes.Buffer
	if err := runQuantize([]string{in, out, "Q8_0"}, &stdout, &stderr); err != nil {
		t.Fatalf("%v: %s", err, stderr.String())
	}
	f, err := gguf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for name, want := range map[string][]uint64{"cls.output.weight": {256}, "cls.weight": {256, 256}, "token_types.weight": {256, 2}} {
		ti, ok := f.Tensor(name)
		if !ok || !slices.Equal(ti.Dims, want) {
			t.Errorf("%s: %v, want %v", name, ti, want)
		}
	}
}

// TestQuantizeProgressLog: with stderr not a terminal, nuri quantize logs
// a plain line every 10 % with the tensor it is on, and no carriage
// returns, so a log of a long quantization stays readable.
func TestQuantizeProgressLog(t *testing.T) {
	src := quantizeGolden(t, "llama-f32.gguf")
	var stdout, stderr bytes.Buffer
	if err := runQuantize([]string{"--pure", src, filepath.Join(t.TempDir(), "out.gguf"), "Q8_0"}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	log := stderr.String()
	if strings.Contains(log, "\r") {
		t.Errorf("carriage returns in a log:\n%q", log)
	}
	lines := strings.Split(strings.TrimSpace(log), "\n")
	if len(lines) < 2 || len(lines) > 10 {
		t.Errorf("%d lines of progress, want one a tenth:\n%s", len(lines), log)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "quantize: ") || !strings.Contains(l, " -> ") {
			t.Errorf("progress line %q: want quantize: N%% (…, tensor -> type)", l)
		}
	}
	if last := lines[len(lines)-1]; !strings.Contains(last, "100%") {
		t.Errorf("last progress line %q: want 100%%", last)
	}
}

// TestQuantizeKeepSplit: with --keep-split a split model is quantized into
// as many parts, each tensor in the part its input was in, with the same
// data as quantizing the model in one file; the first part carries the
// metadata and every part the split keys. A model of one file stays one.
func TestQuantizeKeepSplit(t *testing.T) {
	src := quantizeGolden(t, "llama-f32.gguf")
	dir := t.TempDir()
	whole := filepath.Join(dir, "whole.gguf")
	runQuantizeTest(t, "--pure", src, whole, "Q4_0")

	f, err := gguf.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	inParts, err := gguf.WriteSplit(f, filepath.Join(dir, "in"), 3)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}

	var stdout, stderr bytes.Buffer
	if err := runQuantize([]string{"--dry-run", "--keep-split", "--pure", inParts[0], "Q4_0"}, &stdout, &stderr); err != nil {
		t.Fatalf("dry run: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "part 3 of 3: ") {
		t.Errorf("dry run does not list the parts:\n%s", stdout.String())
	}
	if matches, _ := filepath.Glob(filepath.Join(dir, "out*")); len(matches) != 0 {
		t.Errorf("dry run wrote %v", matches)
	}

	runQuantizeTest(t, "--keep-split", "--pure", inParts[0], filepath.Join(dir, "out.gguf"), "Q4_0")
	ref, err := gguf.Open(whole)
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	in, err := gguf.Open(inParts[0])
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	got, err := gguf.Open(gguf.SplitPath(filepath.Join(dir, "out"), 0, 3))
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	if got.Parts() != 3 {
		t.Fatalf("output has %d parts, want 3", got.Parts())
	}
	compareTensors(t, got, ref, true)
	for i := range in.Tensors {
		gt, ok := got.Tensor(in.Tensors[i].Name)
		if ok && gt.Part() != in.Tensors[i].Part() {
			t.Errorf("%s is in part %d, its input in part %d", gt.Name, gt.Part()+1, in.Tensors[i].Part()+1)
		}
	}
	if ft, ok := got.Uint32("general.file_type"); !ok || ft != 2 { // LLAMA_FTYPE_MOSTLY_Q4_0
		t.Errorf("general.file_type %d (%v), want 2", ft, ok)
	}
	for p := range 3 {
		part, err := gguf.OpenBytes(mustRead(t, gguf.SplitPath(filepath.Join(dir, "out"), p, 3)))
		if err != nil {
			t.Fatal(err)
		}
		no, _ := part.Get(gguf.KeySplitNo)
		count, _ := part.Get(gguf.KeySplitCount)
		if no != gguf.Uint16(uint16(p)) || count != gguf.Uint16(3) {
			t.Errorf("part %d: split.no %v, split.count %v", p+1, no, count)
		}
		if _, ok := part.Get("general.architecture"); ok != (p == 0) {
			t.Errorf("part %d: general.architecture present %v, want only in the first", p+1, ok)
		}
	}

	// A model of one file is written as one file, whatever --keep-split says.
	one := filepath.Join(dir, "one.gguf")
	stderr.Reset()
	if err := runQuantize([]string{"--keep-split", "--pure", src, one, "Q4_0"}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	a, b := mustRead(t, one), mustRead(t, whole)
	if !bytes.Equal(a, b) || !strings.Contains(stderr.String(), "is one file") {
		t.Errorf("--keep-split of one file: %d bytes (whole: %d), stderr %q", len(a), len(b), stderr.String())
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
