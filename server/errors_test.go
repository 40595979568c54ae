package server

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nuri-ai/nuri/chat"
	"github.com/nuri-ai/nuri/engine"
)

// checkErrorShape asserts OpenAI's error object: message, type, and the
// param and code keys present (null or string).
func checkErrorShape(t *testing.T, body []byte, wantParam, wantCode string) {
	t.Helper()
	var raw map[string]map[string]any
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatalf("error body is not JSON: %v: %s", err, body)
	}
	e, ok := raw["error"]
	if !ok {
		t.Fatalf("no error object: %s", body)
	}
	for _, k := range []string{"message", "type", "param", "code"} {
		if _, ok := e[k]; !ok {
			t.Errorf("error object lacks %q: %s", k, body)
		}
	}
	if m, _ := e["message"].(string); m == "" {
		t.Errorf("empty message: %s", body)
	}
	if p, _ := e["param"].(string); p != wantParam {
		t.Errorf("param %q, want %q: %s", p, wantParam, body)
	}
	if wantCode != "" {
		if c, _ := e["code"].(string); c != wantCode {
			t.Errorf("code %q, want %q: %s", c, wantCode, body)
		}
	}
}

func TestErrorStatuses(t *testing.T) {
	ts := newTestServer(t, Config{MaxBodyBytes: 4096}, "ok")
	long := strings.Repeat("x", 300) // 301 tokens with BOS > nCtx 256
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		param, code              string
	}{
		{"malformed JSON", "POST", "/v1/completions", `{"prompt": "a",`, 400, "", ""},
		{"not an object", "POST", "/v1/completions", `["prompt"]`, 400, "", ""},
		{"empty body", "POST", "/v1/chat/completions", ``, 400, "", ""},
		{"wrong type", "POST", "/v1/completions", `{"prompt":"a","max_tokens":"many"}`, 400, "max_tokens", ""},
		{"temperature range", "POST", "/v1/completions", `{"prompt":"a","temperature":5}`, 400, "temperature", ""},
		{"top_p zero", "POST", "/v1/completions", `{"prompt":"a","top_p":0}`, 400, "top_p", ""},
		{"n zero", "POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"a"}],"n":0}`, 400, "n", ""},
		{"max_tokens zero", "POST", "/v1/completions", `{"prompt":"a","max_tokens":0}`, 400, "max_tokens", ""},
		{"max_tokens negative with echo", "POST", "/v1/completions", `{"prompt":"a","max_tokens":-1,"echo":true}`, 400, "max_tokens", ""},
		{"chat max_tokens zero", "POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"a"}],"max_tokens":0}`, 400, "max_tokens", ""},
		{"logit bias key", "POST", "/v1/completions", `{"prompt":"a","logit_bias":{"999999":1}}`, 400, "logit_bias", ""},
		{"top_logprobs without logprobs", "POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"a"}],"top_logprobs":2}`, 400, "top_logprobs", ""},
		{"missing prompt", "POST", "/v1/completions", `{"max_tokens":3}`, 400, "prompt", ""},
		{"bad prompt type", "POST", "/v1/completions", `{"prompt":{"a":1}}`, 400, "", ""},
		{"token out of vocab", "POST", "/v1/completions", `{"prompt":[1,99999]}`, 400, "prompt", ""},
		{"no messages", "POST", "/v1/chat/completions", `{"messages":[]}`, 400, "messages", ""},
		{"bad role", "POST", "/v1/chat/completions", `{"messages":[{"role":"wizard","content":"a"}]}`, 400, "messages[0].role", ""},
		{"image part", "POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}`, 400, "messages[0].content", "unsupported_parameter"},
		{"tools", "POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"a"}],"tools":[{"type":"function","function":{"name":"f"}}]}`, 400, "tools", "unsupported_parameter"},
		{"response_format", "POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"a"}],"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"integer","multipleOf":0.1}}}}`, 400, "response_format.json_schema.schema", "unsupported_parameter"},
		{"response_format without json_schema", "POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"a"}],"response_format":{"type":"json_schema"}}`, 400, "response_format.json_schema", ""},
		{"response_format type", "POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"a"}],"response_format":{"type":"yaml"}}`, 400, "response_format.type", ""},
		{"response_format not an object", "POST", "/v1/completions", `{"prompt":"a","response_format":"json"}`, 400, "response_format", ""},
		{"stream_options without stream", "POST", "/v1/completions", `{"prompt":"a","stream_options":{"include_usage":true}}`, 400, "stream_options", ""},
		{"prompt over context", "POST", "/v1/completions", `{"prompt":"` + long + `"}`, 400, "", "context_length_exceeded"},
		{"unknown model", "POST", "/v1/completions", `{"model":"gpt-4","prompt":"a"}`, 404, "model", "model_not_found"},
		{"unknown route", "GET", "/v1/nothing", ``, 404, "", "not_found"},
		{"wrong method", "GET", "/v1/completions", ``, 405, "", ""},
		{"body over limit", "POST", "/v1/completions", `{"prompt":"` + strings.Repeat("a", 5000) + `"}`, 413, "", "request_too_large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := ts.do(tc.method, tc.path, tc.body)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, body)
			}
			checkErrorShape(t, body, tc.param, tc.code)
		})
	}
}

func TestQueueFullIs429(t *testing.T) {
	ts := newTestServer(t, Config{}, "ok")
	ts.eng.queueCap = 1
	ts.eng.delay = 50 * time.Millisecond
	// n=2: the second choice does not fit, so the request is refused and
	// the first choice cancelled.
	status, hdr, body := ts.do("POST", "/v1/completions", `{"prompt":"a","n":2}`)
	if status != http.StatusTooManyRequests || hdr.Get("Retry-After") == "" {
		t.Fatalf("status %d, Retry-After %q: %s", status, hdr.Get("Retry-After"), body)
	}
	checkErrorShape(t, body, "", "queue_full")
	ts.eng.mu.Lock()
	first := ts.eng.seqs[0]
	ts.eng.mu.Unlock()
	if !first.cancelled.Load() {
		t.Error("the already-submitted choice was not cancelled")
	}
}

func TestLoadingAndDrainingAre503(t *testing.T) {
	srv, err := New(Config{ModelName: "m"})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	ts := &testServer{t: t, srv: srv, url: "http://" + ln.Addr().String()}
	for _, path := range []string{"/health", "/v1/completions"} {
		method := map[string]string{"/health": "GET", "/v1/completions": "POST"}[path]
		status, _, body := ts.do(method, path, `{"prompt":"a"}`)
		if status != http.StatusServiceUnavailable {
			t.Errorf("%s while loading: %d %s", path, status, body)
		}
		if path != "/health" {
			checkErrorShape(t, body, "", "service_unavailable")
		}
	}
	r, _ := chat.NewBuiltin("chatml")
	if err := srv.SetBackend(&Backend{Engine: &fakeEngine{nCtx: 64, reply: func(engine.Request) string { return "x" }}, Tokenizer: fakeTokenizer{}, Chat: r}); err != nil {
		t.Fatal(err)
	}
	if status, _, _ := ts.do("GET", "/health", ""); status != 200 {
		t.Errorf("health when ready: %d", status)
	}
	// draining: the handler answers 503 for health and API routes
	srv.state.Store(stateDraining)
	for _, path := range []string{"/health", "/v1/completions"} {
		method := map[string]string{"/health": "GET", "/v1/completions": "POST"}[path]
		if status, _, _ := ts.do(method, path, `{"prompt":"a"}`); status != http.StatusServiceUnavailable {
			t.Errorf("%s while draining: %d", path, status)
		}
	}
	_ = srv.Shutdown(t.Context())
}

func TestAuth(t *testing.T) {
	ts := newTestServer(t, Config{APIKeys: []string{"k1", "secret-2"}}, "ok")
	for _, tc := range []struct {
		name, method, path, auth string
		status                   int
	}{
		{"health needs no key", "GET", "/health", "", 200},
		{"metrics needs no key", "GET", "/metrics", "", 200},
		{"missing key", "GET", "/v1/models", "", 401},
		{"wrong key", "GET", "/v1/models", "Bearer nope", 401},
		{"prefix of a key", "GET", "/v1/models", "Bearer secret", 401},
		{"not bearer", "GET", "/v1/models", "Basic k1", 401},
		{"first key", "GET", "/v1/models", "Bearer k1", 200},
		{"second key", "POST", "/v1/completions", "Bearer secret-2", 200},
	} {
		hdr := []string{}
		if tc.auth != "" {
			hdr = []string{"Authorization", tc.auth}
		}
		status, _, body := ts.do(tc.method, tc.path, `{"prompt":"a"}`, hdr...)
		if status != tc.status {
			t.Errorf("%s: status %d, want %d: %s", tc.name, status, tc.status, body)
		}
		if tc.status == 401 {
			checkErrorShape(t, body, "", "invalid_api_key")
		}
	}
}

func TestCORS(t *testing.T) {
	off := newTestServer(t, Config{}, "ok")
	if _, hdr, _ := off.do("GET", "/v1/models", "", "Origin", "https://a.example"); hdr.Get("Access-Control-Allow-Origin") != "" {
		t.Error("CORS header sent while CORS is off")
	}
	on := newTestServer(t, Config{CORSOrigins: []string{"https://a.example"}, APIKeys: []string{"k"}}, "ok")
	if _, hdr, _ := on.do("GET", "/v1/models", "", "Origin", "https://a.example", "Authorization", "Bearer k"); hdr.Get("Access-Control-Allow-Origin") != "https://a.example" {
		t.Errorf("allowed origin: headers %v", hdr)
	}
	if _, hdr, _ := on.do("GET", "/v1/models", "", "Origin", "https://evil.example", "Authorization", "Bearer k"); hdr.Get("Access-Control-Allow-Origin") != "" {
		t.Error("CORS header for an origin not on the list")
	}
	status, hdr, _ := on.do("OPTIONS", "/v1/chat/completions", "", "Origin", "https://a.example", "Access-Control-Request-Method", "POST")
	if status != http.StatusNoContent || !strings.Contains(hdr.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Errorf("preflight: %d %v", status, hdr)
	}
}

// TestHugeBodyRefused sends the headers of a 100 MB body and a little of
// it: the server must answer 413 from Content-Length without reading it.
func TestHugeBodyRefused(t *testing.T) {
	ts := newTestServer(t, Config{}, "ok")
	conn, err := net.Dial("tcp", strings.TrimPrefix(ts.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const size = 100 << 20
	fmt.Fprintf(conn, "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", size)
	sent := 0
	chunk := []byte(strings.Repeat("a", 64<<10))
	_ = conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	for sent < 1<<20 { // at most 1 MiB of the 100 MB
		n, err := conn.Write(chunk)
		sent += n
		if err != nil {
			break
		}
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no response after %d bytes: %v", sent, err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	checkErrorShape(t, body, "", "request_too_large")
	if status, _, _ := ts.do("GET", "/health", ""); status != 200 {
		t.Errorf("server unhealthy after the huge body: %d", status)
	}
}

// TestMalformedJSONBodies mutates valid requests into 200 invalid JSON
// documents; every one must get a 400 and the server must stay healthy.
func TestMalformedJSONBodies(t *testing.T) {
	ts := newTestServer(t, Config{}, "ok")
	valid := []string{
		`{"model":"fake-model","prompt":"안녕하세요","max_tokens":3,"stop":["a"],"logit_bias":{"5":1}}`,
		`{"messages":[{"role":"user","content":"안녕"}],"stream":true,"n":2,"temperature":0.5}`,
	}
	rng := rand.New(rand.NewSource(7))
	junk := []string{"{", "}", "[", "]", ",", ":", `"`, "\\", "\x00", "\xff", "tru", "nul", "1e", "-", "\n"}
	n := 0
	for n < 200 {
		b := []byte(valid[rng.Intn(len(valid))])
		switch rng.Intn(3) {
		case 0: // truncate
			b = b[:rng.Intn(len(b)-1)+1]
		case 1: // insert junk
			i := rng.Intn(len(b))
			b = append(b[:i], append([]byte(junk[rng.Intn(len(junk))]), b[i:]...)...)
		case 2: // delete a byte
			i := rng.Intn(len(b))
			b = append(b[:i], b[i+1:]...)
		}
		if json.Valid(b) || len(b) == 0 {
			continue
		}
		path := "/v1/completions"
		if strings.Contains(string(b), "messages") {
			path = "/v1/chat/completions"
		}
		status, _, body := ts.do("POST", path, string(b))
		if status != 400 {
			t.Fatalf("body %q: status %d: %s", b, status, body)
		}
		checkErrorShape(t, body, "", "")
		n++
	}
	if status, _, _ := ts.do("GET", "/health", ""); status != 200 {
		t.Errorf("unhealthy after malformed bodies: %d", status)
	}
	if status, _, body := ts.do("POST", "/v1/completions", `{"prompt":"a"}`); status != 200 {
		t.Errorf("valid request after malformed bodies: %d %s", status, body)
	}
}

func TestPanicIs500ForThatRequestOnly(t *testing.T) {
	ts := newTestServer(t, Config{}, "ok")
	ts.eng.reply = func(r engine.Request) string {
		if len(r.Prompt) > 1 && r.Prompt[1] == int32('!')+3 {
			return "PANIC"
		}
		return "fine"
	}
	status, _, body := ts.do("POST", "/v1/completions", `{"prompt":"!boom"}`)
	if status != 500 {
		t.Fatalf("status %d: %s", status, body)
	}
	checkErrorShape(t, body, "", "internal_error")
	if strings.Contains(string(body), "fake engine") {
		t.Errorf("panic detail leaked to the client: %s", body)
	}
	status, _, body = ts.do("POST", "/v1/completions", `{"prompt":"ok"}`)
	if status != 200 || !strings.Contains(string(body), "fine") {
		t.Errorf("after the panic: %d %s", status, body)
	}
}

func TestStatusOfMapping(t *testing.T) {
	for _, tc := range []struct {
		err    error
		status int
	}{
		{engine.ErrQueueFull, 429},
		{fmt.Errorf("submit: %w", engine.ErrPromptTooLong), 400},
		{engine.ErrEmptyPrompt, 400},
		{engine.ErrInvalidRequest, 400},
		{engine.ErrClosed, 503},
		{&chat.RaiseError{Msg: "x"}, 400},
		{ErrUnauthorized, 401},
		{ErrModelNotFound, 404},
		{ErrBodyTooLarge, 413},
		{ErrDraining, 503},
		{errors.New("something else"), 500},
	} {
		if got, _, _ := statusOf(tc.err); got != tc.status {
			t.Errorf("statusOf(%v) = %d, want %d", tc.err, got, tc.status)
		}
	}
}
