package kernels

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"

	"github.com/nuri-ai/nuri/quant"
)

// BenchmarkGEMVRoofline compares single-row MatMul (decode) with the read
// bandwidth measured in the same process: each sub-benchmark measures the
// bandwidth (MeasureReadBandwidth over a buffer as large as the matrix)
// before and after its GEMV loop and reports GEMV GB/s as a fraction of the
// mean ("roofline"). Every kernel variant this CPU can run is timed, so
// variants compare under the same machine load; on a shared machine run
// with -count and read ratios, not absolute figures:
//
//	go test -run '^$' -bench GEMVRoofline -benchtime 8x -count 3 ./kernels
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
		for _, c := range []struct{ cols int }{{2048}, {8192}} {
			rb, _ := wt.RowBytes(c.cols)
			rows := max(64, mb<<20/rb/64*64)
			w := randWeights(rng, wt, rows, c.cols, false)
			x := randFloats(rng, c.cols, 1)
			y := make([]float32, rows)
			for _, k := range variants[wt] {
				b.Run(fmt.Sprintf("%v/%dx%d/%s", wt, rows, c.cols, k.name), func(b *testing.B) {
					bw := MeasureReadBandwidth(rows*rb, p)
					matMulKernel(p, y, w, wt, rows, c.cols, x, 1, k)
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						matMulKernel(p, y, w, wt, rows, c.cols, x, 1, k)
					}
					b.StopTimer()
					sec := b.Elapsed().Seconds() / float64(b.N)
					bw = (bw + MeasureReadBandwidth(rows*rb, p)) / 2
					gbs := float64(rows*rb) / sec / 1e9
					b.ReportMetric(gbs, "GB/s")
					b.ReportMetric(bw, "bwGB/s")
					b.ReportMetric(gbs/bw, "roofline")
				})
			}
		}
	}
}
