package conformance

import (
	"fmt"
	"math"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/quant"
)

// ewShape is an element-wise case: rows×cols, whether the output
// overwrites the first input, and whether inputs carry NaN/±Inf.
type ewShape struct {
	rows, cols int
	inPlace    bool
	nonFinite  bool
}

func (s ewShape) String() string {
	n := fmt.Sprintf("%dx%d", s.rows, s.cols)
	if s.inPlace {
		n += "/inplace"
	}
	if s.nonFinite {
		n += "/nonfinite"
	}
	return n
}

func ewShapes() []ewShape {
	return []ewShape{{rows: 1, cols: 1}, {rows: 3, cols: 7}, {rows: 17, cols: 64}, {rows: 5, cols: 100, inPlace: true},
		{rows: 2, cols: 4096}, {rows: 4, cols: 33, nonFinite: true}}
}

// poison puts +Inf, −Inf and NaN at scattered places of row 1 (and a huge
// value that overflows squares and exponentials in row 2).
func poison(v []float32, cols int) {
	if len(v) < 3*cols || cols < 3 {
		return
	}
	v[cols] = float32(math.Inf(1))
	v[cols+cols/2] = float32(math.Inf(-1))
	v[2*cols-1] = float32(math.NaN())
	v[2*cols] = 3e38
}

// ewInputs returns n input twins filled with Gaussian values (scaled ×30
// in half the cases, so SiLU sees large magnitudes), poisoned if asked.
func (e *env) ewInputs(sh ewShape, n int) ([]twin, error) {
	var tws []twin
	for k := 0; k < n; k++ {
		v := randRows(e.rng, sh.rows, sh.cols)
		if sh.nonFinite && k == 0 {
			poison(v, sh.cols)
		}
		tw, err := e.in(fmt.Sprintf("in%d", k), sh.rows, sh.cols, v)
		if err != nil {
			return nil, err
		}
		tws = append(tws, tw)
	}
	return tws, nil
}

// ewCase builds a case for an element-wise op: nIn inputs, the op applied
// by f (dst, inputs on side i).
func ewCase(op backends.Op, sh ewShape, nIn int, f func(s backends.Stream, dst backends.Tensor, in []backends.Tensor)) testCase {
	return testCase{op: op, typ: quant.F32, name: fmt.Sprintf("%v/F32/%v", op, sh), run: func(e *env) (Metric, error) {
		ins, err := e.ewInputs(sh, nIn)
		if err != nil {
			return Metric{}, err
		}
		dst := ins[0]
		if !sh.inPlace {
			if dst, err = e.out("y", sh.rows, sh.cols); err != nil {
				return Metric{}, err
			}
		}
		if err := e.op(op.String(), func(s backends.Stream, i int) {
			ts := make([]backends.Tensor, len(ins))
			for k, tw := range ins {
				ts[k] = tw.on(i)
			}
			f(s, dst.on(i), ts)
		}); err != nil {
			return Metric{}, err
		}
		return e.check(dst)
	}}
}

func floatCases() []testCase {
	var cs []testCase
	for _, sh := range ewShapes() {
		sh := sh
		cs = append(cs,
			testCase{op: backends.OpRMSNorm, typ: quant.F32, name: fmt.Sprintf("%v/F32/%v", backends.OpRMSNorm, sh), run: rmsNormCase(sh)},
			ewCase(backends.OpAdd, sh, 2, func(s backends.Stream, dst backends.Tensor, in []backends.Tensor) { s.Add(dst, in[0], in[1]) }),
			ewCase(backends.OpScale, sh, 1, func(s backends.Stream, dst backends.Tensor, in []backends.Tensor) { s.Scale(dst, in[0], -0.37) }),
			ewCase(backends.OpSiLUMul, sh, 2, func(s backends.Stream, dst backends.Tensor, in []backends.Tensor) { s.SiLUMul(dst, in[0], in[1]) }),
			scaleRowsCase(sh),
			geluMulCase(sh, 1),
			layerNormCase(sh),
			geluCase(sh),
		)
	}
	// A broadcast add (a bias row), SiLU of large gates and GELU of gates
	// across its ±10 edges.
	cs = append(cs, testCase{op: backends.OpAdd, typ: quant.F32, name: "add/F32/broadcast", run: addBroadcastCase},
		testCase{op: backends.OpSiLUMul, typ: quant.F32, name: "silu_mul/F32/large", run: siluLargeCase},
		geluMulCase(ewShape{rows: 3, cols: 50}, 8))
	return append(cs, ropeCases()...)
}

// scaleRowsCase is backends.RowScaler's ScaleRows (per-request LoRA
// adapters), for streams that have it: a factor a row, zero for some.
func scaleRowsCase(sh ewShape) testCase {
	scales := make([]float32, sh.rows)
	for i := range scales {
		if i%3 != 2 {
			scales[i] = float32(1-2*(i%2)) * (0.5 + 0.25*float32(i))
		}
	}
	c := ewCase(backends.OpScale, sh, 1, func(s backends.Stream, dst backends.Tensor, in []backends.Tensor) {
		s.(backends.RowScaler).ScaleRows(dst, in[0], scales)
	})
	c.name = fmt.Sprintf("%v/F32/rows/%v", backends.OpScale, sh)
	c.needs = func(s backends.Stream) bool { _, ok := s.(backends.RowScaler); return ok }
	return c
}

// geluMulCase is backends.GELUMuler's GELUMul (Gemma's FFN), for streams
// that have it, on Gaussian gates times spread (8 reaches both ends where
// gelu stops reading its table).
func geluMulCase(sh ewShape, spread float32) testCase {
	name := fmt.Sprintf("%v/F32/%v", backends.OpGELUMul, sh)
	if spread != 1 {
		name = fmt.Sprintf("%v/F32/wide", backends.OpGELUMul)
	}
	return testCase{op: backends.OpGELUMul, typ: quant.F32, name: name,
		needs: func(s backends.Stream) bool { _, ok := s.(backends.GELUMuler); return ok },
		run: func(e *env) (Metric, error) {
			g := randRows(e.rng, sh.rows, sh.cols)
			for i := range g {
				g[i] *= spread
			}
			gate, err := e.in("gate", sh.rows, sh.cols, g)
			if err != nil {
				return Metric{}, err
			}
			up, err := e.in("up", sh.rows, sh.cols, randRows(e.rng, sh.rows, sh.cols))
			if err != nil {
				return Metric{}, err
			}
			dst, err := e.out("gelu_mul", sh.rows, sh.cols)
			if err != nil {
				return Metric{}, err
			}
			if err := e.op("gelu_mul", func(s backends.Stream, i int) {
				s.(backends.GELUMuler).GELUMul(dst.on(i), gate.on(i), up.on(i))
			}); err != nil {
				return Metric{}, err
			}
			return e.check(dst)
		}}
}

// geluCase is backends.GELUer's GELU (encoders' FFNs), for streams that
// have it, on gates spread across the table's ±10 edges.
func geluCase(sh ewShape) testCase {
	c := ewCase(backends.OpGELU, sh, 1, func(s backends.Stream, dst backends.Tensor, in []backends.Tensor) {
		s.(backends.GELUer).GELU(dst, in[0])
	})
	c.needs = func(s backends.Stream) bool { _, ok := s.(backends.GELUer); return ok }
	return c
}

// layerNormCase is backends.LayerNormer's LayerNorm (BERT's), for streams
// that have it: rows shifted off zero (the mean matters), a weight and a
// bias row, and once without the bias.
func layerNormCase(sh ewShape) testCase {
	return testCase{op: backends.OpLayerNorm, typ: quant.F32, name: fmt.Sprintf("%v/F32/%v", backends.OpLayerNorm, sh),
		needs: func(s backends.Stream) bool { _, ok := s.(backends.LayerNormer); return ok },
		run: func(e *env) (Metric, error) {
			xv := randRows(e.rng, sh.rows, sh.cols)
			for i := range xv {
				xv[i] += 3
			}
			x, err := e.in("x", sh.rows, sh.cols, xv)
			if err != nil {
				return Metric{}, err
			}
			w, err := e.in("w", 1, sh.cols, randRows(e.rng, 1, sh.cols))
			if err != nil {
				return Metric{}, err
			}
			b, err := e.in("b", 1, sh.cols, randRows(e.rng, 1, sh.cols))
			if err != nil {
				return Metric{}, err
			}
			var worst Metric
			for _, bias := range []bool{true, false} {
				dst, err := e.out("y", sh.rows, sh.cols)
				if err != nil {
					return worst, err
				}
				if err := e.op("layer_norm", func(s backends.Stream, i int) {
					var bt backends.Tensor
					if bias {
						bt = b.on(i)
					}
					s.(backends.LayerNormer).LayerNorm(dst.on(i), x.on(i), w.on(i), bt, 1e-12)
				}); err != nil {
					return worst, err
				}
				m, err := e.check(dst)
				if err != nil {
					return worst, fmt.Errorf("bias %v: %w", bias, err)
				}
				worst = worst.worse(m)
			}
			return worst, nil
		}}
}

// rmsNormCase normalises rows with a weight row (two epsilons).
func rmsNormCase(sh ewShape) func(e *env) (Metric, error) {
	return func(e *env) (Metric, error) {
		ins, err := e.ewInputs(sh, 1)
		if err != nil {
			return Metric{}, err
		}
		w, err := e.in("w", 1, sh.cols, randRows(e.rng, 1, sh.cols))
		if err != nil {
			return Metric{}, err
		}
		var worst Metric
		for _, eps := range []float32{1e-5, 1e-6} {
			dst := ins[0]
			if !sh.inPlace {
				if dst, err = e.out("y", sh.rows, sh.cols); err != nil {
					return worst, err
				}
			}
			if err := e.op("rms_norm", func(s backends.Stream, i int) { s.RMSNorm(dst.on(i), ins[0].on(i), w.on(i), eps) }); err != nil {
				return worst, err
			}
			m, err := e.check(dst)
			if err != nil {
				return worst, fmt.Errorf("eps %g: %w", eps, err)
			}
			worst = worst.worse(m)
			if sh.inPlace {
				break // the input is gone
			}
		}
		return worst, nil
	}
}

func addBroadcastCase(e *env) (Metric, error) {
	a, err := e.in("a", 13, 40, randRows(e.rng, 13, 40))
	if err != nil {
		return Metric{}, err
	}
	b, err := e.in("bias", 1, 40, randRows(e.rng, 1, 40))
	if err != nil {
		return Metric{}, err
	}
	y, err := e.out("y", 13, 40)
	if err != nil {
		return Metric{}, err
	}
	if err := e.op("add", func(s backends.Stream, i int) { s.Add(y.on(i), a.on(i), b.on(i)) }); err != nil {
		return Metric{}, err
	}
	return e.check(y)
}

func siluLargeCase(e *env) (Metric, error) {
	g := randRows(e.rng, 3, 50)
	for i := range g {
		g[i] *= 40 // gates far into both saturated ends
	}
	gate, err := e.in("gate", 3, 50, g)
	if err != nil {
		return Metric{}, err
	}
	up, err := e.in("up", 3, 50, randRows(e.rng, 3, 50))
	if err != nil {
		return Metric{}, err
	}
	if err := e.op("silu_mul", func(s backends.Stream, i int) { s.SiLUMul(gate.on(i), gate.on(i), up.on(i)) }); err != nil {
		return Metric{}, err
	}
	return e.check(gate)
}
