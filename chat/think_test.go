package chat

import (
	"strings"
	"testing"
)

func runThink(tags ThinkTags, open bool, pieces []string) (string, string) {
	p := NewThinkParser(tags, open)
	var r, c strings.Builder
	for _, s := range pieces {
		a, b := p.Push(s)
		r.WriteString(a)
		c.WriteString(b)
	}
	a, b := p.Finish()
	r.WriteString(a)
	c.WriteString(b)
	return r.String(), c.String()
}

func TestThinkParser(t *testing.T) {
	for _, tc := range []struct {
		name               string
		open               bool
		in                 string
		reasoning, content string
		gemma4             bool
	}{
		{"no thinking", false, "  Hello, 세계.\n", "", "  Hello, 세계.\n", false},
		{"thinking then answer", false, "<think>\n먼저 생각해 보면 2+2는 4.\n</think>\n\n답은 4입니다.", "먼저 생각해 보면 2+2는 4.", "답은 4입니다.", false},
		{"empty thinking", false, "<think>\n\n</think>\n\n답", "", "답", false},
		{"opened by the prompt", true, "\nstep one\nstep two  </think>answer ", "step one\nstep two", "answer ", false},
		{"cut while thinking", false, "<think>still going <", "still going <", "", false},
		{"cut while thinking, opened", true, "all reasoning", "all reasoning", "", false},
		{"a think tag later is content", false, "Answer: <think>x</think>", "", "Answer: <think>x</think>", false},
		{"part of the tag only", false, " <thi", "", " <thi", false},
		{"a lone close marker prefix in reasoning", true, "a </thin b</think>c", "a </thin b", "c", false},
		// Gemma 4's thought channel.
		{"gemma4 thought", false, "<|channel>thought\n생각 중: 2+2=4<channel|>답은 4입니다.", "생각 중: 2+2=4", "답은 4입니다.", true},
		{"gemma4 empty thought", false, "<|channel>thought\n<channel|>답", "", "답", true},
		{"gemma4 no thought", false, "바로 답합니다.", "", "바로 답합니다.", true},
		{"gemma4 think tags are content", false, "<think>x</think>", "", "<think>x</think>", true},
		{"gemma4 opened by the prompt", true, "\nplan<channel|>answer", "plan", "answer", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			check := func(how string, r, c string) {
				t.Helper()
				if r != tc.reasoning || c != tc.content {
					t.Fatalf("%s: got %q / %q, want %q / %q", how, r, c, tc.reasoning, tc.content)
				}
			}
			tags := DefaultThinkTags
			if tc.gemma4 {
				tags = Gemma4ThinkTags
			}
			r, c := runThink(tags, tc.open, []string{tc.in})
			check("whole", r, c)
			for i := 0; i <= len(tc.in); i++ {
				r, c := runThink(tags, tc.open, []string{tc.in[:i], tc.in[i:]})
				check("split", r, c)
			}
			var bytes []string
			for i := range len(tc.in) {
				bytes = append(bytes, tc.in[i:i+1])
			}
			r, c = runThink(tags, tc.open, bytes)
			check("byte by byte", r, c)
		})
	}
}

// Reasoning streams as it comes, not at its end.
func TestThinkParserStreams(t *testing.T) {
	p := NewThinkParser(DefaultThinkTags, false)
	if r, c := p.Push("<think>\nfirst "); r != "first" || c != "" {
		t.Fatalf("got %q %q", r, c)
	}
	if r, c := p.Push("second</think>\n\nans"); r != " second" || c != "ans" {
		t.Fatalf("got %q %q", r, c)
	}
}

func TestShowsThinking(t *testing.T) {
	if !ShowsThinking("{% if enable_thinking is false %}<think>\n\n</think>{% endif %}") || ShowsThinking("<|im_start|>") {
		t.Fatal("ShowsThinking")
	}
	if !DefaultThinkTags.Opened("<|im_start|>assistant\n<think>\n") || DefaultThinkTags.Opened("<|im_start|>assistant\n<think>\n\n</think>\n\n") {
		t.Fatal("Opened")
	}
	// Gemma 4: its thought channel, before <think> (its template may
	// mention neither, or both).
	tags, ok := TemplateThinkTags("{%- if not enable_thinking -%}<|channel>thought\n<channel|>{%- endif -%}")
	if !ok || tags.Open != Gemma4ThinkTags.Open {
		t.Fatalf("gemma4 template: %+v %v", tags, ok)
	}
	if !Gemma4ThinkTags.Opened("<|turn>model\n<|channel>thought\n") || Gemma4ThinkTags.Opened("<|turn>model\n<|channel>thought\n<channel|>") {
		t.Fatal("Gemma 4 Opened")
	}
	if tags, ok := TemplateThinkTags("[SYSTEM_PROMPT]{% if reasoning %}[THINK]…[/THINK]{% endif %}"); !ok || tags.Open != "[THINK]" {
		t.Fatalf("Mistral template: %+v %v", tags, ok)
	}
}
