package cpu_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/backends/cpu"
	"github.com/nuri-ai/nuri/kernels"
	"github.com/nuri-ai/nuri/quant"
)

// fixture is a device, a stream and helpers to make host tensors.
type fixture struct {
	t   testing.TB
	dev *cpu.Device
	s   backends.Stream
}

func newFixture(t testing.TB) *fixture {
	dev := cpu.New(2)
	t.Cleanup(func() { dev.Close() })
	s, err := dev.NewStream()
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, dev: dev, s: s}
}

// tensor makes an F32 tensor holding v (rows×cols).
func (f *fixture) tensor(name string, rows, cols int, v []float32) backends.Tensor {
	x := f32Tensor(f.t, f.dev, name, rows, cols)
	copy(hostF32(f.t, x), v)
	return x
}

// weight uploads rows×cols random weights (scale 0.1) quantized to wt,
// through upload (the device's Upload, or UploadLookup).
func (f *fixture) weight(r *rand.Rand, name string, wt quant.Type, rows, cols int, upload func(string, quant.Type, int, int, []byte) (backends.Tensor, error)) backends.Tensor {
	f.t.Helper()
	rb, _ := wt.RowBytes(cols)
	wb := make([]byte, rows*rb)
	if err := quant.Quantize(wt, randVec(r, rows*cols, 0.1), wb); err != nil {
		f.t.Fatal(err)
	}
	w, err := upload(name, wt, rows, cols, wb)
	if err != nil {
		f.t.Fatal(err)
	}
	return w
}

func (f *fixture) sync() {
	f.t.Helper()
	if err := f.s.Sync(); err != nil {
		f.t.Fatal(err)
	}
}

func randVec(r *rand.Rand, n int, scale float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = (r.Float32()*2 - 1) * scale
	}
	return v
}

func maxAbsDiff(a []float32, b []float64) float64 {
	var m float64
	for i := range b {
		m = max(m, math.Abs(float64(a[i])-b[i]))
	}
	return m
}

// TestRMSNorm compares with the float64 formula on awkward row lengths.
func TestRMSNorm(t *testing.T) {
	f := newFixture(t)
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 7, 64, 173} {
		rows := 3
		x := randVec(r, rows*n, 4)
		w := randVec(r, n, 2)
		y := f.tensor("y", rows, n, nil)
		f.s.RMSNorm(y, f.tensor("x", rows, n, x), f.tensor("w", 1, n, w), 1e-5)
		f.sync()
		want := make([]float64, rows*n)
		for i := range rows {
			var ss float64
			for _, v := range x[i*n : (i+1)*n] {
				ss += float64(v) * float64(v)
			}
			sc := 1 / math.Sqrt(ss/float64(n)+1e-5)
			for j := range n {
				want[i*n+j] = float64(x[i*n+j]) * sc * float64(w[j])
			}
		}
		if d := maxAbsDiff(hostF32(t, y), want); d > 1e-5 {
			t.Errorf("n=%d: max |diff| %.2e", n, d)
		}
	}
}

// TestLayerNorm compares with the float64 formula (x−mean)/√(var+eps)·w+b
// on rows far off zero (a variance from a naive Σx²−mean² would lose
// digits there), with and without the bias, in place and not; the bound
// is float32 rounding of values around 10.
func TestLayerNorm(t *testing.T) {
	f := newFixture(t)
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{1, 7, 64, 384, 1000} {
		for _, bias := range []bool{true, false} {
			rows := 70 // over runRows' 64: the pool splits them
			x := randVec(r, rows*n, 2)
			for i := range x {
				x[i] += 100
			}
			w, b := randVec(r, n, 3), randVec(r, n, 1)
			want := make([]float64, rows*n)
			for i := range rows {
				var sum, sq float64
				for _, v := range x[i*n : (i+1)*n] {
					sum += float64(v)
				}
				mean := sum / float64(n)
				for _, v := range x[i*n : (i+1)*n] {
					sq += (float64(v) - mean) * (float64(v) - mean)
				}
				sc := 1 / math.Sqrt(sq/float64(n)+1e-12)
				for j := range n {
					want[i*n+j] = (float64(x[i*n+j]) - mean) * sc * float64(w[j])
					if bias {
						want[i*n+j] += float64(b[j])
					}
				}
			}
			xt := f.tensor("x", rows, n, x)
			var bt backends.Tensor
			if bias {
				bt = f.tensor("b", 1, n, b)
			}
			y := xt // in place
			if bias {
				y = f.tensor("y", rows, n, nil)
			}
			f.s.(backends.LayerNormer).LayerNorm(y, xt, f.tensor("w", 1, n, w), bt, 1e-12)
			f.sync()
			if n == 1 {
				// A row of one value normalises to zero: only the bias is left.
				for i, v := range hostF32(t, y) {
					if bias && v != b[0] || !bias && v != 0 {
						t.Fatalf("n=1 row %d: %g", i, v)
					}
				}
				continue
			}
			if d := maxAbsDiff(hostF32(t, y), want); d > 2e-4 {
				t.Errorf("n=%d bias=%v: max |diff| %.2e", n, bias, d)
			}
		}
	}
}

// TestGELU: the stream's GELU is kernels.GELUMul with every up 1, bit for
// bit, over more elements than one unit of work.
func TestGELU(t *testing.T) {
	f := newFixture(t)
	r := rand.New(rand.NewPCG(5, 6))
	rows, n := 5, 1500
	x := randVec(r, rows*n, 6)
	ones := make([]float32, len(x))
	for i := range ones {
		ones[i] = 1
	}
	want := make([]float32, len(x))
	kernels.GELUMul(want, x, ones)
	y := f.tensor("y", rows, n, nil)
	f.s.(backends.GELUer).GELU(y, f.tensor("x", rows, n, x))
	f.sync()
	for i, v := range hostF32(t, y) {
		if math.Float32bits(v) != math.Float32bits(want[i]) {
			t.Fatalf("gelu(%g) = %g, want %g", x[i], v, want[i])
		}
	}
}

// TestRoPE compares with the closed-form angles pos·base^(-2i/d)/ff_i (in
// float64): the op iterates θ in float32 as ggml does, which drifts by a
// few 1e-7 relative per pair, so the bound is loose but catches any
// wrong pairing, factor or YaRN term.
func TestRoPE(t *testing.T) {
	const nHead, hd, nDims = 2, 16, 12 // dims 12..15 must pass through
	cases := []struct {
		name  string
		neox  bool
		freqs bool
		scale float32
		yarn  bool
	}{
		{"norm", false, false, 1, false},
		{"neox", true, false, 1, false},
		{"norm-freqs-linear", false, true, 0.5, false},
		{"neox-yarn", true, false, 0.25, true},
	}
	r := rand.New(rand.NewPCG(3, 4))
	pos := []int32{0, 1, 17, 99}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			x0 := randVec(r, len(pos)*nHead*hd, 1)
			x := f.tensor("x", len(pos)*nHead, hd, x0)
			p := backends.RoPE{NHead: nHead, NDims: nDims, Neox: c.neox, Base: 10000, FreqScale: c.scale,
				AttnFactor: 1, BetaFast: 32, BetaSlow: 1, NCtxOrig: 64}
			ff := make([]float64, nDims/2)
			for i := range ff {
				ff[i] = 1
			}
			if c.freqs {
				fv := randVec(r, nDims/2, 1)
				for i := range fv {
					fv[i] = 1 + 3*float32(math.Abs(float64(fv[i])))
					ff[i] = float64(fv[i])
				}
				p.Freqs = f.tensor("freqs", 1, nDims/2, fv)
			}
			if c.yarn {
				p.ExtFactor = 1
			}
			f.s.RoPE(x, pos, p)
			f.sync()
			want := ropeRef(x0, pos, nHead, hd, p, ff)
			if d := maxAbsDiff(hostF32(t, x), want); d > 2e-4 {
				t.Errorf("max |diff| %.2e", d)
			}
			// One position at a time (decode: the stream reuses the last
			// position's table), with another head count in between and a
			// position repeated: the bits of the whole-batch call.
			all := hostF32(t, x)
			for _, i := range []int{2, 2, 0, 3, 1, 2} {
				one := f.tensor("one", nHead, hd, x0[i*nHead*hd:(i+1)*nHead*hd])
				f.s.RoPE(one, pos[i:i+1], p)
				other := p
				other.NHead = 1
				f.s.RoPE(f.tensor("other", 1, hd, x0[:hd]), pos[i:i+1], other)
				f.sync()
				for j, v := range hostF32(t, one) {
					if math.Float32bits(v) != math.Float32bits(all[i*nHead*hd+j]) {
						t.Fatalf("position %d alone: x[%d] = %g, %g in the batch", pos[i], j, v, all[i*nHead*hd+j])
					}
				}
			}
		})
	}
}

// ropeRef is the textbook rotation in float64.
func ropeRef(x []float32, pos []int32, nHead, hd int, p backends.RoPE, ff []float64) []float64 {
	d := p.NDims
	corr := func(beta float64) float64 {
		return float64(d) * math.Log(float64(p.NCtxOrig)/(beta*2*math.Pi)) / (2 * math.Log(float64(p.Base)))
	}
	lo, hi := math.Max(0, math.Floor(corr(float64(p.BetaFast)))), math.Min(float64(d-1), math.Ceil(corr(float64(p.BetaSlow))))
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	for ti, ps := range pos {
		for h := range nHead {
			row := out[(ti*nHead+h)*hd:]
			for i := 0; i < d/2; i++ {
				extrap := float64(ps) * math.Pow(float64(p.Base), -2*float64(i)/float64(d)) / ff[i]
				theta, mscale := float64(p.FreqScale)*extrap, 1.0
				if p.ExtFactor != 0 {
					ramp := 1 - math.Min(1, math.Max(0, (float64(i)-lo)/math.Max(0.001, hi-lo)))
					theta = theta*(1-ramp) + extrap*ramp
					mscale *= 1 + 0.1*math.Log(1/float64(p.FreqScale))
				}
				a, b := 2*i, 2*i+1
				if p.Neox {
					a, b = i, i+d/2
				}
				c, s := math.Cos(theta)*mscale, math.Sin(theta)*mscale
				x0, x1 := row[a], row[b]
				row[a], row[b] = x0*c-x1*s, x0*s+x1*c
			}
		}
	}
	return out
}

// attnSetup fills a paged cache of type kt with random K/V for positions
// 0..n-1 of one sequence (block table reversed to exercise paging, or as
// newAttnSetupIn places it) and returns the values written.
type attnSetup struct {
	kv     backends.PagedKV
	table  []int32
	k, v   []float32 // [n][nKV*hd]
	nKV    int
	hd, bs int
}

func newAttnSetup(t testing.TB, f *fixture, r *rand.Rand, kt quant.Type, n, nKV, hd, bs int) *attnSetup {
	return newAttnSetupIn(t, f, r, kt, n, nKV, hd, bs, reversedBlocks)
}

// reversedBlocks and rotatedBlocks place block i of nb: the first in
// reverse order, no block following its predecessor in the cache; the
// second as two ascending runs (the sequence's second half first), so the
// kernels see runs of several blocks as well as a jump.
func reversedBlocks(i, nb int) int32 { return int32(nb - 1 - i) }
func rotatedBlocks(i, nb int) int32  { return int32((i + nb/2) % nb) }

// newAttnSetupIn is newAttnSetup with block i of the sequence's nb blocks
// stored in cache block place(i, nb).
func newAttnSetupIn(t testing.TB, f *fixture, r *rand.Rand, kt quant.Type, n, nKV, hd, bs int, place func(i, nb int) int32) *attnSetup {
	return newAttnSetupKV(t, f, r, kt, kt, n, nKV, hd, bs, place)
}

// newAttnSetupKV is newAttnSetupIn with V rows of type vt.
func newAttnSetupKV(t testing.TB, f *fixture, r *rand.Rand, kt, vt quant.Type, n, nKV, hd, bs int, place func(i, nb int) int32) *attnSetup {
	nb := (n + bs - 1) / bs
	a := &attnSetup{nKV: nKV, hd: hd, bs: bs, table: make([]int32, nb)}
	for i := range a.table {
		a.table[i] = place(i, nb)
	}
	kRow, _ := kt.RowBytes(hd)
	vRow, _ := vt.RowBytes(hd)
	rows := nb * bs * nKV
	kb, _ := f.dev.Alloc(rows*kRow, backends.UsageKV)
	vb, _ := f.dev.Alloc(rows*vRow, backends.UsageKV)
	a.kv = backends.PagedKV{NHeadKV: nKV, BlockSize: bs,
		K: backends.Tensor{Name: "k", Buf: kb, Type: kt, Rows: rows, Cols: hd},
		V: backends.Tensor{Name: "v", Buf: vb, Type: vt, Rows: rows, Cols: hd}}
	a.k, a.v = randVec(r, n*nKV*hd, 1), randVec(r, n*nKV*hd, 1)
	slots := make([]int32, n)
	for p := range slots {
		slots[p] = a.table[p/bs]*int32(bs) + int32(p%bs)
	}
	f.s.StoreKV(a.kv, f.tensor("kin", n, nKV*hd, a.k), f.tensor("vin", n, nKV*hd, a.v), slots)
	f.sync()
	return a
}

// checkEachQueryAlone checks batch invariance: each query row of q, run
// alone, gives the bits got holds for it from the call with all of rows.
func checkEachQueryAlone(t *testing.T, f *fixture, got, q []float32, rows backends.AttnRows, kv backends.PagedKV, p backends.Attn) {
	t.Helper()
	wq, wy := p.NHead*p.HeadDimK, p.NHead*p.HeadDimV
	for i := range rows.Pos {
		yi := f.tensor("yi", 1, wy, nil)
		one := backends.AttnRows{Pos: rows.Pos[i : i+1], Tables: rows.Tables[i : i+1]}
		f.s.Attention(yi, f.tensor("qi", 1, wq, q[i*wq:(i+1)*wq]), kv, one, p)
		f.sync()
		for j, v := range hostF32(t, yi) {
			if math.Float32bits(v) != math.Float32bits(got[i*wy+j]) {
				t.Fatalf("query %d alone differs at %d: %v vs %v", i, j, v, got[i*wy+j])
			}
		}
	}
}

// attnRef is softmax attention in float64 over positions lo..pos.
func attnRef(q []float32, pos []int, a *attnSetup, nHead int, scale float64, window int) []float64 {
	return attnRefRounded(q, pos, a, nHead, scale, window, false)
}

// attnRefRounded is attnRef with the probabilities rounded to fp16 when
// roundP16 is set, as the device rounds them for an F16 V cache.
func attnRefRounded(q []float32, pos []int, a *attnSetup, nHead int, scale float64, window int, roundP16 bool) []float64 {
	hd := a.hd
	out := make([]float64, len(pos)*nHead*hd)
	for ti, p := range pos {
		lo := 0
		if window > 0 {
			lo = max(0, p-window+1)
		}
		for h := range nHead {
			kvh := h / (nHead / a.nKV)
			qh := q[(ti*nHead+h)*hd : (ti*nHead+h+1)*hd]
			sc := make([]float64, p-lo+1)
			mx := math.Inf(-1)
			for j := lo; j <= p; j++ {
				var s float64
				for d := range hd {
					s += float64(qh[d]) * float64(a.k[(j*a.nKV+kvh)*hd+d])
				}
				sc[j-lo] = s * scale
				mx = math.Max(mx, sc[j-lo])
			}
			var sum float64
			for i := range sc {
				sc[i] = math.Exp(sc[i] - mx)
				sum += sc[i]
			}
			o := out[(ti*nHead+h)*hd:]
			for j := lo; j <= p; j++ {
				pj := sc[j-lo] / sum
				if roundP16 {
					pj = float64(quant.FP16ToFP32(quant.FP32ToFP16(float32(pj))))
				}
				for d := range hd {
					o[d] += pj * float64(a.v[(j*a.nKV+kvh)*hd+d])
				}
			}
		}
	}
	return out
}

// TestAttention checks paged attention (GQA, sliding window, reversed
// block table) against float64 softmax attention. An F32 cache matches to
// float rounding; F16 and Q8_0 caches differ by their storage precision.
func TestAttention(t *testing.T) {
	const n, nHead, nKV, hd, bs = 11, 4, 2, 32, 4
	cases := []struct {
		kt     quant.Type
		window int
		tol    float64
	}{
		{quant.F32, 0, 1e-5}, {quant.F32, 3, 1e-5}, {quant.F16, 0, 3e-3}, {quant.Q8_0, 5, 3e-2},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%v/window%d", c.kt, c.window), func(t *testing.T) {
			f := newFixture(t)
			r := rand.New(rand.NewPCG(5, uint64(c.window)))
			a := newAttnSetup(t, f, r, c.kt, n, nKV, hd, bs)
			qpos := []int{0, 3, 7, 10}
			q := randVec(r, len(qpos)*nHead*hd, 1)
			rows := backends.AttnRows{}
			for _, p := range qpos {
				rows.Pos = append(rows.Pos, int32(p))
				rows.Tables = append(rows.Tables, a.table)
			}
			p := backends.Attn{NHead: nHead, NHeadKV: nKV, HeadDimK: hd, HeadDimV: hd, Scale: 0.3, Window: c.window}
			y := f.tensor("y", len(qpos), nHead*hd, nil)
			f.s.Attention(y, f.tensor("q", len(qpos), nHead*hd, q), a.kv, rows, p)
			f.sync()
			want := attnRef(q, qpos, a, nHead, 0.3, c.window)
			got := hostF32(t, y)
			if d := maxAbsDiff(got, want); d > c.tol {
				t.Errorf("max |diff| %.2e > %.0e", d, c.tol)
			}
			checkEachQueryAlone(t, f, got, q, rows, a.kv, p)
		})
	}
}

// TestGetRows: looked-up rows are the dequantized rows of the table, for
// tables read in place and for tables the device repacked or copied (a
// tied embedding), which are read from the device's copy: the test
// overwrites the uploaded bytes after Upload to tell the two apart.
func TestGetRows(t *testing.T) {
	f := newFixture(t)
	r := rand.New(rand.NewPCG(7, 8))
	for _, tt := range []struct {
		typ        quant.Type
		rows, cols int
	}{
		{quant.Q8_0, 5, 64},
		{quant.Q4_0, 19, 96},
		{quant.Q6_K, 17, 512},
		{quant.Q4_K, 3, 256},
		{quant.Q3_K, 18, 256},
		{quant.F16, 2, 8},
		{quant.F32, 6, 40},  // activations: plain copies
		{quant.F32, 4, 256}, // an F32 table read from its packed copy
	} {
		t.Run(tt.typ.String(), func(t *testing.T) {
			rb, err := tt.typ.RowBytes(tt.cols)
			if err != nil {
				t.Fatal(err)
			}
			q := make([]byte, tt.rows*rb)
			if err := quant.Quantize(tt.typ, randVec(r, tt.rows*tt.cols, 2), q); err != nil {
				t.Fatal(err)
			}
			orig := append([]byte(nil), q...)
			w, err := f.dev.Upload("table", tt.typ, tt.rows, tt.cols, q)
			if err != nil {
				t.Fatal(err)
			}
			owned := f.dev.OwnsCopy(w)
			packs, plain := deviceCopies(tt.typ, tt.cols)
			if owned != (packs || plain) {
				t.Fatalf("OwnsCopy %v; packs %v, plain copy %v", owned, packs, plain)
			}
			if owned {
				for i := range q {
					q[i] = 0xFF // only the device's copy still holds the table
				}
			}
			ids := []int32{int32(tt.rows - 1), 0, int32(tt.rows - 1), int32(tt.rows / 2)}
			y := f.tensor("y", len(ids), tt.cols, nil)
			f.s.GetRows(y, w, ids)
			f.sync()
			for i, id := range ids {
				want := make([]float32, tt.cols)
				if err := quant.Dequantize(tt.typ, orig[int(id)*rb:(int(id)+1)*rb], want); err != nil {
					t.Fatal(err)
				}
				for j, v := range hostF32(t, y)[i*tt.cols : (i+1)*tt.cols] {
					if math.Float32bits(v) != math.Float32bits(want[j]) {
						t.Fatalf("row %d (id %d) col %d: %v, want %v (device copy %v)", i, id, j, v, want[j], owned)
					}
				}
			}
		})
	}
}

// TestUploadZeroCopy: the tensor Upload returns wraps the caller's bytes
// (the mapped file), never a copy or a dequantized table; types with a
// packed layout also get the device's own repacked copy for MatMul
// (TestUploadRepacks).
func TestUploadZeroCopy(t *testing.T) {
	f := newFixture(t)
	data := make([]byte, 4*34)
	w, err := f.dev.Upload("w", quant.Q8_0, 4, 32, data)
	if err != nil {
		t.Fatal(err)
	}
	hb, ok := w.Buf.(*backends.HostBuffer)
	if !ok || &hb.Bytes()[0] != &data[0] {
		t.Fatal("Upload copied the weight")
	}
	if _, err := f.dev.Upload("short", quant.Q8_0, 5, 32, data); !errors.Is(err, backends.ErrShape) {
		t.Fatalf("short data: %v", err)
	}
}

// TestScaleRows: each row times its own factor, as Scale would give it
// (bit for bit), in place and not; a scale count that is not the row
// count is a shape error.
func TestScaleRows(t *testing.T) {
	f := newFixture(t)
	r := rand.New(rand.NewPCG(3, 4))
	for _, cols := range []int{1, 5, 64} {
		x := randVec(r, 3*cols, 2)
		scales := []float32{0.5, 0, -3}
		y := f.tensor("y", 3, cols, nil)
		xt := f.tensor("x", 3, cols, x)
		f.s.(backends.RowScaler).ScaleRows(y, xt, scales)
		f.s.(backends.RowScaler).ScaleRows(xt, xt, scales)
		f.sync()
		for i, got := range hostF32(t, y) {
			if want := x[i] * scales[i/cols]; got != want || hostF32(t, xt)[i] != want {
				t.Fatalf("cols %d, value %d: %v and %v in place, want %v", cols, i, got, hostF32(t, xt)[i], want)
			}
		}
	}
	f.s.(backends.RowScaler).ScaleRows(f.tensor("y", 2, 4, nil), f.tensor("x", 2, 4, nil), []float32{1})
	if err := f.s.Sync(); !errors.Is(err, backends.ErrShape) {
		t.Fatalf("one scale for two rows: %v, want ErrShape", err)
	}
}

// TestStickyErrors: a bad op's error is returned by Sync (wrapping
// ErrShape or ErrUnsupportedOp), later ops are skipped, and Sync clears it.
func TestStickyErrors(t *testing.T) {
	f := newFixture(t)
	a := f.tensor("a", 2, 8, nil)
	b := f.tensor("b", 3, 8, []float32{1})
	f.s.Add(a, a, b) // 3 rows cannot broadcast onto 2
	y := f.tensor("y", 2, 8, nil)
	f.s.Scale(y, f.tensor("one", 2, 8, []float32{1, 1}), 2) // skipped
	if err := f.s.Sync(); !errors.Is(err, backends.ErrShape) {
		t.Fatalf("Sync: %v, want ErrShape", err)
	}
	if hostF32(t, y)[0] != 0 {
		t.Fatal("op after a failed op ran")
	}
	if err := f.s.Sync(); err != nil {
		t.Fatalf("second Sync: %v", err)
	}
	w, _ := f.dev.Upload("tq", quant.TQ2_0, 1, 256, make([]byte, 66))
	f.s.MatMul(f.tensor("o", 1, 1, nil), w, f.tensor("x", 1, 32, nil))
	if err := f.s.Sync(); !errors.Is(err, backends.ErrUnsupportedOp) {
		t.Fatalf("TQ2_0 matmul: %v, want ErrUnsupportedOp", err)
	}
	kv := backends.PagedKV{NHeadKV: 1, BlockSize: 4, K: f.tensor("k", 4, 8, nil), V: f.tensor("v", 4, 8, nil)}
	f.s.StoreKV(kv, f.tensor("kin", 1, 8, nil), f.tensor("vin", 1, 8, nil), []int32{4})
	if err := f.s.Sync(); !errors.Is(err, backends.ErrShape) {
		t.Fatalf("slot outside the cache: %v, want ErrShape", err)
	}
}

// TestAttentionGroupedHeads: with an F16 or a Q8_0 cache the query heads
// of a KV head are scored and summed together (kvGroup); the outputs must
// be, bit for bit, those of the pure-Go kernels, which take the heads one
// at a time — for groups of 4 and 8 heads (one and two four-head passes),
// 6 and 7 (a pass, then two or three heads padded to a second one), 2 and
// 3 (padded), head sizes with and without a tail past the last 16, and a
// window.
func TestAttentionGroupedHeads(t *testing.T) {
	for _, c := range []struct {
		nHead, nKV, hd, window int
		qpos                   []int
	}{
		{8, 2, 64, 0, []int{0, 15, 16, 44}}, {16, 2, 64, 0, []int{0, 15, 16, 44}}, {12, 2, 80, 0, []int{0, 15, 16, 44}},
		{8, 2, 64, 9, []int{0, 15, 16, 44}}, {8, 1, 48, 0, []int{0, 15, 16, 44}},
		{14, 2, 64, 0, []int{0, 15, 16, 44}}, {6, 2, 128, 0, []int{0, 15, 16, 44}}, {4, 2, 128, 0, []int{0, 17, 44}},
		// One token: too few four-head units for the threads, so units
		// of two heads (and of one for a single KV head's two).
		{8, 2, 64, 0, []int{44}}, {16, 1, 64, 0, []int{30}}, {4, 2, 64, 0, []int{44}},
		// One query head a KV head: up to four tokens share a pass
		// (tokenGroup), in groups of four, of three and alone, with and
		// without a window, heads of 64, 80 and 128.
		{4, 4, 64, 0, []int{0, 15, 16, 44}}, {4, 4, 64, 9, []int{0, 15, 16, 44, 2, 3, 40}},
		{2, 2, 80, 0, seq(45)}, {3, 3, 128, 5, seq(45)}, {4, 4, 64, 0, []int{44, 43, 42, 41, 40}},
		// Two query heads a KV head: two tokens a pass.
		{4, 2, 64, 0, seq(45)}, {8, 4, 64, 7, []int{0, 15, 16, 44, 9}}, {4, 2, 96, 0, []int{3, 30, 31}},
	} {
		for _, kt := range []quant.Type{quant.F16, quant.Q8_0} {
			if kt == quant.Q8_0 && c.hd%32 != 0 {
				continue // Q8_0 rows are whole 32-element blocks
			}
			testAttentionGrouped(t, kt, c.nHead, c.nKV, c.hd, c.window, c.qpos)
		}
	}
}

// seq is 0, 1, …, n-1.
func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// TestAttentionTokenGroups: tokens of different sequences never share a
// pass (a group ends where the block table changes), and splitting a
// call's tokens so changes no bit; one and two query heads a KV head, on
// an F16 cache and on two of the block types whose groups are larger
// (quantTokenGroup), alone and beside Q8_0 or F16 (K and V apart), with
// their storage precision as the tolerance.
func TestAttentionTokenGroups(t *testing.T) {
	for _, c := range []struct {
		kt, vt quant.Type
		tol    float64
	}{{quant.F16, quant.F16, 3e-3}, {quant.Q4_0, quant.Q4_0, 0.16}, {quant.Q5_1, quant.Q5_1, 0.04},
		{quant.Q8_0, quant.Q4_0, 0.16}, {quant.Q5_1, quant.F16, 0.04}} {
		for _, nKV := range []int{2, 1} {
			t.Run(fmt.Sprintf("%v+%v/kv%d", c.kt, c.vt, nKV), func(t *testing.T) { testAttentionTokenGroups(t, c.kt, c.vt, c.tol, nKV) })
		}
	}
}

func testAttentionTokenGroups(t *testing.T, kt, vt quant.Type, tol float64, nKV int) {
	const n, nHead, hd, bs = 30, 2, 64, 8
	f := newFixture(t)
	r := rand.New(rand.NewPCG(11, 12))
	a := newAttnSetupKV(t, f, r, kt, vt, n, nKV, hd, bs, reversedBlocks)
	other := append([]int32(nil), a.table...) // the same blocks, another sequence's table
	qpos := seq(n)
	q := randVec(r, n*nHead*hd, 1)
	p := backends.Attn{NHead: nHead, NHeadKV: nKV, HeadDimK: hd, HeadDimV: hd, Scale: 0.125}
	run := func(table func(i int) []int32) []float32 {
		rows := backends.AttnRows{}
		for i, ps := range qpos {
			rows.Pos = append(rows.Pos, int32(ps))
			rows.Tables = append(rows.Tables, table(i))
		}
		y := f.tensor("y", n, nHead*hd, nil)
		f.s.Attention(y, f.tensor("q", n, nHead*hd, q), a.kv, rows, p)
		f.sync()
		return append([]float32(nil), hostF32(t, y)...)
	}
	one := run(func(int) []int32 { return a.table })
	for _, split := range []func(i int) []int32{
		func(i int) []int32 { return [][]int32{a.table, other}[i%2] },
		func(i int) []int32 { return [][]int32{a.table, other}[i/3%2] },
	} {
		got := run(split)
		for i := range one {
			if math.Float32bits(got[i]) != math.Float32bits(one[i]) {
				t.Fatalf("element %d: %v with the tables split, %v with one table", i, got[i], one[i])
			}
		}
	}
	if d := maxAbsDiff(one, attnRef(q, qpos, a, nHead, 0.125, 0)); d > tol {
		t.Errorf("max |diff| from float64 attention %.2e > %.0e", d, tol)
	}
}

// testAttentionGrouped runs one TestAttentionGroupedHeads case on a
// cache of type kt (K and V).
func testAttentionGrouped(t *testing.T, kt quant.Type, nHead, nKV, hd, window int, qpos []int) {
	tol := 3e-3 // storage precision, as TestAttention
	if kt == quant.Q8_0 {
		tol = 3e-2
	}
	t.Run(fmt.Sprintf("%v/heads%d/kv%d/hd%d/window%d/tokens%d", kt, nHead, nKV, hd, window, len(qpos)), func(t *testing.T) {
		const n, bs = 45, 8
		var want []float64
		run := func(ks kernels.KernelSet, place func(i, nb int) int32) []float32 {
			f := newFixture(t)
			f.dev.SetKernelSet(ks)
			r := rand.New(rand.NewPCG(9, uint64(hd)))
			a := newAttnSetupIn(t, f, r, kt, n, nKV, hd, bs, place)
			q := randVec(r, len(qpos)*nHead*hd, 1)
			want = attnRef(q, qpos, a, nHead, 0.125, window)
			rows := backends.AttnRows{}
			for _, p := range qpos {
				rows.Pos = append(rows.Pos, int32(p))
				rows.Tables = append(rows.Tables, a.table)
			}
			p := backends.Attn{NHead: nHead, NHeadKV: nKV, HeadDimK: hd, HeadDimV: hd, Scale: 0.125, Window: window}
			y := f.tensor("y", len(qpos), nHead*hd, nil)
			f.s.Attention(y, f.tensor("q", len(qpos), nHead*hd, q), a.kv, rows, p)
			f.sync()
			return append([]float32(nil), hostF32(t, y)...)
		}
		// The best loops (AVX-512: grouped heads) and AVX2's (a loop a
		// head) give the generic loops' bits.
		ref := run(kernels.KernelsGeneric, reversedBlocks)
		sets := []kernels.KernelSet{kernels.KernelsBest, kernels.KernelsAVX2}
		for _, ks := range sets {
			fast := run(ks, reversedBlocks)
			if d := maxAbsDiff(fast, want); d > tol {
				t.Errorf("%v: max |diff| from float64 attention %.2e > %.0e", ks, d, tol)
			}
			for i := range ref {
				if math.Float32bits(fast[i]) != math.Float32bits(ref[i]) {
					t.Fatalf("%v: element %d (token %d, head %d): grouped %v, one head at a time %v",
						ks, i, i/(nHead*hd), i/hd%nHead, fast[i], ref[i])
				}
			}
		}
		// Where the blocks lie, and so how many rows one kernel call
		// covers, changes no bit.
		for _, ks := range append(sets, kernels.KernelsGeneric) {
			runs := run(ks, rotatedBlocks)
			for i := range runs {
				if math.Float32bits(runs[i]) != math.Float32bits(ref[i]) {
					t.Fatalf("%v, element %d: blocks in runs %v, reversed blocks %v", ks, i, runs[i], ref[i])
				}
			}
		}
	})
}

// TestAttentionRowStarts: AttnRows.Lo gives each token its own first key
// (a symmetric window's), the bits of a call with that token alone and
// the window reaching back to it; with several tokens of one sequence
// (grouped, one and two query heads a KV head) and alone.
func TestAttentionRowStarts(t *testing.T) {
	for _, nKV := range []int{2, 1} {
		const n, nHead, hd, bs = 30, 2, 64, 8
		f := newFixture(t)
		r := rand.New(rand.NewPCG(13, uint64(nKV)))
		a := newAttnSetup(t, f, r, quant.F16, n, nKV, hd, bs)
		pos := []int32{5, 29, 29, 12, 20, 0}
		lo := []int32{0, 21, 3, 4, 20, 0}
		q := randVec(r, len(pos)*nHead*hd, 1)
		p := backends.Attn{NHead: nHead, NHeadKV: nKV, HeadDimK: hd, HeadDimV: hd, Scale: 0.125}
		rows := backends.AttnRows{Pos: pos, Lo: lo}
		for range pos {
			rows.Tables = append(rows.Tables, a.table)
		}
		y := f.tensor("y", len(pos), nHead*hd, nil)
		f.s.Attention(y, f.tensor("q", len(pos), nHead*hd, q), a.kv, rows, p)
		f.sync()
		got := append([]float32(nil), hostF32(t, y)...)
		for i := range pos {
			one := p
			one.Window = int(pos[i] - lo[i] + 1)
			yi := f.tensor("yi", 1, nHead*hd, nil)
			f.s.Attention(yi, f.tensor("qi", 1, nHead*hd, q[i*nHead*hd:(i+1)*nHead*hd]), a.kv,
				backends.AttnRows{Pos: pos[i : i+1], Tables: rows.Tables[i : i+1]}, one)
			f.sync()
			for j, v := range hostF32(t, yi) {
				if math.Float32bits(v) != math.Float32bits(got[i*nHead*hd+j]) {
					t.Fatalf("kv heads %d, token %d (keys %d..%d): %v with row starts, %v with a window", nKV, i, lo[i], pos[i], got[i*nHead*hd+j], v)
				}
			}
		}
	}
}
