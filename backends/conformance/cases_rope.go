package conformance

import (
	"fmt"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/quant"
)

// ropeShape is one RoPE configuration.
type ropeShape struct {
	name           string
	nHead, headDim int
	p              backends.RoPE
	freqs          bool // per-pair frequency factors (llama3)
	tokens         []int
}

func ropeShapes() []ropeShape {
	base := backends.RoPE{Base: 10000, FreqScale: 1, AttnFactor: 1}
	with := func(f func(p *backends.RoPE)) backends.RoPE {
		p := base
		f(&p)
		return p
	}
	return []ropeShape{
		{name: "norm", nHead: 2, headDim: 64, p: with(func(p *backends.RoPE) { p.NDims = 64 }), tokens: []int{1, 2, 17}},
		{name: "neox", nHead: 3, headDim: 128, p: with(func(p *backends.RoPE) { p.NDims = 128; p.Neox = true; p.Base = 1e6 }), tokens: []int{1, 5}},
		{name: "neox-partial", nHead: 1, headDim: 64, p: with(func(p *backends.RoPE) { p.NDims = 32; p.Neox = true }), tokens: []int{3, 16}},
		{name: "linear", nHead: 2, headDim: 32, p: with(func(p *backends.RoPE) { p.NDims = 32; p.FreqScale = 0.5 }), tokens: []int{7}},
		{name: "freqs", nHead: 4, headDim: 64, p: with(func(p *backends.RoPE) { p.NDims = 64; p.Base = 500000 }), freqs: true, tokens: []int{1, 9}},
		{name: "yarn", nHead: 2, headDim: 64, tokens: []int{4, 17}, p: with(func(p *backends.RoPE) {
			p.NDims = 64
			p.Neox = true
			p.FreqScale = 0.25
			p.ExtFactor = 1
			p.BetaFast, p.BetaSlow = 32, 1
			p.NCtxOrig = 2048
		})},
	}
}

func ropeCases() []testCase {
	var cs []testCase
	for _, sh := range ropeShapes() {
		cs = append(cs, testCase{op: backends.OpRoPE, typ: quant.F32, name: fmt.Sprintf("%v/F32/%s", backends.OpRoPE, sh.name), run: ropeCase(sh)})
	}
	return cs
}

// ropeCase rotates heads of tokens at random positions (up to 8191, so
// the iterated angles of the last pairs differ in their low bits).
func ropeCase(sh ropeShape) func(e *env) (Metric, error) {
	return func(e *env) (Metric, error) {
		p := sh.p
		p.NHead = sh.nHead
		var freqs twin
		if sh.freqs {
			f := make([]float32, p.NDims/2)
			for i := range f {
				f[i] = 1 + float32(i%7)*1.5 // factors ≥ 1, as llama3's
			}
			var err error
			if freqs, err = e.in("rope_freqs", 1, p.NDims/2, f); err != nil {
				return Metric{}, err
			}
		}
		var worst Metric
		for _, n := range sh.tokens {
			pos := make([]int32, n)
			for i := range pos {
				pos[i] = int32(e.rng.IntN(8192))
			}
			pos[0] = 0
			x, err := e.in("x", n*sh.nHead, sh.headDim, randRows(e.rng, n*sh.nHead, sh.headDim))
			if err != nil {
				return worst, err
			}
			if err := e.op("rope", func(s backends.Stream, i int) {
				q := p
				if sh.freqs {
					q.Freqs = freqs.on(i)
				}
				s.RoPE(x.on(i), pos, q)
			}); err != nil {
				return worst, fmt.Errorf("%d tokens: %w", n, err)
			}
			m, err := e.check(x)
			if err != nil {
				return worst, fmt.Errorf("%d tokens: %w", n, err)
			}
			worst = worst.worse(m)
		}
		return worst, nil
	}
}
