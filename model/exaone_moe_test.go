package model_test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/nuri-ai/nuri/internal/synth"
	"github.com/nuri-ai/nuri/internal/testshared"
)

// exaoneMoEPrompt is the golden prompt of testdata/exaone-moe (64 tokens:
// the sliding window of 16 is crossed four times).
var exaoneMoEPrompt = []int32{331, 154, 404, 49, 74, 96, 374, 59, 219, 38, 88, 444, 428, 71, 246, 92, 434, 60, 126, 228,
	63, 406, 50, 226, 47, 136, 296, 429, 147, 120, 315, 185, 105, 192, 381, 99, 64, 61, 210, 508, 437, 321, 476, 464, 370,
	306, 254, 184, 249, 83, 307, 506, 351, 459, 294, 74, 120, 428, 168, 350, 155, 500, 431, 40}

// TestExaoneMoEGolden runs K-EXAONE's architecture against llama.cpp's
// logits for synth's exaone-moe-tiny (testdata/exaone-moe/README.md), the
// prompt in one pass, in chunks of 7 and a token at a time through the KV
// cache. Tolerances are the shared goldens' for the weight type (rel-RMS
// over the prompt 1e-3 for float weights, 3e-2 for quantized; top-1
// agreement 0.99 and 0.95); measured: F32 1e-4, Q8_0 1e-2 or less.
func TestExaoneMoEGolden(t *testing.T) {
	shape, err := synth.Lookup("exaone-moe-tiny")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		typ, sha256   string
		maxRel, minT1 float64
	}{
		{"F32", "808d9e3bb6888c43d75994dbeffbb508bf9c62ed96d5ca416d4f83f7bb12e100", 1e-3, 0.99},
		{"Q8_0", "071a116291ae2b719cf63651e125a4cc8f61ee28453343e22fec65c79c36996a", 3e-2, 0.95},
	} {
		t.Run(c.typ, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "exaone-moe-tiny.gguf")
			if err := synth.Write(path, synth.Options{Shape: shape, Type: c.typ, Seed: 1}); err != nil {
				t.Fatal(err)
			}
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if sum := sha256.Sum256(raw); hex.EncodeToString(sum[:]) != c.sha256 {
				t.Fatalf("synth wrote another fixture (sha256 %x): the golden logits are for the old one; regenerate them (testdata/exaone-moe/README.md)", sum)
			}
			ref := testshared.ReadF32(t, filepath.Join("testdata", "exaone-moe", c.typ+".logits.f32"))
			m := loadModel(t, path)
			cfg := m.Config()
			if cfg.Arch != "exaone-moe" || cfg.NLayer != 4 || cfg.NExpert != 8 || cfg.NExpertUsed != 3 || cfg.NFFShared != 128 {
				t.Fatalf("config %+v", cfg)
			}
			nv := cfg.NVocab
			if len(ref) != len(exaoneMoEPrompt)*nv {
				t.Fatalf("golden has %d values, want %d", len(ref), len(exaoneMoEPrompt)*nv)
			}
			for _, chunk := range []int{len(exaoneMoEPrompt), 7, 1} {
				got := teacherForce(t, m, exaoneMoEPrompt, chunk)
				r := testshared.RelRMS(got, ref)
				agree, rows := top1Agreement(got, ref, nv)
				t.Logf("chunks of %d: rel-RMS %.2g, top-1 %d/%d", chunk, r, agree, rows)
				if r > c.maxRel || float64(agree) < c.minT1*float64(rows) {
					t.Errorf("chunks of %d: rel-RMS %.3g (max %g), top-1 %d/%d (min %g)", chunk, r, c.maxRel, agree, rows, c.minT1)
				}
			}
		})
	}
}

// TestExaoneMoEBatchInvariance: a token's logits are the same bits
// whatever shares its pass (quantized experts, biased sigmoid routing,
// windowed layers).
func TestExaoneMoEBatchInvariance(t *testing.T) {
	shape, err := synth.Lookup("exaone-moe-tiny")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "exaone-moe-tiny.gguf")
	if err := synth.Write(path, synth.Options{Shape: shape, Type: "Q4_K_M", Seed: 3}); err != nil {
		t.Fatal(err)
	}
	checkBatchInvariance(t, loadModel(t, path))
}
