package server

import (
	"cmp"
	"math"
	"slices"
)

// bestOfCandidates checks a completions request's best_of against its n
// and returns how many completions each prompt generates: best_of, or n
// without one. OpenAI's legacy API generates best_of and returns the n
// with the highest log probability per token; the candidates are only
// known at their end, so a request that streams may not ask for more
// candidates than it is sent (vLLM's rule too).
func bestOfCandidates(bestOf *int, n int, stream bool) (int, error) {
	if bestOf == nil {
		return n, nil
	}
	switch b := *bestOf; {
	case b < 1:
		return 0, invalidParam("best_of", "best_of must be at least 1, got %d", b)
	case b < n:
		return 0, invalidParam("best_of", "best_of must be at least n (%d), got %d", n, b)
	case b > n && stream:
		return 0, invalidParam("best_of", "best_of (%d) above n (%d) cannot be streamed: the best completions are known only when all have finished", b, n)
	}
	return *bestOf, nil
}

// rankCandidates makes j, whose j.n choices a prompt are its best_of
// candidates (the choices the same request with n = best_of returns, seeds
// included), keep the n best of each prompt's (bestChoices). Each
// candidate reports its tokens' log-probabilities, which rank it, whether
// or not the request asked to see them (j.logprobs stays as it asked).
func (j *job) rankCandidates(n int) {
	for i := range j.reqs {
		j.reqs[i].Logprobs = true
	}
	j.keep = n
}

// bestChoices keeps, of each prompt's candidates, the j.keep with the
// highest mean log-probability of the tokens they generated (stop tokens
// included, as the engine scores them), best first; equal scores keep
// their order. A candidate that generated nothing ranks last. It returns
// choices unchanged where j ranks nothing, and sets j.n to the choices a
// prompt now has.
func (j *job) bestChoices(choices []*choice) []*choice {
	if j.keep == 0 || j.n == 0 || len(choices)%j.n != 0 {
		return choices
	}
	out := make([]*choice, 0, len(choices)/j.n*j.keep)
	for lo := 0; lo < len(choices); lo += j.n {
		group := slices.Clone(choices[lo : lo+j.n])
		slices.SortStableFunc(group, func(a, b *choice) int { return cmp.Compare(meanLogprob(b), meanLogprob(a)) })
		out = append(out, group[:j.keep]...)
	}
	j.n, j.keep = j.keep, 0
	return out
}

// meanLogprob is the mean log-probability of c's generated tokens, -Inf
// when it has none.
func meanLogprob(c *choice) float64 {
	if len(c.logprobs) == 0 {
		return math.Inf(-1)
	}
	sum := 0.0
	for _, lp := range c.logprobs {
		sum += float64(lp.Logprob)
	}
	return sum / float64(len(c.logprobs))
}
