package npu_test

import (
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/backends/npu"
	"github.com/nuri-ai/nuri/quant"
)

func newDev(t *testing.T, p npu.Profile, capacity uint64) *npu.Device {
	t.Helper()
	d, err := npu.New(p, 0, npu.Options{Threads: 2, Capacity: capacity})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

func f32bytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func TestParseConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg     string
		profile string
		index   int
		bad     bool
	}{
		{"", "rngd", 0, false}, {"0", "rngd", 0, false}, {"3", "rngd", 3, false},
		{"rngd", "rngd", 0, false}, {"atom", "atom", 0, false}, {"ATOM:2", "atom", 2, false},
		{"tpu", "", 0, true}, {"-1", "", 0, true}, {"atom:x", "", 0, true},
	} {
		p, idx, err := npu.ParseConfig(tc.cfg)
		if tc.bad {
			if !errors.Is(err, backends.ErrUnknownDevice) {
				t.Errorf("%q: err %v, want ErrUnknownDevice", tc.cfg, err)
			}
			continue
		}
		if err != nil || p.Name != tc.profile || idx != tc.index {
			t.Errorf("%q: %s %d %v, want %s %d", tc.cfg, p.Name, idx, err, tc.profile, tc.index)
		}
	}
}

// TestCapacity: allocations beyond the device memory fail with a message
// naming the usage, and freed memory can be reused.
func TestCapacity(t *testing.T) {
	d := newDev(t, npu.Profiles()[1], 1<<20)
	a, err := d.Alloc(600<<10, backends.UsageKV)
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.Alloc(600<<10, backends.UsageScratch)
	if !errors.Is(err, backends.ErrOutOfMemory) {
		t.Fatalf("second alloc: %v, want ErrOutOfMemory", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "scratch") || !strings.Contains(msg, "ATOM-class") || !strings.Contains(msg, "in use") {
		t.Errorf("unclear message: %s", msg)
	}
	// A 512×1024 weight needs 512 KiB + 2 KiB of int8 and scales: too big now.
	w := make([]float32, 512*1024)
	if _, err := d.Upload("big", quant.F32, 512, 1024, f32bytes(w)); !errors.Is(err, backends.ErrOutOfMemory) {
		t.Fatalf("upload: %v, want ErrOutOfMemory", err)
	}
	if free, total := d.Memory(); total != 1<<20 || free != 1<<20-600<<10 {
		t.Errorf("memory %d/%d", free, total)
	}
	if err := d.Free(a); err != nil {
		t.Fatal(err)
	}
	if err := d.Free(a); err == nil {
		t.Error("double free accepted")
	}
	if _, err := d.Upload("big", quant.F32, 512, 1024, f32bytes(w)); err != nil {
		t.Fatalf("upload after free: %v", err)
	}
	if wts, kv, _ := d.MemoryUsed(); wts != 512*1024+4*512 || kv != 0 {
		t.Errorf("used weights %d kv %d", wts, kv)
	}
}

// TestInt8Exact: with weights and activations that int8 represents
// exactly, the result must be the exact integer sum times the scales, even
// where a float32 accumulator would round (sums beyond 2²⁴).
func TestInt8Exact(t *testing.T) {
	d := newDev(t, npu.Profiles()[0], 0)
	rng := rand.New(rand.NewPCG(1, 2))
	const rows, k, n = 5, 4096, 3
	qw := make([]int8, rows*k)
	qx := make([]int8, n*k)
	for i := range qw {
		qw[i] = int8(100 + rng.IntN(28)) // large, same-signed products: sums ≈ 5·10⁷
	}
	for i := range qx {
		qx[i] = int8(100 + rng.IntN(28))
	}
	sw := []float32{0.5, 0.25, 2, 1, 0.125}
	sx := []float32{1, 0.5, 4}
	w := make([]float32, rows*k)
	for r := 0; r < rows; r++ {
		qw[r*k] = 127 // so the requantization's scale is exactly sw[r]
		for j := 0; j < k; j++ {
			w[r*k+j] = float32(qw[r*k+j]) * sw[r]
		}
	}
	x := make([]float32, n*k)
	for i := 0; i < n; i++ {
		qx[i*k] = 127
		for j := 0; j < k; j++ {
			x[i*k+j] = float32(qx[i*k+j]) * sx[i]
		}
	}
	wt, err := d.Upload("w", quant.F32, rows, k, f32bytes(w))
	if err != nil {
		t.Fatal(err)
	}
	if q := d.QuantReport(); q.RMSRel != 0 || q.Worst.MaxAbs != 0 {
		t.Errorf("int8-exact weights reported error %+v", q.Worst)
	}
	s, _ := d.NewStream()
	xt := alloc(t, d, n, k)
	yt := alloc(t, d, n, rows)
	s.(backends.Writer).Write(xt, x)
	s.MatMul(yt, wt, xt)
	got := make([]float32, n*rows)
	s.Read(got, yt)
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	var float32Differs bool
	for i := 0; i < n; i++ {
		for r := 0; r < rows; r++ {
			var acc int64
			var facc float32
			for j := 0; j < k; j++ {
				p := int64(qw[r*k+j]) * int64(qx[i*k+j])
				acc += p
				facc += float32(p)
			}
			want := float32(acc) * sw[r] * sx[i]
			if got[i*rows+r] != want {
				t.Errorf("y[%d][%d] = %g, want %g (exact %d)", i, r, got[i*rows+r], want, acc)
			}
			float32Differs = float32Differs || int64(facc) != acc
		}
	}
	if !float32Differs {
		t.Error("the test data does not exercise sums a float32 accumulator would round")
	}
}

func alloc(t *testing.T, d *npu.Device, rows, cols int) backends.Tensor {
	t.Helper()
	b, err := d.Alloc(4*rows*cols, backends.UsageScratch)
	if err != nil {
		t.Fatal(err)
	}
	return backends.Tensor{Name: "t", Buf: b, Type: quant.F32, Rows: rows, Cols: cols}
}

// TestRequantReport: the reported error is the measured one, and
// non-finite weights are refused.
func TestRequantReport(t *testing.T) {
	d := newDev(t, npu.Profiles()[0], 0)
	rng := rand.New(rand.NewPCG(3, 4))
	w := make([]float32, 64*256)
	for i := range w {
		w[i] = float32(rng.NormFloat64())
	}
	data := make([]byte, 64*(256/32)*34)
	if err := quant.Quantize(quant.Q8_0, w, data); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Upload("blk.0.w", quant.Q8_0, 64, 256, data); err != nil {
		t.Fatal(err)
	}
	q := d.QuantReport()
	if len(q.Tensors) != 1 || q.Worst.Name != "blk.0.w" || q.Worst.From != quant.Q8_0 || q.Worst.To != quant.I8 {
		t.Fatalf("report %+v", q)
	}
	// Gaussian rows of 256: max ≈ 3σ, step ≈ σ/42, error ≈ step/√12 ≈ 0.7%.
	if q.RMSRel < 0.003 || q.RMSRel > 0.012 {
		t.Errorf("rel-RMS %.4f outside the expected 0.3–1.2%%", q.RMSRel)
	}
	w[5] = float32(math.Inf(1))
	if _, err := d.Upload("bad", quant.F32, 64, 256, f32bytes(w)); err == nil || !strings.Contains(err.Error(), "non-finite") {
		t.Errorf("non-finite weight: %v", err)
	}
}

// TestTimeModel checks the roofline charge of a memory-bound decode matmul,
// of a bucket-padded batch, and of a compute-bound prefill (on a profile
// with a slow tensor unit, so that the test shape stays small).
func TestTimeModel(t *testing.T) {
	p := npu.Profiles()[0]
	slow := p
	slow.Name, slow.Int8OPS = "slow", 1e12
	const rows, k = 512, 512
	w := make([]float32, rows*k)
	for i := range w {
		w[i] = float32(i%255) - 127
	}
	charge := func(p npu.Profile, n int) (time.Duration, npu.SimStats) {
		d := newDev(t, p, 0)
		wt, err := d.Upload("w", quant.F32, rows, k, f32bytes(w))
		if err != nil {
			t.Fatal(err)
		}
		s, _ := d.NewStream()
		x, y := alloc(t, d, n, k), alloc(t, d, n, rows)
		s.MatMul(y, wt, x)
		if err := s.Sync(); err != nil {
			t.Fatal(err)
		}
		return d.SimTime(), d.SimStats()
	}
	sec := func(v float64) time.Duration { return time.Duration(v * 1e9) }
	for _, tc := range []struct {
		name string
		p    npu.Profile
		n    int
		want time.Duration
	}{
		// Decode: the weights (int8 + scales) and one activation row.
		{"decode", p, 1, sec(float64(rows*k+4*rows+4*k+4*rows) / p.Bandwidth)},
		// 3 tokens run as the bucket of 4.
		{"batch 3", p, 3, sec(float64(rows*k+4*rows+4*4*k+4*4*rows) / p.Bandwidth)},
		// The ATOM-class chip's slower memory.
		{"decode atom", npu.Profiles()[1], 1, sec(float64(rows*k+4*rows+4*k+4*rows) / npu.Profiles()[1].Bandwidth)},
		// 100 tokens run as 128, compute bound.
		{"prefill", slow, 100, sec(2 * 128 * rows * k / slow.Int8OPS)},
	} {
		got, st := charge(tc.p, tc.n)
		if got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
		if st.Tokens != tc.n || st.Padded != (backends.Buckets{BatchSizes: []int{1, 2, 4, 8, 16}, TokenMultiple: 64}).Pad(tc.n) || st.Calls[backends.OpMatMul] != 1 {
			t.Errorf("%s: stats %+v", tc.name, st)
		}
	}
}

// TestForeignBuffers: ops refuse memory of another device, and accept
// host memory (charged at the host link).
func TestForeignBuffers(t *testing.T) {
	p := npu.Profiles()[0]
	d := newDev(t, p, 0)
	other := newDev(t, p, 0)
	ob, _ := other.Alloc(64, backends.UsageScratch)
	s, _ := d.NewStream()
	foreign := backends.Tensor{Name: "x", Buf: ob, Type: quant.F32, Rows: 4, Cols: 4}
	mine := alloc(t, d, 4, 4)
	s.Scale(mine, foreign, 2)
	if err := s.Sync(); !errors.Is(err, backends.ErrUnsupportedOp) {
		t.Errorf("foreign buffer: %v, want ErrUnsupportedOp", err)
	}
	h := backends.Tensor{Name: "h", Buf: backends.NewHostBuffer(64), Type: quant.F32, Rows: 4, Cols: 4}
	d.ResetSim()
	s.Scale(mine, h, 2)
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	if st := d.SimStats(); st.HostBytes != 64 || st.DevBytes != 64 {
		t.Errorf("host bytes %v, device bytes %v, want 64 and 64", st.HostBytes, st.DevBytes)
	}
}
