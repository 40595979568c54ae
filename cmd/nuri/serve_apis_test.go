package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"
)

// Anthropic's Messages API on stories260K through Anthropic's official
// SDK gives the chat route's greedy text, whole and streamed, under a
// second served name, which the reply carries; the stop reason and usage
// say what the OpenAI reply's finish reason and usage say.
func TestServeAnthropicAPI(t *testing.T) {
	base := startServe(t, "--served-model-name", "stories,claude-haiku-4-5")
	var chat struct {
		Choices []struct {
			Message      struct{ Content string } `json:"message"`
			FinishReason string                   `json:"finish_reason"`
		} `json:"choices"`
		Usage struct {
			PromptTokens     int64 `json:"prompt_tokens"`
			CompletionTokens int64 `json:"completion_tokens"`
		} `json:"usage"`
	}
	if err := json.Unmarshal(postOK(t, base+"/v1/chat/completions", `{"messages": [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "Lily"}], "max_tokens": 30, "temperature": 0}`), &chat); err != nil {
		t.Fatal(err)
	}
	want := chat.Choices[0]
	wantReason := anthropic.StopReasonEndTurn
	if want.FinishReason == "length" {
		wantReason = anthropic.StopReasonMaxTokens
	}
	client := anthropic.NewClient(option.WithBaseURL(base), option.WithAPIKey("unused"), option.WithMaxRetries(0))
	params := anthropic.MessageNewParams{
		Model: "claude-haiku-4-5", MaxTokens: 30, Temperature: anthropic.Float(0),
		System:   []anthropic.TextBlockParam{{Text: "Be kind."}},
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Lily"))},
	}
	check := func(what string, m *anthropic.Message) {
		t.Helper()
		if len(m.Content) != 1 || m.Content[0].Text != want.Message.Content || m.StopReason != wantReason || m.Model != "claude-haiku-4-5" {
			t.Errorf("%s: %+v, want %q (%s)", what, m, want.Message.Content, wantReason)
		}
		if m.Usage.OutputTokens != chat.Usage.CompletionTokens || m.Usage.InputTokens+m.Usage.CacheReadInputTokens != chat.Usage.PromptTokens {
			t.Errorf("%s: usage %+v, want %+v", what, m.Usage, chat.Usage)
		}
	}
	m, err := client.Messages.New(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	check("messages", m)
	stream := client.Messages.NewStreaming(context.Background(), params)
	var acc anthropic.Message
	for stream.Next() {
		if err := acc.Accumulate(stream.Current()); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	check("stream", &acc)
}

// llama.cpp's /completion on stories260K gives /v1/completions' greedy
// text, whole and streamed, with its token counts.
func TestServeLlamaCppAPI(t *testing.T) {
	base := startServe(t)
	var cmpl struct {
		Choices []struct{ Text string } `json:"choices"`
		Usage   struct {
			PromptTokens     int `json:"prompt_tokens"`
			CompletionTokens int `json:"completion_tokens"`
		} `json:"usage"`
	}
	if err := json.Unmarshal(postOK(t, base+"/v1/completions", `{"prompt": "Once upon a time", "max_tokens": 40, "temperature": 0}`), &cmpl); err != nil {
		t.Fatal(err)
	}
	var r struct {
		Content         string `json:"content"`
		TokensPredicted int    `json:"tokens_predicted"`
		TokensEvaluated int    `json:"tokens_evaluated"`
		StopType        string `json:"stop_type"`
	}
	if err := json.Unmarshal(postOK(t, base+"/completion", `{"prompt": "Once upon a time", "n_predict": 40, "temperature": 0}`), &r); err != nil {
		t.Fatal(err)
	}
	if r.Content != cmpl.Choices[0].Text || r.TokensPredicted != cmpl.Usage.CompletionTokens || r.TokensEvaluated != cmpl.Usage.PromptTokens || r.StopType != "limit" {
		t.Errorf("/completion %+v, want %q (%+v)", r, cmpl.Choices[0].Text, cmpl.Usage)
	}
	var text strings.Builder
	for line := range strings.SplitSeq(string(postOK(t, base+"/completion", `{"prompt": "Once upon a time", "n_predict": 40, "temperature": 0, "stream": true}`)), "\n") {
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			continue
		}
		var piece struct{ Content string }
		if err := json.Unmarshal([]byte(data), &piece); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		text.WriteString(piece.Content)
	}
	if text.String() != cmpl.Choices[0].Text {
		t.Errorf("streamed %q, want %q", text.String(), cmpl.Choices[0].Text)
	}
	// n_indent 1: the greedy story's second line starts unindented, so the
	// reply ends with the first line's newline.
	if err := json.Unmarshal(postOK(t, base+"/completion", `{"prompt": "Once upon a time", "n_predict": 100, "temperature": 0, "n_indent": 1}`), &r); err != nil {
		t.Fatal(err)
	}
	rest := strings.TrimPrefix(storiesGreedy, "Once upon a time")
	if want := rest[:strings.Index(rest, "\n")+1]; r.Content != want || r.StopType != "limit" {
		t.Errorf("n_indent 1: %q (%s), want %q", r.Content, r.StopType, want)
	}
}

// --reasoning-budget on stories260K with a template that opens the
// thinking: the model never closes it itself, so without a budget the
// whole reply is thinking; with one, </think> is forced after that many
// tokens and the rest of the reply is the answer. A request's
// thinking_budget_tokens wins.
func TestServeReasoningBudget(t *testing.T) {
	tmpl := filepath.Join(t.TempDir(), "think.jinja")
	if err := os.WriteFile(tmpl, []byte("{% for m in messages %}{{ m.content }}\n{% endfor %}<think>\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	base := startServe(t, "--chat-template-file", tmpl, "--reasoning-parser", "think", "--reasoning-budget", "6")
	type reply struct {
		Choices []struct {
			Message struct {
				Content          *string `json:"content"`
				ReasoningContent *string `json:"reasoning_content"`
			} `json:"message"`
		} `json:"choices"`
		Usage struct {
			CompletionTokens int `json:"completion_tokens"`
		} `json:"usage"`
	}
	ask := func(extra string) (reasoning, content string, n int) {
		t.Helper()
		var r reply
		if err := json.Unmarshal(postOK(t, base+"/v1/chat/completions", `{"messages": [{"role": "user", "content": "Once upon a time"}], "max_tokens": 40, "temperature": 0`+extra+`}`), &r); err != nil {
			t.Fatal(err)
		}
		m := r.Choices[0].Message
		if m.ReasoningContent != nil {
			reasoning = *m.ReasoningContent
		}
		if m.Content != nil {
			content = *m.Content
		}
		return reasoning, content, r.Usage.CompletionTokens
	}
	free, freeContent, _ := ask(`, "thinking_budget_tokens": -1`)
	if free == "" || strings.TrimSpace(freeContent) != "" {
		t.Fatalf("without a budget: reasoning %q, content %q", free, freeContent)
	}
	for _, tc := range []struct {
		extra string
		think int
	}{{"", 6}, {`, "thinking_budget_tokens": 3`, 3}} {
		reasoning, content, n := ask(tc.extra)
		if reasoning == "" || strings.TrimSpace(content) == "" || !strings.HasPrefix(free, strings.TrimSpace(reasoning)) || n != 40 {
			t.Errorf("budget %d: reasoning %q, content %q, %d tokens (unbounded thinking %q)", tc.think, reasoning, content, n, free)
		}
		if len(reasoning) >= len(free) {
			t.Errorf("budget %d: the thinking was not cut: %q", tc.think, reasoning)
		}
	}
}

// llama-server's GET /slots on stories260K: -np slots, idle before and
// (within a step) after a request, with the context and the defaults
// /props reports; --no-slots closes it.
func TestServeSlots(t *testing.T) {
	base := startServe(t, "-np", "3", "--temp", "0.25")
	type slot struct {
		ID           int  `json:"id"`
		NCtx         int  `json:"n_ctx"`
		IsProcessing bool `json:"is_processing"`
		Params       struct {
			Temperature float64 `json:"temperature"`
		} `json:"params"`
	}
	slots := func() []slot {
		t.Helper()
		var s []slot
		if err := json.Unmarshal(getOK(t, base+"/slots"), &s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	var props struct {
		Default struct {
			NCtx int `json:"n_ctx"`
		} `json:"default_generation_settings"`
	}
	if err := json.Unmarshal(getOK(t, base+"/props"), &props); err != nil {
		t.Fatal(err)
	}
	got := slots()
	if len(got) != 3 {
		t.Fatalf("-np 3: %d slots", len(got))
	}
	for i, s := range got {
		if s.ID != i || s.IsProcessing || s.NCtx != props.Default.NCtx || s.Params.Temperature != 0.25 {
			t.Errorf("slot %d before any request: %+v (n_ctx %d, --temp 0.25)", i, s, props.Default.NCtx)
		}
	}
	postOK(t, base+"/completion", `{"prompt": "Once upon a time", "n_predict": 20}`)
	deadline := time.Now().Add(5 * time.Second)
	for busy := true; busy; {
		busy = false
		for _, s := range slots() {
			busy = busy || s.IsProcessing
		}
		if busy && time.Now().After(deadline) {
			t.Fatal("a slot still processing 5 s after the only request ended")
		}
	}
	closed := startServe(t, "--no-slots")
	resp, err := http.Get(closed + "/slots")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("--no-slots: GET /slots status %d, want 404", resp.StatusCode)
	}
}
