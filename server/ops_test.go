package server

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

func TestCompression(t *testing.T) {
	reply := strings.Repeat("압축 테스트 compression ", 100)
	ts := newTestServer(t, Config{}, reply)
	req := `{"prompt":"a","max_tokens":5000}`
	for _, tc := range []struct{ accept, want string }{
		{"gzip", "gzip"},
		{"zstd", "zstd"},
		{"gzip, zstd", "zstd"},
		{"gzip;q=1, zstd;q=0.5", "gzip"},
		{"br", ""},
		{"", ""},
	} {
		status, hdr, body := ts.do("POST", "/v1/completions", req, "Accept-Encoding", tc.accept)
		if status != 200 || hdr.Get("Content-Encoding") != tc.want {
			t.Fatalf("Accept-Encoding %q: status %d, Content-Encoding %q, want %q", tc.accept, status, hdr.Get("Content-Encoding"), tc.want)
		}
		var plain []byte
		var err error
		switch tc.want {
		case "gzip":
			var zr *gzip.Reader
			if zr, err = gzip.NewReader(bytes.NewReader(body)); err == nil {
				plain, err = io.ReadAll(zr)
			}
		case "zstd":
			var zr *zstd.Decoder
			if zr, err = zstd.NewReader(bytes.NewReader(body)); err == nil {
				plain, err = io.ReadAll(zr)
				zr.Close()
			}
		default:
			plain = body
		}
		if err != nil {
			t.Fatalf("%s: decompress: %v", tc.accept, err)
		}
		if !bytes.Contains(plain, []byte(reply)) {
			t.Errorf("%s: decompressed body does not hold the reply", tc.accept)
		}
		if tc.want != "" && len(body) >= len(plain) {
			t.Errorf("%s: %d compressed bytes for %d plain", tc.accept, len(body), len(plain))
		}
	}
}

func TestPickEncoding(t *testing.T) {
	for h, want := range map[string]string{
		"": "", "identity": "", "gzip": "gzip", "GZIP": "gzip", "deflate, gzip;q=0.8": "gzip",
		"zstd;q=0": "", "*": "zstd", "gzip;q=0.9, *;q=0.1": "gzip", "gzip;q=bad": "",
	} {
		if got := pickEncoding(h); got != want {
			t.Errorf("pickEncoding(%q) = %q, want %q", h, got, want)
		}
	}
}

func TestUTF8Holdback(t *testing.T) {
	var h utf8Holdback
	var out strings.Builder
	in := "가나다 😀 a"
	for i := 0; i < len(in); i++ {
		d := h.push(in[i : i+1])
		if strings.ContainsRune(d, '\uFFFD') {
			t.Fatalf("delta %q holds a broken character", d)
		}
		out.WriteString(d)
	}
	out.WriteString(h.flush())
	if out.String() != in {
		t.Errorf("got %q, want %q", out.String(), in)
	}
	h.push("\xea\xb0") // half of 가 at the very end
	if f := h.flush(); f != "\uFFFD" {
		t.Errorf("flush of a partial character = %q, want U+FFFD", f)
	}
}

var sampleRe = regexp.MustCompile(`(?m)^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$`)

// scrape returns every sample of /metrics keyed by "name{labels}".
func scrape(t *testing.T, ts *testServer) (map[string]float64, string) {
	t.Helper()
	status, hdr, body := ts.do("GET", "/metrics", "")
	if status != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/plain") {
		t.Fatalf("metrics: %d %v", status, hdr)
	}
	out := map[string]float64{}
	for _, m := range sampleRe.FindAllStringSubmatch(string(body), -1) {
		v, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			t.Fatalf("bad sample value in %q", m[0])
		}
		out[m[1]+m[2]] = v
	}
	return out, string(body)
}

func TestMetricsCounts(t *testing.T) {
	ts := newTestServer(t, Config{ModelName: "m"}, "abcdef")
	ts.srv.Metrics().SetCacheInfo(map[string]string{"block_size": "16", "cache_dtype": "f16"})
	ts.do("POST", "/v1/completions", `{"prompt":"xy","max_tokens":4}`)                  // 3 prompt, 4 gen, length
	ts.do("POST", "/v1/completions", `{"prompt":"x","max_tokens":100}`)                 // 2 prompt, 6 gen, stop
	ts.do("POST", "/v1/completions", `{"prompt":"x","max_tokens":100,"stream":true}`)   // 2 prompt, 6 gen, stop
	ts.do("POST", "/v1/completions", `{"prompt":"toolongfor-nothing","temperature":9}`) // 400: not counted
	got, text := scrape(t, ts)
	l := `{model_name="m"}`
	want := map[string]float64{
		"vllm:prompt_tokens_total" + l:                                             7,
		"vllm:generation_tokens_total" + l:                                         16,
		`vllm:request_success_total{model_name="m",finished_reason="stop"}`:        2,
		`vllm:request_success_total{model_name="m",finished_reason="length"}`:      1,
		`vllm:request_success_total{model_name="m",finished_reason="abort"}`:       0,
		"vllm:time_to_first_token_seconds_count" + l:                               3,
		"vllm:e2e_request_latency_seconds_count" + l:                               3,
		"vllm:request_queue_time_seconds_count" + l:                                3,
		"vllm:inter_token_latency_seconds_count" + l:                               13, // 3+5+5 gaps
		"vllm:num_requests_running" + l:                                            0,
		"vllm:num_requests_waiting" + l:                                            0,
		"vllm:kv_cache_usage_perc" + l:                                             0,
		`vllm:cache_config_info{model_name="m",block_size="16",cache_dtype="f16"}`: 1,
		"vllm:prefix_cache_queries_total" + l:                                      10,
		"vllm:prefix_cache_hits_total" + l:                                         4,
		"vllm:num_preemptions_total" + l:                                           1,
	}
	for k, v := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("metric %s missing", k)
		} else if g != v {
			t.Errorf("%s = %v, want %v", k, g, v)
		}
	}
	for _, name := range []string{"go_goroutines", "go_memstats_alloc_bytes", "process_start_time_seconds"} {
		if _, ok := got[name]; !ok {
			t.Errorf("process metric %s missing", name)
		}
	}
	// histogram buckets are cumulative and end with +Inf = count
	if got[`vllm:time_to_first_token_seconds_bucket{model_name="m",le="+Inf"}`] != 3 {
		t.Errorf("+Inf bucket wrong:\n%s", text)
	}
}

// TestClientDisconnectCancels closes the connection mid-stream on every
// streaming route; the sequence must be cancelled promptly.
func TestClientDisconnectCancels(t *testing.T) {
	for _, tc := range []struct{ path, body, first string }{
		{"/v1/completions", `{"prompt":"a","stream":true,"max_tokens":6000}`, "data: "},
		{"/v1/chat/completions", `{"messages":[{"role":"user","content":"a"}],"stream":true}`, "data: "},
		{"/v1/responses", `{"input":"a","stream":true}`, "data: "},
		{"/v1/messages", `{"max_tokens":6000,"messages":[{"role":"user","content":"a"}],"stream":true}`, "data: "},
		{"/api/chat", `{"messages":[{"role":"user","content":"a"}]}`, "{"},
		{"/completion", `{"prompt":"a","stream":true}`, "data: "},
	} {
		t.Run(strings.TrimPrefix(tc.path, "/"), func(t *testing.T) {
			ts := newTestServer(t, Config{}, strings.Repeat("가", 2000))
			ts.eng.delay = 5 * time.Millisecond
			conn, err := net.Dial("tcp", strings.TrimPrefix(ts.url, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", tc.path, len(tc.body), tc.body)
			r := bufio.NewReader(conn)
			_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					t.Fatalf("reading stream: %v", err)
				}
				if strings.HasPrefix(line, tc.first) {
					break
				}
			}
			conn.Close()
			waitCancelled(t, ts)
		})
	}
}

// waitCancelled fails t unless the first sequence is cancelled within 3 s
// (the client has just closed its connection).
func waitCancelled(t *testing.T, ts *testServer) {
	t.Helper()
	for closed := time.Now(); time.Since(closed) < 3*time.Second; time.Sleep(10 * time.Millisecond) {
		ts.eng.mu.Lock()
		s := ts.eng.seqs[0]
		ts.eng.mu.Unlock()
		if s.cancelled.Load() {
			return
		}
	}
	t.Fatal("sequence not cancelled 3 s after the client went away")
}

// TestClientDisconnectCancelsWhole: a client that gives up on an answer
// it asked for whole (no stream, so nothing is written until the end)
// gets its sequences cancelled too, on every route.
func TestClientDisconnectCancelsWhole(t *testing.T) {
	for _, tc := range []struct{ path, body string }{
		{"/v1/completions", `{"prompt":"a","max_tokens":6000}`},
		{"/v1/chat/completions", `{"messages":[{"role":"user","content":"a"}]}`},
		{"/v1/responses", `{"input":"a"}`},
		{"/v1/messages", `{"max_tokens":6000,"messages":[{"role":"user","content":"a"}]}`},
		{"/api/chat", `{"messages":[{"role":"user","content":"a"}],"stream":false}`},
		{"/completion", `{"prompt":"a"}`},
	} {
		t.Run(strings.TrimPrefix(tc.path, "/"), func(t *testing.T) {
			ts := newTestServer(t, Config{}, strings.Repeat("가", 2000))
			ts.eng.delay = 5 * time.Millisecond // 10 s to the end
			conn, err := net.Dial("tcp", strings.TrimPrefix(ts.url, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", tc.path, len(tc.body), tc.body)
			deadline := time.Now().Add(3 * time.Second)
			for ts.eng.Stats().Running == 0 {
				if time.Now().After(deadline) {
					t.Fatal("no sequence running")
				}
				time.Sleep(5 * time.Millisecond)
			}
			conn.Close()
			waitCancelled(t, ts)
		})
	}
}

// TestClientStillThereNotCancelled: the watch must not mistake a quiet
// client for a gone one; a whole answer arrives in full.
func TestClientStillThereNotCancelled(t *testing.T) {
	ts := newTestServer(t, Config{}, strings.Repeat("x", 80))
	ts.eng.delay = 10 * time.Millisecond // 0.8 s: several polls
	status, _, body := ts.do("POST", "/v1/completions", `{"prompt":"a","max_tokens":100}`)
	if status != 200 || !strings.Contains(string(body), strings.Repeat("x", 80)) || !strings.Contains(string(body), `"finish_reason":"stop"`) {
		t.Fatalf("status %d body %s", status, body)
	}
}

// TestGracefulShutdown: an in-flight stream finishes during the drain.
func TestGracefulShutdown(t *testing.T) {
	ts := newTestServer(t, Config{}, strings.Repeat("x", 40))
	ts.eng.delay = 10 * time.Millisecond // ~0.4 s of streaming
	type result struct {
		status int
		body   string
	}
	res := make(chan result, 1)
	go func() {
		status, _, body := ts.do("POST", "/v1/completions", `{"prompt":"a","stream":true,"max_tokens":100}`)
		res <- result{status, string(body)}
	}()
	for ts.eng.Stats().Running == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ts.srv.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	r := <-res
	if r.status != 200 || !strings.HasSuffix(r.body, "data: [DONE]\n\n") || !strings.Contains(r.body, `"finish_reason":"stop"`) {
		t.Errorf("stream did not finish cleanly: %d %q", r.status, r.body)
	}
	if ts.srv.Ready() {
		t.Error("server still ready after shutdown")
	}
}

// TestShutdownTimeoutCancels: a stream longer than the drain bound is
// cancelled, and Shutdown says so.
func TestShutdownTimeoutCancels(t *testing.T) {
	ts := newTestServer(t, Config{}, strings.Repeat("x", 5000))
	ts.eng.delay = 10 * time.Millisecond
	res := make(chan string, 1)
	go func() {
		_, _, body := ts.do("POST", "/v1/completions", `{"prompt":"a","stream":true,"max_tokens":6000}`)
		res <- string(body)
	}()
	for ts.eng.Stats().Running == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := ts.srv.Shutdown(ctx); err == nil {
		t.Error("shutdown reported a complete drain")
	}
	body := <-res
	if !strings.Contains(body, `"finish_reason":"abort"`) {
		t.Errorf("cut stream has no abort finish: %q", body[max(0, len(body)-300):])
	}
}

// A generation that fails mid-stream ends every streaming route with its
// API's error, not a clean finish (the OpenAI streams then close with
// [DONE], as vLLM's do).
func TestStreamGenerationFailure(t *testing.T) {
	ts := newTestServer(t, Config{}, "FAIL:x")
	for _, tc := range []struct{ path, body, want, clean string }{
		{"/v1/completions", `{"prompt":"a","stream":true}`, `"type":"server_error"`, `"finish_reason":"stop"`},
		{"/v1/chat/completions", `{"messages":[{"role":"user","content":"a"}],"stream":true}`, `"type":"server_error"`, `"finish_reason":"stop"`},
		{"/v1/responses", `{"input":"a","stream":true}`, `"type":"response.failed"`, `response.completed`},
		{"/v1/messages", `{"max_tokens":9,"messages":[{"role":"user","content":"a"}],"stream":true}`, "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\"", "message_stop"},
		{"/api/chat", `{"messages":[{"role":"user","content":"a"}]}`, `{"error":"generation failed"}`, `"done":true`},
		{"/completion", `{"prompt":"a","stream":true}`, `"type":"server_error"`, `"stop":true`},
	} {
		status, _, body := ts.do("POST", tc.path, tc.body)
		if status != 200 || !strings.Contains(string(body), tc.want) || strings.Contains(string(body), tc.clean) {
			t.Errorf("%s: %d %s, want %s and no %s", tc.path, status, body, tc.want, tc.clean)
		}
	}
	if status, _, body := ts.do("POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"a"}]}`); status != 500 {
		t.Errorf("not streamed: %d %s", status, body)
	}
}
