// Package imatrix computes an importance matrix, as llama-imatrix does:
// running a model over a calibration text, it adds up, for every weight
// matrix of the decoder blocks, the square of each input column of each
// token's activation row. `nuri quantize --imatrix` (and llama-quantize)
// then weigh each column's rounding error by the mean of those squares.
//
// The collection sits between the model and its device: Device wraps the
// model's device, and its streams read every MatMul's input before running
// it. They offer none of the fused ops (a norm or a SwiGLU folded into the
// matmul), so the model computes every input as a tensor of its own.
package imatrix

import (
	"fmt"
	"strings"
	"sync"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/gguf"
	"github.com/nuri-ai/nuri/quant"
)

// Device is a device whose streams record the inputs of matmuls.
type Device struct {
	backends.Device
	keep func(weight string) bool

	mu     sync.Mutex
	sums   map[string][]float64 // Σ x² per column
	counts map[string]int       // activation rows added
}

// Wrap returns dev recording the matmuls whose weight keep accepts.
func Wrap(dev backends.Device, keep func(weight string) bool) *Device {
	return &Device{Device: dev, keep: keep, sums: map[string][]float64{}, counts: map[string]int{}}
}

// DefaultKeep is llama-imatrix's choice: the weights of the decoder
// blocks (blk.*), and the output matrix only when asked.
func DefaultKeep(withOutput bool) func(string) bool {
	return func(name string) bool {
		return strings.HasPrefix(name, "blk.") || (withOutput && name == "output.weight")
	}
}

// Unwrap gives backends.As the device beneath.
func (d *Device) Unwrap() backends.Device { return d.Device }

// UploadLookup passes a lookup table (the token embedding) to the device
// beneath as it would have had it, by its own lookup upload where it has
// one.
func (d *Device) UploadLookup(name string, t quant.Type, rows, cols int, data []byte) (backends.Tensor, error) {
	if lu, ok := d.Device.(backends.LookupUploader); ok {
		return lu.UploadLookup(name, t, rows, cols, data)
	}
	return d.Device.Upload(name, t, rows, cols, data)
}

// NewStream wraps the device's stream.
func (d *Device) NewStream() (backends.Stream, error) {
	s, err := d.Device.NewStream()
	if err != nil {
		return nil, err
	}
	return &stream{Stream: s, d: d}, nil
}

// stream reads each kept matmul's input before running it.
type stream struct {
	backends.Stream
	d   *Device
	buf []float32
}

func (s *stream) MatMul(dst, w, x backends.Tensor) {
	if s.d.keep(w.Name) && x.Rows > 0 {
		n := x.Rows * x.Cols
		if cap(s.buf) < n {
			s.buf = make([]float32, n)
		}
		buf := s.buf[:n]
		s.Stream.Read(buf, x)
		s.d.add(w.Name, buf, x.Rows, x.Cols)
	}
	s.Stream.MatMul(dst, w, x)
}

func (d *Device) add(name string, x []float32, rows, cols int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	sums := d.sums[name]
	if sums == nil {
		sums = make([]float64, cols)
		d.sums[name] = sums
	}
	for r := range rows {
		for j, v := range x[r*cols : (r+1)*cols] {
			sums[j] += float64(v) * float64(v)
		}
	}
	d.counts[name] += rows
}

// Tensors is how many weight matrices have been seen so far.
func (d *Device) Tensors() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.sums)
}

// Imatrix returns what has been collected: per weight, the mean square of
// each input column over the rows seen, and the row count.
func (d *Device) Imatrix(datasets []string, chunks, chunkSize int) (*gguf.Imatrix, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.sums) == 0 {
		return nil, fmt.Errorf("no matmul inputs were recorded")
	}
	m := &gguf.Imatrix{Entries: map[string][]float32{}, Counts: map[string][]float32{}, Datasets: datasets, Chunks: chunks, ChunkSize: chunkSize}
	for name, sums := range d.sums {
		n := float64(d.counts[name])
		v := make([]float32, len(sums))
		for j, s := range sums {
			v[j] = float32(s / n)
		}
		m.Entries[name] = v
		m.Counts[name] = []float32{float32(n)}
	}
	return m, nil
}
