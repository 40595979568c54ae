package quant

import (
	"bytes"
	"fmt"
	"math"
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

// TestQuantizerGoFits: a Quantizer whose fits are the Go ones writes
// QuantizeRow's bytes, so its searches (IQ4Group's steps, qxSearch, a
// row's make_qkx2_quants searches in batches) choose as the plain
// quantizers do; kernels holds the assembly fits to the Go ones.
func TestQuantizerGoFits(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	q := Quantizer{Fits: Fits{IQ4Fit: (*IQ4Group).Fit, QxFit: (*QxGroup).Fit, Qkx2Fit: (*Qkx2Batch).Fit, IQNearest: (*IQCandidates).Nearest}}
	for _, typ := range []Type{IQ4_NL, IQ4_XS, Q6_K, Q2_K, Q4_K, Q5_K, Q4_0, Q4_1, Q5_0, Q5_1, Q3_K, IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, IQ1_S, IQ1_M} {
		for _, weighted := range []bool{false, true} {
			// Rows whose make_qkx2_quants searches end in a batch not full.
			n := 5 * QK_K
			if typ.Traits().BlockSize == 32 {
				n = 4*QK_K + 5*32
			}
			x := make([]float32, n)
			for i := range x {
				x[i] = float32(r.NormFloat64() * math.Exp(r.NormFloat64()))
			}
			x[7] = 0
			clear(x[QK_K : QK_K+32]) // an all-zero group
			// Groups on each type's grid, where the first fit is exact and
			// no trial beats it, beside groups that are not: Q6_K's codes
			// times 0.01, with −32 in each group of 16, and IQ4's levels,
			// −127 in each 32.
			levels := IQ4Levels()
			for i := 2 * QK_K; i < 3*QK_K; i++ {
				switch {
				case i/32%2 == 1:
				case typ == IQ4_NL || typ == IQ4_XS:
					l := float32(levels[r.IntN(16)])
					if i%32 == 0 {
						l = -127
					}
					x[i] = 0.01 * l
				default:
					l := float32(r.IntN(64) - 32)
					if i%16 == 0 {
						l = -32
					}
					x[i] = 0.01 * l
				}
			}
			var imp []float32
			if weighted {
				imp = make([]float32, len(x))
				for i := range imp {
					imp[i] = float32(r.ExpFloat64())
				}
			}
			rb, err := typ.RowBytes(len(x))
			if err != nil {
				t.Fatal(err)
			}
			want, got := make([]byte, rb), make([]byte, rb)
			if err := QuantizeRow(typ, x, want, imp); err != nil {
				t.Fatal(err)
			}
			if err := q.QuantizeRow(typ, x, got, imp); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%v weighted=%v: the Quantizer's row differs from QuantizeRow's", typ, weighted)
			}
		}
	}
}
