package sample

import (
	"fmt"
	"math"
)

// Validate checks p against a vocabulary of nVocab tokens, so a request can
// be refused before it reaches the scheduler. Sample re-checks what it
// depends on and never panics on bad settings.
func (p Params) Validate(nVocab int) error {
	finite := func(v float32) bool { return !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) }
	switch {
	case !finite(p.Temperature):
		return fmt.Errorf("%w: temperature %v", ErrBadParams, p.Temperature)
	case !finite(p.TopP) || p.TopP < 0:
		return fmt.Errorf("%w: top_p %v must be ≥ 0", ErrBadParams, p.TopP)
	case !finite(p.MinP) || p.MinP < 0 || p.MinP > 1:
		return fmt.Errorf("%w: min_p %v must be in [0, 1]", ErrBadParams, p.MinP)
	case !finite(p.RepeatPenalty) || p.RepeatPenalty <= 0:
		return fmt.Errorf("%w: repeat penalty %v must be > 0", ErrBadParams, p.RepeatPenalty)
	case !finite(p.PresencePenalty):
		return fmt.Errorf("%w: presence penalty %v", ErrBadParams, p.PresencePenalty)
	case !finite(p.FrequencyPenalty):
		return fmt.Errorf("%w: frequency penalty %v", ErrBadParams, p.FrequencyPenalty)
	case p.PenaltyLastN < -1:
		return fmt.Errorf("%w: penalty_last_n %d must be ≥ -1", ErrBadParams, p.PenaltyLastN)
	}
	for t, b := range p.LogitBias {
		if t < 0 || int(t) >= nVocab {
			return fmt.Errorf("%w: logit bias token %d outside vocabulary of %d", ErrBadParams, t, nVocab)
		}
		// -Inf bans a token; NaN and +Inf would poison the softmax.
		if math.IsNaN(float64(b)) || math.IsInf(float64(b), 1) {
			return fmt.Errorf("%w: logit bias %v for token %d", ErrBadParams, b, t)
		}
	}
	return nil
}
