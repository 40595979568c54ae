package inproc

import (
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/nuri-ai/nuri/gguf"
	"github.com/nuri-ai/nuri/internal/synth"
	"github.com/nuri-ai/nuri/kernels"
	"github.com/nuri-ai/nuri/quant"
)

func synthModel(t *testing.T, tied bool, typ string) (string, synth.Shape) {
	t.Helper()
	shape, err := synth.Lookup("tiny")
	if err != nil {
		t.Fatal(err)
	}
	shape.Tied = tied
	path := filepath.Join(t.TempDir(), "m.gguf")
	if err := synth.Write(path, synth.Options{Shape: shape, Type: typ, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	return path, shape
}

// TestInspectModel checks the decode byte count against the tensors: every
// tensor once, the embedding as one row when an output matrix exists, and
// whole (it is the output matrix) when tied.
func TestInspectModel(t *testing.T) {
	for _, tc := range []struct {
		name string
		tied bool
		typ  string
		ft   string
	}{
		{"untied Q4_0", false, "Q4_0", "Q4_0"},
		{"tied Q8_0", true, "Q8_0", "Q8_0"},
		{"tied Q4_K_M", true, "Q4_K_M", "Q4_K_M"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path, shape := synthModel(t, tc.tied, tc.typ)
			info, err := InspectModel(path)
			if err != nil {
				t.Fatal(err)
			}
			f, err := gguf.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var size uint64
			for i := range f.Tensors {
				size += f.Tensors[i].Bytes()
			}
			emb, _ := f.Tensor("token_embd.weight")
			out, hasOut := f.Tensor("output.weight")
			if hasOut == tc.tied {
				t.Fatalf("output.weight present: %v, tied %v", hasOut, tc.tied)
			}
			wantDecode, wantOut := size, emb.Bytes()
			if !tc.tied {
				wantDecode = size - emb.Bytes() + emb.Bytes()/uint64(shape.Vocab)
				wantOut = out.Bytes()
			}
			if info.SizeBytes != size || info.Params != shape.Params() || info.DecodeWeightBytes != wantDecode ||
				info.OutputBytes != wantOut || info.Tied != tc.tied {
				t.Errorf("info %+v; want size %d params %d decode %d output %d", info, size, shape.Params(), wantDecode, wantOut)
			}
			if want := "llama " + sizeLabel(shape.Params()) + " " + tc.ft; info.Name != want {
				t.Errorf("name %q, want %q", info.Name, want)
			}
			var sum uint64
			for _, n := range info.TypeBytes {
				sum += n
			}
			if sum != size {
				t.Errorf("type bytes sum to %d, size %d", sum, size)
			}
		})
	}
	if _, err := InspectModel(filepath.Join(t.TempDir(), "none.gguf")); err == nil {
		t.Error("a missing file inspected without error")
	}
}

func TestSizeLabel(t *testing.T) {
	for _, tc := range []struct {
		n    uint64
		want string
	}{{1235814400, "1.2B"}, {260000, "260K"}, {1441792, "1.4M"}, {7e9, "7B"}, {999, "999"}} {
		if got := sizeLabel(tc.n); got != tc.want {
			t.Errorf("sizeLabel(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}

func TestFormats(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{formatSize(763 << 20), "763.00 MiB"},
		{formatSize(1310 << 20), "1.28 GiB"},
		{formatParams(1235814400), "1.24 B"},
		{formatParams(1441792), "1.44 M"},
		{formatBytes(762e6), "762.00 MB"},
		{formatBytes(1.5e9), "1.500 GB"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func TestRoofline(t *testing.T) {
	for _, tc := range []struct {
		name                       string
		bw, weights, kv, tps, best float64
		tokens                     int
		wantRoof, wantRatio        float64
	}{
		// llama.cpp's Q4_0 figures: 17.4 t/s, 0.763 GB per token, 13.3 GB/s.
		{"decode", 13.3, 0.762e9, 1e6, 17.4, 17.4, 1, 13.3e9 / 0.763e9, 17.4 / (13.3e9 / 0.763e9)},
		{"batched", 10, 0.5e9, 0.5e9, 40, 40, 4, 40, 1},
		{"no bytes", 10, 0, 0, 5, 5, 1, 0, 0},
	} {
		steps := &StepStats{FastestTPS: 2 * tc.best}
		r := newRoofline(tc.bw, tc.weights, tc.kv, tc.tokens).set(tc.tps, tc.best, steps)
		if math.Abs(r.RooflineTPS-tc.wantRoof) > 1e-9*max(1, tc.wantRoof) || math.Abs(r.Ratio-tc.wantRatio) > 1e-9 ||
			math.Abs(r.BestRatio-tc.wantRatio) > 1e-9 || math.Abs(r.FastestStepRatio-2*tc.wantRatio) > 1e-9 ||
			r.BytesPerStep != tc.weights+tc.kv {
			t.Errorf("%s: %+v, want roofline %v ratio %v", tc.name, r, tc.wantRoof, tc.wantRatio)
		}
	}
}

func TestModelConfigValidate(t *testing.T) {
	ok := DefaultModelConfig()
	ok.Model = "m.gguf"
	if err := ok.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for _, tc := range []struct {
		name string
		edit func(*ModelConfig)
	}{
		{"no model", func(c *ModelConfig) { c.Model = "" }},
		{"negative p", func(c *ModelConfig) { c.Prompts = []int{128, -1} }},
		{"nothing", func(c *ModelConfig) { c.Prompts, c.Gens = []int{0}, nil }},
		{"no reps", func(c *ModelConfig) { c.Reps = 0 }},
		{"ubatch", func(c *ModelConfig) { c.UBatch = 0 }},
		{"block", func(c *ModelConfig) { c.BlockSize = 0 }},
		{"bandwidth", func(c *ModelConfig) { c.BandwidthMiB = 0 }},
		{"batch without gen", func(c *ModelConfig) { c.Batch, c.Gens = []int{2}, []int{0} }},
		{"batch zero", func(c *ModelConfig) { c.Batch = []int{0} }},
		{"kv type", func(c *ModelConfig) { c.KVType = "Q4_K" }},
	} {
		c := ok
		tc.edit(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
}

func TestStepStats(t *testing.T) {
	var st stepTimer
	if st.stats(1) != nil {
		t.Error("stats of no steps")
	}
	st.sec = []float64{0.4, 0.1, 0.2, 0.3}
	got := st.stats(4)
	want := StepStats{N: 4, MinSeconds: 0.1, MedianSeconds: 0.25, FastestTPS: 40, MedianTPS: 16, MaxSeconds: 0.4}
	if math.Abs(got.MedianSeconds-want.MedianSeconds) > 1e-12 || math.Abs(got.MedianTPS-want.MedianTPS) > 1e-9 {
		t.Errorf("median: %+v, want %+v", *got, want)
	}
	got.MedianSeconds, got.MedianTPS = want.MedianSeconds, want.MedianTPS
	if *got != want {
		t.Errorf("stats %+v, want %+v", *got, want)
	}
	if note := stallNote(got); note != "" {
		t.Errorf("steps without a stall noted: %q", note)
	}
}

// TestStepStalls: steps over twice the median count as stalled, with
// what they took beyond it; exactly twice does not.
func TestStepStalls(t *testing.T) {
	for _, tc := range []struct {
		sec     []float64
		stalled int
		lost    float64
	}{
		{sec: []float64{0.045, 0.046, 0.044, 0.045, 0.147}, stalled: 1, lost: 0.102},
		{sec: []float64{0.045, 0.145, 0.045, 0.045, 0.147, 0.045}, stalled: 2, lost: 0.202},
		{sec: []float64{0.01, 0.02, 0.01}, stalled: 0},
		{sec: []float64{0.05}, stalled: 0},
	} {
		st := (&stepTimer{sec: tc.sec}).stats(1)
		if st.Stalled != tc.stalled || math.Abs(st.StalledSeconds-tc.lost) > 1e-9 || st.MaxSeconds != slices.Max(tc.sec) {
			t.Errorf("%v: %d stalled, %.3f s lost, slowest %v; want %d, %.3f", tc.sec, st.Stalled, st.StalledSeconds, st.MaxSeconds, tc.stalled, tc.lost)
		}
	}
	st := (&stepTimer{sec: []float64{0.045, 0.046, 0.044, 0.045, 0.147}}).stats(1)
	if note, want := stallNote(st), ", 1 of 5 stalled (over 2× the median; 102 ms lost, slowest 147 ms)"; note != want {
		t.Errorf("note %q, want %q", note, want)
	}
}

// TestInspectGemma4 checks Gemma 4's decode bytes: the per-layer token
// embeddings count one row, and the shared-KV layers' own K/V tensors
// (never read) none.
func TestInspectGemma4(t *testing.T) {
	shape, err := synth.Lookup("gemma4-e-tiny")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "g.gguf")
	if err := synth.Write(path, synth.Options{Shape: shape, Type: "Q8_0", Seed: 3}); err != nil {
		t.Fatal(err)
	}
	// (The synthetic file has no K/V tensors in its shared layers, which
	// converted files may carry: unreadInSharedKV is checked below.)
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var size, ple uint64
	for i := range f.Tensors {
		size += f.Tensors[i].Bytes()
	}
	pt, _ := f.Tensor("per_layer_token_embd.weight")
	ple = pt.Bytes()
	f.Close()
	info, err := InspectModel(path)
	if err != nil {
		t.Fatal(err)
	}
	want := size - ple + ple/uint64(shape.Vocab)
	if info.DecodeWeightBytes != want || info.Params != shape.Params() {
		t.Errorf("decode %d, params %d; want %d, %d", info.DecodeWeightBytes, info.Params, want, shape.Params())
	}
	if active := shape.Params() - uint64(shape.PLE*shape.Layers)*uint64(shape.Vocab-1); info.ActiveParams != active {
		t.Errorf("active params %d, want %d", info.ActiveParams, active)
	}
	if !unreadInSharedKV("blk.8.attn_k.weight") || unreadInSharedKV("blk.8.attn_q.weight") {
		t.Error("unreadInSharedKV")
	}
}

// TestInspectTranscoded: the decode reads the i-quants below 4 bits (in
// the IQ3_XXS recipe: IQ3_XXS, IQ2_S and IQ3_S) as their packed records
// where the CPU packs them: DecodeTranscodedBytes is each
// read matrix's record bytes beyond its file bytes (the token embedding,
// looked up a row at a time, adds nothing), and 0 for other types.
func TestInspectTranscoded(t *testing.T) {
	path, _ := synthModel(t, false, "IQ3_XXS")
	info, err := InspectModel(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var want uint64
	n := 0
	for _, ti := range f.Tensors {
		if !quant.IQTranscodable(ti.Type) || ti.Name == "token_embd.weight" {
			continue
		}
		n++
		pb := kernels.PackedBytes(ti.Type, int(ti.Dims[1]), int(ti.Dims[0]))
		if kernels.CanPack(ti.Type) && pb <= ti.Bytes() {
			t.Fatalf("%s: packed %d bytes, file %d: the records should be larger", ti.Name, pb, ti.Bytes())
		}
		if pb > 0 {
			want += pb - ti.Bytes()
		}
	}
	if n == 0 {
		t.Fatal("no i-quant matrices in the synthetic model")
	}
	if info.DecodeTranscodedBytes != want {
		t.Errorf("DecodeTranscodedBytes %d, want %d", info.DecodeTranscodedBytes, want)
	}
	q4, _ := synthModel(t, false, "Q4_0")
	if qi, err := InspectModel(q4); err != nil || qi.DecodeTranscodedBytes != 0 {
		t.Errorf("Q4_0: DecodeTranscodedBytes %d (%v), want 0", qi.DecodeTranscodedBytes, err)
	}
}
