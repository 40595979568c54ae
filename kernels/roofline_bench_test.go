package kernels

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nuri-ai/nuri/quant"
)

// BenchmarkGEMVRoofline compares single-row MatMul (decode) with the read
// bandwidth measured in the same process. Each of b.N rounds measures the
// bandwidth (MeasureReadBandwidth over a buffer as large as the matrix, best
// of two passes in each read loop) and then runs one GEMV with every kernel variant this CPU
// supports, interleaved, so all see the same machine load. It reports, per
// variant, the best GEMV GB/s over the rounds divided by the best bandwidth
// ("<variant>-roof"), and the best bandwidth itself. The shared machine is
// noisy: best-of-rounds ratios are the figures to compare.
//
//	go test -run '^$' -bench GEMVRoofline -benchtime 10x ./kernels
func BenchmarkGEMVRoofline(b *testing.B) {
	mb := 256
	if s := os.Getenv("NURI_BENCH_MB"); s != "" {
		if v, err := strconv.Atoi(s); err == nil && v > 0 {
			mb = v
		}
	}
	p := NewPool(0)
	defer p.Close()
	rng := rand.New(rand.NewPCG(21, 22))
	variants := kernelVariants()
	for _, wt := range []quant.Type{quant.Q4_0, quant.Q8_0, quant.Q4_K, quant.Q6_K} {
		for _, cols := range []int{2048, 8192} {
			rb, _ := wt.RowBytes(cols)
			rows := max(64, mb<<20/rb/64*64)
			b.Run(fmt.Sprintf("%v/%dx%d", wt, rows, cols), func(b *testing.B) {
				// The weights on huge pages, as the probe's buffer and a
				// loaded model's weights are.
				w := LargeBytes(b, rows*rb)
				copy(w, randWeights(rng, wt, rows, cols, false))
				x := randFloats(rng, cols, 1)
				y := make([]float32, rows)
				ks := variants[wt]
				best := make([]time.Duration, len(ks))
				bw := 0.0
				for round := 0; round < b.N; round++ {
					bw = max(bw, MeasureReadBandwidth(rows*rb, p))
					for j, k := range ks {
						start := time.Now()
						matMulKernel(p, y, w, wt, rows, cols, x, 1, k)
						if el := time.Since(start); best[j] == 0 || el < best[j] {
							best[j] = el
						}
					}
				}
				b.ReportMetric(bw, "bwGB/s")
				for j, k := range ks {
					gbs := float64(rows*rb) / best[j].Seconds() / 1e9
					name := k.name[strings.IndexByte(k.name, '/')+1:]
					b.ReportMetric(gbs/bw, name+"-roof")
				}
			})
		}
	}
}

// BenchmarkWideGEMM times batched MatMul on an ffn_down-shaped matrix
// (2048×8192) for the kernels with column splitting, with and without it
// (colBlocks), interleaved round by round; it reports the best GOP/s of
// each over b.N rounds:
//
//	go test -run '^$' -bench WideGEMM -benchtime 20x ./kernels
func BenchmarkWideGEMM(b *testing.B) {
	p := NewPool(0)
	defer p.Close()
	rng := rand.New(rand.NewPCG(23, 24))
	for _, wt := range []quant.Type{quant.Q4_0, quant.Q8_0} {
		k := fastKernels[wt]
		if k == nil || k.colBlocks == 0 {
			continue
		}
		const rows, cols = 2048, 8192
		w := randWeights(rng, wt, rows, cols, false)
		for _, nx := range []int{4, 16, 64} {
			b.Run(fmt.Sprintf("%v/%dx%d/nx=%d", wt, rows, cols, nx), func(b *testing.B) {
				x := randFloats(rng, nx*cols, 1)
				y := make([]float32, nx*rows)
				whole := *k
				whole.colBlocks = 0
				ks := []*fastKernel{&whole, k}
				best := make([]time.Duration, len(ks))
				for round := 0; round < b.N; round++ {
					for j, k := range ks {
						start := time.Now()
						matMulKernel(p, y, w, wt, rows, cols, x, nx, k)
						if el := time.Since(start); best[j] == 0 || el < best[j] {
							best[j] = el
						}
					}
				}
				ops := 2 * float64(rows) * cols * float64(nx)
				b.ReportMetric(ops/best[0].Seconds()/1e9, "unsplit-GOP/s")
				b.ReportMetric(ops/best[1].Seconds()/1e9, fmt.Sprintf("split%d-GOP/s", k.colBlocks))
			})
		}
	}
}
