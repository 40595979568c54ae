package chat

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
)

// ToolCall is one function call an assistant turn makes.
type ToolCall struct {
	// ID is the client's id in a conversation's history; from the parser,
	// the id the model wrote (Solar Open writes one), else empty.
	ID        string
	Name      string
	Arguments string // JSON text, as OpenAI's API carries it
}

// ToolFormat names how a model family writes its tool calls.
type ToolFormat string

const (
	// ToolsNone: the model's calls are not parsed; tools are refused.
	ToolsNone ToolFormat = "none"
	// ToolsHermes: <tool_call>{"name": ..., "arguments": {...}}</tool_call>,
	// one block a call (Qwen 2.5 and 3, A.X 4, Hermes, and any template
	// that writes <tool_call>).
	ToolsHermes ToolFormat = "hermes"
	// ToolsLlama3: the whole reply is {"name": ..., "parameters": {...}},
	// several joined by ";" (Llama 3.1-3.3 and models built on them).
	ToolsLlama3 ToolFormat = "llama3"
	// ToolsSolar: <|tool_call:begin|>ID<|tool_call:name|>NAME
	// <|tool_call:args|>{...}<|tool_call:end|>, the model writing a
	// 10-character id of its own (Upstage's Solar Open).
	ToolsSolar ToolFormat = "solar"
	// ToolsGemma4: <|tool_call>call:NAME{key:value,…}<tool_call|>, the
	// arguments in Gemma 4's own notation (keys bare, strings between
	// <|"|> marks), given back as JSON.
	ToolsGemma4 ToolFormat = "gemma4"
	// ToolsMistral: [TOOL_CALLS]NAME[ARGS]{...} (Ministral 3, Magistral;
	// Mistral Small 3.2 writes [CALL_ID]ID before [ARGS]), one after
	// another, nothing closing a call but its JSON's end.
	ToolsMistral ToolFormat = "mistral"
)

// ErrToolsUnsupported is returned when a conversation with tools meets a
// renderer that cannot show them to the model.
var ErrToolsUnsupported = errors.New("tools are not supported")

// ToolFormatNames lists the names ParseToolFormat accepts.
func ToolFormatNames() []string {
	return []string{string(ToolsHermes), string(ToolsLlama3), string(ToolsSolar), string(ToolsGemma4), string(ToolsMistral), string(ToolsNone)}
}

// ParseToolFormat reads a tool-call format's name.
func ParseToolFormat(name string) (ToolFormat, error) {
	switch f := ToolFormat(strings.ToLower(name)); f {
	case ToolsHermes, ToolsLlama3, ToolsSolar, ToolsGemma4, ToolsMistral, ToolsNone:
		return f, nil
	}
	return "", fmt.Errorf("unknown tool-call format %q (known: %s)", name, strings.Join(ToolFormatNames(), ", "))
}

// DetectToolFormat reads a Jinja chat template's tool-call format from the
// markers its tool branch writes, as vLLM's per-family parsers are chosen
// by hand. A template that never mentions tools has none.
func DetectToolFormat(src string) ToolFormat {
	switch {
	case !strings.Contains(src, "tools"):
		return ToolsNone
	case strings.Contains(src, solarOpen):
		return ToolsSolar
	case strings.Contains(src, gemma4Open):
		return ToolsGemma4
	case strings.Contains(src, mistralCalls) && strings.Contains(src, mistralArgs):
		return ToolsMistral
	case strings.Contains(src, functoolsMarker):
		// FireFunction v2's functools[...] calls are not parsed.
		return ToolsNone
	case strings.Contains(src, hermesOpen):
		return ToolsHermes
	case strings.Contains(src, "<|start_header_id|>"):
		return ToolsLlama3
	}
	return ToolsNone
}

const (
	hermesOpen   = "<tool_call>"
	hermesClose  = "</tool_call>"
	pythonTag    = "<|python_tag|>"
	solarOpen    = "<|tool_call:begin|>"
	solarName    = "<|tool_call:name|>"
	solarArgs    = "<|tool_call:args|>"
	solarClose   = "<|tool_call:end|>"
	gemma4Open   = "<|tool_call>"
	gemma4Close  = "<tool_call|>"
	gemma4Call   = "call:"
	gemma4Quote  = `<|"|>`
	mistralCalls = "[TOOL_CALLS]"
	mistralArgs  = "[ARGS]"
	mistralID    = "[CALL_ID]"
)

// ForcedPrefix is the text that, appended to the prompt, starts the reply
// as a call: to the named function (up to its arguments object), or to
// any when name is empty (up to the call's JSON object). The parser must
// be fed it before the reply. CallSuffix is what closes such a call once
// the JSON that follows the prefix is written.
func (f ToolFormat) ForcedPrefix(name string) string {
	q, _ := json.Marshal(name)
	switch f {
	case ToolsHermes:
		if name == "" {
			return hermesOpen + "\n"
		}
		return hermesOpen + "\n" + `{"name": ` + string(q) + `, "` + f.ArgsKey() + `": `
	case ToolsLlama3:
		if name == "" {
			return ""
		}
		return `{"name": ` + string(q) + `, "` + f.ArgsKey() + `": `
	case ToolsSolar:
		// The model writes its own id and the rest; a named call is ours
		// up to its arguments.
		if name == "" {
			return solarOpen
		}
		return solarOpen + SolarCallID() + solarName + name + solarArgs
	case ToolsGemma4:
		// The model writes the arguments (or the name and them) in its
		// own notation.
		return gemma4Open + gemma4Call + name
	case ToolsMistral:
		if name == "" {
			return mistralCalls
		}
		return mistralCalls + name + mistralArgs
	}
	return ""
}

// SolarCallID is a call id as Solar Open's template asks its model for:
// 10 lowercase letters and digits (random; not a secret).
func SolarCallID() string {
	const chars = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 10)
	for i := range b {
		b[i] = chars[rand.IntN(len(chars))]
	}
	return string(b)
}

// JSONCalls reports whether the format's calls are JSON call objects
// ({"name": ..., "arguments": {...}}), which a schema can hold whole;
// Solar Open's are not (only a named call's arguments can be held).
func (f ToolFormat) JSONCalls() bool { return f == ToolsHermes || f == ToolsLlama3 }

// JSONArgs reports whether a call's arguments are a JSON object, which a
// named call's parameters schema can hold; Gemma 4's are not JSON.
func (f ToolFormat) JSONArgs() bool { return f != ToolsGemma4 }

// CallSuffix closes a call begun with ForcedPrefix(name) once the JSON
// after the prefix (the arguments, or the whole call) is written.
func (f ToolFormat) CallSuffix(name string) string {
	switch f {
	case ToolsSolar:
		return solarClose
	case ToolsGemma4:
		return gemma4Close
	case ToolsMistral:
		return "" // the arguments' end ends the call
	}
	close := ""
	if f == ToolsHermes {
		close = "\n" + hermesClose
	}
	if name != "" {
		return "}" + close
	}
	return close
}

// Trigger is the text that opens a call the model writes on its own:
// from it on, the call can be held to the tools' schemas (a lazy
// constraint), and CallSuffix("") closes it. Empty when the format has
// no opening marker (llama3's calls are the reply itself).
func (f ToolFormat) Trigger() string {
	if f == ToolsHermes {
		return hermesOpen
	}
	return ""
}

// ArgsKey is the key of a call's arguments object.
func (f ToolFormat) ArgsKey() string {
	if f == ToolsLlama3 {
		return "parameters"
	}
	return "arguments"
}

// Markers are the texts that frame this format's calls. When a vocabulary
// has them as control tokens, their text must still reach the parser.
func (f ToolFormat) Markers() []string {
	switch f {
	case ToolsHermes:
		return []string{hermesOpen, hermesClose}
	case ToolsLlama3:
		return []string{pythonTag}
	case ToolsSolar:
		return []string{solarOpen, solarName, solarArgs, solarClose}
	case ToolsGemma4:
		return []string{gemma4Open, gemma4Close, gemma4Quote}
	case ToolsMistral:
		return []string{mistralCalls, mistralArgs, mistralID}
	}
	return nil
}

// ToolParser splits a reply, as it streams, into content and tool calls.
// Text that might begin a call is held back until it is known not to; a
// call is given whole once its closing marker (or the reply's end) is
// seen. Text that looks like a call but does not parse as one is given
// back as content, so nothing the model wrote is lost. Whitespace between
// content and calls is dropped, and so is the content's trailing
// whitespace when the reply made calls.
type ToolParser struct {
	f       ToolFormat
	pending string    // text not yet classified
	inCall  bool      // hermes, solar: inside a call's markers
	space   spaceTrim // content's whitespace next to calls
	calls   int
	// llama3: 0 undecided, 1 the reply is JSON calls, 2 it is content
	mode int
}

// NewToolParser returns a parser for replies in format f.
func NewToolParser(f ToolFormat) *ToolParser { return &ToolParser{f: f} }

// Calls is how many calls the parser has given so far.
func (p *ToolParser) Calls() int { return p.calls }

// Push takes the next piece of the reply and returns the content and the
// calls it completes.
func (p *ToolParser) Push(text string) (string, []ToolCall) { return p.step(text, false) }

// Finish ends the reply and returns what was held back.
func (p *ToolParser) Finish() (string, []ToolCall) { return p.step("", true) }

func (p *ToolParser) step(text string, final bool) (string, []ToolCall) {
	p.pending += text
	var out strings.Builder
	var calls []ToolCall
	switch p.f {
	case ToolsHermes:
		calls = p.framed(&out, final, hermesOpen, hermesClose, parseHermesCall)
	case ToolsLlama3:
		calls = p.llama3(&out, final)
	case ToolsSolar:
		calls = p.framed(&out, final, solarOpen, solarClose, parseSolarCall)
	case ToolsGemma4:
		calls = p.framed(&out, final, gemma4Open, gemma4Close, parseGemma4Call)
	case ToolsMistral:
		calls = p.mistral(&out, final)
	default:
		p.content(&out, p.pending)
		p.pending = ""
	}
	if final {
		if p.calls == 0 { // trailing whitespace is content's only without calls
			out.WriteString(p.space.held)
		}
		p.space.held = ""
	}
	return out.String(), calls
}

// content gives s as content.
func (p *ToolParser) content(out *strings.Builder, s string) { p.space.write(out, s) }

func (p *ToolParser) call(c ToolCall, calls []ToolCall) []ToolCall {
	p.calls++
	p.space.held = ""   // whitespace between content and a call is not content
	p.space.lead = true // nor is the whitespace after it
	return append(calls, c)
}

// framed reads calls that open and close with markers (Hermes'
// <tool_call>, Solar Open's <|tool_call:begin|>); parse reads a call's
// body, and jsonPart says where in a body its JSON begins (so that a
// closing marker inside a JSON string does not close the call).
func (p *ToolParser) framed(out *strings.Builder, final bool, open, close string, parse callReader) []ToolCall {
	var calls []ToolCall
	for {
		if !p.inCall && !p.openCall(out, final, open) {
			return calls
		}
		body, rest, closed := cutCall(p.pending, close, parse.jsonFrom)
		if !closed && !final {
			return calls
		}
		p.pending, p.inCall = rest, false
		if c, err := parse.read(body); err == nil {
			calls = p.call(c, calls)
			continue
		}
		raw := open + body
		if closed {
			raw += close
		}
		p.content(out, raw)
	}
}

// openCall gives the content before the next call's opening marker and
// steps past the marker (true), or, with none, gives the content but any
// end that may yet begin one (false).
func (p *ToolParser) openCall(out *strings.Builder, final bool, open string) bool {
	if i := strings.Index(p.pending, open); i >= 0 {
		p.content(out, p.pending[:i])
		p.pending, p.inCall = p.pending[i+len(open):], true
		return true
	}
	keep := 0
	if !final {
		keep = partialSuffix(p.pending, open)
	}
	p.content(out, p.pending[:len(p.pending)-keep])
	p.pending = p.pending[len(p.pending)-keep:]
	return false
}

// callReader reads one framed call's body.
type callReader struct {
	read     func(body string) (ToolCall, error)
	jsonFrom func(body string) int // where the body's JSON starts
}

// parseHermesCall: the body is the call object.
var parseHermesCall = callReader{
	read:     func(body string) (ToolCall, error) { return parseCall(body, "arguments") },
	jsonFrom: func(string) int { return 0 },
}

// parseSolarCall: ID<|tool_call:name|>NAME<|tool_call:args|>{...}.
var parseSolarCall = callReader{
	read: func(body string) (ToolCall, error) {
		id, rest, ok1 := strings.Cut(body, solarName)
		name, args, ok2 := strings.Cut(rest, solarArgs)
		name = strings.TrimSpace(name)
		if !ok1 || !ok2 || name == "" {
			return ToolCall{}, fmt.Errorf("tool call: not id%sname%sarguments", solarName, solarArgs)
		}
		c := ToolCall{ID: strings.TrimSpace(id), Name: name}
		a, err := callArguments(json.RawMessage(strings.TrimSpace(args)), true)
		if err != nil {
			return ToolCall{}, err
		}
		c.Arguments = a
		return c, nil
	},
	jsonFrom: func(body string) int {
		if i := strings.Index(body, solarArgs); i >= 0 {
			return i + len(solarArgs)
		}
		return len(body)
	},
}

func (p *ToolParser) llama3(out *strings.Builder, final bool) []ToolCall {
	if p.mode == 0 {
		s := strings.TrimLeft(p.pending, " \t\r\n")
		switch {
		case strings.HasPrefix(s, pythonTag):
			p.pending = s[len(pythonTag):]
			return p.llama3(out, final)
		case s == "" || (strings.HasPrefix(pythonTag, s) && !final):
			if !final {
				return nil
			}
			p.mode = 2
		case s[0] == '{':
			p.mode = 1
		default:
			p.mode = 2
		}
	}
	if p.mode == 2 {
		p.content(out, p.pending)
		p.pending = ""
		return nil
	}
	if !final {
		return nil
	}
	calls, err := parseLlama3Calls(p.pending)
	if err != nil {
		p.content(out, p.pending)
		p.pending = ""
		return nil
	}
	p.pending = ""
	var given []ToolCall
	for _, c := range calls {
		given = p.call(c, given)
	}
	return given
}

// parseLlama3Calls reads one or more call objects separated by ";" or
// whitespace, with nothing else around them.
func parseLlama3Calls(s string) ([]ToolCall, error) {
	var calls []ToolCall
	d := json.NewDecoder(strings.NewReader(s))
	for {
		var raw json.RawMessage
		if err := d.Decode(&raw); err != nil {
			return nil, err
		}
		c, err := parseCall(string(raw), "parameters")
		if err != nil {
			return nil, err
		}
		calls = append(calls, c)
		rest := strings.TrimLeft(s[d.InputOffset():], " \t\r\n;")
		if rest == "" {
			return calls, nil
		}
		d = json.NewDecoder(strings.NewReader(rest))
		s = rest
	}
}

// cutCall splits a call's body from what follows its closing marker. A
// marker inside one of the call's JSON strings does not close it: the
// body is cut at the first marker after which it is not a truncated JSON
// value. Without such a marker, closed is false and body is everything.
func cutCall(s, close string, jsonFrom func(string) int) (body, rest string, closed bool) {
	from := 0
	for {
		i := strings.Index(s[from:], close)
		if i < 0 {
			return s, "", false
		}
		i += from
		if j := jsonFrom(s[:i]); j >= i || !truncatedJSON(s[j:i]) {
			return s[:i], s[i+len(close):], true
		}
		from = i + len(close)
	}
}

// truncatedJSON says whether s is the start of a JSON value that has not
// ended: more text could still make it whole.
func truncatedJSON(s string) bool {
	var v any
	err := json.NewDecoder(strings.NewReader(s)).Decode(&v)
	return errors.Is(err, io.ErrUnexpectedEOF)
}

// parseCall reads {"name": ..., argsKey: {...}}; either "arguments" or
// "parameters" is accepted, since models trained on one format drift into
// the other. Arguments given as a JSON string are taken as its text.
func parseCall(body, argsKey string) (ToolCall, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(strings.TrimSpace(body)), &obj); err != nil {
		return ToolCall{}, fmt.Errorf("tool call: %w", err)
	}
	var c ToolCall
	if err := json.Unmarshal(obj["name"], &c.Name); err != nil || c.Name == "" {
		return ToolCall{}, fmt.Errorf("tool call: no function name")
	}
	args, ok := obj[argsKey]
	if !ok {
		other := "parameters"
		if argsKey == other {
			other = "arguments"
		}
		args, ok = obj[other]
	}
	a, err := callArguments(args, ok)
	if err != nil {
		return ToolCall{}, err
	}
	c.Arguments = a
	return c, nil
}

// callArguments is a call's arguments as OpenAI carries them: a JSON
// object compacted, a JSON string's text, "{}" for none or null.
func callArguments(args json.RawMessage, given bool) (string, error) {
	args = bytes.TrimSpace(args)
	switch {
	case !given || len(args) == 0 || bytes.Equal(args, []byte("null")):
		return "{}", nil
	case args[0] == '{':
		var b bytes.Buffer
		if err := json.Compact(&b, args); err != nil {
			return "", fmt.Errorf("tool call arguments: %w", err)
		}
		return b.String(), nil
	case args[0] == '"':
		var a string
		if err := json.Unmarshal(args, &a); err != nil {
			return "", fmt.Errorf("tool call arguments: %w", err)
		}
		return a, nil
	}
	return "", fmt.Errorf("tool call arguments must be an object")
}

// partialSuffix is the length of the longest suffix of s that is a proper
// prefix of marker: text that may yet become the marker.
func partialSuffix(s, marker string) int {
	n := min(len(s), len(marker)-1)
	for ; n > 0; n-- {
		if strings.HasSuffix(s, marker[:n]) {
			return n
		}
	}
	return 0
}
