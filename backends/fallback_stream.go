package backends

import (
	"fmt"
	"math"

	"github.com/nuri-ai/nuri/quant"
)

// fallbackStream sends each op to the device stream, or to the host stream
// when the device cannot run it. Ops stay in order: before a host op the
// device stream is synchronised, and staged outputs are copied back before
// the next device op is queued.
type fallbackStream struct {
	f      *Fallback
	ds, hs Stream
	err    error // first failure of the wrapper itself (staging, sync)
}

var (
	_ Stream = (*fallbackStream)(nil)
	_ Writer = (*fallbackStream)(nil)
)

// operand is one tensor argument of an op; route may replace *t by a host
// tensor over the same values.
type operand struct {
	t   *Tensor
	out bool
}

func in(t *Tensor) operand  { return operand{t, false} }
func out(t *Tensor) operand { return operand{t, true} }

// route runs an op of weight/cache type typ on the device, or on the host
// with the reason noted.
func (s *fallbackStream) route(op Op, typ quant.Type, ops []operand, run func(st Stream)) {
	if s.err != nil {
		return
	}
	reason := s.hostReason(op, typ, ops)
	if reason == "" {
		run(s.ds)
		return
	}
	s.f.note(op, typ, reason)
	s.onHostStream(op, ops, run)
}

// hostReason says why an op of type typ on ops must run on the host ("":
// the device runs it).
func (s *fallbackStream) hostReason(op Op, typ quant.Type, ops []operand) string {
	if !s.f.dev.Supports(op, typ) {
		return fmt.Sprintf("%s does not run %v on %v", s.f.dev.Name(), op, typ)
	}
	for _, o := range ops {
		if s.f.onHost(*o.t) {
			return fmt.Sprintf("operand %s is in host memory, which %s cannot read", o.t.Name, s.f.dev.Name())
		}
	}
	return ""
}

// staged is an operand copied to host memory.
type staged struct {
	dev  Tensor // where the values live on the device
	host Tensor
	out  bool
}

// onHostStream runs an op on the host stream with every operand made host
// memory, then copies staged outputs back.
func (s *fallbackStream) onHostStream(op Op, ops []operand, run func(st Stream)) {
	if err := s.ds.Sync(); err != nil {
		s.err = err
		return
	}
	var stage []*staged
	byKey := map[tensorKey]*staged{}
	for _, o := range ops {
		t := *o.t
		if !t.Valid() {
			continue
		}
		k := keyOf(t)
		if st, ok := byKey[k]; ok { // the same tensor twice (in place)
			st.out = st.out || o.out
			*o.t = st.host
			continue
		}
		h, copied, err := s.hostTensor(t)
		if err != nil {
			s.err = fmt.Errorf("%v on the host: %w", op, err)
			return
		}
		st := &staged{dev: t, host: h, out: o.out && copied}
		byKey[k] = st
		if copied {
			stage = append(stage, st)
		}
		*o.t = h
	}
	run(s.hs)
	if err := s.hs.Sync(); err != nil {
		s.err = fmt.Errorf("%v on the host: %w", op, err)
		return
	}
	for _, st := range stage {
		if !st.out {
			continue
		}
		hb := st.host.Buf.(*HostBuffer)
		if err := s.ds.(HostTransfer).CopyFromHost(st.dev, hb.Bytes()); err != nil {
			s.err = fmt.Errorf("%v: copy %s back to %s: %w", op, st.dev.Shape(), s.f.dev.Name(), err)
			return
		}
	}
}

// hostTensor returns t as host memory: itself, its weight twin, a view of
// host-mapped device memory, or (copied=true) a staging copy.
func (s *fallbackStream) hostTensor(t Tensor) (h Tensor, copied bool, err error) {
	if _, ok := t.Buf.(*HostBuffer); ok {
		return t, false, nil
	}
	if tw, ok := s.f.twin(t); ok {
		return tw, false, nil
	}
	if hm, ok := s.f.dev.(HostMapped); ok {
		if v, ok := hm.HostView(t); ok {
			return v, false, nil
		}
	}
	ht, ok := s.ds.(HostTransfer)
	if !ok {
		return Tensor{}, false, fmt.Errorf("%s on %s cannot be reached from the host: %w", t.Shape(), s.f.dev.Name(), ErrUnsupportedOp)
	}
	n, err := t.NumBytes()
	if err != nil {
		return Tensor{}, false, err
	}
	hb := NewHostBuffer(n)
	if err := ht.CopyToHost(hb.Bytes(), t); err != nil {
		return Tensor{}, false, fmt.Errorf("copy %s to the host: %w", t.Shape(), err)
	}
	h = t
	h.Buf, h.Off = hb, 0
	return h, true, nil
}

// GetRows implements Stream.
func (s *fallbackStream) GetRows(dst, src Tensor, ids []int32) {
	s.route(OpGetRows, src.Type, []operand{out(&dst), in(&src)}, func(st Stream) { st.GetRows(dst, src, ids) })
}

// MatMul implements Stream.
func (s *fallbackStream) MatMul(dst, w, x Tensor) {
	s.route(OpMatMul, w.Type, []operand{out(&dst), in(&w), in(&x)}, func(st Stream) { st.MatMul(dst, w, x) })
}

var _ SharedMatMuler = (*fallbackStream)(nil)

// MatMulShared implements SharedMatMuler: together on the device when its
// stream can and it runs every weight's type with every operand in its
// memory, else one matmul at a time (each routed as MatMul).
func (s *fallbackStream) MatMulShared(dsts, ws []Tensor, x Tensor) {
	if s.err != nil {
		return
	}
	if len(dsts) != len(ws) {
		s.err = fmt.Errorf("%v: %d outputs for %d weights: %w", OpMatMul, len(dsts), len(ws), ErrShape)
		return
	}
	if sm, ok := s.ds.(SharedMatMuler); ok && s.allOnDevice(dsts, ws, x) {
		sm.MatMulShared(dsts, ws, x)
		return
	}
	for i := range ws {
		s.MatMul(dsts[i], ws[i], x)
	}
}

// allOnDevice reports whether the device runs every matmul of x by ws
// into dsts with every operand in its memory.
func (s *fallbackStream) allOnDevice(dsts, ws []Tensor, x Tensor) bool {
	for i := range ws {
		if s.hostReason(OpMatMul, ws[i].Type, []operand{out(&dsts[i]), in(&ws[i]), in(&x)}) != "" {
			return false
		}
	}
	return true
}

var _ GroupedMatMuler = (*fallbackStream)(nil)

// MatMulGrouped implements GroupedMatMuler: together on the device when
// its stream can and it runs every weight's type with every operand in its
// memory, else one matmul at a time on each weight's row (each routed as
// MatMul).
func (s *fallbackStream) MatMulGrouped(dsts, ws []Tensor, x Tensor, rows []int) {
	if s.err != nil {
		return
	}
	if len(dsts) != len(ws) || len(rows) != len(ws) {
		s.err = fmt.Errorf("%v: %d outputs and %d rows for %d weights: %w", OpMatMul, len(dsts), len(rows), len(ws), ErrShape)
		return
	}
	for i, r := range rows {
		if r < 0 || r >= x.Rows {
			s.err = fmt.Errorf("%v: weight %d takes row %d of %s: %w", OpMatMul, i, r, x.Shape(), ErrShape)
			return
		}
	}
	if gm, ok := s.ds.(GroupedMatMuler); ok && s.allOnDevice(dsts, ws, x) {
		gm.MatMulGrouped(dsts, ws, x, rows)
		return
	}
	for i, r := range rows {
		xr := x
		xr.Off += r * x.Cols * 4
		xr.Rows = 1
		s.MatMul(dsts[i], ws[i], xr)
	}
}

// RMSNorm implements Stream.
func (s *fallbackStream) RMSNorm(dst, x, w Tensor, eps float32) {
	s.route(OpRMSNorm, quant.F32, []operand{out(&dst), in(&x), in(&w)}, func(st Stream) { st.RMSNorm(dst, x, w, eps) })
}

// Add implements Stream.
func (s *fallbackStream) Add(dst, a, b Tensor) {
	s.route(OpAdd, quant.F32, []operand{out(&dst), in(&a), in(&b)}, func(st Stream) { st.Add(dst, a, b) })
}

// Scale implements Stream.
func (s *fallbackStream) Scale(dst, x Tensor, f float32) {
	s.route(OpScale, quant.F32, []operand{out(&dst), in(&x)}, func(st Stream) { st.Scale(dst, x, f) })
}

var _ RowScaler = (*fallbackStream)(nil)

// ScaleRows implements RowScaler (per-request LoRA adapters, a mixture of
// experts' weights): on the device when its stream scales rows and runs
// every operand, else on the host stream.
func (s *fallbackStream) ScaleRows(dst, x Tensor, scales []float32) {
	s.capability(OpScale, "scale rows one by one", []operand{out(&dst), in(&x)}, func(st Stream) bool {
		rs, ok := st.(RowScaler)
		if ok {
			rs.ScaleRows(dst, x, scales)
		}
		return ok
	})
}

var _ GELUMuler = (*fallbackStream)(nil)

// GELUMul implements GELUMuler: on the device when its stream has it,
// supports OpGELUMul and runs every operand, else on the host stream.
func (s *fallbackStream) GELUMul(dst, gate, up Tensor) {
	s.capability(OpGELUMul, "compute gelu_mul", []operand{out(&dst), in(&gate), in(&up)}, func(st Stream) bool {
		gm, ok := st.(GELUMuler)
		if ok {
			gm.GELUMul(dst, gate, up)
		}
		return ok
	})
}

var _ GELUer = (*fallbackStream)(nil)

// GELU implements GELUer, as GELUMul.
func (s *fallbackStream) GELU(dst, x Tensor) {
	s.capability(OpGELU, "compute gelu", []operand{out(&dst), in(&x)}, func(st Stream) bool {
		g, ok := st.(GELUer)
		if ok {
			g.GELU(dst, x)
		}
		return ok
	})
}

var _ LayerNormer = (*fallbackStream)(nil)

// LayerNorm implements LayerNormer, as GELUMul.
func (s *fallbackStream) LayerNorm(dst, x, w, b Tensor, eps float32) {
	ops := []operand{out(&dst), in(&x), in(&w)}
	if b.Valid() {
		ops = append(ops, in(&b))
	}
	s.capability(OpLayerNorm, "compute layer_norm", ops, func(st Stream) bool {
		ln, ok := st.(LayerNormer)
		if ok {
			ln.LayerNorm(dst, x, w, b, eps)
		}
		return ok
	})
}

// capability runs an op of an optional stream capability (F32 operands):
// call runs it on a stream and reports false when that stream lacks the
// capability (what names it). The device runs it when its stream has it,
// the device supports op and can read every operand; the host otherwise.
func (s *fallbackStream) capability(op Op, what string, ops []operand, call func(st Stream) bool) {
	if s.err != nil {
		return
	}
	reason := s.hostReason(op, quant.F32, ops)
	if reason == "" {
		if call(s.ds) {
			return
		}
		reason = s.f.dev.Name() + " cannot " + what
	}
	s.f.note(op, quant.F32, reason)
	s.onHostStream(op, ops, func(st Stream) {
		if !call(st) {
			s.err = fmt.Errorf("%v: neither %s nor the host stream can %s: %w", op, s.f.dev.Name(), what, ErrUnsupportedOp)
		}
	})
}

// SiLUMul implements Stream.
func (s *fallbackStream) SiLUMul(dst, gate, up Tensor) {
	s.route(OpSiLUMul, quant.F32, []operand{out(&dst), in(&gate), in(&up)}, func(st Stream) { st.SiLUMul(dst, gate, up) })
}

// RoPE implements Stream.
func (s *fallbackStream) RoPE(x Tensor, pos []int32, p RoPE) {
	s.route(OpRoPE, quant.F32, []operand{out(&x), in(&p.Freqs)}, func(st Stream) { st.RoPE(x, pos, p) })
}

// StoreKV implements Stream.
func (s *fallbackStream) StoreKV(kv PagedKV, k, v Tensor, slots []int32) {
	ops := []operand{out(&kv.K), out(&kv.V), in(&k), in(&v)}
	run := func(st Stream) { st.StoreKV(kv, k, v, slots) }
	if s.mixedKVOnHost(OpStoreKV, kv, ops, run) {
		return
	}
	s.route(OpStoreKV, kv.K.Type, ops, run)
}

// mixedKVOnHost runs an op on a cache whose K and V types differ on the
// host, when the device does not take such caches or V's type, and says
// whether it did. Otherwise the op is routed on K's type, as any other.
func (s *fallbackStream) mixedKVOnHost(op Op, kv PagedKV, ops []operand, run func(st Stream)) bool {
	if kv.VInK || kv.V.Type == kv.K.Type || s.err != nil {
		return false
	}
	why := ""
	switch {
	case !MixesKVTypes(s.f.dev):
		why = fmt.Sprintf("%s does not take a cache of K %v and V %v", s.f.dev.Name(), kv.K.Type, kv.V.Type)
	case !s.f.dev.Supports(op, kv.V.Type):
		why = fmt.Sprintf("%s does not run %v on V's %v", s.f.dev.Name(), op, kv.V.Type)
	default:
		return false
	}
	s.f.note(op, kv.K.Type, why)
	s.onHostStream(op, ops, run)
	return true
}

// Attention implements Stream.
func (s *fallbackStream) Attention(dst, q Tensor, kv PagedKV, rows AttnRows, p Attn) {
	capped, started := p.SoftCap > 0 && !SoftCapsAttention(s.f.dev), rows.Lo != nil && !StartsAttentionRows(s.f.dev)
	if capped || started {
		if s.err != nil {
			return
		}
		ops := []operand{out(&dst), in(&q), in(&kv.K), in(&kv.V)}
		why := " does not soft-cap attention scores"
		if started {
			why = " does not take each row's first key position"
		}
		s.f.note(OpAttention, kv.K.Type, s.f.dev.Name()+why)
		s.onHostStream(OpAttention, ops, func(st Stream) { st.Attention(dst, q, kv, rows, p) })
		return
	}
	ops := []operand{out(&dst), in(&q), in(&kv.K), in(&kv.V)}
	run := func(st Stream) { st.Attention(dst, q, kv, rows, p) }
	if s.mixedKVOnHost(OpAttention, kv, ops, run) {
		return
	}
	s.route(OpAttention, kv.K.Type, ops, run)
}

// Read implements Stream.
func (s *fallbackStream) Read(dst []float32, src Tensor) {
	if s.err != nil {
		return
	}
	if _, ok := src.Buf.(*HostBuffer); !ok {
		s.ds.Read(dst, src)
		return
	}
	if err := s.ds.Sync(); err != nil { // device ops may write host-mapped memory
		s.err = err
		return
	}
	s.hs.Read(dst, src)
}

// Write implements Writer: on the device stream when it can, else by
// filling host memory (or a host view, or a staged copy) directly.
func (s *fallbackStream) Write(dst Tensor, src []float32) {
	if s.err != nil {
		return
	}
	if w, ok := s.ds.(Writer); ok && !s.f.onHost(dst) {
		w.Write(dst, src)
		return
	}
	if err := s.ds.Sync(); err != nil {
		s.err = err
		return
	}
	if err := s.writeHost(dst, src); err != nil {
		s.err = fmt.Errorf("write %s: %w", dst.Shape(), err)
	}
}

func (s *fallbackStream) writeHost(dst Tensor, src []float32) error {
	if dst.Type != quant.F32 {
		return fmt.Errorf("want F32: %w", ErrUnsupportedOp)
	}
	if len(src) != dst.Rows*dst.Cols {
		return fmt.Errorf("%d values for %d elements: %w", len(src), dst.Rows*dst.Cols, ErrShape)
	}
	b := make([]byte, 4*len(src))
	for i, v := range src {
		putF32(b[4*i:], v)
	}
	if _, ok := dst.Buf.(*HostBuffer); ok {
		return copyInto(dst, b)
	}
	if hm, ok := s.f.dev.(HostMapped); ok {
		if v, ok := hm.HostView(dst); ok {
			return copyInto(v, b)
		}
	}
	if ht, ok := s.ds.(HostTransfer); ok {
		return ht.CopyFromHost(dst, b)
	}
	return fmt.Errorf("%s cannot be written from the host: %w", s.f.dev.Name(), ErrUnsupportedOp)
}

// copyInto copies b over the bytes of a host tensor.
func copyInto(t Tensor, b []byte) error {
	hb := t.Buf.(*HostBuffer)
	if t.Off < 0 || t.Off+len(b) > hb.Size() {
		return fmt.Errorf("%s: bytes [%d,%d) outside its %d-byte buffer: %w", t.Shape(), t.Off, t.Off+len(b), hb.Size(), ErrShape)
	}
	copy(hb.Bytes()[t.Off:], b)
	return nil
}

func putF32(b []byte, v float32) {
	u := math.Float32bits(v)
	b[0], b[1], b[2], b[3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
}

// Sync implements Stream: the first error of the wrapper or either stream.
func (s *fallbackStream) Sync() error {
	err := s.err
	s.err = nil
	if derr := s.ds.Sync(); err == nil {
		err = derr
	}
	if herr := s.hs.Sync(); err == nil {
		err = herr
	}
	return err
}
