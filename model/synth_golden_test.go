package model_test

import (
	"crypto/sha256"
	"encoding/hex"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nuri-ai/nuri/gguf"
	"github.com/nuri-ai/nuri/internal/synth"
	"github.com/nuri-ai/nuri/internal/testgguf"
	"github.com/nuri-ai/nuri/internal/testshared"
	"github.com/nuri-ai/nuri/model"
	"github.com/nuri-ai/nuri/quant"
)

// synthGoldenPrompt is the prompt of testdata/synth-golden: 64 tokens for
// exaone-moe (its window of 16 crossed four times), the first 32 for the
// others.
var synthGoldenPrompt = []int32{331, 154, 404, 49, 74, 96, 374, 59, 219, 38, 88, 444, 428, 71, 246, 92, 434, 60, 126, 228,
	63, 406, 50, 226, 47, 136, 296, 429, 147, 120, 315, 185, 105, 192, 381, 99, 64, 61, 210, 508, 437, 321, 476, 464, 370,
	306, 254, 184, 249, 83, 307, 506, 351, 459, 294, 74, 120, 428, 168, 350, 155, 500, 431, 40}

// TestSynthGoldens runs the mixture-of-experts and latent-attention
// architectures, which ../shared has no goldens for, against llama.cpp's own logits for synth's
// small models of each (testdata/synth-golden/README.md): the prompt in
// one pass, in chunks of 7 and a token at a time through the KV cache.
// Tolerances are the shared goldens' for the weight type (rel-RMS over
// the prompt 1e-3 for float weights, 3e-2 for quantized; top-1 agreement
// 0.99 and 0.95); measured: 1e-5 to 1e-4 for F32, 2e-7 to 1.5e-2 quantized.
func TestSynthGoldens(t *testing.T) {
	for _, c := range []struct {
		shape, typ, sha256 string
		tokens             int
		maxRel, minT1      float64
	}{
		{"exaone-moe-tiny", "F32", "f54ea4828e0fa73cc084f675dc6356ecd34839458d8397a1ab0e52035a95677f", 64, 1e-3, 0.99},
		{"exaone-moe-tiny", "Q8_0", "46c1f3407d555521fe67392a113db75ef252477611c3f4fa1074f2a83c475920", 64, 3e-2, 0.95},
		{"moe-tiny", "F32", "784a2ca0033019a05dd36c38374bab014ece9e8a0827b98f1377e6044bc409a4", 32, 1e-3, 0.99},
		{"moe-tiny", "Q4_K_M", "d73fcedc73c713274087d5306d725c31613ef5b8c5c017494e66d1e1b9244ed1", 32, 3e-2, 0.95},
		{"qwen2moe-tiny", "F32", "38bae5674675e6defb20b37e54f322486cb3df07745f7e0076ebcaff66c18682", 32, 1e-3, 0.99},
		{"qwen2moe-tiny", "Q4_K_M", "0ca7b79e14809c717e16e80b9221ec7310f0d244379767c66f811b429b383861", 32, 3e-2, 0.95},
		{"mixtral-tiny", "F32", "3367cf9e294bb8c4458efbb349dc2ee4b26532276f07119d0b6e2865d4709771", 32, 1e-3, 0.99},
		{"mixtral-tiny", "Q4_K_M", "5231e10b03ac812a195dd59e08e0a75502c716aec37e0f43e58ab9ac139c6d2c", 32, 3e-2, 0.95},
		{"deepseek3-tiny", "F32", "7084fb182b3d9ba7e83296011bd6124da208f9055daa0eba9a7bc7f1897b3ac1", 32, 1e-3, 0.99},
		{"deepseek3-tiny", "Q8_0", "a5dbf6ac4ed034d2b92cb704ea6d4d38453e82771e562c0e144b61fc34753e18", 32, 3e-2, 0.95},
		{"kanana2-tiny", "F32", "26ec37f528bf5dd814933bc9236835fb2bd625d37a655aa20abe5cafe70d5172", 32, 1e-3, 0.99},
		{"kanana2-tiny", "Q8_0", "02fa5ae7ed984953f34da14c152057dc44f9318d5ceca2f19f6c6662137e9bd9", 32, 3e-2, 0.95},
		{"glm4moe-tiny", "F32", "ce6f44954779a0d98346b2d1b0b861c60636c18df9494ca74c38ead3a6be25d2", 32, 1e-3, 0.99},
		{"glm4moe-tiny", "Q8_0", "4ed23d1f8c8e60e9f012828daae581dc39afa5c1530069802f86991898ad084a", 32, 3e-2, 0.95},
		{"gemma3-tiny", "F32", "614a9f1b1ab7ebc61b4a61b09bda65a2f6052a5effe9366fe4eb58b63f306278", 64, 1e-3, 0.99},
		{"gemma3-tiny", "Q8_0", "bbc752c98ff8a79811cea08c7057aa5c9e9e3962034968ea0ae8ff77ae37820f", 64, 3e-2, 0.95},
		{"gemma2-tiny", "F32", "4dfc92fcedff5a33327547692f02f0b3d1a225a7286b8919c9688f448a4107e2", 64, 1e-3, 0.99},
		{"gemma2-tiny", "Q8_0", "a7368d81ac98d0aa5cbffc227d304b3cc10c10a3be179604f757fbad1639b0d9", 64, 3e-2, 0.95},
		{"mistral3-tiny", "F32", "63a84e2c024b40cbc26513e4c22be786b756bb1bd40cd8655526f14328cdf7f0", 64, 1e-3, 0.99},
		{"mistral3-tiny", "Q8_0", "8f8dc044872e26fb6dc39a41c2ce5515ffcfe38c32f608d3654cd80ef7dc2a63", 64, 3e-2, 0.95},
		{"gemma4-tiny", "F32", "14284a3b9bb62caebe46b603862df36ad8bbca04c61fe8ea300db6bac6b33b1b", 64, 1e-3, 0.99},
		{"gemma4-tiny", "Q8_0", "6a7e9340adb8411c6becfd51774306879c9d2195546925b1a970f9d5c8060d76", 64, 3e-2, 0.95},
		{"gemma4-e-tiny", "F32", "bfc89e89a17c3f554f32dea6b6ad88d46ae33af01dd03990b46729fc5e229aa3", 32, 1e-3, 0.99},
		{"gemma4-e-tiny", "Q8_0", "94a4148bb260e9fafbd607ce0156829cf2ce6a7ad29eded735c2454e0d99a517", 32, 3e-2, 0.95},
		{"gemma4-moe-tiny", "F32", "c77d9a66406869fe5338800214d282122be898a07cd97a9284547c35b083b10b", 32, 1e-3, 0.99},
		{"gemma4-moe-tiny", "Q8_0", "bfad78c86eb4c1372c38490978c27568fba2f6f62af2216f267d7cd93d408fd7", 32, 3e-2, 0.95},
	} {
		t.Run(c.shape+"-"+c.typ, func(t *testing.T) {
			shape, err := synth.Lookup(c.shape)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), c.shape+".gguf")
			if err := synth.Write(path, synth.Options{Shape: shape, Type: c.typ, Seed: 1}); err != nil {
				t.Fatal(err)
			}
			checkFixture(t, path, c.sha256, "testdata/synth-golden/README.md")
			ref := testshared.ReadF32(t, filepath.Join("testdata", "synth-golden", c.shape+"-"+c.typ+".logits.f32"))
			m := loadModel(t, path)
			cfg := m.Config()
			if cfg.Arch != shape.Arch || cfg.NExpert != shape.Experts || cfg.NExpertUsed != shape.ExpertsUsed ||
				cfg.NLayer != shape.Layers-shape.NextN || cfg.NFFShared != shape.SharedFF || (shape.KVLoRA > 0 && cfg.NHeadKV != 1) {
				t.Fatalf("config %+v", cfg)
			}
			prompt := synthGoldenPrompt[:c.tokens]
			compareGolden(t, m, prompt, ref, []int{len(prompt), 7, 1}, c.maxRel, c.minT1)
		})
	}
}

// checkFixture stops the test unless the file at path has the sha256 its
// golden logits were made for (readme says how to make them again).
func checkFixture(t *testing.T, path, sha, readme string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(raw); hex.EncodeToString(sum[:]) != sha {
		t.Fatalf("the fixture changed (sha256 %x): its golden logits are for the old one; regenerate them (%s)", sum, readme)
	}
}

// compareGolden teacher-forces prompt through m in each chunk size and
// holds its logits to ref: rel-RMS at most maxRel, top-1 agreement at
// least minT1.
func compareGolden(t *testing.T, m model.Model, prompt []int32, ref []float32, chunks []int, maxRel, minT1 float64) {
	t.Helper()
	nv := m.Config().NVocab
	if len(ref) != len(prompt)*nv {
		t.Fatalf("golden has %d values, want %d", len(ref), len(prompt)*nv)
	}
	for _, chunk := range chunks {
		got := teacherForce(t, m, prompt, chunk)
		r := testshared.RelRMS(got, ref)
		agree, rows := top1Agreement(got, ref, nv)
		t.Logf("chunks of %d: rel-RMS %.2g, top-1 %d/%d", chunk, r, agree, rows)
		if r > maxRel || float64(agree) < minT1*float64(rows) {
			t.Errorf("chunks of %d: rel-RMS %.3g (max %g), top-1 %d/%d (min %g)", chunk, r, maxRel, agree, rows, minT1)
		}
	}
}

// TestSynthBatchInvariance: a token's logits are the same bits whatever
// shares its pass: exaone-moe (quantized experts, biased sigmoid routing,
// windowed layers), deepseek2 (latent attention with its per-head
// matmuls, grouped routing) and gemma4 (per-layer embeddings, layers
// reading other layers' caches, experts beside a dense block).
func TestSynthBatchInvariance(t *testing.T) {
	for _, name := range []string{"exaone-moe-tiny", "deepseek3-tiny", "gemma4-e-tiny", "gemma4-moe-tiny"} {
		t.Run(name, func(t *testing.T) {
			path := testgguf.Synth(t, name, "Q4_K_M", 3)
			checkBatchInvariance(t, loadModel(t, path))
		})
	}
}

// TestGemma4KeptRows: a pass that wants only its last row's logits (the
// last block keeps that row alone, its per-layer input row picked among
// the pass's) gives the same bits as one that wants every row.
func TestGemma4KeptRows(t *testing.T) {
	m := loadModel(t, testgguf.Synth(t, "gemma4-e-tiny", "Q8_0", 3))
	prompt := invariancePrompt
	nv := m.Config().NVocab
	whole, err := newSessionFeed(m, prompt, true)
	if err != nil {
		t.Fatal(err)
	}
	last, err := newSessionFeed(m, prompt, false)
	if err != nil {
		t.Fatal(err)
	}
	if i := firstDiff(last, whole[(len(prompt)-1)*nv:]); i >= 0 {
		t.Errorf("last row alone: logit %d = %v, with every row %v", i, last[i], whole[(len(prompt)-1)*nv+i])
	}
}

// newSessionFeed runs prompt in one pass of a fresh session.
func newSessionFeed(m model.Model, prompt []int32, all bool) ([]float32, error) {
	s, err := newSession(m, len(prompt), quant.F16)
	if err != nil {
		return nil, err
	}
	return s.feed(prompt, all)
}

// TestGemma4SuppressTokens: the tokens a Gemma 4 file lists in
// tokenizer.ggml.suppress_tokens get -Inf logits, the rest are the same
// bits as without the list; an id outside the vocabulary is refused.
func TestGemma4SuppressTokens(t *testing.T) {
	src := testgguf.Synth(t, "gemma4-tiny", "Q8_0", 3)
	f := testgguf.Open(t, src)
	with := func(ids []int32) string {
		kvs := append(slices.Clone(f.KV), gguf.KV{Key: "tokenizer.ggml.suppress_tokens", Value: gguf.Int32s(ids)})
		var ts []testgguf.Tensor
		for i := range f.Tensors {
			ts = append(ts, testgguf.TensorOf(f, &f.Tensors[i]))
		}
		return testgguf.WriteGGUF(t, "suppress.gguf", kvs, ts)
	}
	prompt := invariancePrompt[:8]
	plain, err := newSessionFeed(loadModel(t, src), prompt, true)
	if err != nil {
		t.Fatal(err)
	}
	suppressed := []int32{5, 77, 300}
	got, err := newSessionFeed(loadModel(t, with(suppressed)), prompt, true)
	if err != nil {
		t.Fatal(err)
	}
	nv := 512
	for i, v := range got {
		if slices.Contains(suppressed, int32(i%nv)) {
			if !math.IsInf(float64(v), -1) {
				t.Fatalf("logit %d (token %d) = %v, want -Inf", i, i%nv, v)
			}
		} else if v != plain[i] {
			t.Fatalf("logit %d = %v, without the list %v", i, v, plain[i])
		}
	}
	if _, err := model.Load(with([]int32{512}), model.LoadOptions{}); err == nil || !strings.Contains(err.Error(), "outside the vocabulary") {
		t.Errorf("token 512 of 512: %v", err)
	}
}

// TestGemma4Geometry: Gemma 4's per-layer attention geometry as the model
// reports it, the cache it sizes (shared-KV layers store nothing), and
// the files it refuses.
func TestGemma4Geometry(t *testing.T) {
	path := testgguf.Synth(t, "gemma4-e-tiny", "Q8_0", 3)
	m := loadModel(t, path)
	cfg := m.Config()
	// Nine layers, windowed unless il%3 == 2; layers 6-8 read layers 4
	// (windowed) and 5 (global).
	for il, la := range cfg.Attn {
		want := model.LayerAttn{NHeadKV: 1, HeadDimK: 64, HeadDimV: 64, KVFrom: il}
		if il%3 == 2 {
			want.HeadDimK, want.HeadDimV = 128, 128
		}
		switch il {
		case 6, 7:
			want.KVFrom = 4
		case 8:
			want.KVFrom = 5
		}
		if la != want {
			t.Errorf("layer %d: %+v, want %+v", il, la, want)
		}
	}
	if cfg.HeadDimK != 128 || cfg.NHeadKV != 1 {
		t.Errorf("config head %d, KV heads %d: want the largest, 128 and 1", cfg.HeadDimK, cfg.NHeadKV)
	}
	// F16: four windowed caches of 2·64 values and two global of 2·128.
	if n, err := model.KVBytesPerPosition(cfg, model.SameKV(quant.F16), nil); err != nil || n != 4*2*64*2+2*2*128*2 {
		t.Errorf("KV bytes a position: %d, %v", n, err)
	}
	kv, err := model.NewKVCache(cfg, 4, 16, model.SameKV(quant.F16))
	if err != nil {
		t.Fatal(err)
	}
	if kv.BytesPerBlock() != 16*2048 {
		t.Errorf("bytes a block %d, want %d", kv.BytesPerBlock(), 16*2048)
	}
	bad := cfg
	bad.Attn = slices.Clone(cfg.Attn)
	bad.Attn[7].KVFrom = 5 // a windowed layer on a global layer's cache
	if _, err := model.NewKVCache(bad, 4, 16, model.SameKV(quant.F16)); err == nil {
		t.Error("a cache shared across kinds of layer accepted")
	}

	str := func(v gguf.Value) *gguf.Value { return &v }
	for _, c := range []struct {
		name string
		kv   map[string]*gguf.Value
		want string
	}{
		{"no window", map[string]*gguf.Value{"gemma4.attention.sliding_window": nil}, "sliding_window is missing"},
		{"pattern not bools", map[string]*gguf.Value{"gemma4.attention.sliding_window_pattern": str(gguf.Uint32(3))}, "one bool a layer"},
		{"shared across kinds", map[string]*gguf.Value{"gemma4.attention.shared_kv_layers": str(gguf.Uint32(2))}, "of another kind"},
		{"too many shared", map[string]*gguf.Value{"gemma4.attention.shared_kv_layers": str(gguf.Uint32(8))}, "at least two"},
	} {
		_, err := model.Load(rewriteGGUF(t, path, c.kv, nil, nil), model.LoadOptions{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error saying %q", c.name, err, c.want)
		}
	}
}
