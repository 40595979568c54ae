package chat

import (
	"errors"
	"testing"
)

// The example conversation of MODEL_SPEC.md §5.3 with llama.cpp's exact
// renderings.
var specConversation = []Message{
	{Role: "system", Content: "You are a helpful assistant."},
	{Role: "user", Content: "Hello"},
	{Role: "assistant", Content: "Hi there!"},
	{Role: "user", Content: "What is 2+2?"},
}

func TestBuiltinSpecRenderings(t *testing.T) {
	exaone := "[|system|]You are a helpful assistant.[|endofturn|]\n[|user|]Hello\n[|assistant|]Hi there![|endofturn|]\n[|user|]What is 2+2?\n[|assistant|]"
	for _, tc := range []struct {
		name string
		want string
	}{
		{"exaone3", exaone},
		{"exaone4", exaone},
		{"llama3", "<|start_header_id|>system<|end_header_id|>\n\nYou are a helpful assistant.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHi there!<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"},
		{"kanana", "<|start_header_id|>system<|end_header_id|>\n\nYou are a helpful assistant.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHi there!<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"},
		{"chatml", "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\nHi there!<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n"},
		{"hyperclovax", "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\nHi there!<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n"},
	} {
		r, err := NewBuiltin(tc.name)
		if err != nil {
			t.Fatal(err)
		}
		got, err := r.Render(specConversation, Options{AddGenerationPrompt: true})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got != tc.want {
			t.Errorf("%s:\n got: %q\nwant: %q", tc.name, got, tc.want)
		}
	}
}

func TestBuiltinTrimRules(t *testing.T) {
	msgs := []Message{{Role: "user", Content: "  안녕  \n"}}
	for _, tc := range []struct {
		f    Format
		want string
	}{
		{FormatChatML, "<|im_start|>user\n  안녕  \n<|im_end|>\n"},
		{FormatLlama3, "<|start_header_id|>user<|end_header_id|>\n\n안녕<|eot_id|>"},
		{FormatExaone3, "[|user|]안녕\n"},
	} {
		got, err := renderBuiltin(tc.f, msgs, false)
		if err != nil || got != tc.want {
			t.Errorf("%s: got %q, %v; want %q", tc.f, got, err, tc.want)
		}
	}
	got, err := renderBuiltin(FormatExaone4, []Message{{Role: "tool", Content: "42"}}, false)
	if err != nil || got != "[|tool|]42[|endofturn|]\n" {
		t.Errorf("exaone4 tool: %q, %v", got, err)
	}
	if _, err := renderBuiltin(FormatExaone3, []Message{{Role: "tool", Content: "42"}}, false); !errors.Is(err, ErrRole) {
		t.Errorf("exaone3 tool role: err = %v, want ErrRole", err)
	}
}

func TestDetect(t *testing.T) {
	for _, tc := range []struct {
		src  string
		want Format
		err  bool
	}{
		{"{{ '<|im_start|>' }}", FormatChatML, false},
		{"<|im_start|><|im_sep|>", "", true},
		{"[INST] {{ x }} [/INST] <|start_header_id|><|end_header_id|>", "", true},
		{"<start_of_turn>", "", true},
		{"<|start_header_id|>x<|end_header_id|>", FormatLlama3, false},
		{"[|system|][|assistant|][|endofturn|]", FormatExaone3, false},
		{"[|system|][|assistant|][|endofturn|][|tool|]", FormatExaone4, false},
		{"nothing here", "", true},
	} {
		got, err := Detect(tc.src)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("Detect(%q) = %q, %v; want %q (error %v)", tc.src, got, err, tc.want, tc.err)
		}
		if err != nil && !errors.Is(err, ErrUnknownTemplate) {
			t.Errorf("Detect(%q) error %v is not ErrUnknownTemplate", tc.src, err)
		}
	}
}

// TestNewFallbacks covers the renderer choice: Jinja when it parses, the
// detected built-in when it does not, ChatML when the template is absent.
func TestNewFallbacks(t *testing.T) {
	for _, tc := range []struct {
		name, src, kind string
		err             bool
	}{
		{"absent", "", "chatml", false},
		{"parses", "{% for m in messages %}{{ m.content }}{% endfor %}", "jinja", false},
		{"broken exaone", "{% for m in messages %}[|system|][|assistant|][|endofturn|]{% if %}", "exaone3", false},
		{"broken llama3", "<|start_header_id|>{{ x | nosuchfilter }}<|end_header_id|>", "llama3", false},
		{"broken chatml", "<|im_start|>{% for %}", "chatml", false},
		{"broken unknown", "{% if x %}", "", true},
	} {
		r, err := New(tc.src)
		if tc.err {
			if err == nil {
				t.Errorf("%s: New succeeded with %s, want an error", tc.name, r.Kind())
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if r.Kind() != tc.kind {
			t.Errorf("%s: kind %s, want %s", tc.name, r.Kind(), tc.kind)
		}
		if (tc.kind != "jinja" && tc.src != "") != (r.FallbackReason() != nil) {
			t.Errorf("%s: FallbackReason = %v", tc.name, r.FallbackReason())
		}
	}
	if _, err := NewBuiltin("nope"); err == nil {
		t.Error("NewBuiltin(nope) succeeded")
	}
}
