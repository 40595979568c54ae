package cuda

import (
	"fmt"
	"unsafe"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/quant"
)

// Buffer is GPU memory.
type Buffer struct {
	dev   *Device
	ptr   uint64
	size  int
	freed bool
}

// Size implements backends.Buffer.
func (b *Buffer) Size() int { return b.size }

func unsafePtr(b []byte) unsafe.Pointer {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Pointer(&b[0])
}

// Alloc implements backends.Device: n zeroed bytes of GPU memory.
func (d *Device) Alloc(n int, _ backends.Usage) (backends.Buffer, error) {
	if n < 0 {
		return nil, fmt.Errorf("%s: alloc of %d bytes", d.name, n)
	}
	b := &Buffer{dev: d, size: n}
	err := d.do(func() error {
		if err := d.drv.check(fmt.Sprintf("cuMemAlloc(%d)", n), d.drv.cuMemAlloc(&b.ptr, uint64(max(n, 1)))); err != nil {
			return fmt.Errorf("%v: %w", err, backends.ErrOutOfMemory)
		}
		if err := d.drv.check("cuMemsetD8Async", d.drv.cuMemsetD8Async(b.ptr, 0, uint64(max(n, 1)), 0)); err != nil {
			return err
		}
		return d.drv.check("cuCtxSynchronize", d.drv.cuCtxSynchronize())
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.name, err)
	}
	return b, nil
}

// Free implements backends.BufferFreer.
func (d *Device) Free(buf backends.Buffer) error {
	b, ok := buf.(*Buffer)
	if !ok || b.dev != d {
		return fmt.Errorf("%s: free of a %T that is not this GPU's memory", d.name, buf)
	}
	if b.freed {
		return fmt.Errorf("%s: buffer freed twice", d.name)
	}
	b.freed = true
	return d.do(func() error {
		// Work queued on any stream may still use the buffer.
		if err := d.drv.check("cuCtxSynchronize", d.drv.cuCtxSynchronize()); err != nil {
			return err
		}
		return d.drv.check("cuMemFree", d.drv.cuMemFree(b.ptr))
	})
}

// Upload implements backends.Device: the weight is copied to GPU memory
// in the file's format (the kernels read the GGUF block layouts).
func (d *Device) Upload(name string, t quant.Type, rows, cols int, data []byte) (backends.Tensor, error) {
	tt := backends.Tensor{Name: name, Type: t, Rows: rows, Cols: cols}
	n, err := tt.NumBytes()
	if err != nil {
		return backends.Tensor{}, fmt.Errorf("%s: upload %s: %w", d.name, name, err)
	}
	if n != len(data) {
		return backends.Tensor{}, fmt.Errorf("%s: upload %s: %dx%d %v needs %d bytes, got %d: %w", d.name, name, rows, cols, t, n, len(data), backends.ErrShape)
	}
	buf, err := d.Alloc(n, backends.UsageWeights)
	if err != nil {
		return backends.Tensor{}, fmt.Errorf("upload %s: %w", name, err)
	}
	b := buf.(*Buffer)
	err = d.do(func() error {
		if n > 0 {
			if err := d.drv.check("cuMemcpyHtoD", d.drv.cuMemcpyHtoDAsync(b.ptr, unsafePtr(data), uint64(n), 0)); err != nil {
				return err
			}
		}
		return d.drv.check("cuStreamSynchronize", d.drv.cuStreamSynchronize(0))
	})
	if err != nil {
		return backends.Tensor{}, fmt.Errorf("%s: upload %s: %w", d.name, name, err)
	}
	tt.Buf = b
	return tt, nil
}

// ptr returns the device address of t's first byte after checking that t
// lies inside a live buffer of this device.
func (d *Device) ptr(t backends.Tensor) (uint64, error) {
	b, ok := t.Buf.(*Buffer)
	if !ok {
		return 0, fmt.Errorf("%s is in %T, not %s memory (wrap the device with backends.WithFallback for host operands): %w",
			t.Shape(), t.Buf, d.name, backends.ErrUnsupportedOp)
	}
	if b.dev != d {
		return 0, fmt.Errorf("%s is memory of %s, not %s: %w", t.Shape(), b.dev.name, d.name, backends.ErrUnsupportedOp)
	}
	if b.freed {
		return 0, fmt.Errorf("%s: use of freed memory", t.Shape())
	}
	n, err := t.NumBytes()
	if err != nil {
		return 0, err
	}
	if t.Off < 0 || t.Off+n > b.size {
		return 0, fmt.Errorf("%s: bytes [%d,%d) outside its %d-byte buffer: %w", t.Shape(), t.Off, t.Off+n, b.size, backends.ErrShape)
	}
	return b.ptr + uint64(t.Off), nil
}
