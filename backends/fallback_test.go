package backends_test

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/backends/conformance"
	"github.com/nuri-ai/nuri/backends/cpu"
	"github.com/nuri-ai/nuri/backends/npu"
	"github.com/nuri-ai/nuri/kernels"
	"github.com/nuri-ai/nuri/quant"
)

// TestFallbackNPU: the NPU refuses KV caches of block types (Q8_0, the
// 4- and 5-bit ones), on either side of a cache whose K and V types differ;
// wrapped with a CPU fallback, every op and type passes the kit, and the
// fallbacks are counted with their reason.
func TestFallbackNPU(t *testing.T) {
	d, err := npu.New(npu.Profiles()[0], 0, npu.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	f := backends.WithFallback(d, cpu.New(2), zap.NewNop())
	defer f.Close()
	if _, ok := backends.As[backends.ShapeBucketer](f); !ok {
		t.Error("capabilities of the wrapped device are not found through the wrapper")
	}
	rs := conformance.Run(t, f)
	for _, r := range rs {
		if r.Status != conformance.Pass {
			t.Errorf("%v %v: %v", r.Op, r.Type, r.Status)
		}
	}
	fellBack := map[quant.Type]bool{}
	mixed := 0
	for _, c := range f.Counts() {
		if strings.Contains(c.Reason, " on V's ") {
			mixed += c.N // the kit's K/V pairs with a block type as V, counted under K's type
			continue
		}
		if c.Op == backends.OpAttention && c.N > 0 {
			fellBack[c.Type] = true
		}
		if c.Type == quant.F16 || c.Type == quant.F32 || !slices.Contains(conformance.KVTypes(), c.Type) {
			t.Errorf("unexpected fallback %+v", c)
		}
	}
	for _, kt := range conformance.KVTypes() {
		if want := kt != quant.F16 && kt != quant.F32; fellBack[kt] != want {
			t.Errorf("%v cache: attention fell back %v, want %v (%+v)", kt, fellBack[kt], want, f.Counts())
		}
	}
	if mixed == 0 {
		t.Error("no cache with V of a type the NPU lacks fell back to the host")
	}
}

// TestFallbackStaging wraps a device with its own (non-host) memory that
// only multiplies F32 and Q8_0 weights: every other op goes through staged
// copies, and the kit must still pass everything exactly.
func TestFallbackStaging(t *testing.T) {
	f := backends.WithFallback(newRemote(), cpu.New(2), zap.NewNop())
	defer f.Close()
	rs := conformance.Run(t, f, conformance.WithLimits(func(backends.Op, quant.Type) conformance.Limit { return conformance.Limit{} }))
	for _, r := range rs {
		if r.Status != conformance.Pass {
			t.Errorf("%v %v: %v", r.Op, r.Type, r.Status)
		}
	}
	n := 0
	for _, c := range f.Counts() {
		if c.Op == backends.OpMatMul && (c.Type == quant.Q8_0 || c.Type == quant.F32) {
			t.Errorf("supported op fell back: %+v", c)
		}
		n += c.N
	}
	if n == 0 {
		t.Error("nothing fell back")
	}
}

// remote is a fake accelerator: memory the host cannot address directly
// (its own buffer type), raw copies through HostTransfer, and MatMul of
// F32 and Q8_0 weights computed by an internal CPU stream.
type remote struct {
	host *cpu.Device
}

type remoteBuf struct{ b *backends.HostBuffer }

func (r *remoteBuf) Size() int { return r.b.Size() }

func newRemote() *remote { return &remote{host: cpu.New(1)} }

func (r *remote) Name() string                 { return "remote:0" }
func (r *remote) Memory() (free, total uint64) { return 0, 0 }
func (r *remote) Close() error                 { return r.host.Close() }

func (r *remote) Supports(op backends.Op, t quant.Type) bool {
	return op == backends.OpMatMul && (t == quant.F32 || t == quant.Q8_0)
}

func (r *remote) Alloc(n int, _ backends.Usage) (backends.Buffer, error) {
	return &remoteBuf{backends.NewHostBuffer(n)}, nil
}

func (r *remote) Upload(name string, t quant.Type, rows, cols int, data []byte) (backends.Tensor, error) {
	b := backends.NewHostBuffer(len(data))
	copy(b.Bytes(), data)
	// The internal CPU sees the copy as an uploaded weight, so it runs the
	// same kernels (repacked ones included) as the reference CPU device.
	if _, err := r.host.Upload(name, t, rows, cols, b.Bytes()); err != nil {
		return backends.Tensor{}, err
	}
	return backends.Tensor{Name: name, Buf: &remoteBuf{b}, Type: t, Rows: rows, Cols: cols}, nil
}

func (r *remote) NewStream() (backends.Stream, error) {
	hs, err := r.host.NewStream()
	return &remoteStream{hs: hs}, err
}

// remoteStream implements only what the fallback wrapper needs from a
// device stream: MatMul, Read, Write, the raw copies, Sync. Every other op
// is an error, so a wrong routing decision shows up.
type remoteStream struct {
	hs  backends.Stream
	err error
}

func (s *remoteStream) view(t backends.Tensor) backends.Tensor {
	rb, ok := t.Buf.(*remoteBuf)
	if !ok {
		s.fail(fmt.Errorf("%s is not remote memory: %w", t.Shape(), backends.ErrUnsupportedOp))
		return backends.Tensor{}
	}
	t.Buf = rb.b
	return t
}

func (s *remoteStream) fail(err error) {
	if s.err == nil {
		s.err = err
	}
}

func (s *remoteStream) bytes(t backends.Tensor) []byte {
	v := s.view(t)
	if s.err != nil {
		return nil
	}
	n, err := v.NumBytes()
	if err != nil {
		s.fail(err)
		return nil
	}
	return v.Buf.(*backends.HostBuffer).Bytes()[v.Off : v.Off+n]
}

func (s *remoteStream) MatMul(dst, w, x backends.Tensor) {
	dst, w, x = s.view(dst), s.view(w), s.view(x)
	if s.err == nil {
		s.hs.MatMul(dst, w, x)
		s.fail(s.hs.Sync())
	}
}

func (s *remoteStream) unsupported(op backends.Op) {
	s.fail(fmt.Errorf("remote %v: %w", op, backends.ErrUnsupportedOp))
}

func (s *remoteStream) GetRows(dst, src backends.Tensor, ids []int32) {
	s.unsupported(backends.OpGetRows)
}
func (s *remoteStream) RMSNorm(dst, x, w backends.Tensor, eps float32) {
	s.unsupported(backends.OpRMSNorm)
}
func (s *remoteStream) Add(dst, a, b backends.Tensor)           { s.unsupported(backends.OpAdd) }
func (s *remoteStream) Scale(dst, x backends.Tensor, f float32) { s.unsupported(backends.OpScale) }
func (s *remoteStream) SiLUMul(dst, gate, up backends.Tensor)   { s.unsupported(backends.OpSiLUMul) }
func (s *remoteStream) RoPE(x backends.Tensor, pos []int32, p backends.RoPE) {
	s.unsupported(backends.OpRoPE)
}
func (s *remoteStream) StoreKV(kv backends.PagedKV, k, v backends.Tensor, slots []int32) {
	s.unsupported(backends.OpStoreKV)
}
func (s *remoteStream) Attention(dst, q backends.Tensor, kv backends.PagedKV, rows backends.AttnRows, p backends.Attn) {
	s.unsupported(backends.OpAttention)
}

func (s *remoteStream) Read(dst []float32, src backends.Tensor) {
	b := s.bytes(src)
	for i := 0; i+4 <= len(b) && i/4 < len(dst); i += 4 {
		dst[i/4] = math.Float32frombits(uint32(b[i]) | uint32(b[i+1])<<8 | uint32(b[i+2])<<16 | uint32(b[i+3])<<24)
	}
}

func (s *remoteStream) Write(dst backends.Tensor, src []float32) {
	b := s.bytes(dst)
	if s.err == nil && len(b) != 4*len(src) {
		s.fail(fmt.Errorf("write %s: %d values: %w", dst.Shape(), len(src), backends.ErrShape))
		return
	}
	for i, v := range src {
		u := math.Float32bits(v)
		b[4*i], b[4*i+1], b[4*i+2], b[4*i+3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
	}
}

func (s *remoteStream) CopyToHost(dst []byte, src backends.Tensor) error {
	b := s.bytes(src)
	if s.err != nil {
		return s.Sync()
	}
	copy(dst, b)
	return nil
}

func (s *remoteStream) CopyFromHost(dst backends.Tensor, src []byte) error {
	b := s.bytes(dst)
	if s.err != nil {
		return s.Sync()
	}
	copy(b, src)
	return nil
}

func (s *remoteStream) Sync() error {
	err := s.err
	s.err = nil
	return err
}

// TestFallbackOwnsCopy: a weight the wrapper keeps in host memory reports
// the host's answer (the CPU repacks Q4_0 when it has the kernels); one on
// the wrapped device reports false.
func TestFallbackOwnsCopy(t *testing.T) {
	f := backends.WithFallback(newRemote(), cpu.New(1), zap.NewNop())
	defer f.Close()
	hostW, err := f.Upload("h", quant.Q4_0, 16, 32, make([]byte, 16*18))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := f.OwnsCopy(hostW), kernels.CanPack(quant.Q4_0); got != want {
		t.Errorf("host-kept Q4_0: OwnsCopy %v, want %v", got, want)
	}
	devW, err := f.Upload("d", quant.Q8_0, 16, 32, make([]byte, 16*34))
	if err != nil {
		t.Fatal(err)
	}
	if f.OwnsCopy(devW) {
		t.Error("weight on the wrapped device reported as owned")
	}
}

// TestFallbackScaleRows: the wrapper scales rows on a device whose stream
// can (the NPU's) and through the host for one that cannot (remote, with
// memory of its own): the same values either way, and the host path
// counted.
func TestFallbackScaleRows(t *testing.T) {
	d, err := npu.New(npu.Profiles()[0], 0, npu.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []*backends.Fallback{backends.WithFallback(d, cpu.New(1), zap.NewNop()), backends.WithFallback(newRemote(), cpu.New(1), zap.NewNop())} {
		s, err := f.NewStream()
		if err != nil {
			t.Fatal(err)
		}
		buf, err := f.Alloc(2*3*4*2, backends.UsageScratch)
		if err != nil {
			t.Fatal(err)
		}
		x := backends.Tensor{Name: "x", Buf: buf, Type: quant.F32, Rows: 2, Cols: 3}
		y := backends.Tensor{Name: "y", Buf: buf, Off: 2 * 3 * 4, Type: quant.F32, Rows: 2, Cols: 3}
		w, ok := s.(backends.Writer)
		if !ok {
			t.Fatalf("%s: the wrapper's stream does not write", f.Name())
		}
		w.Write(x, []float32{1, 2, 3, 4, 5, 6})
		rs, ok := s.(backends.RowScaler)
		if !ok {
			t.Fatalf("%s: the wrapper's stream does not scale rows", f.Name())
		}
		rs.ScaleRows(y, x, []float32{2, -0.5})
		got := make([]float32, 6)
		s.Read(got, y)
		if err := s.Sync(); err != nil {
			t.Fatalf("%s: %v", f.Name(), err)
		}
		if want := []float32{2, 4, 6, -2, -2.5, -3}; !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", f.Name(), got, want)
		}
		f.Close()
	}
}

// TestFallbackGELUMul: the wrapper runs gelu·up on the NPU's stream and
// through the host for a device without it: the same values as
// kernels.GELUMul either way.
func TestFallbackGELUMul(t *testing.T) {
	d, err := npu.New(npu.Profiles()[0], 0, npu.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	gate, up := []float32{-11, -1.5, 0.25, 3, 12, 0}, []float32{1, 2, -3, 0.5, 2, 7}
	want := make([]float32, len(gate))
	kernels.GELUMul(want, gate, up)
	for _, f := range []*backends.Fallback{backends.WithFallback(d, cpu.New(1), zap.NewNop()), backends.WithFallback(newRemote(), cpu.New(1), zap.NewNop())} {
		s, err := f.NewStream()
		if err != nil {
			t.Fatal(err)
		}
		buf, err := f.Alloc(3*6*4, backends.UsageScratch)
		if err != nil {
			t.Fatal(err)
		}
		ts := make([]backends.Tensor, 3)
		for i := range ts {
			ts[i] = backends.Tensor{Name: fmt.Sprint("t", i), Buf: buf, Off: i * 6 * 4, Type: quant.F32, Rows: 2, Cols: 3}
		}
		s.(backends.Writer).Write(ts[0], gate)
		s.(backends.Writer).Write(ts[1], up)
		gm, ok := s.(backends.GELUMuler)
		if !ok {
			t.Fatalf("%s: the wrapper's stream has no GELUMul", f.Name())
		}
		gm.GELUMul(ts[2], ts[0], ts[1])
		got := make([]float32, 6)
		s.Read(got, ts[2])
		if err := s.Sync(); err != nil {
			t.Fatalf("%s: %v", f.Name(), err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", f.Name(), got, want)
		}
		f.Close()
	}
}

// noSoftCap is a device without AttnSoftCapper (its NPU runs attention
// otherwise).
type noSoftCap struct{ backends.Device }

// noRowStarts hides a device's AttnRowStarter.
type noRowStarts struct{ backends.Device }

func (noRowStarts) StartsAttentionRows() bool { return false }

// attnOnDevice stores three positions of one head's K and V (the same
// values as the queries) and returns the attention dev's stream gives.
func attnOnDevice(t *testing.T, dev backends.Device, p backends.Attn, rows backends.AttnRows) []float32 {
	const n, hd = 3, 32
	vals := make([]float32, n*hd)
	for i := range vals {
		vals[i] = float32(math.Sin(float64(i))) * 2
	}
	s, err := dev.NewStream()
	if err != nil {
		t.Fatal(err)
	}
	alloc := func(name string, rows int, typ quant.Type) backends.Tensor {
		rb, _ := typ.RowBytes(hd)
		b, err := dev.Alloc(rows*rb, backends.UsageScratch)
		if err != nil {
			t.Fatal(err)
		}
		return backends.Tensor{Name: name, Buf: b, Type: typ, Rows: rows, Cols: hd}
	}
	q, k, y := alloc("q", n, quant.F32), alloc("k", n, quant.F32), alloc("y", n, quant.F32)
	kv := backends.PagedKV{K: alloc("cache_k", 16, quant.F16), V: alloc("cache_v", 16, quant.F16), NHeadKV: 1, BlockSize: 16}
	for _, x := range []backends.Tensor{q, k} {
		if w, ok := s.(backends.Writer); ok {
			w.Write(x, vals)
			continue
		}
		hb, ok := x.Buf.(*backends.HostBuffer)
		if !ok {
			t.Fatalf("%s: buffer %T is neither writable by the stream nor host memory", dev.Name(), x.Buf)
		}
		for i, v := range vals {
			binary.LittleEndian.PutUint32(hb.Bytes()[4*i:], math.Float32bits(v))
		}
	}
	s.StoreKV(kv, k, k, []int32{0, 1, 2})
	s.Attention(y, q, kv, rows, p)
	got := make([]float32, n*hd)
	s.Read(got, y)
	if err := s.Sync(); err != nil {
		t.Fatalf("%s: %v", dev.Name(), err)
	}
	return got
}

// hostedAttention is how many attention calls f ran on the host.
func hostedAttention(f *backends.Fallback) int {
	for _, c := range f.Counts() {
		if c.Op == backends.OpAttention {
			return c.N
		}
	}
	return 0
}

// TestFallbackSoftCappedAttention: soft-capped attention on a device
// without the capability runs on the host, counted, and gives the CPU's
// values; the same call without a cap stays on the device. So does
// attention with each row's first key (AttnRows.Lo) on a device without
// AttnRowStarter.
func TestFallbackSoftCappedAttention(t *testing.T) {
	ref := cpu.New(1)
	defer ref.Close()
	for _, c := range []struct {
		name string
		wrap func(backends.Device) backends.Device
		p    backends.Attn
		rows backends.AttnRows
		has  func(backends.Device) bool
	}{
		{"soft cap", func(d backends.Device) backends.Device { return noSoftCap{d} },
			backends.Attn{NHead: 1, NHeadKV: 1, HeadDimK: 32, HeadDimV: 32, Scale: 1, SoftCap: 0.5},
			backends.AttnRows{Pos: []int32{0, 1, 2}, Tables: [][]int32{{0}, {0}, {0}}}, backends.SoftCapsAttention},
		{"row starts", func(d backends.Device) backends.Device { return noRowStarts{d} },
			backends.Attn{NHead: 1, NHeadKV: 1, HeadDimK: 32, HeadDimV: 32, Scale: 1},
			backends.AttnRows{Pos: []int32{1, 2, 2}, Lo: []int32{0, 1, 2}, Tables: [][]int32{{0}, {0}, {0}}}, backends.StartsAttentionRows},
	} {
		d, err := npu.New(npu.Profiles()[0], 0, npu.Options{Threads: 2})
		if err != nil {
			t.Fatal(err)
		}
		f := backends.WithFallback(c.wrap(d), cpu.New(1), zap.NewNop())
		if !c.has(f) {
			t.Fatalf("%s: the fallback wrapper does not report the capability", c.name)
		}
		want := attnOnDevice(t, ref, c.p, c.rows)
		if got := attnOnDevice(t, f, c.p, c.rows); !slices.Equal(got, want) {
			t.Errorf("%s through the wrapper: %v, want %v", c.name, got[:4], want[:4])
		}
		if hostedAttention(f) != 1 {
			t.Errorf("%s: attention went to the host %d times, want 1 (%+v)", c.name, hostedAttention(f), f.Counts())
		}
		plain := c.p
		plain.SoftCap = 0
		attnOnDevice(t, f, plain, backends.AttnRows{Pos: c.rows.Pos, Tables: c.rows.Tables})
		if hostedAttention(f) != 1 {
			t.Errorf("%s: the plain call went to the host too (%+v)", c.name, f.Counts())
		}
		f.Close()
	}
}
