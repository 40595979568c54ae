package cpu

import (
	"fmt"
	"math"

	"github.com/nuri-ai/nuri/backends"
)

// RoPE implements backends.Stream like ggml_rope_ext on the CPU: per token
// a cos/sin table is built by iterating θ in float32 (θ₀ = pos, θ ←
// θ·base^(-2/n_dims) after each pair), exactly as ggml does, because the
// iterated angle differs in the last bits from pos·base^(-2i/d) and those
// bits show up in the logits of long prompts.
func (s *Stream) RoPE(x backends.Tensor, pos []int32, p backends.RoPE) {
	s.do(backends.OpRoPE, func() error {
		if p.NHead <= 0 || x.Rows%p.NHead != 0 || x.Rows/p.NHead != len(pos) {
			return fmt.Errorf("%s with %d heads for %d positions: %w", x.Shape(), p.NHead, len(pos), backends.ErrShape)
		}
		if p.NDims <= 0 || p.NDims%2 != 0 || p.NDims > x.Cols {
			return fmt.Errorf("%s: rotating %d dims: %w", x.Shape(), p.NDims, backends.ErrShape)
		}
		xs, err := x.HostF32s()
		if err != nil {
			return err
		}
		var ff []float32
		if p.Freqs.Valid() {
			if ff, err = p.Freqs.HostF32s(); err != nil {
				return err
			}
			if len(ff) < p.NDims/2 {
				return fmt.Errorf("%s: need %d frequency factors: %w", p.Freqs.Shape(), p.NDims/2, backends.ErrShape)
			}
		}
		n, nh := x.Cols, p.NHead
		if len(pos) == 1 {
			// Decode: every layer's q and k rotate at the same position with
			// the same parameters, so the table is built once per step.
			cs := s.ropeTable(p, ff, pos[0])
			vec := s.dev.pool.VecOps()
			for h := 0; h < nh; h++ {
				vec.RoPE(xs[h*n:(h+1)*n], cs, p.Neox)
			}
			return nil
		}
		s.rowOp = rowOp{kind: rowRoPE, y: xs, n: n, rope: newRopeTable(p, ff), pos: pos, nHead: nh, nDims: p.NDims, neox: p.Neox, vec: s.dev.pool.VecOps()}
		s.runRows(len(pos))
		return nil
	})
}

// ropeCache is the last single-position cos/sin table a stream built.
type ropeCache struct {
	key backends.RoPE // NHead cleared: the table does not depend on it
	pos int32
	ok  bool
	cs  []float32
}

// ropeTable returns the cos/sin table of position pos, reusing the last
// one when the parameters (all but NHead) and the position are the same.
func (s *Stream) ropeTable(p backends.RoPE, ff []float32, pos int32) []float32 {
	key := p
	key.NHead = 0
	c := &s.rope
	if c.ok && c.key == key && c.pos == pos {
		return c.cs
	}
	if cap(c.cs) < p.NDims {
		c.cs = make([]float32, p.NDims)
	}
	c.cs = c.cs[:p.NDims]
	tab := newRopeTable(p, ff)
	tab.fill(c.cs, pos)
	c.key, c.pos, c.ok = key, pos, true
	return c.cs
}

// ropeTable holds what is shared by all positions.
type ropeTable struct {
	p          backends.RoPE
	ff         []float32
	thetaScale float32
	corr       [2]float32 // YaRN ramp bounds
}

func newRopeTable(p backends.RoPE, ff []float32) ropeTable {
	t := ropeTable{p: p, ff: ff}
	// powf(base, -2.0f/n_dims): the exponent is rounded to float32 first.
	t.thetaScale = float32(math.Pow(float64(p.Base), float64(float32(-2)/float32(p.NDims))))
	if p.ExtFactor != 0 {
		t.corr[0] = max(0, floor32(corrDim(p.NDims, p.NCtxOrig, p.BetaFast, p.Base)))
		t.corr[1] = min(float32(p.NDims-1), ceil32(corrDim(p.NDims, p.NCtxOrig, p.BetaSlow, p.Base)))
	}
	return t
}

// corrDim is ggml_rope_yarn_corr_dim: the dimension index whose wavelength
// covers n_ctx_orig/β rotations.
func corrDim(nDims, nCtxOrig int, beta, base float32) float32 {
	num := logf(float32(nCtxOrig) / (beta * 2 * float32(math.Pi)))
	return float32(nDims) * num / (2 * logf(base))
}

// fill writes cos and sin of every pair's angle at position pos into cs
// (cs[2i] = cos, cs[2i+1] = sin).
func (t *ropeTable) fill(cs []float32, pos int32) {
	p := t.p
	theta := float32(pos)
	for i0 := 0; i0 < p.NDims; i0 += 2 {
		ff := float32(1)
		if t.ff != nil {
			ff = t.ff[i0/2]
		}
		c, s := t.yarn(theta/ff, i0)
		cs[i0], cs[i0+1] = c, s
		theta *= t.thetaScale
	}
}

// yarn is ggml's rope_yarn: linear interpolation by FreqScale, blended
// towards the unscaled angle on high-frequency dims when YaRN is on, and a
// magnitude correction.
func (t *ropeTable) yarn(thetaExtrap float32, i0 int) (float32, float32) {
	p := t.p
	thetaInterp := p.FreqScale * thetaExtrap
	theta := thetaInterp
	mscale := p.AttnFactor
	if p.ExtFactor != 0 {
		y := (float32(i0/2) - t.corr[0]) / max(0.001, t.corr[1]-t.corr[0])
		rampMix := float32((1 - min(1, max(0, y))) * p.ExtFactor)
		theta = float32(thetaInterp*(1-rampMix)) + float32(thetaExtrap*rampMix)
		mscale *= 1 + float32(0.1*logf(1/p.FreqScale))
	}
	return float32(math.Cos(float64(theta))) * mscale, float32(math.Sin(float64(theta))) * mscale
}

func logf(v float32) float32    { return float32(math.Log(float64(v))) }
func floor32(v float32) float32 { return float32(math.Floor(float64(v))) }
func ceil32(v float32) float32  { return float32(math.Ceil(float64(v))) }
