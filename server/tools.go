package server

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/nuri-ai/nuri/chat"
	"github.com/nuri-ai/nuri/sample"
)

// maxTools is OpenAI's limit on a request's tools list.
const maxTools = 128

// toolNameRE is OpenAI's rule for function names.
var toolNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// toolIn is one entry of a request's tools list, read for checking; the
// list itself goes to the template as the client wrote it.
type toolIn struct {
	Type     string `json:"type"`
	Function *struct {
		Name       string          `json:"name"`
		Parameters json.RawMessage `json:"parameters"`
		Strict     bool            `json:"strict"`
	} `json:"function"`
}

// toolDecl is what a forced call needs of a tool.
type toolDecl struct {
	params json.RawMessage // its parameters schema; empty: none
	strict bool
}

// toolCallIn is a call in an assistant message of the history.
type toolCallIn struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string          `json:"name"`
		Arguments json.RawMessage `json:"arguments"`
	} `json:"function"`
}

// toolCallOut is a call in a response; Index is set in stream deltas.
type toolCallOut struct {
	Index    *int         `json:"index,omitempty"`
	ID       string       `json:"id"`
	Type     string       `json:"type"`
	Function toolFunction `json:"function"`
}

type toolFunction struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

// toolSetup is what a chat request's tools and tool_choice come to.
type toolSetup struct {
	render chat.JSON       // the tools the template shows; nil for none
	format chat.ToolFormat // how replies are parsed; "" for not at all
	prefix string          // forced start of the reply (tool_choice required or named)
	limit  int             // the most calls a reply gives: 1 with parallel_tool_calls false, 0 for any number
	// constraint (tool_choice required or named) keeps the rest of the
	// forced call to its JSON and closing marker.
	constraint func() sample.Constraint
	// held (tool_choice auto) is the schema of a call the model opens on
	// its own with the format's Trigger: applied lazily (lazyCalls).
	held *sample.JSONSchema
	// legacy: the request gave the deprecated functions: a reply's call
	// comes back as function_call, finishing "function_call".
	legacy bool
}

// readTools checks a tools list and returns it as the template should see
// it, or nil for none. Names must be unique: a reply's call is matched to
// its tool by name.
func readTools(raw json.RawMessage) (chat.JSON, map[string]toolDecl, error) {
	if !present(raw) {
		return nil, nil, nil
	}
	var tools []toolIn
	if err := json.Unmarshal(raw, &tools); err != nil {
		return nil, nil, invalidParam("tools", "tools must be a list of {\"type\": \"function\", \"function\": {...}} objects: %v", err)
	}
	if len(tools) == 0 {
		return nil, nil, nil
	}
	if len(tools) > maxTools {
		return nil, nil, invalidParam("tools", "at most %d tools may be given, got %d", maxTools, len(tools))
	}
	names := make(map[string]toolDecl, len(tools))
	for i, t := range tools {
		param := fmt.Sprintf("tools[%d]", i)
		if t.Type != "function" {
			return nil, nil, invalidParam(param+".type", "tool %d has type %q: only \"function\" tools are supported", i, t.Type)
		}
		if t.Function == nil {
			return nil, nil, invalidParam(param+".function", "tool %d has no function", i)
		}
		if !toolNameRE.MatchString(t.Function.Name) {
			return nil, nil, invalidParam(param+".function.name", "function name %q must be 1 to 64 letters, digits, underscores or dashes", t.Function.Name)
		}
		if _, twice := names[t.Function.Name]; twice {
			return nil, nil, invalidParam(param+".function.name", "function %q is given twice", t.Function.Name)
		}
		p := bytes.TrimSpace(t.Function.Parameters)
		if bytes.Equal(p, []byte("null")) {
			p = nil
		}
		if len(p) > 0 && p[0] != '{' {
			return nil, nil, invalidParam(param+".function.parameters", "the parameters of %q must be a JSON Schema object", t.Function.Name)
		}
		names[t.Function.Name] = toolDecl{params: p, strict: t.Function.Strict}
	}
	return chat.JSON(bytes.TrimSpace(raw)), names, nil
}

// toolsOf applies tools, tool_choice and parallel_tool_calls. Without
// tools, tool_choice may only be "none" or "auto". With tool_choice
// "none" the tools are not shown to the model at all, so it cannot write
// a call that would come back as text.
func (b *Backend) toolsOf(req *chatRequest) (toolSetup, error) {
	var ts toolSetup
	if present(req.Functions) || present(req.FunctionCall) {
		if err := legacyFunctions(req); err != nil {
			return ts, err
		}
		ts.legacy = present(req.Functions)
	}
	tools, names, err := readTools(req.Tools)
	if err != nil {
		return ts, err
	}
	choice, name, err := readToolChoice(req.ToolChoice)
	if err != nil {
		return ts, err
	}
	switch {
	case tools == nil && (choice == "required" || choice == "function"):
		return ts, invalidParam("tool_choice", "tool_choice %q needs tools", choice)
	case tools == nil || choice == "none":
		return ts, nil
	}
	if _, ok := names[name]; choice == "function" && !ok {
		return ts, invalidParam("tool_choice", "tool_choice names function %q, which is not among the tools", name)
	}
	if !b.Chat.RendersTools() {
		return ts, &apiError{err: ErrNotSupported, param: "tools", msg: fmt.Sprintf("this model's chat template (%s) does not show tools to the model: start the server with --chat-template-file giving a template that renders them", b.Chat.Kind())}
	}
	ts.format = b.toolFormat()
	if ts.format == chat.ToolsNone {
		return ts, &apiError{err: ErrNotSupported, param: "tools", msg: "this model's tool-call format is not recognised from its chat template: start the server with --tool-parser " + strings.Join(slices.DeleteFunc(chat.ToolFormatNames(), func(n string) bool { return n == string(chat.ToolsNone) }), ", ") + " if the model writes one of those"}
	}
	ts.render = tools
	if choice == "required" && len(names) == 1 {
		// One tool: "required" names it, and its schema holds.
		for n := range names {
			choice, name = "function", n
		}
	}
	if choice == "required" || choice == "function" {
		ts.prefix = ts.format.ForcedPrefix(name)
		var schema *sample.JSONSchema
		if (name != "" && ts.format.JSONArgs()) || ts.format.JSONCalls() {
			// (A format whose calls are not JSON objects can only hold a
			// named call's arguments, and one whose arguments are not JSON
			// (Gemma 4) neither; "required" forces its opening.)
			if schema, err = b.forcedCallSchema(ts.format, names, name); err != nil {
				return ts, err
			}
		}
		if schema != nil {
			vocab, suffix := b.vocab(), ts.format.CallSuffix(name)
			ts.constraint = func() sample.Constraint { return schema.ConstraintThen(vocab, suffix) }
		}
	}
	if choice == "auto" && ts.format.Trigger() != "" && !b.FreeToolCalls {
		held, err := b.forcedCallSchema(ts.format, names, "")
		if err != nil {
			return ts, err
		}
		if held == nil {
			// Too many tools for the name's enum: any name, any object.
			if held, err = sample.CompileJSONSchema([]byte(anyCallSchema(ts.format))); err != nil {
				return ts, fmt.Errorf("tool call schema: %w", err)
			}
		}
		ts.held = held
	}
	if req.ParallelToolCalls != nil && !*req.ParallelToolCalls {
		ts.limit = 1
	}
	if req.maxCalls > 0 && (ts.limit == 0 || req.maxCalls < ts.limit) {
		ts.limit = req.maxCalls
	}
	return ts, nil
}

// legacyFunctions reads OpenAI's deprecated functions API as tools:
// functions [{name, description, parameters}] are function tools, and
// function_call ("none", "auto" or {"name": N}) is tool_choice. A reply
// makes at most one call, as the API's message has one function_call.
func legacyFunctions(req *chatRequest) error {
	if present(req.Functions) {
		if present(req.Tools) {
			return invalidParam("functions", "give tools or the deprecated functions, not both")
		}
		var fns []json.RawMessage
		if err := json.Unmarshal(req.Functions, &fns); err != nil {
			return invalidParam("functions", "functions must be a list of {\"name\", \"description\", \"parameters\"} objects: %v", err)
		}
		// Written out, not marshalled from a map, so the template shows
		// each as tools are written: "type" first.
		var tools bytes.Buffer
		tools.WriteByte('[')
		for i, f := range fns {
			f = bytes.TrimSpace(f)
			if len(f) == 0 || f[0] != '{' {
				return invalidParam(fmt.Sprintf("functions[%d]", i), "function %d must be an object", i)
			}
			if i > 0 {
				tools.WriteString(", ")
			}
			tools.WriteString(`{"type": "function", "function": `)
			tools.Write(f)
			tools.WriteByte('}')
		}
		tools.WriteByte(']')
		req.Tools = tools.Bytes()
		one := false
		req.ParallelToolCalls = &one
	}
	if !present(req.FunctionCall) {
		return nil
	}
	if present(req.ToolChoice) {
		return invalidParam("function_call", "give tool_choice or the deprecated function_call, not both")
	}
	var mode string
	var named struct {
		Name string `json:"name"`
	}
	switch {
	case json.Unmarshal(req.FunctionCall, &mode) == nil && (mode == "none" || mode == "auto"):
		req.ToolChoice = req.FunctionCall
	case json.Unmarshal(req.FunctionCall, &named) == nil && named.Name != "":
		raw, err := json.Marshal(map[string]any{"type": "function", "function": map[string]string{"name": named.Name}})
		if err != nil {
			return fmt.Errorf("function_call as tool_choice: %w", err)
		}
		req.ToolChoice = raw
	default:
		return invalidParam("function_call", "function_call must be \"none\", \"auto\" or {\"name\": ...}")
	}
	return nil
}

// legacyCall is a reply's first call as the deprecated functions API
// returns it.
func legacyCall(calls []chat.ToolCall) *toolFunction {
	f := callsOut(calls[:1], false, 0)[0].Function
	return &f
}

// anyCallSchema is a call object with a name and an arguments object.
func anyCallSchema(f chat.ToolFormat) string {
	return `{"type": "object", "properties": {"name": {"type": "string", "minLength": 1}, "` + f.ArgsKey() +
		`": {"type": "object"}}, "required": ["name", "` + f.ArgsKey() + `"], "additionalProperties": false}`
}

// lazyCalls is the constraint of a reply under tool_choice "auto": free,
// but each call the model opens is held to held and closed by the
// format's marker; with parallel_tool_calls false the reply ends there. markers are markerTexts; thinking, tags and open are as for
// sample.Trigger.
func (b *Backend) lazyCalls(ts toolSetup, markers map[int32]string, thinking bool, tags sample.ThinkTags, open bool) func() sample.Constraint {
	vocab, held, suffix := b.vocab(), ts.held, ts.format.CallSuffix("")
	tr := sample.Trigger{Text: ts.format.Trigger(), Markers: markers, Thinking: thinking, ThinkTags: tags, Open: open, Once: ts.limit == 1}
	call := func() sample.Constraint { return held.ConstraintThen(vocab, suffix) }
	return func() sample.Constraint { return sample.Triggered(vocab, tr, call) }
}

// forcedCallSchema is what follows a forced call's prefix: the named
// function's arguments under its parameters schema, or, for "required",
// a call object naming one of the tools with the arguments that tool's
// schema accepts. nil (the prefix alone forces the call) when the tools
// are more than one enum may list.
func (b *Backend) forcedCallSchema(f chat.ToolFormat, tools map[string]toolDecl, name string) (*sample.JSONSchema, error) {
	if name != "" {
		return argsSchema(name, tools[name])
	}
	if len(tools) > maxDispatchTools {
		return nil, nil
	}
	names := make([]string, 0, len(tools))
	for n := range tools {
		names = append(names, n)
	}
	sort.Strings(names)
	params := make([]*sample.JSONSchema, len(names))
	for i, n := range names {
		s, err := argsSchema(n, tools[n])
		if err != nil {
			return nil, err
		}
		params[i] = s
	}
	s, err := sample.CompileCallSchema(f.ArgsKey(), names, params)
	if err != nil {
		return nil, fmt.Errorf("tool call schema: %w", err)
	}
	return s, nil
}

// maxDispatchTools is how many tools a "required" call's name can be
// held to (the recognizer's enum bound).
const maxDispatchTools = 64

// argsSchema is a function's arguments schema. One the recognizer cannot
// enforce is loosened to any object, as OpenAI does for functions that
// are not strict; a strict one is refused. No parameters means {}.
func argsSchema(name string, t toolDecl) (*sample.JSONSchema, error) {
	params := t.params
	if len(params) == 0 {
		params = []byte(`{"type": "object", "additionalProperties": false}`)
	}
	s, err := sample.CompileJSONSchema(params)
	if err == nil {
		return s, nil
	}
	if t.strict {
		return nil, &apiError{err: ErrNotSupported, param: "tools", msg: fmt.Sprintf("the parameters of strict function %q cannot be enforced: %v", name, err)}
	}
	return sample.CompileJSONSchema([]byte(`{"type": "object"}`))
}

// toolFormat is the format replies are parsed in: the server's setting,
// else what the template shows.
func (b *Backend) toolFormat() chat.ToolFormat {
	if b.ToolFormat != "" {
		return b.ToolFormat
	}
	return b.Chat.ToolFormat()
}

// readToolChoice returns "none", "auto", "required", or "function" with
// the function's name.
func readToolChoice(raw json.RawMessage) (string, string, error) {
	if !present(raw) {
		return "auto", "", nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		switch s {
		case "none", "auto", "required":
			return s, "", nil
		}
		return "", "", invalidParam("tool_choice", "tool_choice must be \"none\", \"auto\", \"required\" or {\"type\": \"function\", \"function\": {\"name\": ...}}, got %q", s)
	}
	var o struct {
		Type     string `json:"type"`
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	if err := json.Unmarshal(raw, &o); err != nil || o.Type != "function" || o.Function.Name == "" {
		return "", "", invalidParam("tool_choice", "tool_choice must be \"none\", \"auto\", \"required\" or {\"type\": \"function\", \"function\": {\"name\": ...}}")
	}
	return "function", o.Function.Name, nil
}

// historyCalls converts an assistant message's calls. Arguments are JSON
// text, as OpenAI sends them; an object is accepted too and written out.
func historyCalls(in []toolCallIn, param string) ([]chat.ToolCall, error) {
	out := make([]chat.ToolCall, len(in))
	for i, c := range in {
		p := fmt.Sprintf("%s.tool_calls[%d]", param, i)
		if c.Type != "" && c.Type != "function" {
			return nil, invalidParam(p+".type", "tool call %d has type %q: only \"function\" calls are supported", i, c.Type)
		}
		if c.Function.Name == "" {
			return nil, invalidParam(p+".function.name", "tool call %d has no function name", i)
		}
		args := bytes.TrimSpace(c.Function.Arguments)
		var text string
		switch {
		case len(args) == 0 || bytes.Equal(args, []byte("null")):
			text = "{}"
		case args[0] == '"':
			if err := json.Unmarshal(args, &text); err != nil {
				return nil, invalidParam(p+".function.arguments", "bad arguments: %v", err)
			}
		case args[0] == '{':
			text = string(args)
		default:
			return nil, invalidParam(p+".function.arguments", "arguments must be a JSON string (or an object)")
		}
		out[i] = chat.ToolCall{ID: c.ID, Name: c.Function.Name, Arguments: text}
	}
	return out, nil
}

// markerTexts maps each token that is, alone, one of the markers to that
// marker: the engine must emit their text even if the vocabulary calls
// them control (Request.ShowTokens), and a lazy constraint reads them as
// that text.
func markerTexts(tok Tokenizer, markers []string) map[int32]string {
	texts := make(map[int32]string, len(markers))
	for _, m := range markers {
		if t, err := tok.Encode(m, false, true); err == nil && len(t) == 1 {
			texts[t[0]] = m
		}
	}
	return texts
}

// callsOut gives parsed calls their ids; index is set for stream deltas,
// counting from first.
func callsOut(calls []chat.ToolCall, stream bool, first int) []toolCallOut {
	out := make([]toolCallOut, len(calls))
	for i, c := range calls {
		id := c.ID // the model's own (Solar Open writes one), else ours
		if id == "" {
			id = newCallID()
		}
		out[i] = toolCallOut{ID: id, Type: "function", Function: toolFunction{Name: c.Name, Arguments: c.Arguments}}
		if stream {
			idx := first + i
			out[i].Index = &idx
		}
	}
	return out
}

// newCallID is a call id in OpenAI's form: "call_" and 24 random
// characters.
func newCallID() string {
	return "call_" + randomID("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 24)
}

// randomID is n characters drawn from chars (crypto/rand: ids that name
// a client's calls and kept responses must not be guessable).
func randomID(chars string, n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	for i := range b {
		b[i] = chars[int(b[i])%len(chars)]
	}
	return string(b)
}
