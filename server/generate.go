package server

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nuri-ai/nuri/chat"
	"github.com/nuri-ai/nuri/engine"
)

// job is one generation request after validation: everything the
// response writers need, copied out of the fasthttp context.
type job struct {
	kind     string    // "chat", "completion" or "response" (/v1/responses)
	id       string    // response id
	start    time.Time // when it was made: its replies' created, and where its timings count from
	model    string
	reqs     []engine.Request // one per choice
	nPrompts int
	n        int // choices a prompt: generated, and returned unless keep ranks them
	// keep (completions' best_of above n): of each prompt's n candidates,
	// how many the answer returns, the best (bestChoices); 0: all.
	keep     int
	stream   bool
	usage    bool // stream_options.include_usage
	logprobs bool // report logprobs in the response
	// timingsPerToken (a stream): every chunk with output carries the
	// timings so far.
	timingsPerToken bool
	// echo (completions): each prompt as its choices start with it; nil
	// without echo.
	echo []echoPrompt
	// tools (chat): how replies are split into content and tool calls;
	// tools.format is "" when they are not.
	tools toolSetup
	// reasoning (chat): the thinking is split off into reasoning_content;
	// thinkOpen: the prompt opened it; thinkTags frame it.
	reasoning, thinkOpen bool
	thinkTags            chat.ThinkTags
	prefix               string // forced start of every reply (appended to the prompt)
	// resp (/v1/responses): what the response object repeats of its
	// request.
	resp *responseMeta
	// llama (llama.cpp's /completion and /infill): what the replies
	// repeat of the request.
	llama *llamaMeta
	// chatDone (chat with "store": true) is given the whole completion
	// once every choice has finished, before the last of it is sent.
	chatDone func(*chatResponse)
}

// echoPrompt is one prompt as echo returns it.
type echoPrompt struct {
	text  string // the prompt text
	first string // its first token's text, which has no score
}

// echoOf is the prompt choice i starts with (nil without echo).
func (j *job) echoOf(i int) *echoPrompt {
	if j.echo == nil {
		return nil
	}
	return &j.echo[i/j.n]
}

// choice accumulates one sequence's output.
type choice struct {
	text     []byte
	tokens   []int32 // the generated ids, kept only when keep is set (llama.cpp's return_tokens)
	keep     bool
	finish   engine.FinishReason
	reason   string
	stop     any // engine.Event.StopReason
	usage    engine.Usage
	logprobs []engine.TokenLogprob
	top      [][]engine.TokenLogprob
	promptLP []engine.TokenLogprob // echo with logprobs: the prompt's scores
	promptTo [][]engine.TokenLogprob
	ttft     time.Duration
	cached   int // prompt tokens the prefix cache served (from the first event)
	err      error
	done     bool
	nTokens  int // tokens seen, for usage when no final event came
}

func (c *choice) add(ev engine.Event) {
	c.text = append(c.text, ev.Text...)
	if c.keep {
		c.tokens = append(c.tokens, ev.Tokens...)
	}
	c.nTokens += len(ev.Tokens)
	c.logprobs = append(c.logprobs, ev.Logprobs...)
	c.top = append(c.top, ev.TopLogprobs...)
	c.promptLP = append(c.promptLP, ev.PromptLogprobs...)
	c.promptTo = append(c.promptTo, ev.PromptTopLogprobs...)
	if c.ttft == 0 && ev.TTFT > 0 {
		c.ttft, c.cached = ev.TTFT, ev.CachedTokens
	}
	if ev.Finish != engine.FinishNone {
		c.finish, c.reason, c.usage, c.err, c.done, c.stop = ev.Finish, ev.Reason, ev.Usage, ev.Err, true, ev.StopReason
	}
}

// abandon marks a choice whose stream closed without a final event
// (cancelled), estimating its usage from what was seen.
func (c *choice) abandon(promptLen int) {
	if c.done {
		return
	}
	c.finish, c.done = engine.FinishCancelled, true
	c.usage = engine.Usage{PromptTokens: promptLen, CompletionTokens: c.nTokens}
}

// submit queues every choice; on any failure the ones already queued are
// cancelled and the error returned.
func (s *Server) submit(ctx context.Context, eng Engine, j *job) ([]Stream, error) {
	streams := make([]Stream, 0, len(j.reqs))
	for i := range j.reqs {
		s.limitReply(&j.reqs[i])
	}
	for _, r := range j.reqs {
		st, err := eng.Submit(ctx, r)
		if err != nil {
			for _, o := range streams {
				o.Cancel()
			}
			return nil, fmt.Errorf("submit: %w", err)
		}
		streams = append(streams, st)
	}
	return streams, nil
}

// limitReply holds r to the server's reply limit (Config.MaxReplyTokens):
// a request for more tokens, or for no limit, gets the limit, as
// llama-server's --n-predict and vLLM's max_new_tokens do. The job's
// copy is changed, so the answer reports the limit it ran under.
func (s *Server) limitReply(r *engine.Request) {
	if r.PromptOnly {
		return
	}
	r.MaxTokens = max(s.replyLimit(r.MaxTokens), 0)
	if r.MaxTokens > 0 {
		r.MinTokens = min(r.MinTokens, r.MaxTokens)
	}
}

// replyLimit is how many tokens a request asking for n (≤ 0: no limit)
// may generate under Config.MaxReplyTokens; n where there is no limit.
func (s *Server) replyLimit(n int) int {
	if limit := s.cfg.MaxReplyTokens; limit > 0 && (n <= 0 || n > limit) {
		return limit
	}
	return n
}

// finishReason is OpenAI's name for r.
func finishReason(r engine.FinishReason) string {
	switch r {
	case engine.FinishStop, engine.FinishLength:
		return string(r)
	}
	return "abort"
}

// toolFinish is the finish reason of a reply that made calls: a reply
// that ended on its own ended to have them run ("function_call" in the
// deprecated functions API).
func (j *job) toolFinish(r engine.FinishReason) string {
	switch {
	case r != engine.FinishStop:
		return finishReason(r)
	case j.tools.legacy:
		return "function_call"
	}
	return "tool_calls"
}

// totals sums usage the way OpenAI reports it: each prompt once, every
// choice's completion tokens.
func (j *job) totals(choices []*choice) usageJSON {
	var u usageJSON
	cached := 0
	for i, c := range choices {
		if i%j.n == 0 {
			u.PromptTokens += c.usage.PromptTokens
			cached += c.usage.CachedTokens
		}
		u.CompletionTokens += c.usage.CompletionTokens
	}
	u.TotalTokens = u.PromptTokens + u.CompletionTokens
	u.PromptTokensDetails = &promptTokensDetails{CachedTokens: cached}
	if len(j.reqs) > 0 && len(j.reqs[0].Prediction) > 0 {
		d := &completionTokensDetails{}
		for _, c := range choices {
			d.AcceptedPredictionTokens += c.usage.AcceptedPredictionTokens
			d.RejectedPredictionTokens += c.usage.RejectedPredictionTokens
		}
		u.CompletionTokensDetails = d
	}
	return u
}

// recordFinish counts one finished sequence in the metrics.
func (s *Server) recordFinish(c *choice) {
	if c.finish == engine.FinishError {
		s.metrics.promptTokens.Add(int64(c.usage.PromptTokens))
		s.metrics.generationTokens.Add(int64(c.usage.CompletionTokens))
		return
	}
	s.metrics.finished(c.finish, c.usage.PromptTokens, c.usage.CompletionTokens)
}

// collect reads every stream to its end (non-streaming responses). The
// engine never blocks on a slow reader, so reading the streams one after
// another does not serialise generation.
func (s *Server) collect(ctx context.Context, j *job, streams []Stream) ([]*choice, error) {
	out := make([]*choice, len(streams))
	var firstErr error
	for i, st := range streams {
		c := &choice{keep: j.llama != nil && j.llama.returnTokens}
		for ev := range st.Events() {
			c.add(ev)
		}
		c.abandon(len(j.reqs[i].Prompt))
		s.recordFinish(c)
		if c.finish == engine.FinishError && firstErr == nil {
			firstErr = fmt.Errorf("%w: generation failed: %w", ErrInternal, c.err)
		}
		if c.finish == engine.FinishCancelled && firstErr == nil {
			if s.state.Load() == stateDraining || ctx.Err() != nil {
				firstErr = &apiError{err: ErrDraining, msg: "the request was cancelled because the server is shutting down"}
			}
		}
		out[i] = c
	}
	return out, firstErr
}

// utf8Holdback passes on only complete UTF-8, keeping a trailing partial
// character for the next delta. The engine already emits whole
// characters; this guard makes "never half a Hangul syllable" a property
// of the server's own output too.
type utf8Holdback struct{ pending []byte }

func (h *utf8Holdback) push(s string) string {
	h.pending = append(h.pending, s...)
	cut := completePrefix(h.pending)
	out := string(h.pending[:cut])
	h.pending = append(h.pending[:0], h.pending[cut:]...)
	return out
}

// flush returns what is left, invalid bytes replaced by U+FFFD.
func (h *utf8Holdback) flush() string {
	out := string(h.pending)
	h.pending = h.pending[:0]
	return strings.ToValidUTF8(out, "\uFFFD")
}

// completePrefix is the length of b without a trailing incomplete (but so
// far valid) UTF-8 sequence.
func completePrefix(b []byte) int {
	n := len(b)
	for i := n - 1; i >= 0 && i >= n-utf8.UTFMax; i-- {
		c := b[i]
		if c < 0x80 {
			return n // ASCII: nothing incomplete
		}
		if c >= 0xC0 { // a leading byte
			if !utf8.FullRune(b[i:]) {
				return i
			}
			return n
		}
	}
	return n
}
