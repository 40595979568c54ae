package gguf

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// writeSampleFile writes buildSample's image to dir/name and returns its path.
func writeSampleFile(t *testing.T, dir, name string, extra ...KV) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, buildSample(t, 0, extra...), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSplitRoundTrip: a model written as n parts opens from its first part
// as the original: the same metadata, and the same tensors in the same
// order with the same bytes; each part on its own is a valid GGUF with
// the split keys.
func TestSplitRoundTrip(t *testing.T) {
	dir := t.TempDir()
	orig, err := Open(writeSampleFile(t, dir, "model.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	for _, n := range []int{1, 2, 3, len(orig.Tensors)} {
		prefix := filepath.Join(dir, "m"+string(rune('a'+n)))
		paths, err := WriteSplit(orig, prefix, n)
		if err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		if len(paths) != n || paths[0] != SplitPath(prefix, 0, n) {
			t.Fatalf("n=%d: paths %v", n, paths)
		}
		f, err := Open(paths[0])
		if err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		if f.Parts() != n {
			t.Errorf("n=%d: Parts() = %d", n, f.Parts())
		}
		if len(f.Tensors) != len(orig.Tensors) {
			t.Fatalf("n=%d: %d tensors, want %d", n, len(f.Tensors), len(orig.Tensors))
		}
		for i := range orig.Tensors {
			a, b := &orig.Tensors[i], &f.Tensors[i]
			if a.Name != b.Name || a.Type != b.Type || !reflect.DeepEqual(a.Dims, b.Dims) {
				t.Fatalf("n=%d: tensor %d is %s %v %v, want %s %v %v", n, i, b.Name, b.Type, b.Dims, a.Name, a.Type, a.Dims)
			}
			if !bytes.Equal(orig.TensorData(a), f.TensorData(b)) {
				t.Fatalf("n=%d: tensor %s: data differs", n, a.Name)
			}
			if ti, ok := f.Tensor(a.Name); !ok || ti != b {
				t.Fatalf("n=%d: Tensor(%q) does not find it", n, a.Name)
			}
		}
		for _, kv := range orig.KV {
			if v, ok := f.Get(kv.Key); !ok || !reflect.DeepEqual(v, kv.Value) {
				t.Fatalf("n=%d: key %s: %v, want %v", n, kv.Key, v, kv.Value)
			}
		}
		if c, _ := f.Int(KeySplitCount); c != n {
			t.Errorf("n=%d: split.count %d", n, c)
		}
		var size int64
		for i, p := range paths {
			st, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			size += st.Size()
			if i == 0 {
				continue
			}
			part, err := openOne(p)
			if err != nil {
				t.Fatalf("part %d alone: %v", i, err)
			}
			if no, _ := part.Int(KeySplitNo); no != i {
				t.Errorf("part %d: split.no %d", i, no)
			}
			if _, ok := part.Get("general.architecture"); ok {
				t.Errorf("part %d carries the model's metadata", i)
			}
			part.Close()
		}
		if f.Size() != size {
			t.Errorf("n=%d: Size() %d, the parts' files %d", n, f.Size(), size)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSplitOpenErrors: the ways a split model can be incomplete or
// inconsistent each give an error that says what is wrong.
func TestSplitOpenErrors(t *testing.T) {
	dir := t.TempDir()
	orig, err := Open(writeSampleFile(t, dir, "model.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	prefix := filepath.Join(dir, "m")
	paths, err := WriteSplit(orig, prefix, 3)
	if err != nil {
		t.Fatal(err)
	}

	_, err = Open(paths[1])
	if err == nil || !strings.Contains(err.Error(), "open the first part") || !strings.Contains(err.Error(), paths[0]) {
		t.Errorf("second part: %v, want a pointer to the first", err)
	}

	renamed := filepath.Join(dir, "renamed.gguf")
	data, _ := os.ReadFile(paths[0])
	os.WriteFile(renamed, data, 0o644)
	if _, err := Open(renamed); err == nil || !strings.Contains(err.Error(), "-00001-of-00003.gguf") {
		t.Errorf("renamed first part: %v, want the naming rule", err)
	}

	os.Rename(paths[2], paths[2]+".away")
	if _, err := Open(paths[0]); err == nil || !strings.Contains(err.Error(), "part 3 of 3") {
		t.Errorf("missing part: %v", err)
	}
	os.Rename(paths[2]+".away", paths[2])

	// A part from another split of the model: split.no disagrees.
	other, err := WriteSplit(orig, filepath.Join(dir, "o"), 3)
	if err != nil {
		t.Fatal(err)
	}
	data, _ = os.ReadFile(other[2])
	os.WriteFile(paths[1], data, 0o644)
	if _, err := Open(paths[0]); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "split.no") {
		t.Errorf("part 2 replaced by part 3: %v", err)
	}

	// The same tensor in two parts.
	dup := filepath.Join(dir, "d")
	writeDupPart := func(i int, names []string) {
		w, err := Create(SplitPath(dup, i, 2))
		if err != nil {
			t.Fatal(err)
		}
		w.Set(KeySplitNo, Uint16(uint16(i)))
		w.Set(KeySplitCount, Uint16(2))
		for _, name := range names {
			w.AddTensor(name, orig.Tensors[0].Type, orig.Tensors[0].Dims...)
		}
		for _, name := range names {
			w.WriteTensor(name, orig.TensorData(&orig.Tensors[0]))
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	writeDupPart(0, []string{"a", "b"})
	writeDupPart(1, []string{"b"})
	if _, err := Open(SplitPath(dup, 0, 2)); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), `"b"`) {
		t.Errorf("duplicate tensor: %v", err)
	}

	if _, err := WriteSplit(orig, prefix, 0); err == nil {
		t.Error("0 parts: no error")
	}
	// Splitting a split model onto its own files would overwrite what it
	// reads from.
	prefix = filepath.Join(dir, "fresh")
	if paths, err = WriteSplit(orig, prefix, 3); err != nil {
		t.Fatal(err)
	}
	sp, err := Open(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	if !sp.Reads(paths[2]) || sp.Reads(filepath.Join(dir, "model.gguf")) {
		t.Errorf("Reads: %v for its part 3, %v for another file", sp.Reads(paths[2]), sp.Reads(filepath.Join(dir, "model.gguf")))
	}
	before, _ := os.ReadFile(paths[1])
	if _, err := WriteSplit(sp, prefix, 3); err == nil || !strings.Contains(err.Error(), "a file of the model being split") {
		t.Errorf("split onto its own parts: %v", err)
	}
	if after, _ := os.ReadFile(paths[1]); !bytes.Equal(before, after) {
		t.Error("split onto its own parts changed part 2")
	}
	sp.Close()
	if _, err := WriteSplit(orig, prefix, len(orig.Tensors)+1); err == nil {
		t.Error("more parts than tensors: no error")
	}
}

func TestModelName(t *testing.T) {
	for path, want := range map[string]string{
		"/m/exaone-32b-00001-of-00002.gguf": "exaone-32b",
		"exaone-32b-00002-of-00002.gguf":    "exaone-32b",
		"stories260K.gguf":                  "stories260K",
		"/a/b/model":                        "model",
		"x-0001-of-0002.gguf":               "x-0001-of-0002",
		"-00001-of-00002.gguf":              "-00001-of-00002",
	} {
		if got := ModelName(path); got != want {
			t.Errorf("ModelName(%q) = %q, want %q", path, got, want)
		}
	}
}

// TestWriteSplitMax: parts stay within the size unless one tensor is
// larger, every tensor is written once in order, and the parts open as the
// original.
func TestWriteSplitMax(t *testing.T) {
	dir := t.TempDir()
	orig, err := Open(writeSampleFile(t, dir, "model.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	var total, largest uint64
	for i := range orig.Tensors {
		b := orig.Tensors[i].Bytes()
		total += b
		largest = max(largest, b)
	}
	for _, maxBytes := range []uint64{1, largest / 2, largest, total / 2, total, 10 * total} {
		prefix := filepath.Join(dir, fmt.Sprintf("s%d", maxBytes))
		paths, err := WriteSplitMax(orig, prefix, maxBytes)
		if err != nil {
			t.Fatalf("max %d: %v", maxBytes, err)
		}
		f, err := Open(paths[0])
		if err != nil {
			t.Fatalf("max %d: %v", maxBytes, err)
		}
		if len(f.Tensors) != len(orig.Tensors) {
			t.Fatalf("max %d: %d tensors", maxBytes, len(f.Tensors))
		}
		sizes := make([]uint64, f.Parts())
		counts := make([]int, f.Parts())
		for i := range f.Tensors {
			ti := &f.Tensors[i]
			if ti.Name != orig.Tensors[i].Name || !bytes.Equal(f.TensorData(ti), orig.TensorData(&orig.Tensors[i])) {
				t.Fatalf("max %d: tensor %d differs", maxBytes, i)
			}
			sizes[ti.part] += ti.Bytes()
			counts[ti.part]++
		}
		for p := range sizes {
			if counts[p] == 0 || (sizes[p] > maxBytes && counts[p] > 1) {
				t.Errorf("max %d: part %d holds %d tensors, %d bytes", maxBytes, p+1, counts[p], sizes[p])
			}
		}
		if maxBytes >= total && f.Parts() != 1 {
			t.Errorf("max %d ≥ all %d bytes: %d parts", maxBytes, total, f.Parts())
		}
		f.Close()
	}
	if _, err := WriteSplitMax(orig, filepath.Join(dir, "z"), 0); err == nil {
		t.Error("max 0: no error")
	}
}
