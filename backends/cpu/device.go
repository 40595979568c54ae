package cpu

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"sync"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/kernels"
	"github.com/nuri-ai/nuri/quant"
)

// Device is the host CPU. It owns a worker pool shared by its streams.
type Device struct {
	pool *kernels.Pool
	// packed holds the repacked copies of Q4_0/Q8_0 weights made at Upload,
	// keyed by the first byte of the uploaded data.
	mu     sync.RWMutex
	packed map[*byte]*kernels.PackedWeights
	// plain holds the copies of weights that are not packed but that an
	// assembly row kernel streams (kernels.Pool.CopiesPlain), keyed the
	// same way.
	plain map[*byte][]byte
	arena *kernels.Arena // the packed and plain copies' memory (huge pages)
	prof  backends.OpTimes
}

// ProfileOps implements backends.OpProfiler.
func (d *Device) ProfileOps(on bool) {
	d.pool.TimeDots(on)
	d.prof.ProfileOps(on)
}

// OpProfile implements backends.OpProfiler.
func (d *Device) OpProfile() []backends.OpTime { return d.prof.OpProfile() }

// New returns a CPU device running ops on nThreads workers (<= 0: one per
// CPU).
func New(nThreads int) *Device {
	return &Device{pool: kernels.NewPool(nThreads), packed: map[*byte]*kernels.PackedWeights{}, plain: map[*byte][]byte{}, arena: kernels.NewArena()}
}

// SetGeneric forces the pure-Go reference matmul kernels (on) instead of
// the assembly ones; commands set it from NURI_KERNELS=generic so both
// paths can be checked against the same goldens.
func (d *Device) SetGeneric(on bool) { d.pool.SetGeneric(on) }

// SetKernelSet chooses the kernels the device runs (kernels.KernelSet;
// commands take it from --kernels or NURI_KERNELS). Set it before weights
// are uploaded: whether they are packed is decided then.
func (d *Device) SetKernelSet(k kernels.KernelSet) { d.pool.SetKernelSet(k) }

// SetPacing chooses how single-row matmuls pick between the plain and the
// paced stream kernels (kernels.Pacing; commands take it from
// NURI_PACING): measured at run time by default.
func (d *Device) SetPacing(m kernels.Pacing) { d.pool.SetPacing(m) }

// SetPrefetch chooses the prefetch distances of the single-row stream
// kernels (kernels.Prefetch; commands take it from NURI_PREFETCH):
// measured at run time by default.
func (d *Device) SetPrefetch(m kernels.Prefetch) { d.pool.SetPrefetch(m) }

// Prefetch reports the device's prefetch mode and the distances its
// single-row calls start on or keep (kernels.Pool.Prefetch).
func (d *Device) Prefetch() (mode, start kernels.Prefetch) { return d.pool.Prefetch() }

// PacingReport is what the device's pool has chosen among the forms of
// the stream kernels so far (kernels.Pool.PacingReport).
func (d *Device) PacingReport() []kernels.PaceChoice { return d.pool.PacingReport() }

// Name implements backends.Device.
func (d *Device) Name() string { return "cpu" }

// Threads returns the number of workers.
func (d *Device) Threads() int { return d.pool.Threads() }

// Memory reports MemAvailable and MemTotal from /proc/meminfo (0, 0 where
// that file does not exist).
func (d *Device) Memory() (free, total uint64) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := bytes.Fields(sc.Bytes())
		if len(f) < 2 {
			continue
		}
		v, err := strconv.ParseUint(string(f[1]), 10, 64)
		if err != nil {
			continue
		}
		switch string(f[0]) {
		case "MemTotal:":
			total = v * 1024
		case "MemAvailable:":
			free = v * 1024
		}
	}
	return free, total
}

// matmulType reports the weight types the kernels multiply.
func matmulType(t quant.Type) bool { return kernels.HasMatMul(t) }

// kvType reports whether t can be a KV cache type: F32, F16, Q8_0, and
// the 32-element block types of llama.cpp's -ctk/-ctv list that
// kernels.QuantCacheType names (Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL).
func kvType(t quant.Type) bool {
	return t == quant.F32 || t == quant.F16 || t == quant.Q8_0 || kernels.QuantCacheType(t)
}

// SoftCapsAttention implements backends.AttnSoftCapper.
func (d *Device) SoftCapsAttention() bool { return true }

// StartsAttentionRows implements backends.AttnRowStarter.
func (d *Device) StartsAttentionRows() bool { return true }

// Supports implements backends.Device.
func (d *Device) Supports(op backends.Op, t quant.Type) bool {
	switch op {
	case backends.OpMatMul:
		return matmulType(t)
	case backends.OpGetRows:
		return quant.CanDequantize(t)
	case backends.OpStoreKV, backends.OpAttention:
		return kvType(t)
	}
	return op.OnActivations() && t == quant.F32
}

// VInKCache implements backends.VInKCache: attention reads V rows through
// K with K's stride, so a latent cache stores each position once.
func (d *Device) VInKCache() bool { return true }

// MixesKVTypes implements backends.KVTypeMixer: K and V are read by loops
// of their own types (attention.go), so any two cache types pair.
func (d *Device) MixesKVTypes() bool { return true }

// Alloc implements backends.Device with zeroed, 8-byte aligned heap memory.
func (d *Device) Alloc(n int, _ backends.Usage) (backends.Buffer, error) {
	if n < 0 {
		return nil, fmt.Errorf("cpu: alloc of %d bytes", n)
	}
	return backends.NewHostBuffer(n), nil
}

// Upload implements backends.Device. The tensor it returns wraps data, no
// copy and no dequantized duplicate. Matrices are repacked once for the
// 16-row kernels (kernels.PackWeights) when this CPU has them and the
// reference kernels are not forced; the others that an assembly row
// kernel streams are copied as they are onto huge pages (Linux,
// kernels.Pool.CopiesPlain). OwnsCopy then reports true, so a loader can
// give the file's pages back, and MatMul and GetRows read the copy; other
// ops read data.
func (d *Device) Upload(name string, t quant.Type, rows, cols int, data []byte) (backends.Tensor, error) {
	tt, err := d.UploadLookup(name, t, rows, cols, data)
	if err != nil {
		return tt, err
	}
	if len(data) == 0 || rows <= 1 {
		return tt, nil
	}
	d.mu.RLock()
	arena := d.arena
	d.mu.RUnlock()
	switch {
	case kernels.PackableShape(t, cols) && d.pool.Packs(t):
		pw, err := kernels.PackWeightsIn(d.pool, arena, t, data, rows, cols)
		if err != nil {
			return backends.Tensor{}, fmt.Errorf("cpu: upload %s: %w", name, err)
		}
		d.mu.Lock()
		d.packed[&data[0]] = pw
		d.mu.Unlock()
	case d.pool.CopiesPlain(t):
		c := arena.Copy(d.pool, data)
		d.mu.Lock()
		d.plain[&data[0]] = c
		d.mu.Unlock()
	}
	return tt, nil
}

// UploadLookup implements backends.LookupUploader: Upload without the
// repacked copy, for weights only GetRows reads.
func (d *Device) UploadLookup(name string, t quant.Type, rows, cols int, data []byte) (backends.Tensor, error) {
	tt := backends.Tensor{Name: name, Buf: backends.WrapHost(data), Type: t, Rows: rows, Cols: cols}
	n, err := tt.NumBytes()
	if err != nil {
		return backends.Tensor{}, fmt.Errorf("cpu: upload %s: %w", name, err)
	}
	if n != len(data) {
		return backends.Tensor{}, fmt.Errorf("cpu: upload %s: %dx%d %v needs %d bytes, got %d: %w", name, rows, cols, t, n, len(data), backends.ErrShape)
	}
	return tt, nil
}

// packedFor returns the packed copy of weight w, if Upload made one.
func (d *Device) packedFor(w backends.Tensor, wb []byte) *kernels.PackedWeights {
	if len(wb) == 0 {
		return nil
	}
	d.mu.RLock()
	pw := d.packed[&wb[0]]
	d.mu.RUnlock()
	if pw == nil || pw.Type != w.Type || pw.Rows != w.Rows || pw.Cols != w.Cols {
		return nil
	}
	return pw
}

// plainFor returns Upload's plain copy of a weight's bytes wb and true,
// or wb and false where it made none.
func (d *Device) plainFor(wb []byte) ([]byte, bool) {
	if len(wb) == 0 {
		return wb, false
	}
	d.mu.RLock()
	c := d.plain[&wb[0]]
	d.mu.RUnlock()
	if len(c) != len(wb) {
		return wb, false
	}
	return c, true
}

// OwnsCopy implements backends.OwnCopy: true for weights Upload repacked
// or copied.
func (d *Device) OwnsCopy(t backends.Tensor) bool {
	b, err := t.HostBytes()
	if err != nil {
		return false
	}
	_, copied := d.plainFor(b)
	return copied || d.packedFor(t, b) != nil
}

// NewStream implements backends.Device.
func (d *Device) NewStream() (backends.Stream, error) { return &Stream{dev: d}, nil }

// Close stops the worker pool.
func (d *Device) Close() error {
	d.pool.Close()
	d.mu.Lock()
	d.packed = map[*byte]*kernels.PackedWeights{}
	d.plain = map[*byte][]byte{}
	d.arena = kernels.NewArena() // the old one goes with the last weights that use it
	d.mu.Unlock()
	return nil
}

var _ backends.Device = (*Device)(nil)
