package chat

import (
	"os"
	"testing"

	"github.com/nuri-ai/nuri/internal/testshared"
)

// Qwen3's own template (byte for byte, ../shared) with tools, an earlier
// call, its result and an earlier turn's thinking. The expected texts
// follow the template's statements as transformers runs them; the
// shared goldens have no tool cases, so they are derived by hand, and
// each line is one the template writes.
func TestQwen3TemplateTools(t *testing.T) {
	src, err := os.ReadFile(testshared.Path(t, "testdata", "tokenizer", "templates", "qwen3.jinja"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(string(src))
	if err != nil {
		t.Fatal(err)
	}
	if r.ToolFormat() != ToolsHermes || !r.RendersTools() || !r.ShowsThinking() {
		t.Fatalf("format %s, renders tools %v, thinks %v", r.ToolFormat(), r.RendersTools(), r.ShowsThinking())
	}
	tools := JSON(`[{"type": "function", "function": {"name": "get_weather", "description": "날씨", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]`)
	msgs := []Message{
		{Role: "system", Content: "너는 도우미야."},
		{Role: "user", Content: "서울 날씨?"},
		{Role: "assistant", ToolCalls: []ToolCall{{ID: "call_1", Name: "get_weather", Arguments: `{"city":"서울"}`}}},
		{Role: "tool", ToolCallID: "call_1", Content: "맑음"},
	}
	got, err := r.Render(msgs, Options{AddGenerationPrompt: true, Tools: tools})
	if err != nil {
		t.Fatal(err)
	}
	want := "<|im_start|>system\n너는 도우미야.\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n" +
		"You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n" +
		`{"type": "function", "function": {"name": "get_weather", "description": "날씨", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}` +
		"\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n" +
		"<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n" +
		"<|im_start|>user\n서울 날씨?<|im_end|>\n" +
		"<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"서울\"}}\n</tool_call><|im_end|>\n" +
		"<|im_start|>user\n<tool_response>\n맑음\n</tool_response><|im_end|>\n" +
		"<|im_start|>assistant\n"
	if got != want {
		t.Fatalf("rendered:\n%q\nwant:\n%q", got, want)
	}

	// The last turn's thinking comes back from reasoning_content.
	got, err = r.Render([]Message{
		{Role: "user", Content: "2+2?"},
		{Role: "assistant", Content: "4", ReasoningContent: "더하면 4."},
	}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if want := "<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n<think>\n더하면 4.\n</think>\n\n4<|im_end|>\n"; got != want {
		t.Fatalf("rendered %q, want %q", got, want)
	}
}
