package server

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"
)

// waitMessageBatch polls a message batch until it has ended.
func waitMessageBatch(t *testing.T, client anthropic.Client, id string) *anthropic.MessageBatch {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		b, err := client.Messages.Batches.Get(context.Background(), id, anthropic.MessageBatchGetParams{})
		if err != nil {
			t.Fatal(err)
		}
		if b.ProcessingStatus == anthropic.MessageBatchProcessingStatusEnded {
			return b
		}
		if time.Now().After(deadline) {
			t.Fatalf("message batch still %s after 10 s", b.ProcessingStatus)
		}
	}
}

// messageBatchReq is a Messages batch request asking for maxTokens.
func messageBatchReq(id string, maxTokens int64) anthropic.MessageBatchNewParamsRequest {
	return anthropic.MessageBatchNewParamsRequest{CustomID: id, Params: anthropic.MessageBatchNewParamsRequestParams{
		Model: "fake-model", MaxTokens: maxTokens,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("안녕"))},
	}}
}

// Anthropic's Message Batches API through Anthropic's Go SDK: a batch
// runs its requests through /v1/messages; its results come back a line a
// request, in order, succeeded or errored; it is listed among message
// batches only, and deleted with its files.
func TestMessageBatches(t *testing.T) {
	ts := newTestServer(t, Config{APIKeys: []string{"sk-1"}}, "네, 좋아요.")
	client := anthropic.NewClient(option.WithBaseURL(ts.url), option.WithAPIKey("sk-1"), option.WithMaxRetries(0))
	ctx := context.Background()
	b, err := client.Messages.Batches.New(ctx, anthropic.MessageBatchNewParams{Requests: []anthropic.MessageBatchNewParamsRequest{
		messageBatchReq("first", 64), messageBatchReq("no-room", 0), messageBatchReq("third", 64),
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.ID, "msgbatch_") || b.Type != "message_batch" || b.ProcessingStatus != anthropic.MessageBatchProcessingStatusInProgress ||
		b.RequestCounts.Processing != 3 || b.ExpiresAt.Sub(b.CreatedAt) != 24*time.Hour {
		t.Fatalf("created %s", b.RawJSON())
	}
	b = waitMessageBatch(t, client, b.ID)
	if c := b.RequestCounts; c.Succeeded != 2 || c.Errored != 1 || c.Processing != 0 || c.Canceled != 0 || c.Expired != 0 ||
		b.EndedAt.IsZero() || !strings.HasSuffix(b.ResultsURL, "/v1/messages/batches/"+b.ID+"/results") {
		t.Fatalf("ended %s", b.RawJSON())
	}
	stream := client.Messages.Batches.ResultsStreaming(ctx, b.ID, anthropic.MessageBatchResultsParams{})
	var got []string
	for stream.Next() {
		r := stream.Current()
		got = append(got, r.CustomID+":"+r.Result.Type)
		switch r.Result.Type {
		case "succeeded":
			if len(r.Result.Message.Content) != 1 || r.Result.Message.Content[0].Text != "네, 좋아요." || r.Result.Message.Role != "assistant" {
				t.Errorf("%s: message %s", r.CustomID, r.Result.Message.RawJSON())
			}
		case "errored":
			if r.Result.Error.Error.Type != "invalid_request_error" || !strings.Contains(r.Result.Error.Error.Message, "max_tokens") {
				t.Errorf("%s: error %s", r.CustomID, r.Result.Error.RawJSON())
			}
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if want := "first:succeeded no-room:errored third:succeeded"; strings.Join(got, " ") != want {
		t.Errorf("results %q, want %q", strings.Join(got, " "), want)
	}

	page, err := client.Messages.Batches.List(ctx, anthropic.MessageBatchListParams{})
	if err != nil || len(page.Data) != 1 || page.Data[0].ID != b.ID {
		t.Errorf("list: %+v, %v", page, err)
	}
	if status, _, body := ts.do("GET", "/v1/batches/"+b.ID, "", "Authorization", "Bearer sk-1"); status != 404 {
		t.Errorf("OpenAI's API shows a message batch: %d %s", status, body)
	}
	if _, _, body := ts.do("GET", "/v1/batches", "", "Authorization", "Bearer sk-1"); strings.Contains(string(body), b.ID) {
		t.Errorf("OpenAI's list shows a message batch: %s", body)
	}
	var files struct {
		Data []fileObject `json:"data"`
	}
	_, _, body := ts.do("GET", "/v1/files", "", "Authorization", "Bearer sk-1")
	if err := json.Unmarshal(body, &files); err != nil || len(files.Data) != 3 { // the requests, the output and the error file
		t.Fatalf("files %s", body)
	}
	d, err := client.Messages.Batches.Delete(ctx, b.ID, anthropic.MessageBatchDeleteParams{})
	if err != nil || d.ID != b.ID || d.Type != "message_batch_deleted" {
		t.Fatalf("delete: %+v, %v", d, err)
	}
	if _, err := client.Messages.Batches.Get(ctx, b.ID, anthropic.MessageBatchGetParams{}); err == nil {
		t.Error("a deleted batch is still there")
	}
	_, _, body = ts.do("GET", "/v1/files", "", "Authorization", "Bearer sk-1")
	if err := json.Unmarshal(body, &files); err != nil || len(files.Data) != 0 {
		t.Errorf("files left after the delete: %s", body)
	}
}

// A message batch cancelled part way ends with its unrun requests
// canceled; a running one cannot be deleted.
func TestMessageBatchCancel(t *testing.T) {
	ts := newTestServer(t, Config{}, strings.Repeat("네", 20))
	ts.eng.delay = 2 * time.Millisecond // 120 ms a request, one at a time
	client := anthropic.NewClient(option.WithBaseURL(ts.url), option.WithAPIKey("unused"), option.WithMaxRetries(0))
	ctx := context.Background()
	var reqs []anthropic.MessageBatchNewParamsRequest
	for i := range 30 {
		reqs = append(reqs, messageBatchReq("r"+strconv.Itoa(i), 100))
	}
	b, err := client.Messages.Batches.New(ctx, anthropic.MessageBatchNewParams{Requests: reqs})
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		got, err := client.Messages.Batches.Get(ctx, b.ID, anthropic.MessageBatchGetParams{})
		if err != nil {
			t.Fatal(err)
		}
		if got.RequestCounts.Succeeded > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no request finished in 10 s")
		}
	}
	if _, err := client.Messages.Batches.Delete(ctx, b.ID, anthropic.MessageBatchDeleteParams{}); err == nil || !strings.Contains(err.Error(), "cancel it") {
		t.Errorf("delete of a running batch: %v", err)
	}
	c, err := client.Messages.Batches.Cancel(ctx, b.ID, anthropic.MessageBatchCancelParams{})
	if err != nil || (c.ProcessingStatus != anthropic.MessageBatchProcessingStatusCanceling && c.ProcessingStatus != anthropic.MessageBatchProcessingStatusEnded) ||
		c.CancelInitiatedAt.IsZero() {
		t.Fatalf("cancel: %v, %v", c, err)
	}
	b = waitMessageBatch(t, client, b.ID)
	n := b.RequestCounts
	if n.Canceled == 0 || n.Succeeded == 0 || n.Succeeded+n.Canceled != 30 {
		t.Fatalf("cancelled batch counts %+v", n)
	}
	stream := client.Messages.Batches.ResultsStreaming(ctx, b.ID, anthropic.MessageBatchResultsParams{})
	counts := map[string]int64{}
	for stream.Next() {
		counts[stream.Current().Result.Type]++
	}
	if stream.Err() != nil || counts["succeeded"] != n.Succeeded || counts["canceled"] != n.Canceled {
		t.Errorf("results %v (%v), counts %+v", counts, stream.Err(), n)
	}
}

// A message batch's requests are checked before it is made, and refused
// in Anthropic's error shape.
func TestMessageBatchesRefused(t *testing.T) {
	ts := newTestServer(t, Config{}, "x")
	params := `{"max_tokens":5,"messages":[{"role":"user","content":"x"}]}`
	for _, tc := range []struct{ body, want string }{
		{`{"requests":[]}`, "1 to 100000 requests"},
		{`{"requests":[{"custom_id":"a b","params":` + params + `}]}`, "requests[0].custom_id"},
		{`{"requests":[{"custom_id":"` + strings.Repeat("a", 65) + `","params":` + params + `}]}`, "1 to 64"},
		{`{"requests":[{"custom_id":"a","params":` + params + `},{"custom_id":"a","params":` + params + `}]}`, "requests[0]'s too"},
		{`{"requests":[{"custom_id":"a","params":"x"}]}`, "requests[0].params"},
		{`{"requests":[{"custom_id":"a","params":{"stream":true,"max_tokens":5,"messages":[]}}]}`, "not streamed"},
	} {
		status, _, body := ts.do("POST", "/v1/messages/batches", tc.body)
		var e anthropicErrorBody
		if err := json.Unmarshal(body, &e); err != nil || status != 400 || e.Type != "error" || e.Error.Type != "invalid_request_error" ||
			!strings.Contains(string(body), tc.want) {
			t.Errorf("%s: %d %s, want 400 naming %q", tc.body, status, body, tc.want)
		}
	}
	if status, _, body := ts.do("GET", "/v1/messages/batches/msgbatch_nope", ""); status != 404 || !strings.Contains(string(body), "not_found_error") {
		t.Errorf("unknown batch: %d %s", status, body)
	}
	if n := len(ts.eng.lastRequests()); n != 0 {
		t.Errorf("%d requests ran from refused batches", n)
	}
}
