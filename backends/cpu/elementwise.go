package cpu

import (
	"fmt"

	"github.com/nuri-ai/nuri/backends"
)

// rows runs f over rows [0, n) on the pool. Each row is computed by one
// worker in a fixed order, so the split never changes a result.
func (s *Stream) rows(n int, f func(lo, hi int)) {
	if n < 64 {
		f(0, n) // a handful of rows is cheaper than waking workers
		return
	}
	s.dev.pool.Run(n, f)
}

// RMSNorm implements backends.Stream like ggml_rms_norm followed by
// ggml_mul: the squares (float32) are summed in float64 (in sixteen lanes,
// which gives ggml's one chain's sum but for roundings far below float32:
// kernels.VecOps.SumSquares), the mean rounded to float32,
// y = x * (1/sqrtf(mean+eps)), then y *= w.
func (s *Stream) RMSNorm(dst, x, w backends.Tensor, eps float32) {
	s.do(backends.OpRMSNorm, func() error {
		if err := sameShape(x.Rows, x.Cols, dst); err != nil {
			return err
		}
		if err := sameShape(1, x.Cols, w); err != nil {
			return err
		}
		xs, err := f32s(x)
		if err != nil {
			return err
		}
		ys, err := f32s(dst)
		if err != nil {
			return err
		}
		ws, err := f32s(w)
		if err != nil {
			return err
		}
		s.rmsNorm(ys, xs, ws, x.Cols, eps)
		return nil
	})
}

// rmsNorm normalises the rows (n wide) of x into y, a row per worker.
func (s *Stream) rmsNorm(y, x, w []float32, n int, eps float32) {
	vec := s.dev.pool.VecOps()
	s.rows(len(x)/n, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			row := x[r*n : (r+1)*n]
			vec.ScaleMul(y[r*n:(r+1)*n], row, w, vec.RMSNormScale(row, eps))
		}
	})
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
		as, err := f32s(a)
		if err != nil {
			return err
		}
		bs, err := f32s(b)
		if err != nil {
			return err
		}
		ys, err := f32s(dst)
		if err != nil {
			return err
		}
		n := a.Cols
		vec := s.dev.pool.VecOps()
		s.rows(a.Rows, func(lo, hi int) {
			for r := lo; r < hi; r++ {
				br := bs
				if b.Rows != 1 {
					br = bs[r*n : (r+1)*n]
				}
				vec.Add(ys[r*n:(r+1)*n], as[r*n:(r+1)*n], br)
			}
		})
		return nil
	})
}

// Scale implements backends.Stream.
func (s *Stream) Scale(dst, x backends.Tensor, f float32) {
	s.do(backends.OpScale, func() error {
		if err := sameShape(x.Rows, x.Cols, dst); err != nil {
			return err
		}
		xs, err := f32s(x)
		if err != nil {
			return err
		}
		ys, err := f32s(dst)
		if err != nil {
			return err
		}
		for i, v := range xs {
			ys[i] = v * f
		}
		return nil
	})
}

// SiLUMul implements backends.Stream (ggml's swiglu: silu(gate)·up, with
// silu(z) = z/(1+e^-z) in float32, e^-z from the vector exponential of
// kernels.VecOps, within 1 ulp of exp as ggml's SIMD silu is).
func (s *Stream) SiLUMul(dst, gate, up backends.Tensor) {
	s.do(backends.OpSiLUMul, func() error {
		if err := sameShape(gate.Rows, gate.Cols, up, dst); err != nil {
			return err
		}
		gs, err := f32s(gate)
		if err != nil {
			return err
		}
		us, err := f32s(up)
		if err != nil {
			return err
		}
		ys, err := f32s(dst)
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
	vec := s.dev.pool.VecOps()
	s.rows(rows, func(lo, hi int) {
		vec.SiLUMul(y[lo*n:hi*n], g[lo*n:hi*n], u[lo*n:hi*n])
	})
}
