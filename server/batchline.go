package server

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
)

// BatchRoutes are the routes a batch line may name (OpenAI's Batch API's,
// and Anthropic's Messages, which its Message Batches run), all POST.
var BatchRoutes = []string{"/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/responses", "/v1/messages"}

// BatchInput is one line of a batch file: OpenAI's Batch API format,
// which vLLM's run_batch reads too.
type BatchInput struct {
	CustomID string          `json:"custom_id"`
	Method   string          `json:"method"`
	URL      string          `json:"url"`
	Body     json.RawMessage `json:"body"`
}

// BatchOutput is one result line: the route's reply, whatever its status,
// in Response, or in Error why the line was not run.
type BatchOutput struct {
	ID       string         `json:"id"`
	CustomID string         `json:"custom_id"`
	Response *BatchResponse `json:"response"`
	Error    *BatchError    `json:"error"`
}

// BatchResponse is a line's reply.
type BatchResponse struct {
	StatusCode int             `json:"status_code"`
	RequestID  string          `json:"request_id"`
	Body       json.RawMessage `json:"body"`
}

// BatchError says why a line was not run.
type BatchError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// BatchUsage is the token usage a reply reports, under the chat and
// completion routes' names or the Responses API's.
type BatchUsage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	InputTokens      int `json:"input_tokens"`
	OutputTokens     int `json:"output_tokens"`
}

// Failed reports whether the line was not run or its reply is not a 200.
func (o *BatchOutput) Failed() bool { return o.Response == nil || o.Response.StatusCode != 200 }

// ParseBatchLine reads and checks one input line; what it returns names
// the line's custom_id even when the line is rejected, where it has one.
func ParseBatchLine(line []byte) (BatchInput, *BatchError) {
	var in BatchInput
	if err := json.Unmarshal(line, &in); err != nil {
		return in, &BatchError{Code: "invalid_json", Message: fmt.Sprintf("the line is not a JSON object of custom_id, method, url and body: %v", err)}
	}
	switch {
	case in.CustomID == "":
		return in, &BatchError{Code: "missing_custom_id", Message: "the line has no custom_id"}
	case in.Method != "POST":
		return in, &BatchError{Code: "invalid_method", Message: fmt.Sprintf("method %q: batch requests are POST", in.Method)}
	case !slices.Contains(BatchRoutes, in.URL):
		return in, &BatchError{Code: "invalid_url", Message: fmt.Sprintf("url %q: batch requests go to %v", in.URL, BatchRoutes)}
	}
	var body struct {
		Stream bool `json:"stream"`
	}
	if b := bytes.TrimSpace(in.Body); len(b) == 0 || b[0] != '{' || json.Unmarshal(b, &body) != nil {
		return in, &BatchError{Code: "invalid_body", Message: "body must be the route's JSON request object"}
	}
	if body.Stream {
		return in, &BatchError{Code: "invalid_body", Message: "stream: batch replies are not streamed"}
	}
	return in, nil
}

// CallBatchLine runs a checked line's request through the routes (Call)
// and returns its result and the usage its reply reports.
func (s *Server) CallBatchLine(in BatchInput) (BatchOutput, BatchUsage) {
	status, reqID, body := s.Call(in.Method, in.URL, in.Body)
	var u struct {
		Usage *BatchUsage `json:"usage"`
	}
	var usage BatchUsage
	if json.Unmarshal(body, &u) == nil && u.Usage != nil {
		usage = *u.Usage
	}
	if !json.Valid(body) {
		// Every route answers JSON; anything else is kept as a string.
		body, _ = json.Marshal(string(body))
	}
	return BatchOutput{ID: newBatchRequestID(), CustomID: in.CustomID,
		Response: &BatchResponse{StatusCode: status, RequestID: reqID, Body: body}}, usage
}

// BatchErrorOutput is the result of a line that was not run.
func BatchErrorOutput(customID string, e *BatchError) BatchOutput {
	return BatchOutput{ID: newBatchRequestID(), CustomID: customID, Error: e}
}

// MarshalBatchOutput is o as a result line, newline included.
func MarshalBatchOutput(o BatchOutput) []byte {
	b, err := json.Marshal(o)
	if err != nil { // every field is a string, a number or valid JSON
		panic(fmt.Sprintf("batch: encode a result: %v", err))
	}
	return append(b, '\n')
}

// newBatchRequestID is a result's id, in OpenAI's form.
func newBatchRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand does not fail on supported platforms
	return "batch_req_" + hex.EncodeToString(b[:])
}
