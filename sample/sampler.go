package sample

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// Sentinel errors of the sample package.
var (
	ErrBadLogits = errors.New("logits row is unusable")
	ErrBadParams = errors.New("invalid sampling parameters")
)

// Candidate is one token with its log-probability.
type Candidate struct {
	Token   int32
	Logprob float32
}

// Result is one sampled token, its log-probability and, when asked, the
// most likely alternatives (highest first, ties by lowest token id).
//
// Log-probabilities follow OpenAI's semantics: they are the log-softmax of
// the model's logits after logit bias and penalties, at temperature 1 and
// before top-k/top-p/min-p filtering. They therefore describe the model's
// distribution (adjusted by what the request asked to bias), not the
// truncated distribution the token was drawn from, and they do not change
// when only the temperature or the truncation settings change.
type Result struct {
	Token   int32
	Logprob float32
	Top     []Candidate
}

// Sampler is the sampling state of one request: its settings, its seeded
// random source and scratch buffers. It is not safe for concurrent use; the
// engine keeps one per sequence.
type Sampler struct {
	p      Params
	seed   uint64
	rng    *rand.Rand
	work   []float32 // logits after bias and penalties
	cands  []cand
	counts map[int32]int
	c      Constraint // nil: any token
	ok     []bool     // mask's scratch: the tokens the constraint allows
}

// Constrain makes every later Sample pick only tokens c allows, and
// advance c past them.
func (s *Sampler) Constrain(c Constraint) { s.c = c }

// Complete says whether the sampler's constraint is satisfied: the output
// is whole. False without a constraint.
func (s *Sampler) Complete() bool { return s.c != nil && s.c.Complete() }

// New returns a sampler for p. Without p.HasSeed the seed is drawn from
// math/rand/v2's randomly seeded global source; Seed reports it so a run
// can be reproduced.
func New(p Params) *Sampler {
	seed := p.Seed
	if !p.HasSeed {
		seed = rand.Uint64()
	}
	// PCG takes two words of state; derive the second from the seed so one
	// user-visible number fixes the whole stream.
	return &Sampler{
		p:      p,
		seed:   seed,
		rng:    rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		counts: make(map[int32]int),
	}
}

// Seed returns the seed of the sampler's random source.
func (s *Sampler) Seed() uint64 { return s.seed }

// Params returns the sampler's settings.
func (s *Sampler) Params() Params { return s.p }

// NoLogprob, as Sample's topN, asks for the token alone.
const NoLogprob = -1

// Sample picks the next token from one row of logits. history holds the
// sequence's tokens so far (prompt included, as llama.cpp accepts prompt
// tokens into the penalty window); topN > 0 asks for that many
// alternatives, and topN == NoLogprob skips the log-probabilities
// altogether (Result.Logprob is then 0): the normaliser is a pass over the
// whole vocabulary, which a caller that reports no logprobs need not pay. The chain is MODEL_SPEC.md §6.2: logit bias → penalties →
// top-k → top-p → min-p → temperature → draw; temperature ≤ 0 is greedy
// (argmax, lowest id on ties). A row with a NaN or +Inf, or with no finite
// logit left after bias and penalties, is an error.
func (s *Sampler) Sample(logits []float32, history []int32, topN int) (Result, error) {
	n := len(logits)
	if n == 0 {
		return Result{}, fmt.Errorf("%w: empty row", ErrBadLogits)
	}
	for i, v := range logits {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 1) {
			return Result{}, fmt.Errorf("%w: logit %d is %v", ErrBadLogits, i, v)
		}
	}
	if err := s.p.Validate(n); err != nil {
		return Result{}, err
	}
	s.work = append(s.work[:0], logits...)
	if err := applyBias(s.work, s.p.LogitBias); err != nil {
		return Result{}, err
	}
	if err := s.applyPenalties(history); err != nil {
		return Result{}, err
	}
	maxV, arg := argmax(s.work)
	if math.IsInf(float64(maxV), -1) {
		return Result{}, fmt.Errorf("%w: every logit is -Inf", ErrBadLogits)
	}
	masked := false
	if s.c != nil && topN != NoLogprob {
		// Reported logprobs are the constrained distribution's, whichever
		// way the token is found.
		var err error
		if maxV, arg, err = s.mask(); err != nil {
			return Result{}, err
		}
		masked = true
	}
	tok := s.pick(maxV, arg)
	if s.c != nil && !masked && !s.c.Allows(tok) {
		var err error
		if maxV, arg, err = s.mask(); err != nil {
			return Result{}, err
		}
		tok = s.pick(maxV, arg)
	}
	if s.c != nil {
		s.c.Accept(tok)
	}
	if topN == NoLogprob {
		return Result{Token: tok}, nil
	}
	lse := logSumExp(s.work, maxV)
	r := Result{Token: tok, Logprob: float32(float64(s.work[tok]) - lse)}
	if topN > 0 {
		r.Top = topCandidates(s.work, topN, lse)
	}
	return r, nil
}

// Score reports the log-probability of token tok under one row of logits,
// the log-softmax of the model's own distribution (no bias, penalties or
// temperature: a prompt token was not sampled), with the topN most likely
// alternatives (highest first, ties by lowest token id). It scores the
// prompt tokens OpenAI's echo with logprobs returns.
func Score(logits []float32, tok int32, topN int) (Result, error) {
	if len(logits) == 0 {
		return Result{}, fmt.Errorf("%w: empty row", ErrBadLogits)
	}
	if tok < 0 || int(tok) >= len(logits) {
		return Result{}, fmt.Errorf("score token %d: outside the %d logits", tok, len(logits))
	}
	for i, v := range logits {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 1) {
			return Result{}, fmt.Errorf("%w: logit %d is %v", ErrBadLogits, i, v)
		}
	}
	maxV, _ := argmax(logits)
	if math.IsInf(float64(maxV), -1) {
		return Result{}, fmt.Errorf("%w: every logit is -Inf", ErrBadLogits)
	}
	lse := logSumExp(logits, maxV)
	r := Result{Token: tok, Logprob: float32(float64(logits[tok]) - lse)}
	if topN > 0 {
		r.Top = topCandidates(logits, topN, lse)
	}
	return r, nil
}

// pick is the argmax when greedy, else a draw.
func (s *Sampler) pick(maxV float32, arg int) int32 {
	if s.p.Temperature > 0 {
		return s.draw(maxV)
	}
	return int32(arg)
}

// mask sets the logits of the tokens the constraint refuses to -Inf and
// returns the new maximum and its token.
func (s *Sampler) mask() (float32, int, error) {
	if l, isLister := s.c.(tokenLister); isLister {
		if cap(s.ok) < len(s.work) {
			s.ok = make([]bool, len(s.work))
		}
		ok := s.ok[:len(s.work)]
		clear(ok)
		l.eachAllowed(func(tok int32) {
			if int(tok) < len(ok) {
				ok[tok] = true
			}
		})
		for i := range s.work {
			if !ok[i] {
				s.work[i] = float32(math.Inf(-1))
			}
		}
	} else {
		for i, v := range s.work {
			if !math.IsInf(float64(v), -1) && !s.c.Allows(int32(i)) {
				s.work[i] = float32(math.Inf(-1))
			}
		}
	}
	maxV, arg := argmax(s.work)
	if math.IsInf(float64(maxV), -1) {
		return 0, 0, ErrNoToken
	}
	return maxV, arg, nil
}

// draw makes the weighted draw over the candidates of s.work.
func (s *Sampler) draw(maxV float32) int32 {
	return dist(s.candidates(maxV), s.rng.Float64())
}

// candidates runs the truncation stages and the temperature over s.work
// (whose maximum is maxV) and returns the surviving candidates.
func (s *Sampler) candidates(maxV float32) []cand {
	c := s.cands[:0]
	for i, v := range s.work {
		if !math.IsInf(float64(v), -1) {
			c = append(c, cand{id: int32(i), logit: v})
		}
	}
	if s.p.TopK > 0 && s.p.TopK < len(c) {
		c = topK(c, s.p.TopK) // sorted, highest first
		c = topP(c, s.p.TopP, c[0].logit, expSum(c, c[0].logit))
		if s.p.MinP > 0 {
			c = minP(c, s.p.MinP, c[0].logit)
		}
	} else if s.p.TopP < 1 || s.p.MinP > 0 {
		// top-p and min-p each keep a prefix of the sorted candidates, so
		// applying both keeps the shorter prefix. The min-p survivors are
		// the top of the sorted order: sorting only them, with top-p's
		// softmax normaliser taken over all candidates, gives the same
		// result as sorting the whole vocabulary first.
		norm := expSum(c, maxV)
		if s.p.MinP > 0 {
			c = minP(c, s.p.MinP, maxV)
		}
		sortDesc(c)
		c = topP(c, s.p.TopP, maxV, norm)
	}
	temperature(c, s.p.Temperature)
	s.cands = c
	return c
}

// applyPenalties applies the repetition, frequency and presence penalties
// over the last PenaltyLastN tokens of history (all of it when -1).
func (s *Sampler) applyPenalties(history []int32) error {
	p := s.p
	if p.PenaltyLastN == 0 || (p.RepeatPenalty == 1 && p.FrequencyPenalty == 0 && p.PresencePenalty == 0) {
		return nil
	}
	window := history
	if p.PenaltyLastN > 0 && len(window) > p.PenaltyLastN {
		window = window[len(window)-p.PenaltyLastN:]
	}
	clear(s.counts)
	for _, t := range window {
		if t < 0 || int(t) >= len(s.work) {
			return fmt.Errorf("%w: history token %d outside vocabulary of %d", ErrBadParams, t, len(s.work))
		}
		s.counts[t]++
	}
	for t, n := range s.counts {
		s.work[t] = penalize(s.work[t], n, p)
	}
	return nil
}

// penalize applies llama.cpp's penalty formula to one logit seen n times.
func penalize(v float32, n int, p Params) float32 {
	if p.RepeatPenalty != 1 {
		if v <= 0 {
			v *= p.RepeatPenalty
		} else {
			v /= p.RepeatPenalty
		}
	}
	v -= float32(float32(n)*p.FrequencyPenalty) + p.PresencePenalty
	return v
}

// applyBias adds the per-token bias.
func applyBias(work []float32, bias map[int32]float32) error {
	for t, b := range bias {
		if t < 0 || int(t) >= len(work) {
			return fmt.Errorf("%w: logit bias token %d outside vocabulary of %d", ErrBadParams, t, len(work))
		}
		work[t] += b
	}
	return nil
}

// argmax returns the largest value and its lowest index.
func argmax(v []float32) (float32, int) {
	best, arg := v[0], 0
	for i, x := range v[1:] {
		if x > best {
			best, arg = x, i+1
		}
	}
	return best, arg
}

// logSumExp returns log(Σ exp(v)) with a float64 sum, given max(v).
func logSumExp(v []float32, maxV float32) float64 {
	sum := 0.0
	for _, x := range v {
		sum += math.Exp(float64(x - maxV))
	}
	return float64(maxV) + math.Log(sum)
}
