package bench

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"syscall"
	"time"
)

// RequestRecord is everything measured about one request. Latencies are in
// milliseconds from the moment the request was sent. Failed requests keep
// whatever was measured before the failure but are left out of the
// statistics.
type RequestRecord struct {
	Index    int     `json:"index"`
	PromptID string  `json:"prompt_id"`
	Kind     string  `json:"kind,omitempty"`
	StartMS  float64 `json:"start_ms"` // send time, from the start of its level
	OK       bool    `json:"ok"`
	// Status is "ok" or the failure kind: "http_<code>", "connection_refused",
	// "connection_reset", "connection_closed", "dns_error", "timeout",
	// "cancelled", "stream_truncated", "stream_error", "bad_chunk",
	// "not_streaming", "transport_error", "bad_request".
	Status     string `json:"status"`
	HTTPStatus int    `json:"http_status,omitempty"`
	Error      string `json:"error,omitempty"`
	MaxTokens  int    `json:"max_tokens"`

	InputTokens  int `json:"input_tokens"`
	OutputTokens int `json:"output_tokens"`
	// InputTokensSource is "usage" (server-reported) or "estimate".
	InputTokensSource string `json:"input_tokens_source,omitempty"`
	// OutputTokensSource is "usage" or "chunks" (one token per content chunk).
	OutputTokensSource string `json:"output_tokens_source,omitempty"`
	Chunks             int    `json:"chunks"`       // chunks that carried text
	OutputChars        int    `json:"output_chars"` // characters of generated text
	EmptyOutput        bool   `json:"empty_output,omitempty"`

	TTFTMS float64   `json:"ttft_ms"`
	TPOTMS float64   `json:"tpot_ms"` // 0 when fewer than two output tokens
	E2ELMS float64   `json:"e2el_ms"`
	ITLMS  []float64 `json:"itl_ms"` // gaps between successive text chunks

	FinishReason  string          `json:"finish_reason,omitempty"`
	DoneMarker    bool            `json:"done_marker"` // saw "data: [DONE]"
	ServerTimings json.RawMessage `json:"server_timings,omitempty"`

	started time.Time
}

func (r *RequestRecord) fail(status string, err error) {
	r.OK = false
	r.Status = status
	if err != nil {
		r.Error = err.Error()
	}
}

// classifyError names a transport failure. The request's context decides
// between a per-request timeout and a cancelled run before anything else,
// because the transport reports both as a generic cancellation.
func classifyError(ctx context.Context, err error) string {
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case ctx.Err() != nil || errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection_refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "connection_reset"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection_closed"
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return "dns_error"
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return "timeout"
	}
	return "transport_error"
}

// classifyStreamError names a failure while reading the event stream: any
// way the body can end early is "stream_truncated".
func classifyStreamError(ctx context.Context, err error) string {
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return "timeout"
	case ctx.Err() != nil:
		return "cancelled"
	case errors.Is(err, errTruncatedLine), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, io.EOF):
		return "stream_truncated"
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return "timeout"
	}
	return "stream_truncated"
}
