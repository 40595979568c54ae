//go:build !amd64 && !arm64

package kernels

import "github.com/nuri-ai/nuri/quant"

// kernelVariants: there are no assembly kernels for this architecture.
func kernelVariants() map[quant.Type][]*fastKernel { return map[quant.Type][]*fastKernel{} }

// avx2Variants: none either.
func avx2Variants() map[quant.Type][]*fastKernel { return map[quant.Type][]*fastKernel{} }

// quantQ8_KSplit: no assembly quantizer here (packed.go names it; nothing
// packs on this architecture).
func quantQ8_KSplit(x *float32, nb int, qs *byte, d *float32, bs *int16) {
	panic("kernels: no assembly")
}

// detectKernels: every type uses the pure-Go reference path.
func detectKernels() map[quant.Type]*fastKernel { return map[quant.Type]*fastKernel{} }

// quantizeFast: no assembly quantizer here; always the reference route.
func (s *matmulScratch) quantizeFast(t *mmTask, i int) bool { return false }
