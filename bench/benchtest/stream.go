package benchtest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"
)

// stream writes one response's server-sent events in a variant's shape.
type stream struct {
	w         io.Writer
	flusher   http.Flusher
	chat      bool
	responses bool // the Responses API's named events, whatever the variant
	seq       int  // its sequence numbers
	text      strings.Builder
	variant   Variant
	model     string
}

// named writes one Responses API event.
func (st *stream) named(typ string, fields map[string]any) {
	fields["type"], fields["sequence_number"] = typ, st.seq
	st.seq++
	b, err := json.Marshal(fields)
	if err != nil {
		st.raw("event: error\ndata: {\"type\":\"error\",\"message\":\"benchtest: marshal event failed\"}\n\n")
		return
	}
	st.raw("event: " + typ + "\ndata: " + string(b) + "\n\n")
}

func (st *stream) response(status string, usage map[string]int, reason string) map[string]any {
	r := map[string]any{"id": "resp_benchtest", "object": "response", "status": status, "model": st.model, "output": []any{}}
	if usage != nil {
		r["usage"] = map[string]int{"input_tokens": usage["prompt_tokens"], "output_tokens": usage["completion_tokens"],
			"total_tokens": usage["total_tokens"]}
	}
	if reason != "" {
		r["incomplete_details"] = map[string]string{"reason": reason}
	}
	return r
}

func (st *stream) raw(s string) {
	if st.variant == NoUsage {
		s = strings.ReplaceAll(s, "\n", "\r\n")
	}
	io.WriteString(st.w, s)
	st.flusher.Flush()
}

func (st *stream) event(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only our own literal maps are marshalled; say so in-stream if not.
		st.raw("error: {\"message\":\"benchtest: marshal chunk failed\"}\n\n")
		return
	}
	st.raw("data: " + string(b) + "\n\n")
}

// chunk builds a chunk with one choice; delta is the chat delta (ignored for
// completions, where text carries the content).
func (st *stream) chunk(delta map[string]any, text string, finish any) map[string]any {
	choice := map[string]any{"index": 0, "finish_reason": finish}
	obj := "text_completion"
	if st.chat {
		choice["delta"] = delta
		obj = "chat.completion.chunk"
	} else {
		choice["text"] = text
	}
	c := map[string]any{"id": "cmpl-benchtest", "object": obj, "created": time.Now().Unix(),
		"model": st.model, "choices": []any{choice}}
	if st.variant == VLLM {
		c["usage"] = nil
	}
	return c
}

func (st *stream) roleChunk() {
	if st.responses {
		st.named("response.created", map[string]any{"response": st.response("in_progress", nil, "")})
		st.named("response.output_item.added", map[string]any{"output_index": 0,
			"item": map[string]any{"type": "message", "id": "msg_benchtest", "role": "assistant", "content": []any{}}})
		return
	}
	if !st.chat {
		return
	}
	switch st.variant {
	case VLLM, Nuri:
		st.event(st.chunk(map[string]any{"role": "assistant", "content": ""}, "", nil))
	case LlamaCpp, LlamaCppLegacy:
		st.event(st.chunk(map[string]any{"role": "assistant", "content": nil}, "", nil))
	}
}

func (st *stream) token(text string) {
	if st.responses {
		st.text.WriteString(text)
		st.named("response.output_text.delta", map[string]any{"item_id": "msg_benchtest", "output_index": 0, "content_index": 0, "delta": text})
		return
	}
	delta := map[string]any{"content": text}
	if st.variant == Ollama {
		delta["role"] = "assistant"
	}
	st.event(st.chunk(delta, text, nil))
}

func (st *stream) finish(reason string, usage map[string]int, includeUsage bool) {
	if st.responses {
		st.named("response.output_text.done", map[string]any{"item_id": "msg_benchtest", "output_index": 0, "content_index": 0, "text": st.text.String()})
		if reason == "length" {
			st.named("response.incomplete", map[string]any{"response": st.response("incomplete", usage, "max_output_tokens")})
		} else {
			st.named("response.completed", map[string]any{"response": st.response("completed", usage, "")})
		}
		return // no [DONE]
	}
	timings := map[string]any{"cache_n": 0, "prompt_n": usage["prompt_tokens"], "prompt_ms": 5.0, "predicted_n": usage["completion_tokens"],
		"predicted_per_second": 100.0}
	last := st.chunk(map[string]any{}, "", reason)
	switch st.variant {
	case LlamaCppLegacy:
		// Usage rides on the last chunk whether or not it was asked for.
		last["usage"] = usage
		last["timings"] = timings
		st.event(last)
	case NoUsage:
		st.event(last)
		return // no usage, no [DONE]
	default:
		st.event(last)
		if includeUsage {
			u := map[string]any{"id": "cmpl-benchtest", "object": "chat.completion.chunk", "model": st.model,
				"choices": []any{}, "usage": usage}
			if st.variant == LlamaCpp || st.variant == Nuri {
				u["timings"] = timings
			}
			st.event(u)
		}
	}
	st.raw("data: [DONE]\n\n")
}
