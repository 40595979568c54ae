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
// and a packed weight, kernels.MatMulPackedResidual (the matmul, then the
// add on the caller: adding each run of outputs on the thread that
// computed it measured slower in llama-1b decode, docs/performance.md
// round 65); otherwise the matmul, then the add. With batches the fused
// form measured 2.5-8 % slower at B = 16 in llama-1b decode (two
// alternating runs), so they keep the two steps.
func (s *Stream) MatMulResidual(x, tmp, w, in backends.Tensor) {
	s.doMatMulAs(in, []backends.Tensor{w}, suffixResidual, func() error {
		m, xs, err := s.residualArgs(x, tmp, w, in)
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
		sh, err := s.sharedOperands(dsts, ws, x)
		defer sh.release()
		if err != nil {
			return err
		}
		// Packed weights of one type and width go together (Q4_K_M's q/k/v
		// mix Q4_K and Q6_K: q and k share a call, v has its own); the
		// others run one by one.
		sh.groups(func(i int, ys [][]float32, pws []*kernels.PackedWeights) {
			if len(pws) > 1 {
				kernels.MatMulPackedShared(s.dev.pool, ys, pws, sh.ms[i].xs, x.Rows)
			} else {
				s.matmul(sh.ms[i], ws[i], x.Rows)
			}
		})
		return nil
	})
}

var _ backends.GroupedMatMuler = (*Stream)(nil)

// MatMulGrouped implements backends.GroupedMatMuler: the weights with
// packed copies of one type (or two K-quants) and column count go through
// one kernels.MatMulPackedGrouped call, which quantizes x's rows once and
// streams those matrices in one parallel job (the same bits as separate
// calls on each row); the rest run one by one.
func (s *Stream) MatMulGrouped(dsts, ws []backends.Tensor, x backends.Tensor, rows []int) {
	s.doMatMulAs(x, ws, suffixGrouped, func() error {
		if len(rows) != len(ws) {
			return fmt.Errorf("%d input rows for %d weights: %w", len(rows), len(ws), backends.ErrShape)
		}
		for i, r := range rows {
			if r < 0 || r >= x.Rows {
				return fmt.Errorf("weight %d takes row %d of %s: %w", i, r, x.Shape(), backends.ErrShape)
			}
		}
		sh, err := s.matmulOperandList(dsts, ws, func(i int) backends.Tensor { return rowOf(x, rows[i]) })
		defer sh.release()
		if err != nil {
			return err
		}
		xs, err := x.HostF32s()
		if err != nil {
			return err
		}
		sh.groups(func(i int, ys [][]float32, pws []*kernels.PackedWeights) {
			if len(pws) > 1 {
				sh.rows = sh.rows[:0]
				for _, j := range sh.members {
					sh.rows = append(sh.rows, rows[j])
				}
				kernels.MatMulPackedGrouped(s.dev.pool, ys, pws, xs, x.Rows, sh.rows)
			} else {
				s.matmul(sh.ms[i], ws[i], 1)
			}
		})
		return nil
	})
}

// rowOf is row r of an F32 tensor as a tensor of its own.
func rowOf(x backends.Tensor, r int) backends.Tensor {
	x.Off += r * x.Cols * 4
	x.Rows = 1
	return x
}

// The op profile's names of the fused forms.
const (
	suffixResidual = " + residual add"
	suffixNorm     = " after rms_norm"
	suffixSwiGLU   = " after silu_mul + residual add"
	suffixGrouped  = ", a row each"
)

var (
	_ backends.NormMatMuler   = (*Stream)(nil)
	_ backends.SwiGLUMatMuler = (*Stream)(nil)
)

// MatMulNormShared implements backends.NormMatMuler. The weights with
// packed copies go through kernels.MatMulPackedSharedNorm, one call per
// type and column count as in MatMulShared, which builds each span of the
// normalised rows as it quantizes them; h is written only for weights
// without one (the pure-Go kernels), which read it as MatMul does.
func (s *Stream) MatMulNormShared(dsts, ws []backends.Tensor, x, norm backends.Tensor, eps float32, h backends.Tensor) {
	s.doMatMulAs(x, ws, suffixNorm, func() error {
		sh, err := s.sharedOperands(dsts, ws, x)
		defer sh.release()
		if err != nil {
			return err
		}
		hs, xs, nw, err := rmsNormArgs(h, x, norm)
		if err != nil {
			return err
		}
		normed := false
		sh.groups(func(i int, ys [][]float32, pws []*kernels.PackedWeights) {
			if pws != nil {
				kernels.MatMulPackedSharedNorm(s.dev.pool, ys, pws, xs, x.Rows, nw, eps)
				return
			}
			if !normed {
				s.rmsNorm(hs, xs, nw, x.Cols, eps)
				normed = true
			}
			m := sh.ms[i]
			m.xs = hs
			s.matmul(m, ws[i], x.Rows)
		})
		return nil
	})
}

// MatMulResidualSwiGLU implements backends.SwiGLUMatMuler. With a packed
// weight the activation silu(gate)·up is built inside the matmul's
// quantizer (kernels.MatMulPackedResidualSwiGLU for one row, which then
// adds the outputs into x as MatMulResidual does; kernels.MatMulPackedSwiGLU
// and then the add for batches); otherwise SiLUMul into gate, the matmul
// and the add.
func (s *Stream) MatMulResidualSwiGLU(x, tmp, w, gate, up backends.Tensor) {
	s.doMatMulAs(gate, []backends.Tensor{w}, suffixSwiGLU, func() error {
		m, xs, err := s.residualArgs(x, tmp, w, gate)
		if err != nil {
			return err
		}
		if err := sameShape(gate.Rows, gate.Cols, up); err != nil {
			return err
		}
		us, err := up.HostF32s()
		if err != nil {
			return err
		}
		switch {
		case m.pw != nil && gate.Rows == 1:
			kernels.MatMulPackedResidualSwiGLU(s.dev.pool, xs, m.ys, m.pw, m.xs, us, 1)
			return nil
		case m.pw != nil:
			kernels.MatMulPackedSwiGLU(s.dev.pool, m.ys, m.pw, m.xs, us, gate.Rows)
		default:
			s.siluMul(m.xs, m.xs, us, gate.Rows, gate.Cols)
			s.matmul(m, w, gate.Rows)
		}
		s.dev.pool.VecOps().Add(xs, xs, m.ys)
		return nil
	})
}

// sharedOperands checks the operands of matmuls of x by ws into dsts and
// lists them in s.shared.ms; release the list after (also on an error).
func (s *Stream) sharedOperands(dsts, ws []backends.Tensor, x backends.Tensor) (*sharedArgs, error) {
	return s.matmulOperandList(dsts, ws, func(int) backends.Tensor { return x })
}

// matmulOperandList checks the operands of matmuls of in(i) by ws[i] into
// dsts[i] and lists them in s.shared.ms; release the list after (also on
// an error).
func (s *Stream) matmulOperandList(dsts, ws []backends.Tensor, in func(i int) backends.Tensor) (*sharedArgs, error) {
	sh := &s.shared
	sh.ms = sh.ms[:0]
	if len(dsts) != len(ws) {
		return sh, fmt.Errorf("%d outputs for %d weights: %w", len(dsts), len(ws), backends.ErrShape)
	}
	for i := range ws {
		m, err := s.matmulArgs(dsts[i], ws[i], in(i))
		if err != nil {
			return sh, err
		}
		sh.ms = append(sh.ms, m)
	}
	return sh, nil
}

// residualArgs checks the operands of a matmul into tmp whose result is
// added into x (tmp's shape) and returns the matmul's and x's views.
func (s *Stream) residualArgs(x, tmp, w, in backends.Tensor) (matmulOperands, []float32, error) {
	m, err := s.matmulArgs(tmp, w, in)
	if err != nil {
		return m, nil, err
	}
	if err := sameShape(tmp.Rows, tmp.Cols, x); err != nil {
		return m, nil, err
	}
	xs, err := x.HostF32s()
	return m, xs, err
}

// release drops the shared-matmul lists' references to the caller's
// memory.
func (sh *sharedArgs) release() {
	clear(sh.ms)
	clear(sh.ys[:cap(sh.ys)])
	clear(sh.pws[:cap(sh.pws)])
}

// groups calls f once for each set of sh.ms that can run together: the
// weights with packed copies of one column count and of one type, or of
// two K-quant types (kernels.SharesInput: a Q4_K_M layer's Q4_K q and k
// with its Q6_K v), with ys and pws their outputs and copies and i the
// first's index; and each other weight alone (pws nil).
func (sh *sharedArgs) groups(f func(i int, ys [][]float32, pws []*kernels.PackedWeights)) {
	sh.done = append(sh.done[:0], make([]bool, len(sh.ms))...)
	for i, m := range sh.ms {
		if sh.done[i] {
			continue
		}
		sh.members = append(sh.members[:0], i)
		if m.pw == nil {
			f(i, nil, nil)
			continue
		}
		sh.ys, sh.pws = append(sh.ys[:0], m.ys), append(sh.pws[:0], m.pw)
		second := m.pw.Type
		for j := i + 1; j < len(sh.ms); j++ {
			o := sh.ms[j]
			if sh.done[j] || o.pw == nil || o.pw.Cols != m.pw.Cols {
				continue
			}
			next, ok := kernels.JoinsShared(m.pw.Type, second, o.pw.Type)
			if !ok {
				continue
			}
			second = next
			sh.done[j] = true
			sh.ys, sh.pws = append(sh.ys, o.ys), append(sh.pws, o.pw)
			sh.members = append(sh.members, j)
		}
		f(i, sh.ys, sh.pws)
	}
}

// matmulKey identifies a matmul's weights (up to three) and row count
// for the op profile's name cache.
type matmulKey struct {
	bufs   [3]backends.Buffer
	offs   [3]int
	n      int
	rows   int
	suffix string
}

// matmulName is the op profile's name of a matmul of x by ws, with the
// suffix of a fused form, cached per stream.
func (s *Stream) matmulName(x backends.Tensor, ws []backends.Tensor, suffix string) string {
	k := matmulKey{n: len(ws), rows: x.Rows, suffix: suffix}
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
	if m.wb, err = w.HostBytes(); err != nil {
		return m, err
	}
	if m.xs, err = x.HostF32s(); err != nil {
		return m, err
	}
	if m.ys, err = dst.HostF32s(); err != nil {
		return m, err
	}
	// The kernels panic on a bad shape (a programming error there); check
	// first so a bad tensor becomes an error here instead.
	if err := kernels.CheckMatMul(m.ys, m.wb, w.Type, w.Rows, w.Cols, m.xs, x.Rows); err != nil {
		return m, err
	}
	if pw := s.dev.packedFor(w, m.wb); pw != nil && s.dev.pool.Packs(w.Type) {
		m.pw = pw
		return m, nil
	}
	// Upload packs a weight or copies it, never both.
	m.wb, _ = s.dev.plainFor(m.wb)
	return m, nil
}

// GetRows implements backends.Stream: each selected row is dequantized
// (ggml's get_rows), so an embedding table never needs a float copy. A
// table that is also a repacked or copied matmul weight (tied embeddings)
// is read from that copy: its file pages were given back at load, and each
// looked-up row would otherwise fault one in again.
func (s *Stream) GetRows(dst, src backends.Tensor, ids []int32) {
	s.do(backends.OpGetRows, func() error {
		if !quant.CanDequantize(src.Type) {
			return fmt.Errorf("%s: type %v: %w", src.Shape(), src.Type, backends.ErrUnsupportedOp)
		}
		if err := sameShape(len(ids), src.Cols, dst); err != nil {
			return err
		}
		sb, err := src.HostBytes()
		if err != nil {
			return err
		}
		ys, err := dst.HostF32s()
		if err != nil {
			return err
		}
		pw := s.dev.packedFor(src, sb)
		sb, copied := s.dev.plainFor(sb)
		if src.Type == quant.F32 && pw == nil && !copied {
			// Activations (a mixture of experts' gathers): plain copies.
			// (An F32 weight with a packed or plain copy reads that copy
			// below: its file pages may be gone.)
			xs, err := src.HostF32s()
			if err != nil {
				return err
			}
			for i, id := range ids {
				if id < 0 || int(id) >= src.Rows {
					return fmt.Errorf("%s: row %d out of range: %w", src.Shape(), id, backends.ErrShape)
				}
				copy(ys[i*src.Cols:(i+1)*src.Cols], xs[int(id)*src.Cols:(int(id)+1)*src.Cols])
			}
			return nil
		}
		rb, err := src.RowBytes()
		if err != nil {
			return err
		}
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
