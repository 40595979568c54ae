package sample

import (
	"errors"
	"math"
	"slices"
	"testing"
)

func greedy() Params {
	p := DefaultParams()
	p.Temperature = 0
	return p
}

func TestGreedy(t *testing.T) {
	inf := float32(math.Inf(-1))
	tests := []struct {
		name   string
		p      func(*Params)
		logits []float32
		hist   []int32
		want   int32
	}{
		{"argmax", nil, []float32{0.1, 2, -3, 1.9}, nil, 1},
		{"ties lowest index", nil, []float32{1, 3, 3, 3}, nil, 1},
		{"negative temperature", func(p *Params) { p.Temperature = -1 }, []float32{0, 0, 5}, nil, 2},
		{"bias moves argmax", func(p *Params) { p.LogitBias = map[int32]float32{0: 3} }, []float32{0, 2}, nil, 0},
		{"-inf bias bans", func(p *Params) { p.LogitBias = map[int32]float32{1: inf} }, []float32{0, 2, 1}, nil, 2},
		{"repeat penalty", func(p *Params) { p.RepeatPenalty = 3 }, []float32{1, 2}, []int32{1}, 0},
		{"presence penalty", func(p *Params) { p.PresencePenalty = 2 }, []float32{1, 2}, []int32{1}, 0},
		{"some -inf", nil, []float32{inf, -5, inf}, nil, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := greedy()
			if tc.p != nil {
				tc.p(&p)
			}
			r, err := New(p).Sample(tc.logits, tc.hist, 0)
			if err != nil {
				t.Fatal(err)
			}
			if r.Token != tc.want {
				t.Fatalf("token %d, want %d", r.Token, tc.want)
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	tests := []struct {
		name   string
		p      func(*Params)
		logits []float32
		hist   []int32
		want   error
	}{
		{"empty", nil, nil, nil, ErrBadLogits},
		{"nan", nil, []float32{0, nan}, nil, ErrBadLogits},
		{"+inf", nil, []float32{inf, 0}, nil, ErrBadLogits},
		{"all -inf", nil, []float32{-inf, -inf}, nil, ErrBadLogits},
		{"bias bans all", func(p *Params) { p.LogitBias = map[int32]float32{0: -inf} }, []float32{1}, nil, ErrBadLogits},
		{"bias out of range", func(p *Params) { p.LogitBias = map[int32]float32{9: 1} }, []float32{1}, nil, ErrBadParams},
		{"nan bias", func(p *Params) { p.LogitBias = map[int32]float32{0: nan} }, []float32{1}, nil, ErrBadParams},
		{"history out of range", func(p *Params) { p.RepeatPenalty = 1.1 }, []float32{1, 2}, []int32{5}, ErrBadParams},
		{"zero repeat penalty", func(p *Params) { p.RepeatPenalty = 0 }, []float32{1, 2}, nil, ErrBadParams},
		{"nan temperature", func(p *Params) { p.Temperature = nan }, []float32{1, 2}, nil, ErrBadParams},
		{"min_p above 1", func(p *Params) { p.MinP = 2 }, []float32{1, 2}, nil, ErrBadParams},
		{"penalty_last_n -2", func(p *Params) { p.PenaltyLastN = -2 }, []float32{1, 2}, nil, ErrBadParams},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := DefaultParams()
			if tc.p != nil {
				tc.p(&p)
			}
			_, err := New(p).Sample(tc.logits, tc.hist, 2)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestLogprobs(t *testing.T) {
	logits := []float32{1, 3, 2, float32(math.Inf(-1)), 0}
	// log-softmax at temperature 1, whatever the request's temperature
	var sum float64
	for _, v := range logits {
		sum += math.Exp(float64(v))
	}
	want := func(i int) float32 { return float32(float64(logits[i]) - math.Log(sum)) }
	for _, temp := range []float32{0, 0.3, 1.7} {
		p := DefaultParams()
		p.Temperature, p.HasSeed = temp, true
		r, err := New(p).Sample(logits, nil, 10)
		if err != nil {
			t.Fatal(err)
		}
		if d := math.Abs(float64(r.Logprob - want(int(r.Token)))); d > 1e-6 {
			t.Errorf("temp %v: chosen logprob %v, want %v", temp, r.Logprob, want(int(r.Token)))
		}
		gotIDs := make([]int32, len(r.Top))
		for i, c := range r.Top {
			gotIDs[i] = c.Token
			if d := math.Abs(float64(c.Logprob - want(int(c.Token)))); d > 1e-6 {
				t.Errorf("temp %v: top %d logprob %v, want %v", temp, c.Token, c.Logprob, want(int(c.Token)))
			}
		}
		// -Inf tokens are never listed; order is most likely first
		if !slices.Equal(gotIDs, []int32{1, 2, 0, 4}) {
			t.Errorf("temp %v: top ids %v", temp, gotIDs)
		}
	}
}

func TestLogprobsAfterBiasAndPenalty(t *testing.T) {
	p := greedy()
	p.LogitBias = map[int32]float32{0: 1}
	p.RepeatPenalty = 2
	r, err := New(p).Sample([]float32{0, 2}, []int32{1}, 2)
	if err != nil {
		t.Fatal(err)
	}
	// adjusted logits {1, 1}: both log(1/2), token 0 wins the tie
	if r.Token != 0 || math.Abs(float64(r.Logprob)+math.Ln2) > 1e-6 {
		t.Fatalf("got %+v", r)
	}
}

func draws(p Params, logits []float32, n int) []int32 {
	s := New(p)
	out := make([]int32, n)
	for i := range out {
		r, err := s.Sample(logits, nil, 0)
		if err != nil {
			panic(err)
		}
		out[i] = r.Token
	}
	return out
}

func TestSeededDeterminism(t *testing.T) {
	logits := []float32{0.5, 0.2, 0.9, 0.1, 0.4, 0.3}
	p := Params{Temperature: 1, TopP: 1, RepeatPenalty: 1, Seed: 42, HasSeed: true}
	a, b := draws(p, logits, 200), draws(p, logits, 200)
	if !slices.Equal(a, b) {
		t.Fatal("same seed gave different draws")
	}
	p.Seed = 43
	if slices.Equal(a, draws(p, logits, 200)) {
		t.Fatal("different seeds gave identical draws")
	}
	// an unseeded sampler reports a seed that reproduces it
	unseeded := Params{Temperature: 1, TopP: 1, RepeatPenalty: 1}
	s := New(unseeded)
	got := make([]int32, 200)
	for i := range got {
		r, err := s.Sample(logits, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		got[i] = r.Token
	}
	unseeded.Seed, unseeded.HasSeed = s.Seed(), true
	if !slices.Equal(got, draws(unseeded, logits, 200)) {
		t.Fatal("reported seed does not reproduce the unseeded sampler")
	}
}

// chiSquare draws n tokens and returns Pearson's statistic against want.
func chiSquare(p Params, logits []float32, want []float64, n int) float64 {
	counts := make([]int, len(logits))
	for _, tok := range draws(p, logits, n) {
		counts[tok]++
	}
	x := 0.0
	for i, w := range want {
		e := w * float64(n)
		if e == 0 {
			if counts[i] != 0 {
				return math.Inf(1)
			}
			continue
		}
		x += (float64(counts[i]) - e) * (float64(counts[i]) - e) / e
	}
	return x
}

func softmax(l []float64) []float64 {
	out := make([]float64, len(l))
	s := 0.0
	for i, v := range l {
		out[i] = math.Exp(v)
		s += out[i]
	}
	for i := range out {
		out[i] /= s
	}
	return out
}

func TestDistribution(t *testing.T) {
	logits := []float32{1, 0.5, 0, -0.5, -1, -2}
	l64 := make([]float64, len(logits))
	for i, v := range logits {
		l64[i] = float64(v)
	}
	halfTemp := make([]float64, len(l64))
	for i, v := range l64 {
		halfTemp[i] = v / 0.5
	}
	top3 := softmax(l64[:3])
	top3 = append(top3, 0, 0, 0)
	tests := []struct {
		name string
		p    Params
		want []float64
	}{
		{"temp 1 untruncated", Params{Temperature: 1, TopP: 1, RepeatPenalty: 1}, softmax(l64)},
		{"temp 0.5", Params{Temperature: 0.5, TopP: 1, RepeatPenalty: 1}, softmax(halfTemp)},
		{"top-k 3 renormalises", Params{Temperature: 1, TopK: 3, TopP: 1, RepeatPenalty: 1}, top3},
	}
	// 5 degrees of freedom: χ² > 20.5 has probability 0.001. The seed is
	// fixed, so the statistic is deterministic; the bound only asks that
	// the draws follow the distribution.
	const n, bound = 20000, 20.5
	for i, tc := range tests {
		tc.p.Seed, tc.p.HasSeed = uint64(100+i), true
		if x := chiSquare(tc.p, logits, tc.want, n); x > bound {
			t.Errorf("%s: χ² = %.2f > %.1f", tc.name, x, bound)
		}
	}
}

// BenchmarkSample measures one draw over a Llama-3-sized vocabulary with
// the default chain (top-k 40) and with top-k off (top-p/min-p path).
func BenchmarkSample(b *testing.B) {
	logits := make([]float32, 128256)
	for i := range logits {
		logits[i] = float32(math.Sin(float64(i)*0.37) * 8)
	}
	for _, tc := range []struct {
		name string
		topK int
	}{{"default", 40}, {"no-top-k", 0}} {
		b.Run(tc.name, func(b *testing.B) {
			p := DefaultParams()
			p.TopK, p.HasSeed = tc.topK, true
			s := New(p)
			for b.Loop() {
				if _, err := s.Sample(logits, nil, 5); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestSampleNoLogprob: asking for the token alone picks the same tokens,
// greedy and drawn (the random stream is consumed the same way), and
// reports no log-probability.
func TestSampleNoLogprob(t *testing.T) {
	logits := make([]float32, 1000)
	for i := range logits {
		logits[i] = float32((i*7919)%1000) / 100
	}
	for _, temp := range []float32{0, 0.8} {
		p := DefaultParams()
		p.Temperature = temp
		p.Seed, p.HasSeed = 7, true
		a, b := New(p), New(p)
		for i := range 50 {
			ra, err := a.Sample(logits, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			rb, err := b.Sample(logits, nil, NoLogprob)
			if err != nil {
				t.Fatal(err)
			}
			if ra.Token != rb.Token {
				t.Fatalf("temp %v step %d: token %d with logprobs, %d without", temp, i, ra.Token, rb.Token)
			}
			if rb.Logprob != 0 || rb.Top != nil {
				t.Fatalf("temp %v: NoLogprob reported %v / %v", temp, rb.Logprob, rb.Top)
			}
		}
	}
}

func TestScore(t *testing.T) {
	logits := []float32{1, 3, 2, float32(math.Inf(-1)), 3}
	lse := math.Log(math.Exp(1) + 2*math.Exp(3) + math.Exp(2))
	r, err := Score(logits, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	if r.Token != 2 || math.Abs(float64(r.Logprob)-(2-lse)) > 1e-6 {
		t.Fatalf("score %+v, want token 2 logprob %v", r, 2-lse)
	}
	// Best first, ties by lowest id, -Inf never listed.
	if len(r.Top) != 3 || r.Top[0].Token != 1 || r.Top[1].Token != 4 || r.Top[2].Token != 2 {
		t.Fatalf("top %+v", r.Top)
	}
	if r, _ := Score(logits, 3, 0); !math.IsInf(float64(r.Logprob), -1) || r.Top != nil {
		t.Fatalf("a -Inf logit scores %+v", r)
	}
	for _, bad := range []struct {
		logits []float32
		tok    int32
	}{
		{logits, 5}, {logits, -1}, {nil, 0},
		{[]float32{float32(math.NaN()), 1}, 1},
		{[]float32{float32(math.Inf(-1)), float32(math.Inf(-1))}, 0},
	} {
		if _, err := Score(bad.logits, bad.tok, 1); err == nil {
			t.Errorf("Score(%v, %d) gave no error", bad.logits, bad.tok)
		}
	}
}
