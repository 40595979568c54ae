package conformance

import (
	"fmt"
	"math"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/quant"
)

// The fused matmul forms a stream may offer (backends.SharedMatMuler,
// GroupedMatMuler, ResidualMatMuler, NormMatMuler, SwiGLUMatMuler) promise the results of
// the plain ops they stand for. Each case runs where the device's stream
// has its form: the form on the device against the plain ops on the
// reference, for 1 and 5 rows. A stream without the form is not asked
// (the model runs the plain ops there, which the other cases check). The
// cases count towards mul_mat for the weight type.

type fusedForm struct {
	name  string
	needs func(s backends.Stream) bool
	run   func(t quant.Type, cols int) func(e *env) (Metric, error)
}

func fusedForms() []fusedForm {
	return []fusedForm{
		{"shared", func(s backends.Stream) bool { _, ok := s.(backends.SharedMatMuler); return ok }, sharedCase(false)},
		{"norm+shared", func(s backends.Stream) bool { _, ok := s.(backends.NormMatMuler); return ok }, sharedCase(true)},
		{"grouped", func(s backends.Stream) bool { _, ok := s.(backends.GroupedMatMuler); return ok }, groupedCase},
		{"residual", func(s backends.Stream) bool { _, ok := s.(backends.ResidualMatMuler); return ok }, residualCase(false)},
		{"swiglu+residual", func(s backends.Stream) bool { _, ok := s.(backends.SwiGLUMatMuler); return ok }, residualCase(true)},
	}
}

func fusedCases() []testCase {
	var cs []testCase
	for _, t := range MatMulTypes() {
		cols := 3 * unit(t)
		for _, f := range fusedForms() {
			name := fmt.Sprintf("%v/%v/%s/%d", backends.OpMatMul, t, f.name, cols)
			cs = append(cs, testCase{op: backends.OpMatMul, typ: t, name: name, needs: f.needs, run: f.run(t, cols)})
		}
	}
	return cs
}

// fusedWeight makes a rows×cols weight of type t on both sides and returns
// its exact values.
func (e *env) fusedWeight(name string, t quant.Type, rows, cols int) ([2]backends.Tensor, []float32, error) {
	data, err := quantize(t, rows, cols, randRows(e.rng, rows, cols))
	if err != nil {
		return [2]backends.Tensor{}, nil, err
	}
	wv := make([]float32, rows*cols)
	if err := quant.Dequantize(t, data, wv); err != nil {
		return [2]backends.Tensor{}, nil, err
	}
	w, err := e.weight(name, t, rows, cols, data)
	return w, wv, err
}

// groupedCase: three matmuls that each take their own row of a 4-row
// input (rows 3, 0 and 3), against MatMulGrouped.
func groupedCase(t quant.Type, cols int) func(e *env) (Metric, error) {
	rows := [3]int{48, 17, 33}
	pick := []int{3, 0, 3}
	const nx = 4
	return func(e *env) (Metric, error) {
		var ws [3][2]backends.Tensor
		var wvs [3][]float32
		for j := range ws {
			var err error
			if ws[j], wvs[j], err = e.fusedWeight(fmt.Sprint("w", j), t, rows[j], cols); err != nil {
				return Metric{}, err
			}
		}
		xv := randRows(e.rng, nx, cols)
		x, err := e.in("x", nx, cols, xv)
		if err != nil {
			return Metric{}, err
		}
		var ys [3]twin
		for j := range ys {
			if ys[j], err = e.out(fmt.Sprint("y", j), 1, rows[j]); err != nil {
				return Metric{}, err
			}
		}
		err = e.op("grouped mul_mat", func(s backends.Stream, i int) {
			dsts := []backends.Tensor{ys[0].on(i), ys[1].on(i), ys[2].on(i)}
			w := []backends.Tensor{ws[0][i], ws[1][i], ws[2][i]}
			if i == 1 {
				s.(backends.GroupedMatMuler).MatMulGrouped(dsts, w, x.on(i), pick)
				return
			}
			for j := range dsts { // the reference: the plain ops on each row
				in := x.on(i)
				in.Off += pick[j] * cols * 4
				in.Rows = 1
				s.MatMul(dsts[j], w[j], in)
			}
		})
		if err != nil {
			return Metric{}, err
		}
		var worst Metric
		for j := range ys {
			r := pick[j]
			m, err := e.checkNorm(ys[j], dotScales(wvs[j], xv[r*cols:(r+1)*cols], rows[j], 1, cols))
			if err != nil {
				return worst, fmt.Errorf("matrix %d: %w", j, err)
			}
			worst = worst.worse(m)
		}
		return worst, nil
	}
}

// sharedCase: two matmuls of one input, x or (norm) its RMSNorm into h,
// against MatMulShared or MatMulNormShared.
func sharedCase(norm bool) func(t quant.Type, cols int) func(e *env) (Metric, error) {
	const eps = 1e-5
	rows := [2]int{48, 17}
	return func(t quant.Type, cols int) func(e *env) (Metric, error) {
		return func(e *env) (Metric, error) {
			var ws [2][2]backends.Tensor
			var wvs [2][]float32
			for j := range ws {
				var err error
				if ws[j], wvs[j], err = e.fusedWeight(fmt.Sprint("w", j), t, rows[j], cols); err != nil {
					return Metric{}, err
				}
			}
			var nv []float32
			var nt twin
			if norm {
				nv = randRows(e.rng, 1, cols)
				var err error
				if nt, err = e.in("norm", 1, cols, nv); err != nil {
					return Metric{}, err
				}
			}
			var worst Metric
			for _, nx := range []int{1, 5} {
				xv := randRows(e.rng, nx, cols)
				x, err := e.in("x", nx, cols, xv)
				if err != nil {
					return worst, err
				}
				var h twin // the norm's output
				if norm {
					if h, err = e.out("h", nx, cols); err != nil {
						return worst, err
					}
				}
				var ys [2]twin
				for j := range ys {
					if ys[j], err = e.out(fmt.Sprint("y", j), nx, rows[j]); err != nil {
						return worst, err
					}
				}
				err = e.op("shared mul_mat", func(s backends.Stream, i int) {
					dsts := []backends.Tensor{ys[0].on(i), ys[1].on(i)}
					w := []backends.Tensor{ws[0][i], ws[1][i]}
					switch {
					case i == 1 && norm:
						s.(backends.NormMatMuler).MatMulNormShared(dsts, w, x.on(i), nt.on(i), eps, h.on(i))
					case i == 1:
						s.(backends.SharedMatMuler).MatMulShared(dsts, w, x.on(i))
					default: // the reference: the plain ops
						in := x.on(i)
						if norm {
							s.RMSNorm(h.on(i), in, nt.on(i), eps)
							in = h.on(i)
						}
						for j := range dsts {
							s.MatMul(dsts[j], w[j], in)
						}
					}
				})
				if err != nil {
					return worst, fmt.Errorf("batch %d: %w", nx, err)
				}
				if norm {
					xv = rmsNormRef(xv, nv, nx, cols, eps)
				}
				for j := range ys {
					m, err := e.checkNorm(ys[j], dotScales(wvs[j], xv, rows[j], nx, cols))
					if err != nil {
						return worst, fmt.Errorf("batch %d, matrix %d: %w", nx, j, err)
					}
					worst = worst.worse(m)
				}
			}
			return worst, nil
		}
	}
}

// residualCase: a matmul added into a residual stream, of x or (swiglu)
// of silu(gate)·up, against MatMulResidual or MatMulResidualSwiGLU.
func residualCase(swiglu bool) func(t quant.Type, cols int) func(e *env) (Metric, error) {
	const rows = 40
	return func(t quant.Type, cols int) func(e *env) (Metric, error) {
		return func(e *env) (Metric, error) {
			w, wv, err := e.fusedWeight("w", t, rows, cols)
			if err != nil {
				return Metric{}, err
			}
			var worst Metric
			for _, nx := range []int{1, 5} {
				// gate is the matmul's input, or with SwiGLU its gate.
				gv, uv, rv := randRows(e.rng, nx, cols), randRows(e.rng, nx, cols), randRows(e.rng, nx, rows)
				gate, err := e.in("gate", nx, cols, gv)
				if err != nil {
					return worst, err
				}
				var up twin
				if swiglu {
					if up, err = e.in("up", nx, cols, uv); err != nil {
						return worst, err
					}
				}
				res, err := e.in("residual", nx, rows, rv)
				if err != nil {
					return worst, err
				}
				tmp, err := e.out("tmp", nx, rows)
				if err != nil {
					return worst, err
				}
				err = e.op("mul_mat into a residual", func(s backends.Stream, i int) {
					switch {
					case i == 1 && swiglu:
						s.(backends.SwiGLUMatMuler).MatMulResidualSwiGLU(res.on(i), tmp.on(i), w[i], gate.on(i), up.on(i))
					case i == 1:
						s.(backends.ResidualMatMuler).MatMulResidual(res.on(i), tmp.on(i), w[i], gate.on(i))
					default: // the reference: the plain ops
						if swiglu {
							s.SiLUMul(gate.on(i), gate.on(i), up.on(i))
						}
						s.MatMul(tmp.on(i), w[i], gate.on(i))
						s.Add(res.on(i), res.on(i), tmp.on(i))
					}
				})
				if err != nil {
					return worst, fmt.Errorf("batch %d: %w", nx, err)
				}
				act := gv
				if swiglu {
					act = make([]float32, len(gv))
					for k := range act {
						g := float64(gv[k])
						act[k] = float32(g / (1 + math.Exp(-g)) * float64(uv[k]))
					}
				}
				// The add's rounding scales with the residual, the matmul's
				// with its dot products.
				scales := dotScales(wv, act, rows, nx, cols)
				for k := range scales {
					scales[k] += math.Abs(float64(rv[k]))
				}
				m, err := e.checkNorm(res, scales)
				if err != nil {
					return worst, fmt.Errorf("batch %d: %w", nx, err)
				}
				worst = worst.worse(m)
			}
			return worst, nil
		}
	}
}

// rmsNormRef is RMSNorm in float64, rounded to float32: the values the
// error scales of a normalised input's dot products are taken from.
func rmsNormRef(x, w []float32, n, cols int, eps float32) []float32 {
	h := make([]float32, len(x))
	for r := range n {
		row := x[r*cols : (r+1)*cols]
		var ss float64
		for _, v := range row {
			ss += float64(v) * float64(v)
		}
		s := 1 / math.Sqrt(ss/float64(cols)+float64(eps))
		for k, v := range row {
			h[r*cols+k] = float32(float64(v) * s * float64(w[k]))
		}
	}
	return h
}
