package conformance

import (
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/quant"
)

// testCase is one shape (or a few related shapes) of one op and type.
type testCase struct {
	op   backends.Op
	typ  quant.Type
	name string
	run  func(e *env) (Metric, error)
	// needs, when set, says whether the device's stream has what the case
	// checks (an optional fused form); a stream without it is not asked.
	needs func(s backends.Stream) bool
	// needsDevice is the same for a capability of the device.
	needsDevice func(d backends.Device) bool
}

// env is what a case runs in: the two sides, the limit for its op and
// type, and a random source seeded by the case's name (so every run and
// every device sees the same inputs).
type env struct {
	ref, dev *side
	lim      Limit
	rng      *rand.Rand
}

func newRand(name string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(name))
	s := h.Sum64()
	return rand.New(rand.NewPCG(s, s^0x9e3779b97f4a7c15))
}

// opError is a failure of the device under test while running an op (as
// opposed to a wrong result).
type opError struct{ err error }

func (e opError) Error() string { return e.err.Error() }
func (e opError) Unwrap() error { return e.err }

// twin is a tensor on both sides: [0] reference, [1] device.
type twin [2]out

func (tw twin) on(i int) backends.Tensor { return tw[i].t }

// in places the same F32 values on both sides.
func (e *env) in(name string, rows, cols int, vals []float32) (twin, error) {
	var tw twin
	var err error
	if tw[0], err = e.ref.input(name, rows, cols, vals); err != nil {
		return tw, fmt.Errorf("reference: %w", err)
	}
	if tw[1], err = e.dev.input(name, rows, cols, vals); err != nil {
		return tw, opError{err}
	}
	e.dev.track(tw[1])
	return tw, nil
}

// outT allocates an output of type t on both sides.
func (e *env) outT(name string, t quant.Type, rows, cols int, u backends.Usage) (twin, error) {
	var tw twin
	var err error
	if tw[0], err = e.ref.alloc(name, t, rows, cols, u); err != nil {
		return tw, fmt.Errorf("reference: %w", err)
	}
	if tw[1], err = e.dev.alloc(name, t, rows, cols, u); err != nil {
		return tw, opError{err}
	}
	e.dev.track(tw[1])
	return tw, nil
}

func (e *env) out(name string, rows, cols int) (twin, error) {
	return e.outT(name, quant.F32, rows, cols, backends.UsageScratch)
}

// weight uploads the same weight to both sides.
func (e *env) weight(name string, t quant.Type, rows, cols int, data []byte) ([2]backends.Tensor, error) {
	var w [2]backends.Tensor
	var err error
	if w[0], err = e.ref.upload(name, t, rows, cols, data); err != nil {
		return w, fmt.Errorf("reference: %w", err)
	}
	if w[1], err = e.dev.upload(name, t, rows, cols, data); err != nil {
		return w, opError{err}
	}
	return w, nil
}

// op runs f on the reference, then on the device; a device error is an
// opError.
func (e *env) op(what string, f func(s backends.Stream, i int)) error {
	f(e.ref.s, 0)
	if err := e.ref.sync(what); err != nil {
		return fmt.Errorf("reference: %w", err)
	}
	f(e.dev.s, 1)
	if err := e.dev.sync(what); err != nil {
		return opError{err}
	}
	return nil
}

// check compares an F32 output of both sides.
func (e *env) check(tw twin) (Metric, error) { return e.checkNorm(tw, nil) }

// checkNorm compares with per-element error scales (see compare).
func (e *env) checkNorm(tw twin, norm []float64) (Metric, error) {
	r, err := e.ref.read(tw[0].t)
	if err != nil {
		return Metric{}, fmt.Errorf("reference: %w", err)
	}
	g, err := e.dev.read(tw[1].t)
	if err != nil {
		return Metric{}, opError{err}
	}
	m, err := compare(r, g, e.lim, norm)
	if err != nil {
		return m, fmt.Errorf("%s: %w", tw[1].t.Shape(), err)
	}
	return m, nil
}

// track remembers a device tensor whose guards are checked after the case.
func (sd *side) track(o out) { sd.outs = append(sd.outs, o) }

// checkAllGuards checks the guards of every tensor the case placed.
func (sd *side) checkAllGuards() error {
	for _, o := range sd.outs {
		if err := sd.checkGuards(o); err != nil {
			return err
		}
	}
	return nil
}

// randRows returns rows×cols Gaussian values, each row scaled by a factor
// in [0.25, 4) so that per-row (per-channel) scales differ.
func randRows(rng *rand.Rand, rows, cols int) []float32 {
	v := make([]float32, rows*cols)
	for r := 0; r < rows; r++ {
		f := math.Exp2(rng.Float64()*4 - 2)
		for c := 0; c < cols; c++ {
			v[r*cols+c] = float32(rng.NormFloat64() * f)
		}
	}
	return v
}

// quantize converts values to type t.
func quantize(t quant.Type, rows, cols int, v []float32) ([]byte, error) {
	rb, err := t.RowBytes(cols)
	if err != nil {
		return nil, err
	}
	b := make([]byte, rows*rb)
	if err := quant.Quantize(t, v, b); err != nil {
		return nil, fmt.Errorf("quantize %v: %w", t, err)
	}
	return b, nil
}

// runCase runs one case and classifies the outcome: supported cases must
// pass; unsupported ones must be refused with backends.ErrUnsupportedOp
// (or, if the device runs them anyway, be right).
func runCase(ref, dev *side, lims Limits, c testCase) (m Metric, refused bool, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%s: panic: %v", c.name, p)
		}
		ref.release()
		dev.release()
		// Clear sticky errors so the next case starts clean.
		_ = ref.s.Sync()
		_ = dev.s.Sync()
	}()
	e := &env{ref: ref, dev: dev, lim: lims(c.op, c.typ), rng: newRand(c.name)}
	dev.outs = dev.outs[:0]
	m, err = c.run(e)
	if err == nil {
		err = dev.checkAllGuards()
	}
	supported := dev.dev.Supports(c.op, c.typ)
	var oe opError
	switch {
	case err == nil:
		return m, !supported, nil
	case !supported && errors.As(err, &oe):
		if rerr := refusal(oe.err); errors.Is(rerr, errUnsupported) {
			return m, true, nil
		} else {
			return m, true, fmt.Errorf("%s: %w", c.name, rerr)
		}
	}
	return m, !supported, fmt.Errorf("%s: %w", c.name, err)
}
