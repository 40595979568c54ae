package quant

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkQuantizeRow: one 2048-value row (a llama-1b weight row) per
// type that nuri quantize's recipes write, in ns a row.
//
//	go test -run '^$' -bench QuantizeRow ./quant
func BenchmarkQuantizeRow(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, 2048)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	for _, t := range []Type{Q4_0, Q8_0, Q4_K, Q5_K, Q6_K, IQ4_XS} {
		rb, err := t.RowBytes(len(x))
		if err != nil {
			b.Fatal(err)
		}
		y := make([]byte, rb)
		b.Run(fmt.Sprint(t), func(b *testing.B) {
			for range b.N {
				if err := QuantizeRow(t, x, y, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
