package server

import (
	"bufio"
	"encoding/json"
	"fmt"
	"runtime/debug"
	"time"

	"go.uber.org/zap"

	"github.com/nuri-ai/nuri/chat"
	"github.com/nuri-ai/nuri/engine"
)

// anthropicEvent is one event of a streamed Messages reply; its type is
// also the SSE event's name.
type anthropicEvent struct {
	Type         string             `json:"type"`
	Index        *int               `json:"index,omitempty"`
	Message      *anthropicReply    `json:"message,omitempty"`
	ContentBlock *anthropicBlockOut `json:"content_block,omitempty"`
	Delta        any                `json:"delta,omitempty"`
	Usage        *anthropicUsage    `json:"usage,omitempty"`
}

type anthropicDelta struct {
	Type        string  `json:"type"`
	Text        *string `json:"text,omitempty"`
	Thinking    *string `json:"thinking,omitempty"`
	PartialJSON *string `json:"partial_json,omitempty"`
}

type anthropicStopDelta struct {
	StopReason   string  `json:"stop_reason"`
	StopSequence *string `json:"stop_sequence"`
}

// anthropicBlocks writes a reply's content blocks as stream events: each
// block started, its deltas, stopped; one block open at a time, indexed
// in order.
type anthropicBlocks struct {
	sw    *sseWriter
	open  string // the type of the block being written, "" for none
	next  int    // the index the next block takes
	calls int
}

func (a *anthropicBlocks) send(ev anthropicEvent) { a.sw.event(ev.Type, ev) }

func (a *anthropicBlocks) start(b anthropicBlockOut) {
	a.stop()
	idx := a.next
	a.send(anthropicEvent{Type: "content_block_start", Index: &idx, ContentBlock: &b})
	a.open = b.Type
	a.next++
}

func (a *anthropicBlocks) stop() {
	if a.open == "" {
		return
	}
	idx := a.next - 1
	a.send(anthropicEvent{Type: "content_block_stop", Index: &idx})
	a.open = ""
}

func (a *anthropicBlocks) delta(d anthropicDelta) {
	idx := a.next - 1
	a.send(anthropicEvent{Type: "content_block_delta", Index: &idx, Delta: d})
}

// text adds s to the open text block, starting one if needed.
func (a *anthropicBlocks) text(s string) {
	if s == "" {
		return
	}
	if a.open != "text" {
		a.start(textBlock(""))
	}
	a.delta(anthropicDelta{Type: "text_delta", Text: &s})
}

// thinking adds s to the open thinking block, starting one if needed.
func (a *anthropicBlocks) thinking(s string) {
	if s == "" {
		return
	}
	if a.open != "thinking" {
		a.start(thinkingBlock(""))
	}
	a.delta(anthropicDelta{Type: "thinking_delta", Thinking: &s})
}

// call writes a whole call: a tool_use block whose input comes as one
// JSON delta (the parser hands over calls complete).
func (a *anthropicBlocks) call(c chat.ToolCall) {
	b := toolUseBlock(c)
	input := string(b.Input)
	b.Input = json.RawMessage("{}")
	a.start(b)
	a.delta(anthropicDelta{Type: "input_json_delta", PartialJSON: &input})
	a.stop()
	a.calls++
}

// anthropicStream writes j's reply as Anthropic's events: message_start,
// the content blocks as the tokens come, message_delta with the stop
// reason and usage, message_stop; pings while the request waits. A
// failed write (the client has gone) ends the sequence.
func (s *Server) anthropicStream(w *bufio.Writer, j *job, st Stream, ri *reqInfo) {
	sw := &sseWriter{w: w}
	state := &streamState{c: &choice{}, split: j.newSplit()}
	blocks := &anthropicBlocks{sw: sw}
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("stream panic", zap.String("req_id", ri.id), zap.Any("panic", r), zap.ByteString("stack", debug.Stack()))
			ri.err, ri.status = fmt.Errorf("%w: panic: %v", ErrInternal, r), 500
		}
		st.Cancel()
		s.finishStreamLog(j, []*streamState{state}, ri)
	}()
	blocks.send(anthropicEvent{Type: "message_start", Message: j.anthropicMessage(&anthropicUsage{InputTokens: len(j.reqs[0].Prompt)})})
	blocks.send(anthropicEvent{Type: "ping"})
	ping := time.NewTicker(keepAlive)
	defer ping.Stop()
	events := st.Events()
	for sw.err == nil {
		var ev engine.Event
		select {
		case e, ok := <-events:
			if !ok {
				return // cancelled: the log counts what came
			}
			ev = e
		case <-ping.C:
			blocks.send(anthropicEvent{Type: "ping"})
			continue
		}
		parts, finished := state.advance(ev, ri)
		blocks.thinking(parts.reasoning)
		blocks.text(parts.content)
		for _, c := range parts.calls {
			blocks.call(c)
		}
		if !finished {
			continue
		}
		s.recordFinish(state.c)
		if ev.Finish == engine.FinishError {
			sw.event("error", anthropicError(500, "generation failed"))
			s.log.Error("generation failed", zap.String("req_id", j.id), zap.Error(ev.Err))
			return
		}
		if blocks.next == 0 {
			blocks.start(textBlock("")) // an empty reply is one empty text block, as the whole reply shows it
		}
		blocks.stop()
		reason, seq := j.anthropicStop(state.c, blocks.calls > 0)
		u := anthropicUsageOf(state.c)
		blocks.send(anthropicEvent{Type: "message_delta", Delta: anthropicStopDelta{StopReason: reason, StopSequence: seq}, Usage: &u})
		blocks.send(anthropicEvent{Type: "message_stop"})
		return
	}
}
