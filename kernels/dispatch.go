package kernels

import (
	"encoding/binary"
	"math"

	"github.com/nuri-ai/nuri/quant"
)

// rowKernel computes one weight row (nb blocks) against n activation rows in
// the split layout: quants qs (row i at qs + i·nb·blockQS bytes), float32
// scales d (row i at d + i·nb), Q8_K group sums bs (row i at bs + i·nb·16),
// writing output i to y + i·ystride bytes.
type rowKernel func(w *byte, nb int, qs *byte, d *float32, bs *int16, n int, y *float32, ystride int)

// rowsKernel is rowKernel over nr consecutive weight rows (wstride bytes
// apart, outputs at consecutive float32s of y), for kernels whose set-up,
// such as a decoding buffer, is worth sharing across a run of rows.
type rowsKernel func(w *byte, wstride, nr, nb int, qs *byte, d *float32, bs *int16, n int, y *float32, ystride int)

// pairKernel is the 512-bit Q4_0/Q8_0 kernel: one weight row (nb blocks)
// against n activation rows in the pair layout (row i at act + i·astride
// bytes). mode bit 0: start from the lanes saved at acc (16 float32 per
// row, row i at acc + 64·i) instead of zero; bit 1: save the lanes there
// instead of writing y. Splitting a row's blocks over several calls this way
// gives the same bits as one call (see mmTask.pairRows).
type pairKernel func(w *byte, nb int, act *byte, astride int, acc *float32, mode int, n int, y *float32, ystride int)

// floatKernel computes one float weight row (F32/F16/BF16) against n float32
// activation rows (row i at a + i·astride bytes) over the first 8·n8 columns.
type floatKernel func(w *byte, n8 int, a *float32, astride int, n int, y *float32, ystride int)

// fastKernel describes one accelerated weight type.
type fastKernel struct {
	name string // for reports: "Q4_0/avx2+vnni"
	fn   rowKernel
	// one, where set, is fn for a single activation row (decode's calls):
	// the same bits, with the accumulator in a register instead of the
	// frame where fn keeps each of its rows' accumulators.
	one  rowKernel
	rows rowsKernel // where set, fn over a run of rows: MatMul calls it instead
	// oneRows, where set, is fn over a run of weight rows for a single
	// activation row, with fn's bits: several rows' accumulators side by
	// side where one row's chain of FMAs would bound a call.
	oneRows rowsKernel
	tile    int         // most activation rows per call
	blockQS int         // activation quant bytes per weight block (32 or 256)
	bsums   bool        // needs the Q8_K group sums
	sums    bool        // Q8_1 activations: d holds (scale, s) pairs, s the block's d·Σq
	pairs   bool        // activations in the 512-bit pair layout (see splitPairs)
	zero    int         // pair layout: the weight codes' zero point (8 or 128)
	float   floatKernel // float weights: used instead of fn
	pair    pairKernel  // pair layout: used instead of fn
	// colBlocks (pair kernels, even): when a tile's activations exceed
	// l1ActBytes, rows are computed in column chunks of this many blocks so
	// the chunk's activations stay in L1 (0: never split).
	colBlocks int
}

// fastKernels maps a weight type to its accelerated kernel on this CPU. It is
// filled once at package initialisation from the CPU features (see
// kernels_amd64.go) and read-only afterwards; types missing from it use the
// pure-Go reference path.
var fastKernels = detectKernels()

// avx2Kernels is fastKernels without the kernels that need AVX-512: what
// KernelsAVX2 runs.
var avx2Kernels = preferred(avx2Variants())

// preferred picks each type's last (most preferred) variant.
func preferred(variants map[quant.Type][]*fastKernel) map[quant.Type]*fastKernel {
	m := map[quant.Type]*fastKernel{}
	for t, ks := range variants {
		m[t] = ks[len(ks)-1]
	}
	return m
}

// KernelName reports which implementation MatMul uses for weight type wt on
// this Pool: the fast kernel's name, or "generic" for the reference path.
func (p *Pool) KernelName(wt quant.Type) string {
	if k := rowKernelFor(p.KernelSet(), wt); k != nil {
		return k.name
	}
	return "generic"
}

// WeightKernelName reports the kernel a model's weights of type wt run on
// with this Pool: the packed 16-row kernel when the type packs (the CPU
// backend repacks such weights at load; float weights need a multiple of 4
// columns), else KernelName.
func (p *Pool) WeightKernelName(wt quant.Type) string {
	if p.Packs(wt) {
		if p.KernelSet() == KernelsAVX2 || !hasPackedAsm {
			return wt.String() + "/avx2-x16" // the transcoded i-quants
		}
		return packedKernelName(wt)
	}
	return p.KernelName(wt)
}

func packedKernelName(wt quant.Type) string {
	if wt == quant.BF16 && packedBF16Dot {
		return wt.String() + "/avx512bf16-x16"
	}
	if floatType(wt) {
		return wt.String() + "/avx512-x16"
	}
	return wt.String() + "/avx512vnni-x16"
}

func f32le(b []byte) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(b)) }
