package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"
	"go.uber.org/zap"
)

// responsesRequest is POST /v1/responses, OpenAI's Responses API. A
// request carries its conversation in input, after that of its
// previous_response_id when it names a kept response (responseStore);
// conversation objects and background responses are refused. It runs as
// a chat request (responsesChat) with the chat route's sampling
// extensions (top_k, min_p, seed, stop, grammar, ...).
type responsesRequest struct {
	samplingFields
	Input             json.RawMessage `json:"input"`
	Instructions      *string         `json:"instructions"`
	MaxOutputTokens   *int            `json:"max_output_tokens"`
	ToolChoice        json.RawMessage `json:"tool_choice"`
	ParallelToolCalls *bool           `json:"parallel_tool_calls"`
	MaxToolCalls      *int            `json:"max_tool_calls"`
	Text              *responseText   `json:"text"`
	Reasoning         *struct {
		Effort  *string `json:"effort"`
		Summary *string `json:"summary"`
	} `json:"reasoning"`
	TopLogprobs        *int              `json:"top_logprobs"`
	Include            []string          `json:"include"`
	Metadata           map[string]string `json:"metadata"`
	PreviousResponseID *string           `json:"previous_response_id"`
	Conversation       json.RawMessage   `json:"conversation"`
	Background         *bool             `json:"background"`
	Store              *bool             `json:"store"`
	Truncation         *string           `json:"truncation"`
	Prompt             json.RawMessage   `json:"prompt"` // stored prompt templates
	ChatTemplateKwargs map[string]any    `json:"chat_template_kwargs"`
}

type responseText struct {
	Format json.RawMessage `json:"format"`
}

// responseInputItem is one item of a list input: a message (type
// "message" or absent), a function call the model made earlier, a
// function call's output, or earlier reasoning.
type responseInputItem struct {
	Type      string          `json:"type"`
	Role      string          `json:"role"`
	Content   json.RawMessage `json:"content"`
	CallID    string          `json:"call_id"`
	Name      string          `json:"name"`
	Arguments json.RawMessage `json:"arguments"`
	Output    json.RawMessage `json:"output"`
	Summary   []responsePart  `json:"summary"`
}

// responsePart is a content part of an input item (input_text,
// output_text, refusal, reasoning_text, summary_text).
type responsePart struct {
	Type    string `json:"type"`
	Text    string `json:"text"`
	Refusal string `json:"refusal"`
}

// responseMeta is what a response object repeats of its request.
type responseMeta struct {
	instructions    *string
	maxOutputTokens *int
	metadata        map[string]string
	parallel        bool
	toolChoice      json.RawMessage
	tools           json.RawMessage
	text            json.RawMessage
	effort, summary *string
	user            string
	reasoningTokens func(text string) int // tokens of the reasoning, for usage
	store           bool                  // the response is kept (done keeps it)
	background      bool                  // it runs in the background (runBackground)
	previous        *string               // previous_response_id
	conversation    string                // the conversation it runs in ("": none)
	truncation      string                // "disabled" or "auto"
	done            func(*responseObject) // called with the finished response, if set
	// started, for a stored background response, keeps its queued object
	// where a restart before its end finds it (responseStore.saveRunning).
	started func(queued json.RawMessage)
}

func (s *Server) handleResponses(ctx *fasthttp.RequestCtx, ri *reqInfo) error {
	b, req, err := backendAndBody[responsesRequest](s, ctx)
	if err != nil {
		return err
	}
	background := req.Background != nil && *req.Background
	if background && (s.responses == nil || (req.Store != nil && !*req.Store)) {
		return invalidParam("background", "a background response is fetched once it has run, so it must be stored: store must not be false, and the server must keep responses (nuri serve --responses-store above 0)")
	}
	creq, conv, err := s.responsesChat(req)
	if err != nil {
		return err
	}
	j, err := s.responseJob(b, req, creq, "resp_"+newItemID())
	if err != nil {
		return err
	}
	j.resp = responseMetaOf(req)
	j.resp.background = background
	j.resp.conversation = conv
	tok := b.Tokenizer
	j.resp.reasoningTokens = func(text string) int {
		ids, err := tok.Encode(text, false, false)
		if err != nil {
			return 0
		}
		return len(ids)
	}
	// The input's items, with the ids input_items and the conversation
	// both list them under.
	input := inputItems(req.Input)
	if s.responses != nil && (req.Store == nil || *req.Store) {
		// The conversation a follow-up continues: this request's messages
		// without its instructions (which apply to it alone), then the reply.
		history := creq.Messages
		if req.Instructions != nil && *req.Instructions != "" {
			history = history[1:]
		}
		j.resp.store = true
		j.resp.done = func(r *responseObject) {
			if r.Status != "completed" && r.Status != "incomplete" && !background {
				return // a background response is kept however it ended: it is fetched, not answered
			}
			body, err := marshal(r)
			if err != nil {
				s.log.Warn("store response", zap.String("id", r.ID), zap.Error(err))
				return
			}
			s.responses.put(&storedResponse{id: r.ID, body: body, input: input,
				conversation: append(slices.Clip(history), assistantTurn(r.Output))})
		}
		if background {
			j.resp.started = func(queued json.RawMessage) {
				s.responses.saveRunning(&storedResponse{id: j.id, body: queued, input: input, conversation: slices.Clip(history)})
			}
		}
	}
	if conv != "" {
		// The input and the reply join the conversation once the response
		// is whole (completed, or incomplete at its length limit).
		stored := j.resp.done
		j.resp.done = func(r *responseObject) {
			if stored != nil {
				stored(r)
			}
			if r.Status == "completed" || r.Status == "incomplete" {
				s.addToConversation(conv, input, r)
			}
		}
	}
	if background {
		return s.runBackground(ctx, ri, b, j)
	}
	return s.run(ctx, ri, b, j)
}

// handleResponsesInputTokens answers POST /v1/responses/input_tokens,
// OpenAI's input token count: the prompt a /v1/responses request with the
// same body would submit (instructions, the previous response's
// conversation, tools and template included), without running it.
func (s *Server) handleResponsesInputTokens(ctx *fasthttp.RequestCtx, _ *reqInfo) error {
	b, req, err := backendAndBody[responsesRequest](s, ctx)
	if err != nil {
		return err
	}
	if req.Background != nil && *req.Background {
		return invalidParam("background", "background is for running a response; counting its input tokens runs nothing")
	}
	creq, _, err := s.responsesChat(req)
	if err != nil {
		return err
	}
	j, err := s.responseJob(b, req, creq, "")
	if err != nil {
		return err
	}
	return s.writeInputTokens(ctx, j)
}

// responseJob is the chat job of a Responses request: with truncation
// "auto", after its oldest turns are dropped until the prompt leaves the
// reply its room (fitContext).
func (s *Server) responseJob(b *Backend, req *responsesRequest, creq *chatRequest, id string) (*job, error) {
	if req.Truncation != nil && *req.Truncation == "auto" {
		return s.fitContext(b, creq, "response", id)
	}
	return s.chatJob(b, creq, "response", id)
}

// fitContext is chatJob after dropping the fewest oldest turns of req
// (those after its leading system messages, never the newest message)
// that leave the reply its room: max_output_tokens, or a quarter of the
// context without it. The kept turns start with a user message, so no
// reply or tool output is kept without what it answers and templates
// that want turns to alternate see them do. When even the newest message
// alone leaves less room, it runs with what room there is. req.Messages
// is left as the prompt has it.
func (s *Server) fitContext(b *Backend, req *chatRequest, kind, id string) (*job, error) {
	nCtx := b.Engine.NCtx()
	room := nCtx / 4
	if req.MaxCompletionTokens != nil {
		room = min(*req.MaxCompletionTokens, nCtx-1)
	}
	all := req.Messages
	head := 0
	for head < len(all) && (all[head].Role == "system" || all[head].Role == "developer") {
		head++
	}
	last := 0 // the turns req.Messages lacks
	try := func(k int) (*job, bool, error) {
		req.Messages, last = dropTurns(all, head, k), k
		j, err := s.chatJob(b, req, kind, id)
		if err != nil {
			return nil, false, err
		}
		return j, len(j.reqs[0].Prompt)+room <= nCtx, nil
	}
	j, fits, err := try(0)
	if err != nil || fits || len(all)-head <= 1 {
		return j, err
	}
	// The fewest dropped turns that fit, by bisection: each try renders
	// and tokenizes the whole conversation.
	lo, hi := 1, len(all)-head-1
	var best *job
	bestK := -1
	for lo <= hi {
		mid := (lo + hi) / 2
		j, fits, err := try(mid)
		if err != nil {
			return nil, err
		}
		if fits {
			best, bestK, hi = j, mid, mid-1
		} else {
			lo = mid + 1
		}
	}
	if bestK < 0 {
		bestK = len(all) - head - 1 // nothing fits: the newest message alone
	}
	if best == nil || last != bestK {
		best, _, err = try(bestK)
	}
	return best, err
}

// dropTurns is msgs without k of the turns after the first head, then
// without any more turns before the first user message left (keeping the
// last message whatever it is).
func dropTurns(msgs []chatMessage, head, k int) []chatMessage {
	rest := msgs[head+k:]
	for len(rest) > 1 && rest[0].Role != "user" {
		rest = rest[1:]
	}
	return append(slices.Clip(msgs[:head]), rest...)
}

// writeInputTokens answers a token count in the Responses API's shape,
// which llama-server's /v1/chat/completions/input_tokens shares.
func (s *Server) writeInputTokens(ctx *fasthttp.RequestCtx, j *job) error {
	return s.writeJSON(ctx, map[string]any{"object": "response.input_tokens", "input_tokens": len(j.reqs[0].Prompt)})
}

// responsesChat is the chat request a Responses request runs as, after
// the conversation of its previous_response_id, or the items of its
// conversation (whose id it returns), when it names one.
func (s *Server) responsesChat(req *responsesRequest) (*chatRequest, string, error) {
	var prev []chatMessage
	hasPrev := req.PreviousResponseID != nil && *req.PreviousResponseID != ""
	conv := ""
	if present(req.Conversation) {
		if hasPrev {
			return nil, "", invalidParam("conversation", "conversation and previous_response_id cannot both be given: a response continues one or the other")
		}
		id, err := conversationOf(req.Conversation)
		if err != nil {
			return nil, "", err
		}
		cs, err := s.conversationsOn()
		if err != nil {
			return nil, "", &apiError{err: ErrNotSupported, param: "conversation", msg: err.Error()}
		}
		_, items, err := cs.get(id)
		if err != nil {
			return nil, "", &apiError{err: ErrRouteNotFound, param: "conversation", msg: err.Error()}
		}
		if len(items) > 0 {
			list, err := json.Marshal(items)
			if err != nil {
				return nil, "", err
			}
			if prev, err = responseMessages(list, "conversation items"); err != nil {
				return nil, "", fmt.Errorf("conversation %s: %w", id, err)
			}
		}
		conv = id
	}
	if hasPrev {
		id := *req.PreviousResponseID
		if s.responses == nil {
			return nil, "", &apiError{err: ErrNotSupported, param: "previous_response_id", msg: "previous_response_id needs stored responses, and this server keeps none (nuri serve --responses-store 0): send the whole conversation in input"}
		}
		r, ok := s.responses.get(id)
		if !ok {
			return nil, "", &apiError{err: ErrRouteNotFound, param: "previous_response_id", msg: fmt.Sprintf("no stored response %q: it was never stored (store false), was deleted, or was dropped for newer ones; send the whole conversation in input", id)}
		}
		prev = r.conversation
	}
	c, err := responsesChat(req, prev)
	return c, conv, err
}

// handleStoredResponse answers GET (the response) and DELETE of
// /v1/responses/{id}, GET of /v1/responses/{id}/input_items, and, for a
// background response, POST /v1/responses/{id}/cancel and GET
// /v1/responses/{id}?stream=true.
func (s *Server) handleStoredResponse(ctx *fasthttp.RequestCtx, ri *reqInfo) error {
	id := strings.TrimPrefix(ri.path, "/v1/responses/")
	id, items := strings.CutSuffix(id, "/input_items")
	id, cancel := strings.CutSuffix(id, "/cancel")
	if strings.Contains(id, "/") || (items && ri.method != "GET") || (cancel && (items || ri.method != "POST")) || (!cancel && ri.method == "POST") {
		return &apiError{err: ErrRouteNotFound, msg: fmt.Sprintf("no route for %s %s: a stored response has GET and DELETE /v1/responses/{id}, GET /v1/responses/{id}/input_items and, run in the background, POST /v1/responses/{id}/cancel", ri.method, ri.path)}
	}
	if !items && ri.method != "DELETE" {
		if handled, err := s.backgroundRoute(ctx, ri, id, cancel); handled {
			return err
		}
	}
	if s.responses == nil {
		return &apiError{err: ErrRouteNotFound, msg: fmt.Sprintf("no response %q: this server keeps no responses (nuri serve --responses-store 0)", id)}
	}
	if items {
		r, ok := s.responses.get(id)
		if !ok {
			return &apiError{err: ErrRouteNotFound, msg: fmt.Sprintf("no stored response %q", id)}
		}
		page, err := listPage(r.input, itemID, ctx.QueryArgs(), itemLimits("desc"))
		if err != nil {
			return err
		}
		return s.writeJSON(ctx, page)
	}
	if ri.method == "DELETE" {
		if err := s.deleteBackground(id); err != nil {
			return err
		}
		if !s.responses.delete(id) {
			return &apiError{err: ErrRouteNotFound, msg: fmt.Sprintf("no stored response %q", id)}
		}
		return s.writeJSON(ctx, map[string]any{"id": id, "object": "response", "deleted": true})
	}
	r, ok := s.responses.get(id)
	if !ok {
		return &apiError{err: ErrRouteNotFound, msg: fmt.Sprintf("no stored response %q: it was never stored (store false), was deleted, or was dropped for newer ones", id)}
	}
	return s.writeJSON(ctx, r.body)
}

// responsesChat checks the Responses-only fields and translates the
// request into the chat request it runs as; prev is the conversation of
// its previous_response_id, continued before its input.
func responsesChat(r *responsesRequest, prev []chatMessage) (*chatRequest, error) {
	switch {
	case present(r.Prompt):
		return nil, &apiError{err: ErrNotSupported, param: "prompt", msg: "stored prompt templates are not supported: give instructions and input"}
	case r.Truncation != nil && *r.Truncation != "disabled" && *r.Truncation != "auto":
		return nil, invalidParam("truncation", "truncation must be \"disabled\" (a conversation longer than the context is refused) or \"auto\" (its oldest turns are dropped until it fits), got %q", *r.Truncation)
	case r.N != nil && *r.N != 1:
		return nil, invalidParam("n", "/v1/responses gives one output: send several requests for several")
	case r.samplingFields.MaxTokens != nil:
		return nil, invalidParam("max_tokens", "/v1/responses takes max_output_tokens, not max_tokens")
	case present(r.ResponseFormat):
		return nil, invalidParam("response_format", "/v1/responses takes text.format, not response_format")
	}
	c := &chatRequest{samplingFields: r.samplingFields, ChatTemplateKwargs: r.ChatTemplateKwargs}
	c.StreamOptions = nil // the usage is always in the final event
	if r.MaxOutputTokens != nil {
		if *r.MaxOutputTokens < 1 {
			return nil, invalidParam("max_output_tokens", "max_output_tokens must be at least 1, got %d", *r.MaxOutputTokens)
		}
		c.MaxCompletionTokens = r.MaxOutputTokens
	}
	if r.Reasoning != nil && r.Reasoning.Effort != nil {
		c.ReasoningEffort = *r.Reasoning.Effort
	}
	if r.Text != nil && present(r.Text.Format) {
		rf, err := responseFormatOf(r.Text.Format)
		if err != nil {
			return nil, err
		}
		c.ResponseFormat = rf
	}
	logprobs := false
	for _, inc := range r.Include {
		logprobs = logprobs || inc == "message.output_text.logprobs"
	}
	if r.TopLogprobs != nil {
		if *r.TopLogprobs < 0 || *r.TopLogprobs > maxTopLogprobs {
			return nil, invalidParam("top_logprobs", "top_logprobs must be between 0 and %d, got %d", maxTopLogprobs, *r.TopLogprobs)
		}
		logprobs = logprobs || *r.TopLogprobs > 0
		c.TopLogprobs = r.TopLogprobs
	}
	c.Logprobs = &logprobs
	tools, err := responseTools(r.Tools)
	if err != nil {
		return nil, err
	}
	c.Tools = tools
	if c.ToolChoice, err = responseToolChoice(r.ToolChoice); err != nil {
		return nil, err
	}
	if c.ResponseFormat != nil && (bytes.HasPrefix(bytes.TrimSpace(c.ToolChoice), []byte("{")) || strings.Contains(string(c.ToolChoice), `"required"`)) {
		return nil, invalidParam("text.format", "text.format cannot be combined with tool_choice \"required\" or a named function: the reply is the call")
	}
	c.ParallelToolCalls = r.ParallelToolCalls
	if r.MaxToolCalls != nil {
		if *r.MaxToolCalls < 1 {
			return nil, invalidParam("max_tool_calls", "max_tool_calls must be at least 1, got %d", *r.MaxToolCalls)
		}
		c.maxCalls = *r.MaxToolCalls
	}
	if r.Instructions != nil && *r.Instructions != "" {
		c.Messages = append(c.Messages, chatMessage{Role: "system", Content: contentField{Text: *r.Instructions, Present: true}})
	}
	msgs, err := responseMessages(r.Input, "input")
	if err != nil {
		return nil, err
	}
	c.Messages = append(c.Messages, prev...)
	c.Messages = append(c.Messages, msgs...)
	return c, nil
}

// responseFormatOf translates text.format into the chat route's
// response_format: {"type": "json_schema", "name", "schema", "strict"}
// becomes {"type": "json_schema", "json_schema": {...}}.
func responseFormatOf(raw json.RawMessage) (json.RawMessage, error) {
	var f struct {
		Type        string          `json:"type"`
		Name        string          `json:"name"`
		Description string          `json:"description,omitempty"`
		Schema      json.RawMessage `json:"schema"`
		Strict      *bool           `json:"strict,omitempty"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, invalidParam("text.format", "text.format must be an object with a type: %v", err)
	}
	switch f.Type {
	case "text":
		return nil, nil
	case "json_object":
		return json.RawMessage(`{"type":"json_object"}`), nil
	case "json_schema":
		if !present(f.Schema) {
			return nil, invalidParam("text.format.schema", "text.format of type json_schema needs a schema")
		}
		inner := struct {
			Name        string          `json:"name"`
			Description string          `json:"description,omitempty"`
			Schema      json.RawMessage `json:"schema"`
			Strict      *bool           `json:"strict,omitempty"`
		}{f.Name, f.Description, f.Schema, f.Strict}
		return json.Marshal(struct {
			Type       string `json:"type"`
			JSONSchema any    `json:"json_schema"`
		}{"json_schema", inner})
	}
	return nil, invalidParam("text.format.type", "text.format.type must be \"text\", \"json_object\" or \"json_schema\", got %q", f.Type)
}

// responseTools translates function tools ({"type": "function", "name",
// "description", "parameters", "strict"}) into the chat route's
// {"type": "function", "function": {...}}. Hosted tools (web search, file
// search, ...) are refused: nothing here runs them.
func responseTools(raw json.RawMessage) (json.RawMessage, error) {
	if !present(raw) {
		return nil, nil
	}
	var tools []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &tools); err != nil {
		return nil, invalidParam("tools", "tools must be a list of {\"type\": \"function\", \"name\": ..., \"parameters\": ...} objects: %v", err)
	}
	out := make([]map[string]any, len(tools))
	for i, t := range tools {
		var typ string
		_ = json.Unmarshal(t["type"], &typ)
		if typ != "function" {
			return nil, &apiError{err: ErrNotSupported, param: fmt.Sprintf("tools[%d].type", i),
				msg: fmt.Sprintf("tool %d has type %q: only \"function\" tools are supported (this server runs no hosted tools)", i, typ)}
		}
		fn := map[string]json.RawMessage{}
		for k, v := range t {
			if k != "type" {
				fn[k] = v
			}
		}
		out[i] = map[string]any{"type": "function", "function": fn}
	}
	return json.Marshal(out)
}

// responseToolChoice translates {"type": "function", "name": N} into the
// chat route's {"type": "function", "function": {"name": N}}; "none",
// "auto" and "required" pass as they are.
func responseToolChoice(raw json.RawMessage) (json.RawMessage, error) {
	t := bytes.TrimSpace(raw)
	if !present(t) || t[0] == '"' {
		return t, nil
	}
	var o struct {
		Type string `json:"type"`
		Name string `json:"name"`
	}
	if err := json.Unmarshal(t, &o); err != nil || o.Type != "function" || o.Name == "" {
		return nil, invalidParam("tool_choice", "tool_choice must be \"none\", \"auto\", \"required\" or {\"type\": \"function\", \"name\": ...}")
	}
	return json.Marshal(map[string]any{"type": "function", "function": map[string]string{"name": o.Name}})
}

// responseMessages turns input (a string, or a list of items; errors name
// it as name: "input", or a conversation's "items") into chat
// messages. Function calls join the assistant message before them (or
// make one), as a chat history carries them; earlier reasoning goes with
// the assistant message after it.
func responseMessages(raw json.RawMessage, name string) ([]chatMessage, error) {
	t := bytes.TrimSpace(raw)
	if !present(t) {
		return nil, invalidParam(name, "%s is required", name)
	}
	if t[0] == '"' {
		var text string
		if err := json.Unmarshal(t, &text); err != nil {
			return nil, invalidParam(name, "%s: %v", name, err)
		}
		return []chatMessage{{Role: "user", Content: contentField{Text: text, Present: true}}}, nil
	}
	var items []responseInputItem
	if err := json.Unmarshal(t, &items); err != nil {
		return nil, invalidParam(name, "%s must be a string or a list of items: %v", name, err)
	}
	if len(items) == 0 {
		return nil, invalidParam(name, "%s must hold at least one item", name)
	}
	var out []chatMessage
	reasoning := ""
	for i, it := range items {
		param := fmt.Sprintf("%s[%d]", name, i)
		switch it.Type {
		case "", "message":
			text, err := responseContent(it.Content, param+".content")
			if err != nil {
				return nil, err
			}
			m := chatMessage{Role: it.Role, Content: contentField{Text: text, Present: true}}
			if it.Role == "assistant" {
				m.ReasoningContent, reasoning = reasoning, ""
			}
			out = append(out, m)
		case "function_call":
			if it.Name == "" || it.CallID == "" {
				return nil, invalidParam(param, "a function_call item needs a name and a call_id")
			}
			args := it.Arguments
			if !present(args) {
				args = json.RawMessage(`"{}"`)
			}
			call := toolCallIn{ID: it.CallID, Type: "function"}
			call.Function.Name, call.Function.Arguments = it.Name, args
			if n := len(out); n == 0 || out[n-1].Role != "assistant" {
				out = append(out, chatMessage{Role: "assistant", ReasoningContent: reasoning})
				reasoning = ""
			}
			last := &out[len(out)-1]
			last.ToolCalls = append(last.ToolCalls, call)
		case "function_call_output":
			if it.CallID == "" {
				return nil, invalidParam(param+".call_id", "a function_call_output item needs the call_id of its call")
			}
			text, err := responseContent(it.Output, param+".output")
			if err != nil {
				return nil, err
			}
			out = append(out, chatMessage{Role: "tool", ToolCallID: it.CallID, Content: contentField{Text: text, Present: true}})
		case "reasoning":
			text, err := responseContent(it.Content, param+".content")
			if err != nil {
				return nil, err
			}
			if text == "" {
				for _, p := range it.Summary {
					text += p.Text
				}
			}
			reasoning += text
		default:
			return nil, &apiError{err: ErrNotSupported, param: param + ".type",
				msg: fmt.Sprintf("%s item %d has type %q: only messages, function_call, function_call_output and reasoning items are supported", name, i, it.Type)}
		}
	}
	return out, nil
}

// responseContent is an item's content as text: a string, or text parts
// (input_text, output_text, refusal, reasoning_text, summary_text)
// joined with newlines. Images, files and audio are refused.
func responseContent(raw json.RawMessage, param string) (string, error) {
	t := bytes.TrimSpace(raw)
	if !present(t) {
		return "", nil
	}
	if t[0] == '"' {
		var s string
		if err := json.Unmarshal(t, &s); err != nil {
			return "", invalidParam(param, "%v", err)
		}
		return s, nil
	}
	var parts []responsePart
	if err := json.Unmarshal(t, &parts); err != nil {
		return "", invalidParam(param, "content must be a string or a list of parts: %v", err)
	}
	texts := make([]string, len(parts))
	for i, p := range parts {
		switch p.Type {
		case "input_text", "output_text", "text", "reasoning_text", "summary_text":
			texts[i] = p.Text
		case "refusal":
			texts[i] = p.Refusal
		default:
			return "", &apiError{err: ErrNotSupported, param: fmt.Sprintf("%s[%d].type", param, i),
				msg: fmt.Sprintf("content part %d has type %q: only text parts are supported", i, p.Type)}
		}
	}
	return strings.Join(texts, "\n"), nil
}

// responseMetaOf is what the response object repeats of r: the client's
// own tools and tool_choice, not their chat translations.
func responseMetaOf(r *responsesRequest) *responseMeta {
	m := &responseMeta{instructions: r.Instructions, maxOutputTokens: r.MaxOutputTokens, metadata: r.Metadata, previous: r.PreviousResponseID,
		parallel: r.ParallelToolCalls == nil || *r.ParallelToolCalls, toolChoice: r.ToolChoice, tools: r.Tools, user: r.User}
	if r.Text != nil && present(r.Text.Format) {
		m.text = r.Text.Format
	}
	if r.Reasoning != nil {
		m.effort, m.summary = r.Reasoning.Effort, r.Reasoning.Summary
	}
	m.truncation = "disabled"
	if r.Truncation != nil && *r.Truncation == "auto" {
		m.truncation = "auto"
	}
	return m
}

// newItemID is 32 random characters for the ids of responses and their
// items (resp_, msg_, rs_, fc_ in front).
func newItemID() string { return randomID("abcdefghijklmnopqrstuvwxyz0123456789", 32) }

// pageLimits are a list API's defaults: the order, and the items a page
// holds unless the query says (up to max).
type pageLimits struct {
	order      string
	limit, max int
}

// itemLimits are those of OpenAI's item lists (input_items, a
// conversation's items, a stored completion's messages): 20 a page, up
// to 100.
func itemLimits(order string) pageLimits { return pageLimits{order: order, limit: 20, max: 100} }

// listPage is a page of all (oldest first) as OpenAI's list APIs give
// one: in the query's order (asc or desc; def's without one), after and
// before an item's id, up to limit items, with first_id, last_id and
// has_more.
func listPage[T any](all []T, id func(T) string, q *fasthttp.Args, def pageLimits) (map[string]any, error) {
	items := slices.Clone(all)
	order := string(q.Peek("order"))
	if order == "" {
		order = def.order
	}
	switch order {
	case "desc":
		slices.Reverse(items)
	case "asc":
	default:
		return nil, invalidParam("order", "order must be asc or desc, got %q", order)
	}
	limit := def.limit
	if v := q.Peek("limit"); len(v) > 0 {
		n, err := strconv.Atoi(string(v))
		if err != nil || n < 1 || n > def.max {
			return nil, invalidParam("limit", "limit must be between 1 and %d, got %q", def.max, v)
		}
		limit = n
	}
	for _, param := range []string{"after", "before"} {
		want := string(q.Peek(param))
		if want == "" {
			continue
		}
		i := slices.IndexFunc(items, func(it T) bool { return id(it) == want })
		switch {
		case i < 0:
			return nil, invalidParam(param, "no item %q in this list", want)
		case param == "after":
			items = items[i+1:]
		default:
			items = items[:i]
		}
	}
	more := len(items) > limit
	items = append([]T{}, items[:min(limit, len(items))]...)
	page := map[string]any{"object": "list", "data": items, "has_more": more, "first_id": nil, "last_id": nil}
	if len(items) > 0 {
		page["first_id"], page["last_id"] = id(items[0]), id(items[len(items)-1])
	}
	return page, nil
}
