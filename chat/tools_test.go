package chat

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

type toolCase struct {
	name    string
	in      string
	content string
	calls   []ToolCall
}

var hermesCases = []toolCase{
	{"plain text", "Hello there.\n", "Hello there.\n", nil},
	{"text with a lone angle bracket", "a < b and <tool> is not a call", "a < b and <tool> is not a call", nil},
	{"one call", "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Seoul\", \"unit\": \"c\"}}\n</tool_call>",
		"", []ToolCall{{Name: "get_weather", Arguments: `{"city":"Seoul","unit":"c"}`}}},
	{"content, then two calls", "Let me check.\n\n<tool_call>\n{\"name\": \"a\", \"arguments\": {}}\n</tool_call>\n<tool_call>\n{\"name\": \"b\", \"arguments\": {\"x\": [1, 2.5]}}\n</tool_call>\n",
		"Let me check.", []ToolCall{{Name: "a", Arguments: "{}"}, {Name: "b", Arguments: `{"x":[1,2.5]}`}}},
	{"arguments as a string", `<tool_call>{"name": "f", "arguments": "{\"q\": 1}"}</tool_call>`,
		"", []ToolCall{{Name: "f", Arguments: `{"q": 1}`}}},
	{"parameters instead of arguments, none at all", `<tool_call>{"name": "f", "parameters": {"k": "v"}}</tool_call><tool_call>{"name": "g"}</tool_call>`,
		"", []ToolCall{{Name: "f", Arguments: `{"k":"v"}`}, {Name: "g", Arguments: "{}"}}},
	{"unclosed at the end still parses", "<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": \"한국어\"}}\n",
		"", []ToolCall{{Name: "f", Arguments: `{"a":"한국어"}`}}},
	{"cut mid-call is content", "Sure <tool_call>\n{\"name\": \"f\", \"argu",
		"Sure <tool_call>\n{\"name\": \"f\", \"argu", nil},
	{"malformed call is content", "<tool_call>not json</tool_call> after",
		"<tool_call>not json</tool_call> after", nil},
	{"no name is content", `<tool_call>{"arguments": {}}</tool_call>`, `<tool_call>{"arguments": {}}</tool_call>`, nil},
	{"text after a call", "<tool_call>{\"name\": \"f\", \"arguments\": {}}</tool_call>\n\nDone.", "Done.",
		[]ToolCall{{Name: "f", Arguments: "{}"}}},
	{"marker prefix at the end is content", "x <tool_ca", "x <tool_ca", nil},
	{"a closing marker inside an argument", "<tool_call>\n{\"name\": \"echo\", \"arguments\": {\"s\": \"a </tool_call> b\"}}\n</tool_call>\nok",
		"ok", []ToolCall{{Name: "echo", Arguments: `{"s":"a </tool_call> b"}`}}},
	{"a marker inside a string, the call cut", "<tool_call>{\"name\": \"echo\", \"arguments\": {\"s\": \"</tool_call> b",
		"<tool_call>{\"name\": \"echo\", \"arguments\": {\"s\": \"</tool_call> b", nil},
}

var llama3Cases = []toolCase{
	{"plain text", "  The answer is 4.", "  The answer is 4.", nil},
	{"one call", `{"name": "get_weather", "parameters": {"city": "Busan"}}`, "",
		[]ToolCall{{Name: "get_weather", Arguments: `{"city":"Busan"}`}}},
	{"python tag and two calls", "<|python_tag|>{\"name\": \"a\", \"parameters\": {\"n\": 1}}; {\"name\": \"b\", \"arguments\": {}}", "",
		[]ToolCall{{Name: "a", Arguments: `{"n":1}`}, {Name: "b", Arguments: "{}"}}},
	{"JSON that is not a call is content", `{"answer": 4}`, `{"answer": 4}`, nil},
	{"trailing text is content", `{"name": "a", "parameters": {}} and more`, `{"name": "a", "parameters": {}} and more`, nil},
	{"a lone python-tag prefix", "<|py", "<|py", nil},
}

var solarCases = []toolCase{
	{"plain text", "안녕하세요.\n", "안녕하세요.\n", nil},
	{"one call, the model's id kept", "<|tool_call:begin|>a1b2c3d4e5<|tool_call:name|>get_weather<|tool_call:args|>{\"city\": \"서울\"}<|tool_call:end|>",
		"", []ToolCall{{ID: "a1b2c3d4e5", Name: "get_weather", Arguments: `{"city":"서울"}`}}},
	{"content, then two calls", "확인할게요.\n<|tool_call:begin|>x1<|tool_call:name|>a<|tool_call:args|>{}<|tool_call:end|><|tool_call:begin|>x2<|tool_call:name|>b<|tool_call:args|>{\"n\": [1, 2]}<|tool_call:end|>",
		"확인할게요.", []ToolCall{{ID: "x1", Name: "a", Arguments: "{}"}, {ID: "x2", Name: "b", Arguments: `{"n":[1,2]}`}}},
	{"a closing marker inside an argument", "<|tool_call:begin|>i<|tool_call:name|>echo<|tool_call:args|>{\"s\": \"<|tool_call:end|>\"}<|tool_call:end|>ok",
		"ok", []ToolCall{{ID: "i", Name: "echo", Arguments: `{"s":"<|tool_call:end|>"}`}}},
	{"no name marker is content", "<|tool_call:begin|>get_weather{}<|tool_call:end|>", "<|tool_call:begin|>get_weather{}<|tool_call:end|>", nil},
	{"unclosed at the end still parses", "<|tool_call:begin|>i<|tool_call:name|>f<|tool_call:args|>{\"a\": 1}",
		"", []ToolCall{{ID: "i", Name: "f", Arguments: `{"a":1}`}}},
}

var gemma4Cases = []toolCase{
	{"plain text", "안녕하세요.\n", "안녕하세요.\n", nil},
	{"one call", `<|tool_call>call:get_weather{city:<|"|>서울<|"|>,unit:<|"|>c<|"|>}<tool_call|>`,
		"", []ToolCall{{Name: "get_weather", Arguments: `{"city":"서울","unit":"c"}`}}},
	{"content, then two calls with every kind of value", "확인할게요.\n<|tool_call>call:a{}<tool_call|>" +
		`<|tool_call>call:b{n:[1, 2.5, -3e2], ok:true, none:null, nested:{q:<|"|>say "hi", a:b\n<|"|>}}<tool_call|>`,
		"확인할게요.", []ToolCall{{Name: "a", Arguments: "{}"},
			{Name: "b", Arguments: `{"n":[1,2.5,-3e2],"ok":true,"none":null,"nested":{"q":"say \"hi\", a:b\\n"}}`}}},
	{"JSON drifted into", `<|tool_call>call:f{"k": "v", n: 1}<tool_call|>`, "", []ToolCall{{Name: "f", Arguments: `{"k":"v","n":1}`}}},
	{"unclosed at the end still parses", `<|tool_call>call:f{a:1}`, "", []ToolCall{{Name: "f", Arguments: `{"a":1}`}}},
	{"not a call is content", `<|tool_call>get_weather{}<tool_call|>`, `<|tool_call>get_weather{}<tool_call|>`, nil},
	{"a bad value is content", `<|tool_call>call:f{a:nope}<tool_call|>`, `<|tool_call>call:f{a:nope}<tool_call|>`, nil},
	{"an unterminated string is content", `<|tool_call>call:f{a:<|"|>x}<tool_call|>`, `<|tool_call>call:f{a:<|"|>x}<tool_call|>`, nil},
}

var mistralCases = []toolCase{
	{"plain text", "안녕하세요.\n", "안녕하세요.\n", nil},
	{"one call", "[TOOL_CALLS]get_weather[ARGS]{\"city\": \"서울\"}", "",
		[]ToolCall{{Name: "get_weather", Arguments: `{"city":"서울"}`}}},
	{"content, two calls, content", "확인할게요.[TOOL_CALLS]a[ARGS]{}[TOOL_CALLS]b[ARGS]{\"n\": [1, {\"x\": \"}\"}]} 끝",
		"확인할게요.끝", []ToolCall{{Name: "a", Arguments: "{}"}, {Name: "b", Arguments: `{"n":[1,{"x":"}"}]}`}}},
	{"Mistral Small 3.2's call id", "[TOOL_CALLS]f[CALL_ID]a1b2c3d4e[ARGS]{\"k\": 1}", "",
		[]ToolCall{{ID: "a1b2c3d4e", Name: "f", Arguments: `{"k":1}`}}},
	{"cut mid-arguments is content", "[TOOL_CALLS]f[ARGS]{\"k\": ", "[TOOL_CALLS]f[ARGS]{\"k\": ", nil},
	{"no name is content", "[TOOL_CALLS][ARGS]{}", "[TOOL_CALLS][ARGS]{}", nil},
	{"the old list form is content", `[TOOL_CALLS][{"name": "f", "arguments": {}}]`, `[TOOL_CALLS][{"name": "f", "arguments": {}}]`, nil},
	{"a marker prefix at the end is content", "x [TOOL_CA", "x [TOOL_CA", nil},
}

// runParser feeds in to a parser in the given pieces and joins the output.
func runParser(f ToolFormat, pieces []string) (string, []ToolCall) {
	p := NewToolParser(f)
	var content strings.Builder
	var calls []ToolCall
	for _, s := range pieces {
		c, cs := p.Push(s)
		content.WriteString(c)
		calls = append(calls, cs...)
	}
	c, cs := p.Finish()
	content.WriteString(c)
	return content.String(), append(calls, cs...)
}

func TestToolParser(t *testing.T) {
	for _, set := range []struct {
		f     ToolFormat
		cases []toolCase
	}{{ToolsHermes, hermesCases}, {ToolsLlama3, llama3Cases}, {ToolsSolar, solarCases}, {ToolsGemma4, gemma4Cases}, {ToolsMistral, mistralCases}} {
		for _, tc := range set.cases {
			t.Run(string(set.f)+"/"+tc.name, func(t *testing.T) {
				content, calls := runParser(set.f, []string{tc.in})
				if content != tc.content || !reflect.DeepEqual(calls, tc.calls) {
					t.Fatalf("whole: got %q %+v, want %q %+v", content, calls, tc.content, tc.calls)
				}
				// Streamed in two pieces at every byte, and a byte at a
				// time: the same content and calls.
				for i := 0; i <= len(tc.in); i++ {
					content, calls := runParser(set.f, []string{tc.in[:i], tc.in[i:]})
					if content != tc.content || !reflect.DeepEqual(calls, tc.calls) {
						t.Fatalf("split at %d: got %q %+v", i, content, calls)
					}
				}
				var bytes []string
				for i := range len(tc.in) {
					bytes = append(bytes, tc.in[i:i+1])
				}
				content, calls = runParser(set.f, bytes)
				if content != tc.content || !reflect.DeepEqual(calls, tc.calls) {
					t.Fatalf("byte by byte: got %q %+v", content, calls)
				}
			})
		}
	}
}

// A call is given as soon as its closing marker arrives, and content as
// soon as it cannot begin a call.
func TestToolParserStreamsEarly(t *testing.T) {
	p := NewToolParser(ToolsHermes)
	if c, calls := p.Push("Checking <tool"); c != "Checking" || calls != nil {
		t.Fatalf("got %q %v, want the content before the possible marker", c, calls)
	}
	if c, calls := p.Push("_call>{\"name\": \"f\", \"arguments\": {}}</tool_call>"); c != "" || len(calls) != 1 {
		t.Fatalf("got %q %v, want the call at its closing marker", c, calls)
	}
	if p.Calls() != 1 {
		t.Fatalf("Calls = %d", p.Calls())
	}
}

func TestToolFormatNone(t *testing.T) {
	content, calls := runParser(ToolsNone, []string{"<tool_call>{\"name\": \"f\"}</tool_call>  "})
	if content != "<tool_call>{\"name\": \"f\"}</tool_call>  " || calls != nil {
		t.Fatalf("got %q %v", content, calls)
	}
}

func TestForcedPrefix(t *testing.T) {
	for _, tc := range []struct {
		f     ToolFormat
		name  string
		reply string
		want  ToolCall
	}{
		{ToolsHermes, "", `{"name": "f", "arguments": {"a": 1}}` + "\n</tool_call>", ToolCall{Name: "f", Arguments: `{"a":1}`}},
		{ToolsHermes, "lookup", `{"q": "x"}}` + "\n</tool_call>", ToolCall{Name: "lookup", Arguments: `{"q":"x"}`}},
		{ToolsLlama3, "", `{"name": "g", "parameters": {}}`, ToolCall{Name: "g", Arguments: "{}"}},
		{ToolsLlama3, "g", `{"z": true}}`, ToolCall{Name: "g", Arguments: `{"z":true}`}},
	} {
		content, calls := runParser(tc.f, []string{tc.f.ForcedPrefix(tc.name), tc.reply})
		if content != "" || len(calls) != 1 || calls[0] != tc.want {
			t.Errorf("%s %q: got %q %+v, want %+v", tc.f, tc.name, content, calls, tc.want)
		}
	}
	if p := ToolsNone.ForcedPrefix("f"); p != "" {
		t.Errorf("none: %q", p)
	}
	// Solar Open: a named call is ours up to its arguments, with an id of
	// the form its template asks for; "required" opens the call and the
	// model writes the rest.
	named := ToolsSolar.ForcedPrefix("lookup")
	content, calls := runParser(ToolsSolar, []string{named, `{"q": "x"}`, ToolsSolar.CallSuffix("lookup")})
	if content != "" || len(calls) != 1 || calls[0].Name != "lookup" || calls[0].Arguments != `{"q":"x"}` || len(calls[0].ID) != 10 ||
		strings.Trim(calls[0].ID, "abcdefghijklmnopqrstuvwxyz0123456789") != "" {
		t.Errorf("solar named: %q gives %q %+v", named, content, calls)
	}
	content, calls = runParser(ToolsSolar, []string{ToolsSolar.ForcedPrefix(""), "id<|tool_call:name|>g<|tool_call:args|>{}", ToolsSolar.CallSuffix("")})
	if content != "" || len(calls) != 1 || calls[0] != (ToolCall{ID: "id", Name: "g", Arguments: "{}"}) {
		t.Errorf("solar required: %q %+v", content, calls)
	}
	if ToolsSolar.JSONCalls() || !ToolsHermes.JSONCalls() || !ToolsLlama3.JSONCalls() {
		t.Error("JSONCalls")
	}
	// Prefix, JSON, suffix: a whole call in each format.
	for _, tc := range []struct {
		f          ToolFormat
		name, json string
	}{
		{ToolsHermes, "f", `{"a": 1}`}, {ToolsHermes, "", `{"name": "f", "arguments": {"a": 1}}`},
		{ToolsLlama3, "f", `{"a": 1}`}, {ToolsLlama3, "", `{"name": "f", "parameters": {"a": 1}}`},
	} {
		text := tc.f.ForcedPrefix(tc.name) + tc.json + tc.f.CallSuffix(tc.name)
		content, calls := runParser(tc.f, []string{text})
		if content != "" || len(calls) != 1 || calls[0] != (ToolCall{Name: "f", Arguments: `{"a":1}`}) {
			t.Errorf("%s %q: %q gives %q %+v", tc.f, tc.name, text, content, calls)
		}
	}
}

func TestDetectToolFormat(t *testing.T) {
	for _, tc := range []struct {
		src  string
		want ToolFormat
	}{
		{"{% for m in messages %}{{ m.content }}{% endfor %}", ToolsNone},
		{"{% if tools %}<tools>{{ tools | tojson }}</tools>{% endif %}<tool_call>", ToolsHermes},
		{"<|start_header_id|>{% if tools %}{{ tools | tojson }}{% endif %}", ToolsLlama3},
		{"<|start_header_id|>{{ m.content }}", ToolsNone},
		{"{% if tools %}[TOOL_CALLS]{% endif %}", ToolsNone},
		{"{% if tools %}<|tools:begin|>{% endif %}<|tool_call:begin|>{{ c.id }}<|tool_call:name|>", ToolsSolar},
		{"{% if tools %}<|tool>declaration:{% endif %}<|tool_call>call:{{ c.function.name }}", ToolsGemma4},
		{"[SYSTEM_PROMPT]{% if tools %}[AVAILABLE_TOOLS]{% endif %}[TOOL_CALLS]{{ c.function.name }}[ARGS]", ToolsMistral},
	} {
		if got := DetectToolFormat(tc.src); got != tc.want {
			t.Errorf("%q: got %s, want %s", tc.src, got, tc.want)
		}
	}
	for _, name := range ToolFormatNames() {
		if f, err := ParseToolFormat(strings.ToUpper(name)); err != nil || string(f) != name {
			t.Errorf("ParseToolFormat(%s) = %s, %v", name, f, err)
		}
	}
	if _, err := ParseToolFormat("qwen3-xml"); err == nil {
		t.Error("ParseToolFormat(qwen3-xml) accepted")
	}
}

// toolTemplate is a Hermes-style template written for these tests: tools
// in the system turn, calls and results as Qwen-family templates show
// them.
const toolTemplate = `{%- if tools %}<|im_start|>system
{{ messages[0].content if messages[0].role == 'system' else 'You may call functions.' }}
<tools>
{%- for tool in tools %}
{{ tool | tojson }}
{%- endfor %}
</tools><|im_end|>
{% endif %}
{%- for m in messages %}
{%- if m.role == 'system' and tools %}{# written above #}
{%- elif m.role == 'tool' %}<|im_start|>user
<tool_response id="{{ m.tool_call_id }}">
{{ m.content }}
</tool_response><|im_end|>
{% elif m.tool_calls is defined %}<|im_start|>assistant
{{ m.content }}
{%- for c in m.tool_calls %}
<tool_call>
{"name": "{{ c.function.name }}", "arguments": {{ c.function.arguments | tojson }}}
</tool_call>
{%- endfor %}<|im_end|>
{% else %}<|im_start|>{{ m.role }}
{{ m.content }}<|im_end|>
{% endif %}
{%- endfor %}
{%- if add_generation_prompt %}<|im_start|>assistant
{% endif %}`

func TestRenderTools(t *testing.T) {
	r, err := New(toolTemplate)
	if err != nil {
		t.Fatal(err)
	}
	if r.ToolFormat() != ToolsHermes || !r.RendersTools() {
		t.Fatalf("format %s, renders tools %v", r.ToolFormat(), r.RendersTools())
	}
	tools := JSON(`[{"type": "function", "function": {"name": "get_weather", "description": "날씨", "parameters": {"type": "object", "properties": {"unit": {"enum": ["c", "f"]}, "city": {"type": "string"}}, "required": ["city"]}, "strict": false, "n": 1, "x": 1.0}}]`)
	msgs := []Message{
		{Role: "user", Content: "서울 날씨?"},
		{Role: "assistant", ToolCalls: []ToolCall{{ID: "call_1", Name: "get_weather", Arguments: `{"city":"Seoul"}`}, {ID: "call_2", Name: "get_weather", Arguments: "not an object"}}},
		{Role: "tool", ToolCallID: "call_1", Content: "맑음, 3°C"},
	}
	got, err := r.Render(msgs, Options{AddGenerationPrompt: true, Tools: tools})
	if err != nil {
		t.Fatal(err)
	}
	want := `<|im_start|>system
You may call functions.
<tools>{"type": "function", "function": {"name": "get_weather", "description": "날씨", "parameters": {"type": "object", "properties": {"unit": {"enum": ["c", "f"]}, "city": {"type": "string"}}, "required": ["city"]}, "strict": false, "n": 1, "x": 1.0}}</tools><|im_end|>
<|im_start|>user
서울 날씨?<|im_end|>
<|im_start|>assistant
<tool_call>
{"name": "get_weather", "arguments": {"city": "Seoul"}}
</tool_call><tool_call>
{"name": "get_weather", "arguments": "not an object"}
</tool_call><|im_end|>
<|im_start|>user
<tool_response id="call_1">
맑음, 3°C
</tool_response><|im_end|>
<|im_start|>assistant
`
	if got != want {
		t.Fatalf("rendered:\n%s\nwant:\n%s", got, want)
	}
	// Without tools the same template renders the plain conversation.
	plain, err := r.Render(msgs[:1], Options{AddGenerationPrompt: true})
	if err != nil || plain != "<|im_start|>user\n서울 날씨?<|im_end|>\n<|im_start|>assistant\n" {
		t.Fatalf("without tools: %q, %v", plain, err)
	}
}

func TestRenderToolsUnsupported(t *testing.T) {
	tools := Options{Tools: JSON(`[{"type": "function", "function": {"name": "f"}}]`)}
	for _, src := range []string{"", "{% for m in messages %}{{ m.content }}{% endfor %}"} {
		r, err := New(src)
		if err != nil {
			t.Fatal(err)
		}
		if r.RendersTools() {
			t.Errorf("%q: RendersTools", src)
		}
		if _, err := r.Render([]Message{{Role: "user", Content: "hi"}}, tools); !errors.Is(err, ErrToolsUnsupported) {
			t.Errorf("%q: got %v, want ErrToolsUnsupported", src, err)
		}
	}
}

func TestDecodeJSON(t *testing.T) {
	v, err := decodeJSON([]byte(`{"b": [1, -2, 3.0, 1e3, 12345678901234567890], "a": {"z": null, "y": true}, "": "s"}`))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := writeJSON(&b, v, -1, 0, false); err != nil {
		t.Fatal(err)
	}
	if want := `{"b": [1, -2, 3.0, 1000.0, 1.2345678901234567e+19], "a": {"z": null, "y": true}, "": "s"}`; b.String() != want {
		t.Fatalf("got %s, want %s", b.String(), want)
	}
	for _, bad := range []string{`{"a": 1} x`, `{"a": }`, `[1, 2`, ``} {
		if _, err := decodeJSON([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
