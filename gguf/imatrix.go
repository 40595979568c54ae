package gguf

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"strings"

	"github.com/nuri-ai/nuri/quant"
)

// ErrBadImatrix reports an importance-matrix file that cannot be read.
var ErrBadImatrix = errors.New("bad importance matrix")

// Imatrix is an importance matrix as llama-imatrix writes it: for each
// weight matrix it saw, the mean square of the activations each of its
// columns multiplied, over the calibration text.
type Imatrix struct {
	// Entries maps a tensor name to one importance per column; for a
	// tensor of several experts (3-D), one row of columns per expert,
	// expert after expert.
	Entries map[string][]float32
	// Counts are what each entry's values average over, one per expert
	// (what a merge of two matrices weighs them by): activation rows in
	// the GGUF format, calls in the .dat one; nil or absent: one.
	Counts    map[string][]float32
	Datasets  []string // the calibration files named in the file
	Chunks    int      // chunks of text it was computed over (0: unknown)
	ChunkSize int      // tokens of a chunk (0: unknown)
}

// ReadImatrix reads an importance matrix in either of llama-imatrix's
// formats: the GGUF one (<name>.in_sum2 and <name>.counts tensors, since
// mid-2025) or the older binary one (.dat). The values are the sums
// divided by their counts, as llama-quantize loads them.
func ReadImatrix(path string) (*Imatrix, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	var magic [4]byte
	_, err = io.ReadFull(fh, magic[:])
	fh.Close()
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %v", path, ErrBadImatrix, err)
	}
	var m *Imatrix
	if string(magic[:]) == "GGUF" {
		m, err = readImatrixGGUF(path)
	} else {
		m, err = readImatrixLegacy(path)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(m.Entries) == 0 {
		return nil, fmt.Errorf("%s: %w: no entries", path, ErrBadImatrix)
	}
	return m, nil
}

const (
	imatrixSums   = ".in_sum2"
	imatrixCounts = ".counts"
)

func readImatrixGGUF(path string) (*Imatrix, error) {
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m := &Imatrix{Entries: map[string][]float32{}, Counts: map[string][]float32{}}
	m.Datasets, _ = f.Strings("imatrix.datasets")
	if n, ok := f.Uint32("imatrix.chunk_count"); ok {
		m.Chunks = int(n)
	}
	if n, ok := f.Uint32("imatrix.chunk_size"); ok {
		m.ChunkSize = int(n)
	}
	for i := range f.Tensors {
		ti := &f.Tensors[i]
		name, ok := strings.CutSuffix(ti.Name, imatrixSums)
		if !ok {
			continue
		}
		ci, ok := f.Tensor(name + imatrixCounts)
		if !ok {
			return nil, fmt.Errorf("%w: %s has sums but no counts", ErrBadImatrix, name)
		}
		if ti.Type != quant.F32 || ci.Type != quant.F32 {
			return nil, fmt.Errorf("%w: %s: sums and counts must be F32, not %v and %v", ErrBadImatrix, name, ti.Type, ci.Type)
		}
		sums, counts := f32s(f.TensorData(ti)), f32s(f.TensorData(ci))
		if len(counts) == 0 || len(sums)%len(counts) != 0 {
			return nil, fmt.Errorf("%w: %s: %d sums for %d counts", ErrBadImatrix, name, len(sums), len(counts))
		}
		per := len(sums) / len(counts)
		v := make([]float32, len(sums))
		for e, c := range counts {
			for j := range per {
				if c > 0 {
					v[e*per+j] = sums[e*per+j] / c
				} else {
					// An expert no calibration token reached: no
					// information, every column alike (llama.cpp's 1).
					v[e*per+j] = 1
				}
			}
		}
		m.Entries[name] = v
		m.Counts[name] = counts
	}
	for i := range f.Tensors {
		if name, ok := strings.CutSuffix(f.Tensors[i].Name, imatrixCounts); ok {
			if _, ok := m.Entries[name]; !ok {
				return nil, fmt.Errorf("%w: %s has counts but no sums", ErrBadImatrix, name)
			}
		}
	}
	return m, nil
}

func f32s(b []byte) []float32 {
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

// Bounds on the legacy format's counts, so a damaged file fails cleanly
// instead of asking for memory: far beyond any model's tensor names and
// row lengths (an expert tensor's entry holds every expert's columns).
const (
	maxImatrixName   = 1 << 12
	maxImatrixValues = 1 << 28
)

// readImatrixLegacy reads the binary format: an int32 entry count, then
// per entry an int32 name length, the name, int32 ncall, int32 nval and
// nval float32 sums (divided by ncall here), and at the end, optionally,
// an int32 chunk count and the dataset's name.
func readImatrixLegacy(path string) (*Imatrix, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	return decodeImatrixLegacy(bufio.NewReader(fh))
}

func decodeImatrixLegacy(r io.Reader) (*Imatrix, error) {
	i32 := func(what string) (int, error) {
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return 0, fmt.Errorf("%w: %s: %v", ErrBadImatrix, what, err)
		}
		return int(int32(binary.LittleEndian.Uint32(b[:]))), nil
	}
	n, err := i32("entry count")
	if err != nil {
		return nil, err
	}
	if n < 1 || n > 1<<20 {
		return nil, fmt.Errorf("%w: %d entries (not an importance matrix?)", ErrBadImatrix, n)
	}
	m := &Imatrix{Entries: make(map[string][]float32, n), Counts: make(map[string][]float32, n)}
	for e := range n {
		l, err := i32("name length")
		if err != nil {
			return nil, err
		}
		if l < 1 || l > maxImatrixName {
			return nil, fmt.Errorf("%w: entry %d: name of %d bytes", ErrBadImatrix, e+1, l)
		}
		name := make([]byte, l)
		if _, err := io.ReadFull(r, name); err != nil {
			return nil, fmt.Errorf("%w: entry %d: name: %v", ErrBadImatrix, e+1, err)
		}
		ncall, err := i32("call count")
		if err != nil {
			return nil, err
		}
		nval, err := i32("value count")
		if err != nil {
			return nil, err
		}
		if nval < 1 || nval > maxImatrixValues {
			return nil, fmt.Errorf("%w: %s: %d values", ErrBadImatrix, name, nval)
		}
		v := make([]float32, 0, min(nval, 1<<16))
		var b [4]byte
		for range nval {
			if _, err := io.ReadFull(r, b[:]); err != nil {
				return nil, fmt.Errorf("%w: %s: values: %v", ErrBadImatrix, name, err)
			}
			x := math.Float32frombits(binary.LittleEndian.Uint32(b[:]))
			if ncall > 0 {
				x /= float32(ncall)
			}
			v = append(v, x)
		}
		m.Entries[string(name)] = v
		m.Counts[string(name)] = []float32{float32(max(ncall, 1))}
	}
	// The trailer is optional: older files end here.
	if chunks, err := i32("chunk count"); err == nil {
		m.Chunks = chunks
		if l, err := i32("dataset name length"); err == nil && l > 0 && l <= maxImatrixName {
			ds := make([]byte, l)
			if _, err := io.ReadFull(r, ds); err == nil {
				m.Datasets = []string{string(ds)}
			}
		}
	}
	return m, nil
}

// WriteImatrix writes m in the GGUF format llama-imatrix writes: for each
// entry a <name>.in_sum2 tensor (the values times their counts, one row of
// columns per expert) and a <name>.counts one, so that reading it back,
// here or in llama.cpp, gives m's values. It writes beside path and
// renames, so a failure leaves no partial file.
func WriteImatrix(path string, m *Imatrix) error {
	tmp := path + ".partial"
	w, err := Create(tmp)
	if err != nil {
		return err
	}
	fail := func(err error) error {
		w.Close()
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	for _, kv := range []struct {
		key string
		v   Value
	}{
		{"general.type", String("imatrix")},
		{"imatrix.datasets", Strings(m.Datasets)},
		{"imatrix.chunk_count", Uint32(uint32(m.Chunks))},
		{"imatrix.chunk_size", Uint32(uint32(m.ChunkSize))},
	} {
		if err := w.Set(kv.key, kv.v); err != nil {
			return fail(err)
		}
	}
	names := slices.Sorted(maps.Keys(m.Entries))
	counts := func(name string) []float32 {
		if c := m.Counts[name]; len(c) > 0 {
			return c
		}
		return []float32{1}
	}
	for _, name := range names {
		ne, v := len(counts(name)), m.Entries[name]
		if len(v)%ne != 0 {
			return fail(fmt.Errorf("imatrix %s: %d values for %d experts", name, len(v), ne))
		}
		if err := w.AddTensor(name+imatrixSums, quant.F32, uint64(len(v)/ne), uint64(ne)); err != nil {
			return fail(err)
		}
		if err := w.AddTensor(name+imatrixCounts, quant.F32, 1, uint64(ne)); err != nil {
			return fail(err)
		}
	}
	for _, name := range names {
		c, v := counts(name), m.Entries[name]
		per := len(v) / len(c)
		sums := make([]float32, len(v))
		for i, x := range v {
			sums[i] = x * c[i/per]
		}
		if err := w.WriteTensor(name+imatrixSums, f32Bytes(sums)); err != nil {
			return fail(err)
		}
		if err := w.WriteTensor(name+imatrixCounts, f32Bytes(c)); err != nil {
			return fail(err)
		}
	}
	if err := w.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func f32Bytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}
