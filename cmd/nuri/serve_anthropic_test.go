package main

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"
)

// Anthropic's Messages API on stories260K through Anthropic's official
// SDK gives the chat route's greedy text, whole and streamed, under a
// second served name; the stop reason and usage say what the OpenAI
// reply's finish reason and usage say.
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
		if len(m.Content) != 1 || m.Content[0].Text != want.Message.Content || m.StopReason != wantReason || m.Model != "stories" {
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
