package engine

import (
	"fmt"
	"math"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/nuri-ai/nuri/sample"
)

// emitNext samples s's next token from its logits row, applies the stop
// conditions and emits the event. It returns the token and whether s is
// still running.
func (e *Engine) emitNext(s *Sequence, row []float32) (int32, bool) {
	topN := s.req.TopLogprobs
	want := topN
	if !s.req.Logprobs && topN == 0 {
		want = sample.NoLogprob
	}
	if s.generated() < s.req.MinTokens {
		e.maskStops(s, row)
	}
	res, err := s.sampler.Sample(row, s.tokens, want)
	if err != nil {
		err = fmt.Errorf("sample at position %d: %w", len(s.tokens), err)
		e.finish(s, Event{Finish: FinishError, Err: err, Reason: err.Error()})
		return 0, false
	}
	tok := res.Token
	s.tokens = append(s.tokens, tok)
	e.counters.generationTokens++
	if s.expect >= 0 && tok == s.expect {
		s.predAccepted++
		s.predRejected--
	}
	s.expect = -1

	ev := Event{Tokens: []int32{tok}}
	now := time.Now()
	if !s.sawToken && s.req.PromptLogprobs {
		ev.PromptLogprobs, ev.PromptTopLogprobs = s.promptLP, s.promptTop
	}
	if !s.sawToken {
		s.sawToken, s.firstToken = true, now
		ev.TTFT, ev.CachedTokens = now.Sub(s.submitted), s.cached
		e.obs.ObserveTTFT(ev.TTFT)
	} else {
		e.obs.ObserveITL(now.Sub(s.lastToken))
	}
	s.lastToken = now
	if s.req.Logprobs || topN > 0 {
		ev.Logprobs = []TokenLogprob{e.tokenLogprob(tok, res.Logprob)}
		if topN > 0 {
			ev.TopLogprobs = [][]TokenLogprob{e.alternatives(res.Top)}
		}
	}

	switch {
	case e.tok.IsEOG(tok) && !s.req.IgnoreEOS:
		ev.Finish, ev.Reason = FinishStop, "end-of-generation token"
	case slices.Contains(s.req.StopTokens, tok):
		ev.Finish, ev.Reason, ev.StopReason = FinishStop, "stop token", tok
		if s.req.IncludeStop {
			piece, err := e.tok.Piece(tok, true)
			if err != nil {
				ev.Finish, ev.Err = FinishError, fmt.Errorf("detokenize %d: %w", tok, err)
				ev.Reason = ev.Err.Error()
			}
			ev.Text, _, _ = s.text.push(piece, false)
		}
	default:
		piece, err := e.tok.Piece(tok, s.req.ShowSpecial || slices.Contains(s.req.ShowTokens, tok))
		if err != nil {
			ev.Finish, ev.Err = FinishError, fmt.Errorf("detokenize %d: %w", tok, err)
			ev.Reason = ev.Err.Error()
		}
		dedent := false
		if s.req.MinIndent > 0 || s.req.PredictTimeLimit > 0 {
			// Only the code-completion stops read the lines.
			piece, dedent = s.lines.watch(piece, s.req.MinIndent)
		}
		text, stop, stopped := s.text.push(piece, s.generated() >= s.req.MinTokens)
		ev.Text = text
		switch {
		case stopped:
			ev.Finish, ev.Reason, ev.StopReason = FinishStop, "stop string", stop
		case dedent && ev.Finish == FinishNone:
			ev.Finish, ev.Reason = FinishLength, fmt.Sprintf("a line indented less than %d", s.req.MinIndent)
		}
	}
	if ev.Finish == FinishNone {
		switch {
		case s.sampler.Complete():
			ev.Finish, ev.Reason = FinishStop, "output constraint complete"
		case s.req.MaxTokens > 0 && s.generated() >= s.req.MaxTokens:
			ev.Finish, ev.Reason = FinishLength, fmt.Sprintf("max tokens (%d)", s.req.MaxTokens)
		case len(s.tokens) >= e.nCtx:
			ev.Finish, ev.Reason = FinishLength, fmt.Sprintf("context full (%d tokens)", e.nCtx)
		case s.req.PredictTimeLimit > 0 && s.lines.newline && now.Sub(s.firstToken) >= s.req.PredictTimeLimit:
			ev.Finish, ev.Reason = FinishLength, fmt.Sprintf("time limit (%v)", s.req.PredictTimeLimit)
		}
	}
	if ev.Finish != FinishNone {
		e.finish(s, ev)
		return tok, false
	}
	s.merge(ev)
	e.push(s)
	return tok, true
}

// maskStops keeps s from sampling a token that would end it before
// Request.MinTokens: the end-of-generation tokens (unless IgnoreEOS) and
// its stop tokens get -inf logits in row, as vLLM's min_tokens does.
func (e *Engine) maskStops(s *Sequence, row []float32) {
	inf := float32(math.Inf(-1))
	if !s.req.IgnoreEOS {
		for _, t := range e.eog {
			row[t] = inf
		}
	}
	for _, t := range s.req.StopTokens {
		row[t] = inf
	}
}

// scorePrompt records the score of s's prompt token pos+1 from the logits
// row of position pos (Request.PromptLogprobs). Rows come in position
// order, each once.
func (e *Engine) scorePrompt(s *Sequence, pos int, row []float32) {
	if s.finished || pos != len(s.promptLP) {
		return
	}
	tok := s.tokens[pos+1]
	res, err := sample.Score(row, tok, s.req.TopLogprobs)
	if err != nil {
		err = fmt.Errorf("score prompt token %d: %w", pos+1, err)
		e.finish(s, Event{Finish: FinishError, Err: err, Reason: err.Error()})
		return
	}
	s.promptLP = append(s.promptLP, e.tokenLogprob(tok, res.Logprob))
	if s.req.TopLogprobs > 0 {
		s.promptTop = append(s.promptTop, e.alternatives(res.Top))
	}
}

// tokenLogprob renders one token for the logprobs report. Special tokens
// keep their text so a client can see them; a token whose bytes cannot be
// looked up is reported without text.
func (e *Engine) tokenLogprob(tok int32, lp float32) TokenLogprob {
	b, err := e.tok.Piece(tok, true)
	if err != nil {
		b = nil
	}
	return TokenLogprob{Token: tok, Text: b, Logprob: lp}
}

func (e *Engine) alternatives(top []sample.Candidate) []TokenLogprob {
	out := make([]TokenLogprob, len(top))
	for i, c := range top {
		out[i] = e.tokenLogprob(c.Token, c.Logprob)
	}
	return out
}

func zapSeq(s *Sequence) zap.Field        { return zap.String("req_id", s.id) }
func zapErr(err error) zap.Field          { return zap.Error(err) }
func zapInt(key string, v int) zap.Field  { return zap.Int(key, v) }
func timeSince(t time.Time) time.Duration { return time.Since(t) }
