package gguf

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/nuri-ai/nuri/quant"
)

// writeAdapter writes an adapter file with kvs and F32 tensors of dims
// (zero data).
func writeAdapter(t *testing.T, kvs map[string]Value, tensors map[string][]uint64) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "a.gguf")
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"general.architecture", "general.type", "adapter.type", "adapter.lora.alpha"} {
		if v, ok := kvs[k]; ok {
			if err := w.Set(k, v); err != nil {
				t.Fatal(err)
			}
		}
	}
	for n, d := range tensors {
		if err := w.AddTensor(n, quant.F32, d...); err != nil {
			t.Fatal(err)
		}
	}
	for _, ti := range w.Tensors() {
		n := uint64(4)
		for _, d := range ti.Dims {
			n *= d
		}
		if err := w.WriteTensor(ti.Name, make([]byte, n)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestOpenLoRA(t *testing.T) {
	kv := map[string]Value{"general.architecture": String("llama"), "general.type": String("adapter"),
		"adapter.type": String("lora"), "adapter.lora.alpha": Float32(16)}
	good := map[string][]uint64{
		"blk.0.attn_q.weight.lora_a": {64, 8}, "blk.0.attn_q.weight.lora_b": {8, 32},
		"output.weight.lora_a": {64, 4}, "output.weight.lora_b": {4, 512},
	}
	l, err := OpenLoRA(writeAdapter(t, kv, good))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	p := l.Pairs["blk.0.attn_q.weight"]
	if got := strings.Join(l.Names(), ","); got != "blk.0.attn_q.weight,output.weight" || p.Rank != 8 || p.In != 64 || p.Out != 32 || p.A.Name != "blk.0.attn_q.weight.lora_a" {
		t.Fatalf("names %s, pair %+v", got, p)
	}
	if s := l.Scale(0.5, 8); s != 1 {
		t.Errorf("scale 0.5 at rank 8, alpha 16: %v, want 1", s)
	}
	for _, tc := range []struct {
		name    string
		kv      map[string]Value
		tensors map[string][]uint64
		want    string
	}{
		{"a model", map[string]Value{"general.type": String("model"), "adapter.type": String("lora")}, good, "general.type"},
		{"a control vector", map[string]Value{"adapter.type": String("control_vector")}, good, "adapter.type"},
		{"B alone", kv, map[string][]uint64{"x.lora_b": {8, 32}}, "no lora_a"},
		{"A alone", kv, map[string][]uint64{"x.lora_a": {64, 8}}, "no lora_b"},
		{"ranks differ", kv, map[string][]uint64{"x.lora_a": {64, 8}, "x.lora_b": {4, 32}}, "not [in, rank]"},
		{"another tensor", kv, map[string][]uint64{"x.weight": {64, 8}}, "not a LoRA pair's"},
	} {
		l, err := OpenLoRA(writeAdapter(t, tc.kv, tc.tensors))
		if err == nil {
			l.Close()
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error about %q", tc.name, err, tc.want)
		}
	}
	// Without an alpha the strength alone scales.
	delete(kv, "adapter.lora.alpha")
	l2, err := OpenLoRA(writeAdapter(t, kv, good))
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	if s := l2.Scale(0.5, 8); s != 0.5 {
		t.Errorf("no alpha: scale %v", s)
	}
}
