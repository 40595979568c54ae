package cpu_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/backends/cpu"
	"github.com/nuri-ai/nuri/kernels"
	"github.com/nuri-ai/nuri/quant"
)

// TestAttentionSplitSameBits compares a decode step's attention split
// between the threads (scores by positions, sums by value dimensions) with
// the same call run as units of query heads: one KV head of one to four
// query heads, heads of 64 to 256, F16 and Q8_0 caches, contexts under and
// over the split's threshold, with a window, blocks out of order, on each
// kernel set's vector loops. The bits must be the same; one KV head pair
// more than the threads runs unsplit either way.
func TestAttentionSplitSameBits(t *testing.T) {
	for _, ks := range []kernels.KernelSet{kernels.KernelsBest, kernels.KernelsAVX2, kernels.KernelsGeneric} {
		for _, kt := range []quant.Type{quant.F16, quant.Q8_0} {
			testAttentionSplit(t, ks, kt)
		}
	}
}

// testAttentionSplit runs TestAttentionSplitSameBits' cases on kernel set ks
// with cache type kt.
func testAttentionSplit(t *testing.T, ks kernels.KernelSet, kt quant.Type) {
	for _, c := range []struct{ nHead, nKV, hd, ctx, window int }{
		{4, 1, 256, 3000, 0}, {4, 1, 256, 3000, 512}, {2, 1, 128, 1000, 0}, {3, 1, 64, 777, 0},
		{1, 1, 64, 300, 0}, {4, 1, 64, 100, 0}, {8, 2, 64, 600, 0},
	} {
		t.Run(fmt.Sprintf("%v/%v/%d-%d-%d/ctx%d/w%d", ks, kt, c.nHead, c.nKV, c.hd, c.ctx, c.window), func(t *testing.T) {
			f := newFixture(t)
			f.dev.SetKernelSet(ks)
			r := rand.New(rand.NewPCG(uint64(c.ctx), uint64(c.hd)))
			a := newAttnSetupIn(t, f, r, kt, c.ctx, c.nKV, c.hd, 16, rotatedBlocks)
			rows := backends.AttnRows{Pos: []int32{int32(c.ctx - 1)}, Tables: [][]int32{a.table}}
			p := backends.Attn{NHead: c.nHead, NHeadKV: c.nKV, HeadDimK: c.hd, HeadDimV: c.hd, Scale: float32(1 / math.Sqrt(float64(c.hd))), Window: c.window}
			q := f.tensor("q", 1, c.nHead*c.hd, randVec(r, c.nHead*c.hd, 1))
			out := func(split bool) []float32 {
				cpu.SetAttnSplit(f.s.(*cpu.Stream), split)
				y := f.tensor("y", 1, c.nHead*c.hd, nil)
				f.s.Attention(y, q, a.kv, rows, p)
				f.sync()
				return append([]float32(nil), hostF32(t, y)...)
			}
			want, got := out(false), out(true)
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("output %d (head %d): %v split, %v as units", i, i/c.hd, got[i], want[i])
				}
			}
		})
	}
}
