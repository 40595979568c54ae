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

	"github.com/nuri-ai/nuri/quant"
)

// legacyImatrix writes the binary format: entries of (name, ncall, sums),
// then the optional trailer.
func legacyImatrix(t *testing.T, path string, entries []legacyEntry, trailer bool) {
	t.Helper()
	var b []byte
	i32 := func(v int) { b = binary.LittleEndian.AppendUint32(b, uint32(int32(v))) }
	i32(len(entries))
	for _, e := range entries {
		i32(len(e.name))
		b = append(b, e.name...)
		i32(e.ncall)
		i32(len(e.sums))
		for _, v := range e.sums {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
		}
	}
	if trailer {
		i32(100)
		i32(len("wiki.train.raw"))
		b = append(b, "wiki.train.raw"...)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

type legacyEntry struct {
	name  string
	ncall int
	sums  []float32
}

func TestReadImatrixLegacy(t *testing.T) {
	dir := t.TempDir()
	entries := []legacyEntry{
		{"blk.0.attn_q.weight", 4, []float32{4, 8, 12, 2}},
		{"blk.0.ffn_down.weight", 0, []float32{3, 5}}, // ncall 0: taken as they are
	}
	for _, trailer := range []bool{true, false} {
		path := filepath.Join(dir, "m.dat")
		legacyImatrix(t, path, entries, trailer)
		m, err := ReadImatrix(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.Entries["blk.0.attn_q.weight"]; !slices.Equal(got, []float32{1, 2, 3, 0.5}) {
			t.Errorf("attn_q: %v, want the sums over 4 calls", got)
		}
		if got := m.Entries["blk.0.ffn_down.weight"]; !slices.Equal(got, []float32{3, 5}) {
			t.Errorf("ffn_down: %v", got)
		}
		if trailer && (m.Chunks != 100 || !slices.Equal(m.Datasets, []string{"wiki.train.raw"})) {
			t.Errorf("trailer: %d chunks, datasets %v", m.Chunks, m.Datasets)
		}
	}
}

func TestReadImatrixGGUF(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.gguf")
	in := &Imatrix{
		Entries: map[string][]float32{
			"blk.0.attn_q.weight":      {1, 2, 3, 4},
			"blk.0.ffn_up_exps.weight": {1, 2, 3, 4, 5, 6}, // 3 experts of 2 columns
			"blk.1.attn_output.weight": {0.5, 0.25},
		},
		Datasets: []string{"ko.txt", "en.txt"},
		Chunks:   42,
	}
	in.Counts = map[string][]float32{"blk.0.ffn_up_exps.weight": {4, 8, 0.5}, "blk.0.attn_q.weight": {3}}
	if err := WriteImatrix(path, in); err != nil {
		t.Fatal(err)
	}
	m, err := ReadImatrix(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Entries) != 3 || m.Chunks != 42 || !slices.Equal(m.Datasets, in.Datasets) {
		t.Fatalf("read %d entries, %d chunks, %v", len(m.Entries), m.Chunks, m.Datasets)
	}
	for name, want := range in.Entries {
		if got := m.Entries[name]; !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", name, got, want)
		}
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ti, ok := f.Tensor("blk.0.ffn_up_exps.weight.in_sum2")
	if !ok || !slices.Equal(ti.Dims, []uint64{2, 3}) {
		t.Errorf("expert sums stored as %v", ti)
	}
}

// TestReadImatrixCounts: sums are divided by their expert's count, and an
// expert with no count gets ones (llama-quantize's reading).
func TestReadImatrixCounts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.gguf")
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(w.AddTensor("e.in_sum2", quant.F32, 2, 2))
	must(w.AddTensor("e.counts", quant.F32, 1, 2))
	must(w.WriteTensor("e.in_sum2", f32Bytes([]float32{10, 20, 30, 40})))
	must(w.WriteTensor("e.counts", f32Bytes([]float32{5, 0})))
	must(w.Close())
	m, err := ReadImatrix(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Entries["e"]; !slices.Equal(got, []float32{2, 4, 1, 1}) {
		t.Errorf("values %v, want [2 4 1 1]", got)
	}
}

func TestReadImatrixRejects(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	le := func(vs ...int) []byte {
		var b []byte
		for _, v := range vs {
			b = binary.LittleEndian.AppendUint32(b, uint32(int32(v)))
		}
		return b
	}
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"no entries", le(0)},
		{"text", []byte("this is not an importance matrix at all")},
		{"name cut short", append(le(1, 10), "blk"...)},
		{"values cut short", append(append(le(1, 3), "abc"...), le(1, 4, 0)...)},
		{"absurd value count", append(append(le(1, 3), "abc"...), le(1, 1<<30)...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ReadImatrix(write(tc.name, tc.b)); !errors.Is(err, ErrBadImatrix) {
				t.Errorf("error %v, want ErrBadImatrix", err)
			}
		})
	}
	t.Run("sums without counts", func(t *testing.T) {
		path := filepath.Join(dir, "half.gguf")
		w, err := Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.AddTensor("e.in_sum2", quant.F32, 2); err != nil {
			t.Fatal(err)
		}
		if err := w.WriteTensor("e.in_sum2", f32Bytes([]float32{1, 2})); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadImatrix(path); !errors.Is(err, ErrBadImatrix) {
			t.Errorf("error %v, want ErrBadImatrix", err)
		}
	})
}

// FuzzImatrixLegacy: any bytes either decode or fail with ErrBadImatrix,
// without panicking or allocating what a damaged count claims.
func FuzzImatrixLegacy(f *testing.F) {
	le := func(vs ...int) []byte {
		var b []byte
		for _, v := range vs {
			b = binary.LittleEndian.AppendUint32(b, uint32(int32(v)))
		}
		return b
	}
	good := append(append(le(1, 3), "abc"...), le(2, 2, 0x3f800000, 0x40000000, 7, 1)...)
	f.Add(good)
	f.Add(append(good, 'x'))
	f.Add(le(1<<20, 1))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeImatrixLegacy(bytes.NewReader(b))
		if err != nil {
			if !errors.Is(err, ErrBadImatrix) {
				t.Fatalf("error does not wrap ErrBadImatrix: %v", err)
			}
			return
		}
		for name, v := range m.Entries {
			if len(v) == 0 || len(m.Counts[name]) != 1 {
				t.Fatalf("%s: %d values, counts %v", name, len(v), m.Counts[name])
			}
		}
	})
}
