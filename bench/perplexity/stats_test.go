package perplexity

import (
	"errors"
	"math"
	"testing"
)

func TestEstimate(t *testing.T) {
	var m moments
	for _, v := range []float64{1, 2, 3, 4} {
		m.add(v)
	}
	// Mean 2.5; population variance 1.25; standard error sqrt(1.25/3).
	e := m.estimate()
	if e.Value != 2.5 || math.Abs(e.Err-math.Sqrt(1.25/3)) > 1e-15 {
		t.Errorf("estimate %+v", e)
	}
	var one moments
	one.add(7)
	if e := one.estimate(); e.Value != 7 || e.Err != 0 {
		t.Errorf("one value: %+v, want 7 ± 0", e)
	}
	if e := (moments{}).estimate(); e != (Estimate{}) {
		t.Errorf("no values: %+v", e)
	}
}

func TestQuantiles(t *testing.T) {
	sorted := []float64{0, 10, 20, 30, 40}
	for _, tc := range []struct{ f, want float64 }{
		{0, 0}, {1, 40}, {0.5, 20}, {0.1, 4}, {0.99, 39.6}, {0.25, 10},
	} {
		q := quantiles(sorted, []float64{tc.f})
		if len(q) != 1 || math.Abs(q[0].Value-tc.want) > 1e-12 {
			t.Errorf("quantile %v: %v, want %v", tc.f, q, tc.want)
		}
	}
	if q := quantiles(nil, kldFractions); len(q) != 0 {
		t.Errorf("no values: %v", q)
	}
}

// TestKLSummary checks the combined figures on values whose answers are
// known: a model whose NLL is the base's plus a constant has that
// constant as its mean log ratio, with no uncertainty left (the two are
// fully correlated).
func TestKLSummary(t *testing.T) {
	var s klStats
	for i := range 50 {
		b := 1 + 0.1*float64(i%7)
		s.add(rowKL{nll: b + 0.25, nllBase: b, kld: 0.01, pDiff: -0.02, sameTop: i%5 != 0})
	}
	k := s.summary()
	if math.Abs(k.LogPPLRatio.Value-0.25) > 1e-12 || k.LogPPLRatio.Err > 1e-6 {
		t.Errorf("ln ratio %+v, want 0.25 ± 0", k.LogPPLRatio)
	}
	if math.Abs(k.LogPPLCorrelation-1) > 1e-9 {
		t.Errorf("correlation %v, want 1", k.LogPPLCorrelation)
	}
	if math.Abs(k.PPLRatio.Value-math.Exp(0.25)) > 1e-12 {
		t.Errorf("PPL ratio %v", k.PPLRatio)
	}
	if math.Abs(k.KLD.Value-0.01) > 1e-15 || math.Abs(k.RMSDeltaP.Value-0.02) > 1e-15 || math.Abs(k.DeltaP.Value+0.02) > 1e-15 {
		t.Errorf("KLD %+v, RMS Δp %+v, Δp %+v", k.KLD, k.RMSDeltaP, k.DeltaP)
	}
	if math.Abs(k.SameTop.Value-0.8) > 1e-15 || math.Abs(k.SameTop.Err-math.Sqrt(0.8*0.2/49)) > 1e-15 {
		t.Errorf("same top %+v", k.SameTop)
	}
}

func TestChunks(t *testing.T) {
	for _, tc := range []struct {
		n, ctx, limit, want int
		err                 bool
	}{
		{n: 1024, ctx: 512, want: 2},
		{n: 1500, ctx: 512, want: 2},
		{n: 5000, ctx: 512, want: 9},
		{n: 5000, ctx: 512, limit: 3, want: 3},
		{n: 5000, ctx: 512, limit: 30, want: 9},
		{n: 1023, ctx: 512, err: true},
		{n: 100, ctx: 3, err: true},
	} {
		got, err := Chunks(tc.n, tc.ctx, tc.limit)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("Chunks(%d, %d, %d) = %d, %v; want %d (error %v)", tc.n, tc.ctx, tc.limit, got, err, tc.want, tc.err)
		}
		if tc.err && tc.ctx >= 4 && !errors.Is(err, ErrTooFewTokens) {
			t.Errorf("Chunks(%d, %d): %v, want ErrTooFewTokens", tc.n, tc.ctx, err)
		}
	}
}
