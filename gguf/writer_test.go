package gguf

import (
	"bytes"
	"errors"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nuri-ai/nuri/quant"
)

// allValues has one pair per value type, arrays of each, and nested arrays.
func allValues(t testing.TB) []KV {
	nest, err := Arrays([]Value{Uint8s([]uint8{1, 2}), Strings([]string{"x"}), Float32s(nil)})
	if err != nil {
		t.Fatal(err)
	}
	nest2, err := Arrays([]Value{nest, Int64s([]int64{-1})})
	if err != nil {
		t.Fatal(err)
	}
	return []KV{
		{"general.architecture", String("llama")},
		{"u8", Uint8(200)}, {"i8", Int8(-100)}, {"u16", Uint16(60000)}, {"i16", Int16(-30000)},
		{"u32", Uint32(4000000000)}, {"i32", Int32(-2000000000)}, {"u64", Uint64(math.MaxUint64)},
		{"i64", Int64(math.MinInt64)}, {"f32", Float32(1.5e-5)}, {"f64", Float64(math.Pi)},
		{"bool", Bool(true)}, {"str", String("한국어 text\x00with nul")}, {"empty", String("")},
		{"a.u8", Uint8s([]uint8{0, 255})}, {"a.i8", Int8s([]int8{-128, 127})},
		{"a.u16", Uint16s([]uint16{1, 65535})}, {"a.i16", Int16s([]int16{-1})},
		{"a.u32", Uint32s([]uint32{7, 8, 9})}, {"a.i32", Int32s([]int32{-7, 8})},
		{"a.u64", Uint64s([]uint64{1 << 63})}, {"a.i64", Int64s([]int64{-5})},
		{"a.f32", Float32s([]float32{0.5, float32(math.Inf(-1))})}, {"a.f64", Float64s([]float64{2.25})},
		{"a.bool", Bools([]bool{true, false, true})}, {"a.str", Strings([]string{"a", "", "ㄱ"})},
		{"a.empty", Strings(nil)}, {"a.nested", nest2},
	}
}

type tensorSpec struct {
	name string
	typ  quant.Type
	dims []uint64
}

var sampleTensors = []tensorSpec{
	{"token_embd.weight", quant.Q4_0, []uint64{64, 3}},
	{"empty", quant.F32, []uint64{0, 4}},
	{"norm", quant.F32, []uint64{5}},
	{"blk.0.ffn_up.weight", quant.Q6_K, []uint64{256, 2}},
	{"four.d", quant.F16, []uint64{2, 3, 1, 2}},
	{"bf", quant.BF16, []uint64{3}},
}

// sampleData fills tensor i with a recognizable byte pattern.
func sampleData(i int, n uint64) []byte {
	b := make([]byte, n)
	for j := range b {
		b[j] = byte(i*31 + j*7)
	}
	return b
}

// buildSample writes allValues and sampleTensors, streaming the data in
// chunks of chunk bytes that ignore tensor boundaries (0: WriteTensor).
func buildSample(t testing.TB, chunk int, extra ...KV) []byte {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for _, kv := range append(allValues(t), extra...) {
		if err := w.Set(kv.Key, kv.Value); err != nil {
			t.Fatal(err)
		}
	}
	var stream []byte
	for i, s := range sampleTensors {
		if err := w.AddTensor(s.name, s.typ, s.dims...); err != nil {
			t.Fatal(err)
		}
		ti := TensorInfo{Type: s.typ, Dims: s.dims}
		stream = append(stream, sampleData(i, ti.Bytes())...)
	}
	if chunk == 0 {
		for i, s := range sampleTensors {
			ti := TensorInfo{Type: s.typ, Dims: s.dims}
			if err := w.WriteTensor(s.name, sampleData(i, ti.Bytes())); err != nil {
				t.Fatal(err)
			}
		}
	} else {
		for len(stream) > 0 {
			n := min(chunk, len(stream))
			if _, err := w.Write(stream[:n]); err != nil {
				t.Fatal(err)
			}
			stream = stream[n:]
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestWriterRoundTrip(t *testing.T) {
	for _, chunk := range []int{0, 1, 7, 100, 1 << 20} {
		for _, align := range []uint32{0, 64, 1} {
			var extra []KV
			if align != 0 {
				extra = append(extra, KV{KeyAlignment, Uint32(align)})
			}
			b := buildSample(t, chunk, extra...)
			f, err := OpenBytes(b)
			if err != nil {
				t.Fatalf("chunk %d align %d: %v", chunk, align, err)
			}
			want := append(allValues(t), extra...)
			if len(f.KV) != len(want) {
				t.Fatalf("%d pairs, want %d", len(f.KV), len(want))
			}
			for i, kv := range want {
				if f.KV[i].Key != kv.Key || !f.KV[i].Value.Equal(kv.Value) {
					t.Errorf("pair %d: %s = %v, want %s = %v", i, f.KV[i].Key, f.KV[i].Value, kv.Key, kv.Value)
				}
			}
			if align != 0 && f.Alignment != uint64(align) {
				t.Errorf("alignment %d, want %d", f.Alignment, align)
			}
			var off uint64
			for i, s := range sampleTensors {
				ti, ok := f.Tensor(s.name)
				if !ok || ti.Type != s.typ || !slices.Equal(ti.Dims, s.dims) {
					t.Fatalf("tensor %s: %+v", s.name, ti)
				}
				if ti.Offset != off {
					t.Errorf("tensor %s offset %d, want packed %d", s.name, ti.Offset, off)
				}
				off += pad(ti.Bytes(), f.Alignment)
				if got := f.TensorData(ti); !bytes.Equal(got, sampleData(i, ti.Bytes())) {
					t.Errorf("chunk %d: tensor %s data differs", chunk, s.name)
				}
			}
			if f.DataOffset%f.Alignment != 0 || uint64(len(b)) != f.DataOffset+off {
				t.Errorf("data offset %d, file %d bytes, data %d", f.DataOffset, len(b), off)
			}
		}
	}
}

func TestWriterValueAccessors(t *testing.T) {
	f, err := OpenBytes(buildSample(t, 0))
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := f.Uint32("u32"); !ok || v != 4000000000 {
		t.Errorf("Uint32 %d %v", v, ok)
	}
	if _, ok := f.Uint32("i32"); ok {
		t.Error("Uint32 accepted a negative value")
	}
	if _, ok := f.Uint32("u64"); ok {
		t.Error("Uint32 accepted a value above MaxUint32")
	}
	if v, ok := f.Uint32("u8"); !ok || v != 200 {
		t.Errorf("Uint32 of a UINT8: %d %v", v, ok)
	}
	if v, ok := f.Int("i64"); !ok || v != math.MinInt64 {
		t.Errorf("Int %d %v", v, ok)
	}
	if _, ok := f.Int("u64"); ok {
		t.Error("Int accepted MaxUint64")
	}
	if _, ok := f.Int("f32"); ok {
		t.Error("Int accepted a float")
	}
	if v, ok := f.Float32("f64"); !ok || v != float32(math.Pi) {
		t.Errorf("Float32 of FLOAT64: %g %v", v, ok)
	}
	if v, ok := f.Bool("bool"); !ok || !v {
		t.Errorf("Bool %v %v", v, ok)
	}
	if v, ok := f.Int32s("a.u16"); !ok || !slices.Equal(v, []int32{1, 65535}) {
		t.Errorf("Int32s of UINT16: %v %v", v, ok)
	}
	if _, ok := f.Int32s("a.u64"); ok {
		t.Error("Int32s accepted 1<<63")
	}
	if v, ok := f.Strings("a.str"); !ok || !slices.Equal(v, []string{"a", "", "ㄱ"}) {
		t.Errorf("Strings %q %v", v, ok)
	}
	v, _ := f.Get("a.nested")
	outer, ok := v.AsArrays()
	if !ok || len(outer) != 2 {
		t.Fatalf("nested: %v", v)
	}
	inner, _ := outer[0].AsArrays()
	if s, _ := inner[1].AsStrings(); len(inner) != 3 || !slices.Equal(s, []string{"x"}) {
		t.Errorf("nested inner %v", outer[0])
	}
	if got := v.String(); !strings.HasPrefix(got, "[ARRAY × 2]") {
		t.Errorf("String() = %q", got)
	}
}

func TestWriterSetDeleteCopy(t *testing.T) {
	src, err := OpenBytes(buildSample(t, 0))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w := NewWriter(&buf)
	if err := w.CopyKVs(src, func(k string) bool { return strings.HasPrefix(k, "a.") }); err != nil {
		t.Fatal(err)
	}
	if err := w.Set("u8", Uint32(7)); err != nil { // replaced in place, type changed
		t.Fatal(err)
	}
	if err := w.Set("new", Bool(false)); err != nil {
		t.Fatal(err)
	}
	if err := w.Delete("i8"); err != nil {
		t.Fatal(err)
	}
	if err := w.Set("bad", Value{}); err == nil {
		t.Error("zero Value accepted")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := OpenBytes(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, kv := range f.KV {
		keys = append(keys, kv.Key)
	}
	want := []string{"general.architecture", "u8", "u16", "i16", "u32", "i32", "u64", "i64", "f32", "f64", "bool", "str", "empty", "new"}
	if !slices.Equal(keys, want) {
		t.Errorf("keys %v\nwant %v", keys, want)
	}
	if v, _ := f.Get("u8"); v.Type() != TypeUint32 {
		t.Errorf("replaced value has type %s", v.Type())
	}
}

func TestWriterMisuse(t *testing.T) {
	cases := []struct {
		name string
		run  func(w *Writer) error
		want string
	}{
		{"bad block size", func(w *Writer) error { return w.AddTensor("t", quant.Q4_K, 100) }, "not a multiple"},
		{"five dims", func(w *Writer) error { return w.AddTensor("t", quant.F32, 1, 1, 1, 1, 1) }, "dimensions"},
		{"unknown type", func(w *Writer) error { return w.AddTensor("t", quant.Type(5), 1) }, "unknown"},
		{"duplicate tensor", func(w *Writer) error {
			_ = w.AddTensor("t", quant.F32, 1)
			return w.AddTensor("t", quant.F32, 1)
		}, "twice"},
		{"out of order", func(w *Writer) error {
			_ = w.AddTensor("a", quant.F32, 1)
			_ = w.AddTensor("b", quant.F32, 1)
			return w.WriteTensor("b", make([]byte, 4))
		}, "out of order"},
		{"wrong size", func(w *Writer) error {
			_ = w.AddTensor("a", quant.F32, 2)
			return w.WriteTensor("a", make([]byte, 4))
		}, "8 expected"},
		{"too much data", func(w *Writer) error {
			_ = w.AddTensor("a", quant.F32, 1)
			_, err := w.Write(make([]byte, 5))
			return err
		}, "beyond"},
		{"missing data", func(w *Writer) error {
			_ = w.AddTensor("a", quant.F32, 1)
			return w.Close()
		}, "before all tensor data"},
		{"set after data", func(w *Writer) error {
			_ = w.AddTensor("a", quant.F32, 1)
			_, _ = w.Write(make([]byte, 2))
			return w.Set("k", Uint8(1))
		}, "fixed"},
		{"bad alignment", func(w *Writer) error {
			_ = w.Set(KeyAlignment, Uint32(24))
			return w.Close()
		}, "power of two"},
		{"alignment type", func(w *Writer) error {
			_ = w.Set(KeyAlignment, Uint64(32))
			return w.Close()
		}, "UINT32"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.run(NewWriter(&bytes.Buffer{}))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want %q", err, c.want)
			}
		})
	}
}

func TestCreateFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.gguf")
	w, err := Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Set("general.architecture", String("llama")); err != nil {
		t.Fatal(err)
	}
	if err := w.AddTensor("w", quant.Q8_0, 32, 2); err != nil {
		t.Fatal(err)
	}
	data := sampleData(3, 68)
	if err := w.WriteTensor("w", data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ti, _ := f.Tensor("w")
	if !bytes.Equal(f.TensorData(ti), data) || f.Arch() != "llama" {
		t.Error("file written by Create reads back differently")
	}
	if errors.Is(f.Close(), ErrCorrupt) {
		t.Error("close")
	}
}
