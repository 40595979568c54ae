//go:build arm64

package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/nuri-ai/nuri/quant"
)

// TestIQDecodeMatchesQuant checks the arm64 decoders against
// quant.IQDecode's integers on random blocks: each element's level (IQ1:
// 8·grid + delta), each 16-element unit's multiplier and the scale.
func TestIQDecodeMatchesQuant(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, typ := range iqTypes {
		k := newIQKernel(typ)
		gs := quant.IQGroupSize(typ)
		var c iqChunk
		blk := make([]byte, typ.BlockBytes())
		for trial := range 300 {
			for i := range blk {
				blk[i] = byte(rng.Uint32())
			}
			b := trial % iqChunkBlocks
			k.decode(k, blk, &c, b)
			var level [quant.QK_K]int8
			var mult [16]int8
			d16 := quant.IQDecode(typ, blk, &level, &mult)
			if got, want := math.Float32bits(c.d[b]), math.Float32bits(quant.FP16ToFP32(d16)); got != want {
				t.Fatalf("%v trial %d: scale %#x, quant %#x", typ, trial, got, want)
			}
			for e := range quant.QK_K {
				got := int(int8(c.level[32*b+e/8] >> (8 * (e % 8))))
				if k.iq1 {
					got = 8*got + int(int8(c.delta[32*b+e/8]>>(8*(e%8))))
				}
				if got != int(level[e]) {
					t.Fatalf("%v trial %d: element %d level %d, quant %d", typ, trial, e, got, level[e])
				}
				if u := e / 16; c.mult[16*b+u] != int32(mult[e/gs]) {
					t.Fatalf("%v trial %d: unit %d multiplier %d, quant %d", typ, trial, u, c.mult[16*b+u], mult[e/gs])
				}
			}
		}
	}
}

// TestIQRowsSpanChunks runs the i-quant kernels over rows of more blocks
// than a chunk holds (37: two full chunks and a part) and checks the
// reference's bits, for one and several activation rows.
func TestIQRowsSpanChunks(t *testing.T) {
	p := newTestPool(t, 2)
	rng := rand.New(rand.NewPCG(9, 10))
	const rows, cols = 3, 37 * quant.QK_K
	for _, typ := range iqTypes {
		ks := kernelVariants()[typ]
		if len(ks) == 0 {
			t.Skipf("no %v kernel on this CPU (no FEAT_DotProd)", typ)
		}
		w := randWeights(rng, typ, rows, cols, false)
		for _, nx := range []int{1, 9} {
			x := randFloats(rng, nx*cols, 1)
			want := reference(t, typ, w, rows, cols, x, nx)
			got := runGuardedWith(t, func(y []float32) { matMulKernel(p, y, w, typ, rows, cols, x, nx, ks[0]) }, typ, rows, cols, nx)
			compareNamed(t, ks[0].name, typ, w, rows, cols, x, nx, got, want, fmt.Sprintf("%v nx=%d", typ, nx))
		}
	}
}
