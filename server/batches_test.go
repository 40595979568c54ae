package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go"
	"github.com/openai/openai-go/option"
)

// batchFile is a batch input of n chat requests, the last one refused by
// the route (max_tokens -1).
func batchFile(n int) string {
	var b strings.Builder
	for i := range n {
		maxTokens := "8"
		if i == n-1 {
			maxTokens = "-1"
		}
		b.WriteString(`{"custom_id":"r` + string(rune('a'+i)) + `","method":"POST","url":"/v1/chat/completions","body":{"messages":[{"role":"user","content":"안녕"}],"max_tokens":` + maxTokens + `}}` + "\n")
	}
	return b.String()
}

// waitBatch polls a batch until it leaves the running states.
func waitBatch(t *testing.T, client openai.Client, id string) *openai.Batch {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := client.Batches.Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		switch b.Status {
		case "completed", "failed", "cancelled", "expired":
			return b
		}
		if time.Now().After(deadline) {
			t.Fatalf("batch still %s after 10 s", b.Status)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// OpenAI's Files and Batch APIs through OpenAI's Go SDK: a file uploaded
// for a batch runs through the routes; the 200 replies land in the output
// file and the rest in the error file, with counts and usage.
func TestBatchesAPI(t *testing.T) {
	// With API keys: the batch's own requests are let in.
	ts := newTestServer(t, Config{APIKeys: []string{"sk-a", "sk-b"}}, "네")
	client := openai.NewClient(option.WithBaseURL(ts.url+"/v1"), option.WithAPIKey("sk-b"), option.WithMaxRetries(0))
	ctx := context.Background()
	f, err := client.Files.New(ctx, openai.FileNewParams{File: openai.File(strings.NewReader(batchFile(4)), "in.jsonl", "application/jsonl"), Purpose: openai.FilePurposeBatch})
	if err != nil {
		t.Fatal(err)
	}
	if f.Filename != "in.jsonl" || f.Purpose != "batch" || f.Bytes != int64(len(batchFile(4))) || !strings.HasPrefix(f.ID, "file-") {
		t.Fatalf("uploaded %+v", f)
	}
	b, err := client.Batches.New(ctx, openai.BatchNewParams{InputFileID: f.ID, Endpoint: openai.BatchNewParamsEndpointV1ChatCompletions,
		CompletionWindow: openai.BatchNewParamsCompletionWindow24h, Metadata: map[string]string{"job": "test"}})
	if err != nil {
		t.Fatal(err)
	}
	b = waitBatch(t, client, b.ID)
	if b.Status != "completed" || b.RequestCounts.Total != 4 || b.RequestCounts.Completed != 3 || b.RequestCounts.Failed != 1 ||
		b.OutputFileID == "" || b.ErrorFileID == "" || b.CompletedAt == 0 || b.Metadata["job"] != "test" {
		t.Fatalf("batch %+v", b)
	}
	// The SDK's Batch has no usage yet: read it from the object.
	_, _, raw := ts.do("GET", "/v1/batches/"+b.ID, "", "Authorization", "Bearer sk-a")
	var withUsage struct{ Usage responseUsage }
	if err := json.Unmarshal(raw, &withUsage); err != nil {
		t.Fatal(err)
	}
	if u := withUsage.Usage; u.OutputTokens != 3*len("네") || u.InputTokens == 0 || u.TotalTokens != u.InputTokens+u.OutputTokens {
		t.Errorf("usage %+v", u)
	}
	read := func(id string) []BatchOutput {
		t.Helper()
		resp, err := client.Files.Content(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		var outs []BatchOutput
		for line := range bytes.Lines(data) {
			var o BatchOutput
			if err := json.Unmarshal(line, &o); err != nil {
				t.Fatalf("%v: %s", err, line)
			}
			outs = append(outs, o)
		}
		return outs
	}
	outs := read(b.OutputFileID)
	if len(outs) != 3 || outs[0].CustomID != "ra" || outs[2].CustomID != "rc" || outs[0].Response.StatusCode != 200 ||
		!strings.Contains(string(outs[1].Response.Body), `"content":"네"`) {
		t.Errorf("output file %+v", outs)
	}
	if errs := read(b.ErrorFileID); len(errs) != 1 || errs[0].CustomID != "rd" || errs[0].Response.StatusCode != 400 {
		t.Errorf("error file %+v", errs)
	}
	out, err := client.Files.Get(ctx, b.OutputFileID)
	if err != nil || out.Purpose != "batch_output" {
		t.Errorf("output file object %+v, %v", out, err)
	}
	page, err := client.Files.List(ctx, openai.FileListParams{Purpose: openai.String("batch")})
	if err != nil || len(page.Data) != 1 || page.Data[0].ID != f.ID {
		t.Errorf("files of purpose batch: %+v, %v", page, err)
	}
	batches, err := client.Batches.List(ctx, openai.BatchListParams{})
	if err != nil || len(batches.Data) != 1 || batches.Data[0].ID != b.ID {
		t.Errorf("batches: %+v, %v", batches, err)
	}
	if d, err := client.Files.Delete(ctx, f.ID); err != nil || !d.Deleted {
		t.Errorf("delete: %+v, %v", d, err)
	}
	if _, err := client.Files.Get(ctx, f.ID); err == nil {
		t.Error("a deleted file is still there")
	}
}

// A batch whose file has a bad line fails validation, naming the line,
// before any request runs; creation checks its own fields.
func TestBatchesRefused(t *testing.T) {
	ts := newTestServer(t, Config{}, "네")
	client := openai.NewClient(option.WithBaseURL(ts.url+"/v1"), option.WithAPIKey("unused"), option.WithMaxRetries(0))
	ctx := context.Background()
	upload := func(content, purpose string) string {
		t.Helper()
		f, err := client.Files.New(ctx, openai.FileNewParams{File: openai.File(strings.NewReader(content), "in.jsonl", "application/jsonl"), Purpose: openai.FilePurpose(purpose)})
		if err != nil {
			t.Fatal(err)
		}
		return f.ID
	}
	for _, tc := range []struct{ name, content, code string }{
		{"bad json", batchFile(2) + "{\n", "invalid_json"},
		{"another endpoint", `{"custom_id":"x","method":"POST","url":"/v1/completions","body":{"prompt":"a"}}`, "mismatched_endpoint"},
		{"duplicate ids", strings.Repeat(`{"custom_id":"x","method":"POST","url":"/v1/chat/completions","body":{"messages":[]}}`+"\n", 2), "duplicate_custom_id"},
		{"empty", "\n\n", "empty_file"},
	} {
		b, err := client.Batches.New(ctx, openai.BatchNewParams{InputFileID: upload(tc.content, "batch"), Endpoint: openai.BatchNewParamsEndpointV1ChatCompletions,
			CompletionWindow: openai.BatchNewParamsCompletionWindow24h})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		b = waitBatch(t, client, b.ID)
		if b.Status != "failed" || len(b.Errors.Data) == 0 || b.Errors.Data[0].Code != tc.code || b.FailedAt == 0 {
			t.Errorf("%s: %+v", tc.name, b)
		}
	}
	if n := len(ts.eng.lastRequests()); n != 0 {
		t.Errorf("%d requests ran from batches that failed validation", n)
	}
	userData := upload(batchFile(1), "user_data")
	for _, body := range []string{
		`{"input_file_id":"file-none","endpoint":"/v1/chat/completions","completion_window":"24h"}`,
		`{"input_file_id":"` + userData + `","endpoint":"/v1/chat/completions","completion_window":"24h"}`,
		`{"input_file_id":"` + userData + `","endpoint":"/v1/moderations","completion_window":"24h"}`,
		`{"input_file_id":"` + userData + `","endpoint":"/v1/chat/completions","completion_window":"1h"}`,
	} {
		if status, _, raw := ts.do("POST", "/v1/batches", body); status < 400 || !strings.Contains(string(raw), `"param"`) {
			t.Errorf("%s: %d %s", body, status, raw)
		}
	}
	if status, _, raw := ts.do("POST", "/v1/files", `{"purpose":"batch"}`); status != 400 {
		t.Errorf("a JSON upload: %d %s", status, raw)
	}
	none := newTestServer(t, Config{FilesBytes: -1}, "x")
	if status, _, raw := none.do("GET", "/v1/files", ""); status != 400 || !strings.Contains(string(raw), "--files-store-mib 0") {
		t.Errorf("without files: %d %s", status, raw)
	}
	small := newTestServer(t, Config{FilesBytes: 100}, "x")
	sc := openai.NewClient(option.WithBaseURL(small.url+"/v1"), option.WithAPIKey("unused"), option.WithMaxRetries(0))
	if _, err := sc.Files.New(ctx, openai.FileNewParams{File: openai.File(strings.NewReader(batchFile(3)), "in.jsonl", "application/jsonl"), Purpose: openai.FilePurposeBatch}); err == nil || !strings.Contains(err.Error(), "413") {
		t.Errorf("a file over the store's bytes: %v", err)
	}
}

// A cancelled batch runs no more lines, lets those in flight finish, and
// keeps their results.
func TestBatchesCancel(t *testing.T) {
	ts := newTestServer(t, Config{}, strings.Repeat("네", 20))
	ts.eng.delay = 5 * time.Millisecond // a reply takes 100 ms
	client := openai.NewClient(option.WithBaseURL(ts.url+"/v1"), option.WithAPIKey("unused"), option.WithMaxRetries(0))
	ctx := context.Background()
	var lines strings.Builder
	for i := range 40 {
		lines.WriteString(`{"custom_id":"c` + strconv.Itoa(i) + `","method":"POST","url":"/v1/chat/completions","body":{"messages":[{"role":"user","content":"x"}]}}` + "\n")
	}
	f, err := client.Files.New(ctx, openai.FileNewParams{File: openai.File(strings.NewReader(lines.String()), "in.jsonl", "application/jsonl"), Purpose: openai.FilePurposeBatch})
	if err != nil {
		t.Fatal(err)
	}
	b, err := client.Batches.New(ctx, openai.BatchNewParams{InputFileID: f.ID, Endpoint: openai.BatchNewParamsEndpointV1ChatCompletions, CompletionWindow: openai.BatchNewParamsCompletionWindow24h})
	if err != nil {
		t.Fatal(err)
	}
	// Cancel once a line has finished (the lines run one at a time here,
	// 100 ms each).
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := client.Batches.Get(ctx, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.RequestCounts.Completed > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no line finished in 10 s: %+v", got.RequestCounts)
		}
		time.Sleep(5 * time.Millisecond)
	}
	c, err := client.Batches.Cancel(ctx, b.ID)
	if err != nil || (c.Status != "cancelling" && c.Status != "cancelled") {
		t.Fatalf("cancel: %+v, %v", c, err)
	}
	b = waitBatch(t, client, b.ID)
	done := int(b.RequestCounts.Completed + b.RequestCounts.Failed)
	if b.Status != "cancelled" || b.CancelledAt == 0 || done == 0 || done >= 40 || b.OutputFileID == "" {
		t.Fatalf("cancelled batch %+v", b)
	}
	if n := len(ts.eng.lastRequests()); n != done {
		t.Errorf("%d requests ran, the batch counts %d", n, done)
	}
}
