package chat

import (
	"strings"
	"testing"
)

func runThink(open bool, pieces []string) (string, string) {
	p := NewThinkParser(open)
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
	}{
		{"no thinking", false, "  Hello, 세계.\n", "", "  Hello, 세계.\n"},
		{"thinking then answer", false, "<think>\n먼저 생각해 보면 2+2는 4.\n</think>\n\n답은 4입니다.", "먼저 생각해 보면 2+2는 4.", "답은 4입니다."},
		{"empty thinking", false, "<think>\n\n</think>\n\n답", "", "답"},
		{"opened by the prompt", true, "\nstep one\nstep two  </think>answer ", "step one\nstep two", "answer "},
		{"cut while thinking", false, "<think>still going <", "still going <", ""},
		{"cut while thinking, opened", true, "all reasoning", "all reasoning", ""},
		{"a think tag later is content", false, "Answer: <think>x</think>", "", "Answer: <think>x</think>"},
		{"part of the tag only", false, " <thi", "", " <thi"},
		{"a lone close marker prefix in reasoning", true, "a </thin b</think>c", "a </thin b", "c"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			check := func(how string, r, c string) {
				t.Helper()
				if r != tc.reasoning || c != tc.content {
					t.Fatalf("%s: got %q / %q, want %q / %q", how, r, c, tc.reasoning, tc.content)
				}
			}
			r, c := runThink(tc.open, []string{tc.in})
			check("whole", r, c)
			for i := 0; i <= len(tc.in); i++ {
				r, c := runThink(tc.open, []string{tc.in[:i], tc.in[i:]})
				check("split", r, c)
			}
			var bytes []string
			for i := range len(tc.in) {
				bytes = append(bytes, tc.in[i:i+1])
			}
			r, c = runThink(tc.open, bytes)
			check("byte by byte", r, c)
		})
	}
}

// Reasoning streams as it comes, not at its end.
func TestThinkParserStreams(t *testing.T) {
	p := NewThinkParser(false)
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
	if !ThinkingOpen("<|im_start|>assistant\n<think>\n") || ThinkingOpen("<|im_start|>assistant\n<think>\n\n</think>\n\n") {
		t.Fatal("ThinkingOpen")
	}
}
