package server

import (
	"bufio"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
	"go.uber.org/zap"

	"github.com/nuri-ai/nuri/engine"
)

// Ollama's native API (/api/chat, /api/generate, /api/embed, /api/tags,
// /api/show, /api/ps, /api/version) over the same engine, chat templates,
// output constraints and tool-call parsing as the OpenAI routes: tools
// that speak only Ollama's API (desktop chat front ends, editor plugins)
// can use a Nuri server as they use an Ollama one. Replies stream as
// newline-delimited JSON unless "stream" is false; errors are
// {"error": "..."}.

// ollamaAPIVersion is the Ollama API level /api/version reports: these
// routes follow its request and reply shapes (thinking and streamed tool
// calls included).
const ollamaAPIVersion = "0.12.0"

// ollamaOptions are the Modelfile parameters Nuri applies; the others
// (num_ctx, num_gpu, mirostat, ...) are accepted and ignored, as Ollama
// ignores those a runner lacks.
type ollamaOptions struct {
	nativeSampling
	NumPredict *int     `json:"num_predict"`
	Stop       []string `json:"stop"`
}

// apply sets f's sampling from the options. num_predict of 0 or less
// (Ollama's -1 "no limit" and -2 "fill the context") leaves the reply
// bounded by the context alone.
func (o *ollamaOptions) apply(f *samplingFields) {
	o.nativeSampling.apply(f)
	f.Stop = stopField{List: o.Stop}
	if o.NumPredict != nil && *o.NumPredict > 0 {
		n := *o.NumPredict
		f.MaxTokens = &n
	}
}

type ollamaToolCall struct {
	Function struct {
		Name      string          `json:"name"`
		Arguments json.RawMessage `json:"arguments"` // an object
	} `json:"function"`
}

type ollamaMessage struct {
	Role      string           `json:"role"`
	Content   string           `json:"content"`
	Thinking  string           `json:"thinking,omitempty"`
	Images    []string         `json:"images,omitempty"`
	ToolCalls []ollamaToolCall `json:"tool_calls,omitempty"`
	ToolName  string           `json:"tool_name,omitempty"`
}

// ollamaCommon are the fields /api/chat and /api/generate share.
type ollamaCommon struct {
	Model   string          `json:"model"`
	Format  json.RawMessage `json:"format"` // "json" or a JSON schema
	Options ollamaOptions   `json:"options"`
	Stream  *bool           `json:"stream"` // default true
	Think   json.RawMessage `json:"think"`  // true, false, or an effort ("high")
}

type ollamaChatRequest struct {
	ollamaCommon
	Messages []ollamaMessage `json:"messages"`
	Tools    json.RawMessage `json:"tools"`
}

type ollamaGenerateRequest struct {
	ollamaCommon
	Prompt string   `json:"prompt"`
	Suffix string   `json:"suffix"`
	System string   `json:"system"`
	Raw    bool     `json:"raw"`
	Images []string `json:"images"`
}

// ollamaReply is one line of a reply (the last one with done and the
// timings), for /api/chat (Message) or /api/generate (Response, Thinking).
type ollamaReply struct {
	Model              string            `json:"model"`
	CreatedAt          string            `json:"created_at"`
	Message            *ollamaMessageOut `json:"message,omitempty"`
	Response           *string           `json:"response,omitempty"`
	Thinking           string            `json:"thinking,omitempty"`
	Done               bool              `json:"done"`
	DoneReason         string            `json:"done_reason,omitempty"`
	TotalDuration      int64             `json:"total_duration,omitempty"`
	LoadDuration       int64             `json:"load_duration,omitempty"`
	PromptEvalCount    int               `json:"prompt_eval_count,omitempty"`
	PromptEvalDuration int64             `json:"prompt_eval_duration,omitempty"`
	EvalCount          int               `json:"eval_count,omitempty"`
	EvalDuration       int64             `json:"eval_duration,omitempty"`
}

type ollamaMessageOut struct {
	Role      string           `json:"role"`
	Content   string           `json:"content"`
	Thinking  string           `json:"thinking,omitempty"`
	ToolCalls []ollamaToolCall `json:"tool_calls,omitempty"`
}

// ollamaModel strips Ollama's default tag: clients name "model:latest",
// as /api/tags lists it.
func ollamaModel(name string) string { return strings.TrimSuffix(name, ":latest") }

// ollamaTagged is a served name in Ollama's NAME:TAG form: as it is where
// it has a tag (a model served under the name Ollama pulled it as,
// "qwen3:8b"), else with Ollama's default tag.
func ollamaTagged(name string) string {
	if i := strings.LastIndexByte(name, ':'); i > strings.LastIndexByte(name, '/') {
		return name
	}
	return name + ":latest"
}

// toSampling turns the shared fields into the OpenAI form the jobs take.
func (c *ollamaCommon) toSampling() (samplingFields, map[string]any, string, error) {
	f := samplingFields{Model: ollamaModel(c.Model)}
	c.Options.apply(&f)
	no := false
	f.Stream = &no // the Ollama writer streams; the job's own SSE path stays off
	switch t := strings.TrimSpace(string(c.Format)); {
	case t == "" || t == "null" || t == `""`:
	case t == `"json"`:
		f.ResponseFormat = json.RawMessage(`{"type":"json_object"}`)
	case strings.HasPrefix(t, "{"):
		rf, err := json.Marshal(map[string]any{"type": "json_schema", "json_schema": map[string]any{"name": "format", "schema": c.Format}})
		if err != nil {
			return f, nil, "", invalidParam("format", "format: %v", err)
		}
		f.ResponseFormat = rf
	default:
		return f, nil, "", invalidParam("format", `format must be "json" or a JSON schema`)
	}
	var kwargs map[string]any
	effort := ""
	var think any
	if len(c.Think) > 0 {
		if err := json.Unmarshal(c.Think, &think); err != nil {
			return f, nil, "", invalidParam("think", "think must be true, false or an effort")
		}
	}
	switch v := think.(type) {
	case nil:
	case bool:
		kwargs = map[string]any{"enable_thinking": v} // the templates of Qwen3 and EXAONE 4 read it
	case string:
		effort = v // gpt-oss's templates read reasoning_effort
	default:
		return f, nil, "", invalidParam("think", "think must be true, false or an effort")
	}
	return f, kwargs, effort, nil
}

// streaming is whether a request streams: Ollama's default is yes.
func (c *ollamaCommon) streaming() bool { return c.Stream == nil || *c.Stream }

func (s *Server) handleOllamaChat(ctx *fasthttp.RequestCtx, ri *reqInfo) error {
	b, req, err := backendAndBody[ollamaChatRequest](s, ctx)
	if err != nil {
		return err
	}
	f, kwargs, effort, err := req.toSampling()
	if err != nil {
		return err
	}
	cr := chatRequest{samplingFields: f, ChatTemplateKwargs: kwargs, ReasoningEffort: effort}
	cr.Tools = req.Tools
	for i, m := range req.Messages {
		if len(m.Images) > 0 {
			return invalidParam("messages", "message %d has images: Nuri serves text models", i)
		}
		cm := chatMessage{Role: m.Role, Content: contentField{Text: m.Content, Present: true}, ReasoningContent: m.Thinking, Name: m.ToolName}
		for k, c := range m.ToolCalls {
			args := c.Function.Arguments
			if len(args) == 0 {
				args = json.RawMessage(`{}`)
			}
			text, err := json.Marshal(string(args)) // OpenAI's calls carry their arguments as JSON text
			if err != nil {
				return invalidParam("messages", "message %d: %v", i, err)
			}
			tc := toolCallIn{ID: fmt.Sprintf("call_%d_%d", i, k), Type: "function"}
			tc.Function.Name, tc.Function.Arguments = c.Function.Name, text
			cm.ToolCalls = append(cm.ToolCalls, tc)
		}
		cr.Messages = append(cr.Messages, cm)
	}
	j, err := s.chatJob(b, &cr, "chat", "ollama-"+ri.id)
	if err != nil {
		return err
	}
	j.stream = req.streaming()
	return s.runOllama(ctx, ri, b, j, false)
}

func (s *Server) handleOllamaGenerate(ctx *fasthttp.RequestCtx, ri *reqInfo) error {
	b, req, err := backendAndBody[ollamaGenerateRequest](s, ctx)
	if err != nil {
		return err
	}
	if len(req.Images) > 0 {
		return invalidParam("images", "images are not supported: Nuri serves text models")
	}
	f, kwargs, effort, err := req.toSampling()
	if err != nil {
		return err
	}
	if req.Prompt == "" && req.Suffix == "" {
		// Ollama loads the model and answers done; the model is loaded.
		empty := ""
		return s.writeJSON(ctx, &ollamaReply{Model: req.Model, CreatedAt: ollamaNow(), Response: &empty, Done: true, DoneReason: "load"})
	}
	var j *job
	if req.Raw || req.Suffix != "" {
		// The prompt as it is (raw), or fill-in-the-middle with the
		// model's FIM tokens, as completions' suffix.
		base, n, err := s.baseRequest(&f, b)
		if err != nil {
			return err
		}
		base.MaxTokens = 0
		if f.MaxTokens != nil {
			base.MaxTokens = *f.MaxTokens
		}
		p := promptField{Texts: []string{req.Prompt}}
		var prompts [][]int32
		if req.Suffix != "" {
			prompts, err = fillInPrompts(b.Tokenizer, &p, req.Suffix)
		} else {
			prompts, err = promptTokens(b.Tokenizer, &p, true)
		}
		if err != nil {
			return err
		}
		j = s.newJob("completion", "ollama-"+ri.id, &f, base, prompts, n)
	} else {
		cr := chatRequest{samplingFields: f, ChatTemplateKwargs: kwargs, ReasoningEffort: effort}
		if req.System != "" {
			cr.Messages = append(cr.Messages, chatMessage{Role: "system", Content: contentField{Text: req.System, Present: true}})
		}
		cr.Messages = append(cr.Messages, chatMessage{Role: "user", Content: contentField{Text: req.Prompt, Present: true}})
		if j, err = s.chatJob(b, &cr, "chat", "ollama-"+ri.id); err != nil {
			return err
		}
	}
	j.stream = req.streaming()
	return s.runOllama(ctx, ri, b, j, true)
}

// ollamaNow is created_at's form.
func ollamaNow() string { return time.Now().UTC().Format(time.RFC3339Nano) }

// runOllama submits j (one choice) and answers in Ollama's shape: the
// whole reply, or NDJSON lines as the tokens come.
func (s *Server) runOllama(ctx *fasthttp.RequestCtx, ri *reqInfo, b *Backend, j *job, generate bool) error {
	choices, err := s.submitAndAnswer(ctx, ri, b, j, "application/x-ndjson", func(w *bufio.Writer, streams []Stream, _ func()) {
		s.ollamaStream(w, j, streams[0], ri, generate)
	})
	if choices == nil {
		return err // streaming, or not submitted
	}
	c := ri.oneChoice(j, choices)
	if err != nil {
		return err
	}
	parts := j.splitReply(string(c.text))
	last := j.ollamaLine(parts, generate)
	j.ollamaDone(last, c, ri.start)
	return s.writeJSON(ctx, last)
}

// ollamaLine is a reply line carrying parts (not yet the last).
func (j *job) ollamaLine(parts replyParts, generate bool) *ollamaReply {
	r := &ollamaReply{Model: j.model, CreatedAt: ollamaNow()}
	if generate {
		r.Response, r.Thinking = &parts.content, parts.reasoning
		return r
	}
	r.Message = &ollamaMessageOut{Role: "assistant", Content: parts.content, Thinking: parts.reasoning}
	for _, c := range parts.calls {
		var tc ollamaToolCall
		tc.Function.Name, tc.Function.Arguments = c.Name, json.RawMessage(c.Arguments)
		if !json.Valid(tc.Function.Arguments) {
			tc.Function.Arguments, _ = json.Marshal(c.Arguments) // a string marshals
		}
		r.Message.ToolCalls = append(r.Message.ToolCalls, tc)
	}
	return r
}

// ollamaDone makes r the last line: done, why, and the timings in
// nanoseconds (prompt evaluation up to the first token, evaluation after
// it; the model is loaded before the server serves, so no load time).
func (j *job) ollamaDone(r *ollamaReply, c *choice, start time.Time) {
	total := time.Since(start)
	r.Done, r.DoneReason = true, finishReason(c.finish)
	r.TotalDuration = int64(total)
	r.PromptEvalCount, r.EvalCount = c.usage.PromptTokens, c.usage.CompletionTokens
	r.PromptEvalDuration = int64(min(c.ttft, total))
	r.EvalDuration = int64(total - min(c.ttft, total))
}

// ollamaStream writes j's reply as NDJSON: a line for each piece of
// content, thinking or complete tool calls, then the last line with the
// timings. A failed write (the client has gone) ends the sequence.
func (s *Server) ollamaStream(w *bufio.Writer, j *job, st Stream, ri *reqInfo, generate bool) {
	state := &streamState{c: &choice{}, split: j.newSplit()}
	var werr error
	write := func(v any) {
		if werr != nil {
			return
		}
		b, err := marshal(v)
		if err == nil {
			_, err = w.Write(append(b, '\n'))
		}
		if err == nil {
			err = w.Flush()
		}
		werr = err
	}
	defer func() {
		st.Cancel()
		s.finishStreamLog(j, []*streamState{state}, ri)
	}()
	for ev := range st.Events() {
		parts, finished := state.advance(ev, ri)
		if parts.content != "" || parts.reasoning != "" || len(parts.calls) > 0 {
			write(j.ollamaLine(parts, generate))
		}
		if finished {
			s.recordFinish(state.c)
			if ev.Finish == engine.FinishError {
				write(map[string]string{"error": "generation failed"})
				s.log.Error("generation failed", zap.String("req_id", j.id), zap.Error(ev.Err))
				return
			}
			last := j.ollamaLine(replyParts{}, generate)
			j.ollamaDone(last, state.c, ri.start)
			write(last)
			return
		}
		if werr != nil {
			return
		}
	}
}
