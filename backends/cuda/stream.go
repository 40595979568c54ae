package cuda

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"time"
	"unsafe"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/quant"
)

// Stream queues ops on one CUDA stream. Launch errors are kept (later ops
// skipped) until Sync, which also waits for the GPU and reports errors of
// the kernels themselves. Not safe for concurrent use.
type Stream struct {
	dev     *Device
	h       uintptr
	err     error
	scratch map[string]*Buffer // grow-only work buffers, reused in stream order
	// uploaded is what upload32 last copied into each scratch buffer: a
	// decode step passes the same positions, slots and attention rows to
	// every layer, so most uploads can be skipped.
	uploaded map[string][]int32
	// geluTab is the device copy of kernels.GELUTable (0: not yet).
	geluTab uint64
}

var (
	_ backends.Stream       = (*Stream)(nil)
	_ backends.Writer       = (*Stream)(nil)
	_ backends.HostTransfer = (*Stream)(nil)
)

// NewStream implements backends.Device. The stream synchronises with the
// legacy default stream, which Alloc and Upload use.
func (d *Device) NewStream() (backends.Stream, error) {
	s := &Stream{dev: d, scratch: map[string]*Buffer{}, uploaded: map[string][]int32{}}
	if err := d.do(func() error { return d.drv.check("cuStreamCreate", d.drv.cuStreamCreate(&s.h, 0)) }); err != nil {
		return nil, fmt.Errorf("%s: %w", d.name, err)
	}
	return s, nil
}

// do runs an op unless an earlier one failed.
func (s *Stream) do(op backends.Op, f func() error) { s.doNamed(op, nil, nil, f) }

// doNamed is do with the op profile's name for the op (nil: op's own) and
// the weights it reads (a matmul's; nil for the other ops).
// While the device profiles ops, each op waits for the queued work before
// it starts the clock and for its own kernels before it stops it: the
// time is the op's launch and execution plus one synchronisation (a few
// µs), and the stream runs one op at a time.
func (s *Stream) doNamed(op backends.Op, name func() string, ws []backends.Tensor, f func() error) {
	if s.err != nil {
		return
	}
	run := f
	var el time.Duration
	prof := s.dev.prof.On()
	if prof {
		run = func() error {
			if err := s.sync(); err != nil {
				return err
			}
			t0 := time.Now()
			if err := f(); err != nil {
				return err
			}
			err := s.sync()
			el = time.Since(t0)
			return err
		}
	}
	if err := s.dev.do(run); err != nil {
		s.err = fmt.Errorf("%s %v: %w", s.dev.name, op, err)
		return
	}
	if prof {
		n := op.String()
		if name != nil {
			n = name()
		}
		s.dev.prof.AddRead(n, el, backends.WeightBytes(ws))
	}
}

// sync waits for the stream's work; the device's context must be current.
func (s *Stream) sync() error {
	return s.dev.drv.check("cuStreamSynchronize", s.dev.drv.cuStreamSynchronize(s.h))
}

// arg is a kernel argument: a device pointer, an int32 or a float32.
type arg any

// launch queues kernel name on the stream. Each argument is stored in an
// 8-byte slot; the driver reads as many bytes as the parameter's size from
// the slot's start (little-endian), so int32 and float32 fit.
func (s *Stream) launch(name string, grid, block [3]uint32, shmem uint32, args ...arg) error {
	fn, ok := s.dev.fns[name]
	if !ok {
		return fmt.Errorf("kernel %s not loaded", name)
	}
	for _, g := range grid {
		if g == 0 {
			return nil // nothing to do
		}
	}
	vals, err := packArgs(args)
	if err != nil {
		return fmt.Errorf("kernel %s: %w", name, err)
	}
	ptrs := make([]unsafe.Pointer, len(vals))
	for i := range vals {
		ptrs[i] = unsafe.Pointer(&vals[i])
	}
	var pp unsafe.Pointer
	if len(ptrs) > 0 {
		pp = unsafe.Pointer(&ptrs[0])
	}
	r := s.dev.drv.cuLaunchKernel(fn, grid[0], grid[1], grid[2], block[0], block[1], block[2], shmem, s.h, pp, nil)
	runtime.KeepAlive(vals)
	runtime.KeepAlive(ptrs)
	return s.dev.drv.check("launch "+name, r)
}

// packArgs stores each kernel argument in an 8-byte slot: device pointers
// whole, int32 and float32 in the low four bytes (what the driver reads for
// a 4-byte parameter on a little-endian machine).
func packArgs(args []arg) ([]uint64, error) {
	vals := make([]uint64, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case uint64:
			vals[i] = v
		case int:
			if v < math.MinInt32 || v > math.MaxInt32 {
				return nil, fmt.Errorf("argument %d = %d overflows int32", i, v)
			}
			vals[i] = uint64(uint32(int32(v)))
		case int32:
			vals[i] = uint64(uint32(v))
		case float32:
			vals[i] = uint64(math.Float32bits(v))
		default:
			return nil, fmt.Errorf("argument %d of type %T", i, a)
		}
	}
	return vals, nil
}

// grid1 is a 1-D grid with one thread per unit of n (grid.x may reach
// 2³¹−1 on every architecture NVRTC targets; the element-wise kernels also
// loop grid-stride).
func grid1(n, threads int) [3]uint32 {
	b := (n + threads - 1) / threads
	return [3]uint32{uint32(min(max(b, 0), 1<<31-1)), 1, 1}
}

// maxGridY is the limit of grid.y and grid.z.
const maxGridY = 65535

func threads(n int) [3]uint32 { return [3]uint32{uint32(n), 1, 1} }

// work returns a scratch buffer of at least n bytes, growing it (after
// the stream drains, since queued kernels may still read the old one).
func (s *Stream) work(name string, n int) (*Buffer, error) {
	if b := s.scratch[name]; b != nil && b.size >= n {
		return b, nil
	}
	if old := s.scratch[name]; old != nil {
		if err := s.dev.drv.check("cuStreamSynchronize", s.dev.drv.cuStreamSynchronize(s.h)); err != nil {
			return nil, err
		}
		if err := s.dev.drv.check("cuMemFree", s.dev.drv.cuMemFree(old.ptr)); err != nil {
			return nil, err
		}
		delete(s.scratch, name)
		delete(s.uploaded, name)
	}
	b := &Buffer{dev: s.dev, size: max(n, 256)}
	if err := s.dev.drv.check(fmt.Sprintf("cuMemAlloc(%d)", n), s.dev.drv.cuMemAlloc(&b.ptr, uint64(b.size))); err != nil {
		return nil, fmt.Errorf("%v: %w", err, backends.ErrOutOfMemory)
	}
	s.scratch[name] = b
	return b, nil
}

// upload32 copies host int32s to scratch name in stream order, unless the
// buffer already holds them (only upload32 writes these buffers, so what
// it copied last is what the stream's next kernels read). The host slice
// may be reused on return: copies from pageable memory are staged before
// cuMemcpyHtoDAsync returns.
func (s *Stream) upload32(name string, v []int32) (uint64, error) {
	b, err := s.work(name, 4*len(v))
	if err != nil {
		return 0, err
	}
	last, ok := s.uploaded[name]
	if ok && slices.Equal(last, v) {
		return b.ptr, nil
	}
	delete(s.uploaded, name) // unknown until the copy is queued
	if len(v) > 0 {
		if err := s.dev.drv.check("cuMemcpyHtoDAsync", s.dev.drv.cuMemcpyHtoDAsync(b.ptr, unsafe.Pointer(&v[0]), uint64(4*len(v)), s.h)); err != nil {
			return 0, err
		}
	}
	s.uploaded[name] = append(last[:0], v...)
	return b.ptr, nil
}

// Sync implements backends.Stream.
func (s *Stream) Sync() error {
	err := s.err
	s.err = nil
	if serr := s.dev.do(func() error {
		return s.dev.drv.check("cuStreamSynchronize", s.dev.drv.cuStreamSynchronize(s.h))
	}); err == nil && serr != nil {
		err = fmt.Errorf("%s: %w", s.dev.name, serr)
	}
	return err
}

// copyOut copies t's bytes to dst and waits.
func (s *Stream) copyOut(dst unsafe.Pointer, n int, t backends.Tensor) error {
	return s.dev.do(func() error {
		p, err := s.dev.ptr(t)
		if err != nil {
			return err
		}
		if n > 0 {
			if err := s.dev.drv.check("cuMemcpyDtoHAsync", s.dev.drv.cuMemcpyDtoHAsync(dst, p, uint64(n), s.h)); err != nil {
				return err
			}
		}
		return s.dev.drv.check("cuStreamSynchronize", s.dev.drv.cuStreamSynchronize(s.h))
	})
}

// copyIn copies n bytes from src into t and waits (so src may be reused).
func (s *Stream) copyIn(t backends.Tensor, src unsafe.Pointer, n int) error {
	return s.dev.do(func() error {
		p, err := s.dev.ptr(t)
		if err != nil {
			return err
		}
		if n > 0 {
			if err := s.dev.drv.check("cuMemcpyHtoDAsync", s.dev.drv.cuMemcpyHtoDAsync(p, src, uint64(n), s.h)); err != nil {
				return err
			}
		}
		return s.dev.drv.check("cuStreamSynchronize", s.dev.drv.cuStreamSynchronize(s.h))
	})
}

// Read implements backends.Stream.
func (s *Stream) Read(dst []float32, src backends.Tensor) {
	if s.err != nil {
		return
	}
	if s.dev.prof.On() {
		defer func(t0 time.Time) { s.dev.prof.Add("read", time.Since(t0)) }(time.Now())
	}
	n := src.Rows * src.Cols
	var err error
	switch {
	case src.Type != quant.F32:
		err = fmt.Errorf("%s: want F32: %w", src.Shape(), backends.ErrUnsupportedOp)
	case len(dst) < n:
		err = fmt.Errorf("%s: destination holds %d values, need %d: %w", src.Shape(), len(dst), n, backends.ErrShape)
	case n > 0:
		err = s.copyOut(unsafe.Pointer(&dst[0]), 4*n, src)
	}
	if err != nil {
		s.err = fmt.Errorf("%s read: %w", s.dev.name, err)
	}
}

// Write implements backends.Writer.
func (s *Stream) Write(dst backends.Tensor, src []float32) {
	if s.err != nil {
		return
	}
	n := dst.Rows * dst.Cols
	var err error
	switch {
	case dst.Type != quant.F32:
		err = fmt.Errorf("%s: want F32: %w", dst.Shape(), backends.ErrUnsupportedOp)
	case len(src) != n:
		err = fmt.Errorf("%s: %d values for %d elements: %w", dst.Shape(), len(src), n, backends.ErrShape)
	case n > 0:
		err = s.copyIn(dst, unsafe.Pointer(&src[0]), 4*n)
	}
	if err != nil {
		s.err = fmt.Errorf("%s write: %w", s.dev.name, err)
	}
}

// CopyToHost implements backends.HostTransfer.
func (s *Stream) CopyToHost(dst []byte, src backends.Tensor) error {
	if err := s.Sync(); err != nil {
		return err
	}
	n, err := src.NumBytes()
	if err != nil {
		return err
	}
	if len(dst) != n {
		return fmt.Errorf("%s: %d-byte destination for %d bytes: %w", src.Shape(), len(dst), n, backends.ErrShape)
	}
	return s.copyOut(unsafePtr(dst), n, src)
}

// CopyFromHost implements backends.HostTransfer.
func (s *Stream) CopyFromHost(dst backends.Tensor, src []byte) error {
	if err := s.Sync(); err != nil {
		return err
	}
	n, err := dst.NumBytes()
	if err != nil {
		return err
	}
	if len(src) != n {
		return fmt.Errorf("%s: %d bytes for %d: %w", dst.Shape(), len(src), n, backends.ErrShape)
	}
	return s.copyIn(dst, unsafePtr(src), n)
}
