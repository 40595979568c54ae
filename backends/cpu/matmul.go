package cpu

import (
	"fmt"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/kernels"
	"github.com/nuri-ai/nuri/quant"
)

// MatMul implements backends.Stream with kernels.MatMul, which converts
// each activation row to quant.VecDotType(w.Type) exactly like ggml and
// reduces every output in a fixed order.
func (s *Stream) MatMul(dst, w, x backends.Tensor) {
	s.do(backends.OpMatMul, func() error {
		if !matmulType(w.Type) {
			return fmt.Errorf("%s: weight type %v: %w", w.Shape(), w.Type, backends.ErrUnsupportedOp)
		}
		if x.Cols != w.Cols || dst.Rows != x.Rows || dst.Cols != w.Rows {
			return fmt.Errorf("%s = %s · %sᵀ: %w", dst.Shape(), x.Shape(), w.Shape(), backends.ErrShape)
		}
		if _, err := w.Type.RowBytes(w.Cols); err != nil {
			return fmt.Errorf("%s: %v: %w", w.Shape(), err, backends.ErrShape)
		}
		wb, err := hostBytes(w)
		if err != nil {
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
		// MatMul panics on a bad shape (a programming error there); check
		// first so a bad tensor becomes an error here instead.
		if err := kernels.CheckMatMul(ys, wb, w.Type, w.Rows, w.Cols, xs, x.Rows); err != nil {
			return err
		}
		if pw := s.dev.packedFor(w, wb); pw != nil && !s.dev.pool.Generic() {
			kernels.MatMulPacked(s.dev.pool, ys, pw, xs, x.Rows)
			return nil
		}
		kernels.MatMul(s.dev.pool, ys, wb, w.Type, w.Rows, w.Cols, xs, x.Rows)
		return nil
	})
}

// GetRows implements backends.Stream: each selected row is dequantized
// (ggml's get_rows), so an embedding table never needs a float copy.
func (s *Stream) GetRows(dst, src backends.Tensor, ids []int32) {
	s.do(backends.OpGetRows, func() error {
		if !quant.Supported(src.Type) {
			return fmt.Errorf("%s: type %v: %w", src.Shape(), src.Type, backends.ErrUnsupportedOp)
		}
		if err := sameShape(len(ids), src.Cols, dst); err != nil {
			return err
		}
		sb, err := hostBytes(src)
		if err != nil {
			return err
		}
		ys, err := f32s(dst)
		if err != nil {
			return err
		}
		rb, err := src.RowBytes()
		if err != nil {
			return err
		}
		for i, id := range ids {
			if id < 0 || int(id) >= src.Rows {
				return fmt.Errorf("%s: row %d out of range: %w", src.Shape(), id, backends.ErrShape)
			}
			row := sb[int(id)*rb : (int(id)+1)*rb]
			if err := quant.Dequantize(src.Type, row, ys[i*src.Cols:(i+1)*src.Cols]); err != nil {
				return err
			}
		}
		return nil
	})
}
