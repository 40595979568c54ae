package cuda

import (
	"fmt"
	"slices"
	"strings"
	"unsafe"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/kernels"
	"github.com/nuri-ai/nuri/quant"
)

// kname is the kernel suffix of a type ("q4_k").
func kname(t quant.Type) string { return strings.ToLower(t.String()) }

// ptrs resolves several tensors' device addresses.
func (s *Stream) ptrs(ts ...backends.Tensor) ([]uint64, error) {
	out := make([]uint64, len(ts))
	for i, t := range ts {
		p, err := s.dev.ptr(t)
		if err != nil {
			return nil, err
		}
		out[i] = p
	}
	return out, nil
}

func sameShape(rows, cols int, ts ...backends.Tensor) error {
	for _, t := range ts {
		if t.Rows != rows || t.Cols != cols || t.Type != quant.F32 {
			return fmt.Errorf("%s: want F32 %dx%d: %w", t.Shape(), rows, cols, backends.ErrShape)
		}
	}
	return nil
}

// MatMul implements backends.Stream: activations are converted to the
// weight type's vec-dot type on the GPU (the CPU's quantizers, ported),
// then the type's kernel multiplies.
func (s *Stream) MatMul(dst, w, x backends.Tensor) {
	s.MatMulShared([]backends.Tensor{dst}, []backends.Tensor{w}, x)
}

var _ backends.SharedMatMuler = (*Stream)(nil)

// MatMulShared implements backends.SharedMatMuler: x is converted once per
// vec-dot type among the weights (a layer's q, k and v, or gate and up,
// usually share one), then each weight's kernel runs; every output is
// what MatMul gives, bit for bit.
func (s *Stream) MatMulShared(dsts, ws []backends.Tensor, x backends.Tensor) {
	s.doNamed(backends.OpMatMul, func() string { return backends.MatMulName(x, ws) }, ws, func() error {
		if len(dsts) != len(ws) {
			return fmt.Errorf("%d outputs for %d weights: %w", len(dsts), len(ws), backends.ErrShape)
		}
		if x.Type != quant.F32 {
			return fmt.Errorf("input %s: want F32: %w", x.Shape(), backends.ErrShape)
		}
		if (x.Rows+mmNX-1)/mmNX > maxGridY {
			return fmt.Errorf("%d activation rows in one matmul (at most %d): %w", x.Rows, mmNX*maxGridY, backends.ErrShape)
		}
		for i, w := range ws {
			if !matmulType(w.Type) {
				return fmt.Errorf("%s: weight type %v: %w", w.Shape(), w.Type, backends.ErrUnsupportedOp)
			}
			if d := dsts[i]; x.Cols != w.Cols || d.Rows != x.Rows || d.Cols != w.Rows || d.Type != quant.F32 {
				return fmt.Errorf("%s = %s · %sᵀ: %w", d.Shape(), x.Shape(), w.Shape(), backends.ErrShape)
			}
		}
		xp, err := s.dev.ptr(x)
		if err != nil {
			return err
		}
		for i := range ws {
			// Convert x once per vec-dot type (at its first weight), then run
			// every weight that reads that conversion: in stream order the
			// scratch is overwritten only by the next conversion, queued
			// after these.
			at := quant.VecDotType(ws[i].Type)
			if slices.ContainsFunc(ws[:i], func(w backends.Tensor) bool { return quant.VecDotType(w.Type) == at }) {
				continue
			}
			aRow, err := at.RowBytes(x.Cols)
			if err != nil {
				return fmt.Errorf("%v: %w", err, backends.ErrShape)
			}
			a, err := s.activations(at, xp, x.Rows, x.Cols, aRow)
			if err != nil {
				return err
			}
			for j := i; j < len(ws); j++ {
				if quant.VecDotType(ws[j].Type) != at {
					continue
				}
				if err := s.mulMat(dsts[j], ws[j], x.Rows, a, aRow); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// The matmul kernels' tile (MM_ROWS and MM_NX in kernels/20_matmul.cu):
// a block of mmRows warps, one weight row each, against mmNX activation
// rows.
const (
	mmRows = 4
	mmNX   = 4
)

// mulMat launches w's kernel on nx rows of converted activations at a.
func (s *Stream) mulMat(dst, w backends.Tensor, nx int, a uint64, aRow int) error {
	wRow, err := w.RowBytes()
	if err != nil {
		return fmt.Errorf("%v: %w", err, backends.ErrShape)
	}
	p, err := s.ptrs(dst, w)
	if err != nil {
		return err
	}
	nb := w.Cols / w.Type.BlockSize()
	grid := [3]uint32{uint32((w.Rows + mmRows - 1) / mmRows), uint32((nx + mmNX - 1) / mmNX), 1}
	return s.launch("nuri_mul_mat_"+kname(w.Type), grid, threads(mmRows*32), 0, p[1], a, p[0], w.Rows, nb, nx, wRow, aRow)
}

// activations converts n rows of F32 x to type t in scratch and returns
// its address (x itself for F32).
func (s *Stream) activations(t quant.Type, x uint64, n, cols, rowBytes int) (uint64, error) {
	if t == quant.F32 {
		return x, nil
	}
	buf, err := s.work("act", n*rowBytes)
	if err != nil {
		return 0, err
	}
	switch t {
	case quant.Q8_0, quant.Q8_1, quant.Q8_K:
		nb := n * cols / t.BlockSize()
		lanes := nb * 32 // one warp per block
		return buf.ptr, s.launch("nuri_quantize_"+kname(t), grid1(lanes, 256), threads(256), 0, x, buf.ptr, nb)
	case quant.F16, quant.BF16:
		return buf.ptr, s.launch("nuri_convert_"+kname(t), grid1(n*cols, 256), threads(256), 0, x, buf.ptr, n*cols)
	}
	return 0, fmt.Errorf("activation type %v: %w", t, backends.ErrUnsupportedOp)
}

// GetRows implements backends.Stream.
func (s *Stream) GetRows(dst, src backends.Tensor, ids []int32) {
	s.do(backends.OpGetRows, func() error {
		if !matmulType(src.Type) {
			return fmt.Errorf("%s: type %v: %w", src.Shape(), src.Type, backends.ErrUnsupportedOp)
		}
		if err := sameShape(len(ids), src.Cols, dst); err != nil {
			return err
		}
		for _, id := range ids {
			if id < 0 || int(id) >= src.Rows {
				return fmt.Errorf("%s: row %d out of range: %w", src.Shape(), id, backends.ErrShape)
			}
		}
		rb, err := src.RowBytes()
		if err != nil {
			return err
		}
		p, err := s.ptrs(dst, src)
		if err != nil {
			return err
		}
		dp, err := s.upload32("ids", ids)
		if err != nil {
			return err
		}
		nb := src.Cols / src.Type.BlockSize()
		if (nb+127)/128 > maxGridY {
			return fmt.Errorf("%s: rows too wide: %w", src.Shape(), backends.ErrShape)
		}
		grid := [3]uint32{uint32(len(ids)), uint32((nb + 127) / 128), 1}
		return s.launch("nuri_get_rows_"+kname(src.Type), grid, threads(128), 0, p[1], dp, p[0], nb, rb)
	})
}

// normArgs checks a norm's operands (dst of x's shape, w one row of x's
// width) and returns the device pointers of x, w and dst.
func (s *Stream) normArgs(dst, x, w backends.Tensor) ([]uint64, error) {
	if err := sameShape(x.Rows, x.Cols, x, dst); err != nil {
		return nil, err
	}
	if err := sameShape(1, x.Cols, w); err != nil {
		return nil, err
	}
	return s.ptrs(x, w, dst)
}

// gatedArgs checks a gated activation's operands (gate, up and dst of one
// shape) and returns their device pointers.
func (s *Stream) gatedArgs(dst, gate, up backends.Tensor) ([]uint64, error) {
	if err := sameShape(gate.Rows, gate.Cols, gate, up, dst); err != nil {
		return nil, err
	}
	return s.ptrs(gate, up, dst)
}

// RMSNorm implements backends.Stream.
func (s *Stream) RMSNorm(dst, x, w backends.Tensor, eps float32) {
	s.do(backends.OpRMSNorm, func() error {
		p, err := s.normArgs(dst, x, w)
		if err != nil {
			return err
		}
		return s.launch("nuri_rms_norm", [3]uint32{uint32(x.Rows), 1, 1}, threads(256), 0, p[0], p[1], p[2], x.Cols, eps)
	})
}

// Add implements backends.Stream.
func (s *Stream) Add(dst, a, b backends.Tensor) {
	s.do(backends.OpAdd, func() error {
		if err := sameShape(a.Rows, a.Cols, a, dst); err != nil {
			return err
		}
		if b.Cols != a.Cols || (b.Rows != a.Rows && b.Rows != 1) || b.Type != quant.F32 {
			return fmt.Errorf("%s + %s: %w", a.Shape(), b.Shape(), backends.ErrShape)
		}
		p, err := s.ptrs(a, b, dst)
		if err != nil {
			return err
		}
		n := a.Rows * a.Cols
		return s.launch("nuri_add", grid1(n, 256), threads(256), 0, p[0], p[1], p[2], n, a.Cols, b.Rows)
	})
}

// Scale implements backends.Stream.
func (s *Stream) Scale(dst, x backends.Tensor, f float32) {
	s.do(backends.OpScale, func() error {
		if err := sameShape(x.Rows, x.Cols, x, dst); err != nil {
			return err
		}
		p, err := s.ptrs(x, dst)
		if err != nil {
			return err
		}
		n := x.Rows * x.Cols
		return s.launch("nuri_scale", grid1(n, 256), threads(256), 0, p[0], p[1], n, f)
	})
}

// ScaleRows implements backends.RowScaler: the scales go up with the
// call, as GetRows's ids do.
func (s *Stream) ScaleRows(dst, x backends.Tensor, scales []float32) {
	s.do(backends.OpScale, func() error {
		if err := sameShape(x.Rows, x.Cols, x, dst); err != nil {
			return err
		}
		if len(scales) != x.Rows {
			return fmt.Errorf("%d row scales for %s: %w", len(scales), x.Shape(), backends.ErrShape)
		}
		p, err := s.ptrs(x, dst)
		if err != nil {
			return err
		}
		bits := unsafe.Slice((*int32)(unsafe.Pointer(unsafe.SliceData(scales))), len(scales))
		sp, err := s.upload32("row_scales", bits)
		if err != nil {
			return err
		}
		n := x.Rows * x.Cols
		return s.launch("nuri_scale_rows", grid1(n, 256), threads(256), 0, p[0], p[1], sp, x.Cols, n)
	})
}

var _ backends.RowScaler = (*Stream)(nil)

// GELUMul implements backends.GELUMuler with the CPU's fp16 table of gelu,
// uploaded once a stream, so the outputs are the CPU's bits.
func (s *Stream) GELUMul(dst, gate, up backends.Tensor) {
	s.do(backends.OpGELUMul, func() error {
		p, err := s.gatedArgs(dst, gate, up)
		if err != nil {
			return err
		}
		tab, err := s.geluTable()
		if err != nil {
			return err
		}
		n := gate.Rows * gate.Cols
		return s.launch("nuri_gelu_mul", grid1(n, 256), threads(256), 0, p[0], p[1], p[2], tab, n)
	})
}

var _ backends.GELUMuler = (*Stream)(nil)

// geluTable returns the device copy of kernels.GELUTable, uploading it on
// first use.
func (s *Stream) geluTable() (uint64, error) {
	if s.geluTab != 0 {
		return s.geluTab, nil
	}
	tab := kernels.GELUTable()
	b, err := s.work("gelu_table", 4*len(tab))
	if err != nil {
		return 0, err
	}
	if err := s.dev.drv.check("cuMemcpyHtoDAsync", s.dev.drv.cuMemcpyHtoDAsync(b.ptr, unsafe.Pointer(&tab[0]), uint64(4*len(tab)), s.h)); err != nil {
		return 0, err
	}
	s.geluTab = b.ptr
	return s.geluTab, nil
}

// GELU implements backends.GELUer (GELUMul's table, no product).
func (s *Stream) GELU(dst, x backends.Tensor) {
	s.do(backends.OpGELU, func() error {
		if err := sameShape(x.Rows, x.Cols, x, dst); err != nil {
			return err
		}
		p, err := s.ptrs(x, dst)
		if err != nil {
			return err
		}
		tab, err := s.geluTable()
		if err != nil {
			return err
		}
		n := x.Rows * x.Cols
		return s.launch("nuri_gelu", grid1(n, 256), threads(256), 0, p[0], p[1], tab, n)
	})
}

var _ backends.GELUer = (*Stream)(nil)

// LayerNorm implements backends.LayerNormer, a block a row as RMSNorm.
func (s *Stream) LayerNorm(dst, x, w, b backends.Tensor, eps float32) {
	s.do(backends.OpLayerNorm, func() error {
		p, err := s.normArgs(dst, x, w)
		if err != nil {
			return err
		}
		var bp uint64
		hasB := 0
		if b.Valid() {
			if err := sameShape(1, x.Cols, b); err != nil {
				return err
			}
			pb, err := s.ptrs(b)
			if err != nil {
				return err
			}
			bp, hasB = pb[0], 1
		}
		return s.launch("nuri_layer_norm", [3]uint32{uint32(x.Rows), 1, 1}, threads(256), 0, p[0], p[1], bp, p[2], x.Cols, eps, hasB)
	})
}

var _ backends.LayerNormer = (*Stream)(nil)

// SiLUMul implements backends.Stream.
func (s *Stream) SiLUMul(dst, gate, up backends.Tensor) {
	s.do(backends.OpSiLUMul, func() error {
		p, err := s.gatedArgs(dst, gate, up)
		if err != nil {
			return err
		}
		n := gate.Rows * gate.Cols
		return s.launch("nuri_silu_mul", grid1(n, 256), threads(256), 0, p[0], p[1], p[2], n)
	})
}
