package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
	"go.uber.org/zap"

	"github.com/nuri-ai/nuri/chat"
	"github.com/nuri-ai/nuri/engine"
	"github.com/nuri-ai/nuri/sample"
)

func (s *Server) handleCompletion(ctx *fasthttp.RequestCtx, ri *reqInfo) error {
	b, req, err := backendAndBody[completionRequest](s, ctx)
	if err != nil {
		return err
	}
	if present(req.Tools) {
		return &apiError{err: ErrNotSupported, param: "tools", msg: "'tools' is a chat parameter: send it to /v1/chat/completions"}
	}
	base, n, err := s.baseRequest(&req.samplingFields, b)
	if err != nil {
		return err
	}
	if err := checkMaxTokens(base, req.Echo, " (0 only with echo)"); err != nil {
		return err
	}
	stream := req.Stream != nil && *req.Stream
	bestOf, err := bestOfCandidates(req.BestOf, n, stream)
	if err != nil {
		return err
	}
	fim := req.Suffix != nil && *req.Suffix != ""
	if fim && req.Echo {
		return invalidParam("echo", "echo cannot be combined with suffix: the prompt is not the start of the text a completion fills in")
	}
	if req.MaxTokens == nil {
		base.MaxTokens = s.cfg.DefaultMaxTokens
	}
	if req.Logprobs != nil {
		k := *req.Logprobs
		if k < 0 || k > maxTopLogprobs {
			return invalidParam("logprobs", "logprobs must be between 0 and %d, got %d", maxTopLogprobs, k)
		}
		base.Logprobs, base.TopLogprobs = true, k
	}
	var prompts [][]int32
	if fim {
		prompts, err = fillInPrompts(b.Tokenizer, &req.Prompt, *req.Suffix)
	} else {
		prompts, err = promptTokens(b.Tokenizer, &req.Prompt, true)
	}
	if err != nil {
		return err
	}
	if req.TruncatePromptTokens != nil && (req.Echo || fim) {
		return invalidParam("truncate_prompt_tokens", "truncate_prompt_tokens cannot be combined with echo or suffix: they need the prompt whole")
	}
	if prompts, err = truncatePrompts(&req.samplingFields, prompts, b.Engine.NCtx()); err != nil {
		return err
	}
	if len(prompts)*n > maxChoices {
		return invalidParam("n", "%d prompts times n=%d is over %d choices", len(prompts), n, maxChoices)
	}
	if len(prompts)*bestOf > maxChoices {
		return invalidParam("best_of", "%d prompts times best_of=%d is over %d completions", len(prompts), bestOf, maxChoices)
	}
	// Echo puts each prompt before its completion and, with logprobs, the
	// prompt tokens' scores before the completion's, the first token's
	// null (lm-evaluation-harness scores texts this way, max_tokens 0 or 1).
	base.PromptLogprobs = req.Echo && base.Logprobs
	j := s.newJob("completion", "cmpl-"+ri.id, &req.samplingFields, base, prompts, bestOf)
	if bestOf > n {
		j.rankCandidates(n)
	}
	if req.Echo {
		if j.echo, err = echoPrompts(b.Tokenizer, &req.Prompt, prompts); err != nil {
			return err
		}
	}
	return s.run(ctx, ri, b, j)
}

// echoPrompts is each prompt as echo returns it: a text prompt as given, a
// token prompt decoded (special tokens left out); ids are the prompts'
// tokens, texts first as completionPrompts orders them.
func echoPrompts(tok Tokenizer, p *promptField, ids [][]int32) ([]echoPrompt, error) {
	texts := slices.Clone(p.Texts)
	for i, t := range p.Tokens {
		b, err := tok.Decode(t, false)
		if err != nil {
			return nil, invalidParam("prompt", "token prompt %d cannot be decoded for echo: %v", i, err)
		}
		texts = append(texts, string(b))
	}
	out := make([]echoPrompt, len(ids))
	for i, t := range ids {
		out[i].text = texts[i]
		if len(t) > 0 {
			first, err := tok.Piece(t[0], true)
			if err != nil {
				return nil, invalidParam("prompt", "prompt %d's first token %d has no text: %v", i, t[0], err)
			}
			out[i].first = string(first)
		}
	}
	return out, nil
}

// FIMTokenizer is a Tokenizer that knows its fill-in-the-middle tokens;
// completions with a suffix need one (tokenizer.Tokenizer is).
type FIMTokenizer interface {
	FIM() (pre, suf, mid int32, ok bool)
}

// fillInPrompts builds each prompt of a completion with a suffix as the
// model's fill-in-the-middle input, prefix-suffix-middle as llama.cpp's
// infill lays it out: [BOS] FIM_PRE prefix FIM_SUF suffix FIM_MID, the
// texts tokenized as plain text. The completion is what goes between.
func fillInPrompts(tok Tokenizer, p *promptField, suffix string) ([][]int32, error) {
	pre, suf, mid, ok := fimTokens(tok)
	if !ok {
		return nil, &apiError{err: ErrNotSupported, param: "suffix", msg: "suffix needs a model with fill-in-the-middle tokens (such as Qwen2.5-Coder's <|fim_prefix|>, <|fim_suffix|>, <|fim_middle|>), and this one has none"}
	}
	prefixes, err := promptTokens(tok, p, false)
	if err != nil {
		return nil, err
	}
	sufIDs, err := tok.Encode(suffix, false, false)
	if err != nil {
		return nil, invalidParam("suffix", "suffix cannot be tokenized: %v", err)
	}
	out := make([][]int32, len(prefixes))
	for i, prefix := range prefixes {
		var ids []int32
		if bos, ok := tok.BOS(); ok && tok.AddBOS() {
			ids = append(ids, bos)
		}
		ids = append(ids, pre)
		ids = append(ids, prefix...)
		ids = append(ids, suf)
		ids = append(ids, sufIDs...)
		out[i] = append(ids, mid)
	}
	return out, nil
}

// fimTokens are tok's fill-in-the-middle tokens, if it knows all three.
func fimTokens(tok Tokenizer) (pre, suf, mid int32, ok bool) {
	if ft, is := tok.(FIMTokenizer); is {
		return ft.FIM()
	}
	return 0, 0, 0, false
}

// promptTokens is each prompt as tokens: text prompts tokenized (with
// special, BOS and special tokens parsed; without, as plain text), then
// the token prompts, checked.
func promptTokens(tok Tokenizer, p *promptField, special bool) ([][]int32, error) {
	if len(p.Texts) == 0 && len(p.Tokens) == 0 {
		return nil, invalidParam("prompt", "prompt is required")
	}
	var out [][]int32
	for i, t := range p.Texts {
		ids, err := tok.Encode(t, special, special)
		if err != nil {
			return nil, invalidParam("prompt", "prompt %d cannot be tokenized: %v", i, err)
		}
		out = append(out, ids)
	}
	if err := checkTokenLists(p.Tokens, tok.NVocab(), "prompt"); err != nil {
		return nil, err
	}
	return append(out, p.Tokens...), nil
}

// checkTokenLists checks token-id inputs: none empty, every id in the
// vocabulary. param names the field in errors.
func checkTokenLists(lists [][]int32, nVocab int, param string) error {
	for i, ids := range lists {
		if len(ids) == 0 {
			return invalidParam(param, "token %s %d is empty", param, i)
		}
		for _, id := range ids {
			if id < 0 || int(id) >= nVocab {
				return invalidParam(param, "token %s %d: id %d is outside the vocabulary of %d", param, i, id, nVocab)
			}
		}
	}
	return nil
}

func (s *Server) newJob(kind, id string, f *samplingFields, base engine.Request, prompts [][]int32, n int) *job {
	stream := f.Stream != nil && *f.Stream
	return &job{
		kind: kind, id: id, start: time.Now(), model: s.replyModel(f.Model, base.LoRA),
		reqs: expand(base, id, prompts, n), nPrompts: len(prompts), n: n,
		stream: stream, usage: stream && f.StreamOptions != nil && f.StreamOptions.IncludeUsage,
		logprobs: base.Logprobs, timingsPerToken: f.TimingsPerToken,
	}
}

func (s *Server) handleChat(ctx *fasthttp.RequestCtx, ri *reqInfo) error {
	b, req, err := backendAndBody[chatRequest](s, ctx)
	if err != nil {
		return err
	}
	j, err := s.chatJob(b, req, "chat", "chatcmpl-"+ri.id)
	if err != nil {
		return err
	}
	if req.Store != nil && *req.Store {
		cs, err := s.chatsOn()
		if err != nil {
			return &apiError{err: ErrNotSupported, param: "store", msg: err.Error()}
		}
		if err := checkMetadata(req.Metadata); err != nil {
			return err
		}
		j.chatDone = func(resp *chatResponse) {
			if err := cs.keep(resp, req.Metadata, req.Messages); err != nil {
				s.log.Warn("store chat completion", zap.String("id", resp.ID), zap.Error(err))
			}
		}
	}
	return s.run(ctx, ri, b, j)
}

// handleChatInputTokens answers POST /v1/chat/completions/input_tokens
// (llama-server's): the prompt tokens the same body would submit to
// /v1/chat/completions, template and tools included, without running it.
func (s *Server) handleChatInputTokens(ctx *fasthttp.RequestCtx, _ *reqInfo) error {
	b, req, err := backendAndBody[chatRequest](s, ctx)
	if err != nil {
		return err
	}
	j, err := s.chatJob(b, req, "chat", "")
	if err != nil {
		return err
	}
	return s.writeInputTokens(ctx, j)
}

// chatJob validates a chat request and renders its prompt: the job of
// /v1/chat/completions and, translated into a chat request, of
// /v1/responses.
func (s *Server) chatJob(b *Backend, req *chatRequest, kind, id string) (*job, error) {
	base, n, err := s.baseRequest(&req.samplingFields, b)
	if err != nil {
		return nil, err
	}
	if err := checkMaxTokens(base, false, ""); err != nil {
		return nil, err
	}
	if req.MaxCompletionTokens != nil {
		if *req.MaxCompletionTokens < 1 {
			return nil, invalidParam("max_completion_tokens", "max_completion_tokens must be at least 1, got %d", *req.MaxCompletionTokens)
		}
		base.MaxTokens = *req.MaxCompletionTokens
	}
	tools, err := b.toolsOf(req)
	if err != nil {
		return nil, err
	}
	if tools.constraint != nil {
		if base.Constraint != nil {
			return nil, invalidParam("response_format", "response_format cannot be combined with tool_choice \"required\" or a named function: the reply is the call")
		}
		base.Constraint = tools.constraint
	}
	if req.Logprobs != nil && *req.Logprobs {
		base.Logprobs = true
	}
	if req.TopLogprobs != nil {
		k := *req.TopLogprobs
		switch {
		case k < 0 || k > maxTopLogprobs:
			return nil, invalidParam("top_logprobs", "top_logprobs must be between 0 and %d, got %d", maxTopLogprobs, k)
		case k > 0 && !base.Logprobs:
			return nil, invalidParam("top_logprobs", "top_logprobs needs logprobs set to true")
		}
		base.TopLogprobs = k
	}
	msgs, err := chatMessages(req.Messages)
	if err != nil {
		return nil, err
	}
	agp, err := generationPrompt(req.AddGenerationPrompt, req.ContinueFinalMessage, req.Messages)
	if err != nil {
		return nil, err
	}
	kwargs := req.ChatTemplateKwargs
	if _, set := kwargs["reasoning_effort"]; req.ReasoningEffort != "" && !set {
		kwargs = maps.Clone(kwargs)
		if kwargs == nil {
			kwargs = map[string]any{}
		}
		kwargs["reasoning_effort"] = req.ReasoningEffort
	}
	text, err := renderText(b, msgs, agp, kwargs, tools.render)
	if err != nil {
		return nil, err
	}
	if req.ContinueFinalMessage {
		if text, err = openFinalMessage(text, msgs[len(msgs)-1].Content); err != nil {
			return nil, err
		}
	}
	reasoning, tags := b.reasoning(), b.Chat.ThinkTags()
	sTags := sample.ThinkTags{Open: tags.Open, Close: tags.Close}
	thinkOpen := reasoning && tags.Opened(text)
	if reasoning && tools.constraint == nil && base.Constraint != nil {
		// A thinking model thinks first; the answer follows the constraint.
		inner, vocab := base.Constraint, b.vocab()
		base.Constraint = func() sample.Constraint { return sample.AfterThinking(vocab, inner(), sTags, thinkOpen) }
	}
	prefix := tools.prefix
	if prefix != "" && thinkOpen {
		// A forced call comes after the thinking: close it first.
		prefix = tags.Close + "\n\n" + prefix
	}
	ids, err := tokenizeChat(b, text+prefix)
	if err != nil {
		return nil, err
	}
	markers := tools.format.Markers()
	if reasoning {
		markers = append(markers, tags.Marks...)
	}
	shown := markerTexts(b.Tokenizer, markers)
	base.ShowTokens = slices.Sorted(maps.Keys(shown))
	if tools.held != nil && base.Constraint == nil {
		// The model may answer in prose, but a call it opens is held to
		// the tools' schemas (response_format, when given, holds the
		// whole reply instead).
		base.Constraint = b.lazyCalls(tools, shown, reasoning, sTags, thinkOpen)
	}
	budget, message, err := b.thinkingBudget(req)
	if err != nil {
		return nil, err
	}
	if budget >= 0 && reasoning && prefix == "" {
		// (A forced call's prefix has closed the thinking already.)
		inner, vocab := base.Constraint, b.vocab()
		base.Constraint = func() sample.Constraint {
			var c sample.Constraint
			if inner != nil {
				c = inner()
			}
			return sample.ThinkingBudget(vocab, budget, message, sTags, thinkOpen, c)
		}
	}
	prompts, err := truncatePrompts(&req.samplingFields, [][]int32{ids}, b.Engine.NCtx())
	if err != nil {
		return nil, err
	}
	j := s.newJob(kind, id, &req.samplingFields, base, prompts, n)
	j.tools, j.reasoning, j.thinkTags, j.thinkOpen, j.prefix = tools, reasoning, tags, thinkOpen, prefix
	return j, nil
}

// generationPrompt is whether the rendered conversation ends with the
// opening of the assistant's turn: by default yes, but not when the last
// message is continued (the two contradict each other).
func generationPrompt(add *bool, continueFinal bool, msgs []chatMessage) (bool, error) {
	agp := add == nil || *add
	if !continueFinal {
		return agp, nil
	}
	if add != nil && *add {
		return false, invalidParam("continue_final_message", "continue_final_message and add_generation_prompt cannot both be true: the reply either continues the last message or starts a turn of its own")
	}
	if n := len(msgs); n > 0 && msgs[n-1].Content.Text == "" {
		return false, invalidParam("continue_final_message", "continue_final_message needs a last message with text to continue")
	}
	return false, nil
}

// openFinalMessage cuts a conversation rendered without a generation
// prompt just after the last message's text, dropping the end-of-turn the
// template wrote, so the model goes on with that text. Templates that trim
// message texts are matched on the trimmed text.
func openFinalMessage(text, final string) (string, error) {
	for _, t := range []string{final, strings.TrimSpace(final)} {
		if i := strings.LastIndex(text, t); t != "" && i >= 0 {
			return text[:i+len(t)], nil
		}
	}
	return "", invalidParam("continue_final_message", "the chat template does not show the last message's text as it was sent, so the reply cannot continue it")
}

// chatMessages checks roles and content. "developer" is OpenAI's newer
// name for "system".
func chatMessages(in []chatMessage) ([]chat.Message, error) {
	if len(in) == 0 {
		return nil, invalidParam("messages", "messages must hold at least one message")
	}
	out := make([]chat.Message, len(in))
	legacyIDs := map[string]string{} // the deprecated functions API: a function's last call
	for i, m := range in {
		param := fmt.Sprintf("messages[%d]", i)
		if m.FunctionCall != nil {
			// The deprecated functions API's call: a tool call with an id
			// the "function" message that answers it takes.
			if m.Role != "assistant" || len(m.ToolCalls) > 0 {
				return nil, invalidParam(param+".function_call", "message %d: only an assistant message without tool_calls gives a function_call", i)
			}
			id := fmt.Sprintf("call_fn%d", i)
			m.ToolCalls = []toolCallIn{{ID: id, Type: "function"}}
			m.ToolCalls[0].Function.Name, m.ToolCalls[0].Function.Arguments = m.FunctionCall.Name, m.FunctionCall.Arguments
			legacyIDs[m.FunctionCall.Name] = id
		}
		switch m.Role {
		case "system", "user", "assistant", "tool":
		case "developer":
			m.Role = "system"
		case "":
			return nil, invalidParam(param+".role", "message %d has no role", i)
		case "function":
			// The deprecated functions API's answer: a tool message
			// answering the last call of the function it names.
			if m.Name == "" {
				return nil, invalidParam(param+".name", "message %d: a function message names the function it answers", i)
			}
			m.Role, m.ToolCallID = "tool", legacyIDs[m.Name]
		default:
			return nil, invalidParam(param+".role", "message %d has unknown role '%s' (want system, user, assistant or tool)", i, m.Role)
		}
		if m.Content.err != "" {
			return nil, &apiError{err: ErrNotSupported, param: param + ".content", msg: m.Content.err}
		}
		if !m.Content.Present && m.Role != "assistant" {
			return nil, invalidParam(param+".content", "message %d has no content", i)
		}
		if len(m.ToolCalls) > 0 && m.Role != "assistant" {
			return nil, invalidParam(param+".tool_calls", "message %d: only assistant messages make tool calls", i)
		}
		calls, err := historyCalls(m.ToolCalls, param)
		if err != nil {
			return nil, err
		}
		out[i] = chat.Message{Role: m.Role, Content: m.Content.Text, ToolCalls: calls, ToolCallID: m.ToolCallID, Name: m.Name,
			ReasoningContent: m.ReasoningContent}
	}
	return out, nil
}

// renderConversation checks a conversation given without generating
// (/tokenize, /apply-template) and formats it with the model's template:
// the generation prompt as add asks, the last message left open when
// continueFinal, the tools shown.
func renderConversation(b *Backend, in []chatMessage, add *bool, continueFinal bool, kwargs map[string]any, toolsRaw json.RawMessage) (string, error) {
	msgs, err := chatMessages(in)
	if err != nil {
		return "", err
	}
	agp, err := generationPrompt(add, continueFinal, in)
	if err != nil {
		return "", err
	}
	tools, _, err := readTools(toolsRaw)
	if err != nil {
		return "", err
	}
	text, err := renderText(b, msgs, agp, kwargs, tools)
	if err != nil || !continueFinal {
		return text, err
	}
	return openFinalMessage(text, msgs[len(msgs)-1].Content)
}

// renderText formats msgs (and tools) with the model's template.
func renderText(b *Backend, msgs []chat.Message, agp bool, kwargs map[string]any, tools chat.JSON) (string, error) {
	tok := b.Tokenizer
	if len(b.TemplateKwargs) > 0 {
		merged := maps.Clone(b.TemplateKwargs)
		maps.Copy(merged, kwargs)
		kwargs = merged
	}
	opts := chat.Options{AddGenerationPrompt: agp, Vars: kwargs, Tools: tools}
	if bos, ok := tok.BOS(); ok {
		opts.BOSToken = tok.TokenText(bos)
	}
	if eos, ok := tok.EOS(); ok {
		opts.EOSToken = tok.TokenText(eos)
	}
	text, err := b.Chat.Render(msgs, opts)
	switch {
	case errors.Is(err, chat.ErrToolsUnsupported):
		return "", &apiError{err: ErrNotSupported, param: "tools", msg: err.Error()}
	case err != nil:
		return "", &apiError{err: ErrInvalidParam, param: "messages", msg: "cannot apply the chat template: " + err.Error()}
	}
	return text, nil
}

// tokenizeChat tokenizes a rendered conversation, parsing special tokens.
// BOS is added only when the tokenizer wants one and the template has not
// already written it.
func tokenizeChat(b *Backend, text string) ([]int32, error) {
	tok := b.Tokenizer
	var bosText string
	if bos, ok := tok.BOS(); ok {
		bosText = tok.TokenText(bos)
	}
	addBOS := tok.AddBOS() && !(bosText != "" && strings.HasPrefix(text, bosText))
	ids, err := tok.Encode(text, addBOS, true)
	if err != nil {
		return nil, invalidParam("messages", "cannot tokenize the rendered conversation: %v", err)
	}
	return ids, nil
}
