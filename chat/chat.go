package chat

import (
	"errors"
	"fmt"
	"strings"
)

// Message is one conversation turn.
type Message struct {
	Role    string // system, user, assistant (tool for EXAONE 4)
	Content string
}

func (m Message) toDict() *dict {
	d := newDict()
	d.set("role", m.Role)
	d.set("content", m.Content)
	return d
}

// Options are the variables a chat template sees besides the messages.
type Options struct {
	AddGenerationPrompt bool
	BOSToken, EOSToken  string         // the tokenizer's special-token texts
	Vars                map[string]any // extra variables, e.g. "enable_thinking": false
}

// Template is a parsed Jinja chat template. It is immutable and safe for
// concurrent use.
type Template struct {
	root []node
}

// Parse compiles Jinja source. Unknown filters and tests, unknown
// statements and unclosed blocks are errors here, not at render time.
func Parse(src string) (*Template, error) {
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
	parseErr error // why the Jinja template was not used, if it was not
}

// New picks the renderer for a GGUF's tokenizer.chat_template. An empty
// template means ChatML (as llama.cpp). A template that does not parse is
// replaced by the built-in its markers identify (MODEL_SPEC.md §5.2); when
// none matches, the parse error is returned.
func New(src string) (*Renderer, error) {
	if strings.TrimSpace(src) == "" {
		return &Renderer{format: FormatChatML}, nil
	}
	t, err := Parse(src)
	if err == nil {
		return &Renderer{tmpl: t}, nil
	}
	f, derr := Detect(src)
	if derr != nil {
		return nil, fmt.Errorf("%w; no built-in format matches it: %v", err, derr)
	}
	return &Renderer{format: f, parseErr: err}, nil
}

// NewBuiltin returns a renderer for a named built-in format (see Formats).
func NewBuiltin(name string) (*Renderer, error) {
	f, ok := lookupFormat(name)
	if !ok {
		return nil, fmt.Errorf("unknown chat format %q (known: %s)", name, strings.Join(FormatNames(), ", "))
	}
	return &Renderer{format: f}, nil
}

// Kind says what renders: "jinja" or the built-in format's name.
func (r *Renderer) Kind() string {
	if r.tmpl != nil {
		return "jinja"
	}
	return string(r.format)
}

// FallbackReason is the parse error that made New choose a built-in, or nil.
func (r *Renderer) FallbackReason() error { return r.parseErr }

// Render formats msgs into the prompt text.
func (r *Renderer) Render(msgs []Message, o Options) (string, error) {
	if r.tmpl == nil {
		return renderBuiltin(r.format, msgs, o.AddGenerationPrompt)
	}
	vars := make(map[string]any, len(o.Vars)+4)
	for k, v := range o.Vars {
		vars[k] = v
	}
	vars["messages"] = msgs
	vars["add_generation_prompt"] = o.AddGenerationPrompt
	vars["bos_token"] = o.BOSToken
	vars["eos_token"] = o.EOSToken
	return r.tmpl.Execute(vars)
}
