package kernels

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/nuri-ai/nuri/quant"
)

// withBF16Dot runs f with BF16 weights on the VDPBF16PS kernels (dot) or
// on the widening ones, restoring the start-up choice after.
func withBF16Dot(dot bool, f func()) {
	saved := packedBF16Dot
	packedBF16Dot = dot
	defer func() { packedBF16Dot = saved }()
	f()
}

// bf16Modes are the BF16 kernel sets this CPU can run: the widening
// (VFMADD231PS) kernels always, the VDPBF16PS ones with AVX512-BF16.
func bf16Modes() []bool {
	if hasBF16DotAsm {
		return []bool{false, true}
	}
	return []bool{false}
}

// TestMatMulPackedBF16Modes runs the packed checks for BF16 weights on
// each kernel set this CPU has, whichever the start-up chose: the
// reference's bits (packedRefFloat's FMA chains for the widening kernels,
// packedRefBF16Dot's pair order, rounding and flushing for VDPBF16PS), the
// multi-stream splits and batch invariance.
func TestMatMulPackedBF16Modes(t *testing.T) {
	if !CanPack(quant.BF16) {
		t.Skip("no packed kernels on this CPU")
	}
	for _, dot := range bf16Modes() {
		t.Run(fmt.Sprintf("vdpbf16ps=%v", dot), func(t *testing.T) {
			withBF16Dot(dot, func() {
				types := []quant.Type{quant.BF16}
				checkPackedReference(t, types)
				checkPackedStreams(t, types)
				checkPackedBatchInvariant(t, types)
				checkBF16Extremes(t)
			})
		})
	}
}

// checkBF16Extremes: weights and activations over every BF16 exponent,
// denormals included (VDPBF16PS reads them as zero and flushes denormal
// sums; the widening kernels keep them), with cancelling signs, give the
// reference's bits for tiles of 1-5 rows and single-row streams.
func checkBF16Extremes(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	anyBF16 := func() uint16 {
		e := rng.IntN(255) // not 255: no infinities or NaNs
		if rng.IntN(4) == 0 {
			e = rng.IntN(3) // denormals and the smallest normals
		} else if rng.IntN(2) == 0 {
			e = 120 + rng.IntN(16) // products near 1 that cancel
		}
		return uint16(rng.IntN(2))<<15 | uint16(e)<<7 | uint16(rng.IntN(128))
	}
	// Sums must stay finite: a value above 2^40 is scaled by 2^-100, so
	// products stay below 2^80 while their exponents still reach 2^-266.
	small := func(v float32) float32 {
		if math.Abs(float64(v)) > 0x1p40 {
			return float32(math.Ldexp(float64(v), -100))
		}
		return v
	}
	p := NewPool(2)
	defer p.Close()
	// A denormal first sum: 0 + 1.5·2^-127 flushes to zero before 2^-126
	// is added (2^-126 on VDPBF16PS; 1.75·2^-126 where the widening
	// kernels keep the denormal).
	{
		w := make([]byte, 2*16*4)
		for r := range 16 {
			binary.LittleEndian.PutUint16(w[8*r:], quant.FP32ToBF16(0x1p-63))
			binary.LittleEndian.PutUint16(w[8*r+2:], quant.FP32ToBF16(0x1.8p-64))
		}
		pw, err := PackWeights(p, quant.BF16, w, 16, 4)
		if err != nil {
			t.Fatal(err)
		}
		x := []float32{0x1p-63, 0x1p-63, 0, 0}
		got := guardedOutput(16)
		MatMulPacked(p, got, pw, x, 1)
		want := make([]float32, 16)
		packedRef(quant.BF16, w, 16, 4, x, 1, want)
		checkOutput(t, "BF16 denormal first sum", got, want, "reference")
	}
	for _, sh := range []struct{ rows, cols int }{{16, 4}, {33, 64}, {64, 256}, {130, 128}} {
		w := make([]byte, 2*sh.rows*sh.cols)
		for i := 0; i < len(w); i += 2 {
			v := small(quant.BF16ToFP32(anyBF16()))
			binary.LittleEndian.PutUint16(w[i:], quant.FP32ToBF16(v)) // exact: v is a BF16 value
		}
		pw, err := PackWeights(p, quant.BF16, w, sh.rows, sh.cols)
		if err != nil {
			t.Fatal(err)
		}
		for _, nx := range []int{1, 2, 3, 4, 5} {
			x := make([]float32, nx*sh.cols)
			for i := range x {
				// BF16 values, so that rounding cannot hide a denormal.
				x[i] = small(quant.BF16ToFP32(anyBF16()))
			}
			got := guardedOutput(nx * sh.rows)
			MatMulPacked(p, got, pw, x, nx)
			want := make([]float32, nx*sh.rows)
			packedRef(quant.BF16, w, sh.rows, sh.cols, x, nx, want)
			checkOutput(t, fmt.Sprintf("BF16 extremes %dx%d nx=%d", sh.rows, sh.cols, nx), got, want, "reference")
		}
	}
}
