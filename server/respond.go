package server

import (
	"bufio"
	"context"
	"net/http"
	"sync/atomic"

	"github.com/valyala/fasthttp"

	"github.com/nuri-ai/nuri/engine"
)

// backendFor returns the loaded backend, or the 503 that explains why
// there is none.
func (s *Server) backendFor() (*Backend, error) {
	switch s.state.Load() {
	case stateLoading:
		return nil, &apiError{err: ErrNotReady, msg: "the model is still loading"}
	case stateDraining:
		return nil, &apiError{err: ErrDraining, msg: "the server is shutting down"}
	}
	b := s.backend.Load()
	if b == nil {
		return nil, &apiError{err: ErrNotReady, msg: "the model is still loading"}
	}
	return b, nil
}

// run submits j and answers: one JSON body, or an SSE stream.
func (s *Server) run(ctx *fasthttp.RequestCtx, ri *reqInfo, b *Backend, j *job) error {
	choices, err := s.submitAndAnswer(ctx, ri, b, j, "text/event-stream; charset=utf-8", func(w *bufio.Writer, streams []Stream, cancel func()) {
		s.streamOut(w, j, streams, ri, cancel)
	})
	if choices == nil {
		return err // streaming, or not submitted
	}
	for _, c := range choices {
		ri.completionTokens += c.usage.CompletionTokens
		if ri.ttft == 0 || (c.ttft > 0 && c.ttft < ri.ttft) {
			ri.ttft = c.ttft
		}
	}
	usage := j.totals(choices) // every candidate's tokens count, as OpenAI bills best_of
	ri.promptTokens = usage.PromptTokens
	if err != nil {
		return err
	}
	timings := j.timingsOf(choices, usage)
	choices = j.bestChoices(choices)
	switch j.kind {
	case "chat":
		body := chatBody(j, choices, usage)
		if j.chatDone != nil {
			j.chatDone(body) // kept without the timings, as OpenAI's
		}
		body.Timings = timings
		return s.writeJSON(ctx, body)
	case "response":
		return s.writeJSON(ctx, responseBody(j, choices[0]))
	case "llama":
		return s.writeJSON(ctx, j.llamaBody(choices))
	}
	body := completionBody(j, choices, usage)
	body.Timings = timings
	return s.writeJSON(ctx, body)
}

// submitAndAnswer submits j. For a streamed job it hands the response to
// stream, run in fasthttp's writer goroutine under contentType, and
// returns (nil, nil); otherwise it reads every choice to its end (collect).
// The drain counter and the sequences' context are released whichever
// way the request ends, a panic included.
func (s *Server) submitAndAnswer(ctx *fasthttp.RequestCtx, ri *reqInfo, b *Backend, j *job, contentType string,
	stream func(w *bufio.Writer, streams []Stream, cancel func())) ([]*choice, error) {
	if !s.active.begin() {
		return nil, &apiError{err: ErrDraining, msg: "the server is shutting down"}
	}
	rctx, cancel := context.WithCancel(s.baseCtx)
	handedOff := false // the stream writer owns cancel and end from then on
	defer func() {
		if !handedOff {
			cancel()
			s.active.end()
		}
	}()
	streams, err := s.submit(rctx, b.Engine, j)
	if err != nil {
		return nil, err
	}
	if !j.stream {
		var gone atomic.Bool
		stop := watchClient(ctx.Conn(), clientPoll, func() {
			gone.Store(true)
			cancel()
		})
		choices, err := s.collect(rctx, j, streams)
		stop()
		if gone.Load() {
			return nil, &apiError{err: errClientClosed, msg: "the client closed the connection before the answer was ready"}
		}
		return choices, err
	}
	ri.stream, ri.logged, ri.status = true, true, http.StatusOK
	ctx.SetStatusCode(http.StatusOK)
	ctx.SetContentType(contentType)
	ctx.Response.Header.Set("Cache-Control", "no-cache")
	ctx.Response.Header.Set("X-Accel-Buffering", "no")
	// The writer runs in its own goroutine (fasthttp pipes it to the
	// connection): it only uses j, streams and ri, never ctx.
	handedOff = true
	ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
		defer s.active.end()
		defer cancel()
		stream(w, streams, cancel)
	})
	return nil, nil
}

// oneChoice is the choice of a one-choice job answered whole, its counts
// noted for the access log.
func (ri *reqInfo) oneChoice(j *job, choices []*choice) *choice {
	c := choices[0]
	ri.completionTokens, ri.ttft = c.usage.CompletionTokens, c.ttft
	ri.promptTokens = j.totals(choices).PromptTokens
	return c
}

func chatBody(j *job, choices []*choice, u usageJSON) *chatResponse {
	resp := &chatResponse{ID: j.id, Object: "chat.completion", Created: j.start.Unix(), Model: j.model, Usage: &u}
	for i, c := range choices {
		text := string(c.text)
		fr := finishReason(c.finish)
		parts := j.splitReply(text)
		msg := &chatMessageFull{Role: "assistant", Content: &parts.content}
		if parts.reasoning != "" {
			msg.ReasoningContent = &parts.reasoning
		}
		if len(parts.calls) > 0 {
			msg.ToolCalls = callsOut(parts.calls, false, 0)
			if parts.content == "" {
				msg.Content = nil
			}
			fr = j.toolFinish(c.finish)
			if j.tools.legacy {
				msg.ToolCalls, msg.FunctionCall = nil, legacyCall(parts.calls)
			}
		}
		ch := chatChoice{Index: i, Message: msg, FinishReason: &fr, StopReason: c.stop}
		if j.logprobs {
			ch.Logprobs = chatLogprobsOf(c.logprobs, c.top)
		}
		resp.Choices = append(resp.Choices, ch)
	}
	return resp
}

func completionBody(j *job, choices []*choice, u usageJSON) *completionResponse {
	resp := &completionResponse{ID: j.id, Object: "text_completion", Created: j.start.Unix(), Model: j.model, Usage: &u}
	for i, c := range choices {
		fr := finishReason(c.finish)
		ch := completionChoice{Index: i, Text: string(c.text), FinishReason: &fr, StopReason: c.stop}
		offset := 0
		if e := j.echoOf(i); e != nil {
			ch.Text = e.text + ch.Text
			if j.logprobs {
				ch.Logprobs = promptLogprobsOf(e, c.promptLP, c.promptTo)
				offset = ch.Logprobs.end(0)
			}
		}
		if j.logprobs {
			lp := completionLogprobsOf(c.logprobs, c.top, offset)
			if ch.Logprobs != nil {
				lp = ch.Logprobs.join(lp)
			}
			ch.Logprobs = lp
		}
		resp.Choices = append(resp.Choices, ch)
	}
	return resp
}

// promptLogprobsOf is the legacy logprobs object of an echoed prompt: its
// first token unscored (null), then the engine's scores of the others.
func promptLogprobsOf(e *echoPrompt, lps []engine.TokenLogprob, top [][]engine.TokenLogprob) *completionLogprobs {
	out := &completionLogprobs{Tokens: []string{e.first}, TokenLogprobs: []*float64{nil}, TextOffset: []int{0}}
	if len(top) > 0 {
		out.TopLogprobs = []map[string]float64{nil}
	}
	return out.join(completionLogprobsOf(lps, top, len(e.first)))
}

// end is the text offset just past l's last token (start when it has
// none): where the next chunk's tokens begin.
func (l *completionLogprobs) end(start int) int {
	if n := len(l.Tokens); n > 0 {
		return l.TextOffset[n-1] + len(l.Tokens[n-1])
	}
	return start
}

// join appends b's entries to a's.
func (a *completionLogprobs) join(b *completionLogprobs) *completionLogprobs {
	a.Tokens = append(a.Tokens, b.Tokens...)
	a.TokenLogprobs = append(a.TokenLogprobs, b.TokenLogprobs...)
	a.TopLogprobs = append(a.TopLogprobs, b.TopLogprobs...)
	a.TextOffset = append(a.TextOffset, b.TextOffset...)
	return a
}

func bytesOf(b []byte) []int {
	out := make([]int, len(b))
	for i, c := range b {
		out[i] = int(c)
	}
	return out
}

func chatLogprobsOf(lps []engine.TokenLogprob, top [][]engine.TokenLogprob) *chatLogprobs {
	out := &chatLogprobs{Content: make([]chatTokenLogprob, 0, len(lps))}
	for i, lp := range lps {
		t := chatTokenLogprob{
			chatTopLogprob: chatTopLogprob{Token: string(lp.Text), Logprob: float64(lp.Logprob), Bytes: bytesOf(lp.Text)},
			TopLogprobs:    []chatTopLogprob{},
		}
		if i < len(top) {
			for _, a := range top[i] {
				t.TopLogprobs = append(t.TopLogprobs, chatTopLogprob{Token: string(a.Text), Logprob: float64(a.Logprob), Bytes: bytesOf(a.Text)})
			}
		}
		out.Content = append(out.Content, t)
	}
	return out
}

// completionLogprobsOf builds the legacy logprobs object; offset is the
// text offset of the first token (non-zero for later stream chunks).
func completionLogprobsOf(lps []engine.TokenLogprob, top [][]engine.TokenLogprob, offset int) *completionLogprobs {
	out := &completionLogprobs{
		Tokens: make([]string, 0, len(lps)), TokenLogprobs: make([]*float64, 0, len(lps)),
		TextOffset: make([]int, 0, len(lps)),
	}
	for i, lp := range lps {
		v := float64(lp.Logprob)
		out.Tokens = append(out.Tokens, string(lp.Text))
		out.TokenLogprobs = append(out.TokenLogprobs, &v)
		out.TextOffset = append(out.TextOffset, offset)
		offset += len(lp.Text)
		if i < len(top) {
			m := make(map[string]float64, len(top[i]))
			for _, a := range top[i] {
				m[string(a.Text)] = float64(a.Logprob)
			}
			out.TopLogprobs = append(out.TopLogprobs, m)
		}
	}
	return out
}
