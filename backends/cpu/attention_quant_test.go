package cpu_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/kernels"
	"github.com/nuri-ai/nuri/quant"
)

// roundTrip returns x's rows of d values quantized to t and back: the
// values a cache or a quantized query of type t holds.
func roundTrip(t testing.TB, typ quant.Type, x []float32, d int) []float32 {
	t.Helper()
	rb, err := typ.RowBytes(d)
	if err != nil {
		t.Fatal(err)
	}
	out, b := make([]float32, len(x)), make([]byte, rb)
	for i := 0; i < len(x); i += d {
		q := quant.Quantize
		if typ == quant.Q8_0 || typ == quant.Q8_1 {
			q = quant.QuantizeActivations // how a query is quantized
		}
		if err := q(typ, x[i:i+d], b); err != nil {
			t.Fatal(err)
		}
		if err := quant.Dequantize(typ, b, out[i:i+d]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestAttentionQuantCache: a cache of Q4_0, Q4_1, Q5_0, Q5_1 or IQ4_NL
// (llama.cpp's other -ctk/-ctv block types) attends as float64 softmax
// attention over the values the cache holds, with q as the vec-dot
// quantizes it, on every kernel set; the error against attention over the
// unquantized K and V is the storage precision's. Each token alone gives
// the bits of the batch (one token's heads run one at a time here, a
// batch's two or four to a pass), and where the blocks lie changes no bit.
func TestAttentionQuantCache(t *testing.T) {
	for _, kt := range []quant.Type{quant.Q4_0, quant.Q4_1, quant.Q5_0, quant.Q5_1, quant.IQ4_NL} {
		for _, c := range []struct {
			nHead, nKV, hd, window int
		}{
			{2, 1, 64, 0}, {8, 2, 64, 0}, {8, 2, 128, 9}, {6, 2, 96, 0}, {4, 4, 32, 0},
		} {
			for _, ks := range []kernels.KernelSet{kernels.KernelsBest, kernels.KernelsAVX2, kernels.KernelsGeneric} {
				testAttentionQuant(t, kt, kt, ks, c.nHead, c.nKV, c.hd, c.window)
			}
		}
	}
}

// TestAttentionMixedCache: K and V of different types (llama.cpp's -ctk
// and -ctv), each read by its own type's loops: the float, Q8_0 and block
// types against each other, on both sides, with one, two, three and four
// query heads a KV head (a KV head's heads in one pass, a pass a head, and
// the token groups where both sides are block types). The checks are
// TestAttentionQuantCache's, with each side's rounding.
func TestAttentionMixedCache(t *testing.T) {
	for _, kv := range [][2]quant.Type{
		{quant.F16, quant.Q4_0}, {quant.Q8_0, quant.Q4_0}, {quant.Q8_0, quant.Q5_1}, {quant.Q4_0, quant.Q8_0},
		{quant.Q4_1, quant.F16}, {quant.IQ4_NL, quant.Q4_1}, {quant.F16, quant.Q8_0}, {quant.Q8_0, quant.F16},
		{quant.F32, quant.Q5_0}, {quant.Q5_0, quant.F32},
	} {
		for _, c := range []struct {
			nHead, nKV, hd, window int
		}{
			{2, 1, 64, 0}, {8, 2, 64, 0}, {6, 2, 96, 9}, {4, 4, 32, 0},
		} {
			for _, ks := range []kernels.KernelSet{kernels.KernelsBest, kernels.KernelsGeneric} {
				testAttentionQuant(t, kv[0], kv[1], ks, c.nHead, c.nKV, c.hd, c.window)
			}
		}
	}
}

// storageTol bounds the error of attention over a cache of kt K and vt V
// rows against attention over the unquantized values, for |k|, |v| ≤ 1 and
// the scale 0.125 of these tests (see testAttentionQuant).
func storageTol(kt, vt quant.Type) float64 {
	tol := map[quant.Type]float64{quant.Q4_0: 0.16, quant.Q4_1: 0.085, quant.Q5_0: 0.08, quant.Q5_1: 0.04, quant.IQ4_NL: 0.12, quant.Q8_0: 0.02, quant.F16: 2e-3, quant.F32: 1e-5}
	return max(tol[kt], tol[vt])
}

func testAttentionQuant(t *testing.T, kt, vt quant.Type, ks kernels.KernelSet, nHead, nKV, hd, window int) {
	name := kt.String()
	if vt != kt {
		name += "+" + vt.String()
	}
	t.Run(fmt.Sprintf("%s/%v/heads%d/kv%d/hd%d/window%d", name, ks, nHead, nKV, hd, window), func(t *testing.T) {
		const n, bs = 45, 8
		qpos := []int{0, 7, 8, 30, 44}
		var ref []float32
		for _, place := range []func(i, nb int) int32{reversedBlocks, rotatedBlocks} {
			f := newFixture(t)
			f.dev.SetKernelSet(ks)
			r := rand.New(rand.NewPCG(21, uint64(hd)))
			a := newAttnSetupKV(t, f, r, kt, vt, n, nKV, hd, bs, place)
			q := randVec(r, len(qpos)*nHead*hd, 1)
			rows := backends.AttnRows{}
			for _, p := range qpos {
				rows.Pos = append(rows.Pos, int32(p))
				rows.Tables = append(rows.Tables, a.table)
			}
			p := backends.Attn{NHead: nHead, NHeadKV: nKV, HeadDimK: hd, HeadDimV: hd, Scale: 0.125, Window: window}
			y := f.tensor("y", len(qpos), nHead*hd, nil)
			f.s.Attention(y, f.tensor("q", len(qpos), nHead*hd, q), a.kv, rows, p)
			f.sync()
			got := append([]float32(nil), hostF32(t, y)...)
			if ref != nil {
				for i := range ref {
					if math.Float32bits(got[i]) != math.Float32bits(ref[i]) {
						t.Fatalf("element %d: blocks in runs %v, reversed blocks %v", i, got[i], ref[i])
					}
				}
				continue
			}
			ref = got
			held := *a
			held.k, held.v = roundTrip(t, kt, a.k, hd), roundTrip(t, vt, a.v, hd)
			// Against the values the kernels multiply, what is left is
			// float32 rounding (5e-6 on outputs under 1 here) and, for
			// Q4_1 and Q5_1, the fp16 rounding of the query blocks' d·Σq
			// (2⁻¹¹ of a score's min term): 2e-4 covers both with room.
			// An F16 V cache's probabilities are rounded to fp16 (ggml's
			// V·softmax in F16), so the reference rounds them too.
			exact := attnRefRounded(roundTrip(t, quant.VecDotType(kt), q, hd), qpos, &held, nHead, 0.125, window, vt == quant.F16)
			if d := maxAbsDiff(got, exact); d > 2e-4 {
				t.Errorf("max |diff| from float64 attention over the cached values %.2e > 2e-4", d)
			}
			// Against unquantized K and V: the storage precision. An
			// output is a weighted mean of V rows, off by about the worst
			// error of one stored value (the first position's output is
			// its V row), plus what K's error moves the weights. With
			// |v| ≤ 1 the worst stored errors are Q4_0 1/8 (the block's
			// other extreme clamps at 7 steps), Q4_1 1/15, Q5_0 1/16,
			// Q5_1 1/31, IQ4_NL 12/127 (half the widest gap of its
			// grid); the cases here came to 0.124, 0.066, 0.062, 0.032
			// and 0.086. A quarter more than each bound, the coarser side's
			// where K and V differ:
			tol := storageTol(kt, vt)
			if d := maxAbsDiff(got, attnRef(q, qpos, a, nHead, 0.125, window)); d > tol {
				t.Errorf("max |diff| from float64 attention over unquantized K/V %.3f > %.3f", d, tol)
			}
			checkEachQueryAlone(t, f, got, q, rows, a.kv, p)
		}
	})
}
