package kernels

import (
	"bytes"
	"fmt"
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
	q := quant.Quantizer{Fits: quant.Fits{IQ4Fit: fit}}
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
// bytes, with an importance matrix and without, and its Q3_K, Q4_0 and
// Q5_0 bytes with one.
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
	q := quant.Quantizer{Fits: quant.Fits{QxFit: fit}}
	for _, typ := range []quant.Type{quant.Q6_K, quant.Q3_K, quant.Q4_0, quant.Q5_0} {
		checkQuantizerRows(t, &q, typ, iq4Blocks(r, 8*36), r)
	}
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

// TestQkx2FitsAVX512: the assembly's make_qkx2_quants searches give
// quant.Qkx2Batch.Fit's codes, scales and mins bit for bit, lane by lane,
// for the quantizers' parameters and random ones, on awkward groups
// (iq4Blocks', shifted all positive or all negative, zero weights), so
// the Quantizer's Q2_K, Q4_K, Q5_K rows (and Q4_1, Q5_1 with an
// importance matrix) are QuantizeRow's.
func TestQkx2FitsAVX512(t *testing.T) {
	fit := VecOpsFor(KernelsBest).Qkx2Fit()
	if fit == nil {
		t.Skip("no AVX-512 on this CPU: quant's Go loops fit, and quant's tests cover them")
	}
	searches := []struct {
		n int
		p quant.Qkx2Params
	}{
		{16, quant.Qkx2Params{NMax: 3, RMin: -0.5, RDelta: 0.1, NStep: 15, UseMad: true}},  // Q2_K
		{16, quant.Qkx2Params{NMax: 3, RMin: -0.9, RDelta: 0.05, NStep: 36, Guard: true}},  // Q2_K weighted
		{32, quant.Qkx2Params{NMax: 15, RMin: -1, RDelta: 0.1, NStep: 20}},                 // Q4_K
		{32, quant.Qkx2Params{NMax: 31, RMin: -0.5, RDelta: 0.1, NStep: 15}},               // Q5_K
		{32, quant.Qkx2Params{NMax: 15, RMin: -0.9, RDelta: 0.05, NStep: 36, Guard: true}}, // Q4_K, Q4_1 weighted
		{32, quant.Qkx2Params{NMax: 31, RMin: -0.9, RDelta: 0.05, NStep: 36, Guard: true}}, // Q5_K, Q5_1 weighted
	}
	r := rand.New(rand.NewPCG(79, 80))
	for trial := range 1500 {
		var b quant.Qkx2Batch
		if s := trial % (len(searches) + 2); s < len(searches) {
			b.N, b.P = searches[s].n, searches[s].p
		} else { // anything else the parameters allow, no trials included
			b.N = 1 + r.IntN(32)
			b.P = quant.Qkx2Params{NMax: int32(1 + r.IntN(63)), RMin: float32(r.NormFloat64()),
				RDelta: float32(r.ExpFloat64() / 10), NStep: r.IntN(40) - 2,
				UseMad: r.IntN(2) == 0, Guard: r.IntN(2) == 0}
		}
		x := iq4Blocks(r, 9)
		for g := range quant.Qkx2Lanes {
			blk := x[32*((trial+g)%9):]
			shift := float32(0)
			switch r.IntN(6) {
			case 0:
				shift = float32(10 * r.ExpFloat64()) // lo clamps to 0
			case 1:
				shift = -float32(10 * r.ExpFloat64())
			}
			for i := range b.N {
				b.X[i][g] = blk[i] + shift
				switch g % 4 {
				case 0:
					b.W[i][g] = float32(r.ExpFloat64())
				case 1:
					b.W[i][g] = float32(math.Abs(float64(b.X[i][g])))
				case 2:
					if r.IntN(3) > 0 {
						b.W[i][g] = float32(r.ExpFloat64())
					}
				case 3:
					b.W[i][g] = float32(1 + r.IntN(2)) // ties between trials
				}
			}
		}
		a := b
		b.Fit()
		fit(&a)
		for g := range quant.Qkx2Lanes {
			if !sameSum(b.Scale[g], a.Scale[g]) || !sameSum(b.Min[g], a.Min[g]) {
				t.Fatalf("batch %d lane %d (n %d %+v): scale %g min %g, Go %g %g", trial, g, b.N, b.P, a.Scale[g], a.Min[g], b.Scale[g], b.Min[g])
			}
			for i := range b.N {
				if a.L[i][g] != b.L[i][g] {
					t.Fatalf("batch %d lane %d (n %d %+v): code %d is %g, Go %g", trial, g, b.N, b.P, i, a.L[i][g], b.L[i][g])
				}
			}
		}
	}
	q := quant.Quantizer{Fits: quant.Fits{Qkx2Fit: fit}}
	for _, typ := range []quant.Type{quant.Q2_K, quant.Q4_K, quant.Q5_K, quant.Q4_1, quant.Q5_1} {
		checkQuantizerRows(t, &q, typ, iq4Blocks(r, 8*37), r)
	}
}

// BenchmarkQuantizerRow: one 2048-value row (a llama-1b weight row) per
// type whose scale search the assembly fits, with quant's Go loops and
// with this CPU's fits, in ns a row; "imatrix" rows take an importance
// matrix.
//
//	go test -run '^$' -bench QuantizerRow ./kernels
func BenchmarkQuantizerRow(b *testing.B) {
	r := rand.New(rand.NewPCG(81, 82))
	x, imp := make([]float32, 2048), make([]float32, 2048)
	for i := range x {
		x[i], imp[i] = float32(r.NormFloat64()), float32(r.ExpFloat64())
	}
	o := VecOpsFor(KernelsBest)
	fits := map[string]*quant.Quantizer{
		"go":  new(quant.Quantizer),
		"asm": {Fits: o.Fits()},
	}
	for _, typ := range []quant.Type{quant.Q2_K, quant.Q3_K, quant.Q4_K, quant.Q5_K, quant.Q6_K, quant.IQ4_XS, quant.Q4_0, quant.Q4_1,
		quant.IQ3_S, quant.IQ3_XXS, quant.IQ2_S, quant.IQ2_XS, quant.IQ2_XXS, quant.IQ1_M} {
		rb, err := typ.RowBytes(len(x))
		if err != nil {
			b.Fatal(err)
		}
		y := make([]byte, rb)
		for _, weights := range [][]float32{nil, imp} {
			for _, name := range []string{"go", "asm"} {
				q, label := fits[name], fmt.Sprintf("%v/%s", typ, name)
				if weights != nil {
					label += "/imatrix"
				}
				b.Run(label, func(b *testing.B) {
					for range b.N {
						if err := q.QuantizeRow(typ, x, y, weights); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		}
	}
}

// TestIQNearestAVX512: the assembly's codebook searches answer as
// quant.IQCandidates.Nearest does, for both shapes (eight positions of two
// bits, four of three), every count of candidates from none to four
// passes and more, terms that tie (small integers), that are all at
// MaxFloat32 or infinite (no candidate found), and random ones; then
// the Quantizer's rows of the IQ1, IQ2 and IQ3 types are QuantizeRow's.
func TestIQNearestAVX512(t *testing.T) {
	near := VecOpsFor(KernelsBest).IQNearest()
	if near == nil {
		t.Skip("no AVX-512 on this CPU: quant's Go loop searches, and quant's tests cover it")
	}
	r := rand.New(rand.NewPCG(83, 84))
	codes := make([]uint16, 80)
	for trial := range 4000 {
		c := quant.IQCandidates{Width: 8, Bits: 2}
		if trial%2 == 1 {
			c.Width, c.Bits = 4, 3
		}
		c.Scale = float32(r.ExpFloat64())
		c.NV = 8
		if c.Width == 8 {
			c.NV = 3 // the IQ2 and IQ1 codebooks' three levels
		}
		for i := range c.NV {
			c.V[i] = float32(2*i + 1)
		}
		for i := range c.Width {
			switch trial % 5 {
			case 0, 1: // small integers: distances tie between candidates
				c.X[i], c.W[i], c.Scale = float32(r.IntN(9)), float32(r.IntN(3)), 1
			case 2:
				c.X[i], c.W[i] = float32(r.NormFloat64()*math.Exp(4*r.NormFloat64())), float32(r.ExpFloat64())
			case 3: // distances overflow: no candidate under MaxFloat32
				c.X[i], c.W[i] = float32(1e19*(1+r.Float64())), 1
			default: // negative weights, levels of any value (IQ1's)
				c.X[i], c.W[i] = float32(r.NormFloat64()), float32(r.NormFloat64())
				for l := range c.NV {
					c.V[l] = float32(r.NormFloat64())
				}
			}
		}
		for i := range codes { // codes of the levels there are
			codes[i] = 0
			for p := range c.Width {
				codes[i] |= uint16(r.IntN(c.NV)) << (c.Bits * p)
			}
		}
		n := trial % 70
		if trial%7 == 0 {
			n = 16 * (1 + r.IntN(4)) // whole passes
		}
		c.Codes = codes[:n]
		if want, got := c.Nearest(), near(&c); got != want {
			t.Fatalf("trial %d (%d×%d bits, %d candidates): candidate %d, Go %d", trial, c.Width, c.Bits, n, got, want)
		}
	}
	q := quant.Quantizer{Fits: quant.Fits{IQNearest: near}}
	for _, typ := range []quant.Type{quant.IQ2_XXS, quant.IQ2_XS, quant.IQ2_S, quant.IQ3_XXS, quant.IQ3_S, quant.IQ1_S, quant.IQ1_M} {
		checkQuantizerRows(t, &q, typ, iq4Blocks(r, 8*9), r)
	}
}
