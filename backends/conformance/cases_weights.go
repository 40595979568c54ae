package conformance

import (
	"fmt"
	"math"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/quant"
)

// MatMulTypes are the weight types the kit multiplies: every type the
// reference has an activation conversion and a dot product for.
func MatMulTypes() []quant.Type {
	return []quant.Type{quant.F32, quant.F16, quant.BF16,
		quant.Q4_0, quant.Q4_1, quant.Q5_0, quant.Q5_1, quant.Q8_0,
		quant.Q2_K, quant.Q3_K, quant.Q4_K, quant.Q5_K, quant.Q6_K, quant.IQ4_NL, quant.IQ4_XS,
		quant.IQ2_XXS, quant.IQ2_XS, quant.IQ2_S, quant.IQ3_XXS, quant.IQ3_S, quant.IQ1_S, quant.IQ1_M}
}

// GetRowsTypes are the table types the kit looks rows up in: the matmul
// types plus the activation formats Q8_1 and Q8_K.
func GetRowsTypes() []quant.Type {
	return append(MatMulTypes(), quant.Q8_1, quant.Q8_K)
}

// mmShape is a weight of rows × (units blocks + extra elements) and the
// batch sizes multiplied with it.
type mmShape struct {
	rows, units, extra int
	nx                 []int
	nanRow             bool // one activation row holds a NaN (float types)
}

func upTo(n int) []int {
	v := make([]int, n)
	for i := range v {
		v[i] = i + 1
	}
	return v
}

// matmulShapes: one block; odd block counts, below and above a warp's
// worth of blocks at a time (19: several passes and a remainder); row
// counts that are not a multiple of any tile (1, 7, 33, 65); every batch
// size from 1 to 17 on two shapes. Float types also get a column count
// that is not a multiple of 32 and a NaN in the activations.
func matmulShapes(t quant.Type) []mmShape {
	s := []mmShape{
		{rows: 1, units: 1, nx: upTo(17)},
		{rows: 7, units: 3, nx: upTo(17)},
		{rows: 33, units: 5, nx: []int{1, 2, 3, 8, 16, 17}},
		{rows: 65, units: 1, nx: []int{4, 16}},
		{rows: 3, units: 19, nx: []int{1, 5}},
	}
	if !t.Traits().Quantized {
		s = append(s, mmShape{rows: 5, units: 2, extra: 3, nx: []int{1, 3, 9}},
			mmShape{rows: 9, units: 1, nx: []int{3}, nanRow: true})
	}
	return s
}

// unit is the column granule of a type: its block (32 for float types).
func unit(t quant.Type) int { return max(32, t.BlockSize()) }

func matmulCases() []testCase {
	var cs []testCase
	for _, t := range MatMulTypes() {
		for _, sh := range matmulShapes(t) {
			cols := sh.units*unit(t) + sh.extra
			name := fmt.Sprintf("%v/%v/%dx%d", backends.OpMatMul, t, sh.rows, cols)
			if sh.nanRow {
				name += "/nan"
			}
			cs = append(cs, testCase{op: backends.OpMatMul, typ: t, name: name, run: matmulCase(t, sh, cols)})
		}
	}
	return cs
}

func matmulCase(t quant.Type, sh mmShape, cols int) func(e *env) (Metric, error) {
	return func(e *env) (Metric, error) {
		data, err := quantize(t, sh.rows, cols, randRows(e.rng, sh.rows, cols))
		if err != nil {
			return Metric{}, err
		}
		wv := make([]float32, sh.rows*cols) // the weight's exact values
		if err := quant.Dequantize(t, data, wv); err != nil {
			return Metric{}, err
		}
		w, err := e.weight("w", t, sh.rows, cols, data)
		if err != nil {
			return Metric{}, err
		}
		var worst Metric
		for _, nx := range sh.nx {
			xv := randRows(e.rng, nx, cols)
			if sh.nanRow {
				xv[cols+cols/2] = float32(math.NaN()) // row 1
			}
			x, err := e.in("x", nx, cols, xv)
			if err != nil {
				return worst, err
			}
			y, err := e.out("y", nx, sh.rows)
			if err != nil {
				return worst, err
			}
			if err := e.op("mul_mat", func(s backends.Stream, i int) { s.MatMul(y.on(i), w[i], x.on(i)) }); err != nil {
				return worst, fmt.Errorf("batch %d: %w", nx, err)
			}
			m, err := e.checkNorm(y, dotScales(wv, xv, sh.rows, nx, cols))
			if err != nil {
				return worst, fmt.Errorf("batch %d: %w", nx, err)
			}
			worst = worst.worse(m)
		}
		return worst, nil
	}
}

// dotScales returns, per output y[i][r], sqrt(Σ_k (w[r][k]·x[i][k])²):
// the natural scale of a dot product's rounding error. Measuring against
// it (instead of |y|) keeps an output that happens to cancel to nearly
// zero from reading as a large relative error.
func dotScales(w, x []float32, rows, nx, cols int) []float64 {
	s := make([]float64, nx*rows)
	for i := 0; i < nx; i++ {
		for r := 0; r < rows; r++ {
			var sum float64
			for k := 0; k < cols; k++ {
				p := float64(w[r*cols+k]) * float64(x[i*cols+k])
				sum += p * p
			}
			s[i*rows+r] = math.Sqrt(sum)
		}
	}
	return s
}

func getRowsCases() []testCase {
	var cs []testCase
	shapes := []struct{ rows, units int }{{1, 1}, {9, 3}, {17, 1}}
	for _, t := range GetRowsTypes() {
		for _, sh := range shapes {
			cols := sh.units * unit(t)
			name := fmt.Sprintf("%v/%v/%dx%d", backends.OpGetRows, t, sh.rows, cols)
			cs = append(cs, testCase{op: backends.OpGetRows, typ: t, name: name, run: getRowsCase(t, sh.rows, cols)})
		}
	}
	return cs
}

// getRowsCase looks up repeated, unordered ids, in batches of 1 to 17.
func getRowsCase(t quant.Type, rows, cols int) func(e *env) (Metric, error) {
	return func(e *env) (Metric, error) {
		data, err := quantize(t, rows, cols, randRows(e.rng, rows, cols))
		if err != nil {
			return Metric{}, err
		}
		w, err := e.weight("table", t, rows, cols, data)
		if err != nil {
			return Metric{}, err
		}
		var worst Metric
		for _, n := range []int{1, 2, 5, 17} {
			ids := make([]int32, n)
			for i := range ids {
				ids[i] = int32(e.rng.IntN(rows))
			}
			ids[n-1] = int32(rows - 1) // the last row, where overruns start
			y, err := e.out("rows", n, cols)
			if err != nil {
				return worst, err
			}
			if err := e.op("get_rows", func(s backends.Stream, i int) { s.GetRows(y.on(i), w[i], ids) }); err != nil {
				return worst, fmt.Errorf("%d ids: %w", n, err)
			}
			m, err := e.check(y)
			if err != nil {
				return worst, fmt.Errorf("%d ids: %w", n, err)
			}
			worst = worst.worse(m)
		}
		return worst, nil
	}
}
