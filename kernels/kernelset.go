package kernels

import (
	"github.com/nuri-ai/nuri/quant"
)

// KernelSet is the set of kernels a Pool's calls may run. The best set is
// the default; the narrower ones exist so one machine can test the paths
// other machines take (make test runs the suite under each).
type KernelSet uint8

const (
	// KernelsBest runs the fastest kernels this CPU has.
	KernelsBest KernelSet = iota
	// KernelsAVX2 runs only what a CPU with AVX2, FMA and F16C but no
	// AVX-512 would: the 256-bit row kernels of MatMul (their AVX-VNNI
	// forms where the CPU has it), packed weights only for the transcoded
	// i-quants (their AVX2 kernels; the other packed kernels are AVX-512),
	// and the pure-Go VecOps loops.
	KernelsAVX2
	// KernelsGeneric runs the pure-Go reference kernels.
	KernelsGeneric
)

var kernelSetNames = enumNames{KernelsBest: "best", KernelsAVX2: "avx2", KernelsGeneric: "generic"}

// ParseKernelSet reads a kernel set's name as NURI_KERNELS gives it: ""
// or "best", "avx2", "generic".
func ParseKernelSet(s string) (KernelSet, error) {
	v, err := kernelSetNames.parse("kernel set", s)
	return KernelSet(v), err
}

func (k KernelSet) String() string { return kernelSetNames.name("KernelSet", uint8(k)) }

// MarshalText writes the set's name, so reports read "best", "avx2" or
// "generic".
func (k KernelSet) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText reads a name ParseKernelSet accepts.
func (k *KernelSet) UnmarshalText(b []byte) error {
	v, err := ParseKernelSet(string(b))
	if err != nil {
		return err
	}
	*k = v
	return nil
}

// SetKernelSet chooses the kernels for this Pool's calls (MatMul, VecOps,
// and whether weights may be packed: Packs).
func (p *Pool) SetKernelSet(k KernelSet) {
	p.mu.Lock()
	p.kernels = k
	p.mu.Unlock()
}

// KernelSet reports the Pool's kernel set; a nil Pool runs the best.
func (p *Pool) KernelSet() KernelSet {
	if p == nil {
		return KernelsBest
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.kernels
}

// Packs reports whether weights of type t used with this Pool are packed
// for MatMulPacked: CanPack(t) under the best kernels; under the AVX2 set,
// the transcoded i-quants, whose packed kernels have AVX2 forms.
func (p *Pool) Packs(t quant.Type) bool {
	switch p.KernelSet() {
	case KernelsBest:
		return CanPack(t)
	case KernelsAVX2:
		return iqPacksOnAVX2(t)
	}
	return false
}

// CopiesPlain reports whether weights of type t that this Pool does not
// pack are worth a plain copy in an Arena for MatMul: where an assembly
// row kernel streams them and the Arena is on huge pages (Linux). Read in
// place from a mapped file they sit on 4 KiB pages, and a decode step's
// matmuls walk the page tables every 4 KiB. On the 2-core Zen 5 VM under
// NURI_KERNELS=avx2, llama-1b Q4_0 decoded at 37.2-40.0 t/s from the
// file's pages and 40.2-43.0 from a copy (four alternating pairs); Q4_K_M
// and Q8_0 were level (docs/performance.md, round 45). The copy also puts
// the weights on the pages the bandwidth probe reads, as packed weights
// are. The loader gives the file's pages back (OwnCopy), so the process
// keeps one copy of the weights. The pool's threads make the copy
// (Arena.Copy): `nuri run -n 1` on llama-1b Q8_0 took 0.93-0.96 s with
// it, 0.77-1.05 without, and 1.2-5.2 s with one thread copying.
func (p *Pool) CopiesPlain(t quant.Type) bool {
	return arenaOnHugePages && !p.Packs(t) && rowKernelFor(p.KernelSet(), t) != nil
}

// rowKernelFor is the MatMul kernel for weight type wt under kernel set k
// (nil: the reference path).
func rowKernelFor(k KernelSet, wt quant.Type) *fastKernel {
	switch k {
	case KernelsGeneric:
		return nil
	case KernelsAVX2:
		return avx2Kernels[wt]
	}
	return fastKernels[wt]
}
