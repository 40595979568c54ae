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
