package server

import (
	"bufio"
	"fmt"
	"runtime/debug"
	"time"

	"go.uber.org/zap"

	"github.com/nuri-ai/nuri/engine"
)

// keepAlive is how often an idle stream (a request still queued) gets an
// SSE comment, which also detects a client that has gone away.
const keepAlive = 2 * time.Second

type taggedEvent struct {
	idx    int
	ev     engine.Event
	closed bool // the stream's channel closed
}

// sseWriter writes SSE events and remembers the first write error (the
// client has gone).
type sseWriter struct {
	w   *bufio.Writer
	err error
}

func (sw *sseWriter) data(v any) { sw.send("", v) }

// event writes a named SSE event (the Responses API names each).
func (sw *sseWriter) event(name string, v any) { sw.send(name, v) }

// send writes v as one event's data, under an "event:" line when named.
func (sw *sseWriter) send(name string, v any) {
	if sw.err != nil {
		return
	}
	b, err := marshal(v)
	if err != nil {
		sw.err = err
		return
	}
	head := "data: "
	if name != "" {
		head = "event: " + name + "\ndata: "
	}
	sw.raw(head + string(b) + "\n\n")
}

func (sw *sseWriter) raw(s string) {
	if sw.err != nil {
		return
	}
	if _, err := sw.w.WriteString(s); err != nil {
		sw.err = err
		return
	}
	sw.err = sw.w.Flush()
}

// streamState is the per-choice state of a stream.
type streamState struct {
	c      *choice
	hold   utf8Holdback
	lp     []engine.TokenLogprob // logprobs not yet sent (their text is held)
	top    [][]engine.TokenLogprob
	offset int // text offset for completion logprobs
	echoed bool
	split  *replySplit // chat: reasoning and tool calls apart from content
	resp   *responseBuilder
	ids    []int32 // llama.cpp's stream: tokens whose text is not sent yet
}

// advance takes one event of a one-choice stream written in another API's
// shape (Ollama's, Anthropic's): the choice counts it, the request notes
// its first token's time, and its text comes back split into the parts to
// send (whole characters only; thinking and calls apart), with whether it
// was the last.
func (st *streamState) advance(ev engine.Event, ri *reqInfo) (replyParts, bool) {
	st.c.add(ev)
	if ri.ttft == 0 && len(ev.Tokens) > 0 {
		ri.ttft = time.Since(ri.start)
	}
	finished := ev.Finish != engine.FinishNone
	delta := st.hold.push(ev.Text)
	if finished {
		delta += st.hold.flush()
	}
	if st.split == nil {
		return replyParts{content: delta}, finished
	}
	return st.split.push(delta, finished), finished
}

// streamOut writes the SSE response of j: for chat a role delta per
// choice first, then content deltas, a finish chunk per choice, the usage
// chunk when asked, and [DONE]. A failed write (client gone) cancels
// every sequence at once.
func (s *Server) streamOut(w *bufio.Writer, j *job, streams []Stream, ri *reqInfo, cancel func()) {
	sw := &sseWriter{w: w}
	states := make([]*streamState, len(streams))
	for i := range states {
		states[i] = &streamState{c: &choice{}}
		states[i].split = j.newSplit()
	}
	stop := make(chan struct{})
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("stream panic", zap.String("req_id", ri.id), zap.Any("panic", r), zap.ByteString("stack", debug.Stack()))
			ri.err, ri.status = fmt.Errorf("%w: panic: %v", ErrInternal, r), 500
		}
		close(stop)
		cancel()
		for _, st := range streams {
			st.Cancel()
		}
		s.finishStreamLog(j, states, ri)
	}()
	merged := make(chan taggedEvent, 2*len(streams))
	for i, st := range streams {
		go forward(i, st, merged, stop)
	}
	switch j.kind {
	case "chat":
		for i := range streams {
			empty := ""
			sw.data(j.chunk(i, &chatMessageOut{Role: "assistant", Content: &empty}, "", nil))
		}
	case "response": // one output, no n
		states[0].resp = newResponseBuilder(j, sw)
		states[0].resp.start()
	}
	ping := time.NewTicker(keepAlive)
	defer ping.Stop()
	for open := len(streams); open > 0 && sw.err == nil; {
		select {
		case t := <-merged:
			st := states[t.idx]
			if t.closed {
				if !st.c.done {
					st.c.abandon(len(j.reqs[t.idx].Prompt))
					s.recordFinish(st.c)
				}
				open--
				continue
			}
			if ri.ttft == 0 && len(t.ev.Tokens) > 0 {
				ri.ttft = time.Since(ri.start)
			}
			s.streamEvent(sw, j, t.idx, st, t.ev)
		case <-ping.C:
			sw.raw(": keep-alive\n\n")
		}
	}
	if sw.err != nil || j.kind == "response" || j.kind == "llama" {
		return // the deferred cleanup cancels what is left; a response (and llama.cpp's stream) ends with its final event
	}
	choices := make([]*choice, len(states))
	whole := true
	for i, st := range states {
		choices[i] = st.c
		whole = whole && st.c.done && st.c.err == nil
	}
	if j.chatDone != nil && whole {
		j.chatDone(chatBody(j, choices, j.totals(choices)))
	}
	if j.usage {
		u := j.totals(choices)
		sw.data(j.usageChunk(u, j.timingsOf(choices, u)))
	}
	sw.raw("data: [DONE]\n\n")
}

// forward copies one sequence's events into merged until the channel
// closes or the stream writer stops.
func forward(idx int, st Stream, merged chan<- taggedEvent, stop <-chan struct{}) {
	for ev := range st.Events() {
		select {
		case merged <- taggedEvent{idx: idx, ev: ev}:
		case <-stop:
			return
		}
	}
	select {
	case merged <- taggedEvent{idx: idx, closed: true}:
	case <-stop:
	}
}

// streamEvent writes the chunks for one event of choice idx.
func (s *Server) streamEvent(sw *sseWriter, j *job, idx int, st *streamState, ev engine.Event) {
	st.c.add(ev)
	if j.kind == "llama" {
		s.llamaEvent(sw, j, idx, st, ev)
		return
	}
	if e := j.echoOf(idx); e != nil && !st.echoed {
		// The prompt goes first, in a chunk of its own, with its scores:
		// they come with the sequence's first event.
		st.echoed = true
		var lp *completionLogprobs
		if j.logprobs {
			lp = promptLogprobsOf(e, ev.PromptLogprobs, ev.PromptTopLogprobs)
			st.offset = lp.end(st.offset)
		}
		sw.data(j.completionChunk(idx, e.text, "", lp))
	}
	delta := st.hold.push(ev.Text)
	finished := ev.Finish != engine.FinishNone
	if finished {
		delta += st.hold.flush()
	}
	parts := replyParts{content: delta}
	if st.split != nil {
		parts = st.split.push(delta, finished)
	}
	if j.logprobs {
		st.lp = append(st.lp, ev.Logprobs...)
		st.top = append(st.top, ev.TopLogprobs...)
	}
	if st.resp != nil {
		var lp []chatTokenLogprob
		if len(st.lp) > 0 {
			lp = chatLogprobsOf(st.lp, st.top).Content
		}
		st.resp.push(parts, lp)
		st.lp, st.top = nil, nil
		if finished {
			s.recordFinish(st.c)
			if ev.Finish == engine.FinishError {
				s.log.Error("generation failed", zap.String("req_id", j.id), zap.Error(ev.Err))
			}
			st.resp.finish(st.c)
		}
		return
	}
	if parts.content != "" || parts.reasoning != "" || (finished && len(st.lp) > 0) {
		var t *llamaTimings
		if j.timingsPerToken {
			t = j.choiceTimings(idx, st.c)
		}
		sw.data(j.contentChunk(idx, parts, st, t))
		st.lp, st.top = nil, nil
	}
	if len(parts.calls) > 0 {
		delta := &chatMessageOut{ToolCalls: callsOut(parts.calls, true, st.split.calls-len(parts.calls))}
		if j.tools.legacy {
			delta = &chatMessageOut{FunctionCall: legacyCall(parts.calls)}
		}
		sw.data(j.chunk(idx, delta, "", nil))
	}
	if !finished {
		return
	}
	s.recordFinish(st.c)
	if ev.Finish == engine.FinishError {
		s.streamFailed(sw, j, idx, ev.Err)
		return
	}
	// As llama-server's, the last chunk carries the timings: the usage
	// chunk's are the whole reply's; without it each choice's finishing
	// chunk has its own.
	var t *llamaTimings
	if !j.usage {
		t = j.choiceTimings(idx, st.c)
	}
	if j.kind == "chat" {
		fr := finishReason(ev.Finish)
		if st.split != nil && st.split.calls > 0 {
			fr = j.toolFinish(ev.Finish)
		}
		c := j.chunk(idx, &chatMessageOut{}, fr, nil)
		c.Choices[0].StopReason, c.Timings = ev.StopReason, t
		sw.data(c)
	} else {
		c := j.completionChunk(idx, "", finishReason(ev.Finish), nil)
		c.Choices[0].StopReason, c.Timings = ev.StopReason, t
		sw.data(c)
	}
}

// streamFailed ends choice idx of an SSE stream whose generation failed:
// the error object as the stream's data, the cause in the log.
func (s *Server) streamFailed(sw *sseWriter, j *job, idx int, err error) {
	_, body := errorResponse(fmt.Errorf("%w: generation failed: %w", ErrInternal, err))
	sw.data(body)
	s.log.Error("generation failed", zap.String("req_id", j.id), zap.Int("choice", idx), zap.Error(err))
}

// contentChunk is a chat chunk of reasoning and content deltas (with the
// logprobs of their tokens), or a completion's text chunk.
func (j *job) contentChunk(idx int, parts replyParts, st *streamState, t *llamaTimings) any {
	delta := parts.content
	if j.kind == "chat" {
		var lp *chatLogprobs
		if j.logprobs {
			lp = chatLogprobsOf(st.lp, st.top)
		}
		m := &chatMessageOut{}
		if parts.reasoning != "" {
			m.ReasoningContent = &parts.reasoning
		}
		if delta != "" || parts.reasoning == "" {
			m.Content = &delta
		}
		c := j.chunk(idx, m, "", lp)
		c.Timings = t
		return c
	}
	var lp *completionLogprobs
	if j.logprobs {
		lp = completionLogprobsOf(st.lp, st.top, st.offset)
		st.offset = lp.end(st.offset)
	}
	c := j.completionChunk(idx, delta, "", lp)
	c.Timings = t
	return c
}

func (j *job) chunk(idx int, delta *chatMessageOut, finish string, lp *chatLogprobs) *chatResponse {
	c := chatChoice{Index: idx, Delta: delta, Logprobs: lp}
	if finish != "" {
		c.FinishReason = &finish
	}
	return &chatResponse{ID: j.id, Object: "chat.completion.chunk", Created: j.start.Unix(), Model: j.model, Choices: []chatChoice{c}}
}

func (j *job) completionChunk(idx int, text, finish string, lp *completionLogprobs) *completionResponse {
	c := completionChoice{Index: idx, Text: text, Logprobs: lp}
	if finish != "" {
		c.FinishReason = &finish
	}
	return &completionResponse{ID: j.id, Object: "text_completion", Created: j.start.Unix(), Model: j.model, Choices: []completionChoice{c}}
}

func (j *job) usageChunk(u usageJSON, t *llamaTimings) any {
	if j.kind == "chat" {
		return &chatResponse{ID: j.id, Object: "chat.completion.chunk", Created: j.start.Unix(), Model: j.model, Choices: []chatChoice{}, Usage: &u, Timings: t}
	}
	return &completionResponse{ID: j.id, Object: "text_completion", Created: j.start.Unix(), Model: j.model, Choices: []completionChoice{}, Usage: &u, Timings: t}
}

// finishStreamLog fills the access-log record once the stream has ended.
func (s *Server) finishStreamLog(j *job, states []*streamState, ri *reqInfo) {
	choices := make([]*choice, len(states))
	for i, st := range states {
		choices[i] = st.c
		if !st.c.done { // the client left before this choice finished
			st.c.abandon(len(j.reqs[i].Prompt))
			s.recordFinish(st.c)
		}
		ri.completionTokens += st.c.usage.CompletionTokens
	}
	ri.promptTokens = j.totals(choices).PromptTokens
	s.accessLog(ri)
}
