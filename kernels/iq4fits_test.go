package kernels

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/nuri-ai/nuri/quant"
)

// iq4Blocks returns n blocks of 32 values that exercise IQ4_NL's scale
// search: normal and heavy-tailed values, a lone spike, values on the
// levels' midpoints for the first fit (ties), all-zero and tiny blocks
// (under the quantizer's epsilon), a block of one repeated value, and
// blocks with infinities and NaNs.
func iq4Blocks(r *rand.Rand, n int) []float32 {
	x := make([]float32, 32*n)
	levels := quant.IQ4Levels()
	for b := range n {
		blk := x[32*b : 32*b+32]
		switch b % 9 {
		case 0, 1:
			for i := range blk {
				blk[i] = float32(r.NormFloat64())
			}
		case 2:
			for i := range blk {
				blk[i] = float32(r.NormFloat64() * math.Exp(3*r.NormFloat64()))
			}
		case 3:
			blk[r.IntN(32)] = float32(r.NormFloat64() * 1e4)
			for i := range blk {
				blk[i] += float32(r.NormFloat64() * 1e-3)
			}
		case 4: // midpoints of the levels, with -127 the largest: 2v integral
			blk[0] = 127
			for i := 1; i < 32; i++ {
				m := r.IntN(15)
				blk[i] = -float32(int(levels[m])+int(levels[m+1])) / 2
			}
		case 5:
			if b%2 == 1 {
				for i := range blk {
					blk[i] = float32(r.NormFloat64() * 1e-17)
				}
			}
		case 6:
			v := float32(r.NormFloat64())
			for i := range blk {
				blk[i] = v
			}
		case 7:
			for i := range blk {
				blk[i] = float32(r.NormFloat64())
			}
			blk[r.IntN(32)] = float32(math.Inf(1 - 2*r.IntN(2)))
		case 8:
			for i := range blk {
				blk[i] = float32(r.NormFloat64())
			}
			blk[r.IntN(32)] = float32(math.NaN())
		}
	}
	return x
}

// TestIQ4FitsAVX512: the assembly fits give quant's Go fits bit for bit,
// so QuantizeIQ4_NL gives quant.Quantize's bytes (ggml's), on awkward
// blocks and on multipliers past the levels' range.
func TestIQ4FitsAVX512(t *testing.T) {
	if !hasFitsAsm || !hasVecAsm {
		t.Skip("no AVX-512 on this CPU: quant's Go loops fit, and quant's tests cover them")
	}
	r := rand.New(rand.NewPCG(71, 72))
	for trial := range 2000 {
		var g quant.IQ4Group
		copy(g.X[:], iq4Blocks(r, 9)[32*(trial%9):])
		for i, v := range g.X {
			g.W[i] = v * v
		}
		scale := float32(math.Exp(4 * r.NormFloat64()))
		for i := range g.IDs {
			g.IDs[i] = scale * float32(r.NormFloat64())
		}
		g.IDs[r.IntN(len(g.IDs))] = 0
		a := g
		g.Fit()
		iq4Fit(&a)
		for i := range g.IDs {
			gs, gq, as, aq := g.SumQX[i], g.SumQ2[i], a.SumQX[i], a.SumQ2[i]
			if !sameSum(gs, as) || !sameSum(gq, aq) {
				t.Fatalf("trial %d fit %d (id %g): Σwqx %g Σwq² %g, Go %g %g", trial, i, g.IDs[i], as, aq, gs, gq)
			}
		}
	}
	for _, o := range allVecOps(t) {
		x := iq4Blocks(r, 9*40)
		want := make([]byte, len(x)/32*quant.IQ4_NL.BlockBytes())
		if err := quant.Quantize(quant.IQ4_NL, x, want); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(want))
		if err := o.QuantizeIQ4_NL(x, got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			i := 0
			for got[i] == want[i] {
				i++
			}
			t.Fatalf("%s: byte %d (block %d) %#02x, quant.Quantize %#02x", o.Name(), i, i/quant.IQ4_NL.BlockBytes(), got[i], want[i])
		}
		if err := o.QuantizeIQ4_NL(make([]float32, 48), make([]byte, 36)); err == nil {
			t.Errorf("%s: QuantizeIQ4_NL took 48 values", o.Name())
		}
	}
}

// TestIQ4FitQuantizer: quant.Quantizer with the assembly fits writes
// quant.QuantizeRow's bytes for IQ4_NL and IQ4_XS rows, with an importance
// matrix and without (nuri quantize's path).
func TestIQ4FitQuantizer(t *testing.T) {
	fit := VecOpsFor(KernelsBest).IQ4Fit()
	if fit == nil {
		t.Skip("no AVX-512 on this CPU: quant's Go loops fit, and quant's tests cover them")
	}
	r := rand.New(rand.NewPCG(75, 76))
	q := quant.Quantizer{IQ4Fit: fit}
	for _, typ := range []quant.Type{quant.IQ4_NL, quant.IQ4_XS} {
		checkQuantizerRows(t, &q, typ, iq4Blocks(r, 9*32), r)
	}
	if err := q.QuantizeRow(quant.IQ4_NL, make([]float32, 64), make([]byte, 36), make([]float32, 32)); err == nil {
		t.Error("Quantizer took 32 importance values for 64")
	}
}

// BenchmarkQuantizeIQ4_NL: one token's K and V rows of llama-1b (1024
// values) to IQ4_NL, per path.
//
//	go test -run '^$' -bench QuantizeIQ4_NL ./kernels
func BenchmarkQuantizeIQ4_NL(b *testing.B) {
	r := rand.New(rand.NewPCG(73, 74))
	x := make([]float32, 1024)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	dst := make([]byte, len(x)/32*quant.IQ4_NL.BlockBytes())
	for _, o := range allVecOps(&testing.T{}) {
		b.Run(o.Name(), func(b *testing.B) {
			for range b.N {
				if err := o.QuantizeIQ4_NL(x, dst); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestQxFitsAVX512: the assembly's trial fits of make_qx_quants give
// quant's Go fits bit for bit, for Q6_K's groups of 16 and the legacy
// types' 32, the nmax of each caller, and multipliers from tiny to past
// nearest_int's range; quant.Quantizer with them writes QuantizeRow's Q6_K
// bytes, with an importance matrix and without.
func TestQxFitsAVX512(t *testing.T) {
	fit := VecOpsFor(KernelsBest).QxFit()
	if fit == nil {
		t.Skip("no AVX-512 on this CPU: quant's Go loops fit, and quant's tests cover them")
	}
	r := rand.New(rand.NewPCG(77, 78))
	for trial := range 3000 {
		var g quant.QxGroup
		g.N = []int{16, 32, 1, 7}[trial%4]
		g.NMax = []int32{32, 4, 8, 16}[trial/4%4]
		copy(g.X[:g.N], iq4Blocks(r, 9)[32*(trial%9):])
		for i := range g.N {
			g.W[i] = float32(r.ExpFloat64())
		}
		scale := float32(math.Exp(6 * r.NormFloat64()))
		for i := range quant.QxTrials {
			g.IScale[i] = scale * float32(r.NormFloat64())
		}
		a := g
		g.Fit()
		fit(&a)
		for i := range quant.QxTrials {
			gs, gq, as, aq := g.SumLX[i], g.SumL2[i], a.SumLX[i], a.SumL2[i]
			if !sameSum(gs, as) || !sameSum(gq, aq) {
				t.Fatalf("trial %d fit %d (n %d nmax %d iscale %g): Σwxl %g Σwl² %g, Go %g %g", trial, i, g.N, g.NMax, g.IScale[i], as, aq, gs, gq)
			}
		}
	}
	q := quant.Quantizer{QxFit: fit}
	checkQuantizerRows(t, &q, quant.Q6_K, iq4Blocks(r, 8*36), r)
}

// checkQuantizerRows checks that q writes quant.QuantizeRow's bytes for the
// row x of typ, without an importance matrix and with a random one.
func checkQuantizerRows(t *testing.T, q *quant.Quantizer, typ quant.Type, x []float32, r *rand.Rand) {
	t.Helper()
	for _, weighted := range []bool{false, true} {
		var imp []float32
		if weighted {
			imp = make([]float32, len(x))
			for i := range imp {
				imp[i] = float32(r.ExpFloat64())
			}
		}
		rb, err := typ.RowBytes(len(x))
		if err != nil {
			t.Fatal(err)
		}
		want, got := make([]byte, rb), make([]byte, rb)
		if err := quant.QuantizeRow(typ, x, want, imp); err != nil {
			t.Fatal(err)
		}
		if err := q.QuantizeRow(typ, x, got, imp); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%v weighted=%v: the assembly fits' row differs from quant.QuantizeRow's", typ, weighted)
		}
	}
}

// sameSum reports whether the assembly's sum got is the Go loop's want:
// the same bits, or both NaN (whose payloads the two may set apart).
func sameSum(want, got float32) bool {
	return math.Float32bits(want) == math.Float32bits(got) || want != want && got != got
}
