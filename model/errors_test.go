package model_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/gguf"
	"github.com/nuri-ai/nuri/internal/testshared"
	"github.com/nuri-ai/nuri/model"
	"github.com/nuri-ai/nuri/quant"
)

// tensorEdit says how rewriteGGUF copies one tensor: drop it, or give it
// other dims and data (and type typ, when retype).
type tensorEdit struct {
	drop   bool
	dims   []uint64
	data   []byte
	retype bool
	typ    quant.Type
}

// rewriteGGUF copies src into a temporary file with metadata overrides
// (nil value: delete the key), per-tensor edits and extra tensors.
func rewriteGGUF(t *testing.T, src string, kv map[string]*gguf.Value, edits map[string]tensorEdit, extra map[string][]uint64) string {
	t.Helper()
	f, err := gguf.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dst := filepath.Join(t.TempDir(), "edited.gguf")
	w, err := gguf.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(w.CopyKVs(f, func(k string) bool { _, edited := kv[k]; return edited }))
	for k, v := range kv {
		if v != nil {
			must(w.Set(k, *v))
		}
	}
	type out struct {
		name string
		data []byte
	}
	var outs []out
	for i := range f.Tensors {
		ti := &f.Tensors[i]
		e := edits[ti.Name]
		if e.drop {
			continue
		}
		dims, data, typ := ti.Dims, f.TensorData(ti), ti.Type
		if e.dims != nil {
			dims, data = e.dims, e.data
		}
		if e.retype {
			typ = e.typ
		}
		must(w.AddTensor(ti.Name, typ, dims...))
		outs = append(outs, out{ti.Name, data})
	}
	for name, dims := range extra {
		must(w.AddTensor(name, quant.F32, dims...))
		n := 4
		for _, d := range dims {
			n *= int(d)
		}
		outs = append(outs, out{name, make([]byte, n)})
	}
	for _, o := range outs {
		must(w.WriteTensor(o.name, o.data))
	}
	must(w.Close())
	return dst
}

func strVal(s string) *gguf.Value { v := gguf.String(s); return &v }

// TestLoadErrors feeds Load broken variants of a valid llama file: each
// must fail with the right sentinel and name what is wrong.
func TestLoadErrors(t *testing.T) {
	src := testshared.Path(t, "testdata", "golden", "llama-F16.gguf")
	cases := []struct {
		name    string
		kv      map[string]*gguf.Value
		edits   map[string]tensorEdit
		extra   map[string][]uint64
		want    error  // sentinel, or nil for "any error"
		mention string // text the message must contain
	}{
		{name: "unsupported-arch", kv: map[string]*gguf.Value{"general.architecture": strVal("mamba")},
			want: model.ErrUnsupportedArch, mention: `"mamba"`},
		{name: "missing-tensor", edits: map[string]tensorEdit{"blk.1.ffn_up.weight": {drop: true}},
			want: model.ErrMissingTensor, mention: "blk.1.ffn_up.weight"},
		{name: "missing-embedding", edits: map[string]tensorEdit{"token_embd.weight": {drop: true}},
			want: model.ErrMissingTensor, mention: "token_embd.weight"},
		{name: "bad-shape", edits: map[string]tensorEdit{"blk.0.attn_q.weight": {dims: []uint64{256, 128}, data: make([]byte, 256*128*2)}},
			want: model.ErrBadShape, mention: "blk.0.attn_q.weight"},
		{name: "bad-norm-shape", edits: map[string]tensorEdit{"blk.1.attn_norm.weight": {dims: []uint64{128}, data: make([]byte, 128*4)}},
			want: model.ErrBadShape, mention: "blk.1.attn_norm.weight"},
		{name: "missing-metadata", kv: map[string]*gguf.Value{"llama.embedding_length": nil},
			mention: "llama.embedding_length"},
		{name: "unused-tensor", extra: map[string][]uint64{"blk.0.mystery.weight": {256}},
			mention: "blk.0.mystery.weight"},
		{name: "rope-scaling", kv: map[string]*gguf.Value{"llama.rope.scaling.type": strVal("longrope")},
			mention: "longrope"},
		// TQ2_0 has a layout but no dot product: refused at load, by name.
		{name: "unsupported-type", edits: map[string]tensorEdit{"blk.1.attn_q.weight": {
			dims: []uint64{256, 256}, data: make([]byte, 256*66), retype: true, typ: quant.TQ2_0}},
			want: backends.ErrUnsupportedOp, mention: "blk.1.attn_q.weight"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := rewriteGGUF(t, src, c.kv, c.edits, c.extra)
			m, err := model.Load(path, model.LoadOptions{Threads: 1})
			if err == nil {
				m.Close()
				t.Fatal("Load succeeded")
			}
			if c.want != nil && !errors.Is(err, c.want) {
				t.Errorf("error %q does not wrap %v", err, c.want)
			}
			if !strings.Contains(err.Error(), c.mention) {
				t.Errorf("error %q does not mention %s", err, c.mention)
			}
		})
	}
}

// TestForwardErrors checks that bad batches fail cleanly, without a panic
// and without a partial write, with the right sentinel.
func TestForwardErrors(t *testing.T) {
	path := testshared.Path(t, "models", "stories260K.gguf")
	m, err := model.Load(path, model.LoadOptions{Threads: 1, NCtx: 64})
	if err != nil {
		t.Fatal(err)
	}
	cfg := m.Config()
	kv, err := model.NewSequenceView(cfg, 64, 16, model.SameKV(quant.F16))
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, 4*cfg.NVocab)
	one := func(tok, pos int32) *model.Batch {
		return &model.Batch{Tokens: []int32{tok}, Pos: []int32{pos}, Seq: []int32{0}}
	}
	cases := []struct {
		name string
		b    *model.Batch
		kv   model.KVView
		out  []float32
		want error
	}{
		{"token-too-large", one(int32(cfg.NVocab), 0), kv, out, model.ErrBadToken},
		{"token-negative", one(-1, 0), kv, out, model.ErrBadToken},
		{"position-beyond-context", one(1, 64), kv, out, model.ErrContextFull},
		{"position-negative", one(1, -1), kv, out, model.ErrContextFull},
		{"empty", &model.Batch{}, kv, out, model.ErrBadBatch},
		{"ragged", &model.Batch{Tokens: []int32{1, 2}, Pos: []int32{0}, Seq: []int32{0, 0}}, kv, out, model.ErrBadBatch},
		{"unknown-sequence", &model.Batch{Tokens: []int32{1}, Pos: []int32{0}, Seq: []int32{1}}, kv, out, model.ErrBadBatch},
		{"table-too-short", one(1, 20), model.KVView{Cache: kv.Cache, Tables: [][]int32{{0}}}, out, model.ErrBadBatch},
		{"block-outside-cache", one(1, 0), model.KVView{Cache: kv.Cache, Tables: [][]int32{{9}}}, out, model.ErrBadBatch},
		{"no-cache", one(1, 0), model.KVView{}, out, model.ErrBadBatch},
		{"small-output", one(1, 0), kv, out[:cfg.NVocab-1], model.ErrBadBatch},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := m.Forward(c.b, c.kv, c.out)
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
	// A cache made for another shape is rejected.
	other := cfg
	other.NHeadKV *= 2
	wrong, err := model.NewSequenceView(other, 16, 16, model.SameKV(quant.F16))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Forward(one(1, 0), wrong, out); !errors.Is(err, model.ErrBadBatch) {
		t.Fatalf("mismatched cache: got %v", err)
	}
	// After the errors the model still works; after Close it refuses.
	if err := m.Forward(one(1, 0), kv, out); err != nil {
		t.Fatalf("valid batch after errors: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Forward(one(1, 1), kv, out); err == nil {
		t.Fatal("Forward after Close succeeded")
	}
}
