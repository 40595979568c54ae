package gguf

import (
	"bytes"
	"errors"
	"slices"
	"testing"
)

// FuzzRead feeds arbitrary bytes to the reader: it must never panic, every
// error must wrap ErrCorrupt, and whatever it accepts must survive a
// write/read round trip unchanged.
func FuzzRead(f *testing.F) {
	f.Add(buildSample(f, 0))
	f.Add(buildSample(f, 0, KV{KeyAlignment, Uint32(8)}))
	f.Add(buildSample(f, 0, KV{"adapter.type", String("lora")})) // reaches readLoRA's pairing
	f.Add([]byte(validTwoTensors()))
	f.Add([]byte(nested(3)))
	f.Add([]byte(hdr(2, 0, 0)))
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := OpenBytes(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error does not wrap ErrCorrupt: %v", err)
			}
			return
		}
		for _, kv := range g.KV {
			_ = kv.Value.String()
			_ = kv.Value.Interface()
			_, _ = g.Int(kv.Key)
			_, _ = g.Int32s(kv.Key)
		}
		if l, err := readLoRA(g); err == nil {
			for _, p := range l.Pairs { // the shapes OpenLoRA promises
				if p.Rank < 1 || uint64(p.In) != p.A.Dims[0] || uint64(p.Out) != p.B.Dims[1] || p.A.Dims[1] != p.B.Dims[0] {
					t.Fatalf("pair %+v", p)
				}
			}
		}
		for i := range g.Tensors {
			ti := &g.Tensors[i]
			if d := g.TensorData(ti); uint64(len(d)) != ti.Bytes() {
				t.Fatalf("tensor %q: view of %d bytes, size %d", ti.Name, len(d), ti.Bytes())
			}
		}
		var buf bytes.Buffer
		w := NewWriter(&buf)
		if err := w.CopyKVs(g, nil); err != nil {
			t.Fatal(err)
		}
		for _, ti := range g.Tensors {
			if err := w.AddTensor(ti.Name, ti.Type, ti.Dims...); err != nil {
				t.Fatalf("accepted tensor rejected by the writer: %v", err)
			}
		}
		for i := range g.Tensors {
			if err := w.WriteTensor(g.Tensors[i].Name, g.TensorData(&g.Tensors[i])); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		h, err := OpenBytes(buf.Bytes())
		if err != nil {
			t.Fatalf("re-read of the rewrite failed: %v", err)
		}
		if h.Version != 3 || len(h.KV) != len(g.KV) || len(h.Tensors) != len(g.Tensors) {
			t.Fatalf("rewrite has %d pairs, %d tensors; original %d, %d", len(h.KV), len(h.Tensors), len(g.KV), len(g.Tensors))
		}
		for i := range g.KV {
			if h.KV[i].Key != g.KV[i].Key || !h.KV[i].Value.Equal(g.KV[i].Value) {
				t.Fatalf("pair %d changed: %q", i, g.KV[i].Key)
			}
		}
		for i := range g.Tensors {
			a, c := &g.Tensors[i], &h.Tensors[i]
			if a.Name != c.Name || a.Type != c.Type || !slices.Equal(a.Dims, c.Dims) || !bytes.Equal(g.TensorData(a), h.TensorData(c)) {
				t.Fatalf("tensor %q changed", a.Name)
			}
		}
	})
}
