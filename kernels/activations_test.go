//go:build amd64 || arm64

package kernels

import (
	"bytes"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/nuri-ai/nuri/quant"
)

// activationRows returns rows that stress the quantizer: normal data, an
// all-zero block, tiny and huge magnitudes, values that land exactly on .5
// after scaling (round-half-even ties) and negative zeros.
func activationRows(rng *rand.Rand, nb int) [][]float32 {
	n := nb * 32
	var rows [][]float32
	rows = append(rows, randFloats(rng, n, 1))
	z := randFloats(rng, n, 1)
	clear(z[:32])
	z[n-1] = float32(math.Copysign(0, -1))
	rows = append(rows, z)
	tiny := randFloats(rng, n, 1e-30)
	rows = append(rows, tiny)
	huge := randFloats(rng, n, 1e30)
	rows = append(rows, huge)
	// amax 127 makes id = 1, so k+0.5 values are exact ties.
	ties := make([]float32, n)
	for i := range ties {
		ties[i] = float32(rng.IntN(254)-127) + 0.5
		if i%32 == 0 {
			ties[i] = 127
		}
	}
	rows = append(rows, ties)
	return rows
}

// TestQuantizeSplitMatchesQuant: the assembly Q8_0 and Q8_K quantizers
// (AVX2 on amd64, NEON on arm64) write exactly what
// quant.QuantizeActivations followed by the split layout holds: quants,
// scales and (Q8_K) group sums, ties between +max and −max (the first
// wins) included, and nothing past their outputs.
func TestQuantizeSplitMatchesQuant(t *testing.T) {
	if runtime.GOARCH == "amd64" && !hasQuantAsm {
		t.Fatal("this test needs AVX2+F16C, which every amd64 CI machine has")
	}
	rng := rand.New(rand.NewPCG(11, 12))
	for _, nb := range []int{1, 2, 3, 7, 64} {
		for ri, x := range activationRows(rng, nb) {
			checkQ8_0Split(t, x, nb, ri)
		}
	}
	for _, nb := range []int{1, 2, 5} {
		rows := activationRows(rng, nb*8)
		tie := randFloats(rng, nb*256, 1)
		tie[17], tie[200] = -1000, 1000 // −max first
		rows = append(rows, tie, make([]float32, nb*256))
		for ri, x := range rows {
			checkQ8_KSplit(t, x, nb, ri)
		}
	}
}

// checkQ8_0Split compares quantQ8_0Split of row x (nb blocks) with the
// reference.
func checkQ8_0Split(t *testing.T, x []float32, nb, ri int) {
	t.Helper()
	raw := make([]byte, nb*q8_0Bytes)
	if err := quant.QuantizeActivations(quant.Q8_0, x, raw); err != nil {
		t.Fatal(err)
	}
	qs, d := bytes.Repeat([]byte{0x5a}, nb*32+16), make([]float32, nb+1)
	d[nb] = 7
	quantQ8_0Split(&x[0], nb, &qs[0], &d[0])
	for b := range nb {
		blk := raw[b*q8_0Bytes:]
		if !bytes.Equal(qs[b*32:b*32+32], blk[2:34]) {
			t.Fatalf("Q8_0 nb=%d row %d block %d: quants differ", nb, ri, b)
		}
		if want := quant.FP16ToFP32(uint16(blk[0]) | uint16(blk[1])<<8); math.Float32bits(d[b]) != math.Float32bits(want) {
			t.Fatalf("Q8_0 nb=%d row %d block %d: scale %g, want %g", nb, ri, b, d[b], want)
		}
	}
	if qs[nb*32] != 0x5a || d[nb] != 7 {
		t.Fatalf("Q8_0 nb=%d row %d: wrote past the outputs", nb, ri)
	}
}

// checkQ8_KSplit compares quantQ8_KSplit of row x (nb blocks) with the
// reference.
func checkQ8_KSplit(t *testing.T, x []float32, nb, ri int) {
	t.Helper()
	raw := make([]byte, nb*q8KBytes)
	if err := quant.QuantizeActivations(quant.Q8_K, x, raw); err != nil {
		t.Fatal(err)
	}
	qs, d, bs := bytes.Repeat([]byte{0x5a}, nb*256+32), make([]float32, nb+1), make([]int16, nb*16+16)
	d[nb], bs[nb*16] = 7, 7
	quantQ8_KSplit(&x[0], nb, &qs[0], &d[0], &bs[0])
	for b := range nb {
		blk := raw[b*q8KBytes:]
		if !bytes.Equal(qs[b*256:(b+1)*256], blk[q8KQSOff:q8KQSOff+256]) {
			t.Fatalf("Q8_K nb=%d row %d block %d: quants differ", nb, ri, b)
		}
		if math.Float32bits(d[b]) != math.Float32bits(f32le(blk)) {
			t.Fatalf("Q8_K nb=%d row %d block %d: scale %g, want %g", nb, ri, b, d[b], f32le(blk))
		}
		for g := range 16 {
			want := int16(uint16(blk[q8KBsumOff+2*g]) | uint16(blk[q8KBsumOff+2*g+1])<<8)
			if bs[b*16+g] != want {
				t.Fatalf("Q8_K nb=%d row %d block %d group %d: sum %d, want %d", nb, ri, b, g, bs[b*16+g], want)
			}
		}
	}
	if qs[nb*256] != 0x5a || d[nb] != 7 || bs[nb*16] != 7 {
		t.Fatalf("Q8_K nb=%d row %d: wrote past the outputs", nb, ri)
	}
}

// TestQuantizeQ8_1SplitMatchesQuant: the Q8_1 split layout built from the
// assembly Q8_0 quantizer has the same quants, scales and sums, bit for
// bit, as quant.QuantizeActivations' Q8_1 blocks.
func TestQuantizeQ8_1SplitMatchesQuant(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, nb := range []int{1, 2, 3, 7, 64} {
		for ri, x := range append(activationRows(rng, nb), make([]float32, nb*32)) {
			raw := make([]byte, nb*q8_1Bytes)
			if err := quant.QuantizeActivations(quant.Q8_1, x, raw); err != nil {
				t.Fatal(err)
			}
			gotQS, gotD := make([]byte, nb*32), make([]float32, 2*nb)
			quantQ8_1Split(x, nb, gotQS, gotD)
			for b := 0; b < nb; b++ {
				blk := raw[b*q8_1Bytes : (b+1)*q8_1Bytes]
				if !bytes.Equal(gotQS[b*32:b*32+32], blk[4:]) {
					t.Fatalf("nb=%d row %d block %d: quants differ", nb, ri, b)
				}
				wantD := quant.FP16ToFP32(uint16(blk[0]) | uint16(blk[1])<<8)
				wantS := quant.FP16ToFP32(uint16(blk[2]) | uint16(blk[3])<<8)
				if math.Float32bits(gotD[2*b]) != math.Float32bits(wantD) || math.Float32bits(gotD[2*b+1]) != math.Float32bits(wantS) {
					t.Fatalf("nb=%d row %d block %d: (d, s) = (%g, %g), want (%g, %g)", nb, ri, b, gotD[2*b], gotD[2*b+1], wantD, wantS)
				}
			}
		}
	}
}
