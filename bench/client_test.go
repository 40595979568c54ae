package bench

import (
	"context"
	"encoding/json"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nuri-ai/nuri/bench/benchtest"
)

var testPrompt = Prompt{ID: "p1", Kind: "question", Messages: []Message{{Role: "user", Content: "하늘은 왜 파란가요?"}},
	Text: "하늘은 왜 파란가요?", MaxTokens: 6, EstInputTokens: 11}

func newTestClient(t *testing.T, base string, ep Endpoint) *Client {
	t.Helper()
	c, err := NewClient(ClientConfig{BaseURL: base, Model: "fake-model", Endpoint: ep, MaxConns: 4, APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// checkTiming asserts the relations every successful record must satisfy.
func checkTiming(t *testing.T, name string, r RequestRecord) {
	t.Helper()
	if r.TTFTMS <= 0 || r.TTFTMS > r.E2ELMS {
		t.Errorf("%s: TTFT %g, E2EL %g", name, r.TTFTMS, r.E2ELMS)
	}
	if len(r.ITLMS) != r.Chunks-1 {
		t.Errorf("%s: %d ITL gaps for %d chunks", name, len(r.ITLMS), r.Chunks)
	}
	sum := r.TTFTMS
	for _, g := range r.ITLMS {
		if g < 0 {
			t.Errorf("%s: negative ITL %g", name, g)
		}
		sum += g
	}
	if sum > r.E2ELMS+1e-6 {
		t.Errorf("%s: TTFT + ΣITL = %g > E2EL %g", name, sum, r.E2ELMS)
	}
	if want := (r.E2ELMS - r.TTFTMS) / float64(r.OutputTokens-1); r.OutputTokens > 1 && math.Abs(r.TPOTMS-want) > 1e-9 {
		t.Errorf("%s: TPOT %g, want (E2EL−TTFT)/(tokens−1) = %g", name, r.TPOTMS, want)
	}
}

func TestStreamVariants(t *testing.T) {
	cases := []struct {
		variant   benchtest.Variant
		endpoint  Endpoint
		outSource string
		done      bool
		timings   bool
	}{
		{benchtest.VLLM, EndpointChat, "usage", true, false},
		{benchtest.VLLM, EndpointCompletions, "usage", true, false},
		{benchtest.LlamaCpp, EndpointChat, "usage", true, true},
		{benchtest.LlamaCppLegacy, EndpointChat, "usage", true, true},
		{benchtest.LlamaCppLegacy, EndpointCompletions, "usage", true, true},
		{benchtest.Ollama, EndpointChat, "usage", true, false},
		{benchtest.Nuri, EndpointChat, "usage", true, true},
		{benchtest.NoUsage, EndpointChat, "chunks", false, false},
		{benchtest.NoUsage, EndpointCompletions, "chunks", false, false},
		{benchtest.Nuri, EndpointResponses, "usage", false, false},
	}
	for _, tc := range cases {
		name := string(tc.variant) + "/" + string(tc.endpoint)
		srv := benchtest.New(benchtest.Config{Variant: tc.variant, Tokens: 5, TokenDelay: time.Millisecond, APIKey: "k"})
		c := newTestClient(t, srv.URL, tc.endpoint)
		rec := c.Stream(context.Background(), testPrompt, 4)
		srv.Close()
		if !rec.OK || rec.Status != "ok" {
			t.Errorf("%s: status %s: %s", name, rec.Status, rec.Error)
			continue
		}
		reqs := srv.Requests()
		if len(reqs) != 1 || !reqs[0].IncludeUsage || !reqs[0].Stream || reqs[0].MaxTokens != 4 || reqs[0].Model != "fake-model" {
			t.Errorf("%s: server saw %+v", name, reqs)
			continue
		}
		wantIn := benchtest.PromptTokens(reqs[0])
		if tc.outSource == "chunks" {
			wantIn = testPrompt.EstInputTokens
		}
		if rec.OutputTokens != 4 || rec.Chunks != 4 || rec.OutputTokensSource != tc.outSource || rec.InputTokens != wantIn {
			t.Errorf("%s: tokens in %d (%s) out %d (%s), chunks %d; want in %d, out 4 from %s",
				name, rec.InputTokens, rec.InputTokensSource, rec.OutputTokens, rec.OutputTokensSource, rec.Chunks, wantIn, tc.outSource)
		}
		if rec.DoneMarker != tc.done || rec.FinishReason != "length" || (len(rec.ServerTimings) > 0) != tc.timings {
			t.Errorf("%s: done %v finish %q timings %s", name, rec.DoneMarker, rec.FinishReason, rec.ServerTimings)
		}
		if rec.OutputChars != 12 { // "말0 " … "말3 "
			t.Errorf("%s: %d output characters", name, rec.OutputChars)
		}
		checkTiming(t, name, rec)
	}
}

func TestStreamFailures(t *testing.T) {
	cases := []struct {
		failure benchtest.Failure
		status  string
		errHas  string
	}{
		{benchtest.Fail500, "http_500", "simulated failure"},
		{benchtest.FailAbort, "stream_truncated", ""},
		{benchtest.FailCleanEOF, "stream_truncated", "before a finish_reason"},
		{benchtest.FailMidLine, "stream_truncated", "middle of a line"},
		{benchtest.FailStreamError, "stream_error", "simulated decode failure"},
	}
	for _, tc := range cases {
		for _, ep := range []Endpoint{EndpointChat, EndpointResponses} {
			srv := benchtest.New(benchtest.Config{Variant: benchtest.VLLM, FailEvery: 1, Failure: tc.failure})
			c := newTestClient(t, srv.URL, ep)
			rec := c.Stream(context.Background(), testPrompt, 8)
			srv.Close()
			if rec.OK || rec.Status != tc.status || !strings.Contains(rec.Error, tc.errHas) {
				t.Errorf("%s %s: ok %v status %q error %q; want %q mentioning %q", ep, tc.failure, rec.OK, rec.Status, rec.Error, tc.status, tc.errHas)
			}
			if rec.E2ELMS <= 0 {
				t.Errorf("%s %s: E2EL %g not measured", ep, tc.failure, rec.E2ELMS)
			}
		}
	}
}

func TestStreamTransportFailures(t *testing.T) {
	// A port nobody listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String()
	l.Close()
	rec := newTestClient(t, dead, EndpointChat).Stream(context.Background(), testPrompt, 8)
	if rec.OK || rec.Status != "connection_refused" {
		t.Errorf("dead port: status %q (%s)", rec.Status, rec.Error)
	}

	slow := benchtest.New(benchtest.Config{FirstDelay: 400 * time.Millisecond})
	defer slow.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	rec = newTestClient(t, slow.URL, EndpointChat).Stream(ctx, testPrompt, 8)
	cancel()
	if rec.Status != "timeout" {
		t.Errorf("slow server: status %q (%s), want timeout", rec.Status, rec.Error)
	}
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	if rec := newTestClient(t, slow.URL, EndpointChat).Stream(ctx, testPrompt, 8); rec.Status != "cancelled" {
		t.Errorf("cancelled run: status %q", rec.Status)
	}

	jsonSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"choices":[{"message":{"content":"hi"}}]}`))
	}))
	defer jsonSrv.Close()
	if rec := newTestClient(t, jsonSrv.URL, EndpointChat).Stream(context.Background(), testPrompt, 8); rec.Status != "not_streaming" {
		t.Errorf("non-streaming server: status %q", rec.Status)
	}

	auth := benchtest.New(benchtest.Config{APIKey: "secret"})
	defer auth.Close()
	badKey, err := NewClient(ClientConfig{BaseURL: auth.URL, Model: "m", APIKey: "wrong"})
	if err != nil {
		t.Fatal(err)
	}
	defer badKey.Close()
	if rec := badKey.Stream(context.Background(), testPrompt, 8); rec.Status != "http_401" || !strings.Contains(rec.Error, "invalid api key") {
		t.Errorf("wrong key: status %q error %q", rec.Status, rec.Error)
	}
}

func TestEmptyOutput(t *testing.T) {
	// A stream with a finish but no text (an immediate end of sequence).
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Write([]byte("data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n"))
		time.Sleep(5 * time.Millisecond)
		w.Write([]byte("data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"))
		w.Write([]byte("data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1}}\n\ndata: [DONE]\n\n"))
	}))
	defer srv.Close()
	rec := newTestClient(t, srv.URL, EndpointChat).Stream(context.Background(), testPrompt, 8)
	if !rec.OK || !rec.EmptyOutput || rec.Chunks != 0 || rec.OutputTokens != 1 || rec.TTFTMS < 5 || rec.TTFTMS > rec.E2ELMS || rec.TPOTMS != 0 {
		t.Errorf("empty output: %+v", rec)
	}
}

// TestEmbeddingsEndpoint: --endpoint embeddings posts the prompt's text to
// /v1/embeddings and records the answer's latency and usage; an answer
// without a vector fails the request.
func TestEmbeddingsEndpoint(t *testing.T) {
	var mu sync.Mutex
	var gotPath, gotInput string
	answer := `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.6,0.8]}],"usage":{"prompt_tokens":9,"total_tokens":9}}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Input string `json:"input"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		mu.Lock()
		gotPath, gotInput = r.URL.Path, body.Input
		a := answer
		mu.Unlock()
		time.Sleep(5 * time.Millisecond)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(a))
	}))
	defer srv.Close()
	c := newTestClient(t, srv.URL, EndpointEmbeddings)
	rec := c.Stream(context.Background(), testPrompt, 8)
	mu.Lock()
	if gotPath != "/v1/embeddings" || gotInput != testPrompt.Text {
		t.Errorf("sent %q to %s", gotInput, gotPath)
	}
	mu.Unlock()
	if !rec.OK || rec.InputTokens != 9 || rec.InputTokensSource != "usage" || rec.OutputTokens != 0 || rec.E2ELMS < 5 || rec.TTFTMS != rec.E2ELMS {
		t.Errorf("record %+v", rec)
	}
	mu.Lock()
	answer = `{"object":"list","data":[]}`
	mu.Unlock()
	if rec := c.Stream(context.Background(), testPrompt, 8); rec.OK || rec.Status != "bad_chunk" {
		t.Errorf("no vector: %+v", rec)
	}
}

func TestAPIRoot(t *testing.T) {
	cases := []struct{ in, want string }{
		{"http://h:8000", "http://h:8000/v1"},
		{"http://h:8000/", "http://h:8000/v1"},
		{"http://h:11434/v1", "http://h:11434/v1"},
		{"http://h:11434/v1/", "http://h:11434/v1"},
		{"https://h/proxy/llm", "https://h/proxy/llm/v1"},
	}
	for _, tc := range cases {
		if got, err := APIRoot(tc.in); err != nil || got != tc.want {
			t.Errorf("APIRoot(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "localhost:8080", "ftp://h", "http://", "::"} {
		if _, err := APIRoot(bad); err == nil {
			t.Errorf("APIRoot(%q): no error", bad)
		}
	}
	if _, err := NewClient(ClientConfig{BaseURL: "http://h", Endpoint: "images"}); err == nil {
		t.Error("unknown endpoint accepted")
	}
}

func TestModels(t *testing.T) {
	srv := benchtest.New(benchtest.Config{Model: "stories", APIKey: "k"})
	defer srv.Close()
	raw, ids, err := newTestClient(t, srv.URL, EndpointChat).Models(context.Background())
	if err != nil || len(ids) != 1 || ids[0] != "stories" || !strings.Contains(string(raw), `"owned_by":"benchtest"`) {
		t.Errorf("models: %s %v %v", raw, ids, err)
	}
	noauth, _ := NewClient(ClientConfig{BaseURL: srv.URL})
	defer noauth.Close()
	if _, _, err := noauth.Models(context.Background()); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("models without key: %v", err)
	}
}

// The Responses API's events: deltas of text, reasoning and call
// arguments are output, the final event carries the finish and usage, a
// failed response or an error event fails the request.
// applyEvents folds a stream's chunks into a record until one fails,
// returning the failure's status ("" for none).
func applyEvents(events []string, now time.Time) (RequestRecord, streamState, string) {
	rec := RequestRecord{started: now}
	var st streamState
	for _, ev := range events {
		if status, err := rec.applyChunk(&st, []byte(ev), now.Add(time.Millisecond)); err != nil {
			return rec, st, status
		}
	}
	return rec, st, ""
}

func TestResponseEvents(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		events         []string
		status, finish string
		chunks, out    int
	}{
		{[]string{`{"type":"response.created","response":{"status":"in_progress","usage":null}}`,
			`{"type":"response.reasoning_text.delta","delta":"생각"}`, `{"type":"response.output_text.delta","delta":"답"}`,
			`{"type":"response.function_call_arguments.delta","delta":"{}"}`,
			`{"type":"response.completed","response":{"status":"completed","usage":{"input_tokens":7,"output_tokens":3}}}`},
			"", "stop", 3, 3},
		{[]string{`{"type":"response.output_text.delta","delta":"답"}`,
			`{"type":"response.incomplete","response":{"status":"incomplete","incomplete_details":{"reason":"max_output_tokens"},"usage":{"input_tokens":7,"output_tokens":1}}}`},
			"", "length", 1, 1},
		{[]string{`{"type":"response.output_text.delta","delta":"답"}`,
			`{"type":"response.failed","response":{"status":"failed","error":{"code":"server_error","message":"generation failed"}}}`},
			"stream_error", "", 1, 0},
		{[]string{`{"type":"error","code":"x","message":"bad"}`}, "stream_error", "", 0, 0},
		{[]string{`{"type":"response.output_text.delta","delta":5}`}, "bad_chunk", "", 0, 0},
	} {
		rec, st, status := applyEvents(tc.events, now)
		if status != tc.status || rec.FinishReason != tc.finish || rec.Chunks != tc.chunks || (tc.out > 0 && (!st.haveUsage || st.usageOut != tc.out || st.usageIn != 7)) {
			t.Errorf("%v: status %q finish %q chunks %d usage %+v", tc.events, status, rec.FinishReason, rec.Chunks, st)
		}
	}
}

// Anthropic's Messages events: text, thinking and tool-input deltas are
// output; message_start gives the prompt's tokens (cached ones included),
// message_delta the stop reason and the output's; an error object fails
// the stream.
func TestMessagesEvents(t *testing.T) {
	now := time.Now()
	start := `{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"usage":{"input_tokens":3,"cache_read_input_tokens":4,"output_tokens":0}}}`
	for _, tc := range []struct {
		events         []string
		status, finish string
		chunks, out    int
	}{
		{[]string{start, `{"type":"ping"}`, `{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}`,
			`{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"생각"}}`, `{"type":"content_block_stop","index":0}`,
			`{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"답"}}`,
			`{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{}"}}`,
			`{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":3}}`, `{"type":"message_stop"}`},
			"", "tool_calls", 3, 3},
		{[]string{start, `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"답"}}`,
			`{"type":"message_delta","delta":{"stop_reason":"max_tokens","stop_sequence":null},"usage":{"output_tokens":1}}`},
			"", "length", 1, 1},
		{[]string{start, `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"답"}}`,
			`{"type":"error","error":{"type":"api_error","message":"generation failed"}}`},
			"stream_error", "", 1, 0},
		{[]string{`{"type":"content_block_delta","index":0,"delta":"x"}`}, "bad_chunk", "", 0, 0},
	} {
		rec, st, status := applyEvents(tc.events, now)
		if status != tc.status || rec.FinishReason != tc.finish || rec.Chunks != tc.chunks || (tc.out > 0 && (!st.haveUsage || st.usageOut != tc.out || st.usageIn != 7)) {
			t.Errorf("%v: status %q finish %q chunks %d usage %+v", tc.events, status, rec.FinishReason, rec.Chunks, st)
		}
	}
}
