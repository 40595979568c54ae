package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Endpoint selects the OpenAI route a serving benchmark calls.
type Endpoint string

// Supported endpoints.
const (
	EndpointChat        Endpoint = "chat"        // POST /v1/chat/completions
	EndpointCompletions Endpoint = "completions" // POST /v1/completions
	EndpointResponses   Endpoint = "responses"   // POST /v1/responses (OpenAI's Responses API)
	EndpointMessages    Endpoint = "messages"    // POST /v1/messages (Anthropic's Messages API)
	// EndpointEmbeddings sends each prompt's text to POST /v1/embeddings:
	// one answer, no stream, so a request's latency is its E2EL (and its
	// TTFT) and the token throughput is the input's.
	EndpointEmbeddings Endpoint = "embeddings"
)

// ClientConfig configures a Client.
type ClientConfig struct {
	BaseURL     string // http(s)://host:port, with or without a trailing /v1
	APIKey      string // sent as "Authorization: Bearer …" when set
	Model       string
	Endpoint    Endpoint
	Temperature float64
	IgnoreEOS   bool // ask servers that support it (vLLM, llama-server) to run to max_tokens
	// MaxConns is the most requests in flight at once, used to size the
	// connection pool so that connections are reused, not re-dialled.
	MaxConns int
}

// Client sends streaming requests to an OpenAI-compatible server and times
// them. It is safe for concurrent use.
type Client struct {
	cfg    ClientConfig
	api    string // base URL of the /v1 routes, without a trailing slash
	http   *http.Client
	header http.Header
}

// APIRoot normalises a base URL to the root of its /v1 routes, so that
// "http://h:8000", "http://h:8000/" and "http://h:11434/v1" (how ollama's
// OpenAI-compatible API is usually given) all work.
func APIRoot(base string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(base))
	if err != nil {
		return "", fmt.Errorf("base URL %q: %w", base, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("base URL %q: scheme must be http or https", base)
	}
	if u.Host == "" {
		return "", fmt.Errorf("base URL %q: no host", base)
	}
	p := strings.TrimRight(u.Path, "/")
	p = strings.TrimSuffix(p, "/v1")
	u.Path = p + "/v1"
	u.RawQuery, u.Fragment = "", ""
	return u.String(), nil
}

// NewClient validates cfg and builds a client with its own connection pool.
func NewClient(cfg ClientConfig) (*Client, error) {
	api, err := APIRoot(cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	switch cfg.Endpoint {
	case EndpointChat, EndpointCompletions, EndpointResponses, EndpointMessages, EndpointEmbeddings:
	case "":
		cfg.Endpoint = EndpointChat
	default:
		return nil, fmt.Errorf("endpoint %q: want chat, completions, responses, messages or embeddings", cfg.Endpoint)
	}
	conns := max(cfg.MaxConns, 1)
	tr := &http.Transport{
		// No proxy: a benchmark measures the server, and library code does
		// not read the environment.
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conns + 4,
		MaxIdleConnsPerHost: conns + 4,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
		// Compression would make the transport buffer the event stream.
		DisableCompression: true,
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("Accept", "text/event-stream")
	h.Set("User-Agent", "nuri-bench/1")
	if cfg.APIKey != "" {
		h.Set("Authorization", "Bearer "+cfg.APIKey)
	}
	if cfg.Endpoint == EndpointMessages {
		// Anthropic's API takes its key in x-api-key and wants a version.
		h.Set("anthropic-version", "2023-06-01")
		if cfg.APIKey != "" {
			h.Del("Authorization")
			h.Set("x-api-key", cfg.APIKey)
		}
	}
	return &Client{cfg: cfg, api: api, http: &http.Client{Transport: tr}, header: h}, nil
}

// Close releases idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// Models fetches GET /v1/models and returns the body verbatim and the model
// ids it lists.
func (c *Client) Models(ctx context.Context) (json.RawMessage, []string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.api+"/models", nil)
	if err != nil {
		return nil, nil, fmt.Errorf("models request: %w", err)
	}
	if c.cfg.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.APIKey)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("GET /v1/models: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, nil, fmt.Errorf("GET /v1/models: read: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("GET /v1/models: HTTP %d: %s", resp.StatusCode, errorMessage(body))
	}
	var list struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, nil, fmt.Errorf("GET /v1/models: parse: %w", err)
	}
	ids := make([]string, 0, len(list.Data))
	for _, m := range list.Data {
		ids = append(ids, m.ID)
	}
	return json.RawMessage(body), ids, nil
}

// requestBody builds the JSON body for p. stream_options.include_usage asks
// for the final usage chunk (vLLM, llama-server, ollama and Nuri honour it);
// the Responses API always ends with its usage.
func (c *Client) requestBody(p Prompt, maxTokens int) ([]byte, error) {
	if c.cfg.Endpoint == EndpointEmbeddings {
		b, err := json.Marshal(map[string]any{"model": c.cfg.Model, "input": p.Text})
		if err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
		return b, nil
	}
	if c.cfg.Endpoint == EndpointMessages {
		// System turns go in "system"; the API takes only user and
		// assistant turns in messages.
		var system []string
		turns := make([]Message, 0, len(p.Messages))
		for _, m := range p.Messages {
			if m.Role == "system" || m.Role == "developer" {
				system = append(system, m.Content)
				continue
			}
			turns = append(turns, m)
		}
		body := map[string]any{"model": c.cfg.Model, "messages": turns, "max_tokens": maxTokens,
			"stream": true, "temperature": c.cfg.Temperature}
		if len(system) > 0 {
			body["system"] = strings.Join(system, "\n\n")
		}
		if c.cfg.IgnoreEOS {
			body["ignore_eos"] = true // vLLM's and Nuri's extension
		}
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
		return b, nil
	}
	if c.cfg.Endpoint == EndpointResponses {
		body := map[string]any{"model": c.cfg.Model, "input": p.Messages, "max_output_tokens": maxTokens,
			"stream": true, "temperature": c.cfg.Temperature}
		if c.cfg.IgnoreEOS {
			body["ignore_eos"] = true
		}
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
		return b, nil
	}
	body := map[string]any{
		"model":          c.cfg.Model,
		"max_tokens":     maxTokens,
		"stream":         true,
		"stream_options": map[string]any{"include_usage": true},
		"temperature":    c.cfg.Temperature,
	}
	if c.cfg.IgnoreEOS {
		body["ignore_eos"] = true
	}
	if c.cfg.Endpoint == EndpointCompletions {
		body["prompt"] = p.Text
	} else {
		body["messages"] = p.Messages
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
	}
	return b, nil
}

func (c *Client) route() string {
	switch c.cfg.Endpoint {
	case EndpointCompletions:
		return c.api + "/completions"
	case EndpointResponses:
		return c.api + "/responses"
	case EndpointMessages:
		return c.api + "/messages"
	case EndpointEmbeddings:
		return c.api + "/embeddings"
	}
	return c.api + "/chat/completions"
}

// Stream sends p, reads the whole event stream and returns its timing.
// It never returns an error: every failure is recorded in the record with a
// status such as "http_500", "connection_refused" or "stream_truncated".
func (c *Client) Stream(ctx context.Context, p Prompt, maxTokens int) RequestRecord {
	rec := RequestRecord{PromptID: p.ID, Kind: p.Kind, MaxTokens: maxTokens, ITLMS: []float64{}}
	body, err := c.requestBody(p, maxTokens)
	if err != nil {
		rec.fail("bad_request", err)
		return rec
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.route(), bytes.NewReader(body))
	if err != nil {
		rec.fail("bad_request", err)
		return rec
	}
	req.Header = c.header.Clone()
	// Some servers (llama-server) advertise keep-alive yet close the
	// connection after each stream. An idempotency key lets net/http retry
	// on a fresh connection when a reused one turns out closed before the
	// server read anything, instead of failing the request.
	req.Header.Set("Idempotency-Key", fmt.Sprintf("nuri-bench-%s-%d", p.ID, time.Now().UnixNano()))
	rec.started = time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		rec.fail(classifyError(ctx, err), err)
		rec.E2ELMS = ms(time.Since(rec.started))
		return rec
	}
	defer resp.Body.Close()
	rec.HTTPStatus = resp.StatusCode
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		rec.fail(fmt.Sprintf("http_%d", resp.StatusCode), fmt.Errorf("%s", errorMessage(msg)))
		rec.E2ELMS = ms(time.Since(rec.started))
		return rec
	}
	if c.cfg.Endpoint == EndpointEmbeddings {
		readEmbeddings(resp.Body, &rec, p)
		return rec
	}
	if ct := resp.Header.Get("Content-Type"); strings.HasPrefix(ct, "application/json") {
		// The server ignored "stream": true; no token timing is possible.
		rec.fail("not_streaming", fmt.Errorf("server answered with %s instead of an event stream", ct))
		rec.E2ELMS = ms(time.Since(rec.started))
		return rec
	}
	readStream(ctx, resp.Body, &rec, p)
	return rec
}

// readEmbeddings reads an embeddings answer: the request is done when its
// body is (E2EL, and TTFT with it), its input tokens are the usage's (or
// the estimate), and it must carry one vector.
func readEmbeddings(body io.Reader, rec *RequestRecord, p Prompt) {
	var r struct {
		Data []struct {
			Embedding json.RawMessage `json:"embedding"`
		} `json:"data"`
		Usage *struct {
			PromptTokens int `json:"prompt_tokens"`
		} `json:"usage"`
	}
	err := json.NewDecoder(body).Decode(&r)
	rec.E2ELMS = ms(time.Since(rec.started))
	rec.TTFTMS = rec.E2ELMS
	switch {
	case err != nil:
		rec.fail("bad_chunk", fmt.Errorf("read embeddings: %w", err))
		return
	case len(r.Data) != 1 || len(r.Data[0].Embedding) == 0:
		rec.fail("bad_chunk", fmt.Errorf("%d embeddings for one input", len(r.Data)))
		return
	}
	rec.OK, rec.Status = true, "ok"
	rec.InputTokens, rec.InputTokensSource = p.EstInputTokens, "estimate"
	if r.Usage != nil && r.Usage.PromptTokens > 0 {
		rec.InputTokens, rec.InputTokensSource = r.Usage.PromptTokens, "usage"
	}
	rec.OutputTokensSource = "usage"
}

// errorMessage extracts an OpenAI-style {"error":{"message":…}} message from
// a body, or returns the body itself, shortened.
func errorMessage(body []byte) string {
	var e struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
		Detail  json.RawMessage `json:"detail"`
	}
	if json.Unmarshal(body, &e) == nil {
		if m := messageOf(e.Error); m != "" {
			return m
		}
		if e.Message != "" {
			return e.Message
		}
		if m := messageOf(e.Detail); m != "" {
			return m
		}
	}
	s := strings.TrimSpace(string(body))
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	if s == "" {
		s = "(empty body)"
	}
	return s
}

// messageOf reads an error value that is either a string or an object with a
// "message" field.
func messageOf(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var o struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(raw, &o) == nil && o.Message != "" {
		return o.Message
	}
	return strings.TrimSpace(string(raw))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
