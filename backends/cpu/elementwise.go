package cpu

import (
	"fmt"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/kernels"
)

// rowOp is the pool task of the row-wise ops (RMSNorm, Add, SiLU·mul and
// RoPE over several positions), kept in the stream and filled per call: a
// closure handed to the pool would be a new object on every call, and a
// decode step allocates nothing (TestDecodeStepAllocs). Each row is
// computed by one worker in a fixed order, so the split never changes a
// result.
type rowOp struct {
	kind    rowKind
	y, a, b []float32 // the output and the operands (a: x, gate; b: w, up)
	n       int       // values per row
	bRows   int       // Add: rows of b (1: broadcast)
	bias    []float32 // LayerNorm: the bias row (nil: none)
	eps     float32
	vec     kernels.VecOps
	// RoPE: the table, positions, heads per position, rotated dims, NEOX.
	rope  ropeTable
	pos   []int32
	nHead int
	nDims int
	neox  bool
}

type rowKind uint8

const (
	rowRMSNorm rowKind = iota
	rowAdd
	rowSiLUMul
	rowGELUMul
	rowGELU
	rowRoPE
	rowLayerNorm
)

// Run computes rows lo..hi-1.
func (o *rowOp) Run(lo, hi int) {
	n := o.n
	switch o.kind {
	case rowRMSNorm:
		for r := lo; r < hi; r++ {
			row := o.a[r*n : (r+1)*n]
			o.vec.ScaleMul(o.y[r*n:(r+1)*n], row, o.b, o.vec.RMSNormScale(row, o.eps))
		}
	case rowAdd:
		for r := lo; r < hi; r++ {
			br := o.b
			if o.bRows != 1 {
				br = o.b[r*n : (r+1)*n]
			}
			o.vec.Add(o.y[r*n:(r+1)*n], o.a[r*n:(r+1)*n], br)
		}
	case rowSiLUMul:
		o.vec.SiLUMul(o.y[lo*n:hi*n], o.a[lo*n:hi*n], o.b[lo*n:hi*n])
	case rowGELUMul: // units of n elements, the last one short
		end := min(hi*n, len(o.y))
		o.vec.GELUMul(o.y[lo*n:end], o.a[lo*n:end], o.b[lo*n:end])
	case rowGELU:
		end := min(hi*n, len(o.y))
		o.vec.GELU(o.y[lo*n:end], o.a[lo*n:end])
	case rowLayerNorm:
		for r := lo; r < hi; r++ {
			layerNormRow(o.vec, o.y[r*n:(r+1)*n], o.a[r*n:(r+1)*n], o.b, o.bias, o.eps)
		}
	case rowRoPE:
		// Row t is position t's nHead head rows; the cos/sin table of a
		// position is built on the worker's stack.
		var buf [512]float32
		cs := buf[:]
		if o.nDims > len(buf) {
			cs = make([]float32, o.nDims)
		}
		cs = cs[:o.nDims]
		for t := lo; t < hi; t++ {
			o.rope.fill(cs, o.pos[t])
			for h := range o.nHead {
				r := (t*o.nHead + h) * n
				o.vec.RoPE(o.y[r:r+n], cs, o.neox)
			}
		}
	}
}

// runRows runs s.rowOp over rows [0, n): on the caller alone for a handful
// of rows (cheaper than waking workers), else on the pool. It drops the
// op's references to the operands afterwards.
func (s *Stream) runRows(n int) {
	if n < 64 {
		s.rowOp.Run(0, n)
	} else {
		s.dev.pool.RunTask(n, &s.rowOp)
	}
	s.rowOp = rowOp{}
}

// RMSNorm implements backends.Stream like ggml_rms_norm followed by
// ggml_mul: the squares (float32) are summed in float64 (in sixteen lanes,
// which gives ggml's one chain's sum but for roundings far below float32:
// kernels.VecOps.SumSquares), the mean rounded to float32,
// y = x * (1/sqrtf(mean+eps)), then y *= w.
func (s *Stream) RMSNorm(dst, x, w backends.Tensor, eps float32) {
	s.do(backends.OpRMSNorm, func() error {
		ys, xs, ws, err := rmsNormArgs(dst, x, w)
		if err != nil {
			return err
		}
		s.rmsNorm(ys, xs, ws, x.Cols, eps)
		return nil
	})
}

// rmsNormArgs checks an RMSNorm's operands (dst of x's shape, w one row
// of x's width) and returns their views.
func rmsNormArgs(dst, x, w backends.Tensor) (ys, xs, ws []float32, err error) {
	if err := sameShape(x.Rows, x.Cols, dst); err != nil {
		return nil, nil, nil, err
	}
	if err := sameShape(1, x.Cols, w); err != nil {
		return nil, nil, nil, err
	}
	if xs, err = x.HostF32s(); err != nil {
		return nil, nil, nil, err
	}
	if ys, err = dst.HostF32s(); err != nil {
		return nil, nil, nil, err
	}
	if ws, err = w.HostF32s(); err != nil {
		return nil, nil, nil, err
	}
	return ys, xs, ws, nil
}

// rmsNorm normalises the rows (n wide) of x into y, a row per worker.
func (s *Stream) rmsNorm(y, x, w []float32, n int, eps float32) {
	s.rowOp = rowOp{kind: rowRMSNorm, y: y, a: x, b: w, n: n, eps: eps, vec: s.dev.pool.VecOps()}
	s.runRows(len(x) / n)
}

// Add implements backends.Stream; b is broadcast when it has one row.
func (s *Stream) Add(dst, a, b backends.Tensor) {
	s.do(backends.OpAdd, func() error {
		if err := sameShape(a.Rows, a.Cols, dst); err != nil {
			return err
		}
		if b.Cols != a.Cols || (b.Rows != a.Rows && b.Rows != 1) {
			return fmt.Errorf("%s + %s: %w", a.Shape(), b.Shape(), backends.ErrShape)
		}
		as, err := a.HostF32s()
		if err != nil {
			return err
		}
		bs, err := b.HostF32s()
		if err != nil {
			return err
		}
		ys, err := dst.HostF32s()
		if err != nil {
			return err
		}
		s.rowOp = rowOp{kind: rowAdd, y: ys, a: as, b: bs, n: a.Cols, bRows: b.Rows, vec: s.dev.pool.VecOps()}
		s.runRows(a.Rows)
		return nil
	})
}

// Scale implements backends.Stream.
func (s *Stream) Scale(dst, x backends.Tensor, f float32) {
	s.do(backends.OpScale, func() error {
		return scaleRows(dst, x, func(int) float32 { return f })
	})
}

// ScaleRows implements backends.RowScaler.
func (s *Stream) ScaleRows(dst, x backends.Tensor, scales []float32) {
	s.do(backends.OpScale, func() error {
		if len(scales) != x.Rows {
			return fmt.Errorf("%d row scales for %d rows: %w", len(scales), x.Rows, backends.ErrShape)
		}
		return scaleRows(dst, x, func(r int) float32 { return scales[r] })
	})
}

// unaryArgs checks a row-wise op's operands (dst of x's shape, F32) and
// returns their values.
func unaryArgs(dst, x backends.Tensor) (ys, xs []float32, err error) {
	if err = sameShape(x.Rows, x.Cols, dst); err != nil {
		return
	}
	if xs, err = x.HostF32s(); err != nil {
		return
	}
	ys, err = dst.HostF32s()
	return
}

// scaleRows sets each row of dst to x's times factor(row).
func scaleRows(dst, x backends.Tensor, factor func(row int) float32) error {
	ys, xs, err := unaryArgs(dst, x)
	if err != nil {
		return err
	}
	for r := range x.Rows {
		f := factor(r)
		out := ys[r*x.Cols : (r+1)*x.Cols]
		for i, v := range xs[r*x.Cols : (r+1)*x.Cols] {
			out[i] = v * f
		}
	}
	return nil
}

var _ backends.RowScaler = (*Stream)(nil)

// GELUMul implements backends.GELUMuler (ggml's geglu, through the same
// fp16 table as ggml's CPU backend: kernels.VecOps.GELUMul).
func (s *Stream) GELUMul(dst, gate, up backends.Tensor) {
	s.do(backends.OpGELUMul, func() error {
		ys, gs, us, err := gatedArgs(dst, gate, up)
		if err != nil {
			return err
		}
		total := gate.Rows * gate.Cols
		s.runUnits(rowOp{kind: rowGELUMul, y: ys[:total], a: gs[:total], b: us[:total], n: geluUnit, vec: s.dev.pool.VecOps()}, total)
		return nil
	})
}

// runUnits runs an elementwise op over total values in units of op.n:
// split by elements, not rows, so a decode step's one row (6912 wide in
// gemma-3-1b's FFN) takes 24 µs on one thread.
func (s *Stream) runUnits(op rowOp, total int) {
	units := (total + op.n - 1) / op.n
	s.rowOp = op
	if units < 4 {
		s.rowOp.Run(0, units)
	} else {
		s.dev.pool.RunTask(units, &s.rowOp)
	}
	s.rowOp = rowOp{}
}

// GELU implements backends.GELUer (ggml's gelu through the same table as
// GELUMul).
func (s *Stream) GELU(dst, x backends.Tensor) {
	s.do(backends.OpGELU, func() error {
		ys, xs, err := unaryArgs(dst, x)
		if err != nil {
			return err
		}
		total := x.Rows * x.Cols
		s.runUnits(rowOp{kind: rowGELU, y: ys[:total], a: xs[:total], n: geluUnit, vec: s.dev.pool.VecOps()}, total)
		return nil
	})
}

var _ backends.GELUer = (*Stream)(nil)

// LayerNorm implements backends.LayerNormer (ggml_norm, then the weight
// and the bias as ggml_mul and ggml_add).
func (s *Stream) LayerNorm(dst, x, w, b backends.Tensor, eps float32) {
	s.do(backends.OpLayerNorm, func() error {
		ys, xs, ws, err := rmsNormArgs(dst, x, w)
		if err != nil {
			return err
		}
		var bs []float32
		if b.Valid() {
			if err := sameShape(1, x.Cols, b); err != nil {
				return err
			}
			if bs, err = b.HostF32s(); err != nil {
				return err
			}
		}
		s.rowOp = rowOp{kind: rowLayerNorm, y: ys, a: xs, b: ws, bias: bs, n: x.Cols, eps: eps, vec: s.dev.pool.VecOps()}
		s.runRows(x.Rows)
		return nil
	})
}

var _ backends.LayerNormer = (*Stream)(nil)

// layerNormRow is one row of LayerNorm through the vector loops: the mean
// summed in float64 (SumF64) and rounded to float32, y = x − mean, the
// variance as RMSNorm's mean square of y (float64 sum, rounded; the scale
// 1/√(var+eps) in float32), then y·scale·w (ScaleMul) and + b. The sums run
// in float64 lanes, so they differ from ggml's by float64 roundings only.
// y may be x.
func layerNormRow(vec kernels.VecOps, y, x, w, b []float32, eps float32) {
	mean := float32(vec.SumF64(x) / float64(len(x)))
	copy(y, x)
	vec.SubScalar(y, mean)
	vec.ScaleMul(y, y, w, vec.RMSNormScale(y, eps))
	if b != nil {
		vec.Add(y, y, b)
	}
}

var _ backends.GELUMuler = (*Stream)(nil)

// gatedArgs checks a gated activation's operands (gate, up and dst of one
// shape, F32) and returns their values.
func gatedArgs(dst, gate, up backends.Tensor) (ys, gs, us []float32, err error) {
	if err = sameShape(gate.Rows, gate.Cols, up, dst); err != nil {
		return
	}
	if gs, err = gate.HostF32s(); err != nil {
		return
	}
	if us, err = up.HostF32s(); err != nil {
		return
	}
	ys, err = dst.HostF32s()
	return
}

// geluUnit is GELUMul's unit of work in elements.
const geluUnit = 1024

// SiLUMul implements backends.Stream (ggml's swiglu: silu(gate)·up, with
// silu(z) = z/(1+e^-z) in float32, e^-z from the vector exponential of
// kernels.VecOps, within 1 ulp of exp as ggml's SIMD silu is).
func (s *Stream) SiLUMul(dst, gate, up backends.Tensor) {
	s.do(backends.OpSiLUMul, func() error {
		ys, gs, us, err := gatedArgs(dst, gate, up)
		if err != nil {
			return err
		}
		s.siluMul(ys, gs, us, gate.Rows, gate.Cols)
		return nil
	})
}

// siluMul sets y = silu(g)·u over rows×n values, in runs of rows per
// worker.
func (s *Stream) siluMul(y, g, u []float32, rows, n int) {
	s.rowOp = rowOp{kind: rowSiLUMul, y: y, a: g, b: u, n: n, vec: s.dev.pool.VecOps()}
	s.runRows(rows)
}
