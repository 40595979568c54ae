//go:build amd64

package kernels

import (
	"unsafe"

	"golang.org/x/sys/cpu"

	"github.com/nuri-ai/nuri/quant"
)

// kernelVariants lists, per weight type, every assembly kernel this CPU can
// run, least preferred first. AVX2+FMA+F16C is the floor for any of them.
// With AVX-512 VNNI (+VL for its 256-bit form) the 256-bit int8 dot uses
// VPDPBUSD instead of VPMADDUBSW+VPMADDWD; the int32 lanes are identical
// (the maddubs form cannot saturate for these operands), so those two
// variants produce the same bits. The 512-bit kernels sum in a different
// lane layout (equal within float rounding, not bit for bit).
func kernelVariants() map[quant.Type][]*fastKernel {
	m := avx2Variants()
	if len(m) == 0 {
		return m
	}
	add := func(t quant.Type, k *fastKernel) { m[t] = append(m[t], k) }
	if cpu.X86.HasAVX512VNNI && cpu.X86.HasAVX512VL {
		add(quant.Q8_0, &fastKernel{name: "Q8_0/avx2+vnni", fn: dotQ8_0VNNI, tile: 4, blockQS: 32})
		add(quant.Q4_0, &fastKernel{name: "Q4_0/avx2+vnni", fn: dotQ4_0VNNI, tile: 4, blockQS: 32})
	}
	if cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VL && cpu.X86.HasAVX512VNNI {
		// Tiles of 4 rows: the 192-byte pair records of 4 rows of a
		// 2048-wide layer stay in L1; 8 rows measured ~30% slower.
		add(quant.Q8_0, &fastKernel{name: "Q8_0/avx512vnni", pair: dotQ8_0AVX512, tile: 4, pairs: true, colBlocks: 64, zero: 128})
		add(quant.Q4_0, &fastKernel{name: "Q4_0/avx512vnni", pair: dotQ4_0AVX512, tile: 4, pairs: true, colBlocks: 64, zero: 8})
	}
	if cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW {
		// Same lanes as the AVX2 K-quant kernels: bit-identical results.
		add(quant.Q4_K, &fastKernel{name: "Q4_K/avx512", fn: dotQ4_KAVX512, tile: 8, blockQS: 256, bsums: true})
		add(quant.Q6_K, &fastKernel{name: "Q6_K/avx512", fn: dotQ6_KAVX512, tile: 8, blockQS: 256, bsums: true})
	}
	if cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VNNI {
		// IQ4_XS/avx2's integer lanes (VNNI for the products): the same
		// bits, which TestEveryKernelVariant checks by the "/avx512" name.
		add(quant.IQ4_XS, &fastKernel{name: "IQ4_XS/avx512", fn: dotIQ4_XSAVX512, tile: 8, blockQS: 256, bsums: true})
	}
	return m
}

// avx2Variants is kernelVariants' 256-bit part: the kernels a CPU with
// AVX2, FMA and F16C runs, none of which needs AVX-512 (the "+vnni" forms
// take EVEX VPDPBUSD, so they are not here; the "+avxvnni" ones take
// AVX-VNNI's VEX form, which such CPUs may have).
func avx2Variants() map[quant.Type][]*fastKernel {
	m := map[quant.Type][]*fastKernel{}
	if !(cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpu.X86.HasF16C) {
		return m
	}
	add := func(t quant.Type, k *fastKernel) { m[t] = append(m[t], k) }
	add(quant.Q8_0, &fastKernel{name: "Q8_0/avx2", fn: dotQ8_0AVX2, tile: 4, blockQS: 32})
	add(quant.Q4_0, &fastKernel{name: "Q4_0/avx2", fn: dotQ4_0AVX2, oneRows: fourRows(dotQ4_0R4AVX2, dotQ4_0AVX2), tile: 4, blockQS: 32})
	add(quant.Q5_0, &fastKernel{name: "Q5_0/avx2", fn: dotQ5_0AVX2, oneRows: fourRows(dotQ5_0R4AVX2, dotQ5_0AVX2), tile: 4, blockQS: 32})
	add(quant.Q4_1, &fastKernel{name: "Q4_1/avx2", fn: dotQ4_1AVX2, tile: 4, blockQS: 32, sums: true})
	add(quant.Q5_1, &fastKernel{name: "Q5_1/avx2", fn: dotQ5_1AVX2, tile: 4, blockQS: 32, sums: true})
	add(quant.Q4_K, &fastKernel{name: "Q4_K/avx2", fn: dotQ4_KAVX2, one: dotQ4_K1AVX2, tile: 8, blockQS: 256, bsums: true})
	add(quant.Q6_K, &fastKernel{name: "Q6_K/avx2", fn: dotQ6_KAVX2, one: dotQ6_K1AVX2, tile: 8, blockQS: 256, bsums: true})
	add(quant.Q5_K, &fastKernel{name: "Q5_K/avx2", fn: dotQ5_KAVX2, one: dotQ5_K1AVX2, tile: 8, blockQS: 256, bsums: true})
	add(quant.Q3_K, &fastKernel{name: "Q3_K/avx2", fn: dotQ3_KAVX2, one: dotQ3_K1AVX2, tile: 8, blockQS: 256, bsums: true})
	add(quant.Q2_K, &fastKernel{name: "Q2_K/avx2", fn: dotQ2_KAVX2, one: dotQ2_K1AVX2, tile: 8, blockQS: 256, bsums: true})
	add(quant.IQ4_NL, &fastKernel{name: "IQ4_NL/avx2", fn: dotIQ4_NLAVX2, oneRows: fourRows(dotIQ4_NLR4AVX2, dotIQ4_NLAVX2), tile: 4, blockQS: 32})
	// IQ4_XS reads no group sums, but the Q8_K quantizer writes them.
	add(quant.IQ4_XS, &fastKernel{name: "IQ4_XS/avx2", fn: dotIQ4_XSAVX2, one: dotIQ4_XS1AVX2, tile: 8, blockQS: 256, bsums: true})
	add(quant.F32, &fastKernel{name: "F32/avx2", float: dotF32AVX2, tile: 4})
	add(quant.F16, &fastKernel{name: "F16/avx2", float: dotF16AVX2, tile: 4})
	add(quant.BF16, &fastKernel{name: "BF16/avx2", float: dotBF16AVX2, tile: 4})
	if cpu.X86.HasAVXVNNI {
		// VEX VPDPBUSD in place of VPMADDUBSW+VPMADDWD: the same int32
		// lanes, so the same bits as the avx2 kernels above.
		add(quant.Q8_0, &fastKernel{name: "Q8_0/avx2+avxvnni", fn: dotQ8_0AVXVNNI, tile: 4, blockQS: 32})
		add(quant.Q4_0, &fastKernel{name: "Q4_0/avx2+avxvnni", fn: dotQ4_0AVXVNNI, oneRows: fourRows(dotQ4_0R4AVXVNNI, dotQ4_0AVXVNNI), tile: 4, blockQS: 32})
		add(quant.Q5_0, &fastKernel{name: "Q5_0/avx2+avxvnni", fn: dotQ5_0AVXVNNI, oneRows: fourRows(dotQ5_0R4AVXVNNI, dotQ5_0AVXVNNI), tile: 4, blockQS: 32})
		add(quant.IQ4_NL, &fastKernel{name: "IQ4_NL/avx2+avxvnni", fn: dotIQ4_NLAVXVNNI, oneRows: fourRows(dotIQ4_NLR4AVXVNNI, dotIQ4_NLAVXVNNI), tile: 4, blockQS: 32})
		add(quant.Q4_1, &fastKernel{name: "Q4_1/avx2+avxvnni", fn: dotQ4_1AVXVNNI, tile: 4, blockQS: 32, sums: true})
		add(quant.Q5_1, &fastKernel{name: "Q5_1/avx2+avxvnni", fn: dotQ5_1AVXVNNI, tile: 4, blockQS: 32, sums: true})
		// VPDPWSSD for the K-quants' scaled sums, the same bits too.
		add(quant.Q4_K, &fastKernel{name: "Q4_K/avx2+avxvnni", fn: dotQ4_KAVXVNNI, one: dotQ4_K1AVXVNNI, tile: 8, blockQS: 256, bsums: true})
		add(quant.Q5_K, &fastKernel{name: "Q5_K/avx2+avxvnni", fn: dotQ5_KAVXVNNI, one: dotQ5_K1AVXVNNI, tile: 8, blockQS: 256, bsums: true})
		add(quant.Q6_K, &fastKernel{name: "Q6_K/avx2+avxvnni", fn: dotQ6_KAVXVNNI, one: dotQ6_K1AVXVNNI, tile: 8, blockQS: 256, bsums: true})
	}
	return m
}

// detectKernels picks the preferred variant per type.
func detectKernels() map[quant.Type]*fastKernel { return preferred(kernelVariants()) }

// hasQuantAsm: the assembly Q8_0 activation quantizer needs AVX2 and F16C
// (fp16 rounding of the scale with VCVTPS2PH, as ggml does).
var hasQuantAsm = cpu.X86.HasAVX2 && cpu.X86.HasF16C

// quantizeFast converts activation row i straight into the kernel layout
// with the assembly quantizer, which is bit-identical to
// quant.QuantizeActivations for finite inputs (TestQuantizeAsmMatchesQuant).
// It reports false when the caller must use the reference route.
func (s *matmulScratch) quantizeFast(t *mmTask, i int) bool {
	if !hasQuantAsm {
		return false
	}
	x := &t.x[i*t.cols]
	switch t.at {
	case quant.F16:
		// Round to fp16 and back with VCVTPS2PH/VCVTPH2PS; the last
		// cols%8 values take the reference route.
		a := s.d[i*t.cols : (i+1)*t.cols]
		xs := t.x[i*t.cols : (i+1)*t.cols]
		n8 := t.cols / 8
		if n8 > 0 {
			roundF16(&xs[0], n8, &a[0])
		}
		for j := n8 * 8; j < t.cols; j++ {
			a[j] = quant.FP16ToFP32(quant.FP32ToFP16(xs[j]))
		}
		return true
	case quant.Q8_K:
		nb := t.cols / quant.QK_K
		quantQ8_KSplit(x, nb, &s.qs[i*nb*256], &s.d[i*nb], &s.bs[i*nb*16])
		return true
	case quant.Q8_1:
		nb := t.cols / 32
		quantQ8_1Split(t.x[i*t.cols:(i+1)*t.cols], nb, s.qs[i*nb*32:(i+1)*nb*32], s.d[i*nb*2:(i+1)*nb*2])
		return true
	case quant.Q8_0:
	default:
		return false
	}
	nb := t.cols / 32
	if t.k.pairs {
		rb := s.qsRowBytes(t.k, nb)
		quantQ8_0Pairs(x, nb, &s.qs[i*rb], -t.k.zero)
		return true
	}
	quantQ8_0Split(x, nb, &s.qs[i*nb*32], &s.d[i*nb])
	return true
}

// fourRows makes a oneRows kernel from four, a kernel of four weight rows
// against one activation row, and fn, the same type's row kernel, which
// takes the rows left over.
func fourRows(four func(w *byte, wstride, nb int, qs *byte, d *float32, y *float32), fn rowKernel) rowsKernel {
	return func(w *byte, wstride, nr, nb int, qs *byte, d *float32, bs *int16, n int, y *float32, ystride int) {
		row := func(r int) *byte { return (*byte)(unsafe.Add(unsafe.Pointer(w), r*wstride)) }
		out := func(r int) *float32 { return (*float32)(unsafe.Add(unsafe.Pointer(y), 4*r)) }
		r := 0
		for ; r+4 <= nr; r += 4 {
			four(row(r), wstride, nb, qs, d, out(r))
		}
		for ; r < nr; r++ {
			fn(row(r), nb, qs, d, bs, n, out(r), ystride)
		}
	}
}
