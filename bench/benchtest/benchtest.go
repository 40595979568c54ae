package benchtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Variant selects which server's stream shape to imitate.
type Variant string

// Stream shapes, as those servers send them when asked for
// stream_options.include_usage.
const (
	// VLLM: a role chunk with empty content, one chunk per token with
	// "usage": null, a finish chunk, then a usage chunk with no choices.
	VLLM Variant = "vllm"
	// LlamaCpp (current llama-server): role chunk with null content, tokens,
	// a finish chunk, then usage and timings in a chunk with no choices.
	LlamaCpp Variant = "llamacpp"
	// LlamaCppLegacy: usage and timings ride on the final finish chunk.
	LlamaCppLegacy Variant = "llamacpp-legacy"
	// Ollama: tokens with role on every delta, finish chunk, usage chunk.
	Ollama Variant = "ollama"
	// NoUsage: a server that never reports usage and sends no [DONE]
	// (older ollama and some llama.cpp forks); lines end with CRLF.
	NoUsage Variant = "nousage"
	// Nuri: OpenAI's own shape, with llama-server's timings in the usage
	// chunk.
	Nuri Variant = "nuri"
)

// Failure is a way to fail a request on purpose.
type Failure string

// Failure modes.
const (
	FailNone Failure = ""
	// Fail500 answers HTTP 500 with an OpenAI error body.
	Fail500 Failure = "http500"
	// FailAbort sends two tokens, then drops the connection.
	FailAbort Failure = "abort"
	// FailCleanEOF sends two tokens and ends the response normally, without
	// finish_reason or [DONE].
	FailCleanEOF Failure = "clean_eof"
	// FailMidLine ends the response in the middle of a data line.
	FailMidLine Failure = "mid_line"
	// FailStreamError sends two tokens, then an in-stream error event in
	// llama-server's "error:" form.
	FailStreamError Failure = "stream_error"
)

// Config shapes the fake server.
type Config struct {
	Variant    Variant
	Model      string        // id listed by /v1/models; default "fake-model"
	Tokens     int           // tokens per response before max_tokens caps it; default 8
	FirstDelay time.Duration // before the first token (prefill)
	TokenDelay time.Duration // between tokens (decode)
	APIKey     string        // when set, requests need "Authorization: Bearer <key>"
	// FailEvery fails every n-th request (1: all) with Failure.
	FailEvery int
	Failure   Failure
	// Metrics serves /metrics with vLLM's prefix-cache and
	// speculative-decoding counters (see Counters); off, /metrics is 404.
	Metrics bool
}

// Counters are what the fake's /metrics reports after requests: for each
// request received, its PromptTokens looked up in the prefix cache and
// half of them (rounded down) hit, one preemption every fourth request,
// and two drafts of three tokens with four kept.
type Counters struct {
	PrefixQueries, PrefixHits, Preemptions, Drafts, DraftTokens, Accepted int
}

// CountersFor is the fake's counters after reqs.
func CountersFor(reqs []Request) Counters {
	var c Counters
	for i, r := range reqs {
		p := PromptTokens(r)
		c.PrefixQueries += p
		c.PrefixHits += p / 2
		if (i+1)%4 == 0 {
			c.Preemptions++
		}
		c.Drafts += 2
		c.DraftTokens += 6
		c.Accepted += 4
	}
	return c
}

// Request is what the server received in one completion request.
type Request struct {
	Path          string
	Model         string
	MaxTokens     int
	Stream        bool
	IncludeUsage  bool
	Messages      []map[string]string
	Prompt        string
	Authorization string
}

// Server is a running fake server; close it with Close.
type Server struct {
	*httptest.Server
	cfg Config

	mu       sync.Mutex
	requests []Request
}

// New starts a fake server.
func New(cfg Config) *Server {
	if cfg.Model == "" {
		cfg.Model = "fake-model"
	}
	if cfg.Tokens <= 0 {
		cfg.Tokens = 8
	}
	if cfg.Variant == "" {
		cfg.Variant = Nuri
	}
	s := &Server{cfg: cfg}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/models", s.models)
	mux.HandleFunc("POST /v1/chat/completions", s.complete)
	mux.HandleFunc("POST /v1/completions", s.complete)
	mux.HandleFunc("POST /v1/responses", s.complete)
	if cfg.Metrics {
		mux.HandleFunc("GET /metrics", s.metrics)
	}
	s.Server = httptest.NewServer(mux)
	return s
}

// Requests returns a copy of every completion request received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// PromptTokens is the prompt_tokens the server reports for a request: one
// per two characters of prompt text, plus one. Tests use it to check that
// token counts came from usage.
func PromptTokens(r Request) int {
	n := utf8.RuneCountInString(r.Prompt)
	for _, m := range r.Messages {
		n += utf8.RuneCountInString(m["content"])
	}
	return n/2 + 1
}

// OutputTokens is how many tokens the server generates for a request.
func (s *Server) OutputTokens(r Request) int {
	if r.MaxTokens > 0 && r.MaxTokens < s.cfg.Tokens {
		return r.MaxTokens
	}
	return s.cfg.Tokens
}

// metrics serves CountersFor the requests so far, each counter split over
// two label sets (as a server with two engines would report it) with
// comments and a label value holding a space and a brace.
func (s *Server) metrics(w http.ResponseWriter, _ *http.Request) {
	c := CountersFor(s.Requests())
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	for _, m := range []struct {
		name string
		v    int
	}{
		{"vllm:prefix_cache_queries_total", c.PrefixQueries}, {"vllm:prefix_cache_hits_total", c.PrefixHits},
		{"vllm:num_preemptions_total", c.Preemptions}, {"vllm:spec_decode_num_drafts_total", c.Drafts},
		{"vllm:spec_decode_num_draft_tokens_total", c.DraftTokens}, {"vllm:spec_decode_num_accepted_tokens_total", c.Accepted},
	} {
		fmt.Fprintf(w, "# HELP %s A counter.\n# TYPE %s counter\n", m.name, m.name)
		fmt.Fprintf(w, "%s{model_name=%q,engine=\"0\"} %d\n", m.name, s.cfg.Model, m.v/2)
		fmt.Fprintf(w, "%s{model_name=\"a {b} c\",engine=\"1\"} %d 1700000000000\n", m.name, m.v-m.v/2)
	}
	fmt.Fprintf(w, "vllm:num_requests_running{model_name=%q} 0\n", s.cfg.Model)
}

func (s *Server) models(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"object":"list","data":[{"id":%q,"object":"model","owned_by":"benchtest"}]}`, s.cfg.Model)
}

func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	if s.cfg.APIKey == "" || r.Header.Get("Authorization") == "Bearer "+s.cfg.APIKey {
		return true
	}
	writeError(w, http.StatusUnauthorized, "invalid api key")
	return false
}

func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	fmt.Fprintf(w, `{"error":{"message":%q,"type":"server_error","code":%d}}`, msg, code)
}

func (s *Server) record(r *http.Request) (Request, int, error) {
	var body struct {
		Model         string `json:"model"`
		MaxTokens     int    `json:"max_tokens"`
		Stream        bool   `json:"stream"`
		StreamOptions *struct {
			IncludeUsage bool `json:"include_usage"`
		} `json:"stream_options"`
		Messages []map[string]string `json:"messages"`
		Prompt   string              `json:"prompt"`
		// The Responses API: input is a string or messages; the usage
		// always comes in the final event.
		Input           json.RawMessage `json:"input"`
		MaxOutputTokens int             `json:"max_output_tokens"`
	}
	data, err := io.ReadAll(r.Body)
	if err != nil {
		return Request{}, 0, err
	}
	if err := json.Unmarshal(data, &body); err != nil {
		return Request{}, 0, err
	}
	req := Request{Path: r.URL.Path, Model: body.Model, MaxTokens: body.MaxTokens, Stream: body.Stream,
		IncludeUsage: body.StreamOptions != nil && body.StreamOptions.IncludeUsage,
		Messages:     body.Messages, Prompt: body.Prompt, Authorization: r.Header.Get("Authorization")}
	if strings.HasSuffix(r.URL.Path, "/responses") {
		req.MaxTokens, req.IncludeUsage = body.MaxOutputTokens, true
		if json.Unmarshal(body.Input, &req.Prompt) != nil {
			if err := json.Unmarshal(body.Input, &req.Messages); err != nil {
				return Request{}, 0, fmt.Errorf("input: %w", err)
			}
		}
	}
	s.mu.Lock()
	s.requests = append(s.requests, req)
	n := len(s.requests)
	s.mu.Unlock()
	return req, n, nil
}

func (s *Server) complete(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	req, n, err := s.record(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad request body: "+err.Error())
		return
	}
	failure := FailNone
	if s.cfg.FailEvery > 0 && n%s.cfg.FailEvery == 0 {
		failure = s.cfg.Failure
	}
	if failure == Fail500 {
		writeError(w, http.StatusInternalServerError, "simulated failure")
		return
	}
	if !req.Stream {
		writeError(w, http.StatusBadRequest, "benchtest only streams")
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	st := &stream{w: w, flusher: w.(http.Flusher), chat: strings.HasSuffix(req.Path, "/chat/completions"),
		responses: strings.HasSuffix(req.Path, "/responses"), variant: s.cfg.Variant, model: s.cfg.Model}
	s.play(st, req, failure)
}

// play writes one response's events, failing on purpose when asked.
func (s *Server) play(st *stream, req Request, failure Failure) {
	if s.cfg.FirstDelay > 0 {
		time.Sleep(s.cfg.FirstDelay)
	}
	st.roleChunk()
	nOut := s.OutputTokens(req)
	for i := 0; i < nOut; i++ {
		if i > 0 && s.cfg.TokenDelay > 0 {
			time.Sleep(s.cfg.TokenDelay)
		}
		if i == 2 && failure != FailNone {
			s.fail(st, failure)
			return
		}
		st.token(fmt.Sprintf("말%d ", i))
	}
	reason := "length"
	if nOut < req.MaxTokens {
		reason = "stop"
	}
	usage := map[string]int{"prompt_tokens": PromptTokens(req), "completion_tokens": nOut,
		"total_tokens": PromptTokens(req) + nOut}
	st.finish(reason, usage, req.IncludeUsage)
}

func (s *Server) fail(st *stream, f Failure) {
	switch f {
	case FailAbort:
		// Tells net/http to drop the connection without logging.
		panic(http.ErrAbortHandler)
	case FailCleanEOF:
		return
	case FailMidLine:
		st.raw(`data: {"choices":[{"delta":{"cont`)
	case FailStreamError:
		st.raw("error: {\"code\":500,\"message\":\"simulated decode failure\",\"type\":\"server_error\"}\n\n")
	}
}
