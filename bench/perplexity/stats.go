package perplexity

import (
	"math"
	"slices"
)

// Estimate is a mean with its standard error (0 where there are too few
// values to tell).
type Estimate struct {
	Value float64 `json:"value"`
	Err   float64 `json:"err"`
}

// moments accumulates a quantity over the scored tokens.
type moments struct {
	sum, sum2 float64
	n         int
}

func (m *moments) add(v float64) {
	m.sum += v
	m.sum2 += v * v
	m.n++
}

// estimate is the mean and the standard error of the mean.
func (m moments) estimate() Estimate {
	if m.n == 0 {
		return Estimate{}
	}
	mean := m.sum / float64(m.n)
	e := Estimate{Value: mean}
	if v := m.sum2/float64(m.n) - mean*mean; v > 0 && m.n > 1 {
		e.Err = math.Sqrt(v / float64(m.n-1))
	}
	return e
}

// covariance of the means of a and b, given Σab over the same tokens.
func covariance(a, b moments, sumAB float64) float64 {
	if a.n < 2 {
		return 0
	}
	n := float64(a.n)
	return (sumAB/n - (a.sum/n)*(b.sum/n)) / (n - 1)
}

// expEstimate carries an estimate of a logarithm through exp: the error
// of exp(x) is exp(x)·err(x) to first order.
func expEstimate(e Estimate) Estimate {
	v := math.Exp(e.Value)
	return Estimate{Value: v, Err: v * e.Err}
}

// Quantile is the value below which a fraction of the scored tokens lie.
type Quantile struct {
	Fraction float64 `json:"fraction"`
	Value    float64 `json:"value"`
}

// quantiles of sorted values at each fraction, interpolating linearly
// between neighbours (0 is the minimum, 1 the maximum).
func quantiles(sorted []float64, fractions []float64) []Quantile {
	out := make([]Quantile, 0, len(fractions))
	if len(sorted) == 0 {
		return out
	}
	for _, f := range fractions {
		p := f * float64(len(sorted)-1)
		i := int(p)
		v := sorted[i]
		if i+1 < len(sorted) {
			v += (p - float64(i)) * (sorted[i+1] - sorted[i])
		}
		out = append(out, Quantile{Fraction: f, Value: v})
	}
	return out
}

// The fractions reported, highest first as llama-perplexity prints them.
var (
	kldFractions    = []float64{1, 0.999, 0.99, 0.95, 0.9, 0.5, 0.1, 0.05, 0.01, 0.001, 0}
	deltaPFractions = []float64{1, 0.999, 0.99, 0.95, 0.9, 0.75, 0.5, 0.25, 0.1, 0.05, 0.01, 0.001, 0}
)

// klStats accumulates a KL run's scored tokens.
type klStats struct {
	nll, nllBase     moments
	sumNLLxBase      float64
	kld, pDiff, pSq2 moments // pSq2: (Δp)², for the RMS and its error
	sameTop          int
	klds, pDiffs     []float64
}

func (s *klStats) add(r rowKL) {
	s.nll.add(r.nll)
	s.nllBase.add(r.nllBase)
	s.sumNLLxBase += r.nll * r.nllBase
	s.kld.add(r.kld)
	s.pDiff.add(r.pDiff)
	s.pSq2.add(r.pDiff * r.pDiff)
	if r.sameTop {
		s.sameTop++
	}
	s.klds = append(s.klds, r.kld)
	s.pDiffs = append(s.pDiffs, r.pDiff)
}

// KLSummary is where a KL run stands: after each chunk, and at the end.
type KLSummary struct {
	PPL     Estimate `json:"ppl"`
	BasePPL Estimate `json:"base_ppl"`
	// LogPPLRatio is mean ln(PPL/PPL(base)); its error allows for the
	// two being measured on the same tokens (their covariance).
	LogPPLRatio Estimate `json:"log_ppl_ratio"`
	PPLRatio    Estimate `json:"ppl_ratio"`
	PPLDiff     Estimate `json:"ppl_diff"`
	// LogPPLCorrelation is the correlation of the two mean log-likelihoods.
	LogPPLCorrelation float64  `json:"log_ppl_correlation"`
	KLD               Estimate `json:"kld"`
	DeltaP            Estimate `json:"delta_p"`     // mean p(tok) - p_base(tok)
	RMSDeltaP         Estimate `json:"rms_delta_p"` // root mean square of it
	SameTop           Estimate `json:"same_top"`    // share of tokens whose most likely next token agrees
}

func (s *klStats) summary() KLSummary {
	var k KLSummary
	lp, lb := s.nll.estimate(), s.nllBase.estimate()
	k.PPL, k.BasePPL = expEstimate(lp), expEstimate(lb)
	cov := covariance(s.nll, s.nllBase, s.sumNLLxBase)
	if lp.Err > 0 && lb.Err > 0 {
		k.LogPPLCorrelation = cov / (lp.Err * lb.Err)
	}
	ratio := Estimate{Value: lp.Value - lb.Value, Err: math.Sqrt(max(0, lp.Err*lp.Err+lb.Err*lb.Err-2*cov))}
	k.LogPPLRatio, k.PPLRatio = ratio, expEstimate(ratio)
	pplCov := k.PPL.Value * k.BasePPL.Value * cov
	k.PPLDiff = Estimate{Value: k.PPL.Value - k.BasePPL.Value,
		Err: math.Sqrt(max(0, k.PPL.Err*k.PPL.Err+k.BasePPL.Err*k.BasePPL.Err-2*pplCov))}
	k.KLD = s.kld.estimate()
	k.DeltaP = s.pDiff.estimate()
	// RMS from the mean square: d sqrt(x) = dx / (2 sqrt(x)).
	if ms := s.pSq2.estimate(); ms.Value > 0 {
		rms := math.Sqrt(ms.Value)
		k.RMSDeltaP = Estimate{Value: rms, Err: ms.Err / (2 * rms)}
	}
	if n := s.kld.n; n > 0 {
		p := float64(s.sameTop) / float64(n)
		k.SameTop.Value = p
		if n > 1 {
			k.SameTop.Err = math.Sqrt(p * (1 - p) / float64(n-1))
		}
	}
	return k
}

// distributions sorts the per-token values and reads their quantiles.
func (s *klStats) distributions() (kld, deltaP []Quantile) {
	slices.Sort(s.klds)
	slices.Sort(s.pDiffs)
	return quantiles(s.klds, kldFractions), quantiles(s.pDiffs, deltaPFractions)
}
