package gguf

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/nuri-ai/nuri/quant"
)

// Writer produces a GGUF v3 file in one forward pass. Declare all metadata
// (Set) and all tensors (AddTensor) first; then write the tensors' data in
// declaration order (WriteTensor, or Write for arbitrary chunks); then Close.
// The header goes out with the first data byte, so the output only needs to
// be an io.Writer and memory holds at most one caller-sized chunk of data.
//
// Offsets follow llama.cpp's strict rule: every tensor starts at the sum of
// the padded sizes of the ones before it, padding is zero bytes, and the last
// tensor is padded too. The alignment is general.alignment when set (it must
// be a UINT32 power of two), else 32.
type Writer struct {
	out    io.Writer
	buf    *bufio.Writer // when the Writer owns the file
	file   *os.File
	kv     []KV
	kindex map[string]int
	ts     []TensorInfo
	sizes  []uint64
	tindex map[string]int

	started bool
	cur     int    // tensor whose data is being written
	curDone uint64 // bytes of tensor cur already written
	align   uint64
	err     error // sticky: once writing fails the file is unusable
	closed  bool
}

// NewWriter returns a Writer that writes to w. Close does not close w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{out: w, kindex: map[string]int{}, tindex: map[string]int{}}
}

// Create creates (truncates) path and returns a buffered Writer on it; Close
// flushes and closes the file.
func Create(path string) (*Writer, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	w := NewWriter(bw)
	w.buf, w.file = bw, f
	return w, nil
}

var errStarted = errors.New("gguf: metadata and tensor infos are fixed once tensor data is written")

// Set stores v under key: it replaces an existing pair in place (keeping
// the order) or appends a new one.
func (w *Writer) Set(key string, v Value) error {
	if w.started {
		return errStarted
	}
	if !v.IsValid() {
		return fmt.Errorf("gguf: key %q: invalid (zero) value", key)
	}
	if i, ok := w.kindex[key]; ok {
		w.kv[i].Value = v
		return nil
	}
	w.kindex[key] = len(w.kv)
	w.kv = append(w.kv, KV{Key: key, Value: v})
	return nil
}

// Delete removes key if present.
func (w *Writer) Delete(key string) error {
	if w.started {
		return errStarted
	}
	i, ok := w.kindex[key]
	if !ok {
		return nil
	}
	w.kv = append(w.kv[:i], w.kv[i+1:]...)
	delete(w.kindex, key)
	for j := i; j < len(w.kv); j++ {
		w.kindex[w.kv[j].Key] = j
	}
	return nil
}

// CopyKVs copies every pair of f, in order, except those for which skip
// (if non-nil) returns true. Existing keys are replaced in place.
func (w *Writer) CopyKVs(f *File, skip func(key string) bool) error {
	for _, kv := range f.KV {
		if skip != nil && skip(kv.Key) {
			continue
		}
		if err := w.Set(kv.Key, kv.Value); err != nil {
			return err
		}
	}
	return nil
}

// AddTensor declares the next tensor. dims are ggml's ne (innermost first);
// dims[0] must be a multiple of t's block size.
func (w *Writer) AddTensor(name string, t quant.Type, dims ...uint64) error {
	if w.started {
		return errStarted
	}
	if _, dup := w.tindex[name]; dup {
		return fmt.Errorf("gguf: tensor %q declared twice", name)
	}
	ti := TensorInfo{Name: name, Type: t, Dims: append([]uint64(nil), dims...)}
	n, err := ti.size()
	if err != nil {
		return fmt.Errorf("gguf: tensor %q: %w", name, err)
	}
	w.tindex[name] = len(w.ts)
	w.ts = append(w.ts, ti)
	w.sizes = append(w.sizes, n)
	return nil
}

// Tensors returns the declared tensor infos with the offsets they will have
// (valid after the first data write or Close).
func (w *Writer) Tensors() []TensorInfo { return w.ts }

func (w *Writer) alignment() (uint64, error) {
	i, ok := w.kindex[KeyAlignment]
	if !ok {
		return DefaultAlignment, nil
	}
	v := w.kv[i].Value
	a, _ := v.AsUint64()
	if v.Type() != TypeUint32 || a == 0 || a&(a-1) != 0 {
		return 0, fmt.Errorf("gguf: %s must be a UINT32 power of two, got %s %v", KeyAlignment, v.Type(), v)
	}
	return a, nil
}

// writeHeader assigns offsets and writes everything before the data.
func (w *Writer) writeHeader() error {
	if w.started {
		return nil
	}
	w.started = true
	a, err := w.alignment()
	if err != nil {
		return w.fail(err)
	}
	w.align = a
	le := binary.LittleEndian
	b := le.AppendUint32(nil, magic)
	b = le.AppendUint32(b, 3)
	b = le.AppendUint64(b, uint64(len(w.ts)))
	b = le.AppendUint64(b, uint64(len(w.kv)))
	for _, kv := range w.kv {
		b = appendString(b, kv.Key)
		b = le.AppendUint32(b, uint32(kv.Value.Type()))
		if b, err = appendValue(b, kv.Value); err != nil {
			return w.fail(fmt.Errorf("gguf: key %q: %w", kv.Key, err))
		}
	}
	var off uint64
	for i := range w.ts {
		ti := &w.ts[i]
		ti.Offset = off
		b = appendString(b, ti.Name)
		b = le.AppendUint32(b, uint32(len(ti.Dims)))
		for _, d := range ti.Dims {
			b = le.AppendUint64(b, d)
		}
		b = le.AppendUint32(b, uint32(ti.Type))
		b = le.AppendUint64(b, ti.Offset)
		off += pad(w.sizes[i], a)
	}
	// llama.cpp pads to the data section only when there is data: its
	// vocab-only files end right after the metadata.
	if len(w.ts) > 0 {
		b = append(b, make([]byte, pad(uint64(len(b)), a)-uint64(len(b)))...)
	}
	if _, err := w.out.Write(b); err != nil {
		return w.fail(fmt.Errorf("gguf: write header: %w", err))
	}
	w.skipEmpty()
	return nil
}

func pad(n, a uint64) uint64 { return (n + a - 1) / a * a }

func (w *Writer) fail(err error) error {
	if w.err == nil {
		w.err = err
	}
	return err
}

// skipEmpty moves past zero-byte tensors, which have no data to wait for.
func (w *Writer) skipEmpty() {
	for w.cur < len(w.ts) && w.sizes[w.cur] == 0 {
		w.cur++
	}
}

// Write streams tensor data: the bytes of the declared tensors in order,
// without padding (the Writer inserts it). A chunk may span tensors.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if w.closed {
		return 0, errors.New("gguf: write after Close")
	}
	if err := w.writeHeader(); err != nil {
		return 0, err
	}
	done := 0
	for len(p) > 0 {
		if w.cur >= len(w.ts) {
			return done, w.fail(fmt.Errorf("gguf: %d bytes of tensor data beyond the declared tensors", len(p)))
		}
		size := w.sizes[w.cur]
		n := min(uint64(len(p)), size-w.curDone)
		if _, err := w.out.Write(p[:n]); err != nil {
			return done, w.fail(fmt.Errorf("gguf: write tensor %q: %w", w.ts[w.cur].Name, err))
		}
		done += int(n)
		p = p[n:]
		w.curDone += n
		if w.curDone == size {
			if err := w.writeZeros(pad(size, w.align) - size); err != nil {
				return done, err
			}
			w.cur++
			w.curDone = 0
			w.skipEmpty()
		}
	}
	return done, nil
}

// writeZeros writes n zero bytes of padding in bounded pieces.
func (w *Writer) writeZeros(n uint64) error {
	var zeros [512]byte
	for n > 0 {
		k := min(n, uint64(len(zeros)))
		if _, err := w.out.Write(zeros[:k]); err != nil {
			return w.fail(fmt.Errorf("gguf: write padding: %w", err))
		}
		n -= k
	}
	return nil
}

// WriteTensor writes the whole data of the named tensor, which must be the
// next one due and exactly its size.
func (w *Writer) WriteTensor(name string, data []byte) error {
	if err := w.writeHeader(); err != nil {
		return err
	}
	if w.err != nil {
		return w.err
	}
	if i, ok := w.tindex[name]; ok && w.sizes[i] == 0 && len(data) == 0 {
		return nil // empty tensors have no data to place
	}
	if w.cur >= len(w.ts) || w.ts[w.cur].Name != name || w.curDone != 0 {
		return w.fail(fmt.Errorf("gguf: tensor %q written out of order (next due: %s)", name, w.nextDue()))
	}
	if uint64(len(data)) != w.sizes[w.cur] {
		return w.fail(fmt.Errorf("gguf: tensor %q: %d bytes given, %d expected", name, len(data), w.sizes[w.cur]))
	}
	_, err := w.Write(data)
	return err
}

func (w *Writer) nextDue() string {
	if w.cur >= len(w.ts) {
		return "none"
	}
	return fmt.Sprintf("%q at byte %d of %d", w.ts[w.cur].Name, w.curDone, w.sizes[w.cur])
}

// Close writes the header if no data was written yet (a file without
// tensors), checks that every tensor's data was written, flushes and, for a
// Writer from Create, closes the file.
func (w *Writer) Close() error {
	if w.closed {
		return nil
	}
	err := w.writeHeader()
	if err == nil && w.err == nil && w.cur < len(w.ts) {
		err = w.fail(fmt.Errorf("gguf: closed before all tensor data was written (next due: %s)", w.nextDue()))
	}
	if err == nil {
		err = w.err
	}
	w.closed = true
	if w.buf != nil {
		if ferr := w.buf.Flush(); ferr != nil && err == nil {
			err = fmt.Errorf("gguf: flush: %w", ferr)
		}
	}
	if w.file != nil {
		if cerr := w.file.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("gguf: close: %w", cerr)
		}
	}
	return err
}
