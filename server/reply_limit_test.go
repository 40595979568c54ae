package server

import (
	"encoding/json"
	"testing"
)

// TestMaxReplyTokens checks the server's reply limit (llama-server's
// --n-predict) on each route's requests: more, or no limit, becomes the
// limit; less stays; a prompt-only request stays prompt-only.
func TestMaxReplyTokens(t *testing.T) {
	ts := newTestServer(t, Config{MaxReplyTokens: 8}, "hello world")
	msgs := `"messages":[{"role":"user","content":"hi"}]`
	for _, tc := range []struct {
		name, path, body string
		wantMax, wantMin int
		promptOnly       bool
	}{
		{"chat without max_tokens", "/v1/chat/completions", `{` + msgs + `}`, 8, 0, false},
		{"chat asking for more", "/v1/chat/completions", `{` + msgs + `,"max_tokens":100}`, 8, 0, false},
		{"chat asking for less", "/v1/chat/completions", `{` + msgs + `,"max_completion_tokens":3}`, 3, 0, false},
		{"min_tokens over the limit", "/v1/chat/completions", `{` + msgs + `,"min_tokens":20}`, 8, 8, false},
		{"completions' default of 16", "/v1/completions", `{"prompt":"hi"}`, 8, 0, false},
		{"prompt only with echo", "/v1/completions", `{"prompt":"hi","max_tokens":0,"echo":true,"logprobs":1}`, 0, 0, true},
		{"anthropic", "/v1/messages", `{` + msgs + `,"max_tokens":1000}`, 8, 0, false},
		{"ollama", "/api/chat", `{"model":"fake-model",` + msgs + `,"stream":false}`, 8, 0, false},
		{"llama.cpp", "/completion", `{"prompt":"hi","n_predict":-1}`, 8, 0, false},
		{"responses", "/v1/responses", `{"input":"hi","max_output_tokens":50}`, 8, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := ts.do("POST", tc.path, tc.body)
			if status != 200 {
				t.Fatalf("status %d: %s", status, body)
			}
			reqs := ts.eng.lastRequests()
			r := reqs[len(reqs)-1]
			if r.MaxTokens != tc.wantMax || r.MinTokens != tc.wantMin || r.PromptOnly != tc.promptOnly {
				t.Errorf("engine got max %d, min %d, prompt only %v; want %d, %d, %v", r.MaxTokens, r.MinTokens, r.PromptOnly, tc.wantMax, tc.wantMin, tc.promptOnly)
			}
		})
	}
	// llama.cpp's /props and a /completion answer report the limit.
	status, _, body := ts.do("GET", "/props", "")
	if status != 200 {
		t.Fatalf("/props: status %d: %s", status, body)
	}
	var props struct {
		Default struct {
			Params struct {
				NPredict int `json:"n_predict"`
			} `json:"params"`
		} `json:"default_generation_settings"`
	}
	if err := json.Unmarshal(body, &props); err != nil || props.Default.Params.NPredict != 8 {
		t.Errorf("/props n_predict %d (%v), want 8: %s", props.Default.Params.NPredict, err, body)
	}
	_, _, body = ts.do("POST", "/completion", `{"prompt":"hi"}`)
	var done struct {
		Settings struct {
			NPredict int `json:"n_predict"`
		} `json:"generation_settings"`
	}
	if err := json.Unmarshal(body, &done); err != nil || done.Settings.NPredict != 8 {
		t.Errorf("/completion generation_settings.n_predict %d (%v), want 8: %s", done.Settings.NPredict, err, body)
	}
}

// TestMaxReplyTokensOff: without a limit the requests keep what they ask.
func TestMaxReplyTokensOff(t *testing.T) {
	ts := newTestServer(t, Config{}, "hello world")
	ts.do("POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}],"max_tokens":100,"min_tokens":20}`)
	reqs := ts.eng.lastRequests()
	if r := reqs[len(reqs)-1]; r.MaxTokens != 100 || r.MinTokens != 20 {
		t.Errorf("engine got max %d, min %d; want 100, 20", r.MaxTokens, r.MinTokens)
	}
	ts.do("POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}]}`)
	reqs = ts.eng.lastRequests()
	if r := reqs[len(reqs)-1]; r.MaxTokens != 0 {
		t.Errorf("engine got max %d without max_tokens, want 0 (up to the context)", r.MaxTokens)
	}
	if _, err := New(Config{ModelName: "m", MaxReplyTokens: -1}); err == nil {
		t.Error("New took a negative reply limit")
	}
}
