package conformance

import (
	"fmt"
	"math"
)

// Metric is the measured error of one output.
type Metric struct {
	RelRMS  float64
	MaxNorm float64
}

func (m Metric) worse(o Metric) Metric {
	return Metric{max(m.RelRMS, o.RelRMS), max(m.MaxNorm, o.MaxNorm)}
}

// compare checks got against ref: NaN/Inf agreement first, then the error
// limits over the finite elements. With norm (one value per element) the
// errors are measured against it instead of the reference values: the
// RMS error relative to norm's RMS, and the largest |error|/norm.
func compare(ref, got []float32, lim Limit, norm []float64) (Metric, error) {
	if len(ref) != len(got) || (norm != nil && len(norm) != len(ref)) {
		return Metric{}, fmt.Errorf("%d values, reference has %d", len(got), len(ref))
	}
	var sumSq, sumErr, maxRef, maxErr, maxRatio float64
	for i := range ref {
		r, g := float64(ref[i]), float64(got[i])
		switch {
		case math.IsNaN(r):
			if !math.IsNaN(g) {
				return Metric{}, fmt.Errorf("element %d: %g where the reference is NaN", i, g)
			}
			continue
		case math.IsInf(r, 0):
			if g != r {
				return Metric{}, fmt.Errorf("element %d: %g where the reference is %g", i, g, r)
			}
			continue
		case math.IsNaN(g) || math.IsInf(g, 0):
			return Metric{}, fmt.Errorf("element %d: %g where the reference is %g", i, g, r)
		}
		e := g - r
		if norm != nil {
			r = norm[i]
			if r > 0 {
				maxRatio = max(maxRatio, math.Abs(e)/r)
			} else if e != 0 {
				maxRatio = math.Inf(1)
			}
		}
		sumSq += r * r
		sumErr += e * e
		maxRef = max(maxRef, math.Abs(r))
		maxErr = max(maxErr, math.Abs(e))
	}
	var m Metric
	switch {
	case sumSq > 0:
		m.RelRMS = math.Sqrt(sumErr / sumSq)
		m.MaxNorm = maxErr / maxRef
	case sumErr > 0: // an all-zero reference: any error is total
		m.RelRMS, m.MaxNorm = math.Inf(1), math.Inf(1)
	}
	if norm != nil {
		m.MaxNorm = maxRatio
	}
	if m.RelRMS > lim.RelRMS || m.MaxNorm > lim.MaxNorm {
		return m, fmt.Errorf("error rel-RMS %.3g (limit %.3g), max %.3g of the output's scale (limit %.3g)",
			m.RelRMS, lim.RelRMS, m.MaxNorm, lim.MaxNorm)
	}
	return m, nil
}

// LogitsReport compares a device's logits with reference logits row by
// row (one row per position).
type LogitsReport struct {
	Rows int
	// Top1 is the fraction of rows whose largest logit is at the same
	// token (ties go to the lowest id, like greedy sampling).
	Top1 float64
	// RelRMS is the worst row's sqrt(Σ(y−r)²/Σr²).
	RelRMS float64
	// NonFinite counts non-finite device logits.
	NonFinite int
}

// String formats the report on one line.
func (r LogitsReport) String() string {
	return fmt.Sprintf("%d rows: top-1 agreement %.3f, worst rel-RMS %.3g, %d non-finite", r.Rows, r.Top1, r.RelRMS, r.NonFinite)
}

// CompareLogits compares got with ref, both rows of nVocab logits.
func CompareLogits(ref, got []float32, nVocab int) (LogitsReport, error) {
	if nVocab <= 0 || len(ref) != len(got) || len(ref)%nVocab != 0 {
		return LogitsReport{}, fmt.Errorf("logits: %d and %d values for rows of %d", len(ref), len(got), nVocab)
	}
	var r LogitsReport
	r.Rows = len(ref) / nVocab
	agree := 0
	for i := 0; i < r.Rows; i++ {
		rr, gg := ref[i*nVocab:(i+1)*nVocab], got[i*nVocab:(i+1)*nVocab]
		if Argmax(rr) == Argmax(gg) {
			agree++
		}
		var sumSq, sumErr float64
		for j := range rr {
			g := float64(gg[j])
			if math.IsNaN(g) || math.IsInf(g, 0) {
				r.NonFinite++
				continue
			}
			e := g - float64(rr[j])
			sumSq += float64(rr[j]) * float64(rr[j])
			sumErr += e * e
		}
		if sumSq > 0 {
			r.RelRMS = max(r.RelRMS, math.Sqrt(sumErr/sumSq))
		}
	}
	if r.Rows > 0 {
		r.Top1 = float64(agree) / float64(r.Rows)
	}
	return r, nil
}

// Argmax returns the index of the largest value (the lowest on ties; NaN
// never wins).
func Argmax(x []float32) int {
	best := -1
	for i, v := range x {
		if v == v && (best < 0 || v > x[best]) {
			best = i
		}
	}
	return max(best, 0)
}
