package server

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/nuri-ai/nuri/engine"
)

// responseObject is OpenAI's Response. It repeats the request's settings
// as the server applied them (temperature and top_p the defaults when the
// request left them out); store says whether it is kept.
type responseObject struct {
	ID                 string             `json:"id"`
	Object             string             `json:"object"`
	CreatedAt          int64              `json:"created_at"`
	Status             string             `json:"status"`
	Error              *responseError     `json:"error"`
	IncompleteDetails  *incompleteDetails `json:"incomplete_details"`
	Instructions       *string            `json:"instructions"`
	MaxOutputTokens    *int               `json:"max_output_tokens"`
	Model              string             `json:"model"`
	Output             []any              `json:"output"`
	ParallelToolCalls  bool               `json:"parallel_tool_calls"`
	PreviousResponseID *string            `json:"previous_response_id"`
	Reasoning          responseReasoning  `json:"reasoning"`
	Store              bool               `json:"store"`
	Background         bool               `json:"background"`
	Temperature        float64            `json:"temperature"`
	Text               responseTextOut    `json:"text"`
	ToolChoice         json.RawMessage    `json:"tool_choice"`
	Tools              json.RawMessage    `json:"tools"`
	TopP               float64            `json:"top_p"`
	Truncation         string             `json:"truncation"`
	Usage              *responseUsage     `json:"usage"`
	User               *string            `json:"user,omitempty"`
	Metadata           map[string]string  `json:"metadata"`
	// Conversation is the conversation the response ran in, when it did.
	Conversation *responseConversation `json:"conversation,omitempty"`
}

type responseConversation struct {
	ID string `json:"id"`
}

type responseError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

type incompleteDetails struct {
	Reason string `json:"reason"`
}

type responseReasoning struct {
	Effort  *string `json:"effort"`
	Summary *string `json:"summary"`
}

type responseTextOut struct {
	Format json.RawMessage `json:"format"`
}

type responseUsage struct {
	InputTokens        int `json:"input_tokens"`
	InputTokensDetails struct {
		CachedTokens int `json:"cached_tokens"`
	} `json:"input_tokens_details"`
	OutputTokens        int `json:"output_tokens"`
	OutputTokensDetails struct {
		ReasoningTokens int `json:"reasoning_tokens"`
	} `json:"output_tokens_details"`
	TotalTokens int `json:"total_tokens"`
}

// The output items.

type responseMessageItem struct {
	Type    string               `json:"type"` // "message"
	ID      string               `json:"id"`
	Status  string               `json:"status"`
	Role    string               `json:"role"`
	Content []responseOutputText `json:"content"`
}

type responseOutputText struct {
	Type        string             `json:"type"` // "output_text"
	Text        string             `json:"text"`
	Annotations []any              `json:"annotations"`
	Logprobs    []chatTokenLogprob `json:"logprobs"`
}

// responseReasoningItem carries the thinking as reasoning_text content,
// as vLLM's does (OpenAI's own models give only summaries).
type responseReasoningItem struct {
	Type    string                  `json:"type"` // "reasoning"
	ID      string                  `json:"id"`
	Status  string                  `json:"status"`
	Summary []any                   `json:"summary"`
	Content []responseReasoningText `json:"content"`
}

type responseReasoningText struct {
	Type string `json:"type"` // "reasoning_text"
	Text string `json:"text"`
}

type responseCallItem struct {
	Type      string `json:"type"` // "function_call"
	ID        string `json:"id"`
	CallID    string `json:"call_id"`
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
	Status    string `json:"status"`
}

// responseEvent is one streamed event; which fields it carries depends on
// its type.
type responseEvent struct {
	Type           string          `json:"type"`
	SequenceNumber int             `json:"sequence_number"`
	Response       *responseObject `json:"response,omitempty"`
	OutputIndex    *int            `json:"output_index,omitempty"`
	ItemID         string          `json:"item_id,omitempty"`
	ContentIndex   *int            `json:"content_index,omitempty"`
	Item           any             `json:"item,omitempty"`
	Part           any             `json:"part,omitempty"`
	Delta          *string         `json:"delta,omitempty"`
	Text           *string         `json:"text,omitempty"`
	Name           string          `json:"name,omitempty"`
	Arguments      *string         `json:"arguments,omitempty"`
	Logprobs       any             `json:"logprobs,omitempty"` // output_text events: always a list
}

// responseBuilder assembles a reply's output items from its parts as
// they come (reasoning, text, calls), and with a writer streams the
// events that announce them. A whole response is built the same way, in
// one push, so the streamed and the whole output agree.
//
// Text that is only whitespace waits: it opens a message item once text
// follows it, and is dropped when only calls follow (the whitespace a
// model writes around its calls). A reply with neither text nor calls
// still gets its (empty) message.
type responseBuilder struct {
	j         *job
	sw        *sseWriter // nil: no events
	seq       int
	output    []any
	open      *openItem
	pendText  string
	pendLP    []chatTokenLogprob
	messages  int
	calls     int
	reasoning strings.Builder // all of the reply's reasoning, for usage
}

// openItem is the message or reasoning item being written.
type openItem struct {
	index   int
	message bool
	id      string
	text    strings.Builder
	lp      []chatTokenLogprob // all of the item's logprobs
	unsent  []chatTokenLogprob // those no delta has carried yet
}

func newResponseBuilder(j *job, sw *sseWriter) *responseBuilder {
	return &responseBuilder{j: j, sw: sw}
}

func (b *responseBuilder) emit(ev responseEvent) {
	if b.sw == nil {
		return
	}
	ev.SequenceNumber = b.seq
	b.seq++
	b.sw.event(ev.Type, &ev)
}

// start announces the response.
func (b *responseBuilder) start() {
	r := b.j.responseObject("in_progress", []any{}, nil)
	b.emit(responseEvent{Type: "response.created", Response: r})
	b.emit(responseEvent{Type: "response.in_progress", Response: r})
}

// push adds one piece of the reply, lp the logprobs of its tokens.
func (b *responseBuilder) push(p replyParts, lp []chatTokenLogprob) {
	if p.reasoning != "" {
		b.addReasoning(p.reasoning)
	}
	if p.content != "" || len(lp) > 0 {
		b.addText(p.content, lp)
	}
	for _, c := range p.calls {
		b.addCall(c.Name, c.Arguments)
	}
}

func (b *responseBuilder) addReasoning(delta string) {
	b.reasoning.WriteString(delta)
	if b.open == nil || b.open.message {
		b.closeOpen("completed")
		b.open = &openItem{index: len(b.output), id: "rs_" + newItemID()}
		b.output = append(b.output, nil)
		b.emit(responseEvent{Type: "response.output_item.added", OutputIndex: ptr(b.open.index),
			Item: &responseReasoningItem{Type: "reasoning", ID: b.open.id, Status: "in_progress", Summary: []any{}, Content: []responseReasoningText{}}})
		b.emit(responseEvent{Type: "response.content_part.added", OutputIndex: ptr(b.open.index), ItemID: b.open.id, ContentIndex: ptr(0),
			Part: &responseReasoningText{Type: "reasoning_text"}})
	}
	b.open.text.WriteString(delta)
	b.emit(responseEvent{Type: "response.reasoning_text.delta", OutputIndex: ptr(b.open.index), ItemID: b.open.id, ContentIndex: ptr(0), Delta: &delta})
}

func (b *responseBuilder) addText(delta string, lp []chatTokenLogprob) {
	if b.open == nil || !b.open.message {
		b.pendText += delta
		b.pendLP = append(b.pendLP, lp...)
		if strings.TrimSpace(b.pendText) == "" {
			return
		}
		b.openMessage()
		return
	}
	b.open.lp = append(b.open.lp, lp...)
	b.textDelta(delta, lp)
}

// openMessage starts a message item with the text waiting.
func (b *responseBuilder) openMessage() {
	b.closeOpen("completed")
	b.messages++
	b.open = &openItem{index: len(b.output), message: true, id: "msg_" + newItemID()}
	b.output = append(b.output, nil)
	b.emit(responseEvent{Type: "response.output_item.added", OutputIndex: ptr(b.open.index),
		Item: &responseMessageItem{Type: "message", ID: b.open.id, Status: "in_progress", Role: "assistant", Content: []responseOutputText{}}})
	b.emit(responseEvent{Type: "response.content_part.added", OutputIndex: ptr(b.open.index), ItemID: b.open.id, ContentIndex: ptr(0),
		Part: &responseOutputText{Type: "output_text", Annotations: []any{}, Logprobs: []chatTokenLogprob{}}})
	text, lp := b.pendText, b.pendLP
	b.pendText, b.pendLP = "", nil
	b.open.lp = append(b.open.lp, lp...)
	b.textDelta(text, lp)
}

// textDelta writes delta into the open message; its logprobs wait for
// the next delta with text (a token that ends inside a character has
// none).
func (b *responseBuilder) textDelta(delta string, lp []chatTokenLogprob) {
	b.open.unsent = append(b.open.unsent, lp...)
	if delta == "" {
		return
	}
	b.open.text.WriteString(delta)
	lp = b.open.unsent
	b.open.unsent = nil
	if lp == nil {
		lp = []chatTokenLogprob{}
	}
	b.emit(responseEvent{Type: "response.output_text.delta", OutputIndex: ptr(b.open.index), ItemID: b.open.id, ContentIndex: ptr(0), Delta: &delta, Logprobs: lp})
}

func (b *responseBuilder) addCall(name, args string) {
	b.closeOpen("completed")
	b.pendText = "" // whitespace before a call is not a message
	b.calls++
	i := len(b.output)
	item := &responseCallItem{Type: "function_call", ID: "fc_" + newItemID(), CallID: newCallID(), Name: name, Status: "in_progress"}
	b.emit(responseEvent{Type: "response.output_item.added", OutputIndex: ptr(i), Item: item})
	b.emit(responseEvent{Type: "response.function_call_arguments.delta", OutputIndex: ptr(i), ItemID: item.ID, Delta: &args})
	b.emit(responseEvent{Type: "response.function_call_arguments.done", OutputIndex: ptr(i), ItemID: item.ID, Name: name, Arguments: &args})
	done := *item
	done.Arguments, done.Status = args, "completed"
	b.output = append(b.output, &done)
	b.emit(responseEvent{Type: "response.output_item.done", OutputIndex: ptr(i), Item: &done})
}

// closeOpen finishes the item being written, if any, with status.
func (b *responseBuilder) closeOpen(status string) {
	o := b.open
	if o == nil {
		return
	}
	b.open = nil
	text := o.text.String()
	if o.message {
		lp := o.lp
		if lp == nil {
			lp = []chatTokenLogprob{}
		}
		part := responseOutputText{Type: "output_text", Text: text, Annotations: []any{}, Logprobs: lp}
		item := &responseMessageItem{Type: "message", ID: o.id, Status: status, Role: "assistant", Content: []responseOutputText{part}}
		b.output[o.index] = item
		b.emit(responseEvent{Type: "response.output_text.done", OutputIndex: ptr(o.index), ItemID: o.id, ContentIndex: ptr(0), Text: &text, Logprobs: lp})
		b.emit(responseEvent{Type: "response.content_part.done", OutputIndex: ptr(o.index), ItemID: o.id, ContentIndex: ptr(0), Part: &part})
		b.emit(responseEvent{Type: "response.output_item.done", OutputIndex: ptr(o.index), Item: item})
		return
	}
	part := responseReasoningText{Type: "reasoning_text", Text: text}
	item := &responseReasoningItem{Type: "reasoning", ID: o.id, Status: status, Summary: []any{}, Content: []responseReasoningText{part}}
	b.output[o.index] = item
	b.emit(responseEvent{Type: "response.reasoning_text.done", OutputIndex: ptr(o.index), ItemID: o.id, ContentIndex: ptr(0), Text: &text})
	b.emit(responseEvent{Type: "response.content_part.done", OutputIndex: ptr(o.index), ItemID: o.id, ContentIndex: ptr(0), Part: &part})
	b.emit(responseEvent{Type: "response.output_item.done", OutputIndex: ptr(o.index), Item: item})
}

// finish closes the output for a reply that ended with c's finish and
// usage, announces the response's end, and returns the response.
func (b *responseBuilder) finish(c *choice) *responseObject {
	if b.messages == 0 && b.calls == 0 {
		b.openMessage() // a reply with no text and no calls: an empty message
	}
	status, typ := "completed", "response.completed"
	var rerr *responseError
	var details *incompleteDetails
	switch c.finish {
	case engine.FinishStop:
	case engine.FinishLength:
		status, typ, details = "incomplete", "response.incomplete", &incompleteDetails{Reason: "max_output_tokens"}
	case engine.FinishCancelled:
		status, typ, rerr = "cancelled", "response.failed", &responseError{Code: "cancelled", Message: "the request was cancelled"}
	default:
		status, typ, rerr = "failed", "response.failed", &responseError{Code: "server_error", Message: "generation failed"}
	}
	itemStatus := "completed"
	if status != "completed" {
		itemStatus = "incomplete"
	}
	b.closeOpen(itemStatus)
	u := &responseUsage{InputTokens: c.usage.PromptTokens, OutputTokens: c.usage.CompletionTokens,
		TotalTokens: c.usage.PromptTokens + c.usage.CompletionTokens}
	u.InputTokensDetails.CachedTokens = c.usage.CachedTokens
	if r := b.reasoning.String(); r != "" && b.j.resp.reasoningTokens != nil {
		u.OutputTokensDetails.ReasoningTokens = min(b.j.resp.reasoningTokens(r), u.OutputTokens)
	}
	resp := b.j.responseObject(status, b.output, u)
	resp.Error, resp.IncompleteDetails = rerr, details
	if b.j.resp.done != nil {
		b.j.resp.done(resp)
	}
	b.emit(responseEvent{Type: typ, Response: resp})
	return resp
}

// responseObject is j's response with status, output and usage.
func (j *job) responseObject(status string, output []any, u *responseUsage) *responseObject {
	m := j.resp
	sp := j.reqs[0].Sampling
	r := &responseObject{ID: j.id, Object: "response", CreatedAt: j.start.Unix(), Status: status, PreviousResponseID: m.previous,
		Instructions: m.instructions, MaxOutputTokens: m.maxOutputTokens, Model: j.model, Output: output,
		ParallelToolCalls: m.parallel, Reasoning: responseReasoning{Effort: m.effort, Summary: m.summary},
		Temperature: shortFloat(sp.Temperature), TopP: shortFloat(sp.TopP), Text: responseTextOut{Format: m.text},
		ToolChoice: m.toolChoice, Tools: m.tools, Truncation: m.truncation, Usage: u, Metadata: m.metadata, Store: m.store,
		Background: m.background}
	if r.Metadata == nil {
		r.Metadata = map[string]string{}
	}
	if !present(r.Text.Format) {
		r.Text.Format = json.RawMessage(`{"type":"text"}`)
	}
	if !present(r.ToolChoice) {
		r.ToolChoice = json.RawMessage(`"auto"`)
	}
	if !present(r.Tools) {
		r.Tools = json.RawMessage(`[]`)
	}
	if m.user != "" {
		r.User = &m.user
	}
	if m.conversation != "" {
		r.Conversation = &responseConversation{ID: m.conversation}
	}
	return r
}

// responseBody is the whole (not streamed) response of a finished reply.
func responseBody(j *job, c *choice) *responseObject {
	b := newResponseBuilder(j, nil)
	var lp []chatTokenLogprob
	if j.logprobs {
		lp = chatLogprobsOf(c.logprobs, c.top).Content
	}
	b.push(j.splitReply(string(c.text)), lp)
	return b.finish(c)
}

// shortFloat is a float32 setting as the float64 it was written as (0.8,
// not 0.800000011920929).
func shortFloat(x float32) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(float64(x), 'g', -1, 32), 64)
	return v
}

func ptr(i int) *int { return &i }
