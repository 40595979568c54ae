package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/nuri-ai/nuri/quant"
)

// BenchmarkMatMulPacked is BenchmarkMatMul's decode case for packed
// weights: a DRAM-sized matrix (NURI_BENCH_MB, default 256 MiB) on all
// threads, reported as GB/s of weights read, next to the machine's read
// bandwidth (BenchmarkReadBandwidth) for the roofline ratio.
//
//	go test -run '^$' -bench 'MatMulPacked|ReadBandwidth' -benchtime 20x ./kernels
func BenchmarkMatMulPacked(b *testing.B) {
	if !CanPack(quant.Q4_0) {
		b.Skip("no packed kernels on this CPU")
	}
	mb := benchMB()
	p := NewPool(0)
	defer p.Close()
	rng := rand.New(rand.NewPCG(9, 10))
	for _, wt := range []quant.Type{quant.Q4_0, quant.Q5_0, quant.Q4_1, quant.Q5_1, quant.Q8_0, quant.Q6_K, quant.Q4_K, quant.Q5_K, quant.Q3_K, quant.Q2_K, quant.F16, quant.BF16, quant.F32} {
		const cols = 2048
		rb, _ := wt.RowBytes(cols)
		rows := max(2048, mb<<20/rb/64*64)
		w := randWeights(rng, wt, rows, cols, false)
		pw, err := PackWeights(p, wt, w, rows, cols)
		if err != nil {
			b.Fatal(err)
		}
		w = nil
		for _, nx := range []int{1, 16} {
			x := randFloats(rng, nx*cols, 1)
			y := make([]float32, nx*rows)
			b.Run(fmt.Sprintf("%v/%dx%d/nx=%d", wt, rows, cols, nx), func(b *testing.B) {
				MatMulPacked(p, y, pw, x, nx)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					MatMulPacked(p, y, pw, x, nx)
				}
				sec := b.Elapsed().Seconds() / float64(b.N)
				b.ReportMetric(float64(rows*rb)/sec/1e9, "GB/s")
				b.ReportMetric(2*float64(rows)*cols*float64(nx)/sec/1e9, "GOP/s")
			})
		}
	}
}

// BenchmarkPackedShapes times batched MatMulPacked on the llama-1b FFN
// shapes, gate/up (8192×2048) and down (2048×8192), to show what the
// column count costs per operation; best of b.N rounds:
//
//	go test -run '^$' -bench PackedShapes -benchtime 20x ./kernels
func BenchmarkPackedShapes(b *testing.B) {
	if !CanPack(quant.Q4_0) {
		b.Skip("no packed kernels on this CPU")
	}
	p := NewPool(0)
	defer p.Close()
	rng := rand.New(rand.NewPCG(31, 32))
	for _, wt := range []quant.Type{quant.Q4_0, quant.Q8_0, quant.Q4_K, quant.Q6_K} {
		for _, shape := range [][2]int{{8192, 2048}, {2048, 8192}} {
			rows, cols := shape[0], shape[1]
			w := randWeights(rng, wt, rows, cols, false)
			pw, err := PackWeights(p, wt, w, rows, cols)
			if err != nil {
				b.Fatal(err)
			}
			for _, nx := range []int{8, 16} {
				x := randFloats(rng, nx*cols, 1)
				y := make([]float32, nx*rows)
				b.Run(fmt.Sprintf("%v/%dx%d/nx=%d", wt, rows, cols, nx), func(b *testing.B) {
					var best time.Duration
					for range b.N {
						start := time.Now()
						MatMulPacked(p, y, pw, x, nx)
						if el := time.Since(start); best == 0 || el < best {
							best = el
						}
					}
					b.ReportMetric(2*float64(rows)*float64(cols)*float64(nx)/best.Seconds()/1e9, "GOP/s")
				})
			}
		}
	}
}
