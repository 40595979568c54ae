package server

import (
	"encoding/json"
	"strings"
	"testing"
)

// thinkTemplate is a reasoning model's template written for these tests:
// the thinking of earlier turns is dropped, and enable_thinking false
// writes an empty thinking block, as Qwen3's does; with open_thinking the
// template starts the thinking for the model, as DeepSeek-R1's does.
const thinkTemplate = `{%- if tools %}<tools>{% for t in tools %}{{ t | tojson }}{% endfor %}</tools>
{% endif %}
{%- for m in messages %}<|im_start|>{{ m.role }}
{% if m.reasoning_content %}[had thought]{% endif %}{{ m.content }}<|im_end|>
{% endfor %}
{%- if add_generation_prompt %}<|im_start|>assistant
{% if enable_thinking is defined and enable_thinking is false %}<think>

</think>

{% elif open_thinking is defined %}<think>
{% endif %}{% endif %}{# calls are written <tool_call>…</tool_call> #}`

type reasoningReply struct {
	reasoning, content string
	calls              []toolCallOut
	finish             string
}

// reasoningOf reads the first choice of a chat response or stream, with
// the reasoning deltas joined.
func reasoningOf(t *testing.T, body []byte, stream bool) reasoningReply {
	t.Helper()
	var r reasoningReply
	if !stream {
		var resp chatResponse
		if err := json.Unmarshal(body, &resp); err != nil {
			t.Fatal(err)
		}
		m := resp.Choices[0].Message
		if m.ReasoningContent != nil {
			r.reasoning = *m.ReasoningContent
		}
		if m.Content != nil {
			r.content = *m.Content
		}
		r.calls, r.finish = m.ToolCalls, *resp.Choices[0].FinishReason
		return r
	}
	var reasoning, content strings.Builder
	sawContentBeforeReasoning := false
	for _, e := range sseEvents(t, string(body)) {
		var c chatResponse
		if e == "[DONE]" || json.Unmarshal([]byte(e), &c) != nil || len(c.Choices) == 0 {
			continue
		}
		d := c.Choices[0].Delta
		if d.ReasoningContent != nil {
			reasoning.WriteString(*d.ReasoningContent)
			sawContentBeforeReasoning = sawContentBeforeReasoning || content.Len() > 0
		}
		if d.Content != nil {
			content.WriteString(*d.Content)
		}
		r.calls = append(r.calls, d.ToolCalls...)
		if f := c.Choices[0].FinishReason; f != nil {
			r.finish = *f
		}
	}
	if sawContentBeforeReasoning {
		t.Errorf("reasoning streamed after content")
	}
	r.reasoning, r.content = reasoning.String(), content.String()
	return r
}

func TestChatReasoning(t *testing.T) {
	user := `{"messages":[{"role":"user","content":"2+2?"}]`
	for _, tc := range []struct {
		name, reply, extra string
		reasoning          Reasoning
		promptEnd          string
		want               reasoningReply
	}{
		{"thinking then answer", "<think>\n2 더하기 2는 4.\n</think>\n\n답은 4입니다.", "", ReasoningAuto,
			"assistant\n", reasoningReply{reasoning: "2 더하기 2는 4.", content: "답은 4입니다.", finish: "stop"}},
		{"no thinking", "답은 4입니다.", `,"chat_template_kwargs":{"enable_thinking":false}`, ReasoningAuto,
			"<think>\n\n</think>\n\n", reasoningReply{content: "답은 4입니다.", finish: "stop"}},
		{"opened by the prompt", "생각 중…</think>4", `,"chat_template_kwargs":{"open_thinking":true}`, ReasoningAuto,
			"assistant\n<think>\n", reasoningReply{reasoning: "생각 중…", content: "4", finish: "stop"}},
		{"parser off", "<think>x</think>4", "", ReasoningNone,
			"assistant\n", reasoningReply{content: "<think>x</think>4", finish: "stop"}},
		{"thinking, then a call", "<think>날씨를 봐야겠다.</think>\n<tool_call>{\"name\": \"get_weather\", \"arguments\": {\"city\": \"서울\"}}</tool_call>",
			`,"tools":` + weatherTool, ReasoningAuto, "assistant\n",
			reasoningReply{reasoning: "날씨를 봐야겠다.", calls: []toolCallOut{{Function: toolFunction{Name: "get_weather", Arguments: `{"city":"서울"}`}}}, finish: "tool_calls"}},
		{"a forced call closes opened thinking", "{\"city\": \"서울\"}}</tool_call>",
			`,"tools":` + weatherTool + `,"tool_choice":{"type":"function","function":{"name":"get_weather"}},"chat_template_kwargs":{"open_thinking":true}`, ReasoningAuto,
			"<think>\n</think>\n\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": ",
			reasoningReply{calls: []toolCallOut{{Function: toolFunction{Name: "get_weather", Arguments: `{"city":"서울"}`}}}, finish: "tool_calls"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t, Config{}, tc.reply, withTemplate(t, thinkTemplate), func(b *Backend) { b.Reasoning = tc.reasoning })
			for _, stream := range []string{"false", "true"} {
				status, _, body := ts.do("POST", "/v1/chat/completions", user+tc.extra+`,"stream":`+stream+`}`)
				if status != 200 {
					t.Fatalf("status %d: %s", status, body)
				}
				prompt, _ := fakeTokenizer{}.Decode(ts.eng.last().Prompt, false)
				if !strings.HasSuffix(string(prompt), tc.promptEnd) {
					t.Fatalf("prompt %q, want it to end with %q", prompt, tc.promptEnd)
				}
				got := reasoningOf(t, body, stream == "true")
				if got.reasoning != tc.want.reasoning || got.content != tc.want.content || got.finish != tc.want.finish || len(got.calls) != len(tc.want.calls) {
					t.Fatalf("stream %s: got %+v, want %+v", stream, got, tc.want)
				}
				for i, c := range got.calls {
					if c.Function != tc.want.calls[i].Function {
						t.Fatalf("call %d: %+v", i, c)
					}
				}
				if stream == "false" && tc.want.reasoning == "" && strings.Contains(string(body), "reasoning_content") {
					t.Fatalf("reasoning_content without reasoning: %s", body)
				}
			}
		})
	}
}

// gemma4ThinkTemplate frames turns and the thought channel as Gemma 4's
// template does (written for this test): enable_thinking false writes an
// empty channel.
const gemma4ThinkTemplate = `{%- for m in messages %}<|turn>{{ m.role }}
{{ m.content }}<turn|>
{% endfor %}
{%- if add_generation_prompt %}<|turn>model
{% if enable_thinking is defined and enable_thinking is false %}<|channel>thought
<channel|>{% endif %}{% endif %}`

// Gemma 4's thought channel is split off as reasoning, and JSON output
// is held only after it.
func TestChatReasoningGemma4(t *testing.T) {
	user := `{"messages":[{"role":"user","content":"2+2?"}]`
	for _, tc := range []struct {
		name, reply, extra string
		want               reasoningReply
	}{
		{"thought then answer", "<|channel>thought\n2 더하기 2는 4.<channel|>답은 4입니다.", "",
			reasoningReply{reasoning: "2 더하기 2는 4.", content: "답은 4입니다.", finish: "stop"}},
		{"no thought", "답은 4입니다.", `,"chat_template_kwargs":{"enable_thinking":false}`,
			reasoningReply{content: "답은 4입니다.", finish: "stop"}},
		{"<think> is content", "<think>x</think>4", "",
			reasoningReply{content: "<think>x</think>4", finish: "stop"}},
		{"JSON after the thought", "<|channel>thought\n객체를 쓴다.<channel|>{\"a\": 4}", `,"response_format":{"type":"json_object"}`,
			reasoningReply{reasoning: "객체를 쓴다.", content: `{"a": 4}`, finish: "stop"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t, Config{}, tc.reply, withTemplate(t, gemma4ThinkTemplate))
			for _, stream := range []string{"false", "true"} {
				status, _, body := ts.do("POST", "/v1/chat/completions", user+tc.extra+`,"stream":`+stream+`}`)
				if status != 200 {
					t.Fatalf("status %d: %s", status, body)
				}
				if got := reasoningOf(t, body, stream == "true"); got.reasoning != tc.want.reasoning || got.content != tc.want.content || got.finish != tc.want.finish {
					t.Fatalf("stream %s: got %+v, want %+v", stream, got, tc.want)
				}
			}
		})
	}
}

// An earlier turn's reasoning_content reaches the template.
func TestChatReasoningHistory(t *testing.T) {
	ts := newTestServer(t, Config{}, "ok", withTemplate(t, thinkTemplate))
	status, _, body := ts.do("POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b","reasoning_content":"r"},{"role":"user","content":"c"}]}`)
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	prompt, _ := fakeTokenizer{}.Decode(ts.eng.last().Prompt, false)
	if !strings.Contains(string(prompt), "<|im_start|>assistant\n[had thought]b<|im_end|>") {
		t.Fatalf("prompt %q", prompt)
	}
}

// With a thinking template, response_format holds the answer after the
// thinking, not the thinking itself.
func TestJSONAfterThinking(t *testing.T) {
	ts := newTestServer(t, Config{}, "ok", withTemplate(t, thinkTemplate))
	for _, tc := range []struct {
		extra, text string
		ok          bool
	}{
		{`,"chat_template_kwargs":{"open_thinking":true}`, "먼저 생각... </think>\n{\"a\": 1}", true},
		{``, "<think>생각</think>{\"a\": 1}", true},
		{``, "{\"a\": 1}", true},
		{`,"chat_template_kwargs":{"open_thinking":true}`, "{\"a\": 1}", false}, // still thinking: not complete
		{``, "생각 없이 산문", false},
	} {
		status, _, body := ts.do("POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"a"}],"response_format":{"type":"json_object"}`+tc.extra+`}`)
		if status != 200 {
			t.Fatalf("status %d: %s", status, body)
		}
		c := ts.eng.last().Constraint()
		ok := true
		for _, b := range []byte(tc.text) {
			if ok = c.Allows(int32(b) + 3); !ok {
				break
			}
			c.Accept(int32(b) + 3)
		}
		if got := ok && c.Complete(); got != tc.ok {
			t.Errorf("%s %q: %v, want %v", tc.extra, tc.text, got, tc.ok)
		}
	}
}

// A thinking budget (the server's, a request's thinking_budget_tokens, or
// Anthropic's budget_tokens) reaches the engine as a constraint on thinking
// replies only; a request's -1 lifts the server's; a forced call (whose
// prefix closes the thinking) takes none.
func TestThinkingBudgetRequests(t *testing.T) {
	ten := 10
	ts := newTestServer(t, Config{}, "<think>x</think>y", withTemplate(t, thinkTemplate), func(b *Backend) { b.ThinkingBudget = &ten })
	for _, tc := range []struct {
		path, body  string
		constrained bool
	}{
		{"/v1/chat/completions", `{"messages":[{"role":"user","content":"a"}]}`, true},
		{"/v1/chat/completions", `{"messages":[{"role":"user","content":"a"}],"thinking_budget_tokens":-1}`, false},
		{"/v1/chat/completions", `{"messages":[{"role":"user","content":"a"}],"thinking_budget_tokens":5,"thinking_budget_message":"끝."}`, true},
		{"/v1/messages", `{"max_tokens":9,"thinking":{"type":"enabled","budget_tokens":1024},"messages":[{"role":"user","content":"a"}]}`, true},
	} {
		if status, _, body := ts.do("POST", tc.path, tc.body); status != 200 || (ts.eng.last().Constraint != nil) != tc.constrained {
			t.Errorf("%s %s: %d %s, constrained %v", tc.path, tc.body, status, body, ts.eng.last().Constraint != nil)
		}
	}
	for _, bad := range []string{
		`{"messages":[{"role":"user","content":"a"}],"thinking_budget_tokens":-2}`,
	} {
		if status, _, body := ts.do("POST", "/v1/chat/completions", bad); status != 400 {
			t.Errorf("%s: %d %s", bad, status, body)
		}
	}
	if status, _, body := ts.do("POST", "/v1/messages", `{"max_tokens":9,"thinking":{"type":"enabled","budget_tokens":-5},"messages":[{"role":"user","content":"a"}]}`); status != 400 {
		t.Errorf("negative budget_tokens: %d %s", status, body)
	}
	// A model that does not think takes no budget.
	plain := newTestServer(t, Config{}, "y", func(b *Backend) { b.ThinkingBudget = &ten })
	if plain.do("POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"a"}]}`); plain.eng.last().Constraint != nil {
		t.Error("a model without thinking got a budget constraint")
	}
}
