package bench

import (
	"encoding/json"
	"math"
	"time"
)

// LevelSummary is vLLM's "Serving Benchmark Result" for one level, plus the
// failure breakdown and how tokens were counted. Latencies are in ms and
// cover successful requests only; TPOT covers those with ≥ 2 output tokens.
type LevelSummary struct {
	Completed int            `json:"completed"`
	Failed    int            `json:"failed"`
	Failures  map[string]int `json:"failures"` // status → count
	DurationS float64        `json:"duration_s"`

	TotalInputTokens  int `json:"total_input_tokens"`
	TotalOutputTokens int `json:"total_output_tokens"`

	RequestThroughput    float64 `json:"request_throughput"`     // completed req/s
	OutputThroughput     float64 `json:"output_throughput"`      // output tok/s
	TotalTokenThroughput float64 `json:"total_token_throughput"` // (input+output) tok/s
	PeakOutputThroughput float64 `json:"peak_output_throughput"` // best 1-second window, tok/s
	PeakConcurrency      int     `json:"peak_concurrency"`       // most requests in flight

	Goodput *GoodputResult `json:"goodput,omitempty"`

	TTFT LatencyStats `json:"ttft_ms"`
	TPOT LatencyStats `json:"tpot_ms"`
	ITL  LatencyStats `json:"itl_ms"`
	E2EL LatencyStats `json:"e2el_ms"`

	// How the successful requests' output tokens were counted.
	OutputTokensFromUsage  int `json:"output_tokens_from_usage"`
	OutputTokensFromChunks int `json:"output_tokens_from_chunks"`
	EmptyOutputs           int `json:"empty_outputs"`

	// ServerTimings summarises the timings objects the server sent with
	// its replies (llama-server's and Nuri's); nil when none came.
	ServerTimings *ServerTimingsSummary `json:"server_timings,omitempty"`
}

// ServerTimingsSummary is what the server itself reported of the
// successful requests that carried llama-server's timings object: its
// own prompt time and rates, without the network and the client.
type ServerTimingsSummary struct {
	Requests           int          `json:"requests"`
	PromptMS           LatencyStats `json:"prompt_ms"`            // prompt_ms (up to the first token)
	PromptPerSecond    LatencyStats `json:"prompt_per_second"`    // prompt tokens computed a second
	PredictedPerSecond LatencyStats `json:"predicted_per_second"` // output tokens a second after the first
	CachedTokens       int          `json:"cached_tokens"`        // cache_n summed
	PromptTokens       int          `json:"prompt_tokens"`        // prompt_n summed (computed, cache apart)
}

// serverTimings is the timings object of llama-server's replies (the
// fields a summary reads).
type serverTimings struct {
	CacheN             *int     `json:"cache_n"`
	PromptN            *int     `json:"prompt_n"`
	PromptMS           *float64 `json:"prompt_ms"`
	PromptPerSecond    *float64 `json:"prompt_per_second"`
	PredictedPerSecond *float64 `json:"predicted_per_second"`
}

// summarizeServerTimings reads the timings of recs' successful requests;
// nil when none has any.
func summarizeServerTimings(recs []RequestRecord) *ServerTimingsSummary {
	s := &ServerTimingsSummary{}
	var promptMS, promptRate, predRate []float64
	for _, r := range recs {
		var t serverTimings
		if !r.OK || len(r.ServerTimings) == 0 || json.Unmarshal(r.ServerTimings, &t) != nil || (t.PromptMS == nil && t.PredictedPerSecond == nil) {
			continue
		}
		s.Requests++
		if t.PromptMS != nil {
			promptMS = append(promptMS, *t.PromptMS)
		}
		if t.PromptPerSecond != nil && *t.PromptPerSecond > 0 {
			promptRate = append(promptRate, *t.PromptPerSecond)
		}
		if t.PredictedPerSecond != nil && *t.PredictedPerSecond > 0 {
			predRate = append(predRate, *t.PredictedPerSecond)
		}
		if t.CacheN != nil {
			s.CachedTokens += *t.CacheN
		}
		if t.PromptN != nil {
			s.PromptTokens += *t.PromptN
		}
	}
	if s.Requests == 0 {
		return nil
	}
	s.PromptMS, s.PromptPerSecond, s.PredictedPerSecond = Summarize(promptMS), Summarize(promptRate), Summarize(predRate)
	return s
}

// GoodputResult is the share of requests meeting the objectives.
type GoodputResult struct {
	Objectives Goodput `json:"objectives"`
	Good       int     `json:"good"`
	Rate       float64 `json:"rate"` // good req/s
}

func summarizeLevel(recs []RequestRecord, d time.Duration, peakConc int, g Goodput) LevelSummary {
	s := LevelSummary{Failures: map[string]int{}, DurationS: d.Seconds(), PeakConcurrency: peakConc}
	var ttft, tpot, itl, e2el []float64
	good := 0
	for _, r := range recs {
		if !r.OK {
			s.Failed++
			s.Failures[r.Status]++
			continue
		}
		s.Completed++
		s.TotalInputTokens += r.InputTokens
		s.TotalOutputTokens += r.OutputTokens
		ttft = append(ttft, r.TTFTMS)
		e2el = append(e2el, r.E2ELMS)
		if r.OutputTokens > 1 {
			tpot = append(tpot, r.TPOTMS)
		}
		itl = append(itl, r.ITLMS...)
		if r.OutputTokensSource == "usage" {
			s.OutputTokensFromUsage++
		} else {
			s.OutputTokensFromChunks++
		}
		if r.EmptyOutput {
			s.EmptyOutputs++
		}
		if g.Enabled() && g.Meets(r) {
			good++
		}
	}
	if secs := d.Seconds(); secs > 0 {
		s.RequestThroughput = float64(s.Completed) / secs
		s.OutputThroughput = float64(s.TotalOutputTokens) / secs
		s.TotalTokenThroughput = float64(s.TotalInputTokens+s.TotalOutputTokens) / secs
		if g.Enabled() {
			s.Goodput = &GoodputResult{Objectives: g, Good: good, Rate: float64(good) / secs}
		}
	}
	s.PeakOutputThroughput = peakOutputThroughput(recs)
	s.TTFT, s.TPOT, s.ITL, s.E2EL = Summarize(ttft), Summarize(tpot), Summarize(itl), Summarize(e2el)
	s.ServerTimings = summarizeServerTimings(recs)
	return s
}

// peakOutputThroughput is the most output tokens generated in any one-second
// bucket of the level (as vLLM reports it). Each text chunk of a successful
// request is placed at its arrival time and weighted by the request's
// tokens per chunk, so servers that batch tokens into chunks still add up.
func peakOutputThroughput(recs []RequestRecord) float64 {
	buckets := map[int64]float64{}
	for _, r := range recs {
		if !r.OK || r.Chunks == 0 || r.EmptyOutput {
			continue
		}
		w := float64(r.OutputTokens) / float64(r.Chunks)
		t := r.StartMS + r.TTFTMS
		buckets[int64(math.Floor(t/1000))] += w
		for _, gap := range r.ITLMS {
			t += gap
			buckets[int64(math.Floor(t/1000))] += w
		}
	}
	peak := 0.0
	for _, v := range buckets {
		peak = math.Max(peak, v)
	}
	return peak
}
