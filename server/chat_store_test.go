package server

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openai/openai-go"
	"github.com/openai/openai-go/option"
	"github.com/openai/openai-go/shared"
)

// OpenAI's stored chat completions through OpenAI's Go SDK: a request
// with store true (streamed or not) is kept as answered, with its
// metadata and messages; it is read, listed by model and metadata,
// updated and deleted. Without store nothing is kept.
func TestStoredChatCompletions(t *testing.T) {
	ts := newTestServer(t, Config{}, "반가워요.")
	client := openai.NewClient(option.WithBaseURL(ts.url+"/v1"), option.WithAPIKey("unused"), option.WithMaxRetries(0))
	ctx := context.Background()
	params := func(store bool, tag string) openai.ChatCompletionNewParams {
		p := openai.ChatCompletionNewParams{Model: "fake-model", Messages: []openai.ChatCompletionMessageParamUnion{
			openai.SystemMessage("짧게"), openai.UserMessage("안녕"),
		}}
		if store {
			p.Store, p.Metadata = openai.Bool(true), shared.Metadata{"run": tag}
		}
		return p
	}
	first, err := client.Chat.Completions.New(ctx, params(true, "a"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := client.Chat.Completions.Get(ctx, first.ID)
	if err != nil || got.Choices[0].Message.Content != "반가워요." || got.ID != first.ID {
		t.Fatalf("get: %+v, %v", got, err)
	}
	if !strings.Contains(got.RawJSON(), `"metadata":{"run":"a"}`) {
		t.Errorf("stored without its metadata: %s", got.RawJSON())
	}
	// Streamed: kept as the whole completion it came to.
	stream := client.Chat.Completions.NewStreaming(ctx, params(true, "b"))
	var id string
	for stream.Next() {
		id = stream.Current().ID
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if got, err := client.Chat.Completions.Get(ctx, id); err != nil || got.Choices[0].Message.Content != "반가워요." || got.Object != "chat.completion" {
		t.Errorf("a streamed completion kept as %+v, %v", got, err)
	}
	plain, err := client.Chat.Completions.New(ctx, params(false, ""))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Chat.Completions.Get(ctx, plain.ID); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("a completion without store was kept: %v", err)
	}
	page, err := client.Chat.Completions.List(ctx, openai.ChatCompletionListParams{Metadata: shared.Metadata{"run": "b"}})
	if err != nil || len(page.Data) != 1 || page.Data[0].ID != id {
		t.Errorf("list by metadata: %+v, %v", page, err)
	}
	all, err := client.Chat.Completions.List(ctx, openai.ChatCompletionListParams{Model: openai.String("fake-model")})
	if err != nil || len(all.Data) != 2 || all.Data[0].ID != first.ID {
		t.Errorf("list by model, oldest first: %+v, %v", all, err)
	}
	msgs, err := client.Chat.Completions.Messages.List(ctx, first.ID, openai.ChatCompletionMessageListParams{})
	if err != nil || len(msgs.Data) != 2 || msgs.Data[0].Content != "짧게" || msgs.Data[1].Content != "안녕" || msgs.Data[1].ID != first.ID+"-1" {
		t.Errorf("messages: %+v, %v", msgs, err)
	}
	up, err := client.Chat.Completions.Update(ctx, first.ID, openai.ChatCompletionUpdateParams{Metadata: shared.Metadata{"run": "c"}})
	if err != nil || !strings.Contains(up.RawJSON(), `"metadata":{"run":"c"}`) {
		t.Errorf("update: %v, %v", up, err)
	}
	if d, err := client.Chat.Completions.Delete(ctx, first.ID); err != nil || !d.Deleted {
		t.Errorf("delete: %+v, %v", d, err)
	}
	if _, err := client.Chat.Completions.Get(ctx, first.ID); err == nil {
		t.Error("a deleted completion is still there")
	}
	none := newTestServer(t, Config{StoredResponses: -1}, "x")
	if status, _, raw := none.do("POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}],"store":true}`); status != 400 || !strings.Contains(string(raw), `"param":"store"`) {
		t.Errorf("store without a store: %d %s", status, raw)
	}
}

// Stored chat completions kept in the responses folder come back in a
// new server over it.
func TestStoredChatCompletionsFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "responses")
	first := newTestServer(t, Config{StoredResponsesDir: dir}, "네.")
	status, _, raw := first.do("POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"기억"}],"store":true}`)
	if status != 200 {
		t.Fatalf("%d %s", status, raw)
	}
	id := itemID(raw)
	second := newTestServer(t, Config{StoredResponsesDir: dir}, "네.")
	if status, _, got := second.do("GET", "/v1/chat/completions/"+id, ""); status != 200 || !strings.Contains(string(got), `"content":"네."`) {
		t.Errorf("after a restart: %d %s", status, got)
	}
}
