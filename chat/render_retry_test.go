package chat

import (
	"regexp"
	"strings"
	"testing"
)

// Render's second tries: a template that raises on a system turn gets it
// merged into the first user turn (llama.cpp's handling of templates
// without a system role, Gemma's); one that adds a call's arguments to a
// string gets the JSON text instead of an object (functionary's). Other
// errors stay errors.
func TestRenderRetries(t *testing.T) {
	noSystem := `{% if messages[0].role == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}` +
		`{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}`
	r, err := New(noSystem)
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.Render([]Message{{Role: "system", Content: "be brief"}, {Role: "user", Content: "hi"}, {Role: "assistant", Content: "yo"}}, Options{})
	if want := "<user>be brief\n\nhi<assistant>yo"; err != nil || got != want {
		t.Errorf("system merged: %q, %v; want %q", got, err, want)
	}
	// Without a user turn to merge into, the template's error stands.
	if _, err := r.Render([]Message{{Role: "system", Content: "s"}}, Options{}); err == nil || !strings.Contains(err.Error(), "System role") {
		t.Errorf("lone system turn: %v", err)
	}

	concat := `{% for m in messages %}{% for c in m.tool_calls %}{{ c.function.name + ':' + c.function.arguments }}{% endfor %}{% endfor %}{{ tools | length }}`
	r, err = New(concat)
	if err != nil {
		t.Fatal(err)
	}
	msgs := []Message{{Role: "user", Content: "q"}, {Role: "assistant", ToolCalls: []ToolCall{{ID: "1", Name: "f", Arguments: `{"x": 1}`}}}}
	got, err = r.Render(msgs, Options{Tools: JSON(`[{"type": "function"}]`)})
	if want := `f:{"x": 1}1`; err != nil || got != want {
		t.Errorf("string arguments: %q, %v; want %q", got, err, want)
	}
	// A template that writes them with tojson still gets the object.
	r, err = New(`{% for m in messages %}{% for c in m.tool_calls %}{{ c.function.arguments | tojson }}{% endfor %}{% endfor %}{{ tools | length }}`)
	if err != nil {
		t.Fatal(err)
	}
	got, err = r.Render(msgs, Options{Tools: JSON(`[{"type": "function"}]`)})
	if want := `{"x": 1}1`; err != nil || got != want {
		t.Errorf("object arguments: %q, %v; want %q", got, err, want)
	}
}

// TestFunctoolsVars: a template that writes FireFunction v2's functools[
// calls gets the variables llama.cpp gives it (functions: the tools as
// indented JSON text, empty without tools; datetime: now, in UTC), its
// calls are not parsed, and values the caller passes win.
func TestFunctoolsVars(t *testing.T) {
	r, err := New(`{%- filter trim %}  spec: {% endfilter %}{{ functions }}|{{ datetime }}|call as functools[...]`)
	if err != nil {
		t.Fatal(err)
	}
	if r.ToolFormat() != ToolsNone {
		t.Errorf("tool format %q, want none", r.ToolFormat())
	}
	out, err := r.Render([]Message{{Role: "user", Content: "hi"}}, Options{Tools: JSON(`[{"type":"function","function":{"name":"f"}}]`)})
	if err != nil {
		t.Fatal(err)
	}
	want := "spec:[\n  {\n    \"type\": \"function\",\n    \"function\": {\n      \"name\": \"f\"\n    }\n  }\n]|"
	if !strings.HasPrefix(out, want) || !regexp.MustCompile(`\|[A-Z][a-z]{2} \d\d \d{4} \d\d:\d\d:\d\d GMT\|`).MatchString(out) {
		t.Errorf("got %q, want %q then a GMT time", out, want)
	}
	out, err = r.Render([]Message{{Role: "user", Content: "hi"}}, Options{Vars: map[string]any{"datetime": "then"}})
	if err != nil || out != "spec:|then|call as functools[...]" {
		t.Errorf("without tools: %q, %v", out, err)
	}
}
