package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// bgRetention is how long a finished background response's events stay
// for GET /v1/responses/{id}?stream=true; the response itself stays
// stored as any other.
const bgRetention = 10 * time.Minute

// bgResponse is a response running in the background (the Responses
// API's background mode): the events it has streamed so far, event i
// with sequence_number i, the response object as the newest of them
// showed it, and how to cancel it.
type bgResponse struct {
	cancel context.CancelFunc

	mu      sync.Mutex
	events  []string        // SSE-encoded, whole
	latest  json.RawMessage // the response as it stands
	done    bool
	changed chan struct{} // closed, and replaced, at every change
	pending []byte        // written but not yet a whole event
}

func newBGResponse(queued json.RawMessage) *bgResponse {
	return &bgResponse{latest: queued, changed: make(chan struct{})}
}

// Write takes the stream writer's output: whole SSE events (ended by a
// blank line) join the log; keep-alive comments are dropped.
func (r *bgResponse) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pending = append(r.pending, p...)
	grew := false
	for {
		end := bytes.Index(r.pending, []byte("\n\n"))
		if end < 0 {
			break
		}
		ev := string(r.pending[:end+2])
		r.pending = r.pending[end+2:]
		if strings.HasPrefix(ev, ":") {
			continue
		}
		r.events = append(r.events, ev)
		grew = true
		// Only the events that announce the response as a whole carry
		// it; the deltas, most of the stream, are not parsed.
		if _, data, ok := strings.Cut(ev, "data: "); ok && strings.Contains(data, `"response":{`) {
			var e struct {
				Response json.RawMessage `json:"response"`
			}
			if json.Unmarshal([]byte(strings.TrimSpace(data)), &e) == nil && len(e.Response) > 0 {
				r.latest = e.Response
			}
		}
	}
	if grew {
		r.broadcast()
	}
	return len(p), nil
}

// broadcast wakes whoever waits on the response; r.mu held.
func (r *bgResponse) broadcast() {
	close(r.changed)
	r.changed = make(chan struct{})
}

func (r *bgResponse) finish() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.done = true
	r.broadcast()
}

// snapshot is the response as it stands, whether it has ended, and a
// channel closed at its next change.
func (r *bgResponse) snapshot() (json.RawMessage, bool, <-chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.latest, r.done, r.changed
}

// from is the events after sequence number after (-1: all), whether the
// response has ended, and a channel closed at its next change.
func (r *bgResponse) from(after int) ([]string, bool, <-chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	start := min(max(after+1, 0), len(r.events))
	return r.events[start:], r.done, r.changed
}

// background is the server's running (and lately finished) background
// responses by id.
type background struct {
	mu   sync.Mutex
	byID map[string]*bgResponse
}

func (b *background) get(id string) (*bgResponse, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	r, ok := b.byID[id]
	return r, ok
}

func (b *background) add(id string, r *bgResponse) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.byID == nil {
		b.byID = map[string]*bgResponse{}
	}
	b.byID[id] = r
}

// wait returns once every background response has ended (stored how it
// ended), or ctx has.
func (b *background) wait(ctx context.Context) {
	for _, r := range b.all() {
		for {
			_, done, changed := r.snapshot()
			if done {
				break
			}
			select {
			case <-changed:
			case <-ctx.Done():
				return
			}
		}
	}
}

// all is the background responses kept, running or lately finished.
func (b *background) all() []*bgResponse {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]*bgResponse, 0, len(b.byID))
	for _, r := range b.byID {
		out = append(out, r)
	}
	return out
}

func (b *background) remove(id string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.byID, id)
}

// runBackground starts j, a stored response, in the background and
// answers at once: with the response queued, or (stream) with its events
// as they come, the client's leaving not stopping it. It runs within the
// server's drain like any request, and is cancelled by POST
// /v1/responses/{id}/cancel or a shutdown that runs out of time.
func (s *Server) runBackground(ctx *fasthttp.RequestCtx, ri *reqInfo, b *Backend, j *job) error {
	if !s.active.begin() {
		return &apiError{err: ErrDraining, msg: "the server is shutting down"}
	}
	rctx, cancel := context.WithCancel(s.baseCtx)
	streams, err := s.submit(rctx, b.Engine, j)
	if err != nil {
		cancel()
		s.active.end()
		return err
	}
	queued := j.responseObject("queued", []any{}, nil)
	body, err := marshal(queued)
	if err != nil {
		cancel()
		s.active.end()
		return err
	}
	rec := newBGResponse(body)
	rec.cancel = cancel
	s.bg.add(j.id, rec)
	if j.resp.started != nil {
		j.resp.started(body)
	}
	// The runner's own record for the access log, at its end.
	run := &reqInfo{id: ri.id, method: ri.method, path: ri.path + " (background)", start: time.Now(), status: 200, stream: true}
	go func() {
		defer s.active.end()
		defer cancel()
		w := bufio.NewWriterSize(rec, 64<<10)
		s.streamOut(w, j, streams, run, cancel)
		_ = w.Flush()
		rec.finish()
		time.AfterFunc(bgRetention, func() { s.bg.remove(j.id) })
	}()
	if !j.stream {
		return s.writeJSON(ctx, json.RawMessage(body))
	}
	ri.stream = true
	s.tailBackground(ctx, rec, -1)
	return nil
}

// tailBackground streams r's events after sequence number after, then
// each as it comes, until the response ends or the client leaves (which
// leaves the response running).
func (s *Server) tailBackground(ctx *fasthttp.RequestCtx, r *bgResponse, after int) {
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetContentType("text/event-stream; charset=utf-8")
	ctx.Response.Header.Set("Cache-Control", "no-cache")
	ctx.Response.Header.Set("X-Accel-Buffering", "no")
	ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
		ping := time.NewTicker(keepAlive)
		defer ping.Stop()
		for {
			events, done, changed := r.from(after)
			for _, ev := range events {
				if _, err := w.WriteString(ev); err != nil {
					return
				}
			}
			after += len(events)
			// from gives the events and done together: once done, every
			// event has just been sent.
			if err := w.Flush(); err != nil || done {
				return
			}
			select {
			case <-changed:
			case <-ping.C:
				if _, err := w.WriteString(": keep-alive\n\n"); err != nil || w.Flush() != nil {
					return
				}
			}
		}
	})
}

// backgroundRoute answers what only a background response has: GET
// /v1/responses/{id} while it runs (the response as it stands) or with
// ?stream=true (its events after starting_after), and POST
// /v1/responses/{id}/cancel. handled is false for a response that is not
// running in the background, which the stored responses answer.
func (s *Server) backgroundRoute(ctx *fasthttp.RequestCtx, ri *reqInfo, id string, cancel bool) (handled bool, err error) {
	r, ok := s.bg.get(id)
	if cancel {
		if !ok {
			return true, s.cancelStored(ctx, id)
		}
		r.cancel()
		for deadline := time.After(10 * time.Second); ; {
			latest, done, changed := r.snapshot()
			if done {
				return true, s.writeJSON(ctx, latest)
			}
			select {
			case <-changed:
			case <-deadline:
				return true, &apiError{err: ErrInternal, msg: fmt.Sprintf("response %s did not stop within 10 s of its cancel", id)}
			}
		}
	}
	q := ctx.QueryArgs()
	stream := string(q.Peek("stream")) == "true"
	if !ok {
		if stream {
			return true, &apiError{err: ErrRouteNotFound, param: "stream", msg: fmt.Sprintf("no background response %q to stream: only a background response's events are kept, for %v after it ends", id, bgRetention)}
		}
		return false, nil
	}
	if stream {
		after := -1
		if v := q.Peek("starting_after"); len(v) > 0 {
			n, err := strconv.Atoi(string(v))
			if err != nil || n < -1 {
				return true, invalidParam("starting_after", "starting_after must be a sequence number, got %q", v)
			}
			after = n
		}
		ri.stream = true
		s.tailBackground(ctx, r, after)
		return true, nil
	}
	latest, _, _ := r.snapshot() // once it has ended, as it is stored
	return true, s.writeJSON(ctx, latest)
}

// deleteBackground lets a background response be deleted once it has
// ended (its events go with it); false with the error while it runs.
func (s *Server) deleteBackground(id string) error {
	r, ok := s.bg.get(id)
	if !ok {
		return nil
	}
	if _, done, _ := r.snapshot(); !done {
		return invalidParam("response_id", "response %s is still running in the background: cancel it (POST /v1/responses/%s/cancel) before deleting it", id, id)
	}
	s.bg.remove(id)
	return nil
}

// cancelStored answers the cancel of a response not running: a finished
// background response is returned as it ended; any other cannot be
// cancelled.
func (s *Server) cancelStored(ctx *fasthttp.RequestCtx, id string) error {
	if s.responses != nil {
		if r, ok := s.responses.get(id); ok {
			var obj struct {
				Background bool `json:"background"`
			}
			if json.Unmarshal(r.body, &obj) == nil && obj.Background {
				return s.writeJSON(ctx, r.body)
			}
			return invalidParam("response_id", "response %s was not created with background: true: only background responses can be cancelled", id)
		}
	}
	return &apiError{err: ErrRouteNotFound, msg: fmt.Sprintf("no response %q", id)}
}
