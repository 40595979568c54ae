package server

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

func TestNewTimings(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		cached, prompt, out   int
		first, total          time.Duration
		promptMS, predictedMS float64
		promptRate, predRate  float64
	}{
		{"prompt then output", 2, 10, 4, 80 * time.Millisecond, 280 * time.Millisecond, 80, 200, 100, 20},
		{"no token came: all of it the prompt's", 0, 5, 0, 0, 50 * time.Millisecond, 50, 0, 100, 0},
		{"first token after the end is clamped", 0, 4, 1, time.Second, 400 * time.Millisecond, 400, 0, 10, 0},
		{"everything cached", 6, 6, 2, 10 * time.Millisecond, 30 * time.Millisecond, 10, 20, 0, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := newTimings(tc.cached, tc.prompt, tc.out, tc.first, tc.total)
			if got.CacheN != tc.cached || got.PromptN != tc.prompt-tc.cached || got.PredictedN != tc.out {
				t.Errorf("counts %+v", got)
			}
			// The times are whole microseconds, so the rates are exact to
			// float rounding.
			near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }
			if !near(got.PromptMS, tc.promptMS) || !near(got.PredictedMS, tc.predictedMS) ||
				!near(got.PromptPerSecond, tc.promptRate) || !near(got.PredictedPerSecond, tc.predRate) {
				t.Errorf("times %+v, want prompt %.1f ms at %.1f/s, predicted %.1f ms at %.1f/s",
					got, tc.promptMS, tc.promptRate, tc.predictedMS, tc.predRate)
			}
			if got.PredictedPerSecond > 0 && !near(got.PredictedPerTokenMS*got.PredictedPerSecond, 1000) {
				t.Errorf("per token %v ms against %v/s", got.PredictedPerTokenMS, got.PredictedPerSecond)
			}
		})
	}
}

// timedChunk is a streamed chunk's parts the timings tests read.
type timedChunk struct {
	Choices []struct {
		FinishReason *string `json:"finish_reason"`
		Delta        *struct {
			Content *string `json:"content"`
		} `json:"delta"`
		Text string `json:"text"`
	} `json:"choices"`
	Usage   *usageJSON    `json:"usage"`
	Timings *llamaTimings `json:"timings"`
	// llama.cpp's /completion stream
	Content string `json:"content"`
	Stop    bool   `json:"stop"`
}

// TestOpenAITimings checks llama-server's timings object on the OpenAI
// routes: on a whole reply, on the last chunk of a stream (the usage
// chunk when asked for, otherwise each choice's finishing chunk), and on
// every chunk with output under timings_per_token.
func TestOpenAITimings(t *testing.T) {
	const reply = "hello"
	ts := newTestServer(t, Config{}, reply)
	ts.eng.cached = 2

	t.Run("chat reply", func(t *testing.T) {
		_, _, body := ts.do("POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}]}`)
		var r chatResponse
		if err := json.Unmarshal(body, &r); err != nil || r.Timings == nil {
			t.Fatalf("%v: %s", err, body)
		}
		tm := r.Timings
		if tm.CacheN != 2 || tm.PromptN != r.Usage.PromptTokens-2 || tm.PredictedN != len(reply) ||
			tm.PromptMS < 0 || tm.PredictedMS < 0 {
			t.Errorf("timings %+v against usage %+v", tm, r.Usage)
		}
	})
	t.Run("completions of two prompts, two choices each", func(t *testing.T) {
		_, _, body := ts.do("POST", "/v1/completions", `{"prompt":["ab","cdef"],"n":2,"max_tokens":3}`)
		var r completionResponse
		if err := json.Unmarshal(body, &r); err != nil || r.Timings == nil {
			t.Fatalf("%v: %s", err, body)
		}
		// Each prompt once (BOS+2 and BOS+4 tokens), two cached of each;
		// every choice's 3 tokens.
		if tm := r.Timings; tm.CacheN != 4 || tm.PromptN != 3+5-4 || tm.PredictedN != 4*3 {
			t.Errorf("timings %+v, usage %+v", tm, r.Usage)
		}
	})

	stream := func(t *testing.T, path, body string) []timedChunk {
		t.Helper()
		status, _, out := ts.do("POST", path, body)
		if status != 200 {
			t.Fatalf("status %d: %s", status, out)
		}
		var chunks []timedChunk
		for _, e := range sseEvents(t, string(out)) {
			if e == "[DONE]" {
				continue
			}
			var c timedChunk
			if err := json.Unmarshal([]byte(e), &c); err != nil {
				t.Fatalf("%v: %s", err, e)
			}
			chunks = append(chunks, c)
		}
		return chunks
	}
	t.Run("stream with usage: the usage chunk has them", func(t *testing.T) {
		chunks := stream(t, "/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true}}`)
		for i, c := range chunks {
			last := i == len(chunks)-1
			if (c.Timings != nil) != last {
				t.Errorf("chunk %d of %d: timings %+v", i, len(chunks), c.Timings)
			}
			if last && (c.Usage == nil || c.Timings.PredictedN != c.Usage.CompletionTokens || c.Timings.CacheN != 2) {
				t.Errorf("last chunk usage %+v, timings %+v", c.Usage, c.Timings)
			}
		}
	})
	t.Run("stream without usage: each finishing chunk has its choice's", func(t *testing.T) {
		chunks := stream(t, "/v1/completions", `{"prompt":"hi","n":2,"stream":true}`)
		finishing := 0
		for i, c := range chunks {
			fin := len(c.Choices) == 1 && c.Choices[0].FinishReason != nil
			if (c.Timings != nil) != fin {
				t.Errorf("chunk %d: finishing %v, timings %+v", i, fin, c.Timings)
			}
			if fin {
				finishing++
				if c.Timings.PredictedN != len(reply) || c.Timings.CacheN != 2 {
					t.Errorf("choice's timings %+v", c.Timings)
				}
			}
		}
		if finishing != 2 {
			t.Errorf("%d finishing chunks, want 2", finishing)
		}
	})
	t.Run("timings_per_token", func(t *testing.T) {
		chunks := stream(t, "/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}],"stream":true,"timings_per_token":true}`)
		seen := 0
		for i, c := range chunks {
			if len(c.Choices) == 0 || c.Choices[0].Delta == nil || c.Choices[0].Delta.Content == nil || *c.Choices[0].Delta.Content == "" {
				continue // the role delta
			}
			seen++
			if c.Timings == nil || c.Timings.PredictedN != seen || c.Timings.CacheN != 2 || c.Timings.PromptN < 1 {
				t.Errorf("output chunk %d (%d tokens so far): timings %+v", i, seen, c.Timings)
			}
		}
		if seen != len(reply) {
			t.Errorf("%d output chunks, want %d", seen, len(reply))
		}
	})
	t.Run("llama.cpp's /completion stream with timings_per_token", func(t *testing.T) {
		chunks := stream(t, "/completion", `{"prompt":"hi","stream":true,"timings_per_token":true}`)
		seen := 0
		for i, c := range chunks {
			if c.Timings == nil {
				t.Errorf("result %d has no timings: %+v", i, c)
				continue
			}
			if c.Stop {
				if c.Timings.PredictedN != len(reply) || c.Timings.CacheN != 2 {
					t.Errorf("final timings %+v", c.Timings)
				}
				continue
			}
			seen += len(c.Content)
			if c.Timings.PredictedN != seen {
				t.Errorf("result %d: predicted_n %d, want %d", i, c.Timings.PredictedN, seen)
			}
		}
		if seen != len(reply) {
			t.Errorf("streamed %d bytes, want %d", seen, len(reply))
		}
	})
	t.Run("a stored completion is kept without them", func(t *testing.T) {
		store := newTestServer(t, Config{}, reply)
		_, _, body := store.do("POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}],"store":true}`)
		var r chatResponse
		if err := json.Unmarshal(body, &r); err != nil || r.Timings == nil {
			t.Fatalf("%v: %s", err, body)
		}
		status, _, kept := store.do("GET", "/v1/chat/completions/"+r.ID, "")
		if status != 200 || strings.Contains(string(kept), `"timings"`) {
			t.Errorf("status %d: %s", status, kept)
		}
	})
}
