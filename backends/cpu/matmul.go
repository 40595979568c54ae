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
	s.doMatMul(x, []backends.Tensor{w}, func() error {
		m, err := s.matmulArgs(dst, w, x)
		if err != nil {
			return err
		}
		s.matmul(m, w, x.Rows)
		return nil
	})
}

var _ backends.ResidualMatMuler = (*Stream)(nil)

// MatMulResidual implements backends.ResidualMatMuler: for one input row
// and a packed weight, the outputs are added into x by the thread that
// computed them (kernels.MatMulPackedResidual); otherwise the matmul, then
// the add. With batches the fused form measured 2.5-8 % slower at B = 16
// in llama-1b decode (two alternating runs), so they keep the two steps.
func (s *Stream) MatMulResidual(x, tmp, w, in backends.Tensor) {
	s.doMatMulAs(in, []backends.Tensor{w}, true, func() error {
		m, err := s.matmulArgs(tmp, w, in)
		if err != nil {
			return err
		}
		if err := sameShape(tmp.Rows, tmp.Cols, x); err != nil {
			return err
		}
		xs, err := f32s(x)
		if err != nil {
			return err
		}
		if m.pw != nil && in.Rows == 1 {
			kernels.MatMulPackedResidual(s.dev.pool, xs, m.ys, m.pw, m.xs, in.Rows)
			return nil
		}
		s.matmul(m, w, in.Rows)
		s.dev.pool.VecOps().Add(xs, xs, m.ys)
		return nil
	})
}

// MatMulShared implements backends.SharedMatMuler: the weights with packed
// copies of one type and column count go through one
// kernels.MatMulPackedShared call, which quantizes x once and streams
// those matrices in one parallel job (the same bits as separate calls);
// the rest run one by one.
func (s *Stream) MatMulShared(dsts, ws []backends.Tensor, x backends.Tensor) {
	s.doMatMul(x, ws, func() error {
		if len(dsts) != len(ws) {
			return fmt.Errorf("%d outputs for %d weights: %w", len(dsts), len(ws), backends.ErrShape)
		}
		sh := &s.shared
		defer func() { // drop references to the caller's memory
			clear(sh.ms)
			clear(sh.ys[:cap(sh.ys)])
			clear(sh.pws[:cap(sh.pws)])
		}()
		sh.ms, sh.ys, sh.pws = sh.ms[:0], sh.ys[:0], sh.pws[:0]
		for i := range ws {
			m, err := s.matmulArgs(dsts[i], ws[i], x)
			if err != nil {
				return err
			}
			sh.ms = append(sh.ms, m)
		}
		// Packed weights of one type and width go together (Q4_K_M's q/k/v
		// mix Q4_K and Q6_K: q and k share a call, v has its own); the
		// others run one by one.
		sh.done = append(sh.done[:0], make([]bool, len(sh.ms))...)
		for i, m := range sh.ms {
			if sh.done[i] {
				continue
			}
			sh.ys, sh.pws = append(sh.ys[:0], m.ys), append(sh.pws[:0], m.pw)
			for j := i + 1; m.pw != nil && j < len(sh.ms); j++ {
				if o := sh.ms[j]; !sh.done[j] && o.pw != nil && o.pw.Type == m.pw.Type && o.pw.Cols == m.pw.Cols {
					sh.done[j] = true
					sh.ys, sh.pws = append(sh.ys, o.ys), append(sh.pws, o.pw)
				}
			}
			if len(sh.pws) > 1 {
				kernels.MatMulPackedShared(s.dev.pool, sh.ys, sh.pws, m.xs, x.Rows)
			} else {
				s.matmul(m, ws[i], x.Rows)
			}
		}
		return nil
	})
}

// matmulKey identifies a matmul's weights (up to three) and row count
// for the op profile's name cache.
type matmulKey struct {
	bufs     [3]backends.Buffer
	offs     [3]int
	n        int
	rows     int
	residual bool
}

// matmulName is the op profile's name of a matmul of x by ws (with
// " + residual add" for MatMulResidual), cached per stream.
func (s *Stream) matmulName(x backends.Tensor, ws []backends.Tensor, residual bool) string {
	suffix := ""
	if residual {
		suffix = " + residual add"
	}
	k := matmulKey{n: len(ws), rows: x.Rows, residual: residual}
	if len(ws) > len(k.bufs) {
		return backends.MatMulName(x, ws) + suffix
	}
	for i, w := range ws {
		k.bufs[i], k.offs[i] = w.Buf, w.Off
	}
	name, ok := s.names[k]
	if !ok {
		name = backends.MatMulName(x, ws) + suffix
		if s.names == nil {
			s.names = map[matmulKey]string{}
		}
		s.names[k] = name
	}
	return name
}

// matmulOperands are one MatMul's checked host views: the packed copy of
// the weight when Upload made one and the fast kernels are on, else its
// plain bytes.
type matmulOperands struct {
	wb     []byte
	xs, ys []float32
	pw     *kernels.PackedWeights
}

// matmul runs one checked matmul of nx rows: the packed kernels when the
// weight has a packed copy, else kernels.MatMul on its bytes.
func (s *Stream) matmul(m matmulOperands, w backends.Tensor, nx int) {
	if m.pw != nil {
		kernels.MatMulPacked(s.dev.pool, m.ys, m.pw, m.xs, nx)
		return
	}
	kernels.MatMul(s.dev.pool, m.ys, m.wb, w.Type, w.Rows, w.Cols, m.xs, nx)
}

func (s *Stream) matmulArgs(dst, w, x backends.Tensor) (matmulOperands, error) {
	var m matmulOperands
	if !matmulType(w.Type) {
		return m, fmt.Errorf("%s: weight type %v: %w", w.Shape(), w.Type, backends.ErrUnsupportedOp)
	}
	if x.Cols != w.Cols || dst.Rows != x.Rows || dst.Cols != w.Rows {
		return m, fmt.Errorf("%s = %s · %sᵀ: %w", dst.Shape(), x.Shape(), w.Shape(), backends.ErrShape)
	}
	if _, err := w.Type.RowBytes(w.Cols); err != nil {
		return m, fmt.Errorf("%s: %v: %w", w.Shape(), err, backends.ErrShape)
	}
	var err error
	if m.wb, err = hostBytes(w); err != nil {
		return m, err
	}
	if m.xs, err = f32s(x); err != nil {
		return m, err
	}
	if m.ys, err = f32s(dst); err != nil {
		return m, err
	}
	// The kernels panic on a bad shape (a programming error there); check
	// first so a bad tensor becomes an error here instead.
	if err := kernels.CheckMatMul(m.ys, m.wb, w.Type, w.Rows, w.Cols, m.xs, x.Rows); err != nil {
		return m, err
	}
	if pw := s.dev.packedFor(w, m.wb); pw != nil && !s.dev.pool.Generic() {
		m.pw = pw
	}
	return m, nil
}

// GetRows implements backends.Stream: each selected row is dequantized
// (ggml's get_rows), so an embedding table never needs a float copy. A
// table that is also a repacked matmul weight (tied embeddings) is read
// from the packed copy: its file pages were given back at load, and each
// looked-up row would otherwise fault one in again.
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
		pw := s.dev.packedFor(src, sb)
		if pw != nil {
			s.row = grow(s.row, rb)
		}
		for i, id := range ids {
			if id < 0 || int(id) >= src.Rows {
				return fmt.Errorf("%s: row %d out of range: %w", src.Shape(), id, backends.ErrShape)
			}
			row := sb[int(id)*rb : (int(id)+1)*rb]
			if pw != nil {
				if err := pw.Row(int(id), s.row); err != nil {
					return err
				}
				row = s.row
			}
			if err := quant.Dequantize(src.Type, row, ys[i*src.Cols:(i+1)*src.Cols]); err != nil {
				return err
			}
		}
		return nil
	})
}
