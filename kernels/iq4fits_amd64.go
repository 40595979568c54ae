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
	_ [16 - quant.Qkx2Lanes]struct{}
	_ [quant.Qkx2Lanes - 16]struct{}
)

//go:noescape
func iq4FitsAVX512(x, w, ids, sqx, sq2 *float32)

// hasFitsAsm reports whether iq4Fit, qxFit and qkx2Fit run in assembly.
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

//go:noescape
func qkx2FitsAVX512(x, w, l, aux, scale, mn, numer *float32, n, trials, nmax, flags int)

// qkx2Trials is the most trials qkx2Fit runs in assembly; the quantizers
// run 16-37.
const qkx2Trials = 64

// qkx2Fit is b.Fit in AVX-512, one search a lane, with its bits.
func qkx2Fit(b *quant.Qkx2Batch) {
	trials := b.P.Trials()
	if trials > qkx2Trials || b.N < 1 || b.N > len(b.X) {
		b.Fit()
		return
	}
	var numer [qkx2Trials]float32
	for t := range trials {
		numer[t] = b.P.Numer(t)
	}
	flags := 0
	if b.P.UseMad {
		flags |= 1
	}
	if b.P.Guard {
		flags |= 2
	}
	qkx2FitsAVX512(&b.X[0][0], &b.W[0][0], &b.L[0][0], &b.Aux[0][0], &b.Scale[0], &b.Min[0], &numer[0],
		b.N, trials, int(b.P.NMax), flags)
}

//go:noescape
func iqNearest8x2AVX512(x, w, v *float32, nv int, scale float32, codes *uint16, n int) int

//go:noescape
func iqNearest4x3AVX512(x, w, v *float32, nv int, scale float32, codes *uint16, n int) int

// iqNearest is c.Nearest in AVX-512, sixteen candidates a pass, with its
// answers.
func iqNearest(c *quant.IQCandidates) int {
	n, nv := len(c.Codes), c.NV
	switch {
	case n == 0:
		return -1
	case nv < 1 || nv > 8:
	case c.Width == 8 && c.Bits == 2:
		return iqNearest8x2AVX512(&c.X[0], &c.W[0], &c.V[0], nv, c.Scale, &c.Codes[0], n)
	case c.Width == 4 && c.Bits == 3:
		return iqNearest4x3AVX512(&c.X[0], &c.W[0], &c.V[0], nv, c.Scale, &c.Codes[0], n)
	}
	return c.Nearest()
}
