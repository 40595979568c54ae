package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/openai/openai-go"
	"github.com/openai/openai-go/option"
	"github.com/openai/openai-go/responses"
	"github.com/openai/openai-go/shared"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/nuri-ai/nuri/internal/testgguf"
	"github.com/nuri-ai/nuri/internal/testshared"
)

// stories260K's greedy continuation of "Once upon a time", as llama.cpp
// and llama2.c print it (../shared/models/README.md).
const storiesGreedy = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball. She wanted to play with it, but it was too high.\nLily's mom said, \"Lily, let's go to the park.\" Lily was sad and didn't know what to do. She said, \"I want to play with your ball, but I can't find it.\""

// startServe runs the same wiring as `nuri serve` in this process on a
// loopback port and returns the base URL (without /v1).
func startServe(t *testing.T, extra ...string) string {
	t.Helper()
	modelPath := testshared.Path(t, "models", "stories260K.gguf")
	args := append([]string{"--model", modelPath, "--addr", "127.0.0.1:0", "--threads", "2", "--log-level", "warn"}, extra...)
	var stderr bytes.Buffer
	c, err := parseServe(args, &stderr)
	if err != nil {
		t.Fatalf("parse: %v: %s", err, stderr.String())
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	var out bytes.Buffer
	go func() { done <- serveModel(ctx, c, zap.NewNop(), &out, ready) }()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("serve ended before ready: %v", err)
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatal("server not ready after 60 s")
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve returned %v", err)
		}
	})
	return "http://" + addr
}

// TestServeMissingModel: a model file that cannot be opened fails before
// the port is bound, so no "listening" line precedes the error.
func TestServeMissingModel(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.gguf")
	var stderr bytes.Buffer
	c, err := parseServe([]string{"--model", missing, "--addr", "127.0.0.1:0"}, &stderr)
	if err != nil {
		t.Fatalf("parse: %v: %s", err, stderr.String())
	}
	core, logs := observer.New(zap.InfoLevel)
	err = serveModel(context.Background(), c, zap.New(core), io.Discard, nil)
	if err == nil || !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Fatalf("serve with a missing model: %v", err)
	}
	if n := logs.FilterMessage("listening").Len(); n != 0 {
		t.Errorf("logged %q %d times before failing on the model", "listening", n)
	}
}

func openaiClient(base string, opts ...option.RequestOption) openai.Client {
	return openai.NewClient(append([]option.RequestOption{option.WithBaseURL(base + "/v1/"), option.WithAPIKey("unused"), option.WithMaxRetries(0)}, opts...)...)
}

// nuriRun runs `nuri run` in process and returns its stdout.
func nuriRunOutput(t *testing.T, args ...string) string {
	t.Helper()
	modelPath := testshared.Path(t, "models", "stories260K.gguf")
	var stdout, stderr bytes.Buffer
	full := append([]string{"run", "--model", modelPath, "--temp", "0", "--threads", "2"}, args...)
	if code := realMain(full, &stdout, &stderr); code != 0 {
		t.Fatalf("nuri %v: exit %d: %s", full, code, stderr.String())
	}
	return stdout.String()
}

func TestServeGreedyMatchesRun(t *testing.T) {
	base := startServe(t)
	client := openaiClient(base)
	ctx := t.Context()

	comp, err := client.Completions.New(ctx, openai.CompletionNewParams{
		Model:       "stories260K",
		Prompt:      openai.CompletionNewParamsPromptUnion{OfString: openai.String("Once upon a time")},
		MaxTokens:   openai.Int(60),
		Temperature: openai.Float(0),
	})
	if err != nil {
		t.Fatal(err)
	}
	text := comp.Choices[0].Text
	if run := nuriRunOutput(t, "--prompt", "Once upon a time", "-n", "60"); run != "Once upon a time"+text+"\n" {
		t.Errorf("completion differs from nuri run:\nserve: %q\n  run: %q", "Once upon a time"+text, run)
	}
	if !strings.HasPrefix(storiesGreedy, "Once upon a time"+text) || len(text) < 150 {
		t.Errorf("greedy completion %q is not the reference continuation", text)
	}
	if comp.Usage.PromptTokens != 5 || comp.Usage.CompletionTokens != 60 || comp.Choices[0].FinishReason != "length" {
		t.Errorf("usage %+v finish %q, want 5 prompt tokens ([1 403 407 261 378]) and 60 completion", comp.Usage, comp.Choices[0].FinishReason)
	}

	chat, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model:       "stories260K",
		Messages:    []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Once upon a time")},
		MaxTokens:   openai.Int(40),
		Temperature: openai.Float(0),
	})
	if err != nil {
		t.Fatal(err)
	}
	if run := nuriRunOutput(t, "--chat", "--prompt", "Once upon a time", "-n", "40"); run != chat.Choices[0].Message.Content+"\n" {
		t.Errorf("chat differs from nuri run --chat:\nserve: %q\n  run: %q", chat.Choices[0].Message.Content, run)
	}

	// streaming with include_usage: the chunks concatenate to the same text
	stream := client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
		Model:         "stories260K",
		Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Once upon a time")},
		MaxTokens:     openai.Int(40),
		Temperature:   openai.Float(0),
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
	})
	var streamed strings.Builder
	var usage openai.CompletionUsage
	finish := ""
	for stream.Next() {
		ch := stream.Current()
		if len(ch.Choices) > 0 {
			streamed.WriteString(ch.Choices[0].Delta.Content)
			if ch.Choices[0].FinishReason != "" {
				finish = ch.Choices[0].FinishReason
			}
		}
		if ch.Usage.TotalTokens > 0 {
			usage = ch.Usage
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if streamed.String() != chat.Choices[0].Message.Content || finish != chat.Choices[0].FinishReason {
		t.Errorf("stream %q (%s) differs from non-streaming %q (%s)", streamed.String(), finish, chat.Choices[0].Message.Content, chat.Choices[0].FinishReason)
	}
	if usage.PromptTokens != chat.Usage.PromptTokens || usage.CompletionTokens != chat.Usage.CompletionTokens ||
		usage.TotalTokens != usage.PromptTokens+usage.CompletionTokens {
		t.Errorf("stream usage %+v, non-streaming %+v", usage, chat.Usage)
	}

	// A prediction of the reply changes nothing in it; most of its tokens
	// are kept as drafts.
	predicted, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model:       "stories260K",
		Messages:    []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Once upon a time")},
		MaxTokens:   openai.Int(40),
		Temperature: openai.Float(0),
		Prediction: openai.ChatCompletionPredictionContentParam{Content: openai.ChatCompletionPredictionContentContentUnionParam{
			OfString: openai.String(chat.Choices[0].Message.Content)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	d := predicted.Usage.CompletionTokensDetails
	if predicted.Choices[0].Message.Content != chat.Choices[0].Message.Content || d.AcceptedPredictionTokens < 20 ||
		predicted.Usage.CompletionTokens != chat.Usage.CompletionTokens {
		t.Errorf("with its own reply as prediction: %q, usage %+v; without: %q", predicted.Choices[0].Message.Content, predicted.Usage, chat.Choices[0].Message.Content)
	}

	// The Responses API runs the same conversation to the same text.
	rparams := responses.ResponseNewParams{
		Model:           "stories260K",
		Input:           responses.ResponseNewParamsInputUnion{OfString: openai.String("Once upon a time")},
		MaxOutputTokens: openai.Int(40),
		Temperature:     openai.Float(0),
	}
	resp, err := client.Responses.New(ctx, rparams)
	if err != nil {
		t.Fatal(err)
	}
	if resp.OutputText() != chat.Choices[0].Message.Content || resp.Usage.InputTokens != chat.Usage.PromptTokens ||
		resp.Usage.OutputTokens != chat.Usage.CompletionTokens {
		t.Errorf("response %q (usage %+v) differs from chat %q (usage %+v)", resp.OutputText(), resp.Usage, chat.Choices[0].Message.Content, chat.Usage)
	}
	if want := map[bool]responses.ResponseStatus{true: "incomplete", false: "completed"}[chat.Choices[0].FinishReason == "length"]; resp.Status != want {
		t.Errorf("response status %q, chat finish %q", resp.Status, chat.Choices[0].FinishReason)
	}
	// Stored: GET returns it, and a follow-up continues its conversation
	// (the prefix cache serves the turns before).
	if got, err := client.Responses.Get(ctx, resp.ID, responses.ResponseGetParams{}); err != nil || got.OutputText() != resp.OutputText() {
		t.Errorf("GET %s: %v, %q", resp.ID, err, got.OutputText())
	}
	if items, err := client.Responses.InputItems.List(ctx, resp.ID, responses.InputItemListParams{}); err != nil ||
		len(items.Data) != 1 || items.Data[0].Type != "message" || items.Data[0].Role != "user" {
		t.Errorf("input items of %s: %v, %+v", resp.ID, err, items)
	}
	next, err := client.Responses.New(ctx, responses.ResponseNewParams{
		Model: "stories260K", PreviousResponseID: openai.String(resp.ID), MaxOutputTokens: openai.Int(8),
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("The end")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if next.PreviousResponseID != resp.ID || next.Usage.InputTokens <= resp.Usage.InputTokens+resp.Usage.OutputTokens ||
		next.Usage.InputTokensDetails.CachedTokens == 0 {
		t.Errorf("follow-up: previous %q, usage %+v (first: %+v)", next.PreviousResponseID, next.Usage, resp.Usage)
	}
	rstream := client.Responses.NewStreaming(ctx, rparams)
	streamed.Reset()
	for rstream.Next() {
		if ev := rstream.Current(); ev.Type == "response.output_text.delta" {
			streamed.WriteString(ev.Delta.OfString)
		}
	}
	if err := rstream.Err(); err != nil {
		t.Fatal(err)
	}
	if streamed.String() != resp.OutputText() {
		t.Errorf("streamed response %q differs from %q", streamed.String(), resp.OutputText())
	}

	// stop string
	stopped, err := client.Completions.New(ctx, openai.CompletionNewParams{
		Model:       "stories260K",
		Prompt:      openai.CompletionNewParamsPromptUnion{OfString: openai.String("Once upon a time")},
		MaxTokens:   openai.Int(60),
		Temperature: openai.Float(0),
		Stop:        openai.CompletionNewParamsStopUnion{OfStringArray: []string{"Lily", "zzz"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if c := stopped.Choices[0]; c.Text != ", there was a little girl named " || c.FinishReason != "stop" {
		t.Errorf("stop string: %q finish %q", c.Text, c.FinishReason)
	}

	models, err := client.Models.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(models.Data) != 1 || models.Data[0].ID != "stories260K" {
		t.Errorf("models %+v", models.Data)
	}
}

func TestServeChoicesSeedLogprobs(t *testing.T) {
	base := startServe(t)
	client := openaiClient(base)
	ctx := t.Context()
	params := openai.ChatCompletionNewParams{
		Model:     "stories260K",
		Messages:  []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("짧게"), openai.UserMessage("Tell a story")},
		MaxTokens: openai.Int(24),
		N:         openai.Int(3),
		Seed:      openai.Int(1234),
	}
	a, err := client.Chat.Completions.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	b, err := client.Chat.Completions.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Choices) != 3 {
		t.Fatalf("%d choices, want 3", len(a.Choices))
	}
	distinct := map[string]bool{}
	for i := range a.Choices {
		if a.Choices[i].Index != int64(i) || a.Choices[i].Message.Content != b.Choices[i].Message.Content {
			t.Errorf("choice %d: index %d, not reproducible with the same seed: %q vs %q", i, a.Choices[i].Index, a.Choices[i].Message.Content, b.Choices[i].Message.Content)
		}
		distinct[a.Choices[i].Message.Content] = true
	}
	if len(distinct) < 2 {
		t.Errorf("all 3 sampled choices are identical: %q", a.Choices[0].Message.Content)
	}

	lp, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model:       "stories260K",
		Messages:    []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Once upon a time")},
		MaxTokens:   openai.Int(10),
		Temperature: openai.Float(0),
		Logprobs:    openai.Bool(true),
		TopLogprobs: openai.Int(3),
	})
	if err != nil {
		t.Fatal(err)
	}
	content := lp.Choices[0].Logprobs.Content
	if len(content) != int(lp.Usage.CompletionTokens) {
		t.Fatalf("%d logprob entries for %d tokens", len(content), lp.Usage.CompletionTokens)
	}
	var joined strings.Builder
	for i, c := range content {
		joined.WriteString(c.Token)
		if c.Logprob > 0 || len(c.TopLogprobs) != 3 {
			t.Errorf("token %d: logprob %v, %d alternatives", i, c.Logprob, len(c.TopLogprobs))
		}
		for _, alt := range c.TopLogprobs {
			if alt.Logprob > c.Logprob+1e-5 { // greedy picks the most likely token
				t.Errorf("token %d %q (%v) is less likely than alternative %q (%v)", i, c.Token, c.Logprob, alt.Token, alt.Logprob)
			}
		}
	}
	if joined.String() != lp.Choices[0].Message.Content {
		t.Errorf("logprob tokens %q do not spell the content %q", joined.String(), lp.Choices[0].Message.Content)
	}
}

// TestServeKoreanStreamRaw checks the SSE bytes themselves with a Korean
// prompt: every chunk valid JSON and UTF-8, [DONE] last.
func TestServeKoreanStreamRaw(t *testing.T) {
	base := startServe(t)
	body := `{"model":"stories260K","messages":[{"role":"user","content":"안녕하세요"}],"max_tokens":30,"stream":true,"stream_options":{"include_usage":true}}`
	resp, err := http.Post(base+"/v1/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var events []string
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, "data: ") {
			events = append(events, strings.TrimPrefix(line, "data: "))
		}
	}
	if len(events) < 3 || events[len(events)-1] != "[DONE]" {
		t.Fatalf("events %q", events)
	}
	for _, e := range events[:len(events)-1] {
		if !utf8.ValidString(e) || !json.Valid([]byte(e)) {
			t.Errorf("bad chunk %q", e)
		}
	}
}

var serveMetricLine = regexp.MustCompile(`(?m)^((?:vllm|nuri):[a-z0-9_]+)(\{[^}]*\})? (\S+)$`)

func TestServeMetricsCounts(t *testing.T) {
	base := startServe(t)
	client := openaiClient(base)
	ctx := t.Context()
	var prompt, gen int64
	stops, lengths := 0, 0
	for _, max := range []int64{5, 300} {
		c, err := client.Completions.New(ctx, openai.CompletionNewParams{
			Model: "stories260K", Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String("Once upon a time")},
			MaxTokens: openai.Int(max), Temperature: openai.Float(0), Stop: openai.CompletionNewParamsStopUnion{OfString: openai.String("park")},
		})
		if err != nil {
			t.Fatal(err)
		}
		prompt += c.Usage.PromptTokens
		gen += c.Usage.CompletionTokens
		if c.Choices[0].FinishReason == "stop" {
			stops++
		} else {
			lengths++
		}
	}
	got, raw := scrapeMetrics(t, base)
	l := `{model_name="stories260K"}`
	want := map[string]float64{
		"vllm:prompt_tokens_total" + l:                                                  float64(prompt),
		"vllm:generation_tokens_total" + l:                                              float64(gen),
		`vllm:request_success_total{model_name="stories260K",finished_reason="stop"}`:   float64(stops),
		`vllm:request_success_total{model_name="stories260K",finished_reason="length"}`: float64(lengths),
		"vllm:time_to_first_token_seconds_count" + l:                                    2,
		"vllm:e2e_request_latency_seconds_count" + l:                                    2,
		"vllm:request_queue_time_seconds_count" + l:                                     2,
		"vllm:num_requests_running" + l:                                                 0,
		"vllm:num_requests_waiting" + l:                                                 0,
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
	for _, name := range []string{"vllm:kv_cache_usage_perc", "vllm:cache_config_info", "vllm:inter_token_latency_seconds_count",
		"vllm:prefix_cache_queries_total", "vllm:prefix_cache_hits_total", "vllm:num_preemptions_total"} {
		if !strings.Contains(string(raw), name+"{") {
			t.Errorf("metric %s missing", name)
		}
	}
	if got["vllm:prefix_cache_queries_total"+l] < float64(prompt) {
		t.Errorf("prefix cache queries %v < prompt tokens %d", got["vllm:prefix_cache_queries_total"+l], prompt)
	}
	// the CPU runs every shape as is and has no telemetry: no padding, no device gauges
	if !strings.Contains(string(raw), "\nnuri:padded_tokens_total"+l+" 0\n") {
		t.Errorf("nuri:padded_tokens_total%s 0 missing", l)
	}
	if strings.Contains(string(raw), "nuri:device_") {
		t.Errorf("device gauges on the cpu device")
	}
}

// TestServeBinary runs the real `nuri serve` binary: API key, the Korean
// welcome text, a request through openai-go, then SIGTERM and exit 0.
func TestServeBinary(t *testing.T) {
	modelPath := testshared.Path(t, "models", "stories260K.gguf")
	bin := filepath.Join(t.TempDir(), "nuri")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "serve", "--model", modelPath, "--addr", "127.0.0.1:0", "--threads", "2", "--api-key", "sekrit")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()
	urlRe := regexp.MustCompile(`http://127\.0\.0\.1:\d+`)
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var base string
	var welcome strings.Builder
	deadline := time.After(60 * time.Second)
	for base == "" || !strings.Contains(welcome.String(), "안녕하세요") {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("server exited before ready: %s", stderr.String())
			}
			welcome.WriteString(l + "\n")
			if base == "" {
				base = urlRe.FindString(l)
			}
		case <-deadline:
			t.Fatalf("no welcome after 60 s: %q %s", welcome.String(), stderr.String())
		}
	}
	if !strings.Contains(welcome.String(), "curl "+base+"/v1/chat/completions") {
		t.Errorf("welcome has no curl example: %s", welcome.String())
	}
	ctx := t.Context()
	noKey := openaiClient(base)
	if _, err := noKey.Models.List(ctx); err == nil {
		t.Error("request without the API key succeeded")
	} else {
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 {
			t.Errorf("no-key error %v, want a 401", err)
		}
	}
	withKey := openaiClient(base, option.WithAPIKey("sekrit"))
	chat, err := withKey.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model:     "stories260K",
		Messages:  []openai.ChatCompletionMessageParamUnion{openai.UserMessage("안녕하세요")},
		MaxTokens: openai.Int(8),
	})
	if err != nil {
		t.Fatalf("chat with key: %v", err)
	}
	if chat.Usage.CompletionTokens == 0 {
		t.Errorf("no tokens generated: %+v", chat)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case err := <-waited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("still running 30 s after SIGTERM")
	}
	if !strings.Contains(stderr.String(), `"msg":"request"`) || strings.Contains(stderr.String(), "안녕하세요") {
		t.Errorf("access log missing, or prompt text logged at info:\n%s", stderr.String())
	}
	_ = os.Remove(bin)
}

// TestServeEchoScoresPrompt: echo with logprobs scores the prompt as
// lm-evaluation-harness asks (max_tokens 0 or 1): the text comes back, the
// first token unscored (null), and every other prompt token scored as the
// model's log-softmax. Scoring a greedy continuation as part of a prompt
// gives the logprobs its generation reported.
func TestServeEchoScoresPrompt(t *testing.T) {
	base := startServe(t)
	type lpObj struct {
		Tokens        []string             `json:"tokens"`
		TokenLogprobs []*float64           `json:"token_logprobs"`
		TopLogprobs   []map[string]float64 `json:"top_logprobs"`
		TextOffset    []int                `json:"text_offset"`
	}
	type resp struct {
		Choices []struct {
			Text         string `json:"text"`
			Logprobs     *lpObj `json:"logprobs"`
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
		Usage struct {
			PromptTokens     int `json:"prompt_tokens"`
			CompletionTokens int `json:"completion_tokens"`
		} `json:"usage"`
	}
	post := func(body string) resp {
		t.Helper()
		r, err := http.Post(base+"/v1/completions", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		raw, _ := io.ReadAll(r.Body)
		if r.StatusCode != 200 {
			t.Fatalf("%s: %d %s", body, r.StatusCode, raw)
		}
		var out resp
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		return out
	}

	// The greedy continuation of a prompt, with its logprobs.
	gen := post(`{"model":"stories260K","prompt":"Once upon a time","max_tokens":8,"temperature":0,"logprobs":1}`)
	cont := gen.Choices[0]
	if cont.Logprobs == nil || len(cont.Logprobs.Tokens) != 8 {
		t.Fatalf("generation: %+v", cont)
	}
	// The prompt and that continuation scored as one prompt.
	full := "Once upon a time" + cont.Text
	sc := post(`{"model":"stories260K","prompt":` + strconv.Quote(full) + `,"max_tokens":0,"echo":true,"logprobs":2}`)
	ch := sc.Choices[0]
	if ch.Text != full || ch.FinishReason != "length" || sc.Usage.CompletionTokens != 0 {
		t.Fatalf("scored: text %q finish %q usage %+v", ch.Text, ch.FinishReason, sc.Usage)
	}
	lp := ch.Logprobs
	n := sc.Usage.PromptTokens
	if lp == nil || len(lp.Tokens) != n || len(lp.TokenLogprobs) != n || len(lp.TopLogprobs) != n || len(lp.TextOffset) != n {
		t.Fatalf("scored logprobs for %d prompt tokens: %+v", n, lp)
	}
	if lp.TokenLogprobs[0] != nil || lp.TopLogprobs[0] != nil {
		t.Errorf("first token scored: %v %v", lp.TokenLogprobs[0], lp.TopLogprobs[0])
	}
	for i := 1; i < n; i++ {
		v := lp.TokenLogprobs[i]
		if v == nil || *v > 0 || len(lp.TopLogprobs[i]) != 2 || lp.TextOffset[i] != lp.TextOffset[i-1]+len(lp.Tokens[i-1]) {
			t.Fatalf("prompt token %d %q: logprob %v, top %v, offset %d", i, lp.Tokens[i], v, lp.TopLogprobs[i], lp.TextOffset[i])
		}
	}
	// The last 8 prompt tokens are the continuation, scored where it was
	// generated (prefill rows against decode rows: equal within float noise).
	if got := strings.Join(lp.Tokens[n-8:], ""); got != strings.Join(cont.Logprobs.Tokens, "") {
		t.Fatalf("the scored prompt ends in %q, not the continuation %q (tokenized differently)", got, cont.Logprobs.Tokens)
	}
	for i := range 8 {
		want, got := *cont.Logprobs.TokenLogprobs[i], *lp.TokenLogprobs[n-8+i]
		if math.Abs(want-got) > 1e-4 {
			t.Errorf("continuation token %d %q: scored %v, generated with %v", i, cont.Logprobs.Tokens[i], got, want)
		}
	}

	// echo with max_tokens 1, streamed: the prompt chunk first, then the
	// token; without echo, max_tokens 0 is still refused.
	r, err := http.Post(base+"/v1/completions", "application/json", strings.NewReader(
		`{"model":"stories260K","prompt":"Once upon a time","max_tokens":1,"echo":true,"logprobs":0,"temperature":0,"stream":true}`))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(r.Body)
	r.Body.Close()
	var texts []string
	for _, line := range strings.Split(string(raw), "\n") {
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok || data == "[DONE]" {
			continue
		}
		var c resp
		if err := json.Unmarshal([]byte(data), &c); err != nil {
			t.Fatalf("chunk %q: %v", data, err)
		}
		if len(c.Choices) > 0 && c.Choices[0].Text != "" {
			texts = append(texts, c.Choices[0].Text)
		}
	}
	if len(texts) != 2 || texts[0] != "Once upon a time" || texts[1] != "," {
		t.Errorf("streamed texts %q, want the prompt then \",\"", texts)
	}
	r, err = http.Post(base+"/v1/completions", "application/json", strings.NewReader(`{"model":"stories260K","prompt":"x","max_tokens":0}`))
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != 400 {
		t.Errorf("max_tokens 0 without echo: status %d, want 400", r.StatusCode)
	}
}

// response_format json_object on the real engine: stories260K writes
// prose, and the constraint turns every reply into a JSON object, whole
// or cut by max_tokens but never broken.
func TestServeJSONObject(t *testing.T) {
	base := startServe(t)
	client := openaiClient(base)
	jsonObject := openai.ChatCompletionNewParamsResponseFormatUnion{OfJSONObject: &shared.ResponseFormatJSONObjectParam{}}
	for seed := range int64(4) {
		c := storiesChat(t, client, seed, 120, func(p *openai.ChatCompletionNewParams) { p.ResponseFormat = jsonObject })
		text := c.Message.Content
		if !strings.HasPrefix(text, "{") {
			t.Fatalf("seed %d: %q does not start an object", seed, text)
		}
		switch c.FinishReason {
		case "stop":
			if !json.Valid([]byte(text)) {
				t.Fatalf("seed %d: finished, but %q is not JSON", seed, text)
			}
		case "length":
			d := json.NewDecoder(strings.NewReader(text))
			for {
				_, err := d.Token()
				if err == nil {
					continue
				}
				if err != io.EOF && err != io.ErrUnexpectedEOF {
					t.Fatalf("seed %d: %q is not a JSON prefix: %v", seed, text, err)
				}
				break
			}
		default:
			t.Fatalf("seed %d: finish %q", seed, c.FinishReason)
		}
	}
}

// response_format json_schema on the real engine: every reply is an
// object with the schema's properties, in its order. The schema's values
// are bounded (a short string, a boolean, an enum), so replies finish.
func TestServeJSONSchema(t *testing.T) {
	base := startServe(t)
	client := openaiClient(base)
	schema := map[string]any{
		"type": "object",
		"properties": map[string]any{
			"name":  map[string]any{"type": "string", "maxLength": 12},
			"color": map[string]any{"enum": []string{"red", "파랑"}},
			"happy": map[string]any{"type": "boolean"},
		},
		"required":             []string{"color", "happy", "name"},
		"additionalProperties": false,
	}
	format := openai.ChatCompletionNewParamsResponseFormatUnion{OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{
		JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{Name: "story", Schema: schema, Strict: openai.Bool(true)},
	}}
	for seed := range int64(4) {
		c := storiesChat(t, client, seed, 600, func(p *openai.ChatCompletionNewParams) { p.ResponseFormat = format })
		var got struct {
			Name  *string `json:"name"`
			Color *string `json:"color"`
			Happy *bool   `json:"happy"`
		}
		if c.FinishReason != "stop" || json.Unmarshal([]byte(c.Message.Content), &got) != nil {
			t.Fatalf("seed %d: %s %q", seed, c.FinishReason, c.Message.Content)
		}
		if got.Name == nil || utf8.RuneCountInString(*got.Name) > 12 || got.Happy == nil || got.Color == nil || (*got.Color != "red" && *got.Color != "파랑") {
			t.Fatalf("seed %d: %q breaks the schema", seed, c.Message.Content)
		}
	}
}

// A pydantic-style schema with bounded floats, a multiple, a tuple and a
// set on the real engine: every reply is within the bounds, exactly and
// as float64 (what validators read), its set's values each once.
func TestServeJSONSchemaNumbers(t *testing.T) {
	base := startServe(t, "--disable-any-whitespace")
	client := openaiClient(base)
	schema := map[string]any{
		"type": "object",
		"properties": map[string]any{
			"confidence": map[string]any{"type": "number", "minimum": 0, "maximum": 1},
			"ratio":      map[string]any{"type": "number", "exclusiveMinimum": 0.5, "exclusiveMaximum": 0.75},
			"step":       map[string]any{"type": "integer", "multipleOf": 25, "minimum": -60, "maximum": 130},
			"pair": map[string]any{"type": "array", "prefixItems": []any{map[string]any{"type": "integer"}, map[string]any{"type": "string", "maxLength": 6}},
				"minItems": 2, "maxItems": 2},
			"tags":  map[string]any{"type": "array", "items": map[string]any{"enum": []string{"red", "green", "파랑"}}, "uniqueItems": true},
			"ids":   map[string]any{"type": "array", "items": map[string]any{"type": "integer", "minimum": 0, "maximum": 500}, "uniqueItems": true, "minItems": 3, "maxItems": 6},
			"names": map[string]any{"type": "array", "items": map[string]any{"type": "string", "maxLength": 3}, "uniqueItems": true, "minItems": 2, "maxItems": 4},
			// pydantic's Decimal: a number, or a string of one (kept short:
			// stories260K writes zeros on and on).
			"amount": map[string]any{"anyOf": []any{map[string]any{"type": "number"}, map[string]any{"type": "string", "pattern": `^(?!^[-+.]*$)[+-]?0*\d*\.?\d*$`, "maxLength": 12}}},
		},
		"required": []string{"confidence", "ratio", "step", "pair", "tags", "ids", "names", "amount"},
	}
	format := openai.ChatCompletionNewParamsResponseFormatUnion{OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{
		JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{Name: "nums", Schema: schema, Strict: openai.Bool(true)},
	}}
	within := func(v json.Number, lo, hi string, loExcl, hiExcl bool) bool {
		x, ok := new(big.Rat).SetString(v.String())
		l, _ := new(big.Rat).SetString(lo)
		h, _ := new(big.Rat).SetString(hi)
		f, err := v.Float64()
		lf, _ := strconv.ParseFloat(lo, 64)
		hf, _ := strconv.ParseFloat(hi, 64)
		return ok && err == nil && (x.Cmp(l) > 0 || !loExcl && x.Cmp(l) == 0) && (x.Cmp(h) < 0 || !hiExcl && x.Cmp(h) == 0) &&
			(f > lf || !loExcl && f == lf) && (f < hf || !hiExcl && f == hf)
	}
	for seed := range int64(4) {
		c := storiesChat(t, client, seed, 400, func(p *openai.ChatCompletionNewParams) { p.ResponseFormat = format })
		var got struct {
			Confidence, Ratio json.Number
			Step              int64
			Pair              []json.RawMessage
			Tags, Names       []string
			IDs               []int64
			Amount            json.RawMessage
		}
		dec := json.NewDecoder(strings.NewReader(c.Message.Content))
		dec.UseNumber()
		if c.FinishReason != "stop" || dec.Decode(&got) != nil {
			t.Fatalf("seed %d: %s %q", seed, c.FinishReason, c.Message.Content)
		}
		var amount string
		if json.Unmarshal(got.Amount, &amount) == nil &&
			(!regexp.MustCompile(`^[+-]?0*\d*\.?\d*$`).MatchString(amount) || regexp.MustCompile(`^[-+.]*$`).MatchString(amount)) {
			t.Fatalf("seed %d: amount %q is no decimal", seed, amount)
		}
		var first int64
		var second string
		if !within(got.Confidence, "0", "1", false, false) || !within(got.Ratio, "0.5", "0.75", true, true) ||
			got.Step%25 != 0 || got.Step < -60 || got.Step > 130 || len(got.Pair) != 2 ||
			json.Unmarshal(got.Pair[0], &first) != nil || json.Unmarshal(got.Pair[1], &second) != nil || utf8.RuneCountInString(second) > 6 ||
			len(got.Tags) != len(slices.Compact(slices.Sorted(slices.Values(got.Tags)))) ||
			len(got.IDs) < 3 || len(got.IDs) > 6 || len(got.IDs) != len(slices.Compact(slices.Sorted(slices.Values(got.IDs)))) ||
			len(got.Names) < 2 || len(got.Names) > 4 || len(got.Names) != len(slices.Compact(slices.Sorted(slices.Values(got.Names)))) {
			t.Fatalf("seed %d: %q breaks the schema", seed, c.Message.Content)
		}
	}
}

// A schema as zod 4's z.toJSONSchema writes it, on the real engine:
// z.email().max(40) (a format and a pattern with two lookaheads), a
// string under two regexes (allOf of patterns), z.uuid(), an integer
// with two multipleOfs and a z.never() property. Every reply meets the
// regexes zod would test.
func TestServeJSONSchemaZod(t *testing.T) {
	base := startServe(t, "--disable-any-whitespace")
	client := openaiClient(base)
	const emailPattern = `^(?!\.)(?!.*\.\.)([A-Za-z0-9_'+\-\.]*)[A-Za-z0-9_+-]@([A-Za-z0-9][A-Za-z0-9\-]*\.)+[A-Za-z]{2,}$`
	const uuidPattern = `^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-8][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}|00000000-0000-0000-0000-000000000000)$`
	quoted := func(s string) string {
		b, _ := json.Marshal(s)
		return string(b)
	}
	var schema map[string]any
	if err := json.Unmarshal([]byte(`{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","properties":{
		"email":{"type":"string","maxLength":40,"format":"email","pattern":`+quoted(emailPattern)+`},
		"handle":{"type":"string","maxLength":8,"allOf":[{"pattern":"^[a-z]+$"},{"pattern":"k"}]},
		"id":{"type":"string","format":"uuid","pattern":`+quoted(uuidPattern)+`},
		"qty":{"type":"integer","minimum":0,"maximum":100,"multipleOf":3,"allOf":[{"multipleOf":4}]},
		"legacy":{"not":{}}},
		"required":["email","handle","id","qty"],"additionalProperties":false}`), &schema); err != nil {
		t.Fatal(err)
	}
	format := openai.ChatCompletionNewParamsResponseFormatUnion{OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{
		JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{Name: "zod", Schema: schema, Strict: openai.Bool(true)},
	}}
	// Go's regexp has no lookaheads: the e-mail pattern's two are tested
	// apart.
	email := regexp.MustCompile(`^([A-Za-z0-9_'+\-\.]*)[A-Za-z0-9_+-]@([A-Za-z0-9][A-Za-z0-9\-]*\.)+[A-Za-z]{2,}$`)
	uuid := regexp.MustCompile(uuidPattern)
	for seed := range int64(4) {
		c := storiesChat(t, client, seed, 400, func(p *openai.ChatCompletionNewParams) { p.ResponseFormat = format })
		var got map[string]any
		if c.FinishReason != "stop" || json.Unmarshal([]byte(c.Message.Content), &got) != nil {
			t.Fatalf("seed %d: %s %q", seed, c.FinishReason, c.Message.Content)
		}
		e, _ := got["email"].(string)
		h, _ := got["handle"].(string)
		id, _ := got["id"].(string)
		q, _ := got["qty"].(float64)
		_, legacy := got["legacy"]
		if !email.MatchString(e) || strings.HasPrefix(e, ".") || strings.Contains(e, "..") || utf8.RuneCountInString(e) > 40 ||
			!regexp.MustCompile(`^[a-z]+$`).MatchString(h) || !strings.Contains(h, "k") || len(h) > 8 ||
			!uuid.MatchString(id) || q != math.Trunc(q) || int(q)%12 != 0 || q < 0 || q > 100 || legacy || len(got) != 4 {
			t.Fatalf("seed %d: %q breaks the schema", seed, c.Message.Content)
		}
		t.Logf("seed %d: %s", seed, c.Message.Content)
	}
}

// A hand-written schema of conditions on the real engine: if/then/else
// over a payment's method (a card number, or else an account), a
// property that requires another (dependentRequired) and OpenAPI 3.0's
// nullable. Each reply keeps every condition.
func TestServeJSONSchemaConditional(t *testing.T) {
	base := startServe(t, "--disable-any-whitespace")
	client := openaiClient(base)
	var schema map[string]any
	if err := json.Unmarshal([]byte(`{"type":"object","properties":{
		"method":{"enum":["card","bank","cash"]},
		"number":{"type":"string","pattern":"^[0-9]{4}$"},
		"account":{"type":"string","maxLength":6},
		"note":{"type":"string","maxLength":8,"nullable":true},
		"tip":{"type":"integer","minimum":0,"maximum":20},
		"currency":{"enum":["KRW","USD"]}},
		"required":["method"],
		"if":{"properties":{"method":{"const":"card"}}},"then":{"required":["number"],"properties":{"account":false}},
		"else":{"required":["account"]},
		"dependentRequired":{"tip":["currency"]}}`), &schema); err != nil {
		t.Fatal(err)
	}
	format := openai.ChatCompletionNewParamsResponseFormatUnion{OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{
		JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{Name: "payment", Schema: schema},
	}}
	methods := map[string]int{}
	for seed := range int64(8) {
		c := storiesChat(t, client, seed, 300, func(p *openai.ChatCompletionNewParams) {
			p.ResponseFormat, p.Temperature, p.TopP = format, openai.Float(2), openai.Float(1)
		}, option.WithJSONSet("min_p", 0))
		var got map[string]any
		if c.FinishReason != "stop" || json.Unmarshal([]byte(c.Message.Content), &got) != nil {
			t.Fatalf("seed %d: %s %q", seed, c.FinishReason, c.Message.Content)
		}
		m, _ := got["method"].(string)
		_, hasNumber := got["number"]
		_, hasAccount := got["account"]
		_, hasTip := got["tip"]
		_, hasCurrency := got["currency"]
		n, _ := got["note"].(string)
		if m == "card" && (!hasNumber || hasAccount) || m != "card" && !hasAccount || hasTip && !hasCurrency || utf8.RuneCountInString(n) > 8 {
			t.Fatalf("seed %d: %q breaks the schema", seed, c.Message.Content)
		}
		if num, ok := got["number"].(string); hasNumber && (!ok || !regexp.MustCompile(`^[0-9]{4}$`).MatchString(num)) {
			t.Fatalf("seed %d: number in %q", seed, c.Message.Content)
		}
		methods[m]++
		t.Logf("seed %d: %s", seed, c.Message.Content)
	}
	if methods["card"] == 0 || methods["card"] == 8 {
		t.Fatalf("methods written: %v; want cards and others", methods)
	}
}

// A pydantic union without a discriminator (Union[Cat, Dog], both
// starting with name), the json-schema.org example of a postal code by
// country (allOf of if/then), Union[date, datetime, Literal["unknown"]]
// and Union[int, float], on the real engine: each pet is one model's,
// whole; each code the country's.
func TestServeJSONSchemaUntaggedUnion(t *testing.T) {
	base := startServe(t, "--disable-any-whitespace")
	client := openaiClient(base)
	var schema map[string]any
	if err := json.Unmarshal([]byte(`{"type":"object","properties":{
		"pets":{"type":"array","minItems":2,"maxItems":3,"items":{"anyOf":[{"$ref":"#/$defs/Cat"},{"$ref":"#/$defs/Dog"}]}},
		"born":{"anyOf":[{"type":"string","format":"date"},{"type":"string","format":"date-time"},{"const":"unknown"}]},
		"weight":{"anyOf":[{"type":"integer","minimum":1,"maximum":9},{"type":"number","minimum":0,"maximum":99}]},
		"address":{"type":"object","properties":{"country":{"enum":["US","CA","NL"]}},"required":["country"],"allOf":[
			{"if":{"properties":{"country":{"const":"US"}}},"then":{"properties":{"postal_code":{"pattern":"^[0-9]{5}$"}},"required":["postal_code"]}},
			{"if":{"properties":{"country":{"const":"CA"}}},"then":{"properties":{"postal_code":{"pattern":"^[A-Z][0-9][A-Z] [0-9][A-Z][0-9]$"}},"required":["postal_code"]}},
			{"if":{"properties":{"country":{"const":"NL"}}},"then":{"properties":{"postal_code":{"pattern":"^[0-9]{4} [A-Z]{2}$"}},"required":["postal_code"]}}]}},
		"required":["pets","address","born","weight"],"additionalProperties":false,
		"$defs":{"Cat":{"type":"object","title":"Cat","properties":{"name":{"type":"string","maxLength":8,"description":"The cat's name"},"lives":{"type":"integer","minimum":1,"maximum":9}},"required":["name","lives"]},
			"Dog":{"type":"object","title":"Dog","properties":{"name":{"type":"string","maxLength":8,"description":"The dog's name"},"breed":{"type":"string","maxLength":8}},"required":["name","breed"]}}}`), &schema); err != nil {
		t.Fatal(err)
	}
	format := openai.ChatCompletionNewParamsResponseFormatUnion{OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{
		JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{Name: "household", Schema: schema},
	}}
	codes := map[string]*regexp.Regexp{"US": regexp.MustCompile(`^[0-9]{5}$`), "CA": regexp.MustCompile(`^[A-Z][0-9][A-Z] [0-9][A-Z][0-9]$`), "NL": regexp.MustCompile(`^[0-9]{4} [A-Z]{2}$`)}
	kinds := map[string]int{}
	for seed := range int64(8) {
		c := storiesChat(t, client, seed, 300, func(p *openai.ChatCompletionNewParams) {
			p.ResponseFormat, p.Temperature, p.TopP = format, openai.Float(2), openai.Float(1)
		}, option.WithJSONSet("min_p", 0))
		var got struct {
			Pets    []map[string]json.RawMessage `json:"pets"`
			Address struct {
				Country    string `json:"country"`
				PostalCode string `json:"postal_code"`
			} `json:"address"`
			Born   string   `json:"born"`
			Weight *float64 `json:"weight"`
		}
		if c.FinishReason != "stop" || json.Unmarshal([]byte(c.Message.Content), &got) != nil {
			t.Fatalf("seed %d: %s %q", seed, c.FinishReason, c.Message.Content)
		}
		for _, pet := range got.Pets {
			var name string
			var lives int
			_, isCat := pet["lives"]
			_, isDog := pet["breed"]
			switch {
			case len(pet) != 2 || json.Unmarshal(pet["name"], &name) != nil || utf8.RuneCountInString(name) > 8 || isCat == isDog,
				isCat && (json.Unmarshal(pet["lives"], &lives) != nil || lives < 1 || lives > 9):
				t.Fatalf("seed %d: pet %v in %q is neither a Cat nor a Dog", seed, pet, c.Message.Content)
			case isCat:
				kinds["cat"]++
			default:
				kinds["dog"]++
			}
		}
		if re := codes[got.Address.Country]; re == nil || !re.MatchString(got.Address.PostalCode) {
			t.Fatalf("seed %d: address in %q breaks the schema", seed, c.Message.Content)
		}
		_, dateErr := time.Parse(time.DateOnly, got.Born)
		_, timeErr := time.Parse(time.RFC3339, got.Born)
		if dateErr != nil && timeErr != nil && got.Born != "unknown" || got.Weight == nil || *got.Weight < 0 || *got.Weight > 99 {
			t.Fatalf("seed %d: born or weight in %q breaks the schema", seed, c.Message.Content)
		}
		kinds[got.Address.Country]++
		t.Logf("seed %d: %s", seed, c.Message.Content)
	}
	if kinds["cat"] == 0 || kinds["dog"] == 0 || len(kinds) < 4 {
		t.Fatalf("written: %v; want cats, dogs and two countries at least", kinds)
	}
}

// A pydantic discriminated union (Field(discriminator="kind")) on the
// real engine: each shape starts with its tag, and its other properties
// are the ones that tag's model declares, a Rect's own and, through
// allOf, those it inherits.
func TestServeJSONSchemaDiscriminatedUnion(t *testing.T) {
	base := startServe(t, "--disable-any-whitespace")
	client := openaiClient(base)
	var schema map[string]any
	if err := json.Unmarshal([]byte(`{"type":"object","properties":{"shapes":{"type":"array","minItems":1,"maxItems":3,"items":{
		"oneOf":[{"$ref":"#/$defs/Circle"},{"$ref":"#/$defs/Rect"}],
		"discriminator":{"propertyName":"kind","mapping":{"circle":"#/$defs/Circle","rect":"#/$defs/Rect"}}}}},"required":["shapes"],
		"$defs":{"Circle":{"type":"object","properties":{"r":{"type":"integer","minimum":1,"maximum":9},"kind":{"const":"circle","type":"string"}},"required":["kind","r"],"additionalProperties":false},
		"Rect":{"allOf":[{"$ref":"#/$defs/Labelled"},{"type":"object","properties":{"kind":{"const":"rect","type":"string"},"w":{"type":"integer"},"h":{"type":"integer"}},"required":["kind","w","h"]}]},
		"Labelled":{"type":"object","properties":{"label":{"type":"string","maxLength":8}},"required":["label"]}}}`), &schema); err != nil {
		t.Fatal(err)
	}
	format := openai.ChatCompletionNewParamsResponseFormatUnion{OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{
		JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{Name: "shapes", Schema: schema, Strict: openai.Bool(true)},
	}}
	kinds := map[string]int{}
	for seed := range int64(6) {
		// stories260K gives "circle" 95 % after "kind": wide sampling
		// (no top_p or min_p cut) writes "rect" too.
		c := storiesChat(t, client, seed, 300, func(p *openai.ChatCompletionNewParams) {
			p.ResponseFormat, p.Temperature, p.TopP = format, openai.Float(1.5), openai.Float(1)
		}, option.WithJSONSet("min_p", 0))
		var got struct{ Shapes []json.RawMessage }
		if c.FinishReason != "stop" || json.Unmarshal([]byte(c.Message.Content), &got) != nil || len(got.Shapes) < 1 || len(got.Shapes) > 3 {
			t.Fatalf("seed %d: %s %q", seed, c.FinishReason, c.Message.Content)
		}
		for _, raw := range got.Shapes {
			dec := json.NewDecoder(bytes.NewReader(raw))
			_, _ = dec.Token() // {
			first, _ := dec.Token()
			var shape map[string]any
			if err := json.Unmarshal(raw, &shape); err != nil || first != "kind" {
				t.Fatalf("seed %d: shape %s does not start with its kind", seed, raw)
			}
			want := map[string][]string{"circle": {"kind", "r"}, "rect": {"h", "kind", "label", "w"}}[fmt.Sprint(shape["kind"])]
			if !slices.Equal(slices.Sorted(maps.Keys(shape)), want) {
				t.Fatalf("seed %d: shape %s: properties of another kind, or none", seed, raw)
			}
			if l, ok := shape["label"].(string); ok && utf8.RuneCountInString(l) > 8 {
				t.Fatalf("seed %d: rect %s: label over 8 characters", seed, raw)
			}
			if r, ok := shape["r"].(float64); ok && (r < 1 || r > 9 || r != math.Trunc(r)) {
				t.Fatalf("seed %d: circle %s: r out of its bounds", seed, raw)
			}
			kinds[shape["kind"].(string)]++
		}
	}
	t.Logf("shapes written: %v", kinds)
	if kinds["circle"] == 0 || kinds["rect"] == 0 {
		t.Fatalf("shapes written: %v; want both kinds", kinds)
	}
}

// A forced tool call on the real engine: stories260K knows nothing of
// tools, and the constraint still makes its reply one call whose
// arguments follow the function's schema.
func TestServeForcedToolCall(t *testing.T) {
	tmpl := filepath.Join(t.TempDir(), "tools.jinja")
	src := "{%- if tools %}<tools>{% for t in tools %}{{ t | tojson }}{% endfor %}</tools>\n{% endif %}" +
		"{%- for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}" +
		"{%- if add_generation_prompt %}assistant: {% endif %}{# calls: <tool_call>{...}</tool_call> #}"
	if err := os.WriteFile(tmpl, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	base := startServe(t, "--chat-template-file", tmpl)
	client := openaiClient(base)
	tool := openai.ChatCompletionToolParam{Function: shared.FunctionDefinitionParam{
		Name: "set_mood",
		Parameters: shared.FunctionParameters{
			"type":       "object",
			"properties": map[string]any{"mood": map[string]any{"enum": []string{"happy", "sad"}}, "why": map[string]any{"type": "string", "maxLength": 20}},
			"required":   []string{"mood", "why"},
		},
	}}
	for seed := range int64(3) {
		for _, choice := range []openai.ChatCompletionToolChoiceOptionUnionParam{
			{OfChatCompletionNamedToolChoice: &openai.ChatCompletionNamedToolChoiceParam{Function: openai.ChatCompletionNamedToolChoiceFunctionParam{Name: "set_mood"}}},
			{OfAuto: openai.String("required")},
		} {
			c := storiesChat(t, client, seed, 400, func(p *openai.ChatCompletionNewParams) {
				p.Tools, p.ToolChoice = []openai.ChatCompletionToolParam{tool}, choice
			})
			if c.FinishReason != "tool_calls" || len(c.Message.ToolCalls) != 1 || c.Message.ToolCalls[0].Function.Name != "set_mood" {
				t.Fatalf("seed %d: finish %q, message %+v", seed, c.FinishReason, c.Message)
			}
			// "required" with one tool names it: its schema holds too.
			var args struct {
				Mood *string `json:"mood"`
				Why  *string `json:"why"`
			}
			a := c.Message.ToolCalls[0].Function.Arguments
			if json.Unmarshal([]byte(a), &args) != nil || args.Mood == nil || (*args.Mood != "happy" && *args.Mood != "sad") || args.Why == nil || utf8.RuneCountInString(*args.Why) > 20 {
				t.Fatalf("seed %d: arguments %q break the schema", seed, a)
			}
		}
	}
}

// vLLM's guided_choice on the real engine, sent as an extra field the way
// vLLM's users send it through OpenAI's SDK: each reply is one of the
// choices and ends there.
func TestServeGuidedChoice(t *testing.T) {
	base := startServe(t)
	client := openaiClient(base)
	choices := []string{"happy", "sad", "행복해요", "happy!"}
	for seed := range int64(4) {
		c := storiesChat(t, client, seed, 30, nil, option.WithJSONSet("guided_choice", choices))
		if !slices.Contains(choices, c.Message.Content) || c.FinishReason != "stop" {
			t.Fatalf("seed %d: %q (%s) is not one of %q", seed, c.Message.Content, c.FinishReason, choices)
		}
	}
}

// storiesChat sends "Once upon a time" to stories260K as a chat with a
// seed and a token limit, set changing the request, and returns the
// first choice.
func storiesChat(t *testing.T, client openai.Client, seed, maxTokens int64, set func(*openai.ChatCompletionNewParams), opts ...option.RequestOption) openai.ChatCompletionChoice {
	t.Helper()
	p := openai.ChatCompletionNewParams{
		Model:     "stories260K",
		Messages:  []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Once upon a time")},
		MaxTokens: openai.Int(maxTokens),
		Seed:      openai.Int(seed),
	}
	if set != nil {
		set(&p)
	}
	resp, err := client.Chat.Completions.New(t.Context(), p, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return resp.Choices[0]
}

// --embeddings on the real model: unit vectors of the model's width, the
// same text gives the same vector, a shorter one (dimensions) is the
// full one's start rescaled, and chat still works beside it.
func TestServeEmbeddings(t *testing.T) {
	base := startServe(t, "--embeddings", "--pooling", "mean")
	client := openaiClient(base)
	embed := func(dims int64, texts ...string) [][]float64 {
		p := openai.EmbeddingNewParams{Model: "stories260K", Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: texts}}
		if dims > 0 {
			p.Dimensions = openai.Int(dims)
		}
		resp, err := client.Embeddings.New(t.Context(), p)
		if err != nil {
			t.Fatal(err)
		}
		out := make([][]float64, len(resp.Data))
		for i, d := range resp.Data {
			out[i] = d.Embedding
		}
		return out
	}
	vs := embed(0, "Once upon a time", "Lily saw a big red ball.", "Once upon a time")
	norm := func(v []float64) float64 {
		s := 0.0
		for _, x := range v {
			s += x * x
		}
		return math.Sqrt(s)
	}
	for i, v := range vs {
		if len(v) != 64 || math.Abs(norm(v)-1) > 1e-5 {
			t.Fatalf("embedding %d: %d values, norm %v", i, len(v), norm(v))
		}
	}
	if !slices.Equal(vs[0], vs[2]) || slices.Equal(vs[0], vs[1]) {
		t.Fatal("the same text gave different vectors, or different texts the same")
	}
	short := embed(16, "Once upon a time")[0]
	scale := norm(vs[0][:16])
	for i, x := range short {
		if math.Abs(x-vs[0][i]/scale) > 1e-5 {
			t.Fatalf("dimensions 16: value %d is %v, want %v", i, x, vs[0][i]/scale)
		}
	}
	if c := storiesChat(t, client, 1, 5, nil); c.Message.Content == "" {
		t.Fatal("chat beside embeddings returned nothing")
	}
}

// TestServeEncoder: an encoder model (synth's bert-tiny) is served for
// embeddings without --embeddings, pooling its first token (the file's
// pooling_type, CLS), and a chat request is a 400 that says why.
func TestServeEncoder(t *testing.T) {
	base := startServe(t, "--model", testgguf.Synth(t, "bert-tiny", "Q8_0", 1))
	client := openaiClient(base)
	resp, err := client.Embeddings.New(t.Context(), openai.EmbeddingNewParams{Model: "bert-tiny-Q8_0",
		Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"hello world", "안녕하세요", "hello world"}}})
	if err != nil {
		t.Fatal(err)
	}
	vs := resp.Data
	if len(vs) != 3 || len(vs[0].Embedding) != 256 {
		t.Fatalf("%d embeddings of %d values", len(vs), len(vs[0].Embedding))
	}
	var n float64
	for _, x := range vs[1].Embedding {
		n += x * x
	}
	if math.Abs(n-1) > 1e-5 || !slices.Equal(vs[0].Embedding, vs[2].Embedding) || slices.Equal(vs[0].Embedding, vs[1].Embedding) {
		t.Fatalf("norm² %v; equal texts equal, different ones not: %v %v", n,
			slices.Equal(vs[0].Embedding, vs[2].Embedding), !slices.Equal(vs[0].Embedding, vs[1].Embedding))
	}
	_, err = client.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{Model: "bert-tiny-Q8_0",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || !strings.Contains(apiErr.Message, "encoder") {
		t.Fatalf("chat with an encoder: %v, want a 400 naming the encoder", err)
	}
}

// scrapeMetrics reads a server's /metrics: each sample by name and
// labels, and the whole text.
func scrapeMetrics(t *testing.T, base string) (map[string]float64, []byte) {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	got := map[string]float64{}
	for _, m := range serveMetricLine.FindAllStringSubmatch(string(raw), -1) {
		v, _ := strconv.ParseFloat(m[3], 64)
		got[m[1]+m[2]] = v
	}
	return got, raw
}

// TestServeSpeculative: nuri serve with --spec-ngram, and with
// --draft-model (stories260K drafting for itself), gives the completions
// a server without them gives, and /metrics counts the drafts.
func TestServeSpeculative(t *testing.T) {
	const prompt = "Once upon a time, there was a little girl named Lily. Lily loved to play with her ball. One day, Lily"
	complete := func(base string) string {
		client := openaiClient(base)
		c, err := client.Completions.New(t.Context(), openai.CompletionNewParams{
			Model: "stories260K", Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String(prompt)},
			MaxTokens: openai.Int(120), Temperature: openai.Float(0),
		})
		if err != nil {
			t.Fatal(err)
		}
		return c.Choices[0].Text
	}
	plain := complete(startServe(t))
	for _, flags := range [][]string{
		{"--spec-ngram", "6"},
		{"--draft-model", testshared.Path(t, "models", "stories260K.gguf")},
	} {
		base := startServe(t, flags...)
		if got := complete(base); got != plain {
			t.Fatalf("with %v %q\nwithout %q", flags, got, plain)
		}
		got, _ := scrapeMetrics(t, base)
		l := `{model_name="stories260K"}`
		drafts, kept := got["vllm:spec_decode_num_draft_tokens_total"+l], got["vllm:spec_decode_num_accepted_tokens_total"+l]
		passes := got["nuri:draft_model_passes_total"+l]
		t.Logf("%v: drafts %v, kept %v, draft model passes %v", flags, drafts, kept, passes)
		if drafts == 0 || kept == 0 || kept > drafts || (passes > 0) != (flags[0] == "--draft-model") {
			t.Fatalf("%v: drafts %v, kept %v, draft model passes %v", flags, drafts, kept, passes)
		}
	}
}

// TestServeLoRAModules: nuri serve --lora-modules on stories260K serves
// the adapter under its own name (the completion a server with the
// adapter on every request gives) beside the base model (the plain
// completion), in one server, concurrently.
func TestServeLoRAModules(t *testing.T) {
	adapter := storiesAdapter(t, 0.05)
	complete := func(base, model string) string {
		t.Helper()
		text, err := greedyCompletion(t, base, model)
		if err != nil {
			t.Fatal(err)
		}
		return text
	}
	plain := complete(startServe(t), "stories260K")
	global := startServe(t, "--lora", adapter)
	adapted := complete(global, "stories260K")
	if adapted == plain {
		t.Fatal("the adapter changes nothing: the test would not tell the models apart")
	}
	// llama-server's /lora-adapters lists the adapter applied to every
	// request, at scale 1.
	var listed []struct {
		ID    int     `json:"id"`
		Path  string  `json:"path"`
		Scale float32 `json:"scale"`
	}
	if err := json.Unmarshal(getOK(t, global+"/lora-adapters"), &listed); err != nil || len(listed) != 1 || listed[0].Path != adapter || listed[0].Scale != 1 {
		t.Errorf("/lora-adapters: %v %+v", err, listed)
	}
	base := startServe(t, "--lora-modules", "story-lora="+adapter)
	alternate(t, base, [2]string{"stories260K", "story-lora"}, [2]string{plain, adapted})
	client := openaiClient(base)
	models, err := client.Models.List(t.Context())
	if err != nil || len(models.Data) != 2 || models.Data[1].ID != "story-lora" {
		t.Fatalf("models: %v %+v", err, models)
	}
}

// With --allow-lora-updates an adapter loaded over HTTP serves requests
// as the same file given with --lora does, next to the base model's; a
// request running with it when it is unloaded finishes with it; after
// that its name is unknown.
func TestServeLoRAUpdates(t *testing.T) {
	adapter := storiesAdapter(t, 0.05)
	const prompt = "Once upon a time"
	complete := func(base, model string) (string, error) { return greedyCompletion(t, base, model) }
	must := func(s string, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	adapted := must(complete(startServe(t, "--lora", adapter), "stories260K"))
	base := startServe(t, "--allow-lora-updates")
	plain := must(complete(base, "stories260K"))
	if adapted == plain {
		t.Fatal("the adapter changes nothing: the test would not tell the models apart")
	}
	post := func(path, body string) string {
		t.Helper()
		return string(postOK(t, base+path, body))
	}
	loadBody, err := json.Marshal(map[string]string{"lora_name": "story-lora", "lora_path": adapter})
	if err != nil {
		t.Fatal(err)
	}
	post("/v1/load_lora_adapter", string(loadBody))
	alternate(t, base, [2]string{"stories260K", "story-lora"}, [2]string{plain, adapted})
	// Unloaded while a stream runs with it.
	client := openaiClient(base)
	stream := client.Completions.NewStreaming(t.Context(), openai.CompletionNewParams{
		Model: "story-lora", Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String(prompt)},
		MaxTokens: openai.Int(60), Temperature: openai.Float(0),
	})
	var text strings.Builder
	unloaded := false
	for stream.Next() {
		for _, c := range stream.Current().Choices {
			text.WriteString(c.Text)
		}
		if !unloaded {
			post("/v1/unload_lora_adapter", `{"lora_name":"story-lora"}`)
			unloaded = true
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if text.String() != adapted {
		t.Errorf("the stream across the unload: %q, want %q", text.String(), adapted)
	}
	var apiErr *openai.Error
	if _, err := complete(base, "story-lora"); !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound {
		t.Errorf("a request for the unloaded adapter: %v", err)
	}
	if s := must(complete(base, "stories260K")); s != plain {
		t.Errorf("the base model after the unload: %q, want %q", s, plain)
	}
	// load_inplace puts a new version under the name.
	second := storiesAdapter(t, -0.08)
	adapted2 := must(complete(startServe(t, "--lora", second), "stories260K"))
	if adapted2 == adapted || adapted2 == plain {
		t.Fatal("the second adapter changes nothing the test could see")
	}
	post("/v1/load_lora_adapter", string(loadBody))
	if s := must(complete(base, "story-lora")); s != adapted {
		t.Fatalf("reloaded: %q, want %q", s, adapted)
	}
	inplace, err := json.Marshal(map[string]any{"lora_name": "story-lora", "lora_path": second, "load_inplace": true})
	if err != nil {
		t.Fatal(err)
	}
	post("/v1/load_lora_adapter", string(inplace))
	if s := must(complete(base, "story-lora")); s != adapted2 {
		t.Errorf("after load_inplace: %q, want the second adapter's %q", s, adapted2)
	}
}

// --scheduling-policy priority lets requests carry vLLM's "priority";
// under the default policy one that does is refused.
func TestServeSchedulingPolicy(t *testing.T) {
	body := `{"prompt": "Once upon a time", "max_tokens": 8, "temperature": 0, "priority": -1}`
	for _, tc := range []struct {
		flags  []string
		status int
	}{{nil, http.StatusBadRequest}, {[]string{"--scheduling-policy", "priority"}, http.StatusOK}} {
		base := startServe(t, tc.flags...)
		resp, err := http.Post(base+"/v1/completions", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%v: %d %s, want %d", tc.flags, resp.StatusCode, b, tc.status)
		}
	}
	var stderr bytes.Buffer
	if _, err := parseServe([]string{"--model", "x.gguf", "--scheduling-policy", "lifo"}, &stderr); err == nil {
		t.Error("an unknown policy accepted")
	}
}

// vLLM's stop controls on the real stack: stop strings and stop token
// ids end a reply with their stop_reason (streamed too), the matched
// string is kept with include_stop_str_in_output, and min_tokens keeps a
// stop token from ending the reply early.
func TestServeStopControls(t *testing.T) {
	base := startServe(t)
	type reply struct {
		Choices []struct {
			Text         string `json:"text"`
			FinishReason string `json:"finish_reason"`
			StopReason   any    `json:"stop_reason"`
		} `json:"choices"`
		Usage struct {
			CompletionTokens int `json:"completion_tokens"`
		} `json:"usage"`
		Tokens []int32 `json:"tokens"`
	}
	post := func(path string, body map[string]any) reply {
		t.Helper()
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		var r reply
		if err := json.Unmarshal(postOK(t, base+path, string(b)), &r); err != nil {
			t.Fatalf("%s %s: %v", path, b, err)
		}
		return r
	}
	complete := func(extra map[string]any) reply {
		t.Helper()
		body := map[string]any{"prompt": "Once upon a time", "max_tokens": 60, "temperature": 0}
		maps.Copy(body, extra)
		return post("/v1/completions", body)
	}
	plain := complete(nil).Choices[0].Text
	words := strings.Fields(plain)
	if len(words) < 12 {
		t.Fatalf("too short a reply: %q", plain)
	}
	stop := words[10]
	at := strings.Index(plain, stop)
	for _, include := range []bool{false, true} {
		c := complete(map[string]any{"stop": []string{stop}, "include_stop_str_in_output": include}).Choices[0]
		want := plain[:at]
		if include {
			want = plain[:at+len(stop)]
		}
		if c.Text != want || c.FinishReason != "stop" || c.StopReason != stop {
			t.Errorf("stop %q include %v: %q %s %v, want %q", stop, include, c.Text, c.FinishReason, c.StopReason, want)
		}
	}
	resp, err := http.Post(base+"/v1/completions", "application/json", strings.NewReader(
		`{"prompt": "Once upon a time", "max_tokens": 60, "temperature": 0, "stream": true, "stop": ["`+stop+`"]}`))
	if err != nil {
		t.Fatal(err)
	}
	sse, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(sse), `"finish_reason":"stop","stop_reason":"`+stop+`"`) {
		t.Errorf("the stream's last chunk has no stop_reason: %s", sse)
	}

	ids := post("/tokenize", map[string]any{"prompt": plain, "add_special_tokens": false}).Tokens
	stopID := ids[10]
	c := complete(map[string]any{"stop_token_ids": []int32{stopID}})
	first := c.Usage.CompletionTokens
	if ch := c.Choices[0]; ch.FinishReason != "stop" || ch.StopReason != float64(stopID) || !strings.HasPrefix(plain, ch.Text) || len(ch.Text) >= len(plain) {
		t.Fatalf("stop token %d: %q %s %v (plain %q)", stopID, ch.Text, ch.FinishReason, ch.StopReason, plain)
	}
	c = complete(map[string]any{"stop_token_ids": []int32{stopID}, "min_tokens": first + 1})
	if c.Usage.CompletionTokens <= first || !strings.HasPrefix(c.Choices[0].Text, plain[:min(len(plain), 20)]) {
		t.Errorf("min_tokens %d over stop token %d: %d tokens %q", first+1, stopID, c.Usage.CompletionTokens, c.Choices[0].Text)
	}
}

// With --responses-store-dir a conversation outlives the server: a new
// server over the same folder returns the stored response and continues
// it from previous_response_id exactly as the first server would have.
func TestServeResponsesStoreDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "responses")
	params := responses.ResponseNewParams{
		Model: "stories260K", Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("Once upon a time")},
		MaxOutputTokens: openai.Int(16), Temperature: openai.Float(0),
	}
	followUp := func(prev string) responses.ResponseNewParams {
		return responses.ResponseNewParams{
			Model: "stories260K", PreviousResponseID: openai.String(prev), MaxOutputTokens: openai.Int(12), Temperature: openai.Float(0),
			Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("The end")},
		}
	}
	first := openaiClient(startServe(t, "--responses-store-dir", dir))
	resp, err := first.Responses.New(t.Context(), params)
	if err != nil {
		t.Fatal(err)
	}
	want, err := first.Responses.New(t.Context(), followUp(resp.ID))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, resp.ID+".json")); err != nil {
		t.Fatalf("no file for %s: %v", resp.ID, err)
	}

	second := openaiClient(startServe(t, "--responses-store-dir", dir))
	got, err := second.Responses.Get(t.Context(), resp.ID, responses.ResponseGetParams{})
	if err != nil || got.OutputText() != resp.OutputText() {
		t.Fatalf("GET %s after a restart: %v %q, want %q", resp.ID, err, got.OutputText(), resp.OutputText())
	}
	next, err := second.Responses.New(t.Context(), followUp(resp.ID))
	if err != nil {
		t.Fatal(err)
	}
	if next.OutputText() != want.OutputText() || next.Usage.InputTokens != want.Usage.InputTokens {
		t.Errorf("follow-up after a restart: %q (%d input tokens), before: %q (%d)", next.OutputText(), next.Usage.InputTokens, want.OutputText(), want.Usage.InputTokens)
	}
	if err := second.Responses.Delete(t.Context(), resp.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, resp.ID+".json")); !os.IsNotExist(err) {
		t.Errorf("a deleted response kept its file: %v", err)
	}
}

// vLLM's spellings: the model as the first argument, --host and --port,
// --served-model-name and --max-model-len.
func TestServeVLLMFlags(t *testing.T) {
	var stderr bytes.Buffer
	c, err := parseServe([]string{"model.gguf", "--host", "127.0.0.1", "--port", "9000", "--served-model-name", "exaone", "--max-model-len", "512"}, &stderr)
	if err != nil {
		t.Fatalf("%v: %s", err, stderr.String())
	}
	if c.model != "model.gguf" || c.addr != "127.0.0.1:9000" || c.alias != "exaone" || c.nCtx != 512 || c.eng.NCtx != 512 {
		t.Fatalf("config %+v", c)
	}
	if c, err := parseServe([]string{"m.gguf", "--served-model-name", "exaone, claude-sonnet-4-5,claude-haiku-4-5"}, &stderr); err != nil ||
		c.alias != "exaone" || !slices.Equal(c.aliases, []string{"claude-sonnet-4-5", "claude-haiku-4-5"}) {
		t.Fatalf("several names: %v %+v", err, c)
	}
	if c, err := parseServe([]string{"--model", "m.gguf", "--port", "8001"}, &stderr); err != nil || c.addr != ":8001" {
		t.Fatalf("--port alone: %v %+v", err, c)
	}
	for _, bad := range [][]string{
		{"a.gguf", "--model", "b.gguf"},
		{"--model", "m.gguf", "--port", "70000"},
		{"a.gguf", "b.gguf"},
	} {
		if _, err := parseServe(bad, &stderr); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

// greedyCompletion is a 60-token greedy completion of "Once upon a time"
// from model at base, checked to come back under the model's name.
func greedyCompletion(t *testing.T, base, model string) (string, error) {
	client := openaiClient(base)
	c, err := client.Completions.New(t.Context(), openai.CompletionNewParams{
		Model: openai.CompletionNewParamsModel(model), Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String("Once upon a time")},
		MaxTokens: openai.Int(60), Temperature: openai.Float(0),
	})
	if err != nil {
		return "", err
	}
	if c.Model != model {
		return "", fmt.Errorf("reply for model %q, asked %q", c.Model, model)
	}
	return c.Choices[0].Text, nil
}

// alternate sends six greedy completions at once, alternating between
// two models of the server at base, and checks each against its model's
// reply alone.
func alternate(t *testing.T, base string, models, want [2]string) {
	t.Helper()
	var wg sync.WaitGroup
	got := make([]string, 6)
	errs := make([]error, len(got))
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = greedyCompletion(t, base, models[i%2])
		}()
	}
	wg.Wait()
	for i, g := range got {
		if errs[i] != nil || g != want[i%2] {
			t.Errorf("request %d (%s): %q %v, want %q", i, models[i%2], g, errs[i], want[i%2])
		}
	}
}

// Ollama's API on the real stack: /api/generate (raw) and /api/chat give
// the greedy texts of /v1/completions and /v1/chat/completions, streamed
// or not; /api/tags describes the file.
func TestServeOllamaAPI(t *testing.T) {
	base := startServe(t)
	post := func(path, body string) []byte {
		t.Helper()
		return postOK(t, base+path, body)
	}
	// joined reads a reply, whole or NDJSON, and joins its texts.
	joined := func(b []byte, field string) string {
		var sb strings.Builder
		for line := range bytes.Lines(b) {
			var m map[string]any
			if err := json.Unmarshal(line, &m); err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			if field == "response" {
				sb.WriteString(m["response"].(string))
			} else {
				sb.WriteString(m["message"].(map[string]any)["content"].(string))
			}
		}
		return sb.String()
	}
	var cmpl struct {
		Choices []struct{ Text string } `json:"choices"`
	}
	if err := json.Unmarshal(post("/v1/completions", `{"prompt": "Once upon a time", "max_tokens": 40, "temperature": 0}`), &cmpl); err != nil {
		t.Fatal(err)
	}
	for _, stream := range []string{"false", "true"} {
		got := joined(post("/api/generate", `{"model": "stories260K:latest", "prompt": "Once upon a time", "raw": true, "stream": `+stream+`, "options": {"temperature": 0, "num_predict": 40}}`), "response")
		if got != cmpl.Choices[0].Text {
			t.Errorf("/api/generate stream %s: %q, want %q", stream, got, cmpl.Choices[0].Text)
		}
	}
	var chat struct {
		Choices []struct {
			Message struct{ Content string } `json:"message"`
		} `json:"choices"`
	}
	if err := json.Unmarshal(post("/v1/chat/completions", `{"messages": [{"role": "user", "content": "Lily"}], "max_tokens": 30, "temperature": 0}`), &chat); err != nil {
		t.Fatal(err)
	}
	for _, stream := range []string{"false", "true"} {
		got := joined(post("/api/chat", `{"model": "stories260K", "messages": [{"role": "user", "content": "Lily"}], "stream": `+stream+`, "options": {"temperature": 0, "num_predict": 30}}`), "message")
		if got != chat.Choices[0].Message.Content {
			t.Errorf("/api/chat stream %s: %q, want %q", stream, got, chat.Choices[0].Message.Content)
		}
	}
	resp, err := http.Get(base + "/api/tags")
	if err != nil {
		t.Fatal(err)
	}
	tags, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`"name":"stories260K:latest"`, `"family":"llama"`, `"format":"gguf"`, `"quantization_level":"F32"`} {
		if !strings.Contains(string(tags), want) {
			t.Errorf("tags %s: no %s", tags, want)
		}
	}
}

// postOK posts a JSON body to url and returns the reply's body, failing
// the test unless it is a 200.
func postOK(t *testing.T, url, body string) []byte {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	return readOK(t, url, resp, err)
}

// getOK gets url and returns the reply's body, failing the test unless it
// is a 200.
func getOK(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	return readOK(t, url, resp, err)
}

// readOK returns the body of the reply to a request to url, failing the
// test unless it is a 200.
func readOK(t *testing.T, url string, resp *http.Response, err error) []byte {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %d %v %s", url, resp.StatusCode, err, b)
	}
	return b
}
