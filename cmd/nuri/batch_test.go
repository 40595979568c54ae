package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go"
	"github.com/openai/openai-go/option"

	"github.com/nuri-ai/nuri/internal/testshared"
	"github.com/nuri-ai/nuri/server"
)

// batchLines is a batch input whose lines run well, fail at the server,
// or are refused before it, with a blank line among them.
var batchLines = []string{
	`{"custom_id": "chat", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "stories260K", "messages": [{"role": "user", "content": "Once upon a time"}], "max_tokens": 24, "temperature": 0}}`,
	`{"custom_id": "cmpl", "method": "POST", "url": "/v1/completions", "body": {"prompt": "Lily went to", "max_tokens": 24, "temperature": 0, "n": 2}}`,
	``,
	`{"custom_id": "resp", "method": "POST", "url": "/v1/responses", "body": {"input": "Tom had a dog", "max_output_tokens": 16, "temperature": 0}}`,
	`{"custom_id": "msg", "method": "POST", "url": "/v1/messages", "body": {"model": "stories260K", "max_tokens": 16, "messages": [{"role": "user", "content": "Once upon a time"}], "temperature": 0}}`,
	`{"custom_id": "other-model", "method": "POST", "url": "/v1/completions", "body": {"model": "gpt-4o", "prompt": "x"}}`,
	`{"custom_id": "get", "method": "GET", "url": "/v1/completions", "body": {}}`,
	`{"custom_id": "stream", "method": "POST", "url": "/v1/completions", "body": {"prompt": "x", "stream": true}}`,
	`{"custom_id": "route", "method": "POST", "url": "/v1/models", "body": {}}`,
	`not json`,
	`{"custom_id": "chat", "method": "POST", "url": "/v1/completions", "body": {"prompt": "y"}}`,
	`{"custom_id": "cmpl2", "method": "POST", "url": "/v1/completions", "body": {"prompt": "The sun", "max_tokens": 24, "temperature": 0}}`,
}

// runBatchCmd runs nuri batch in process and returns its exit code and
// standard error.
func runBatchCmd(t *testing.T, args ...string) (int, string) {
	t.Helper()
	modelPath := testshared.Path(t, "models", "stories260K.gguf")
	var stdout, stderr bytes.Buffer
	code := realMain(append([]string{"batch", "--model", modelPath, "--threads", "2"}, args...), &stdout, &stderr)
	return code, stderr.String()
}

// readBatchOutput parses an output file's lines.
func readBatchOutput(t *testing.T, path string) []server.BatchOutput {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var outs []server.BatchOutput
	for line := range bytes.Lines(data) {
		var o server.BatchOutput
		if err := json.Unmarshal(line, &o); err != nil {
			t.Fatalf("output line %q: %v", line, err)
		}
		outs = append(outs, o)
	}
	return outs
}

// Every line gets a result line, in the input's order: a request the
// server ran carries its status and exactly the body a client of nuri
// serve gets for it (greedy replies compared), a line refused before the
// server says why; an interrupted run's output continues with --resume.
func TestBatch(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	if err := os.WriteFile(in, []byte(strings.Join(batchLines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.jsonl")
	// serve's API key from the environment does not lock batch out.
	t.Setenv("NURI_API_KEY", "k")
	code, stderr := runBatchCmd(t, "-i", in, "-o", out, "--concurrency", "3")
	os.Unsetenv("NURI_API_KEY")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "11 lines written to out.jsonl") || !strings.Contains(stderr, "(6 failed)") {
		t.Errorf("summary: %s", stderr)
	}
	outs := readBatchOutput(t, out)
	want := []struct {
		id     string
		status int    // 0: refused before the server
		code   string // the refusal's code
	}{
		{"chat", 200, ""}, {"cmpl", 200, ""}, {"resp", 200, ""}, {"msg", 200, ""}, {"other-model", 404, ""},
		{"get", 0, "invalid_method"}, {"stream", 0, "invalid_body"}, {"route", 0, "invalid_url"},
		{"", 0, "invalid_json"}, {"chat", 0, "duplicate_custom_id"}, {"cmpl2", 200, ""},
	}
	if len(outs) != len(want) {
		t.Fatalf("%d output lines, want %d", len(outs), len(want))
	}
	ids := map[string]bool{}
	for i, w := range want {
		o := outs[i]
		if o.CustomID != w.id || !strings.HasPrefix(o.ID, "batch_req_") || ids[o.ID] {
			t.Errorf("line %d: custom_id %q id %q, want custom_id %q and a new id", i, o.CustomID, o.ID, w.id)
		}
		ids[o.ID] = true
		switch {
		case w.status == 0 && (o.Response != nil || o.Error == nil || o.Error.Code != w.code):
			t.Errorf("line %d (%s): response %+v error %+v, want error %s", i, w.id, o.Response, o.Error, w.code)
		case w.status != 0 && (o.Error != nil || o.Response == nil || o.Response.StatusCode != w.status || o.Response.RequestID == ""):
			t.Errorf("line %d (%s): response %+v error %+v, want status %d", i, w.id, o.Response, o.Error, w.status)
		}
	}
	if msg := outs[9].Error.Message; !strings.Contains(msg, "line 11") || !strings.Contains(msg, "line 1's") {
		t.Errorf("the duplicate's message names the file's lines: %q", msg)
	}

	// The same requests from a client of nuri serve.
	base := startServe(t)
	replyText := func(body json.RawMessage) string {
		t.Helper()
		var r struct {
			Choices []struct {
				Text    string `json:"text"`
				Message struct {
					Content string `json:"content"`
				} `json:"message"`
			} `json:"choices"`
			Output []struct {
				Content []struct {
					Text string `json:"text"`
				} `json:"content"`
			} `json:"output"`
			Content []struct { // Anthropic's message
				Text string `json:"text"`
			} `json:"content"`
		}
		if err := json.Unmarshal(body, &r); err != nil {
			t.Fatalf("reply %s: %v", body, err)
		}
		var s []string
		for _, c := range r.Choices {
			s = append(s, c.Text+c.Message.Content)
		}
		for _, o := range r.Output {
			for _, c := range o.Content {
				s = append(s, c.Text)
			}
		}
		for _, c := range r.Content {
			s = append(s, c.Text)
		}
		return strings.Join(s, "|")
	}
	served := map[string]string{"chat": "/v1/chat/completions", "cmpl": "/v1/completions", "resp": "/v1/responses", "msg": "/v1/messages",
		"cmpl2": "/v1/completions"}
	compared := 0
	for _, line := range batchLines {
		var bi server.BatchInput
		if json.Unmarshal([]byte(line), &bi) != nil || served[bi.CustomID] != bi.URL {
			continue
		}
		compared++
		resp, err := http.Post(base+bi.URL, "application/json", bytes.NewReader(bi.Body))
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		var got json.RawMessage
		for _, o := range outs {
			if o.CustomID == bi.CustomID && o.Response != nil {
				got = o.Response.Body
			}
		}
		if g, w := replyText(got), replyText(body); g != w || g == "" {
			t.Errorf("%s: batch reply %q, served reply %q", bi.CustomID, g, w)
		}
	}
	if compared != len(served) {
		t.Fatalf("compared %d replies, want %d", compared, len(served))
	}

	// A run killed while writing its third line, resumed.
	full, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	cut := bytes.SplitAfterN(full, []byte("\n"), 3)
	partial := append(append(append([]byte{}, cut[0]...), cut[1]...), cut[2][:10]...)
	resumed := filepath.Join(dir, "resumed.jsonl")
	if err := os.WriteFile(resumed, partial, 0o644); err != nil {
		t.Fatal(err)
	}
	code, stderr = runBatchCmd(t, "-i", in, "-o", resumed, "--resume")
	if code != 0 || !strings.Contains(stderr, "resuming after line 2 of 11") {
		t.Fatalf("resume: exit %d: %s", code, stderr)
	}
	again := readBatchOutput(t, resumed)
	if len(again) != len(outs) {
		t.Fatalf("resumed output has %d lines, want %d", len(again), len(outs))
	}
	for i := range outs {
		if again[i].CustomID != outs[i].CustomID || (i < 2) != (again[i].ID == outs[i].ID) {
			t.Errorf("resumed line %d: %s %s, first run %s %s", i, again[i].CustomID, again[i].ID, outs[i].CustomID, outs[i].ID)
		}
		if outs[i].Response != nil && outs[i].Response.StatusCode == 200 && replyText(again[i].Response.Body) != replyText(outs[i].Response.Body) {
			t.Errorf("resumed line %d: another reply", i)
		}
	}
	if code, stderr := runBatchCmd(t, "-i", in, "-o", resumed, "--resume"); code != 0 || !strings.Contains(stderr, "are in") {
		t.Errorf("a finished output resumed: exit %d: %s", code, stderr)
	}

	// An output of another input is not continued; bad flags are usage errors.
	other := filepath.Join(dir, "other.jsonl")
	if err := os.WriteFile(other, []byte(batchLines[3]+"\n"+batchLines[0]+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, stderr := runBatchCmd(t, "-i", other, "-o", resumed, "--resume"); code != 1 || !strings.Contains(stderr, "another input's") {
		t.Errorf("another input's output: exit %d: %s", code, stderr)
	}
	for _, args := range [][]string{{"-i", in}, {"-i", in, "-o", in}, {"-i", in, "-o", out, "--concurrency", "-1"}} {
		if code, stderr := runBatchCmd(t, args...); code != 2 {
			t.Errorf("%v: exit %d: %s", args, code, stderr)
		}
	}
}

// OpenAI's Batch API on stories260K through OpenAI's Go SDK: a batch of
// greedy chat requests gives, line for line, the text /v1/chat/completions
// gives; with --files-store-dir a second server finds the batch and its
// files; --files-store-mib 0 closes the Files API.
func TestServeBatchesAPI(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "files")
	base := startServe(t, "--files-store-dir", dir)
	client := openai.NewClient(option.WithBaseURL(base+"/v1"), option.WithAPIKey("unused"), option.WithMaxRetries(0))
	ctx := context.Background()
	prompts := []string{"Once upon a time", "One day, Lily", "The cat"}
	var in strings.Builder
	for i, p := range prompts {
		fmt.Fprintf(&in, `{"custom_id":"p%d","method":"POST","url":"/v1/chat/completions","body":{"messages":[{"role":"user","content":%q}],"max_tokens":16,"temperature":0}}`+"\n", i, p)
	}
	f, err := client.Files.New(ctx, openai.FileNewParams{File: openai.File(strings.NewReader(in.String()), "stories.jsonl", "application/jsonl"), Purpose: openai.FilePurposeBatch})
	if err != nil {
		t.Fatal(err)
	}
	b, err := client.Batches.New(ctx, openai.BatchNewParams{InputFileID: f.ID, Endpoint: openai.BatchNewParamsEndpointV1ChatCompletions, CompletionWindow: openai.BatchNewParamsCompletionWindow24h})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for b.Status != "completed" {
		if b.Status == "failed" || b.Status == "cancelled" || time.Now().After(deadline) {
			t.Fatalf("batch %s: %+v", b.Status, b.Errors)
		}
		time.Sleep(20 * time.Millisecond)
		if b, err = client.Batches.Get(ctx, b.ID); err != nil {
			t.Fatal(err)
		}
	}
	if b.RequestCounts.Completed != 3 || b.ErrorFileID != "" {
		t.Fatalf("counts %+v, error file %q", b.RequestCounts, b.ErrorFileID)
	}
	resp, err := client.Files.Content(ctx, b.OutputFileID)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d output lines: %s", len(lines), data)
	}
	for i, line := range lines {
		var o server.BatchOutput
		var reply openai.ChatCompletion
		if err := json.Unmarshal([]byte(line), &o); err != nil || o.CustomID != fmt.Sprintf("p%d", i) || json.Unmarshal(o.Response.Body, &reply) != nil {
			t.Fatalf("line %d: %v %s", i, err, line)
		}
		want, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "stories260K", MaxTokens: openai.Int(16), Temperature: openai.Float(0),
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(prompts[i])}})
		if err != nil {
			t.Fatal(err)
		}
		if reply.Choices[0].Message.Content != want.Choices[0].Message.Content {
			t.Errorf("line %d: %q, the route gives %q", i, reply.Choices[0].Message.Content, want.Choices[0].Message.Content)
		}
	}
	second := openai.NewClient(option.WithBaseURL(startServe(t, "--files-store-dir", dir)+"/v1"), option.WithAPIKey("unused"), option.WithMaxRetries(0))
	kept, err := second.Batches.Get(ctx, b.ID)
	if err != nil || kept.Status != "completed" || kept.OutputFileID != b.OutputFileID {
		t.Fatalf("the batch from another server over the folder: %+v, %v", kept, err)
	}
	resp, err = second.Files.Content(ctx, b.OutputFileID)
	if err != nil {
		t.Fatal(err)
	}
	again, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || string(again) != string(data) {
		t.Errorf("the output file from another server over the folder: %d bytes (%v), %d written", len(again), err, len(data))
	}
	off := startServe(t, "--files-store-mib", "0")
	resp2, err := http.Get(off + "/v1/files")
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode != http.StatusBadRequest {
		t.Errorf("--files-store-mib 0: GET /v1/files status %d", resp2.StatusCode)
	}
}
