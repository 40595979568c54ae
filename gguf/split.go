package gguf

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Split models: llama.cpp's gguf-split cuts a model into parts named
// PREFIX-00001-of-0000N.gguf …, each a complete GGUF file. The first holds
// the model's metadata; every part holds split.no (its 0-based index),
// split.count and split.tensors.count (the model's total), and a run of
// the tensors in order. Open reads such a model from its first part.

// Keys of a split model, as llama.cpp names them.
const (
	KeySplitNo           = "split.no"
	KeySplitCount        = "split.count"
	KeySplitTensorsCount = "split.tensors.count"
)

// SplitPath is llama.cpp's name for part i (0-based) of n of a split
// model: PREFIX-0000{i+1}-of-0000{n}.gguf.
func SplitPath(prefix string, i, n int) string {
	return fmt.Sprintf("%s-%05d-of-%05d.gguf", prefix, i+1, n)
}

// IsSplitKey reports whether k is one of a split model's keys, which a
// file written from it (one file, or other parts) must not copy.
func IsSplitKey(k string) bool {
	return k == KeySplitNo || k == KeySplitCount || k == KeySplitTensorsCount
}

// WriteSplit writes f (one file, or a split model opened by Open) as n
// parts SplitPath(prefix, i, n), as llama.cpp's gguf-split does: the first
// part carries f's metadata (without its split keys), every part the split
// keys (split.no and split.count as uint16, split.tensors.count as int32,
// gguf-split's types), and the tensors are divided in f's order into n
// runs whose counts differ by one at most. It returns the paths written;
// on error it removes them.
func WriteSplit(f *File, prefix string, n int) ([]string, error) {
	if n < 1 || n > len(f.Tensors) || n > 0xffff {
		return nil, fmt.Errorf("gguf: split %d tensors into %d parts: want 1..%d parts", len(f.Tensors), n, min(len(f.Tensors), 0xffff))
	}
	cuts := make([]int, n+1)
	for i := range cuts {
		cuts[i] = i * len(f.Tensors) / n
	}
	return writeSplit(f, prefix, cuts)
}

// WriteSplitMax is WriteSplit with parts of at most maxBytes of tensor data
// each (gguf-split's --split-max-size): tensors in f's order fill a part
// until the next would take it over, and a tensor larger than maxBytes
// gets a part of its own.
func WriteSplitMax(f *File, prefix string, maxBytes uint64) ([]string, error) {
	if maxBytes == 0 || len(f.Tensors) == 0 {
		return nil, fmt.Errorf("gguf: split %d tensors into parts of %d bytes: want tensors and a positive size", len(f.Tensors), maxBytes)
	}
	cuts := []int{0}
	var size uint64
	for i := range f.Tensors {
		b := f.Tensors[i].Bytes()
		if i > cuts[len(cuts)-1] && size+b > maxBytes {
			cuts = append(cuts, i)
			size = 0
		}
		size += b
	}
	cuts = append(cuts, len(f.Tensors))
	if len(cuts)-1 > 0xffff {
		return nil, fmt.Errorf("gguf: parts of %d bytes would make %d parts, more than split.count holds", maxBytes, len(cuts)-1)
	}
	return writeSplit(f, prefix, cuts)
}

// SetSplitKeys sets the keys of part i (0-based) of n of a split model
// of tensors tensors in all, in gguf-split's types: split.no and
// split.count as uint16, split.tensors.count as int32.
func (w *Writer) SetSplitKeys(i, n, tensors int) error {
	if i < 0 || i >= n || n > 0xffff || tensors < 0 || tensors > math.MaxInt32 {
		return fmt.Errorf("gguf: split keys: part %d of %d with %d tensors is out of range", i, n, tensors)
	}
	for _, kv := range []KV{{KeySplitNo, Uint16(uint16(i))}, {KeySplitCount, Uint16(uint16(n))}, {KeySplitTensorsCount, Int32(int32(tensors))}} {
		if err := w.Set(kv.Key, kv.Value); err != nil {
			return err
		}
	}
	return nil
}

// writeSplit writes part i with the tensors cuts[i]..cuts[i+1]-1.
func writeSplit(f *File, prefix string, cuts []int) (paths []string, err error) {
	n := len(cuts) - 1
	defer func() {
		if err != nil {
			for _, p := range paths {
				os.Remove(p) // best effort; err is what matters
			}
			paths = nil
		}
	}()
	for i := range n {
		path := SplitPath(prefix, i, n)
		if f.Reads(path) {
			return paths, fmt.Errorf("gguf: split: %s is a file of the model being split", path)
		}
		paths = append(paths, path)
		if err := writePart(f, path, i, n, f.Tensors[cuts[i]:cuts[i+1]]); err != nil {
			return paths, err
		}
	}
	return paths, nil
}

// WriteMerged writes the whole of f, a split model read from its first
// part or a single file, as one file without split keys (gguf-split
// --merge). A failed write leaves no file behind.
func WriteMerged(f *File, path string) (err error) {
	if f.Reads(path) {
		return fmt.Errorf("gguf: merge: %s is a file of the model being merged", path)
	}
	defer func() {
		if err != nil {
			os.Remove(path) // best effort; err is what matters
		}
	}()
	return writePart(f, path, 0, 0, f.Tensors)
}

// writePart writes part i of n with the tensors ts; n 0 writes a file of
// its own (no split keys).
func writePart(f *File, path string, i, n int, ts []TensorInfo) (err error) {
	w, err := Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := w.Close(); err == nil {
			err = cerr
		}
	}()
	if i == 0 {
		if err := w.CopyKVs(f, IsSplitKey); err != nil {
			return err
		}
	} else if a, ok := f.Get("general.alignment"); ok {
		if err := w.Set("general.alignment", a); err != nil {
			return err
		}
	}
	if n > 0 {
		if err := w.SetSplitKeys(i, n, len(f.Tensors)); err != nil {
			return err
		}
	}
	for j := range ts {
		if err := w.AddTensor(ts[j].Name, ts[j].Type, ts[j].Dims...); err != nil {
			return err
		}
	}
	for j := range ts {
		data := f.TensorData(&ts[j])
		if data == nil && ts[j].Bytes() != 0 {
			return fmt.Errorf("gguf: write %s: tensor %q has no data (file closed?)", path, ts[j].Name)
		}
		if err := w.WriteTensor(ts[j].Name, data); err != nil {
			return fmt.Errorf("gguf: write %s: %w", path, err)
		}
	}
	return nil
}

// ModelName is the name a model file goes by: its base name without
// ".gguf", and for a part of a split model without "-0000i-of-0000N" too
// ("exaone-32b-00001-of-00002.gguf" → "exaone-32b").
func ModelName(path string) string {
	name := strings.TrimSuffix(filepath.Base(path), ".gguf")
	if m := splitName.FindStringSubmatch(name); m != nil {
		return m[1]
	}
	return name
}

var splitName = regexp.MustCompile(`^(.+)-\d{5}-of-\d{5}$`)

// splitPrefix returns the PREFIX of path when it is named as part no of n
// (SplitPath), or false.
func splitPrefix(path string, no, n int) (string, bool) {
	suffix := SplitPath("", no, n)
	if !strings.HasSuffix(path, suffix) {
		return "", false
	}
	return strings.TrimSuffix(path, suffix), true
}
