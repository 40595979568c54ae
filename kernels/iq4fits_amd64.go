//go:build amd64

package kernels

import "github.com/nuri-ai/nuri/quant"

// The assembly fits one multiplier a lane of a 512-bit register.
var (
	_ [16 - quant.IQ4Multipliers]struct{}
	_ [quant.IQ4Multipliers - 16]struct{}
)

//go:noescape
func iq4FitsAVX512(x, w, ids, sqx, sq2 *float32)

// hasIQ4Fits reports whether iq4Fit runs in assembly.
const hasIQ4Fits = true

// iq4Fit is g.Fit in AVX-512, one multiplier a lane, with its bits.
func iq4Fit(g *quant.IQ4Group) {
	iq4FitsAVX512(&g.X[0], &g.W[0], &g.IDs[0], &g.SumQX[0], &g.SumQ2[0])
}
