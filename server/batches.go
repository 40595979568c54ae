package server

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
	"go.uber.org/zap"
)

// batchObject is a batch as OpenAI's Batch API shows it.
type batchObject struct {
	ID               string            `json:"id"`
	Object           string            `json:"object"`
	Endpoint         string            `json:"endpoint"`
	Errors           *batchErrors      `json:"errors"`
	InputFileID      string            `json:"input_file_id"`
	CompletionWindow string            `json:"completion_window"`
	Status           string            `json:"status"`
	OutputFileID     *string           `json:"output_file_id"`
	ErrorFileID      *string           `json:"error_file_id"`
	CreatedAt        int64             `json:"created_at"`
	InProgressAt     *int64            `json:"in_progress_at"`
	ExpiresAt        *int64            `json:"expires_at"`
	FinalizingAt     *int64            `json:"finalizing_at"`
	CompletedAt      *int64            `json:"completed_at"`
	FailedAt         *int64            `json:"failed_at"`
	ExpiredAt        *int64            `json:"expired_at"`
	CancellingAt     *int64            `json:"cancelling_at"`
	CancelledAt      *int64            `json:"cancelled_at"`
	RequestCounts    batchCounts       `json:"request_counts"`
	Usage            responseUsage     `json:"usage"` // the Responses API's shape, as OpenAI gives it
	Metadata         map[string]string `json:"metadata"`
	// outputLifetime (output_expires_after, seconds; 0: none) is how long
	// the output and error files stay; kept, not shown.
	outputLifetime int64
}

type batchErrors struct {
	Object string           `json:"object"`
	Data   []batchLineError `json:"data"`
}

// batchLineError is why a batch failed validation: a line's error.
type batchLineError struct {
	Code    string  `json:"code"`
	Message string  `json:"message"`
	Param   *string `json:"param"`
	Line    *int    `json:"line"`
}

type batchCounts struct {
	Total     int `json:"total"`
	Completed int `json:"completed"`
	Failed    int `json:"failed"`
	// Expired (among Failed) is the lines the window closed on, which
	// Anthropic's API counts apart; OpenAI's object has no such count.
	Expired int `json:"-"`
}

// batchJob is a batch and what runs it.
type batchJob struct {
	obj    batchObject // under batches.mu
	cancel context.CancelFunc
	done   chan struct{} // closed when its runner returns
	saveMu sync.Mutex    // one save of obj at a time (batches.save)
}

// batches is OpenAI's Batch API over the Files API's store: a batch runs
// its input file's lines through the routes in the background (as nuri
// batch runs a file), a bounded number at a time, and leaves an output
// file of the 200 replies and an error file of the rest. Without a
// folder batches do not outlive the process; with one they do, and
// resume (batches_store.go).
type batches struct {
	mu   sync.Mutex
	jobs []*batchJob // oldest first
	dir  string      // "": in memory only
	log  *zap.Logger
}

// batchWindow is the only completion window OpenAI offers.
const batchWindow = "24h"

// now is a timestamp field's value.
func now() *int64 {
	t := time.Now().Unix()
	return &t
}

func (bs *batches) find(id string) (*batchJob, error) {
	i := slices.IndexFunc(bs.jobs, func(j *batchJob) bool { return j.obj.ID == id })
	if i < 0 {
		return nil, &apiError{err: ErrRouteNotFound, msg: fmt.Sprintf("no batch %q", id)}
	}
	return bs.jobs[i], nil
}

// snapshot is j's object as of now (a copy; its metadata, set at
// creation, is never changed).
func (bs *batches) snapshot(j *batchJob) batchObject {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	return j.obj
}

// update changes j's object under the lock.
func (bs *batches) update(j *batchJob, f func(o *batchObject)) {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	f(&j.obj)
}

// batchRequest is POST /v1/batches.
type batchRequest struct {
	InputFileID      string            `json:"input_file_id"`
	Endpoint         string            `json:"endpoint"`
	CompletionWindow string            `json:"completion_window"`
	Metadata         map[string]string `json:"metadata"`
	// OutputExpiresAfter is how long the output and error files stay
	// (anchor created_at: from when each is written).
	OutputExpiresAfter *struct {
		Anchor  string `json:"anchor"`
		Seconds int64  `json:"seconds"`
	} `json:"output_expires_after"`
}

// handleBatches answers /v1/batches: POST creates and starts a batch,
// GET lists them, newest first (limit, after).
func (s *Server) handleBatches(ctx *fasthttp.RequestCtx, ri *reqInfo) error {
	fs, err := s.filesOn()
	if err != nil {
		return err
	}
	if ri.method == "GET" {
		s.batches.mu.Lock()
		var list []batchObject
		for _, j := range s.batches.jobs {
			if !isMessageBatch(j.obj.ID) {
				list = append(list, j.obj)
			}
		}
		s.batches.mu.Unlock()
		page, err := listPage(list, func(o batchObject) string { return o.ID }, ctx.QueryArgs(), itemLimits("desc"))
		if err != nil {
			return err
		}
		return s.writeJSON(ctx, page)
	}
	var req batchRequest
	if err := decodeBody(ctx, &req); err != nil {
		return err
	}
	switch {
	case !slices.Contains(BatchRoutes, req.Endpoint):
		return invalidParam("endpoint", "endpoint must be one of %s, got %q", strings.Join(BatchRoutes, ", "), req.Endpoint)
	case req.CompletionWindow != batchWindow:
		return invalidParam("completion_window", "completion_window must be %q, got %q", batchWindow, req.CompletionWindow)
	}
	if err := checkMetadata(req.Metadata); err != nil {
		return err
	}
	var lifetime int64
	if e := req.OutputExpiresAfter; e != nil {
		if e.Anchor != "created_at" {
			return invalidParam("output_expires_after.anchor", "output_expires_after.anchor must be \"created_at\", got %q", e.Anchor)
		}
		if e.Seconds < minFileLifetime || e.Seconds > maxFileLifetime {
			return invalidParam("output_expires_after.seconds", "output_expires_after.seconds must be %d (an hour) to %d (30 days), got %d", minFileLifetime, maxFileLifetime, e.Seconds)
		}
		lifetime = e.Seconds
	}
	in, err := fs.get(req.InputFileID)
	if err != nil {
		return &apiError{err: ErrRouteNotFound, param: "input_file_id", msg: err.Error()}
	}
	if in.obj.Purpose != "batch" {
		return invalidParam("input_file_id", "file %s was uploaded for %q: a batch's input file is uploaded with purpose \"batch\"", in.obj.ID, in.obj.Purpose)
	}
	if _, err := s.backendFor(); err != nil {
		return err
	}
	input, err := fs.content(in)
	if err != nil {
		return err
	}
	created := s.startBatch(batchObject{ID: "batch_" + randomID(idAlphabet, 24), Object: "batch", Endpoint: req.Endpoint,
		InputFileID: in.obj.ID, CompletionWindow: batchWindow, Metadata: req.Metadata, outputLifetime: lifetime}, input)
	return s.writeJSON(ctx, created)
}

// startBatch keeps a batch made of obj (its id, endpoint, input file and
// metadata), starts running input, that file's bytes, in the background,
// and returns the batch as created (validating, nothing counted yet).
func (s *Server) startBatch(obj batchObject, input []byte) batchObject {
	obj.CreatedAt = time.Now().Unix()
	expires := obj.CreatedAt + 24*3600
	obj.Status, obj.ExpiresAt = "validating", &expires
	if obj.Metadata == nil {
		obj.Metadata = map[string]string{}
	}
	j := &batchJob{obj: obj, done: make(chan struct{})}
	var rctx context.Context
	rctx, j.cancel = context.WithCancel(s.baseCtx)
	s.batches.mu.Lock()
	s.batches.jobs = append(s.batches.jobs, j)
	s.batches.mu.Unlock()
	s.batches.save(j)
	// The reply shows the batch as created: taken after the runner
	// starts, it could already count lines done.
	created := s.batches.snapshot(j)
	go s.runBatch(rctx, j, input)
	return created
}

// cancelBatch makes j cancelling, if it is still running: no more lines
// start, those running finish.
func (s *Server) cancelBatch(j *batchJob) {
	s.batches.update(j, func(o *batchObject) {
		if o.Status == "validating" || o.Status == "in_progress" {
			o.Status, o.CancellingAt = "cancelling", now()
		}
	})
	s.batches.save(j)
	j.cancel()
}

// handleBatch answers GET /v1/batches/{id} and POST
// /v1/batches/{id}/cancel.
func (s *Server) handleBatch(ctx *fasthttp.RequestCtx, ri *reqInfo) error {
	if _, err := s.filesOn(); err != nil {
		return err
	}
	id, sub, _ := strings.Cut(strings.TrimPrefix(ri.path, "/v1/batches/"), "/")
	s.batches.mu.Lock()
	j, err := s.batches.find(id)
	s.batches.mu.Unlock()
	if err != nil || isMessageBatch(id) { // Anthropic's batches are seen through its API only
		return &apiError{err: ErrRouteNotFound, msg: fmt.Sprintf("no batch %q", id)}
	}
	switch {
	case sub == "" && ri.method == "GET":
		return s.writeJSON(ctx, s.batches.snapshot(j))
	case sub == "cancel" && ri.method == "POST":
		s.cancelBatch(j)
		return s.writeJSON(ctx, s.batches.snapshot(j))
	}
	return &apiError{err: ErrRouteNotFound, msg: fmt.Sprintf("no route for %s %s: a batch has GET /v1/batches/{id} and POST /v1/batches/{id}/cancel", ri.method, ri.path)}
}

// runBatch validates j's input, runs its lines (those its log lacks,
// when it resumes) and writes its output and error files. A cancelled
// batch runs no more lines, lets those in flight finish, and keeps their
// results. So does one the server's shutdown stops; with a folder it
// stays under way there instead, to resume at the next start.
func (s *Server) runBatch(ctx context.Context, j *batchJob, input []byte) {
	defer close(j.done)
	bs := &s.batches
	// What the batch was made with, which never changes.
	made := bs.snapshot(j)
	id := made.ID
	log := s.log.With(zap.String("batch", id))
	lines, verrs := s.validateBatch(input, made.Endpoint)
	if verrs != nil {
		bs.update(j, func(o *batchObject) {
			o.Errors = &batchErrors{Object: "list", Data: verrs}
			if o.Status == "cancelling" {
				o.Status, o.CancelledAt = "cancelled", now()
			} else {
				o.Status, o.FailedAt = "failed", now()
			}
		})
		bs.save(j)
		log.Warn("batch failed validation", zap.Int("errors", len(verrs)), zap.String("first", verrs[0].Message))
		return
	}
	// The lines a resumed batch had finished count again, from its log.
	results := make([]*BatchOutput, len(lines))
	logged := bs.loggedLines(id)
	cancelled := false
	bs.update(j, func(o *batchObject) {
		o.RequestCounts, o.Usage = batchCounts{Total: len(lines)}, responseUsage{}
		for i, l := range logged {
			if i < len(lines) && l.Output.CustomID == lines[i].CustomID {
				results[i] = &l.Output
				countLine(o, l.Output, l.Usage)
			}
		}
		switch o.Status {
		case "cancelling":
			cancelled = true
		case "validating":
			o.Status, o.InProgressAt = "in_progress", now()
		}
	})
	bs.save(j)
	log.Info("batch started", zap.Int("requests", len(lines)), zap.Int("already_run", len(lines)-countNil(results)), zap.String("endpoint", made.Endpoint))
	lineLog := bs.openLines(id)
	concurrency := 1
	if b, err := s.backendFor(); err == nil {
		concurrency = max(1, 2*b.Model.Slots)
	}
	inflight := make(chan struct{}, concurrency)
	var wg sync.WaitGroup
	expires := made.ExpiresAt
	expired := false
dispatch:
	for i, in := range lines {
		if cancelled {
			break
		}
		if results[i] != nil {
			continue
		}
		select {
		case inflight <- struct{}{}:
		case <-ctx.Done():
			break dispatch
		}
		if ctx.Err() != nil || s.state.Load() == stateDraining {
			<-inflight
			break
		}
		if expires != nil && time.Now().Unix() >= *expires {
			<-inflight
			expired = true
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-inflight }()
			o, u := s.CallBatchLine(in)
			if bs.dir != "" && s.state.Load() == stateDraining && o.Response != nil && o.Response.StatusCode == 503 {
				return // cut short by the shutdown: it runs again at the next start
			}
			results[i] = &o
			lineLog.add(batchLine{Index: i, Usage: u, Output: o})
			bs.update(j, func(b *batchObject) { countLine(b, o, u) })
		}()
	}
	wg.Wait()
	lineLog.close()
	if expired {
		// OpenAI's way: the lines not run go to the error file.
		for i, in := range lines {
			if results[i] == nil {
				o := BatchErrorOutput(in.CustomID, &BatchError{Code: "batch_expired", Message: "This request could not be executed before the completion window expired."})
				results[i] = &o
				bs.update(j, func(b *batchObject) {
					countLine(b, o, BatchUsage{})
					b.RequestCounts.Expired++
				})
			}
		}
	}
	whole := !slices.Contains(results, nil)
	userCancelled := cancelled || bs.snapshot(j).Status == "cancelling"
	if !whole && !userCancelled && bs.dir != "" {
		// The server is stopping: the batch is left under way in its
		// folder, its log holding what has run.
		bs.save(j)
		log.Info("batch paused until the server starts again", zap.Int("run", len(lines)-countNil(results)), zap.Int("total", len(lines)))
		return
	}
	bs.update(j, func(o *batchObject) {
		if whole && !userCancelled && !expired {
			o.FinalizingAt = now()
			o.Status = "finalizing"
		}
	})
	var out, errs bytes.Buffer
	for _, o := range results {
		switch {
		case o == nil: // not run
		case o.Failed():
			errs.Write(MarshalBatchOutput(*o))
		default:
			out.Write(MarshalBatchOutput(*o))
		}
	}
	var outID, errID *string
	var storeErr error
	keep := func(buf *bytes.Buffer, suffix string) *string {
		if buf.Len() == 0 || storeErr != nil {
			return nil
		}
		var expires int64
		if l := made.outputLifetime; l > 0 {
			expires = time.Now().Unix() + l
		}
		f, err := s.files.add(id+suffix, "batch_output", buf.Bytes(), expires)
		if err != nil {
			storeErr = err
			return nil
		}
		return &f.ID
	}
	outID = keep(&out, "_output.jsonl")
	errID = keep(&errs, "_error.jsonl")
	bs.update(j, func(o *batchObject) {
		o.OutputFileID, o.ErrorFileID = outID, errID
		switch {
		case storeErr != nil:
			o.Status, o.FailedAt = "failed", now()
			o.Errors = &batchErrors{Object: "list", Data: []batchLineError{{Code: "output_too_large", Message: storeErr.Error()}}}
		case !whole || userCancelled:
			o.Status, o.CancelledAt = "cancelled", now()
		case expired:
			o.Status, o.ExpiredAt = "expired", now()
		default:
			o.Status, o.CompletedAt = "completed", now()
		}
	})
	bs.save(j)
	bs.dropLines(id)
	o := bs.snapshot(j)
	log.Info("batch ended", zap.String("status", o.Status), zap.Int("completed", o.RequestCounts.Completed),
		zap.Int("failed", o.RequestCounts.Failed), zap.Int("total", o.RequestCounts.Total))
}

// countLine counts one finished line in o: completed (with its usage) or
// failed.
func countLine(o *batchObject, out BatchOutput, u BatchUsage) {
	if out.Failed() {
		o.RequestCounts.Failed++
		return
	}
	o.RequestCounts.Completed++
	in, gen := u.PromptTokens+u.InputTokens, u.CompletionTokens+u.OutputTokens
	o.Usage.InputTokens += in
	o.Usage.OutputTokens += gen
	o.Usage.TotalTokens += in + gen
}

func countNil[T any](s []*T) int {
	n := 0
	for _, p := range s {
		if p == nil {
			n++
		}
	}
	return n
}

// validateBatch parses the input file's lines: each must be a request to
// endpoint with its own custom_id. Any error fails the whole batch before
// a line runs, as OpenAI's validation does; errors name the line (from 1).
func (s *Server) validateBatch(input []byte, endpoint string) ([]BatchInput, []batchLineError) {
	var lines []BatchInput
	var errs []batchLineError
	seen := map[string]int{}
	for n, raw := range bytes.Split(input, []byte("\n")) {
		n++
		if len(bytes.TrimSpace(raw)) == 0 {
			continue
		}
		line := n
		in, e := ParseBatchLine(raw)
		switch {
		case e != nil:
		case in.URL != endpoint:
			e = &BatchError{Code: "mismatched_endpoint", Message: fmt.Sprintf("url %q: this batch's requests go to %s", in.URL, endpoint)}
		case seen[in.CustomID] > 0:
			e = &BatchError{Code: "duplicate_custom_id", Message: fmt.Sprintf("custom_id %q is line %d's too", in.CustomID, seen[in.CustomID])}
		}
		if e != nil {
			if len(errs) < 100 {
				errs = append(errs, batchLineError{Code: e.Code, Message: fmt.Sprintf("line %d: %s", line, e.Message), Line: &line})
			}
			continue
		}
		seen[in.CustomID] = line
		lines = append(lines, in)
	}
	if errs == nil && len(lines) == 0 {
		errs = append(errs, batchLineError{Code: "empty_file", Message: "the input file has no requests"})
	}
	return lines, errs
}
