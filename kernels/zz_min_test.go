package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
	"os"
	"strings"

	"github.com/nuri-ai/nuri/quant"
)

func TestZZMin(t *testing.T) {
	p := NewPool(1)
	defer p.Close()
	rng := rand.New(rand.NewPCG(9, 10))
	types := []quant.Type{quant.Q4_0, quant.Q8_0, quant.Q4_K, quant.Q6_K}
	if s := os.Getenv("ZZT"); s != "" { types = nil; for _, n := range strings.Split(s, ",") { tt, _ := quant.ParseType(n); types = append(types, tt) } }
	for _, wt := range types {
		const cols, rows = 2048, 256
		rb, _ := wt.RowBytes(cols)
		w := randWeights(rng, wt, rows, cols, false)
		for _, nx := range []int{1, 4, 16, 64} {
			x := randFloats(rng, nx*cols, 1)
			y := make([]float32, nx*rows)
			best := time.Hour
			for i := 0; i < 300; i++ {
				s := time.Now()
				MatMul(p, y, w, wt, rows, cols, x, nx)
				if e := time.Since(s); e < best { best = e }
			}
			sec := best.Seconds()
			fmt.Printf("%v nx=%d  %8.1fus  %6.2f GB/s  %6.1f GOP/s\n", wt, nx, sec*1e6, float64(rows*rb)/sec/1e9, 2*float64(rows)*cols*float64(nx)/sec/1e9)
		}
	}
}
