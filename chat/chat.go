package chat

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Message is one conversation turn.
type Message struct {
	Role    string // system, user, assistant or tool
	Content string
	// ToolCalls are the calls an assistant turn made.
	ToolCalls []ToolCall
	// ToolCallID is the call a tool turn answers; Name its function.
	ToolCallID, Name string
	// ReasoningContent is an assistant turn's thinking, apart from its
	// content (Qwen3's template shows or drops it).
	ReasoningContent string
	// rawArgs hands the template each call's arguments as the JSON text
	// (Render's retry for templates that concatenate them as strings).
	rawArgs bool
}

// toDict is the message as transformers hands it to a template: optional
// keys only when set, since templates test them with "is defined".
// Arguments that are a JSON object are given as that object, as vLLM and
// llama.cpp do, because templates write them with tojson.
func (m Message) toDict() *dict {
	d := newDict()
	d.set("role", m.Role)
	d.set("content", m.Content)
	if m.Name != "" {
		d.set("name", m.Name)
	}
	if m.ToolCallID != "" {
		d.set("tool_call_id", m.ToolCallID)
	}
	if m.ReasoningContent != "" {
		d.set("reasoning_content", m.ReasoningContent)
	}
	if len(m.ToolCalls) > 0 {
		calls := make([]value, len(m.ToolCalls))
		for i, c := range m.ToolCalls {
			var args value = c.Arguments
			if a, err := decodeJSON([]byte(c.Arguments)); err == nil && !m.rawArgs {
				if _, isObject := a.(*dict); isObject {
					args = a
				}
			}
			f := newDict()
			f.set("name", c.Name)
			f.set("arguments", args)
			tc := newDict()
			if c.ID != "" {
				tc.set("id", c.ID)
			}
			tc.set("type", "function")
			tc.set("function", f)
			calls[i] = tc
		}
		d.set("tool_calls", calls)
	}
	return d
}

// Options are the variables a chat template sees besides the messages.
type Options struct {
	AddGenerationPrompt bool
	BOSToken, EOSToken  string         // the tokenizer's special-token texts
	Vars                map[string]any // extra variables, e.g. "enable_thinking": false
	// Tools is the request's tools list as JSON: a template sees it as
	// transformers' apply_chat_template(tools=...) gives it. Only Jinja
	// templates that mention tools can render it.
	Tools JSON
}

// Template is a parsed Jinja chat template. It is immutable and safe for
// concurrent use.
type Template struct {
	root []node
}

// Parse compiles Jinja source. Unknown filters and tests, unknown
// statements and unclosed blocks are errors here, not at render time.
func Parse(src string) (*Template, error) {
	// Jinja writes every line break of a template's text as \n (its
	// newline_sequence), so a template saved with CRLF renders as one
	// with LF; and it drops one newline at the template's end (its
	// keep_trailing_newline is off, as transformers leaves it).
	src = strings.ReplaceAll(strings.ReplaceAll(src, "\r\n", "\n"), "\r", "\n")
	src = strings.TrimSuffix(src, "\n")
	toks, err := lex(src)
	if err != nil {
		return nil, fmt.Errorf("parse chat template: %w", err)
	}
	p := &parser{toks: toks}
	root, _, err := p.parseBody("", 0)
	if err != nil {
		return nil, fmt.Errorf("parse chat template: %w", err)
	}
	return &Template{root: root}, nil
}

// Execute renders the template with the given variables.
func (t *Template) Execute(vars map[string]any) (string, error) {
	sc := newScope(nil)
	for k, v := range vars {
		c, err := fromGo(v)
		if err != nil {
			return "", fmt.Errorf("render chat template: variable %s: %w", k, err)
		}
		sc.vars[k] = c
	}
	s := &state{}
	var b strings.Builder
	// Top-level body gets its own scope so template `set`s never touch
	// the caller's variables.
	if err := s.execBody(&b, newScope(sc), t.root); err != nil {
		if errors.Is(err, errBreak) || errors.Is(err, errContinue) {
			return "", fmt.Errorf("render chat template: %w", err)
		}
		var re *RaiseError
		if errors.As(err, &re) {
			return "", err
		}
		return "", fmt.Errorf("render chat template: %w", err)
	}
	return b.String(), nil
}

// Renderer formats conversations for one model: its Jinja template, or a
// built-in format when the template is absent or cannot be parsed.
type Renderer struct {
	tmpl     *Template
	format   Format
	parseErr error      // why the Jinja template was not used, if it was not
	tools    ToolFormat // how the template's model writes tool calls
	// mentionsTools: the template reads a tools variable
	mentionsTools bool
	thinks        bool // the template writes its thinking (framed by thinkTags)
	thinkTags     ThinkTags
	src           string // the Jinja template's source
	// functools: FireFunction v2's template, which reads the variables
	// functions (the tools as JSON text) and datetime, as llama.cpp gives
	// them to it.
	functools bool
}

// New picks the renderer for a GGUF's tokenizer.chat_template. An empty
// template means ChatML (as llama.cpp). A template that does not parse is
// replaced by the built-in its markers identify (MODEL_SPEC.md §5.2); when
// none matches, the parse error is returned.
func New(src string) (*Renderer, error) {
	if strings.TrimSpace(src) == "" {
		return &Renderer{format: FormatChatML, tools: ToolsNone}, nil
	}
	t, err := Parse(src)
	if err == nil {
		tags, thinks := TemplateThinkTags(src)
		return &Renderer{tmpl: t, tools: DetectToolFormat(src), mentionsTools: strings.Contains(src, "tools"), src: src,
			functools: strings.Contains(src, functoolsMarker), thinks: thinks, thinkTags: tags}, nil
	}
	f, derr := Detect(src)
	if derr != nil {
		return nil, fmt.Errorf("%w; no built-in format matches it: %v", err, derr)
	}
	return &Renderer{format: f, parseErr: err, tools: ToolsNone}, nil
}

// NewBuiltin returns a renderer for a named built-in format (see Formats).
func NewBuiltin(name string) (*Renderer, error) {
	f, ok := lookupFormat(name)
	if !ok {
		return nil, fmt.Errorf("unknown chat format %q (known: %s)", name, strings.Join(FormatNames(), ", "))
	}
	return &Renderer{format: f, tools: ToolsNone}, nil
}

// Kind says what renders: "jinja" or the built-in format's name.
func (r *Renderer) Kind() string {
	if r.tmpl != nil {
		return "jinja"
	}
	return string(r.format)
}

// Source is the Jinja template that renders ("" when a built-in format
// does).
func (r *Renderer) Source() string { return r.src }

// ToolFormat is how the model writes tool calls, as its template shows;
// ToolsNone when the renderer cannot render tools.
func (r *Renderer) ToolFormat() ToolFormat { return r.tools }

// RendersTools says whether Render accepts Options.Tools: only a Jinja
// template that mentions tools shows them to the model.
func (r *Renderer) RendersTools() bool { return r.tmpl != nil && r.mentionsTools }

// ShowsThinking says whether the template is a reasoning model's, one
// that writes <think>…</think>.
func (r *Renderer) ShowsThinking() bool { return r.thinks }

// ThinkTags are the tags the template frames the thinking with
// (<think>…</think> unless it is Gemma 4's).
func (r *Renderer) ThinkTags() ThinkTags {
	if r.thinkTags.Open == "" {
		return DefaultThinkTags
	}
	return r.thinkTags
}

// FallbackReason is the parse error that made New choose a built-in, or nil.
func (r *Renderer) FallbackReason() error { return r.parseErr }

// Render formats msgs into the prompt text.
func (r *Renderer) Render(msgs []Message, o Options) (string, error) {
	if r.tmpl == nil {
		if len(o.Tools) > 0 {
			return "", fmt.Errorf("%w: the built-in %s format cannot show tools to the model; give a Jinja chat template that renders them", ErrToolsUnsupported, r.format)
		}
		return renderBuiltin(r.format, msgs, o.AddGenerationPrompt)
	}
	if len(o.Tools) > 0 && !r.mentionsTools {
		return "", fmt.Errorf("%w: the chat template never reads the tools variable", ErrToolsUnsupported)
	}
	vars := make(map[string]any, len(o.Vars)+4)
	for k, v := range o.Vars {
		vars[k] = v
	}
	vars["messages"] = msgs
	vars["add_generation_prompt"] = o.AddGenerationPrompt
	vars["bos_token"] = o.BOSToken
	vars["eos_token"] = o.EOSToken
	if len(o.Tools) > 0 {
		vars["tools"] = o.Tools
	}
	if r.functools {
		r.functoolsVars(vars, o)
	}
	out, err := r.tmpl.Execute(vars)
	var raised *RaiseError
	if err != nil && errors.As(err, &raised) && len(msgs) > 1 && msgs[0].Role == "system" && msgs[1].Role == "user" {
		// A template that refuses a system turn (Gemma's): its text goes
		// before the first user turn's, as llama.cpp does for templates
		// without a system role.
		merged := append([]Message{msgs[1]}, msgs[2:]...)
		merged[0].Content = msgs[0].Content + "\n\n" + msgs[1].Content
		vars["messages"] = merged
		if out2, err2 := r.tmpl.Execute(vars); err2 == nil {
			return out2, nil
		}
		vars["messages"] = msgs
	}
	if err == nil || !hasObjectArgs(msgs) {
		return out, err
	}
	// Calls' arguments go to templates as objects (most write them with
	// tojson); a template that adds them to strings (functionary's) fails
	// on that, so it gets the JSON text, as llama.cpp's capability probe
	// decides.
	raw := make([]Message, len(msgs))
	for i, m := range msgs {
		m.rawArgs = true
		raw[i] = m
	}
	vars["messages"] = raw
	if out2, err2 := r.tmpl.Execute(vars); err2 == nil {
		return out2, nil
	}
	return out, err
}

// functoolsMarker opens FireFunction v2's calls; its template is told
// apart by it.
const functoolsMarker = "functools["

// functoolsVars sets what FireFunction v2's template reads besides the
// usual variables, as llama.cpp does: functions, the tools as indented
// JSON text ("" without tools), and datetime, the time now in UTC. Values
// the caller gave in Options.Vars are kept.
func (r *Renderer) functoolsVars(vars map[string]any, o Options) {
	if _, ok := o.Vars["functions"]; !ok {
		var fn bytes.Buffer
		if len(o.Tools) > 0 && json.Indent(&fn, o.Tools, "", "  ") != nil {
			fn.Reset()
			fn.Write(o.Tools) // not JSON after all: the text as given
		}
		vars["functions"] = fn.String()
	}
	if _, ok := o.Vars["datetime"]; !ok {
		vars["datetime"] = time.Now().UTC().Format("Jan 02 2006 15:04:05 GMT")
	}
}

// hasObjectArgs reports whether a call in msgs has arguments that go to a
// template as an object.
func hasObjectArgs(msgs []Message) bool {
	for _, m := range msgs {
		for _, c := range m.ToolCalls {
			if a, err := decodeJSON([]byte(c.Arguments)); err == nil {
				if _, ok := a.(*dict); ok {
					return true
				}
			}
		}
	}
	return false
}
