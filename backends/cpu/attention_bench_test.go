package cpu_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/quant"
)

// BenchmarkAttentionDecode times one layer's attention in llama-1b's shape
// (32 query heads over 8 KV heads of 64, F16 or Q8_0 cache in blocks of
// 16) for 1 and 16 decoding tokens at a context of ctx positions, the
// cache warm (at 16 positions the per-call cost dominates):
//
//	go test ./backends/cpu -run '^$' -bench AttentionDecode
func BenchmarkAttentionDecode(b *testing.B) {
	for _, kt := range []quant.Type{quant.F16, quant.Q8_0} {
		for _, ctx := range []int{16, 160, 1024, 2048} {
			for _, tokens := range []int{1, 16} {
				benchAttentionDecode(b, kt, ctx, tokens)
			}
		}
	}
}

func benchAttentionDecode(b *testing.B, kt quant.Type, ctx, tokens int) {
	const nHead, nKV, hd, bs = 32, 8, 64, 16
	b.Run(fmt.Sprintf("%v/ctx=%d/tokens=%d", kt, ctx, tokens), func(b *testing.B) {
		f := newFixture(b)
		r := rand.New(rand.NewPCG(7, 8))
		// Each token is its own sequence of ctx positions.
		a := newAttnSetup(b, f, r, kt, ctx*tokens, nKV, hd, bs)
		rows := backends.AttnRows{}
		per := ctx / bs
		for i := range tokens {
			rows.Pos = append(rows.Pos, int32(ctx-1))
			rows.Tables = append(rows.Tables, a.table[i*per:(i+1)*per])
		}
		p := backends.Attn{NHead: nHead, NHeadKV: nKV, HeadDimK: hd, HeadDimV: hd, Scale: 0.125}
		q := f.tensor("q", tokens, nHead*hd, randVec(r, tokens*nHead*hd, 1))
		y := f.tensor("y", tokens, nHead*hd, nil)
		for b.Loop() {
			f.s.Attention(y, q, a.kv, rows, p)
		}
		f.sync()
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(tokens*nHead), "ns/head")
	})
}

// BenchmarkAttentionDepth times decode attention as a model step meets it:
// one token over the caches of `layers` layers of ctx positions each
// (llama-1b's heads, F16, blocks stored in order as a sequence's usually
// are), a call per layer in turn. With one layer the cache stays warm;
// with sixteen each call finds its cache cold, as in a step, once the
// layers' caches together outgrow the last-level cache. GB/s is the K and
// V bytes a call reads over its time; compare BenchmarkReadBandwidth in
// ./kernels.
//
//	go test ./backends/cpu -run '^$' -bench AttentionDepth
func BenchmarkAttentionDepth(b *testing.B) {
	const nHead, nKV, hd, bs = 32, 8, 64, 16
	for _, layers := range []int{1, 16} {
		for _, ctx := range []int{512, 3000} {
			b.Run(fmt.Sprintf("layers=%d/ctx=%d", layers, ctx), func(b *testing.B) {
				f := newFixture(b)
				r := rand.New(rand.NewPCG(9, 10))
				caches := make([]*attnSetup, layers)
				for l := range caches {
					caches[l] = newAttnSetupIn(b, f, r, quant.F16, ctx, nKV, hd, bs, func(i, _ int) int32 { return int32(i) })
				}
				p := backends.Attn{NHead: nHead, NHeadKV: nKV, HeadDimK: hd, HeadDimV: hd, Scale: 0.125}
				q := f.tensor("q", 1, nHead*hd, randVec(r, nHead*hd, 1))
				y := f.tensor("y", 1, nHead*hd, nil)
				calls := 0
				for b.Loop() {
					a := caches[calls%layers]
					rows := backends.AttnRows{Pos: []int32{int32(ctx - 1)}, Tables: [][]int32{a.table}}
					f.s.Attention(y, q, a.kv, rows, p)
					f.sync()
					calls++
				}
				perCall := float64(b.Elapsed().Nanoseconds()) / float64(calls)
				b.ReportMetric(perCall/1e3, "µs/layer")
				b.ReportMetric(float64(2*ctx*nKV*hd*2)/perCall, "GB/s")
			})
		}
	}
}
