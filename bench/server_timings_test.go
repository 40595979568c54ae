package bench

import (
	"encoding/json"
	"testing"
)

func TestSummarizeServerTimings(t *testing.T) {
	rec := func(ok bool, timings string) RequestRecord {
		return RequestRecord{OK: ok, ServerTimings: json.RawMessage(timings)}
	}
	for _, tc := range []struct {
		name string
		recs []RequestRecord
		want *ServerTimingsSummary // nil: no summary
	}{
		{"no timings", []RequestRecord{rec(true, ""), rec(true, "")}, nil},
		{"only failed requests carried them", []RequestRecord{rec(false, `{"prompt_ms": 5}`)}, nil},
		{"malformed ones are skipped", []RequestRecord{rec(true, `{"prompt_ms": "x"}`), rec(true, `[1]`)}, nil},
		{"llama-server's object", []RequestRecord{
			rec(true, `{"cache_n": 6, "prompt_n": 10, "prompt_ms": 20, "prompt_per_second": 500, "predicted_n": 8, "predicted_per_second": 40}`),
			rec(true, `{"cache_n": 0, "prompt_n": 4, "prompt_ms": 10, "prompt_per_second": 400, "predicted_per_second": 60}`),
			rec(true, `{"prompt_n": 0, "prompt_ms": 30, "prompt_per_second": 0, "predicted_per_second": 50}`), // all cached: no prompt rate
			rec(false, `{"prompt_ms": 1000}`),
			rec(true, ""),
		}, &ServerTimingsSummary{Requests: 3, CachedTokens: 6, PromptTokens: 14,
			PromptMS:           LatencyStats{N: 3, Median: 20, Min: 10, Max: 30},
			PromptPerSecond:    LatencyStats{N: 2, Min: 400, Max: 500},
			PredictedPerSecond: LatencyStats{N: 3, Median: 50, Min: 40, Max: 60}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := summarizeServerTimings(tc.recs)
			if (got == nil) != (tc.want == nil) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			if got == nil {
				return
			}
			w := tc.want
			if got.Requests != w.Requests || got.CachedTokens != w.CachedTokens || got.PromptTokens != w.PromptTokens {
				t.Errorf("counts %+v, want %+v", got, w)
			}
			for _, c := range []struct {
				name      string
				got, want LatencyStats
			}{{"prompt_ms", got.PromptMS, w.PromptMS}, {"prompt_per_second", got.PromptPerSecond, w.PromptPerSecond},
				{"predicted_per_second", got.PredictedPerSecond, w.PredictedPerSecond}} {
				if c.got.N != c.want.N || c.got.Min != c.want.Min || c.got.Max != c.want.Max || (c.want.Median != 0 && c.got.Median != c.want.Median) {
					t.Errorf("%s %+v, want n %d, min %v, max %v, median %v", c.name, c.got, c.want.N, c.want.Min, c.want.Max, c.want.Median)
				}
			}
		})
	}
}
