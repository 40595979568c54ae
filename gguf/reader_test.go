package gguf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/nuri-ai/nuri/internal/testshared"
	"github.com/nuri-ai/nuri/quant"
)

// sharedGGUFs lists every .gguf file under the shared folder.
func sharedGGUFs(t *testing.T) []string {
	t.Helper()
	root := testshared.Dir(t)
	var files []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && filepath.Ext(p) == ".gguf" {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 10 {
		t.Fatalf("found only %d GGUF files under %s", len(files), root)
	}
	return files
}

func TestOpenStories(t *testing.T) {
	f, err := Open(testshared.Path(t, "models", "stories260K.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Version != 3 || f.Arch() != "llama" || f.Alignment != 32 {
		t.Errorf("version %d arch %q alignment %d", f.Version, f.Arch(), f.Alignment)
	}
	// The file's own order (llama2.c's converter wrote the vocab first).
	if f.KV[0].Key != "tokenizer.ggml.tokens" || f.KV[4].Key != "general.architecture" {
		t.Errorf("keys 0 and 4 are %q, %q: order not kept", f.KV[0].Key, f.KV[4].Key)
	}
	ints := map[string]int{
		"llama.block_count":             5,
		"llama.embedding_length":        64,
		"llama.feed_forward_length":     172,
		"llama.attention.head_count":    8,
		"llama.attention.head_count_kv": 4,
		"llama.context_length":          2048,
		"tokenizer.ggml.bos_token_id":   1,
		"tokenizer.ggml.eos_token_id":   2,
		"llama.rope.dimension_count":    8,
	}
	for k, want := range ints {
		if got, ok := f.Int(k); !ok || got != want {
			t.Errorf("Int(%s) = %d, %v; want %d", k, got, ok, want)
		}
		if got, ok := f.Uint32(k); !ok || int(got) != want {
			t.Errorf("Uint32(%s) = %d, %v; want %d", k, got, ok, want)
		}
	}
	if m, _ := f.String("tokenizer.ggml.model"); m != "llama" {
		t.Errorf("tokenizer model %q", m)
	}
	toks, ok := f.Strings("tokenizer.ggml.tokens")
	if !ok || len(toks) != 512 || toks[1] != "<s>" {
		t.Errorf("tokens: ok %v len %d", ok, len(toks))
	}
	scores, ok := f.Float32s("tokenizer.ggml.scores")
	if !ok || len(scores) != 512 {
		t.Errorf("scores: ok %v len %d", ok, len(scores))
	}
	types, ok := f.Int32s("tokenizer.ggml.token_type")
	if !ok || len(types) != 512 || types[1] != 3 {
		t.Errorf("token types: ok %v len %d", ok, len(types))
	}
	if eps, ok := f.Float32("llama.attention.layer_norm_rms_epsilon"); !ok || eps <= 0 || eps > 1e-4 {
		t.Errorf("eps %g %v", eps, ok)
	}
	if _, ok := f.String("llama.block_count"); ok {
		t.Error("String accepted an integer key")
	}
	if _, ok := f.Int("no.such.key"); ok {
		t.Error("missing key found")
	}
	if len(f.Tensors) != 48 {
		t.Fatalf("%d tensors, want 48", len(f.Tensors))
	}
	emb, ok := f.Tensor("token_embd.weight")
	if !ok {
		t.Fatal("token_embd.weight missing")
	}
	if emb.Type != quant.F32 || !slices.Equal(emb.Dims, []uint64{64, 512}) {
		t.Errorf("token_embd %s %v", emb.Type, emb.Dims)
	}
	data := f.TensorData(emb)
	if len(data) != 64*512*4 || cap(data) != len(data) {
		t.Fatalf("token_embd data len %d cap %d", len(data), cap(data))
	}
	var nonzero int
	for i := 0; i < len(data); i += 4 {
		x := math.Float32frombits(binary.LittleEndian.Uint32(data[i:]))
		if math.IsNaN(float64(x)) || math.Abs(float64(x)) > 100 {
			t.Fatalf("implausible weight %g at element %d", x, i/4)
		}
		if x != 0 {
			nonzero++
		}
	}
	if nonzero < len(data)/8 {
		t.Errorf("only %d non-zero weights: data view misplaced?", nonzero)
	}
	// The packed-layout rule: each offset is the padded sum of the previous sizes.
	var off uint64
	for _, ti := range f.Tensors {
		if ti.Offset != off {
			t.Fatalf("%s offset %d, want %d", ti.Name, ti.Offset, off)
		}
		off += pad(ti.Bytes(), f.Alignment)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if f.TensorData(emb) != nil {
		t.Error("TensorData after Close is not nil")
	}
}

func TestOpenVocabFiles(t *testing.T) {
	cases := []struct {
		path   []string
		model  string
		tokens int
	}{
		{[]string{"testdata", "vocab", "ggml-vocab-llama-spm.gguf"}, "llama", 32000},
		{[]string{"testdata", "vocab", "ggml-vocab-gpt-2.gguf"}, "gpt2", 50257},
		{[]string{"testdata", "tokenizer", "ggml-vocab-llama3.gguf"}, "gpt2", 128256},
		{[]string{"testdata", "tokenizer", "ggml-vocab-qwen3.gguf"}, "gpt2", 151669},
		{[]string{"testdata", "tokenizer", "ggml-vocab-exaone.gguf"}, "gpt2", 102400},
	}
	for _, c := range cases {
		t.Run(c.path[len(c.path)-1], func(t *testing.T) {
			f, err := Open(testshared.Path(t, c.path...))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if m, _ := f.String("tokenizer.ggml.model"); m != c.model {
				t.Errorf("model %q, want %q", m, c.model)
			}
			toks, _ := f.Strings("tokenizer.ggml.tokens")
			if len(toks) != c.tokens {
				t.Errorf("%d tokens, want %d", len(toks), c.tokens)
			}
			if len(f.Tensors) != 0 {
				t.Errorf("%d tensors in a vocab-only file", len(f.Tensors))
			}
			if c.model == "gpt2" {
				merges, ok := f.Strings("tokenizer.ggml.merges")
				if !ok || len(merges) == 0 {
					t.Errorf("no merges")
				}
			}
		})
	}
}

// TestRoundTripShared rewrites every shared GGUF with the Writer. Each must
// come out byte-identical (models and vocab-only files alike), which shows
// the writer lays files out exactly as llama.cpp's tools do.
func TestRoundTripShared(t *testing.T) {
	for _, p := range sharedGGUFs(t) {
		t.Run(filepath.Base(p), func(t *testing.T) {
			orig, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			f, err := OpenBytes(orig)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			w := NewWriter(&buf)
			if err := w.CopyKVs(f, nil); err != nil {
				t.Fatal(err)
			}
			for _, ti := range f.Tensors {
				if err := w.AddTensor(ti.Name, ti.Type, ti.Dims...); err != nil {
					t.Fatal(err)
				}
			}
			for i := range f.Tensors {
				if err := w.WriteTensor(f.Tensors[i].Name, f.TensorData(&f.Tensors[i])); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			got := buf.Bytes()
			if !bytes.Equal(got, orig) {
				i := 0
				for i < len(got) && i < len(orig) && got[i] == orig[i] {
					i++
				}
				t.Fatalf("rewrite differs from the original at byte %d (lengths %d, %d)", i, len(got), len(orig))
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open(filepath.Join(t.TempDir(), "missing.gguf")); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	empty := filepath.Join(t.TempDir(), "empty.gguf")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(empty); !errors.Is(err, ErrCorrupt) {
		t.Errorf("empty file: %v", err)
	}
}
