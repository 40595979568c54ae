package npu

import (
	"fmt"
	"math"
	"sync"

	"go.uber.org/zap"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/quant"
)

// warnRMSRel is the requantization error above which an upload is logged
// at Warn: int8 per-channel costs ~1% on well-behaved weights; 5% means
// outliers the format cannot hold.
const warnRMSRel = 0.05

// maxInt8Cols bounds the reduction length so that an int32 accumulator
// cannot overflow: cols · 127 · 127 ≤ 2³¹ − 1.
const maxInt8Cols = math.MaxInt32 / (127 * 127)

// quantLog keeps every upload's requantization error.
type quantLog struct {
	stats         []backends.QuantStat
	sumSq, sumErr float64
}

// Upload implements backends.Device. A matrix (rows > 1) is requantized
// to int8 with one symmetric scale per row and copied to device memory;
// a vector (one row: norm weights, biases) is kept in float32.
func (d *Device) Upload(name string, t quant.Type, rows, cols int, data []byte) (backends.Tensor, error) {
	fail := func(err error) (backends.Tensor, error) {
		return backends.Tensor{}, fmt.Errorf("%s: upload %s: %w", d.name, name, err)
	}
	if !uploadable(t) || t == quant.I8 {
		return fail(fmt.Errorf("weight type %v: %w", t, backends.ErrUnsupportedOp))
	}
	if rows <= 0 || cols <= 0 {
		return fail(fmt.Errorf("%dx%d: %w", rows, cols, backends.ErrShape))
	}
	rb, err := t.RowBytes(cols)
	if err != nil {
		return fail(fmt.Errorf("%v: %w", err, backends.ErrShape))
	}
	if rb*rows != len(data) {
		return fail(fmt.Errorf("%dx%d %v needs %d bytes, got %d: %w", rows, cols, t, rb*rows, len(data), backends.ErrShape))
	}
	if rows == 1 {
		return d.uploadVector(name, t, cols, data)
	}
	if cols > maxInt8Cols {
		return fail(fmt.Errorf("rows of %d elements overflow the int32 accumulators (max %d): %w", cols, maxInt8Cols, backends.ErrUnsupportedOp))
	}
	w := &weightBuf{dev: d, rows: rows, cols: cols, from: t}
	if err := d.reserve(uint64(w.sizeFor()), backends.UsageWeights, "weight "+name); err != nil {
		return backends.Tensor{}, fmt.Errorf("upload %s: %w", name, err)
	}
	st, err := d.requantize(w, data, rb)
	if err != nil {
		d.release(uint64(w.sizeFor()), backends.UsageWeights)
		return fail(err)
	}
	st.Name = name
	d.record(st)
	return backends.Tensor{Name: name, Buf: w, Type: quant.I8, Rows: rows, Cols: cols}, nil
}

func (w *weightBuf) sizeFor() int { return w.rows*w.cols + 4*w.rows }

// uploadVector keeps a one-row tensor in float32 (the vector units' format).
func (d *Device) uploadVector(name string, t quant.Type, cols int, data []byte) (backends.Tensor, error) {
	vals := make([]float32, cols)
	if err := quant.Dequantize(t, data, vals); err != nil {
		return backends.Tensor{}, fmt.Errorf("%s: upload %s: %w", d.name, name, err)
	}
	buf, err := d.Alloc(4*cols, backends.UsageWeights)
	if err != nil {
		return backends.Tensor{}, fmt.Errorf("upload %s: %w", name, err)
	}
	b := buf.(*Buffer).mem.Bytes()
	for i, v := range vals {
		putF32(b[4*i:], v)
	}
	return backends.Tensor{Name: name, Buf: buf, Type: quant.F32, Rows: 1, Cols: cols}, nil
}

// requantize fills w from rows of the file's format and measures the error
// against the file's values.
func (d *Device) requantize(w *weightBuf, data []byte, rb int) (backends.QuantStat, error) {
	w.q = make([]int8, w.rows*w.cols)
	w.scales = make([]float32, w.rows)
	type part struct {
		sumSq, sumErr, maxAbs float64
		err                   error
	}
	var mu sync.Mutex
	var tot part
	d.pool.Run(w.rows, func(lo, hi int) {
		row := make([]float32, w.cols)
		var p part
		for r := lo; r < hi && p.err == nil; r++ {
			if err := quant.Dequantize(w.from, data[r*rb:(r+1)*rb], row); err != nil {
				p.err = err
				break
			}
			q := w.q[r*w.cols : (r+1)*w.cols]
			s, ok := quantizeRow(row, q)
			if !ok {
				p.err = fmt.Errorf("row %d has non-finite values, which int8 cannot hold", r)
				break
			}
			w.scales[r] = s
			for i, v := range row {
				e := float64(float32(q[i])*s) - float64(v)
				p.sumSq += float64(v) * float64(v)
				p.sumErr += e * e
				p.maxAbs = max(p.maxAbs, math.Abs(e))
			}
		}
		mu.Lock()
		tot.sumSq += p.sumSq
		tot.sumErr += p.sumErr
		tot.maxAbs = max(tot.maxAbs, p.maxAbs)
		if tot.err == nil {
			tot.err = p.err
		}
		mu.Unlock()
	})
	if tot.err != nil {
		return backends.QuantStat{}, tot.err
	}
	st := backends.QuantStat{From: w.from, To: quant.I8, Rows: w.rows, Cols: w.cols, MaxAbs: tot.maxAbs}
	if tot.sumSq > 0 {
		st.RMSRel = math.Sqrt(tot.sumErr / tot.sumSq)
	}
	d.mu.Lock()
	d.quant.sumSq += tot.sumSq
	d.quant.sumErr += tot.sumErr
	d.mu.Unlock()
	return st, nil
}

// quantizeRow is the symmetric int8 quantizer of weights and activations:
// scale = amax/127, q = round-half-even(x·127/amax) clamped to ±127 (the
// multiplier is computed once per row, as the chip's quantizer unit
// does). It returns the scale, and false when the row is not finite.
func quantizeRow(x []float32, q []int8) (float32, bool) {
	var amax float32
	for _, v := range x {
		amax = max(amax, float32(math.Abs(float64(v))))
	}
	if math.IsNaN(float64(amax)) || math.IsInf(float64(amax), 0) {
		return 0, false
	}
	if amax == 0 {
		clear(q)
		return 0, true
	}
	inv := 127 / amax
	for i, v := range x {
		r := math.RoundToEven(float64(v * inv))
		q[i] = int8(max(-127, min(127, r)))
	}
	return amax / 127, true
}

// record keeps an upload's error and logs it (Warn when large).
func (d *Device) record(st backends.QuantStat) {
	d.mu.Lock()
	d.quant.stats = append(d.quant.stats, st)
	d.mu.Unlock()
	fields := []zap.Field{zap.String("tensor", st.Name), zap.Stringer("from", st.From),
		zap.Int("rows", st.Rows), zap.Int("cols", st.Cols), zap.Float64("rms_rel", st.RMSRel), zap.Float64("max_abs", st.MaxAbs)}
	if st.RMSRel > warnRMSRel {
		d.log.Warn("weight requantized to int8 with a large error", fields...)
		return
	}
	d.log.Debug("weight requantized to int8", fields...)
}

// QuantReport implements backends.Requantizer.
func (d *Device) QuantReport() backends.QuantReport {
	d.mu.Lock()
	defer d.mu.Unlock()
	r := backends.QuantReport{Tensors: append([]backends.QuantStat(nil), d.quant.stats...)}
	if d.quant.sumSq > 0 {
		r.RMSRel = math.Sqrt(d.quant.sumErr / d.quant.sumSq)
	}
	for _, s := range r.Tensors {
		if s.RMSRel >= r.Worst.RMSRel {
			r.Worst = s
		}
	}
	return r
}

func putF32(b []byte, v float32) {
	u := math.Float32bits(v)
	b[0], b[1], b[2], b[3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
}
