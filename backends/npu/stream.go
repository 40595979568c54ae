package npu

import (
	"fmt"
	"unsafe"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/quant"
)

// Stream runs ops in order on the simulated chip, synchronously; each op
// charges its roofline time to the device clock. The first error is kept
// (later ops skipped) until Sync returns it. Not safe for concurrent use.
type Stream struct {
	dev  *Device
	host backends.Stream // float arithmetic
	err  error
}

var (
	_ backends.Stream       = (*Stream)(nil)
	_ backends.Writer       = (*Stream)(nil)
	_ backends.HostTransfer = (*Stream)(nil)
)

func (s *Stream) do(op backends.Op, f func() error) {
	if s.err != nil {
		return
	}
	if err := f(); err != nil {
		s.err = fmt.Errorf("%s %v: %w", s.dev.name, op, err)
	}
}

func (s *Stream) charge(op backends.Op, c cost) { s.dev.clock.charge(s.dev.prof, op, c) }

// add counts n bytes of traffic in the memory a tensor lives in.
func (c *cost) add(w where, n float64) {
	if w == inHost {
		c.HostBytes += n
	} else {
		c.DevBytes += n
	}
}

// opnd is a float op's operand; tok marks tensors whose rows are token
// rows, which the chip runs padded to the shape bucket.
type opnd struct {
	t   *backends.Tensor
	tok bool
}

// float runs a float op's arithmetic on the host stream over views of the
// operands (replaced in place through the pointers), charging c plus each
// operand's bytes.
func (s *Stream) float(op backends.Op, c cost, ops []opnd, run func(hs backends.Stream)) error {
	for _, o := range ops {
		if !o.t.Valid() {
			continue
		}
		v, w, err := s.dev.hostView(*o.t)
		if err != nil {
			return err
		}
		n, err := o.t.NumBytes()
		if err != nil {
			return err
		}
		scale := 1.0
		if o.tok && c.tokens > 0 {
			scale = float64(c.padded) / float64(c.tokens)
		}
		c.add(w, float64(n)*scale)
		*o.t = v
	}
	run(s.host)
	if err := s.host.Sync(); err != nil {
		return err
	}
	s.charge(op, c)
	return nil
}

// tokenCost is a cost of n token rows, padded to the bucket.
func (s *Stream) tokenCost(n int) cost {
	return cost{tokens: n, padded: s.dev.prof.Buckets.Pad(n)}
}

// GetRows implements backends.Stream.
func (s *Stream) GetRows(dst, src backends.Tensor, ids []int32) {
	s.do(backends.OpGetRows, func() error {
		if _, ok := src.Buf.(*weightBuf); ok {
			return s.getRowsInt8(dst, src, ids)
		}
		c := s.tokenCost(len(ids))
		c.FloatOps = float64(c.padded * src.Cols)
		srcView, w, err := s.dev.hostView(src)
		if err != nil {
			return err
		}
		rb, err := src.RowBytes()
		if err != nil {
			return err
		}
		c.add(w, float64(c.padded*rb)) // only the selected rows are read
		return s.float(backends.OpGetRows, c, []opnd{{&dst, true}}, func(hs backends.Stream) { hs.GetRows(dst, srcView, ids) })
	})
}

// MatMul implements backends.Stream: int8 for uploaded weights, float for
// an F32 right-hand side in float memory.
func (s *Stream) MatMul(dst, w, x backends.Tensor) {
	s.do(backends.OpMatMul, func() error {
		if _, ok := w.Buf.(*weightBuf); ok {
			return s.matmulInt8(dst, w, x)
		}
		if w.Type != quant.F32 {
			return fmt.Errorf("%s: a %v weight must be uploaded (requantized to int8) first: %w", w.Shape(), w.Type, backends.ErrUnsupportedOp)
		}
		c := s.tokenCost(x.Rows)
		c.FloatOps = 2 * float64(c.padded) * float64(w.Rows) * float64(w.Cols)
		return s.float(backends.OpMatMul, c, []opnd{{&dst, true}, {&w, false}, {&x, true}}, func(hs backends.Stream) { hs.MatMul(dst, w, x) })
	})
}

// RMSNorm implements backends.Stream.
func (s *Stream) RMSNorm(dst, x, w backends.Tensor, eps float32) {
	s.do(backends.OpRMSNorm, func() error {
		c := cost{Cost: Cost{FloatOps: 4 * float64(x.Rows) * float64(x.Cols)}}
		return s.float(backends.OpRMSNorm, c, []opnd{{&dst, false}, {&x, false}, {&w, false}}, func(hs backends.Stream) { hs.RMSNorm(dst, x, w, eps) })
	})
}

// Add implements backends.Stream.
func (s *Stream) Add(dst, a, b backends.Tensor) {
	s.do(backends.OpAdd, func() error {
		c := cost{Cost: Cost{FloatOps: float64(a.Rows) * float64(a.Cols)}}
		return s.float(backends.OpAdd, c, []opnd{{&dst, false}, {&a, false}, {&b, false}}, func(hs backends.Stream) { hs.Add(dst, a, b) })
	})
}

// Scale implements backends.Stream.
func (s *Stream) Scale(dst, x backends.Tensor, f float32) {
	s.do(backends.OpScale, func() error {
		c := cost{Cost: Cost{FloatOps: float64(x.Rows) * float64(x.Cols)}}
		return s.float(backends.OpScale, c, []opnd{{&dst, false}, {&x, false}}, func(hs backends.Stream) { hs.Scale(dst, x, f) })
	})
}

// ScaleRows implements backends.RowScaler (per-request LoRA adapters),
// costed as Scale.
func (s *Stream) ScaleRows(dst, x backends.Tensor, scales []float32) {
	s.do(backends.OpScale, func() error {
		c := cost{Cost: Cost{FloatOps: float64(x.Rows) * float64(x.Cols)}}
		return s.float(backends.OpScale, c, []opnd{{&dst, false}, {&x, false}}, func(hs backends.Stream) {
			hs.(backends.RowScaler).ScaleRows(dst, x, scales)
		})
	})
}

var _ backends.RowScaler = (*Stream)(nil)

// GELUMul implements backends.GELUMuler, costed as SiLUMul (an
// activation and a product an element on the vector unit).
func (s *Stream) GELUMul(dst, gate, up backends.Tensor) {
	s.do(backends.OpGELUMul, func() error {
		c := cost{Cost: Cost{FloatOps: 6 * float64(gate.Rows) * float64(gate.Cols)}}
		return s.float(backends.OpGELUMul, c, []opnd{{&dst, false}, {&gate, false}, {&up, false}}, func(hs backends.Stream) {
			hs.(backends.GELUMuler).GELUMul(dst, gate, up)
		})
	})
}

var _ backends.GELUMuler = (*Stream)(nil)

// GELU implements backends.GELUer, costed as GELUMul's activation.
func (s *Stream) GELU(dst, x backends.Tensor) {
	s.do(backends.OpGELU, func() error {
		c := cost{Cost: Cost{FloatOps: 5 * float64(x.Rows) * float64(x.Cols)}}
		return s.float(backends.OpGELU, c, []opnd{{&dst, false}, {&x, false}}, func(hs backends.Stream) {
			hs.(backends.GELUer).GELU(dst, x)
		})
	})
}

var _ backends.GELUer = (*Stream)(nil)

// LayerNorm implements backends.LayerNormer: two passes over a row (the
// mean, the variance) and a scale, a weight and a bias an element.
func (s *Stream) LayerNorm(dst, x, w, b backends.Tensor, eps float32) {
	s.do(backends.OpLayerNorm, func() error {
		c := cost{Cost: Cost{FloatOps: 7 * float64(x.Rows) * float64(x.Cols)}}
		ops := []opnd{{&dst, false}, {&x, false}, {&w, false}}
		if b.Valid() {
			ops = append(ops, opnd{&b, false})
		}
		return s.float(backends.OpLayerNorm, c, ops, func(hs backends.Stream) {
			hs.(backends.LayerNormer).LayerNorm(dst, x, w, b, eps)
		})
	})
}

var _ backends.LayerNormer = (*Stream)(nil)

// SiLUMul implements backends.Stream (sigmoid counted as four ops).
func (s *Stream) SiLUMul(dst, gate, up backends.Tensor) {
	s.do(backends.OpSiLUMul, func() error {
		c := cost{Cost: Cost{FloatOps: 6 * float64(gate.Rows) * float64(gate.Cols)}}
		return s.float(backends.OpSiLUMul, c, []opnd{{&dst, false}, {&gate, false}, {&up, false}}, func(hs backends.Stream) { hs.SiLUMul(dst, gate, up) })
	})
}

// RoPE implements backends.Stream.
func (s *Stream) RoPE(x backends.Tensor, pos []int32, p backends.RoPE) {
	s.do(backends.OpRoPE, func() error {
		c := s.tokenCost(len(pos))
		c.FloatOps = 6 * float64(c.padded) * float64(p.NHead) * float64(p.NDims/2)
		return s.float(backends.OpRoPE, c, []opnd{{&x, true}, {&p.Freqs, false}}, func(hs backends.Stream) { hs.RoPE(x, pos, p) })
	})
}

func checkKVType(kv backends.PagedKV) error {
	if !kvType(kv.K.Type) || !kvType(kv.V.Type) {
		return fmt.Errorf("KV cache %v/%v: the NPU keeps KV in F16 or F32: %w", kv.K.Type, kv.V.Type, backends.ErrUnsupportedOp)
	}
	return kv.CheckVInK()
}

// vBytes returns the bytes of V a cache row holds on its own: none when V
// lives in K (a latent cache's rows are read once for both).
func vBytes(kv backends.PagedKV) (int, error) {
	if kv.VInK {
		return 0, nil
	}
	return kv.V.RowBytes()
}

// hostKV returns kv with its tensors as host views for the host stream.
func (s *Stream) hostKV(kv backends.PagedKV) (backends.PagedKV, error) {
	var err error
	if kv.K, _, err = s.dev.hostView(kv.K); err != nil {
		return kv, err
	}
	if !kv.VInK {
		if kv.V, _, err = s.dev.hostView(kv.V); err != nil {
			return kv, err
		}
	}
	return kv, nil
}

// kvRows checks the cache's type and returns the bytes of one position's
// K and V rows of a KV head and where the cache lives, what StoreKV and
// Attention charge.
func (s *Stream) kvRows(kv backends.PagedKV) (int, where, error) {
	if err := checkKVType(kv); err != nil {
		return 0, 0, err
	}
	kRow, err := kv.K.RowBytes()
	if err != nil {
		return 0, 0, err
	}
	vRow, err := vBytes(kv)
	if err != nil {
		return 0, 0, err
	}
	_, w, err := s.dev.hostView(kv.K)
	return kRow + vRow, w, err
}

// StoreKV implements backends.Stream. Only the written slots are charged.
func (s *Stream) StoreKV(kv backends.PagedKV, k, v backends.Tensor, slots []int32) {
	s.do(backends.OpStoreKV, func() error {
		c := s.tokenCost(len(slots))
		rowBytes, w, err := s.kvRows(kv)
		if err != nil {
			return err
		}
		c.add(w, float64(c.padded*kv.NHeadKV*rowBytes))
		c.FloatOps = float64(c.padded * (k.Cols + v.Cols))
		kvv, err := s.hostKV(kv)
		if err != nil {
			return err
		}
		return s.float(backends.OpStoreKV, c, []opnd{{&k, true}, {&v, true}}, func(hs backends.Stream) { hs.StoreKV(kvv, k, v, slots) })
	})
}

// Attention implements backends.Stream. The cache is charged once per
// sequence in the batch (the tokens of one sequence share its KV reads, as
// a fused attention kernel tiles them), up to its longest position.
func (s *Stream) Attention(dst, q backends.Tensor, kv backends.PagedKV, rows backends.AttnRows, p backends.Attn) {
	s.do(backends.OpAttention, func() error {
		c := s.tokenCost(len(rows.Pos))
		rowBytes, w, err := s.kvRows(kv)
		if err != nil {
			return err
		}
		ctx, seqPos := 0.0, attnSpans(rows, p.Window)
		for i := range rows.Pos {
			ctx += float64(min(int(rows.Pos[i])+1, windowOr(p.Window, int(rows.Pos[i])+1)))
		}
		for _, n := range seqPos {
			c.add(w, float64(n*kv.NHeadKV*rowBytes))
		}
		// q·k, softmax (≈5 ops per score) and p·v per head and position.
		c.FloatOps = ctx * float64(p.NHead) * float64(2*p.HeadDimK+2*p.HeadDimV+5) * float64(c.padded) / float64(max(1, c.tokens))
		kvv, err := s.hostKV(kv)
		if err != nil {
			return err
		}
		return s.float(backends.OpAttention, c, []opnd{{&dst, true}, {&q, true}}, func(hs backends.Stream) { hs.Attention(dst, q, kvv, rows, p) })
	})
}

func windowOr(window, n int) int {
	if window > 0 {
		return window
	}
	return n
}

// attnSpans returns, per sequence of the batch (tokens sharing a block
// table), the number of cached positions its attention reads.
func attnSpans(rows backends.AttnRows, window int) []int {
	var spans []int
	var last *int32
	lastLen := -1
	for i, pos := range rows.Pos {
		if i >= len(rows.Tables) {
			break
		}
		t := rows.Tables[i]
		var head *int32
		if len(t) > 0 {
			head = unsafe.SliceData(t)
		}
		n := min(int(pos)+1, windowOr(window, int(pos)+1))
		if head == last && len(t) == lastLen && len(spans) > 0 {
			spans[len(spans)-1] = max(spans[len(spans)-1], n)
			continue
		}
		last, lastLen = head, len(t)
		spans = append(spans, n)
	}
	return spans
}

// Read implements backends.Stream: a copy over the host link.
func (s *Stream) Read(dst []float32, src backends.Tensor) {
	if s.err != nil {
		return
	}
	if err := s.read(dst, src); err != nil {
		s.err = fmt.Errorf("%s read: %w", s.dev.name, err)
	}
}

func (s *Stream) read(dst []float32, src backends.Tensor) error {
	v, _, err := s.dev.hostView(src)
	if err != nil {
		return err
	}
	xs, err := v.HostF32s()
	if err != nil {
		return err
	}
	if len(dst) < len(xs) {
		return fmt.Errorf("%s: destination holds %d values, need %d: %w", src.Shape(), len(dst), len(xs), backends.ErrShape)
	}
	copy(dst, xs)
	s.dev.clock.transfer(s.dev.prof, 4*len(xs))
	return nil
}

// Write implements backends.Writer: a copy over the host link.
func (s *Stream) Write(dst backends.Tensor, src []float32) {
	if s.err != nil {
		return
	}
	if err := s.write(dst, src); err != nil {
		s.err = fmt.Errorf("%s write: %w", s.dev.name, err)
	}
}

func (s *Stream) write(dst backends.Tensor, src []float32) error {
	v, _, err := s.dev.hostView(dst)
	if err != nil {
		return err
	}
	ys, err := v.HostF32s()
	if err != nil {
		return err
	}
	if len(src) != len(ys) {
		return fmt.Errorf("%s: %d values for %d elements: %w", dst.Shape(), len(src), len(ys), backends.ErrShape)
	}
	copy(ys, src)
	s.dev.clock.transfer(s.dev.prof, 4*len(ys))
	return nil
}

// CopyToHost implements backends.HostTransfer (raw bytes of float memory).
func (s *Stream) CopyToHost(dst []byte, src backends.Tensor) error {
	b, err := s.rawBytes(src)
	if err != nil {
		return err
	}
	if len(dst) != len(b) {
		return fmt.Errorf("%s: %d-byte destination for %d bytes: %w", src.Shape(), len(dst), len(b), backends.ErrShape)
	}
	copy(dst, b)
	s.dev.clock.transfer(s.dev.prof, len(b))
	return nil
}

// CopyFromHost implements backends.HostTransfer.
func (s *Stream) CopyFromHost(dst backends.Tensor, src []byte) error {
	b, err := s.rawBytes(dst)
	if err != nil {
		return err
	}
	if len(src) != len(b) {
		return fmt.Errorf("%s: %d bytes for %d: %w", dst.Shape(), len(src), len(b), backends.ErrShape)
	}
	copy(b, src)
	s.dev.clock.transfer(s.dev.prof, len(b))
	return nil
}

func (s *Stream) rawBytes(t backends.Tensor) ([]byte, error) {
	v, _, err := s.dev.hostView(t)
	if err != nil {
		return nil, err
	}
	return v.HostBytes()
}

// Sync implements backends.Stream: ops ran already; it reports and clears
// the first error.
func (s *Stream) Sync() error {
	err := s.err
	s.err = nil
	return err
}
