// Package testgguf writes GGUF fixtures for tests: a file of given metadata
// and tensors, and a model rewritten as a reranker.
package testgguf

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/nuri-ai/nuri/gguf"
	"github.com/nuri-ai/nuri/internal/synth"
	"github.com/nuri-ai/nuri/quant"
)

// Tensor is one tensor of a file WriteGGUF writes.
type Tensor struct {
	Name string
	Type quant.Type
	Dims []uint64
	Data []byte
}

// WriteGGUF writes a GGUF file of kvs and tensors, in order, as name in
// the test's temporary folder, and returns its path.
func WriteGGUF(tb testing.TB, name string, kvs []gguf.KV, tensors []Tensor) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), name)
	w, err := gguf.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	check := func(err error) {
		tb.Helper()
		if err != nil {
			tb.Fatalf("write %s: %v", name, err)
		}
	}
	for _, kv := range kvs {
		check(w.Set(kv.Key, kv.Value))
	}
	for _, t := range tensors {
		check(w.AddTensor(t.Name, t.Type, t.Dims...))
	}
	for _, t := range tensors {
		check(w.WriteTensor(t.Name, t.Data))
	}
	check(w.Close())
	return path
}

// Open opens path for the test's duration.
func Open(tb testing.TB, path string) *gguf.File {
	tb.Helper()
	f, err := gguf.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { f.Close() })
	return f
}

// TensorOf is tensor ti of f as WriteGGUF takes it (its data shared).
func TensorOf(f *gguf.File, ti *gguf.TensorInfo) Tensor {
	return Tensor{Name: ti.Name, Type: ti.Type, Dims: ti.Dims, Data: f.TensorData(ti)}
}

// WriteReranker rewrites the GGUF at src as llama.cpp's converter writes a
// Qwen3-Reranker: cls.output.weight made of the lm_head rows of two label
// tokens, the labels, rank pooling, the rerank template when not empty,
// and no output.weight (a tied file's embedding stays, as the lm_head it
// is).
func WriteReranker(tb testing.TB, src string, labels [2]int32, template string) string {
	tb.Helper()
	f, err := gguf.Open(src)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	head, untied := f.Tensor("output.weight")
	if !untied {
		head, _ = f.Tensor("token_embd.weight")
	}
	rb, err := head.Type.RowBytes(int(head.Dims[0]))
	if err != nil {
		tb.Fatal(err)
	}
	var cls []byte
	for _, id := range labels {
		cls = append(cls, f.TensorData(head)[int(id)*rb:(int(id)+1)*rb]...)
	}
	tokens, _ := f.Strings("tokenizer.ggml.tokens")
	kvs := append(slices.Clone(f.KV),
		gguf.KV{Key: f.Arch() + ".pooling_type", Value: gguf.Uint32(4)},
		gguf.KV{Key: f.Arch() + ".classifier.output_labels", Value: gguf.Strings([]string{tokens[labels[0]], tokens[labels[1]]})})
	if template != "" {
		kvs = append(kvs, gguf.KV{Key: "tokenizer.chat_template.rerank", Value: gguf.String(template)})
	}
	var outs []Tensor
	for i := range f.Tensors {
		if ti := &f.Tensors[i]; ti.Name != "output.weight" {
			outs = append(outs, TensorOf(f, ti))
		}
	}
	outs = append(outs, Tensor{Name: "cls.output.weight", Type: head.Type, Dims: []uint64{head.Dims[0], 2}, Data: cls})
	return WriteGGUF(tb, "rerank.gguf", kvs, outs)
}

// Synth writes synth's model of the named shape in weight type typ from
// seed as a file in the test's temporary folder and returns its path.
func Synth(tb testing.TB, shape, typ string, seed uint64) string {
	tb.Helper()
	s, err := synth.Lookup(shape)
	if err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(tb.TempDir(), shape+"-"+typ+".gguf")
	if err := synth.Write(path, synth.Options{Shape: s, Type: typ, Seed: seed}); err != nil {
		tb.Fatal(err)
	}
	return path
}

// SynthFixture is Synth for a fixture that reference data was made from:
// it stops the test unless the file has sha256 (the references would be
// for another file; readme says how to make them again).
func SynthFixture(tb testing.TB, shape, typ string, seed uint64, sha256hex, readme string) string {
	tb.Helper()
	path := Synth(tb, shape, typ, seed)
	raw, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	if sum := sha256.Sum256(raw); hex.EncodeToString(sum[:]) != sha256hex {
		tb.Fatalf("the fixture %s %s changed (sha256 %x): its reference data are for the old one; make them again (%s)", shape, typ, sum, readme)
	}
	return path
}
