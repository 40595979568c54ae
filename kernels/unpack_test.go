package kernels

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/nuri-ai/nuri/quant"
)

// TestPackedRowRoundTrip: Row gives back every row's original bytes, for
// every packed type, random bytes in every field (so each bit of the
// encoding is checked), a partial last group and the smallest and an odd
// number of blocks.
func TestPackedRowRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	types := []quant.Type{quant.Q4_0, quant.Q4_1, quant.Q5_0, quant.Q5_1, quant.Q8_0,
		quant.Q2_K, quant.Q3_K, quant.Q4_K, quant.Q5_K, quant.Q6_K, quant.IQ4_XS, quant.IQ4_NL,
		quant.IQ2_XXS, quant.IQ3_XXS, quant.IQ3_S, quant.IQ1_S, quant.IQ2_XS, quant.IQ2_S, quant.IQ1_M, quant.F16, quant.BF16, quant.F32}
	for _, wt := range types {
		qk := packedQK(wt)
		for _, sh := range [][2]int{{1, qk}, {37, 3 * qk}, {16, 5 * qk}} {
			rows, cols := sh[0], sh[1]
			t.Run(fmt.Sprintf("%v/%dx%d", wt, rows, cols), func(t *testing.T) {
				w := randWeights(rng, wt, rows, cols, false)
				for i := range w { // every bit, fp16 fields included
					w[i] = byte(rng.Uint32())
				}
				pw, err := PackWeights(nil, wt, w, rows, cols)
				if err != nil {
					t.Fatal(err)
				}
				rb, _ := wt.RowBytes(cols)
				got := make([]byte, rb)
				for r := range rows {
					for i := range got {
						got[i] = 0xA5 // Row must overwrite stale bytes
					}
					if err := pw.Row(r, got); err != nil {
						t.Fatal(err)
					}
					if want := w[r*rb : (r+1)*rb]; !bytes.Equal(got, want) {
						t.Fatalf("row %d:\n got %x\nwant %x", r, got, want)
					}
				}
				if err := pw.Row(rows, got); err == nil {
					t.Error("row past the end: no error")
				}
				if err := pw.Row(0, got[:rb-1]); err == nil {
					t.Error("short destination: no error")
				}
			})
		}
	}
}
