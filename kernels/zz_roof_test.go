package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/nuri-ai/nuri/quant"
)

func TestZZRoof(t *testing.T) {
	p := NewPool(2)
	defer p.Close()
	rng := rand.New(rand.NewPCG(9, 10))
	for _, wt := range []quant.Type{quant.Q4_0, quant.Q8_0, quant.Q4_K, quant.Q6_K} {
		const cols = 2048
		rb, _ := wt.RowBytes(cols)
		rows := (512 << 20) / rb
		w := randWeights(rng, wt, rows, cols, false)
		x := randFloats(rng, cols, 1)
		y := make([]float32, rows)
		bestBW, bestMM := 0.0, 0.0
		for rep := 0; rep < 4; rep++ {
			bw := MeasureReadBandwidth(512<<20, p)
			bestBW = max(bestBW, bw)
			for k := 0; k < 3; k++ {
				s := time.Now()
				MatMul(p, y, w, wt, rows, cols, x, 1)
				bestMM = max(bestMM, float64(rows*rb)/time.Since(s).Seconds()/1e9)
			}
		}
		fmt.Printf("%v GEMV %.2f GB/s, bandwidth %.2f GB/s, ratio %.2f\n", wt, bestMM, bestBW, bestMM/bestBW)
	}
}
