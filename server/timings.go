package server

import "time"

// newTimings is llama-server's timings of a reply: prompt tokens of
// which cached came from the prefix cache, predicted output tokens, the
// time to the first token (0: none came, so all of it was the prompt's)
// and the time in all.
func newTimings(cached, prompt, predicted int, first, total time.Duration) *llamaTimings {
	pm := total
	if first > 0 {
		pm = min(first, total)
	}
	t := &llamaTimings{CacheN: cached, PromptN: max(prompt-cached, 0), PromptMS: msOf(pm),
		PredictedN: predicted, PredictedMS: msOf(total - pm)}
	if t.PromptN > 0 && t.PromptMS > 0 {
		t.PromptPerTokenMS, t.PromptPerSecond = t.PromptMS/float64(t.PromptN), 1000*float64(t.PromptN)/t.PromptMS
	}
	if t.PredictedN > 0 && t.PredictedMS > 0 {
		t.PredictedPerTokenMS, t.PredictedPerSecond = t.PredictedMS/float64(t.PredictedN), 1000*float64(t.PredictedN)/t.PredictedMS
	}
	return t
}

func msOf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// choiceTimings is choice idx's timings until now: its final counts once
// it has finished, before that the prompt it was given and the tokens
// seen so far.
func (j *job) choiceTimings(idx int, c *choice) *llamaTimings {
	if c.done {
		return newTimings(c.usage.CachedTokens, c.usage.PromptTokens, c.usage.CompletionTokens, c.ttft, time.Since(j.start))
	}
	return newTimings(c.cached, len(j.reqs[idx].Prompt), c.nTokens, c.ttft, time.Since(j.start))
}

// timingsOf is the timings of a whole reply of choices, whose usage
// (j.totals) is u: each prompt's tokens once and every choice's output,
// the prompt's time up to the first token any choice had.
func (j *job) timingsOf(choices []*choice, u usageJSON) *llamaTimings {
	var first time.Duration
	for _, c := range choices {
		if c.ttft > 0 && (first == 0 || c.ttft < first) {
			first = c.ttft
		}
	}
	return newTimings(u.PromptTokensDetails.CachedTokens, u.PromptTokens, u.CompletionTokens, first, time.Since(j.start))
}
