package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/nuri-ai/nuri/quant"
)

// BenchmarkPackedGroupedHeads times MatMulPackedGrouped on latent
// attention's per-head shapes (Kanana-2: 16 heads, k_b 512×128 and v_b
// 128×512), each head's matrix taking its own row, with 24 copies so each
// call reads cold weights as in a decode step:
//
//	go test -run '^$' -bench PackedGroupedHeads -benchtime 200x ./kernels
func BenchmarkPackedGroupedHeads(b *testing.B) {
	if !CanPack(quant.Q4_0) {
		b.Skip("no packed kernels on this CPU")
	}
	p := NewPool(0)
	defer p.Close()
	rng := rand.New(rand.NewPCG(41, 42))
	const heads, copies = 16, 24
	for _, c := range []struct {
		t          quant.Type
		rows, cols int
	}{{quant.Q5_0, 512, 128}, {quant.Q4_K, 128, 512}, {quant.Q8_0, 512, 128}} {
		rb, _ := c.t.RowBytes(c.cols)
		sets := make([][]*PackedWeights, copies)
		for i := range sets {
			for range heads {
				pw, err := PackWeights(p, c.t, randWeights(rng, c.t, c.rows, c.cols, false), c.rows, c.cols)
				if err != nil {
					b.Fatal(err)
				}
				sets[i] = append(sets[i], pw)
			}
		}
		x := randFloats(rng, heads*c.cols, 1)
		ys := make([][]float32, heads)
		rows := make([]int, heads)
		for h := range ys {
			ys[h] = make([]float32, heads*c.rows)
			rows[h] = h
		}
		b.Run(fmt.Sprintf("%v/%dx%d/heads=%d", c.t, c.rows, c.cols, heads), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				MatMulPackedGrouped(p, ys, sets[i%copies], x, heads, rows)
			}
			sec := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(float64(heads*c.rows*rb)/sec/1e9, "GB/s")
			b.ReportMetric(sec*1e6, "µs/call")
		})
	}
}
