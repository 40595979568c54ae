package conformance_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/backends/conformance"
	"github.com/nuri-ai/nuri/backends/cpu"
	"github.com/nuri-ai/nuri/quant"
)

// TestCPU runs the kit on a second CPU device: it must pass every op and
// type with zero error (the same code computes both sides).
func TestCPU(t *testing.T) {
	dev := cpu.New(2)
	defer dev.Close()
	rs := conformance.Run(t, dev)
	for _, r := range rs {
		if r.Status != conformance.Pass {
			t.Errorf("%v %v: %v", r.Op, r.Type, r.Status)
		}
		if r.Worst.RelRMS != 0 || r.Worst.MaxNorm != 0 {
			t.Errorf("%v %v: CPU against CPU differs: %+v", r.Op, r.Type, r.Worst)
		}
	}
	if len(rs) < 35 {
		t.Errorf("only %d op/type results; the kit lost cases", len(rs))
	}
}

// TestCatchesFaults runs the kit on a CPU device with planted faults and
// checks each is reported: the kit must be able to fail.
func TestCatchesFaults(t *testing.T) {
	dev := &faulty{Device: cpu.New(2)}
	defer dev.Close()
	rs, err := conformance.Matrix(dev)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]conformance.Status{
		"mul_mat/Q4_0":  conformance.Fail,        // one output off by 1% of the row's scale
		"add/F32":       conformance.Fail,        // writes one word past the output
		"scale/F32":     conformance.Fail,        // NaN turned into 0
		"rms_norm/F32":  conformance.Fail,        // last row never written
		"silu_mul/F32":  conformance.Unsupported, // says unsupported, refuses properly
		"rope/F32":      conformance.Fail,        // says unsupported, fails with another error
		"get_rows/Q8_0": conformance.Pass,
		"mul_mat/Q8_0":  conformance.Pass, // its fused SwiGLU form is right
		"mul_mat/Q4_K":  conformance.Fail, // its fused SwiGLU form skips the SiLU
	}
	got := map[string]conformance.Result{}
	for _, r := range rs {
		got[r.Op.String()+"/"+r.Type.String()] = r
	}
	for k, st := range want {
		r, ok := got[k]
		if !ok {
			t.Errorf("%s: no result", k)
			continue
		}
		if r.Status != st {
			t.Errorf("%s: %v, want %v (failures %q)", k, r.Status, st, r.Failures)
		}
	}
	if f := strings.Join(got["add/F32"].Failures, "\n"); !strings.Contains(f, "write outside") {
		t.Errorf("add/F32 failures do not name the guard: %s", f)
	}
	if f := strings.Join(got["mul_mat/Q4_K"].Failures, "\n"); !strings.Contains(f, "swiglu+residual") || strings.Contains(f, "/norm+shared/") {
		t.Errorf("mul_mat/Q4_K failures name another case than the faulty fused form: %s", f)
	}
	if f := strings.Join(got["scale/F32"].Failures, "\n"); !strings.Contains(f, "NaN") {
		t.Errorf("scale/F32 failures do not name the NaN: %s", f)
	}
	var b strings.Builder
	if err := conformance.WriteMatrix(&b, dev.Name(), rs); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "| mul_mat |") || !strings.Contains(b.String(), "✘") || !strings.Contains(b.String(), "—") {
		t.Errorf("matrix lacks rows or symbols:\n%s", b.String())
	}
}

// faulty is a CPU device with one planted fault per op kind.
type faulty struct{ *cpu.Device }

func (f *faulty) Supports(op backends.Op, t quant.Type) bool {
	if op == backends.OpSiLUMul || op == backends.OpRoPE {
		return false
	}
	return f.Device.Supports(op, t)
}

func (f *faulty) NewStream() (backends.Stream, error) {
	s, err := f.Device.NewStream()
	return &faultyStream{Stream: s}, err
}

type faultyStream struct {
	backends.Stream
	err error
}

func host(t backends.Tensor) []float32 {
	b := t.Buf.(*backends.HostBuffer).Bytes()
	n := t.Rows * t.Cols
	out := make([]float32, 0, n)
	for i := 0; i < n; i++ {
		o := t.Off + 4*i
		out = append(out, math.Float32frombits(uint32(b[o])|uint32(b[o+1])<<8|uint32(b[o+2])<<16|uint32(b[o+3])<<24))
	}
	return out
}

func set(t backends.Tensor, i int, v float32) {
	b := t.Buf.(*backends.HostBuffer).Bytes()
	o := t.Off + 4*i
	u := math.Float32bits(v)
	b[o], b[o+1], b[o+2], b[o+3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
}

func (s *faultyStream) MatMul(dst, w, x backends.Tensor) {
	s.Stream.MatMul(dst, w, x)
	if w.Type != quant.Q4_0 || s.Stream.Sync() != nil {
		return
	}
	y := host(dst)
	var amax float32
	for _, v := range y {
		amax = max(amax, float32(math.Abs(float64(v))))
	}
	set(dst, len(y)-1, y[len(y)-1]+0.01*amax)
}

func (s *faultyStream) Add(dst, a, b backends.Tensor) {
	s.Stream.Add(dst, a, b)
	set(dst, dst.Rows*dst.Cols, 1) // one past the end
}

func (s *faultyStream) Scale(dst, x backends.Tensor, f float32) {
	s.Stream.Scale(dst, x, f)
	if s.Stream.Sync() != nil {
		return
	}
	for i, v := range host(dst) {
		if v != v {
			set(dst, i, 0)
		}
	}
}

func (s *faultyStream) RMSNorm(dst, x, w backends.Tensor, eps float32) {
	if dst.Rows > 1 {
		dst.Rows--
		x.Rows--
	}
	s.Stream.RMSNorm(dst, x, w, eps)
}

func (s *faultyStream) SiLUMul(dst, gate, up backends.Tensor) {
	s.err = errors.Join(s.err, backends.ErrUnsupportedOp)
}

func (s *faultyStream) RoPE(x backends.Tensor, pos []int32, p backends.RoPE) {
	s.err = errors.Join(s.err, errors.New("rope exploded"))
}

// MatMulResidualSwiGLU offers the fused form (backends.SwiGLUMatMuler),
// which the kit then checks; for Q4_K weights it forgets silu(gate)·up and
// multiplies gate itself.
func (s *faultyStream) MatMulResidualSwiGLU(x, tmp, w, gate, up backends.Tensor) {
	if w.Type != quant.Q4_K {
		s.Stream.(backends.SwiGLUMatMuler).MatMulResidualSwiGLU(x, tmp, w, gate, up)
		return
	}
	s.Stream.MatMul(tmp, w, gate)
	s.Stream.Add(x, x, tmp)
}

func (s *faultyStream) Sync() error {
	err := errors.Join(s.err, s.Stream.Sync())
	s.err = nil
	return err
}
