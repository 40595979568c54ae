package sample

import (
	"math"
	"slices"
)

// cand is one candidate token during the chain.
type cand struct {
	id    int32
	logit float32
}

// better orders candidates highest logit first, lowest id on ties, so every
// sort and selection here is deterministic.
func better(a, b cand) bool {
	if a.logit != b.logit {
		return a.logit > b.logit
	}
	return a.id < b.id
}

// sortDesc sorts c highest first (ties: lowest id first).
func sortDesc(c []cand) {
	slices.SortFunc(c, func(a, b cand) int {
		switch {
		case better(a, b):
			return -1
		case better(b, a):
			return 1
		}
		return 0
	})
}

// topK keeps the k best candidates, sorted highest first. It selects with a
// size-k heap (O(n log k)) instead of sorting the whole vocabulary.
func topK(c []cand, k int) []cand {
	if k <= 0 || k >= len(c) {
		sortDesc(c)
		return c
	}
	h := topHeap(make([]cand, 0, k))
	for _, x := range c {
		h.offer(x, k)
	}
	c = append(c[:0], h...)
	sortDesc(c)
	return c
}

// topP keeps the shortest prefix of the sorted candidates whose softmax
// mass reaches p (at least one token). norm is Σexp(logit−maxV) over the
// candidates the softmax is taken over. p ≥ 1 is off.
func topP(c []cand, p float32, maxV float32, norm float64) []cand {
	if p >= 1 || len(c) == 0 {
		return c
	}
	cum := 0.0
	for i, x := range c {
		cum += math.Exp(float64(x.logit-maxV)) / norm
		if cum >= float64(p) {
			return c[:i+1]
		}
	}
	return c
}

// minP keeps candidates with logit ≥ maxV + ln(p), i.e. prob ≥ p·p_max,
// preserving their order.
func minP(c []cand, p float32, maxV float32) []cand {
	thr := maxV + float32(math.Log(float64(p)))
	out := c[:0]
	for _, x := range c {
		if x.logit >= thr {
			out = append(out, x)
		}
	}
	return out
}

// temperature divides every logit by t (t > 0).
func temperature(c []cand, t float32) {
	for i := range c {
		c[i].logit /= t
	}
}

// expSum returns Σexp(logit−maxV) in float64.
func expSum(c []cand, maxV float32) float64 {
	sum := 0.0
	for _, x := range c {
		sum += math.Exp(float64(x.logit - maxV))
	}
	return sum
}

// dist draws from the softmax of the candidates given a uniform r in [0,1):
// the first candidate whose running sum reaches r·Σ.
func dist(c []cand, r float64) int32 {
	maxV := c[0].logit
	for _, x := range c[1:] {
		maxV = max(maxV, x.logit)
	}
	target := r * expSum(c, maxV)
	cum := 0.0
	for _, x := range c {
		cum += math.Exp(float64(x.logit - maxV))
		if cum >= target {
			return x.id
		}
	}
	return c[len(c)-1].id // only reachable through rounding
}

// topCandidates returns the n most likely finite tokens of work with their
// log-probabilities (work − lse), highest first.
func topCandidates(work []float32, n int, lse float64) []Candidate {
	h := topHeap(make([]cand, 0, min(n, len(work))))
	for i, v := range work {
		if !math.IsInf(float64(v), -1) {
			h.offer(cand{id: int32(i), logit: v}, n)
		}
	}
	sortDesc(h)
	out := make([]Candidate, len(h))
	for i, x := range h {
		out[i] = Candidate{Token: x.id, Logprob: float32(float64(x.logit) - lse)}
	}
	return out
}

// topHeap is a min-heap (worst candidate at the root) that keeps the best k
// candidates offered to it.
type topHeap []cand

func (h *topHeap) offer(x cand, k int) {
	s := *h
	if len(s) < k {
		s = append(s, x)
		// sift up
		for i := len(s) - 1; i > 0; {
			p := (i - 1) / 2
			if !better(s[p], s[i]) {
				break
			}
			s[p], s[i] = s[i], s[p]
			i = p
		}
		*h = s
		return
	}
	if !better(x, s[0]) {
		return
	}
	s[0] = x
	// sift down: the root must be worse than both children
	for i := 0; ; {
		l, r, w := 2*i+1, 2*i+2, i
		if l < len(s) && better(s[w], s[l]) {
			w = l
		}
		if r < len(s) && better(s[w], s[r]) {
			w = r
		}
		if w == i {
			break
		}
		s[w], s[i] = s[i], s[w]
		i = w
	}
}
