package server

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nuri-ai/nuri/engine"
)

// candidateOf is the index of a completion candidate from its request id
// ("cmpl-…-K", K counting the prompts' candidates in order).
func candidateOf(t *testing.T, r engine.Request) int {
	t.Helper()
	k, err := strconv.Atoi(r.ID[strings.LastIndexByte(r.ID, '-')+1:])
	if err != nil {
		t.Fatalf("request id %q: %v", r.ID, err)
	}
	return k
}

// best_of generates best_of candidates a prompt and returns the n with the
// highest log-probability per token, best first; usage counts every
// candidate's tokens.
func TestCompletionBestOf(t *testing.T) {
	ts := newTestServer(t, Config{}, "")
	// Candidate k replies with k+1 letters; its tokens' scores make the
	// mean per token rank candidates 2, 0, 3, 1 (then 4, 5 ...): the
	// longest reply has the lowest sum but not the lowest mean.
	means := []float32{-0.5, -2, -0.25, -1, -3, -4}
	ts.eng.reply = func(r engine.Request) string {
		k := candidateOf(t, r) % 4
		return strings.Repeat(string(rune('a'+k)), k+1)
	}
	ts.eng.logprob = func(r engine.Request, i int) float32 {
		m := means[candidateOf(t, r)%4]
		// Scores around the mean, the mean exact (k+1 tokens).
		if k := candidateOf(t, r) % 4; k > 0 && i == 0 {
			return m - float32(k)*0.125
		} else if k > 0 && i == 1 {
			return m + float32(k)*0.125
		}
		return m
	}
	type respJSON struct {
		Choices []struct {
			Index    int             `json:"index"`
			Text     string          `json:"text"`
			Logprobs json.RawMessage `json:"logprobs"`
		} `json:"choices"`
		Usage struct {
			PromptTokens     int `json:"prompt_tokens"`
			CompletionTokens int `json:"completion_tokens"`
		} `json:"usage"`
	}
	post := func(body string) respJSON {
		t.Helper()
		status, _, b := ts.do("POST", "/v1/completions", body)
		if status != 200 {
			t.Fatalf("%s: status %d: %s", body, status, b)
		}
		var r respJSON
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("%v: %s", err, b)
		}
		return r
	}
	texts := func(r respJSON) []string {
		var out []string
		for i, c := range r.Choices {
			if c.Index != i {
				t.Errorf("choice %d has index %d", i, c.Index)
			}
			out = append(out, c.Text)
		}
		return out
	}

	r := post(`{"prompt":"hi","best_of":4,"seed":7,"max_tokens":8}`)
	if got := texts(r); !slices.Equal(got, []string{"ccc"}) {
		t.Errorf("best_of 4: %q, want the best candidate %q", got, "ccc")
	}
	if r.Choices[0].Logprobs != nil && string(r.Choices[0].Logprobs) != "null" {
		t.Errorf("logprobs shown without being asked: %s", r.Choices[0].Logprobs)
	}
	if r.Usage.CompletionTokens != 1+2+3+4 || r.Usage.PromptTokens != 3 {
		t.Errorf("usage %+v, want every candidate's 10 tokens and the prompt's 3 once", r.Usage)
	}
	reqs := ts.eng.lastRequests()
	if len(reqs) != 4 {
		t.Fatalf("%d requests submitted, want 4 candidates", len(reqs))
	}
	for i, q := range reqs {
		if !q.Logprobs || q.Sampling.Seed != 7+uint64(i) {
			t.Errorf("candidate %d: logprobs %v, seed %d; want scored, seed %d", i, q.Logprobs, q.Sampling.Seed, 7+i)
		}
	}

	// Two prompts, the two best of four each, with the logprobs asked for.
	r = post(`{"prompt":["hi","yo"],"n":2,"best_of":4,"logprobs":0,"max_tokens":8}`)
	if got := texts(r); !slices.Equal(got, []string{"ccc", "a", "ccc", "a"}) {
		t.Errorf("n 2 of best_of 4, two prompts: %q", got)
	}
	var lp struct {
		TokenLogprobs []float64 `json:"token_logprobs"`
	}
	if err := json.Unmarshal(r.Choices[1].Logprobs, &lp); err != nil || !slices.Equal(lp.TokenLogprobs, []float64{-0.5}) {
		t.Errorf("second choice's logprobs %s (%v), want [-0.5]", r.Choices[1].Logprobs, err)
	}
	if r.Usage.CompletionTokens != 20 || r.Usage.PromptTokens != 6 {
		t.Errorf("usage %+v, want 20 completion and 6 prompt tokens", r.Usage)
	}

	// Echo keeps each prompt before its kept choices (the second
	// prompt's candidates are 3, 4 and 5: k % 4 3, 0, 1).
	r = post(`{"prompt":["hi","yo"],"best_of":3,"echo":true,"max_tokens":8}`)
	if got := texts(r); !slices.Equal(got, []string{"hiccc", "yoa"}) {
		t.Errorf("echo with best_of 3: %q", got)
	}

	// best_of equal to n ranks nothing, and may stream.
	r = post(`{"prompt":"hi","n":2,"best_of":2,"max_tokens":8}`)
	if got := texts(r); !slices.Equal(got, []string{"a", "bb"}) {
		t.Errorf("best_of = n: %q, want the candidates in order", got)
	}
	if status, _, b := ts.do("POST", "/v1/completions", `{"prompt":"hi","n":2,"best_of":2,"stream":true,"max_tokens":8}`); status != 200 {
		t.Errorf("streamed best_of = n: status %d: %s", status, b)
	}

	for _, body := range []string{
		`{"prompt":"hi","best_of":0}`,
		`{"prompt":"hi","n":3,"best_of":2}`,
		`{"prompt":"hi","best_of":2,"stream":true}`,
		`{"prompt":["a","b","c"],"best_of":100}`,
	} {
		status, _, b := ts.do("POST", "/v1/completions", body)
		if status != 400 || !strings.Contains(string(b), `"param":"best_of"`) {
			t.Errorf("%s: status %d %s, want 400 naming best_of", body, status, b)
		}
	}
}
