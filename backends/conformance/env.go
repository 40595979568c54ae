package conformance

import (
	"errors"
	"fmt"
	"math"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/quant"
)

// guardFloats is the size of each guard region, in float32 words.
const guardFloats = 64

// sentinelBits fills guard regions (and outputs before an op): a finite,
// unlikely value, compared bit for bit.
const sentinelBits = 0xF1F2F3F4

var sentinel = math.Float32frombits(sentinelBits)

// side is one device of a comparison with its stream and the buffers a
// case allocated on it.
type side struct {
	dev    backends.Device
	s      backends.Stream
	allocs []backends.Buffer
	outs   []out // placed tensors whose guards are checked after a case
}

func newSide(dev backends.Device) (*side, error) {
	s, err := dev.NewStream()
	if err != nil {
		return nil, fmt.Errorf("%s: new stream: %w", dev.Name(), err)
	}
	return &side{dev: dev, s: s}, nil
}

// release frees the case's buffers where the device wants that.
func (sd *side) release() {
	if f, ok := backends.As[backends.BufferFreer](sd.dev); ok {
		for _, b := range sd.allocs {
			_ = f.Free(b) // freeing test buffers cannot affect the verdict
		}
	}
	sd.allocs = sd.allocs[:0]
	sd.outs = sd.outs[:0]
}

// out is an output tensor between two guard regions.
type out struct {
	t         backends.Tensor
	pre, post backends.Tensor // F32 guard views
}

// alloc places a rows×cols tensor of type t between guards, all filled
// with the sentinel (the guards always; the tensor itself when F32, so
// that an output the op forgets to write shows up).
func (sd *side) alloc(name string, t quant.Type, rows, cols int, u backends.Usage) (out, error) {
	tt := backends.Tensor{Name: name, Type: t, Rows: rows, Cols: cols}
	n, err := tt.NumBytes()
	if err != nil {
		return out{}, err
	}
	g := 4 * guardFloats
	body := (n + 3) &^ 3
	buf, err := sd.dev.Alloc(g+body+g, u)
	if err != nil {
		return out{}, fmt.Errorf("alloc %s: %w", name, err)
	}
	sd.allocs = append(sd.allocs, buf)
	tt.Buf, tt.Off = buf, g
	o := out{t: tt,
		pre:  backends.Tensor{Name: name + ".guard_pre", Buf: buf, Off: 0, Type: quant.F32, Rows: 1, Cols: guardFloats},
		post: backends.Tensor{Name: name + ".guard_post", Buf: buf, Off: g + body, Type: quant.F32, Rows: 1, Cols: guardFloats}}
	fill := make([]float32, guardFloats)
	for i := range fill {
		fill[i] = sentinel
	}
	if err := sd.write(o.pre, fill); err != nil {
		return out{}, err
	}
	if err := sd.write(o.post, fill); err != nil {
		return out{}, err
	}
	if t == quant.F32 {
		body := make([]float32, rows*cols)
		for i := range body {
			body[i] = sentinel
		}
		if err := sd.write(tt, body); err != nil {
			return out{}, err
		}
	}
	return o, nil
}

// input places F32 values on the device (between guards, like an output,
// so in-place ops are checked too).
func (sd *side) input(name string, rows, cols int, vals []float32) (out, error) {
	o, err := sd.alloc(name, quant.F32, rows, cols, backends.UsageScratch)
	if err != nil {
		return out{}, err
	}
	if err := sd.write(o.t, vals); err != nil {
		return out{}, err
	}
	return o, nil
}

// write fills an F32 tensor: through the stream's Writer, or directly in
// host (or host-mapped) memory.
func (sd *side) write(t backends.Tensor, vals []float32) error {
	if w, ok := sd.s.(backends.Writer); ok {
		w.Write(t, vals)
		if err := sd.s.Sync(); err != nil {
			return fmt.Errorf("write %s: %w", t.Name, err)
		}
		return nil
	}
	h := t
	if _, ok := t.Buf.(*backends.HostBuffer); !ok {
		hm, ok := backends.As[backends.HostMapped](sd.dev)
		if !ok {
			return fmt.Errorf("%s: cannot write test inputs (implement backends.Writer): %w", sd.dev.Name(), backends.ErrUnsupportedOp)
		}
		if h, ok = hm.HostView(t); !ok {
			return fmt.Errorf("%s: %s not writable from the host: %w", sd.dev.Name(), t.Shape(), backends.ErrUnsupportedOp)
		}
	}
	b := h.Buf.(*backends.HostBuffer).Bytes()
	if h.Off < 0 || h.Off+4*len(vals) > len(b) || len(vals) != t.Rows*t.Cols {
		return fmt.Errorf("write %s: %d values: %w", t.Shape(), len(vals), backends.ErrShape)
	}
	for i, v := range vals {
		u := math.Float32bits(v)
		o := h.Off + 4*i
		b[o], b[o+1], b[o+2], b[o+3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
	}
	return nil
}

// read returns an F32 tensor's values.
func (sd *side) read(t backends.Tensor) ([]float32, error) {
	v := make([]float32, t.Rows*t.Cols)
	sd.s.Read(v, t)
	if err := sd.s.Sync(); err != nil {
		return nil, fmt.Errorf("read %s: %w", t.Name, err)
	}
	return v, nil
}

// checkGuards fails when anything wrote into o's guard regions.
func (sd *side) checkGuards(o out) error {
	for _, g := range []backends.Tensor{o.pre, o.post} {
		v, err := sd.read(g)
		if err != nil {
			return err
		}
		for i, x := range v {
			if math.Float32bits(x) != sentinelBits {
				return fmt.Errorf("write outside %s: %s word %d is %g", o.t.Shape(), g.Name, i, x)
			}
		}
	}
	return nil
}

// upload uploads a weight.
func (sd *side) upload(name string, t quant.Type, rows, cols int, data []byte) (backends.Tensor, error) {
	w, err := sd.dev.Upload(name, t, rows, cols, data)
	if err != nil {
		return backends.Tensor{}, fmt.Errorf("upload %s: %w", name, err)
	}
	sd.allocs = append(sd.allocs, w.Buf)
	return w, nil
}

// sync returns the stream's first error.
func (sd *side) sync(what string) error {
	if err := sd.s.Sync(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// errUnsupported marks a clean refusal of an op the device does not
// support.
var errUnsupported = errors.New("refused")

// refusal classifies the error of an op the device said it does not
// support: a refusal wrapping ErrUnsupportedOp is the expected outcome.
func refusal(err error) error {
	if errors.Is(err, backends.ErrUnsupportedOp) {
		return fmt.Errorf("%w: %v", errUnsupported, err)
	}
	return fmt.Errorf("not supported, and failed without backends.ErrUnsupportedOp: %w", err)
}
