package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
	"go.uber.org/zap"
)

// Anthropic's Message Batches API (/v1/messages/batches) runs on the
// Batch API's machinery: a batch's requests become a file of lines to
// /v1/messages (kept in the Files API's store, named ID_requests.jsonl),
// run as an OpenAI batch of that endpoint with an id of Anthropic's form
// (msgbatch_…), and shown in Anthropic's shapes. The two APIs list only
// their own batches.

// messageBatchPrefix starts the ids of message batches.
const messageBatchPrefix = "msgbatch_"

func isMessageBatch(id string) bool { return strings.HasPrefix(id, messageBatchPrefix) }

// maxMessageBatch is how many requests a message batch may hold, as
// Anthropic's do.
const maxMessageBatch = 100000

// messageBatch is a batch as Anthropic's API shows it.
type messageBatch struct {
	ID                string             `json:"id"`
	Type              string             `json:"type"`
	ProcessingStatus  string             `json:"processing_status"`
	RequestCounts     messageBatchCounts `json:"request_counts"`
	EndedAt           *string            `json:"ended_at"`
	CreatedAt         string             `json:"created_at"`
	ExpiresAt         string             `json:"expires_at"`
	ArchivedAt        *string            `json:"archived_at"`
	CancelInitiatedAt *string            `json:"cancel_initiated_at"`
	ResultsURL        *string            `json:"results_url"`
}

type messageBatchCounts struct {
	Processing int `json:"processing"`
	Succeeded  int `json:"succeeded"`
	Errored    int `json:"errored"`
	Canceled   int `json:"canceled"`
	Expired    int `json:"expired"`
}

// rfc3339 is a Unix time as Anthropic writes times; nil stays nil.
func rfc3339(t *int64) *string {
	if t == nil {
		return nil
	}
	s := time.Unix(*t, 0).UTC().Format(time.RFC3339)
	return &s
}

// messageBatchOf is o in Anthropic's shape; base is the server's URL as
// the client reached it, for results_url.
func messageBatchOf(o batchObject, base string) messageBatch {
	c := o.RequestCounts
	m := messageBatch{ID: o.ID, Type: "message_batch", CreatedAt: *rfc3339(&o.CreatedAt), CancelInitiatedAt: rfc3339(o.CancellingAt)}
	if o.ExpiresAt != nil {
		m.ExpiresAt = *rfc3339(o.ExpiresAt)
	}
	m.RequestCounts = messageBatchCounts{Succeeded: c.Completed, Errored: c.Failed - c.Expired, Expired: c.Expired}
	switch o.Status {
	case "validating", "in_progress", "finalizing":
		m.ProcessingStatus = "in_progress"
		m.RequestCounts.Processing = c.Total - c.Completed - c.Failed
	case "cancelling":
		m.ProcessingStatus = "canceling"
		m.RequestCounts.Processing = c.Total - c.Completed - c.Failed
	default:
		m.ProcessingStatus = "ended"
		rest := c.Total - c.Completed - c.Failed // never run
		if o.Status == "failed" {
			m.RequestCounts.Errored += rest
		} else {
			m.RequestCounts.Canceled = rest
		}
		for _, t := range []*int64{o.CompletedAt, o.CancelledAt, o.FailedAt, o.ExpiredAt} {
			if t != nil {
				m.EndedAt = rfc3339(t)
			}
		}
		url := base + "/v1/messages/batches/" + o.ID + "/results"
		m.ResultsURL = &url
	}
	return m
}

// baseURL is the server's address as the client used it, for the URLs
// its replies give.
func baseURL(ctx *fasthttp.RequestCtx) string {
	scheme := "http"
	if ctx.IsTLS() {
		scheme = "https"
	}
	if p := string(ctx.Request.Header.Peek("X-Forwarded-Proto")); p == "http" || p == "https" {
		scheme = p
	}
	return scheme + "://" + string(ctx.Host())
}

// messageBatchRequest is POST /v1/messages/batches.
type messageBatchRequest struct {
	Requests []struct {
		CustomID string          `json:"custom_id"`
		Params   json.RawMessage `json:"params"`
	} `json:"requests"`
}

// handleMessageBatches answers /v1/messages/batches: POST creates a
// batch, GET lists them, newest first (limit, before_id, after_id).
func (s *Server) handleMessageBatches(ctx *fasthttp.RequestCtx, ri *reqInfo) error {
	fs, err := s.filesOn()
	if err != nil {
		return err
	}
	if ri.method == "GET" {
		return s.listMessageBatches(ctx)
	}
	var req messageBatchRequest
	if err := decodeBody(ctx, &req); err != nil {
		return err
	}
	if n := len(req.Requests); n == 0 || n > maxMessageBatch {
		return invalidParam("requests", "a batch holds 1 to %d requests, got %d", maxMessageBatch, n)
	}
	var lines bytes.Buffer
	seen := make(map[string]int, len(req.Requests))
	for i, r := range req.Requests {
		param := fmt.Sprintf("requests[%d]", i)
		switch {
		case !validCustomID(r.CustomID):
			return invalidParam(param+".custom_id", "%s.custom_id must be 1 to 64 letters, digits, '_' or '-', got %q", param, r.CustomID)
		case seen[r.CustomID] > 0:
			return invalidParam(param+".custom_id", "%s.custom_id %q is requests[%d]'s too", param, r.CustomID, seen[r.CustomID]-1)
		}
		seen[r.CustomID] = i + 1
		var params struct {
			Stream bool `json:"stream"`
		}
		if p := bytes.TrimSpace(r.Params); len(p) == 0 || p[0] != '{' || json.Unmarshal(p, &params) != nil {
			return invalidParam(param+".params", "%s.params must be a Messages request object", param)
		}
		if params.Stream {
			return invalidParam(param+".params.stream", "%s.params.stream: a batch's requests are not streamed", param)
		}
		b, err := json.Marshal(BatchInput{CustomID: r.CustomID, Method: "POST", URL: "/v1/messages", Body: r.Params})
		if err != nil {
			return invalidParam(param+".params", "%s.params: %v", param, err)
		}
		lines.Write(append(b, '\n'))
	}
	if _, err := s.backendFor(); err != nil {
		return err
	}
	id := messageBatchPrefix + randomID(idAlphabet, 24)
	in, err := fs.add(id+"_requests.jsonl", "batch", lines.Bytes(), 0)
	if err != nil {
		return err
	}
	created := s.startBatch(batchObject{ID: id, Object: "batch", Endpoint: "/v1/messages", InputFileID: in.ID, CompletionWindow: batchWindow,
		RequestCounts: batchCounts{Total: len(req.Requests)}}, lines.Bytes())
	return s.writeJSON(ctx, messageBatchOf(created, baseURL(ctx)))
}

// validCustomID is Anthropic's rule for a request's custom_id.
func validCustomID(id string) bool { return len(id) <= 64 && plainID(id) }

// listMessageBatches is GET /v1/messages/batches: newest first, limit
// (1-1000, 20) a page after after_id or before before_id.
func (s *Server) listMessageBatches(ctx *fasthttp.RequestCtx) error {
	q := ctx.QueryArgs()
	limit := 20
	if v := q.Peek("limit"); len(v) > 0 {
		n, err := strconv.Atoi(string(v))
		if err != nil || n < 1 || n > 1000 {
			return invalidParam("limit", "limit must be 1 to 1000, got %q", v)
		}
		limit = n
	}
	var all []batchObject // newest first
	s.batches.mu.Lock()
	for _, j := range slices.Backward(s.batches.jobs) {
		if isMessageBatch(j.obj.ID) {
			all = append(all, j.obj)
		}
	}
	s.batches.mu.Unlock()
	index := func(param string) (int, error) {
		id := string(q.Peek(param))
		i := slices.IndexFunc(all, func(o batchObject) bool { return o.ID == id })
		if i < 0 {
			return 0, &apiError{err: ErrRouteNotFound, param: param, msg: fmt.Sprintf("no message batch %q", id)}
		}
		return i, nil
	}
	start, end := 0, min(limit, len(all))
	switch {
	case q.Has("after_id") && q.Has("before_id"):
		return invalidParam("after_id", "give after_id or before_id, not both")
	case q.Has("after_id"):
		i, err := index("after_id")
		if err != nil {
			return err
		}
		start, end = i+1, min(i+1+limit, len(all))
	case q.Has("before_id"):
		i, err := index("before_id")
		if err != nil {
			return err
		}
		start, end = max(i-limit, 0), i
	}
	base := baseURL(ctx)
	page := make([]messageBatch, 0, end-start)
	for _, o := range all[start:end] {
		page = append(page, messageBatchOf(o, base))
	}
	out := map[string]any{"data": page, "has_more": end < len(all) && !q.Has("before_id") || q.Has("before_id") && start > 0,
		"first_id": nil, "last_id": nil}
	if len(page) > 0 {
		out["first_id"], out["last_id"] = page[0].ID, page[len(page)-1].ID
	}
	return s.writeJSON(ctx, out)
}

// handleMessageBatch answers GET and DELETE /v1/messages/batches/{id},
// POST /v1/messages/batches/{id}/cancel and GET
// /v1/messages/batches/{id}/results.
func (s *Server) handleMessageBatch(ctx *fasthttp.RequestCtx, ri *reqInfo) error {
	if _, err := s.filesOn(); err != nil {
		return err
	}
	id, sub, _ := strings.Cut(strings.TrimPrefix(ri.path, "/v1/messages/batches/"), "/")
	s.batches.mu.Lock()
	j, err := s.batches.find(id)
	s.batches.mu.Unlock()
	if err != nil || !isMessageBatch(id) {
		return &apiError{err: ErrRouteNotFound, msg: fmt.Sprintf("no message batch %q", id)}
	}
	switch {
	case sub == "" && ri.method == "GET":
		return s.writeJSON(ctx, messageBatchOf(s.batches.snapshot(j), baseURL(ctx)))
	case sub == "cancel" && ri.method == "POST":
		s.cancelBatch(j)
		return s.writeJSON(ctx, messageBatchOf(s.batches.snapshot(j), baseURL(ctx)))
	case sub == "results" && ri.method == "GET":
		return s.messageBatchResults(ctx, s.batches.snapshot(j))
	case sub == "" && ri.method == "DELETE":
		o := s.batches.snapshot(j)
		if !terminalBatch(o.Status) {
			return invalidParam("message_batch_id", "message batch %s is still processing: cancel it (POST /v1/messages/batches/%s/cancel), then delete it once it has ended", id, id)
		}
		s.deleteBatch(j)
		return s.writeJSON(ctx, map[string]string{"id": id, "type": "message_batch_deleted"})
	}
	return &apiError{err: ErrRouteNotFound, msg: fmt.Sprintf("no route for %s %s: a message batch has GET and DELETE /v1/messages/batches/{id}, POST /v1/messages/batches/{id}/cancel and GET /v1/messages/batches/{id}/results", ri.method, ri.path)}
}

// deleteBatch forgets an ended batch j: its object (and its file) and
// its input, output and error files.
func (s *Server) deleteBatch(j *batchJob) {
	bs := &s.batches
	bs.mu.Lock()
	bs.jobs = slices.DeleteFunc(bs.jobs, func(k *batchJob) bool { return k == j })
	o := j.obj
	bs.mu.Unlock()
	if bs.dir != "" {
		if err := os.Remove(bs.objPath(o.ID)); err != nil {
			s.log.Warn("remove a deleted batch's file", zap.String("batch", o.ID), zap.Error(err))
		}
	}
	for _, f := range []*string{&o.InputFileID, o.OutputFileID, o.ErrorFileID} {
		if f != nil {
			s.files.delete(*f)
		}
	}
}

// messageBatchResult is one line of a message batch's results.
type messageBatchResult struct {
	CustomID string `json:"custom_id"`
	Result   struct {
		Type    string          `json:"type"` // succeeded, errored, canceled or expired
		Message json.RawMessage `json:"message,omitempty"`
		Error   json.RawMessage `json:"error,omitempty"`
	} `json:"result"`
}

// messageBatchResults answers an ended batch's results: a line for each
// request, in the batch's order.
func (s *Server) messageBatchResults(ctx *fasthttp.RequestCtx, o batchObject) error {
	if !terminalBatch(o.Status) {
		return invalidParam("message_batch_id", "message batch %s is still processing: its results are ready once processing_status is \"ended\"", o.ID)
	}
	read := func(id *string) ([]byte, error) {
		if id == nil {
			return nil, nil
		}
		f, err := s.files.get(*id)
		if err != nil {
			return nil, fmt.Errorf("batch %s: its results file %s is gone: %w", o.ID, *id, err)
		}
		return s.files.content(f)
	}
	input, err := read(&o.InputFileID)
	if err != nil {
		return err
	}
	out, err := read(o.OutputFileID)
	if err != nil {
		return err
	}
	errs, err := read(o.ErrorFileID)
	if err != nil {
		return err
	}
	results := map[string]messageBatchResult{}
	for _, raw := range bytes.Split(append(out, errs...), []byte("\n")) {
		var line BatchOutput
		if len(bytes.TrimSpace(raw)) == 0 || json.Unmarshal(raw, &line) != nil {
			continue
		}
		var r messageBatchResult
		r.CustomID = line.CustomID
		switch {
		case line.Error != nil && line.Error.Code == "batch_expired":
			r.Result.Type = "expired"
		case line.Response != nil && line.Response.StatusCode == http.StatusOK:
			r.Result.Type, r.Result.Message = "succeeded", line.Response.Body
		case line.Response != nil: // the route's Anthropic error object
			r.Result.Type, r.Result.Error = "errored", line.Response.Body
		default:
			r.Result.Type, r.Result.Error = "errored", anthropicErrorJSON(http.StatusBadRequest, line.Error.Message)
		}
		results[r.CustomID] = r
	}
	var body bytes.Buffer
	for _, raw := range bytes.Split(input, []byte("\n")) {
		in, perr := ParseBatchLine(raw)
		if perr != nil {
			continue // blank; the batch's own lines are all well formed
		}
		r, ok := results[in.CustomID]
		if !ok {
			r.CustomID = in.CustomID
			r.Result.Type = "canceled"
			if o.Status == "failed" {
				msg := "the batch failed"
				if o.Errors != nil && len(o.Errors.Data) > 0 {
					msg = o.Errors.Data[0].Message
				}
				r.Result.Type, r.Result.Error = "errored", anthropicErrorJSON(http.StatusInternalServerError, msg)
			}
		}
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		body.Write(append(b, '\n'))
	}
	ctx.SetStatusCode(http.StatusOK)
	ctx.SetContentType("application/x-jsonl")
	ctx.SetBody(body.Bytes())
	return nil
}

// anthropicErrorJSON is Anthropic's error object of status and msg.
func anthropicErrorJSON(status int, msg string) json.RawMessage {
	b, _ := json.Marshal(anthropicError(status, msg)) // plain strings
	return b
}
