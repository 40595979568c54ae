//go:build amd64

package kernels

import (
	"golang.org/x/sys/cpu"

	"github.com/nuri-ai/nuri/quant"
)

// detectKernels chooses the assembly kernels for this CPU. AVX2+FMA+F16C is
// the floor for any fast kernel. With AVX-512 VNNI (and VL, for its 256-bit
// form) the int8 dot uses VPDPBUSD instead of VPMADDUBSW+VPMADDWD; the
// int32 lanes are identical (the maddubs form cannot saturate for these
// operands), so both variants produce the same bits.
func detectKernels() map[quant.Type]*fastKernel {
	m := map[quant.Type]*fastKernel{}
	if !(cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpu.X86.HasF16C) {
		return m
	}
	vnni := cpu.X86.HasAVX512VNNI && cpu.X86.HasAVX512VL
	m[quant.Q8_0] = &fastKernel{name: "Q8_0/avx2", fn: dotQ8_0AVX2, tile: 4, blockQS: 32}
	m[quant.Q4_0] = &fastKernel{name: "Q4_0/avx2", fn: dotQ4_0AVX2, tile: 4, blockQS: 32}
	if vnni {
		m[quant.Q8_0] = &fastKernel{name: "Q8_0/avx2+vnni", fn: dotQ8_0VNNI, tile: 4, blockQS: 32}
		m[quant.Q4_0] = &fastKernel{name: "Q4_0/avx2+vnni", fn: dotQ4_0VNNI, tile: 4, blockQS: 32}
	}
	return m
}
