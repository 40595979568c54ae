package npu

import (
	"fmt"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/quant"
)

// Buffer is device memory holding float data (activations, KV, float
// vectors). The simulator keeps it in host RAM, but ops only accept
// buffers of their own device (or host buffers, charged at the host link).
type Buffer struct {
	dev   *Device
	mem   *backends.HostBuffer
	usage backends.Usage
	freed bool
}

// Size implements backends.Buffer.
func (b *Buffer) Size() int { return b.mem.Size() }

// weightBuf is an uploaded weight matrix in the chip's format: int8
// values, row-major, and one float32 scale per row (output channel).
type weightBuf struct {
	dev        *Device
	q          []int8
	scales     []float32
	rows, cols int
	from       quant.Type
	freed      bool
}

// Size implements backends.Buffer: the bytes the weight occupies.
func (w *weightBuf) Size() int { return len(w.q) + 4*len(w.scales) }

var usageNames = [...]string{"weights", "KV", "scratch"}

func usageName(u backends.Usage) string {
	if u >= 0 && int(u) < len(usageNames) {
		return usageNames[u]
	}
	return fmt.Sprintf("usage(%d)", int(u))
}

// reserve claims n bytes of device memory for u, or fails with a message
// that says what holds the memory.
func (d *Device) reserve(n uint64, u backends.Usage, what string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if u < 0 || int(u) >= len(d.used) {
		return fmt.Errorf("%s: allocation usage %d", d.name, int(u))
	}
	var used uint64
	for _, v := range d.used {
		used += v
	}
	if n > d.capacity-used {
		return fmt.Errorf("%s (%s): cannot allocate %s for %s: %s of %s in use (weights %s, KV %s, scratch %s), %s free: %w",
			d.name, d.prof.Class, gib(n), what, gib(used), gib(d.capacity),
			gib(d.used[backends.UsageWeights]), gib(d.used[backends.UsageKV]), gib(d.used[backends.UsageScratch]),
			gib(d.capacity-used), backends.ErrOutOfMemory)
	}
	d.used[u] += n
	return nil
}

func (d *Device) release(n uint64, u backends.Usage) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.used[u] -= min(n, d.used[u])
}

// Alloc implements backends.Device: n zeroed bytes of device memory.
func (d *Device) Alloc(n int, u backends.Usage) (backends.Buffer, error) {
	if n < 0 {
		return nil, fmt.Errorf("%s: alloc of %d bytes", d.name, n)
	}
	if err := d.reserve(uint64(n), u, usageName(u)); err != nil {
		return nil, err
	}
	return &Buffer{dev: d, mem: backends.NewHostBuffer(n), usage: u}, nil
}

// Free implements backends.BufferFreer: the memory returns to the device.
// Freeing twice, or a buffer of another device, is an error.
func (d *Device) Free(b backends.Buffer) error {
	switch b := b.(type) {
	case *Buffer:
		if b.dev != d {
			return fmt.Errorf("%s: free of a buffer of %s", d.name, b.dev.name)
		}
		if b.freed {
			return fmt.Errorf("%s: buffer freed twice", d.name)
		}
		b.freed = true
		d.release(uint64(b.Size()), b.usage)
		b.mem = backends.NewHostBuffer(0)
		return nil
	case *weightBuf:
		if b.dev != d {
			return fmt.Errorf("%s: free of a weight of %s", d.name, b.dev.name)
		}
		if b.freed {
			return fmt.Errorf("%s: weight freed twice", d.name)
		}
		b.freed = true
		d.release(uint64(b.Size()), backends.UsageWeights)
		b.q, b.scales = nil, nil
		return nil
	}
	return fmt.Errorf("%s: free of a %T, not NPU memory", d.name, b)
}

// MemoryUsed returns the bytes in use for each usage.
func (d *Device) MemoryUsed() (weights, kv, scratch uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.used[backends.UsageWeights], d.used[backends.UsageKV], d.used[backends.UsageScratch]
}

// Memory implements backends.Device.
func (d *Device) Memory() (free, total uint64) {
	w, k, s := d.MemoryUsed()
	return d.capacity - min(d.capacity, w+k+s), d.capacity
}

// where says which memory a float tensor lives in.
type where int

const (
	inDevice where = iota
	inHost
)

// hostView returns a float tensor as a host tensor the CPU arithmetic can
// use (the same bytes), and where it lives.
func (d *Device) hostView(t backends.Tensor) (backends.Tensor, where, error) {
	switch b := t.Buf.(type) {
	case *Buffer:
		if b.dev != d {
			return backends.Tensor{}, 0, fmt.Errorf("%s is memory of %s, not %s: %w", t.Shape(), b.dev.name, d.name, backends.ErrUnsupportedOp)
		}
		if b.freed {
			return backends.Tensor{}, 0, fmt.Errorf("%s: use of freed memory", t.Shape())
		}
		v := t
		v.Buf = b.mem
		return v, inDevice, nil
	case *backends.HostBuffer:
		return t, inHost, nil
	case *weightBuf:
		return backends.Tensor{}, 0, fmt.Errorf("%s is an int8 weight; the op needs float data: %w", t.Shape(), backends.ErrUnsupportedOp)
	case nil:
		return backends.Tensor{}, 0, fmt.Errorf("tensor %s has no buffer: %w", t.Name, backends.ErrShape)
	}
	return backends.Tensor{}, 0, fmt.Errorf("%s: buffer %T is not NPU or host memory: %w", t.Shape(), t.Buf, backends.ErrUnsupportedOp)
}

// HostView implements backends.HostMapped: float memory is host RAM in the
// simulator; int8 weights are not in any format the CPU reads.
func (d *Device) HostView(t backends.Tensor) (backends.Tensor, bool) {
	v, _, err := d.hostView(t)
	return v, err == nil
}
