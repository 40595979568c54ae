//go:build amd64

package kernels

import "github.com/nuri-ai/nuri/quant"

// The assembly fits one multiplier a lane of a 512-bit register; a
// QxGroup's trials are two passes.
var (
	_ [16 - quant.IQ4Multipliers]struct{}
	_ [quant.IQ4Multipliers - 16]struct{}
	_ [len(quant.QxGroup{}.IScale) - 32]struct{}
	_ [32 - quant.QxTrials]struct{}
)

//go:noescape
func iq4FitsAVX512(x, w, ids, sqx, sq2 *float32)

// hasFitsAsm reports whether iq4Fit and qxFit run in assembly.
const hasFitsAsm = true

// iq4Fit is g.Fit in AVX-512, one multiplier a lane, with its bits.
func iq4Fit(g *quant.IQ4Group) {
	iq4FitsAVX512(&g.X[0], &g.W[0], &g.IDs[0], &g.SumQX[0], &g.SumQ2[0])
}

//go:noescape
func qxFitsAVX512(x, w *float32, n int, nmax int, iscale, sumlx, suml2 *float32)

// qxFit is g.Fit in AVX-512, sixteen trials a pass, with its bits.
func qxFit(g *quant.QxGroup) {
	for t := 0; t < quant.QxTrials; t += 16 {
		qxFitsAVX512(&g.X[0], &g.W[0], g.N, int(g.NMax), &g.IScale[t], &g.SumLX[t], &g.SumL2[t])
	}
}
