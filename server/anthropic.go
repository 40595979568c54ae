package server

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/nuri-ai/nuri/chat"
	"github.com/nuri-ai/nuri/engine"
)

// Anthropic's Messages API (/v1/messages and /v1/messages/count_tokens)
// over the same engine, chat templates, tool-call parsing and output
// constraints as the OpenAI routes: clients and agents written against
// Anthropic's SDKs can use a Nuri server by changing their base URL. A
// request becomes a chat request (system, turns, tool uses and results,
// thinking); the reply comes back as content blocks (thinking, text,
// tool_use) with Anthropic's stop reasons and usage, whole or as its
// named SSE events. Errors are {"type": "error", "error": {...}}.

// isAnthropicPath is whether errors on path take Anthropic's shape.
func isAnthropicPath(path string) bool {
	return path == "/v1/messages" || strings.HasPrefix(path, "/v1/messages/")
}

type anthropicRequest struct {
	Model         string             `json:"model"`
	MaxTokens     *int               `json:"max_tokens"`
	Messages      []anthropicMessage `json:"messages"`
	System        anthropicContent   `json:"system"`
	StopSequences []string           `json:"stop_sequences"`
	Stream        bool               `json:"stream"`
	Temperature   *float64           `json:"temperature"`
	TopP          *float64           `json:"top_p"`
	TopK          *int               `json:"top_k"`
	Tools         []anthropicTool    `json:"tools"`
	ToolChoice    *anthropicChoice   `json:"tool_choice"`
	Thinking      *struct {
		Type         string `json:"type"`
		BudgetTokens *int   `json:"budget_tokens"`
	} `json:"thinking"`
	OutputConfig *struct {
		Effort string           `json:"effort"`
		Format *anthropicFormat `json:"format"`
	} `json:"output_config"`
	OutputFormat *anthropicFormat `json:"output_format"` // the structured-outputs beta's name
	IgnoreEOS    bool             `json:"ignore_eos"`    // vLLM's extension, for benchmarks of fixed lengths
	CacheSalt    *string          `json:"cache_salt"`    // vLLM's
}

type anthropicFormat struct {
	Type   string          `json:"type"`
	Schema json.RawMessage `json:"schema"`
}

type anthropicMessage struct {
	Role    string           `json:"role"`
	Content anthropicContent `json:"content"`
}

// anthropicContent is a string (one text block) or a list of blocks.
type anthropicContent struct {
	Blocks  []anthropicBlock
	Present bool
}

func (c *anthropicContent) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		c.Blocks, c.Present = []anthropicBlock{{Type: "text", Text: s}}, true
		return nil
	}
	if err := json.Unmarshal(b, &c.Blocks); err != nil {
		return fmt.Errorf("content must be a string or a list of content blocks")
	}
	c.Present = true
	return nil
}

// anthropicBlock is a content block of a request: text, thinking,
// tool_use (an assistant's call) or tool_result (the user's answer).
type anthropicBlock struct {
	Type      string           `json:"type"`
	Text      string           `json:"text"`
	Thinking  string           `json:"thinking"`
	ID        string           `json:"id"`
	Name      string           `json:"name"`
	Input     json.RawMessage  `json:"input"`
	ToolUseID string           `json:"tool_use_id"`
	Content   anthropicContent `json:"content"` // a tool result's
}

type anthropicTool struct {
	Type        string          `json:"type"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	InputSchema json.RawMessage `json:"input_schema"`
	Strict      bool            `json:"strict"`
}

type anthropicChoice struct {
	Type                   string `json:"type"`
	Name                   string `json:"name"`
	DisableParallelToolUse bool   `json:"disable_parallel_tool_use"`
}

// text joins c's text blocks; any other block is refused (param names it).
func (c *anthropicContent) text(param string) (string, error) {
	var parts []string
	for i, b := range c.Blocks {
		if b.Type != "text" {
			return "", unsupportedBlock(fmt.Sprintf("%s[%d]", param, i), b.Type)
		}
		parts = append(parts, b.Text)
	}
	return strings.Join(parts, "\n"), nil
}

func unsupportedBlock(param, typ string) error {
	if typ == "image" || typ == "document" {
		return &apiError{err: ErrNotSupported, param: param, msg: fmt.Sprintf("%s: %s blocks are not supported: Nuri serves text models", param, typ)}
	}
	return &apiError{err: ErrNotSupported, param: param, msg: fmt.Sprintf("%s: content blocks of type %q are not supported here", param, typ)}
}

// toChat translates the request into the chat request the OpenAI route
// runs. needMax: max_tokens is required (it is, except to count tokens).
func (r *anthropicRequest) toChat(needMax bool) (*chatRequest, error) {
	cr := &chatRequest{}
	f := &cr.samplingFields
	f.Model, f.Temperature, f.TopP, f.TopK = r.Model, r.Temperature, r.TopP, r.TopK
	f.IgnoreEOS, f.CacheSalt = r.IgnoreEOS, r.CacheSalt
	switch {
	case r.MaxTokens != nil && *r.MaxTokens < 1:
		return nil, invalidParam("max_tokens", "max_tokens must be at least 1, got %d", *r.MaxTokens)
	case r.MaxTokens != nil && needMax:
		f.MaxTokens = r.MaxTokens
	case needMax:
		return nil, invalidParam("max_tokens", "max_tokens: field required")
	}
	f.Stop = stopField{List: r.StopSequences}
	no := false
	f.Stream = &no // the Anthropic writer streams; the job's own SSE path stays off
	if err := r.format(f); err != nil {
		return nil, err
	}
	if err := r.tools(cr); err != nil {
		return nil, err
	}
	if r.Thinking != nil {
		switch r.Thinking.Type {
		case "enabled", "adaptive":
			cr.ChatTemplateKwargs = map[string]any{"enable_thinking": true} // Qwen3's and EXAONE 4's templates read it
			if n := r.Thinking.BudgetTokens; n != nil {
				if *n < 0 {
					return nil, invalidParam("thinking.budget_tokens", "thinking.budget_tokens must not be negative, got %d", *n)
				}
				cr.ThinkingBudgetTokens = n
			}
		case "disabled":
			cr.ChatTemplateKwargs = map[string]any{"enable_thinking": false}
		default:
			return nil, invalidParam("thinking.type", `thinking.type must be "enabled", "adaptive" or "disabled", got %q`, r.Thinking.Type)
		}
	}
	if r.OutputConfig != nil {
		cr.ReasoningEffort = r.OutputConfig.Effort
	}
	if r.System.Present {
		sys, err := r.System.text("system")
		if err != nil {
			return nil, err
		}
		cr.Messages = append(cr.Messages, chatMessage{Role: "system", Content: contentField{Text: sys, Present: true}})
	}
	if len(r.Messages) == 0 {
		return nil, invalidParam("messages", "messages must hold at least one message")
	}
	names := map[string]string{} // tool_use id → tool name, for the results
	for i, m := range r.Messages {
		param := fmt.Sprintf("messages[%d]", i)
		if !m.Content.Present {
			return nil, invalidParam(param+".content", "message %d has no content", i)
		}
		var msgs []chatMessage
		var err error
		switch m.Role {
		case "user":
			msgs, err = anthropicUserTurn(m.Content.Blocks, param, names)
		case "assistant":
			msgs, err = anthropicAssistantTurn(m.Content.Blocks, param, names)
		default:
			return nil, invalidParam(param+".role", `message %d has role %q: the roles are "user" and "assistant" (the system prompt goes in "system")`, i, m.Role)
		}
		if err != nil {
			return nil, err
		}
		cr.Messages = append(cr.Messages, msgs...)
	}
	if r.Messages[len(r.Messages)-1].Role == "assistant" {
		// A final assistant turn is a prefill: the reply continues its
		// text. An empty one asks for nothing.
		last := &cr.Messages[len(cr.Messages)-1]
		switch {
		case len(last.ToolCalls) > 0:
			return nil, invalidParam("messages", "the final assistant message makes tool calls: answer them with tool_result blocks in a user message")
		case last.Content.Text == "":
			cr.Messages = cr.Messages[:len(cr.Messages)-1]
		default:
			cr.ContinueFinalMessage = true
		}
	}
	if len(cr.Messages) == 0 || cr.Messages[len(cr.Messages)-1].Role == "system" {
		return nil, invalidParam("messages", "messages must hold a user message")
	}
	return cr, nil
}

// format applies a structured-output format: {"type": "json_schema",
// "schema": {...}}.
func (r *anthropicRequest) format(f *samplingFields) error {
	of := r.OutputFormat
	param := "output_format"
	if r.OutputConfig != nil && r.OutputConfig.Format != nil {
		of, param = r.OutputConfig.Format, "output_config.format"
	}
	if of == nil {
		return nil
	}
	if of.Type != "json_schema" || !present(of.Schema) {
		return invalidParam(param, `%s must be {"type": "json_schema", "schema": {...}}`, param)
	}
	rf, err := json.Marshal(map[string]any{"type": "json_schema", "json_schema": map[string]any{"name": "output", "schema": of.Schema}})
	if err != nil {
		return invalidParam(param, "%s: %v", param, err)
	}
	f.ResponseFormat = rf
	return nil
}

// tools gives cr the request's tools in OpenAI's form, and its
// tool_choice.
func (r *anthropicRequest) tools(cr *chatRequest) error {
	type function struct {
		Name        string          `json:"name"`
		Description string          `json:"description,omitempty"`
		Parameters  json.RawMessage `json:"parameters,omitempty"`
		Strict      bool            `json:"strict,omitempty"`
	}
	type tool struct {
		Type     string   `json:"type"`
		Function function `json:"function"`
	}
	var tools []tool
	for i, t := range r.Tools {
		if t.Type != "" && t.Type != "custom" {
			return &apiError{err: ErrNotSupported, param: fmt.Sprintf("tools[%d].type", i),
				msg: fmt.Sprintf("tool %d has type %q: Nuri runs no server tools, only client tools with an input_schema", i, t.Type)}
		}
		tools = append(tools, tool{Type: "function", Function: function{Name: t.Name, Description: t.Description, Parameters: t.InputSchema, Strict: t.Strict}})
	}
	if len(tools) > 0 {
		b, err := json.Marshal(tools)
		if err != nil {
			return invalidParam("tools", "tools: %v", err)
		}
		cr.Tools = b
	}
	tc := r.ToolChoice
	if tc == nil {
		return nil
	}
	var choice any
	switch tc.Type {
	case "auto":
		choice = "auto"
	case "any":
		choice = "required"
	case "none":
		choice = "none"
	case "tool":
		if tc.Name == "" {
			return invalidParam("tool_choice.name", `tool_choice {"type": "tool"} needs the tool's name`)
		}
		choice = map[string]any{"type": "function", "function": map[string]string{"name": tc.Name}}
	default:
		return invalidParam("tool_choice.type", `tool_choice.type must be "auto", "any", "tool" or "none", got %q`, tc.Type)
	}
	b, err := json.Marshal(choice)
	if err != nil {
		return invalidParam("tool_choice", "tool_choice: %v", err)
	}
	cr.ToolChoice = b
	if tc.DisableParallelToolUse {
		one := false
		cr.ParallelToolCalls = &one
	}
	return nil
}

// anthropicUserTurn is a user message's blocks as chat messages: each tool result
// a tool message (in order, first), the text after them one user message.
func anthropicUserTurn(blocks []anthropicBlock, param string, names map[string]string) ([]chatMessage, error) {
	var out []chatMessage
	var text []string
	for k, b := range blocks {
		p := fmt.Sprintf("%s.content[%d]", param, k)
		switch b.Type {
		case "text":
			text = append(text, b.Text)
		case "tool_result":
			if b.ToolUseID == "" {
				return nil, invalidParam(p+".tool_use_id", "%s: a tool_result needs the tool_use_id it answers", p)
			}
			result, err := b.Content.text(p + ".content")
			if err != nil {
				return nil, err
			}
			out = append(out, chatMessage{Role: "tool", Content: contentField{Text: result, Present: true}, ToolCallID: b.ToolUseID, Name: names[b.ToolUseID]})
		default:
			return nil, unsupportedBlock(p, b.Type)
		}
	}
	if len(text) > 0 || len(out) == 0 {
		out = append(out, chatMessage{Role: "user", Content: contentField{Text: strings.Join(text, "\n"), Present: true}})
	}
	return out, nil
}

// anthropicAssistantTurn is an assistant message's blocks as one chat message:
// text as content, thinking as reasoning, tool uses as calls. Redacted
// thinking carries nothing a template can show.
func anthropicAssistantTurn(blocks []anthropicBlock, param string, names map[string]string) ([]chatMessage, error) {
	m := chatMessage{Role: "assistant", Content: contentField{Present: true}}
	var text, thinking []string
	for k, b := range blocks {
		p := fmt.Sprintf("%s.content[%d]", param, k)
		switch b.Type {
		case "text":
			text = append(text, b.Text)
		case "thinking":
			thinking = append(thinking, b.Thinking)
		case "redacted_thinking":
		case "tool_use":
			if b.ID == "" || b.Name == "" {
				return nil, invalidParam(p, "%s: a tool_use needs its id and name", p)
			}
			input := bytes.TrimSpace(b.Input)
			if len(input) == 0 || bytes.Equal(input, []byte("null")) {
				input = []byte("{}")
			}
			if input[0] != '{' {
				return nil, invalidParam(p+".input", "%s: a tool_use's input must be an object", p)
			}
			tc := toolCallIn{ID: b.ID, Type: "function"}
			tc.Function.Name = b.Name
			tc.Function.Arguments = json.RawMessage(input)
			m.ToolCalls = append(m.ToolCalls, tc)
			names[b.ID] = b.Name
		default:
			return nil, unsupportedBlock(p, b.Type)
		}
	}
	m.Content.Text = strings.Join(text, "")
	m.ReasoningContent = strings.Join(thinking, "\n")
	return []chatMessage{m}, nil
}

// The reply.

// anthropicBlockOut is a content block of a reply (or, with its text
// empty, the start of a streamed one).
type anthropicBlockOut struct {
	Type      string          `json:"type"`
	Text      *string         `json:"text,omitempty"`
	Thinking  *string         `json:"thinking,omitempty"`
	Signature *string         `json:"signature,omitempty"`
	ID        string          `json:"id,omitempty"`
	Name      string          `json:"name,omitempty"`
	Input     json.RawMessage `json:"input,omitempty"`
}

type anthropicUsage struct {
	InputTokens              int `json:"input_tokens"`
	OutputTokens             int `json:"output_tokens"`
	CacheCreationInputTokens int `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int `json:"cache_read_input_tokens"`
}

type anthropicReply struct {
	ID           string              `json:"id"`
	Type         string              `json:"type"`
	Role         string              `json:"role"`
	Model        string              `json:"model"`
	Content      []anthropicBlockOut `json:"content"`
	StopReason   *string             `json:"stop_reason"`
	StopSequence *string             `json:"stop_sequence"`
	Usage        anthropicUsage      `json:"usage"`
}

func textBlock(s string) anthropicBlockOut { return anthropicBlockOut{Type: "text", Text: &s} }

// thinkingBlock carries an empty signature: Nuri's thinking is the
// model's own text, not a signed summary, and comes back as it went out.
func thinkingBlock(s string) anthropicBlockOut {
	sig := ""
	return anthropicBlockOut{Type: "thinking", Thinking: &s, Signature: &sig}
}

// toolUseBlock is a parsed call; its input is the arguments object (an
// object holding nothing when the model gave none, the arguments' text as
// a string when it is not JSON, so nothing is lost).
func toolUseBlock(c chat.ToolCall) anthropicBlockOut {
	raw := json.RawMessage(strings.TrimSpace(c.Arguments))
	switch {
	case len(raw) == 0:
		raw = json.RawMessage("{}")
	case !json.Valid(raw):
		raw, _ = json.Marshal(c.Arguments) // a string marshals
	}
	return anthropicBlockOut{Type: "tool_use", ID: newToolUseID(), Name: c.Name, Input: raw}
}

// newToolUseID is a call id in Anthropic's form.
func newToolUseID() string {
	return "toolu_" + randomID("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 24)
}

// anthropicUsageOf splits the prompt as Anthropic counts it: tokens read
// from the prefix cache apart from those computed.
func anthropicUsageOf(c *choice) anthropicUsage {
	return anthropicUsage{
		InputTokens:          c.usage.PromptTokens - c.usage.CachedTokens,
		CacheReadInputTokens: c.usage.CachedTokens,
		OutputTokens:         c.usage.CompletionTokens,
	}
}

// anthropicStop is why c ended, in Anthropic's words, and the stop
// sequence that ended it (nil for none). calls: the reply made calls.
func (j *job) anthropicStop(c *choice, calls bool) (string, *string) {
	switch c.finish {
	case engine.FinishStop:
		if calls {
			return "tool_use", nil
		}
		if s, ok := c.stop.(string); ok {
			return "stop_sequence", &s
		}
	case engine.FinishLength:
		if max := j.reqs[0].MaxTokens; max > 0 && c.usage.CompletionTokens >= max {
			return "max_tokens", nil
		}
		return "model_context_window_exceeded", nil
	}
	return "end_turn", nil
}

// anthropicJob reads a Messages body and makes its chat job (id names
// it); count: only its prompt is wanted (max_tokens not required).
func (s *Server) anthropicJob(ctx *fasthttp.RequestCtx, count bool, id string) (*Backend, *job, error) {
	b, err := s.backendFor()
	if err != nil {
		return nil, nil, err
	}
	var req anthropicRequest
	if err := decodeBody(ctx, &req); err != nil {
		return nil, nil, err
	}
	cr, err := req.toChat(!count)
	if err != nil {
		return nil, nil, err
	}
	j, err := s.chatJob(b, cr, "chat", id)
	if err != nil {
		return nil, nil, err
	}
	j.stream = req.Stream && !count
	return b, j, nil
}

func (s *Server) handleAnthropicMessages(ctx *fasthttp.RequestCtx, ri *reqInfo) error {
	b, j, err := s.anthropicJob(ctx, false, "msg_"+randomID("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 24))
	if err != nil {
		return err
	}
	choices, err := s.submitAndAnswer(ctx, ri, b, j, "text/event-stream; charset=utf-8", func(w *bufio.Writer, streams []Stream, _ func()) {
		s.anthropicStream(w, j, streams[0], ri)
	})
	if choices == nil {
		return err // streaming, or not submitted
	}
	c := ri.oneChoice(j, choices)
	if err != nil {
		return err
	}
	parts := j.splitReply(string(c.text))
	reply := j.anthropicMessage(nil)
	if parts.reasoning != "" {
		reply.Content = append(reply.Content, thinkingBlock(parts.reasoning))
	}
	if parts.content != "" || (parts.reasoning == "" && len(parts.calls) == 0) {
		reply.Content = append(reply.Content, textBlock(parts.content))
	}
	for _, call := range parts.calls {
		reply.Content = append(reply.Content, toolUseBlock(call))
	}
	reason, seq := j.anthropicStop(c, len(parts.calls) > 0)
	reply.StopReason, reply.StopSequence = &reason, seq
	reply.Usage = anthropicUsageOf(c)
	return s.writeJSON(ctx, reply)
}

// anthropicMessage is the reply's frame: no content, no stop reason yet
// (as message_start carries it).
func (j *job) anthropicMessage(usage *anthropicUsage) *anthropicReply {
	r := &anthropicReply{ID: j.id, Type: "message", Role: "assistant", Model: j.model, Content: []anthropicBlockOut{}}
	if usage != nil {
		r.Usage = *usage
	}
	return r
}

// handleAnthropicCountTokens counts the tokens a messages request's
// prompt comes to (system, tools and turns through the chat template).
func (s *Server) handleAnthropicCountTokens(ctx *fasthttp.RequestCtx, _ *reqInfo) error {
	_, j, err := s.anthropicJob(ctx, true, "count")
	if err != nil {
		return err
	}
	return s.writeJSON(ctx, map[string]int{"input_tokens": len(j.reqs[0].Prompt)})
}

// anthropicErrorBody is Anthropic's error object.
type anthropicErrorBody struct {
	Type  string `json:"type"`
	Error struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
}

// anthropicError is the body of an error with status.
func anthropicError(status int, msg string) anthropicErrorBody {
	var e anthropicErrorBody
	e.Type, e.Error.Message = "error", msg
	switch status {
	case http.StatusBadRequest:
		e.Error.Type = "invalid_request_error"
	case http.StatusUnauthorized:
		e.Error.Type = "authentication_error"
	case http.StatusForbidden:
		e.Error.Type = "permission_error"
	case http.StatusNotFound:
		e.Error.Type = "not_found_error"
	case http.StatusRequestEntityTooLarge:
		e.Error.Type = "request_too_large"
	case http.StatusTooManyRequests:
		e.Error.Type = "rate_limit_error"
	case http.StatusServiceUnavailable:
		e.Error.Type = "overloaded_error"
	default:
		e.Error.Type = "api_error"
		if status == http.StatusMethodNotAllowed {
			e.Error.Type = "invalid_request_error"
		}
	}
	return e
}
