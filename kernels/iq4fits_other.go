//go:build !amd64

package kernels

import "github.com/nuri-ai/nuri/quant"

const hasFitsAsm = false

func iq4Fit(g *quant.IQ4Group) { panic("kernels: no assembly") }

func qxFit(g *quant.QxGroup) { panic("kernels: no assembly") }

func qkx2Fit(b *quant.Qkx2Batch) { panic("kernels: no assembly") }

func iqNearest(c *quant.IQCandidates) int { panic("kernels: no assembly") }
