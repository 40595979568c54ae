package npu

import (
	"fmt"
	"math"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/quant"
)

// matmulInt8 computes dst[i][r] = Σ_k qw[r][k]·qx[i][k] · sw[r] · sx[i]
// with the activations quantized per row on the fly. The integer sum is
// exact (int32, bounded by maxInt8Cols); each output row depends only on
// its own activation row, so results do not depend on the batch.
func (s *Stream) matmulInt8(dst, w, x backends.Tensor) error {
	wb := w.Buf.(*weightBuf)
	if wb.freed {
		return fmt.Errorf("%s: use of a freed weight", w.Shape())
	}
	if w.Type != quant.I8 || w.Cols != wb.cols || w.Off%wb.cols != 0 || w.Off/wb.cols+w.Rows > wb.rows || w.Off < 0 {
		return fmt.Errorf("%s does not match its %dx%d int8 weight: %w", w.Shape(), wb.rows, wb.cols, backends.ErrShape)
	}
	if x.Cols != w.Cols || dst.Rows != x.Rows || dst.Cols != w.Rows {
		return fmt.Errorf("%s = %s · %sᵀ: %w", dst.Shape(), x.Shape(), w.Shape(), backends.ErrShape)
	}
	xv, xw, err := s.dev.hostView(x)
	if err != nil {
		return err
	}
	yv, yw, err := s.dev.hostView(dst)
	if err != nil {
		return err
	}
	xs, err := xv.HostF32s()
	if err != nil {
		return err
	}
	ys, err := yv.HostF32s()
	if err != nil {
		return err
	}
	n, k, rows, r0 := x.Rows, x.Cols, w.Rows, w.Off/wb.cols
	qx := make([]int8, n*k)
	sx := make([]float32, n)
	finite := make([]bool, n)
	for i := range n {
		sx[i], finite[i] = quantizeRow(xs[i*k:(i+1)*k], qx[i*k:(i+1)*k])
	}
	s.dev.pool.Run(rows, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			qw := wb.q[(r0+r)*k : (r0+r+1)*k]
			sw := wb.scales[r0+r]
			for i := range n {
				if !finite[i] {
					ys[i*rows+r] = float32(math.NaN())
					continue
				}
				ys[i*rows+r] = float32(dotInt8(qw, qx[i*k:(i+1)*k])) * sw * sx[i]
			}
		}
	})
	p := s.dev.prof.Buckets.Pad(n)
	c := cost{Cost: Cost{Int8Ops: 2 * float64(p) * float64(rows) * float64(k), DevBytes: float64(rows*k + 4*rows)}, tokens: n, padded: p}
	c.add(xw, float64(p*k*4))
	c.add(yw, float64(p*rows*4))
	s.charge(backends.OpMatMul, c)
	return nil
}

// dotInt8 is the exact int8 dot product (|result| < 2³¹ by maxInt8Cols).
func dotInt8(a, b []int8) int32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 int32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += int32(a[i]) * int32(b[i])
		s1 += int32(a[i+1]) * int32(b[i+1])
		s2 += int32(a[i+2]) * int32(b[i+2])
		s3 += int32(a[i+3]) * int32(b[i+3])
	}
	for ; i < len(a); i++ {
		s0 += int32(a[i]) * int32(b[i])
	}
	return s0 + s1 + s2 + s3
}

// getRowsInt8 looks rows up in an int8 weight (an embedding table),
// dequantized with the row's scale.
func (s *Stream) getRowsInt8(dst, src backends.Tensor, ids []int32) error {
	wb := src.Buf.(*weightBuf)
	if wb.freed {
		return fmt.Errorf("%s: use of a freed weight", src.Shape())
	}
	if src.Cols != wb.cols || src.Off != 0 || src.Rows != wb.rows {
		return fmt.Errorf("%s does not match its %dx%d int8 weight: %w", src.Shape(), wb.rows, wb.cols, backends.ErrShape)
	}
	if dst.Rows != len(ids) || dst.Cols != src.Cols {
		return fmt.Errorf("%s: want %dx%d: %w", dst.Shape(), len(ids), src.Cols, backends.ErrShape)
	}
	yv, yw, err := s.dev.hostView(dst)
	if err != nil {
		return err
	}
	ys, err := yv.HostF32s()
	if err != nil {
		return err
	}
	k := src.Cols
	for i, id := range ids {
		if id < 0 || int(id) >= src.Rows {
			return fmt.Errorf("%s: row %d out of range: %w", src.Shape(), id, backends.ErrShape)
		}
		q, sc := wb.q[int(id)*k:(int(id)+1)*k], wb.scales[id]
		y := ys[i*k : (i+1)*k]
		for j, v := range q {
			y[j] = float32(v) * sc
		}
	}
	p := s.dev.prof.Buckets.Pad(len(ids))
	c := cost{Cost: Cost{FloatOps: float64(p * k), DevBytes: float64(p * (k + 4))}, tokens: len(ids), padded: p}
	c.add(yw, float64(p*k*4))
	s.charge(backends.OpGetRows, c)
	return nil
}
