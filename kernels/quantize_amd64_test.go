//go:build amd64

package kernels

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/nuri-ai/nuri/quant"
)

// TestQuantizeAsmMatchesQuant: the assembly Q8_0 quantizer's pair layout
// holds exactly what quant.QuantizeActivations followed by the layout
// conversion holds (the split layout: TestQuantizeSplitMatchesQuant).
func TestQuantizeAsmMatchesQuant(t *testing.T) {
	if !hasQuantAsm {
		t.Fatal("this test needs AVX2+F16C, which every amd64 CI machine has")
	}
	rng := rand.New(rand.NewPCG(11, 12))
	for _, nb := range []int{1, 2, 3, 7, 64} {
		for ri, x := range activationRows(rng, nb) {
			raw := make([]byte, nb*q8_0Bytes)
			if err := quant.QuantizeActivations(quant.Q8_0, x, raw); err != nil {
				t.Fatal(err)
			}
			// Pair layout, for both zero points; sentinel bytes after it.
			for _, zero := range []int{8, 16, 128} {
				size := (nb + 1) / 2 * pairBytes
				want := make([]byte, size)
				splitPairs(raw, want, nb, zero)
				got := bytes.Repeat([]byte{0xa5}, size+64)
				quantQ8_0Pairs(&x[0], nb, &got[0], -zero)
				if !bytes.Equal(got[:size], want) {
					t.Fatalf("nb=%d row %d zero=%d: pair layout differs", nb, ri, zero)
				}
				if !bytes.Equal(got[size:], bytes.Repeat([]byte{0xa5}, 64)) {
					t.Fatalf("nb=%d row %d: wrote past the pair layout", nb, ri)
				}
			}
		}
	}
}

// TestRoundF16MatchesQuant: the assembly fp16 rounding of F16 activations
// equals quant.QuantizeActivations(F16) widened back, including ties,
// subnormals, overflow to infinity and signed zeros.
func TestRoundF16MatchesQuant(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	x := randFloats(rng, 4096, 1)
	for i := 0; i < 256; i++ {
		x[i] = math.Float32frombits(rng.Uint32()) // any bit pattern but NaN
		if x[i] != x[i] {
			x[i] = 1
		}
	}
	x[300], x[301], x[302], x[303] = 65520, -65519, 1e-8, float32(math.Copysign(0, -1))
	x[304] = 1 + 0x1p-11 // a tie between two fp16 neighbours
	raw := make([]byte, 2*len(x))
	if err := quant.QuantizeActivations(quant.F16, x, raw); err != nil {
		t.Fatal(err)
	}
	got := make([]float32, len(x)+8)
	got[len(x)] = 7
	roundF16(&x[0], len(x)/8, &got[0])
	for i := range x {
		want := quant.FP16ToFP32(uint16(raw[2*i]) | uint16(raw[2*i+1])<<8)
		if math.Float32bits(got[i]) != math.Float32bits(want) {
			t.Fatalf("x[%d] = %g: rounded to %g, want %g", i, x[i], got[i], want)
		}
	}
	if got[len(x)] != 7 {
		t.Fatal("wrote past the output")
	}
}
