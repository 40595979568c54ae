package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nuri-ai/nuri/internal/synth"
	"github.com/nuri-ai/nuri/internal/testshared"
	"github.com/nuri-ai/nuri/kernels"
	"github.com/nuri-ai/nuri/quant"
)

func TestInspectStories(t *testing.T) {
	var out, errb bytes.Buffer
	if err := runInspect([]string{testshared.Path(t, "models", "stories260K.gguf")}, &out, &errb); err != nil {
		t.Fatalf("%v: %s", err, errb.String())
	}
	s := out.String()
	for _, want := range []string{"arch:           llama", "5 layers", "vocab 512", "tokenizer:      model llama",
		"token_embd.weight", "[64, 512]", "48 tensors", "292.80 K parameters", "chat template:  none"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
}

// An adapter file is described as one: its matrices, ranks and alpha.
func TestInspectLoRA(t *testing.T) {
	var out, errb bytes.Buffer
	if err := runInspect([]string{storiesAdapter(t, 0.05)}, &out, &errb); err != nil {
		t.Fatalf("%v: %s", err, errb.String())
	}
	if s := out.String(); !strings.Contains(s, "lora adapter:  2 matrices, ranks [2], alpha 2") || strings.Contains(s, "tokenizer:") {
		t.Errorf("output:\n%s", s)
	}
	out.Reset()
	if err := runInspect([]string{"--json", storiesAdapter(t, 0)}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	var r struct{ LoRA loraSum }
	if err := json.Unmarshal(out.Bytes(), &r); err != nil || r.LoRA.Matrices != 2 || r.LoRA.Alpha != 2 {
		t.Errorf("json %+v, %v", r, err)
	}
}

// TestInspectAllShared runs inspect, text and JSON, over every GGUF in the
// shared folder (models, golden files and vocab-only files) and checks the
// JSON against what the files are known to hold.
func TestInspectAllShared(t *testing.T) {
	root := testshared.Dir(t)
	var files []string
	_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".gguf") {
			files = append(files, p)
		}
		return err
	})
	if len(files) < 40 {
		t.Fatalf("only %d GGUF files under %s", len(files), root)
	}
	for _, p := range files {
		t.Run(filepath.Base(p), func(t *testing.T) {
			var out, errb bytes.Buffer
			if err := runInspect([]string{p}, &out, &errb); err != nil {
				t.Fatalf("text: %v: %s", err, errb.String())
			}
			if !strings.Contains(out.String(), "totals:") {
				t.Errorf("no totals line")
			}
			out.Reset()
			if err := runInspect([]string{"--json", p}, &out, &errb); err != nil {
				t.Fatalf("json: %v", err)
			}
			var r inspectReport
			if err := json.Unmarshal(out.Bytes(), &r); err != nil {
				t.Fatalf("json does not parse: %v", err)
			}
			if r.Architecture == "" || r.Tokenizer.Tokens == 0 || r.Summary.Vocab == 0 {
				t.Errorf("arch %q, %d tokens, vocab %d", r.Architecture, r.Tokenizer.Tokens, r.Summary.Vocab)
			}
			vocabOnly := strings.Contains(p, string(filepath.Separator)+"testdata"+string(filepath.Separator)+"vocab") ||
				strings.Contains(filepath.Base(p), "ggml-vocab-")
			if vocabOnly != (r.Totals.Tensors == 0) {
				t.Errorf("%d tensors (vocab-only file: %v)", r.Totals.Tensors, vocabOnly)
			}
			var bytesSum uint64
			for _, x := range r.Tensors {
				bytesSum += x.Bytes
			}
			if bytesSum != r.Totals.Bytes || len(r.Tensors) != r.Totals.Tensors {
				t.Errorf("totals %d bytes / %d tensors, table %d / %d", r.Totals.Bytes, r.Totals.Tensors, bytesSum, len(r.Tensors))
			}
		})
	}
}

func TestInspectErrors(t *testing.T) {
	var out, errb bytes.Buffer
	if err := runInspect(nil, &out, &errb); err != errUsage {
		t.Errorf("no file: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.gguf")
	if err := os.WriteFile(bad, []byte("GGUF\x01\x00\x00\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := runInspect([]string{bad}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "version 1") {
		t.Errorf("version-1 file: %v", err)
	}
}

func TestHumanCount(t *testing.T) {
	for n, want := range map[uint64]string{1235814400: "1.24 B", 292800: "292.80 K", 999: "999", 5_000_000: "5.00 M"} {
		if got := humanCount(n); got != want {
			t.Errorf("humanCount(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestInspectKVCache checks the KV line on the hybrid EXAONE 4 golden
// (64 layers, three windowed in four, window 8) and a plain llama: the
// windowed layers' part held for their window only.
func TestInspectKVCache(t *testing.T) {
	for _, c := range []struct {
		file           string
		windowedLayers int
		window         int
	}{
		{"exaone4swa-F16.gguf", 48, 8},
		{"llama-F16.gguf", 0, 0},
	} {
		var out, errb bytes.Buffer
		if err := runInspect([]string{"--json", testshared.Path(t, "testdata", "golden", c.file)}, &out, &errb); err != nil {
			t.Fatalf("%s: %v: %s", c.file, err, errb.String())
		}
		var r inspectReport
		if err := json.Unmarshal(out.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		k, s := r.Summary.KV, r.Summary
		if k == nil {
			t.Fatalf("%s: no kv_cache", c.file)
		}
		perLayer := 2 * s.KVHeads * (k.BytesPerPosition / (2 * s.KVHeads * s.Layers)) // F16 K and V rows
		full := int64(k.BytesPerPosition - k.WindowedBytes)
		if k.WindowedLayers != c.windowedLayers || k.Window != c.window || k.WindowedBytes != c.windowedLayers*perLayer ||
			k.ContextBytes != int64(s.Context)*full+int64(min(s.Context, c.window))*int64(k.WindowedBytes) ||
			k.OnePoolContextBytes != int64(s.Context)*int64(k.BytesPerPosition) {
			t.Errorf("%s: %+v (context %d, %d layers)", c.file, *k, s.Context, s.Layers)
		}
	}
}

// TestInspectTranscoded: the totals say how much more memory the
// i-quants below 4 bits take once transcoded at load on this CPU, and
// other types add nothing.
func TestInspectTranscoded(t *testing.T) {
	shape, err := synth.Lookup("tiny")
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range []string{"IQ3_XXS", "Q4_0"} {
		path := filepath.Join(t.TempDir(), typ+".gguf")
		if err := synth.Write(path, synth.Options{Shape: shape, Type: typ, Seed: 1}); err != nil {
			t.Fatal(err)
		}
		var out, errb bytes.Buffer
		if err := runInspect([]string{"--json", path}, &out, &errb); err != nil {
			t.Fatalf("%s: %v: %s", typ, err, errb.String())
		}
		var r inspectReport
		if err := json.Unmarshal(out.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		var want uint64
		for _, x := range r.Tensors {
			xt, err := quant.ParseType(x.Type)
			if err != nil {
				t.Fatal(err)
			}
			// The IQ3_XXS recipe has IQ2_S and IQ3_S matrices too.
			if quant.IQTranscodable(xt) && len(x.Shape) == 2 && x.Shape[1] > 1 {
				if pb := kernels.PackedBytes(xt, int(x.Shape[1]), int(x.Shape[0])); pb > 0 {
					want += pb - x.Bytes
				}
			}
		}
		if typ == "IQ3_XXS" && kernels.CanPack(quant.IQ3_XXS) && want == 0 {
			t.Fatal("IQ3_XXS packs on this CPU but its records are no larger than the file")
		}
		if r.Totals.TranscodedBytes != want {
			t.Errorf("%s: transcoded_bytes %d, want %d", typ, r.Totals.TranscodedBytes, want)
		}
	}
}
