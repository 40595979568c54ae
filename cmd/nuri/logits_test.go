package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nuri-ai/nuri/internal/testshared"
)

// TestLogitsCommand runs `nuri logits` on a golden prompt and compares the
// file with llama.cpp's logits (the stories260K case's tolerance).
func TestLogitsCommand(t *testing.T) {
	dir := testshared.Path(t, "testdata", "golden")
	raw, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var man struct {
		Cases []struct {
			Name    string `json:"name"`
			Model   string `json:"model"`
			Prompts []struct {
				Tokens []int32 `json:"tokens"`
				Logits string  `json:"logits"`
			} `json:"prompts"`
			Tolerance struct {
				MaxRelRMS float64 `json:"max_rel_rms"`
			} `json:"tolerance"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(raw, &man); err != nil {
		t.Fatal(err)
	}
	for _, c := range man.Cases {
		if c.Name != "stories260K" {
			continue
		}
		p := c.Prompts[1]
		var ids []string
		for _, id := range p.Tokens {
			ids = append(ids, fmt.Sprint(id))
		}
		out := filepath.Join(t.TempDir(), "logits.f32")
		var stdout, stderr bytes.Buffer
		// --batch 7 splits the prompt into several forward passes.
		code := realMain([]string{"logits", "--model", filepath.Join(dir, c.Model), "--tokens", strings.Join(ids, ","),
			"--out", out, "--threads", "2", "--batch", "7"}, &stdout, &stderr)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
		got, ref := readLE32(t, out), readLE32(t, filepath.Join(dir, p.Logits))
		if len(got) != len(ref) {
			t.Fatalf("%d logits, reference has %d", len(got), len(ref))
		}
		var num, den float64
		for i := range ref {
			d := float64(got[i]) - float64(ref[i])
			num, den = num+d*d, den+float64(ref[i])*float64(ref[i])
		}
		if r := math.Sqrt(num / den); r > c.Tolerance.MaxRelRMS {
			t.Errorf("rel-RMS %.3e > %.0e", r, c.Tolerance.MaxRelRMS)
		}
		return
	}
	t.Fatal("manifest has no stories260K case")
}

func TestLogitsCommandErrors(t *testing.T) {
	model := testshared.Path(t, "models", "stories260K.gguf")
	out := filepath.Join(t.TempDir(), "x.f32")
	cases := []struct {
		name    string
		args    []string
		code    int
		mention string
	}{
		{"no-model", []string{"--tokens", "1", "--out", out}, 2, "--model"},
		{"bad-token-list", []string{"--model", model, "--tokens", "1,x", "--out", out}, 2, `"x"`},
		{"bad-kv-type", []string{"--model", model, "--tokens", "1", "--out", out, "--kv-type", "bf16"}, 2, "bf16"},
		{"token-out-of-range", []string{"--model", model, "--tokens", "1,512", "--out", out}, 1, "token 512"},
		{"missing-file", []string{"--model", model + ".nope", "--tokens", "1", "--out", out}, 1, ".nope"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := realMain(append([]string{"logits"}, c.args...), &stdout, &stderr)
			if code != c.code || !strings.Contains(stderr.String(), c.mention) {
				t.Errorf("exit %d (want %d), stderr %q should mention %s", code, c.code, stderr.String(), c.mention)
			}
		})
	}
}

func readLE32(t *testing.T, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}
