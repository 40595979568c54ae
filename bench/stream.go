package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// streamChunk is the union of the chunk shapes servers send: chat deltas
// (content, and reasoning_content / reasoning for thinking models), legacy
// completion text, a usage object (vLLM and ollama in a final chunk with no
// choices, llama-server possibly alongside the last choice), llama-server's
// timings, an in-stream error object, and the typed events of the
// Responses API (responseEvent) and of Anthropic's Messages API
// (messagesEvent).
type streamChunk struct {
	Type     string          `json:"type"`
	Delta    json.RawMessage `json:"delta"`
	Message  json.RawMessage `json:"message"` // the Responses API's "error" event: a string; Anthropic's message_start: the message
	Response *struct {
		Status            string `json:"status"`
		IncompleteDetails *struct {
			Reason string `json:"reason"`
		} `json:"incomplete_details"`
		Usage *struct {
			InputTokens  int `json:"input_tokens"`
			OutputTokens int `json:"output_tokens"`
		} `json:"usage"`
		Error json.RawMessage `json:"error"`
	} `json:"response"`
	Choices []struct {
		Delta struct {
			Content          string `json:"content"`
			ReasoningContent string `json:"reasoning_content"`
			Reasoning        string `json:"reasoning"`
		} `json:"delta"`
		Text         string  `json:"text"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
		// Anthropic's message_delta.
		InputTokens          int `json:"input_tokens"`
		OutputTokens         int `json:"output_tokens"`
		CacheReadInputTokens int `json:"cache_read_input_tokens"`
	} `json:"usage"`
	Timings json.RawMessage `json:"timings"`
	Error   json.RawMessage `json:"error"`
}

// streamState is what readStream accumulates beyond the record itself.
type streamState struct {
	last, firstFinish time.Time
	usageIn, usageOut int
	haveUsage         bool
}

// readStream consumes an event stream into rec: TTFT at the first chunk that
// carries text, ITL between text chunks, E2EL at the end of the stream, token
// counts from the usage chunk when there is one.
func readStream(ctx context.Context, body io.Reader, rec *RequestRecord, p Prompt) {
	sr := newSSEReader(body)
	var st streamState
	for {
		ev, err := sr.Next()
		now := time.Now()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			rec.E2ELMS = ms(now.Sub(rec.started))
			rec.fail(classifyStreamError(ctx, err), fmt.Errorf("read stream: %w", err))
			return
		}
		if ev.Event == "error" {
			rec.E2ELMS = ms(now.Sub(rec.started))
			rec.fail("stream_error", errors.New(errorMessage(ev.Data)))
			return
		}
		data := bytes.TrimSpace(ev.Data)
		if string(data) == "[DONE]" {
			rec.DoneMarker = true
			break
		}
		if status, err := rec.applyChunk(&st, data, now); err != nil {
			rec.E2ELMS = ms(now.Sub(rec.started))
			rec.fail(status, err)
			return
		}
	}
	rec.E2ELMS = ms(time.Since(rec.started))
	rec.countTokens(st.haveUsage, st.usageIn, st.usageOut, p)
	if rec.FinishReason == "" && !rec.DoneMarker {
		rec.fail("stream_truncated", errors.New("stream ended before a finish_reason or [DONE]"))
		return
	}
	if rec.Chunks == 0 {
		// Nothing but a finish (an immediate end-of-sequence): the first
		// output event is the finish itself.
		rec.EmptyOutput = true
		rec.TTFTMS = rec.E2ELMS
		if !st.firstFinish.IsZero() {
			rec.TTFTMS = ms(st.firstFinish.Sub(rec.started))
		}
	}
	if rec.OutputTokens > 1 {
		rec.TPOTMS = (rec.E2ELMS - rec.TTFTMS) / float64(rec.OutputTokens-1)
	}
	rec.OK, rec.Status = true, "ok"
}

// applyChunk folds one JSON chunk that arrived at now into rec and st. On
// failure it returns the status to record and the reason.
func (rec *RequestRecord) applyChunk(st *streamState, data []byte, now time.Time) (string, error) {
	var ch streamChunk
	if err := json.Unmarshal(data, &ch); err != nil {
		return "bad_chunk", fmt.Errorf("parse chunk %.80q: %w", data, err)
	}
	if len(ch.Error) > 0 && string(ch.Error) != "null" {
		return "stream_error", errors.New(messageOf(ch.Error))
	}
	if strings.HasPrefix(ch.Type, "response.") || ch.Type == "error" {
		return rec.responseEvent(st, &ch, now)
	}
	if ch.Type != "" {
		return rec.messagesEvent(st, &ch, now)
	}
	if ch.Usage != nil {
		st.usageIn, st.usageOut, st.haveUsage = ch.Usage.PromptTokens, ch.Usage.CompletionTokens, true
	}
	if len(ch.Timings) > 0 && string(ch.Timings) != "null" {
		rec.ServerTimings = append(json.RawMessage(nil), ch.Timings...)
	}
	text := ""
	for _, c := range ch.Choices {
		text += c.Text + c.Delta.Content + c.Delta.ReasoningContent + c.Delta.Reasoning
		if c.FinishReason != nil && *c.FinishReason != "" {
			rec.FinishReason = *c.FinishReason
			if st.firstFinish.IsZero() {
				st.firstFinish = now
			}
		}
	}
	rec.addText(st, text, now)
	return "", nil
}

// addText counts a chunk's text that arrived at now: TTFT at the first,
// ITL between them.
func (rec *RequestRecord) addText(st *streamState, text string, now time.Time) {
	if text == "" {
		return
	}
	if rec.Chunks == 0 {
		rec.TTFTMS = ms(now.Sub(rec.started))
	} else {
		rec.ITLMS = append(rec.ITLMS, ms(now.Sub(st.last)))
	}
	st.last = now
	rec.Chunks++
	rec.OutputChars += utf8.RuneCountInString(text)
}

// responseEvent folds one Responses API event into rec: the text, reasoning
// and call-argument deltas are the output; response.completed and
// response.incomplete end it (finish reasons stop and length) with the
// usage; response.failed and error fail it. Other events carry no output.
func (rec *RequestRecord) responseEvent(st *streamState, ch *streamChunk, now time.Time) (string, error) {
	switch ch.Type {
	case "response.output_text.delta", "response.reasoning_text.delta", "response.reasoning_summary_text.delta",
		"response.refusal.delta", "response.function_call_arguments.delta":
		var text string
		if err := json.Unmarshal(ch.Delta, &text); err != nil {
			return "bad_chunk", fmt.Errorf("%s: delta: %w", ch.Type, err)
		}
		rec.addText(st, text, now)
	case "response.completed", "response.incomplete":
		rec.FinishReason = "stop"
		if r := ch.Response; r != nil {
			if r.IncompleteDetails != nil {
				rec.FinishReason = r.IncompleteDetails.Reason
				if rec.FinishReason == "max_output_tokens" {
					rec.FinishReason = "length"
				}
			}
			if r.Usage != nil {
				st.usageIn, st.usageOut, st.haveUsage = r.Usage.InputTokens, r.Usage.OutputTokens, true
			}
		}
		if st.firstFinish.IsZero() {
			st.firstFinish = now
		}
	case "response.failed":
		msg := "the response failed"
		if ch.Response != nil && len(ch.Response.Error) > 0 && string(ch.Response.Error) != "null" {
			msg = messageOf(ch.Response.Error)
		}
		return "stream_error", errors.New(msg)
	case "error":
		var msg string
		if json.Unmarshal(ch.Message, &msg) != nil || msg == "" {
			msg = "the server reported an error"
		}
		return "stream_error", errors.New(msg)
	}
	return "", nil
}

// messagesEvent folds one event of Anthropic's Messages API into rec: the
// text, thinking and tool-input deltas are the output; message_start
// carries the prompt's tokens, message_delta the stop reason (end_turn and
// stop_sequence are stop, max_tokens length, tool_use tool_calls) and the
// final usage. Errors come as an error object, handled before.
func (rec *RequestRecord) messagesEvent(st *streamState, ch *streamChunk, now time.Time) (string, error) {
	switch ch.Type {
	case "message_start":
		var m struct {
			Usage struct {
				InputTokens          int `json:"input_tokens"`
				CacheReadInputTokens int `json:"cache_read_input_tokens"`
			} `json:"usage"`
		}
		if err := json.Unmarshal(ch.Message, &m); err != nil {
			return "bad_chunk", fmt.Errorf("message_start: %w", err)
		}
		st.usageIn = m.Usage.InputTokens + m.Usage.CacheReadInputTokens
	case "content_block_delta":
		var d struct {
			Text        string `json:"text"`
			Thinking    string `json:"thinking"`
			PartialJSON string `json:"partial_json"`
		}
		if err := json.Unmarshal(ch.Delta, &d); err != nil {
			return "bad_chunk", fmt.Errorf("content_block_delta: %w", err)
		}
		rec.addText(st, d.Text+d.Thinking+d.PartialJSON, now)
	case "message_delta":
		var d struct {
			StopReason string `json:"stop_reason"`
		}
		if err := json.Unmarshal(ch.Delta, &d); err != nil {
			return "bad_chunk", fmt.Errorf("message_delta: %w", err)
		}
		switch d.StopReason {
		case "end_turn", "stop_sequence":
			rec.FinishReason = "stop"
		case "max_tokens", "model_context_window_exceeded":
			rec.FinishReason = "length"
		case "tool_use":
			rec.FinishReason = "tool_calls"
		default:
			rec.FinishReason = d.StopReason
		}
		if u := ch.Usage; u != nil {
			st.usageOut, st.haveUsage = u.OutputTokens, true
			if in := u.InputTokens + u.CacheReadInputTokens; in > 0 {
				st.usageIn = in
			}
		}
		if st.firstFinish.IsZero() {
			st.firstFinish = now
		}
	}
	return "", nil
}

// countTokens prefers the server's usage; without it, output tokens are
// counted as text chunks (servers send one token per chunk) and input tokens
// are estimated from the prompt text.
func (r *RequestRecord) countTokens(haveUsage bool, in, out int, p Prompt) {
	if haveUsage && (out > 0 || r.Chunks == 0) {
		r.OutputTokens, r.OutputTokensSource = out, "usage"
	} else {
		r.OutputTokens, r.OutputTokensSource = r.Chunks, "chunks"
	}
	if haveUsage && in > 0 {
		r.InputTokens, r.InputTokensSource = in, "usage"
	} else {
		r.InputTokens, r.InputTokensSource = p.EstInputTokens, "estimate"
	}
}
