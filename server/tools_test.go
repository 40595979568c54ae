package server

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/openai/openai-go"
	"github.com/openai/openai-go/option"

	"github.com/nuri-ai/nuri/chat"
	"github.com/nuri-ai/nuri/sample"
)

// hermesTemplate is a small Hermes-style template written for these
// tests: tools in a system turn, calls and results as Qwen-family
// templates show them.
const hermesTemplate = `{%- if tools %}<|im_start|>system
<tools>{% for t in tools %}{{ t | tojson }}{% endfor %}</tools><|im_end|>
{% endif %}
{%- for m in messages %}
{%- if m.role == 'tool' %}<|im_start|>user
<tool_response>{{ m.content }}</tool_response><|im_end|>
{% else %}<|im_start|>{{ m.role }}
{{ m.content }}{% for c in m.tool_calls %}<tool_call>{"name": "{{ c.function.name }}", "arguments": {{ c.function.arguments | tojson }}}</tool_call>{% endfor %}<|im_end|>
{% endif %}
{%- endfor %}
{%- if add_generation_prompt %}<|im_start|>assistant
{% endif %}`

const weatherTool = `[{"type": "function", "function": {"name": "get_weather", "description": "날씨를 알려 줍니다", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]`

// twoTools: with more than one tool, "required" cannot name the call.
const twoTools = `[{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}, {"type": "function", "function": {"name": "get_time"}}]`

func withTemplate(t *testing.T, src string) func(*Backend) {
	r, err := chat.New(src)
	if err != nil {
		t.Fatal(err)
	}
	return func(b *Backend) {
		b.Chat = r
		b.Engine.(*fakeEngine).nCtx = 4096 // byte tokens: a tools prompt is long
	}
}

func chatBodyWithTools(extra string) string {
	return `{"messages":[{"role":"user","content":"서울 날씨 어때?"}],"tools":` + weatherTool + extra + `}`
}

const callReply = "확인해 볼게요.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"서울\"}}\n</tool_call>"

// chatWithTools posts the weather question with its tool and returns the
// answer, decoded and raw, failing t unless it is a 200.
func chatWithTools(t *testing.T, ts *testServer) (chatResponse, []byte) {
	t.Helper()
	status, _, body := ts.do("POST", "/v1/chat/completions", chatBodyWithTools(""))
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	var resp chatResponse
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func TestChatToolCalls(t *testing.T) {
	ts := newTestServer(t, Config{}, callReply, withTemplate(t, hermesTemplate))
	resp, body := chatWithTools(t, ts)
	ch := resp.Choices[0]
	m := ch.Message
	if ch.FinishReason == nil || *ch.FinishReason != "tool_calls" || m.Content == nil || *m.Content != "확인해 볼게요." || len(m.ToolCalls) != 1 {
		t.Fatalf("choice %s", body)
	}
	c := m.ToolCalls[0]
	if !strings.HasPrefix(c.ID, "call_") || len(c.ID) != 29 || c.Type != "function" || c.Index != nil ||
		c.Function.Name != "get_weather" || c.Function.Arguments != `{"city":"서울"}` {
		t.Fatalf("call %+v", c)
	}
	// The template saw the tools as the client wrote them.
	prompt, _ := fakeTokenizer{}.Decode(ts.eng.last().Prompt, false)
	want := "<|im_start|>system\n<tools>" + `{"type": "function", "function": {"name": "get_weather", "description": "날씨를 알려 줍니다", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}` + "</tools><|im_end|>\n<|im_start|>user\n서울 날씨 어때?<|im_end|>\n<|im_start|>assistant\n"
	if string(prompt) != want {
		t.Fatalf("prompt %q\nwant %q", prompt, want)
	}
}

func TestChatToolCallsOnly(t *testing.T) {
	reply := "<tool_call>{\"name\": \"get_weather\", \"arguments\": {\"city\": \"부산\"}}</tool_call>\n<tool_call>{\"name\": \"get_weather\", \"arguments\": {\"city\": \"대구\"}}</tool_call>"
	ts := newTestServer(t, Config{}, reply, withTemplate(t, hermesTemplate))
	for _, tc := range []struct {
		extra string
		calls int
	}{{"", 2}, {`,"parallel_tool_calls":false`, 1}} {
		status, _, body := ts.do("POST", "/v1/chat/completions", chatBodyWithTools(tc.extra))
		if status != 200 || !strings.Contains(string(body), `"content":null`) {
			t.Fatalf("status %d, want null content: %s", status, body)
		}
		var resp chatResponse
		if err := json.Unmarshal(body, &resp); err != nil {
			t.Fatal(err)
		}
		calls := resp.Choices[0].Message.ToolCalls
		if len(calls) != tc.calls || calls[0].Function.Arguments != `{"city":"부산"}` {
			t.Fatalf("%s: calls %+v", tc.extra, calls)
		}
		if tc.calls == 2 && (calls[1].Function.Arguments != `{"city":"대구"}` || calls[0].ID == calls[1].ID) {
			t.Fatalf("calls %+v", calls)
		}
	}
}

func TestChatToolCallsStreaming(t *testing.T) {
	ts := newTestServer(t, Config{}, callReply+"\n", withTemplate(t, hermesTemplate))
	status, _, body := ts.do("POST", "/v1/chat/completions", chatBodyWithTools(`,"stream":true`))
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	var content strings.Builder
	var calls []toolCallOut
	finish := ""
	for _, e := range sseEvents(t, string(body)) {
		if e == "[DONE]" {
			continue
		}
		var c chatResponse
		if err := json.Unmarshal([]byte(e), &c); err != nil {
			t.Fatalf("chunk %s: %v", e, err)
		}
		d := c.Choices[0].Delta
		if d.Content != nil {
			if strings.Contains(*d.Content, "<") {
				t.Errorf("a call's text leaked into content: %q", *d.Content)
			}
			content.WriteString(*d.Content)
		}
		calls = append(calls, d.ToolCalls...)
		if f := c.Choices[0].FinishReason; f != nil {
			finish = *f
		}
	}
	if content.String() != "확인해 볼게요." || finish != "tool_calls" || len(calls) != 1 {
		t.Fatalf("content %q, finish %q, calls %+v", content.String(), finish, calls)
	}
	c := calls[0]
	if c.Index == nil || *c.Index != 0 || !strings.HasPrefix(c.ID, "call_") || c.Function.Arguments != `{"city":"서울"}` {
		t.Fatalf("call %+v", c)
	}
}

// tool_choice "required" and a named function start the reply with the
// call's opening; "none" shows no tools and parses nothing.
func TestChatToolChoice(t *testing.T) {
	for _, tc := range []struct {
		name, choice, reply, promptEnd, content string
		call                                    bool
	}{
		{"required", `"required"`, "{\"name\": \"get_weather\", \"arguments\": {\"city\": \"광주\"}}\n</tool_call>", "assistant\n<tool_call>\n", "", true},
		{"named", `{"type": "function", "function": {"name": "get_weather"}}`, "{\"city\": \"광주\"}}\n</tool_call>", `assistant` + "\n<tool_call>\n" + `{"name": "get_weather", "arguments": `, "", true},
		{"none", `"none"`, callReply, "<|im_start|>assistant\n", callReply, false},
		{"auto without a call", `"auto"`, "맑아요.", "<|im_start|>assistant\n", "맑아요.", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t, Config{}, tc.reply, withTemplate(t, hermesTemplate))
			for _, stream := range []string{"false", "true"} {
				req := chatBodyWithTools(`,"tool_choice":` + tc.choice + `,"stream":` + stream)
				if tc.name == "required" {
					req = strings.Replace(req, weatherTool, twoTools, 1)
				}
				status, _, body := ts.do("POST", "/v1/chat/completions", req)
				if status != 200 {
					t.Fatalf("status %d: %s", status, body)
				}
				prompt, _ := fakeTokenizer{}.Decode(ts.eng.last().Prompt, false)
				if !strings.HasSuffix(string(prompt), tc.promptEnd) || (tc.choice == `"none"`) == strings.Contains(string(prompt), "<tools>") {
					t.Fatalf("prompt %q", prompt)
				}
				content, calls, finish := replyOf(t, body, stream == "true")
				wantFinish := "stop"
				if tc.call {
					wantFinish = "tool_calls"
				}
				if content != tc.content || (len(calls) == 1) != tc.call || finish != wantFinish {
					t.Fatalf("stream %s: content %q, calls %+v, finish %s", stream, content, calls, finish)
				}
				if tc.call && calls[0].Function.Arguments != `{"city":"광주"}` {
					t.Fatalf("call %+v", calls[0])
				}
			}
		})
	}
}

// replyOf reads the first choice of a chat response or stream.
func replyOf(t *testing.T, body []byte, stream bool) (string, []toolCallOut, string) {
	t.Helper()
	if !stream {
		var resp chatResponse
		if err := json.Unmarshal(body, &resp); err != nil {
			t.Fatal(err)
		}
		m := resp.Choices[0].Message
		content := ""
		if m.Content != nil {
			content = *m.Content
		}
		return content, m.ToolCalls, *resp.Choices[0].FinishReason
	}
	var content strings.Builder
	var calls []toolCallOut
	finish := ""
	for _, e := range sseEvents(t, string(body)) {
		var c chatResponse
		if e == "[DONE]" || json.Unmarshal([]byte(e), &c) != nil || len(c.Choices) == 0 {
			continue
		}
		if d := c.Choices[0].Delta; d.Content != nil {
			content.WriteString(*d.Content)
		}
		calls = append(calls, c.Choices[0].Delta.ToolCalls...)
		if f := c.Choices[0].FinishReason; f != nil {
			finish = *f
		}
	}
	return content.String(), calls, finish
}

// A conversation's earlier calls and their results reach the template.
func TestChatToolHistory(t *testing.T) {
	ts := newTestServer(t, Config{}, "서울은 맑아요.", withTemplate(t, hermesTemplate))
	status, _, body := ts.do("POST", "/v1/chat/completions", `{"messages":[
		{"role":"user","content":"서울 날씨?"},
		{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\": \"서울\"}"}}]},
		{"role":"tool","tool_call_id":"call_1","content":"맑음"}],"tools":`+weatherTool+`}`)
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	prompt, _ := fakeTokenizer{}.Decode(ts.eng.last().Prompt, false)
	want := "<|im_start|>assistant\n<tool_call>{\"name\": \"get_weather\", \"arguments\": {\"city\": \"서울\"}}</tool_call><|im_end|>\n<|im_start|>user\n<tool_response>맑음</tool_response><|im_end|>\n<|im_start|>assistant\n"
	if !strings.HasSuffix(string(prompt), want) {
		t.Fatalf("prompt %q\nwant suffix %q", prompt, want)
	}
	if content, calls, finish := replyOf(t, body, false); content != "서울은 맑아요." || calls != nil || finish != "stop" {
		t.Fatalf("reply %q %v %s", content, calls, finish)
	}
}

func TestChatToolErrors(t *testing.T) {
	ts := newTestServer(t, Config{}, "ok", withTemplate(t, hermesTemplate))
	plain := newTestServer(t, Config{}, "ok", withTemplate(t, "{% for m in messages %}{{ m.content }}{% endfor %}"))
	unknown := newTestServer(t, Config{}, "ok", withTemplate(t, "{% if tools %}{{ tools | tojson }}{% endif %}{% for m in messages %}{{ m.content }}{% endfor %}"))
	user := `{"messages":[{"role":"user","content":"a"}]`
	for _, tc := range []struct {
		name  string
		srv   *testServer
		path  string
		body  string
		param string
		code  string
	}{
		{"built-in format", newTestServer(t, Config{}, "ok"), "/v1/chat/completions", chatBodyWithTools(""), "tools", "unsupported_parameter"},
		{"template without tools", plain, "/v1/chat/completions", chatBodyWithTools(""), "tools", "unsupported_parameter"},
		{"format not recognised", unknown, "/v1/chat/completions", chatBodyWithTools(""), "tools", "unsupported_parameter"},
		{"not a list", ts, "/v1/chat/completions", user + `,"tools":{"type":"function"}}`, "tools", ""},
		{"not a function", ts, "/v1/chat/completions", user + `,"tools":[{"type":"retrieval"}]}`, "tools[0].type", ""},
		{"bad name", ts, "/v1/chat/completions", user + `,"tools":[{"type":"function","function":{"name":"get weather"}}]}`, "tools[0].function.name", ""},
		{"twice", ts, "/v1/chat/completions", user + `,"tools":[{"type":"function","function":{"name":"f"}},{"type":"function","function":{"name":"f"}}]}`, "tools[1].function.name", ""},
		{"parameters not an object", ts, "/v1/chat/completions", user + `,"tools":[{"type":"function","function":{"name":"f","parameters":[1]}}]}`, "tools[0].function.parameters", ""},
		{"choice of an unknown function", ts, "/v1/chat/completions", chatBodyWithTools(`,"tool_choice":{"type":"function","function":{"name":"nope"}}`), "tool_choice", ""},
		{"required without tools", ts, "/v1/chat/completions", user + `,"tool_choice":"required"}`, "tool_choice", ""},
		{"bad choice", ts, "/v1/chat/completions", chatBodyWithTools(`,"tool_choice":"always"`), "tool_choice", ""},
		{"functions beside tools", ts, "/v1/chat/completions", chatBodyWithTools(`,"functions":[{"name":"f"}]`), "functions", ""},
		{"functions not a list", ts, "/v1/chat/completions", user + `,"functions":{"name":"f"}}`, "functions", ""},
		{"function not an object", ts, "/v1/chat/completions", user + `,"functions":["f"]}`, "functions[0]", ""},
		{"function_call beside tool_choice", ts, "/v1/chat/completions", user + `,"functions":[{"name":"f"}],"function_call":"auto","tool_choice":"auto"}`, "function_call", ""},
		{"bad function_call", ts, "/v1/chat/completions", user + `,"functions":[{"name":"f"}],"function_call":"always"}`, "function_call", ""},
		{"function_call of an unknown function", ts, "/v1/chat/completions", user + `,"functions":[{"name":"f"}],"function_call":{"name":"g"}}`, "tool_choice", ""},
		{"function message without a name", ts, "/v1/chat/completions", `{"messages":[{"role":"function","content":"a"}]}`, "messages[0].name", ""},
		{"function_call beside tool_calls", ts, "/v1/chat/completions", `{"messages":[{"role":"assistant","function_call":{"name":"f","arguments":"{}"},"tool_calls":[{"type":"function","function":{"name":"f","arguments":"{}"}}]}]}`, "messages[0].function_call", ""},
		{"user gives a function_call", ts, "/v1/chat/completions", `{"messages":[{"role":"user","content":"a","function_call":{"name":"f","arguments":"{}"}}]}`, "messages[0].function_call", ""},
		{"user makes calls", ts, "/v1/chat/completions", `{"messages":[{"role":"user","content":"a","tool_calls":[{"type":"function","function":{"name":"f","arguments":"{}"}}]}]}`, "messages[0].tool_calls", ""},
		{"call without a name", ts, "/v1/chat/completions", `{"messages":[{"role":"assistant","tool_calls":[{"type":"function","function":{"arguments":"{}"}}]}]}`, "messages[0].tool_calls[0].function.name", ""},
		{"completions", ts, "/v1/completions", `{"prompt":"a","tools":` + weatherTool + `}`, "tools", "unsupported_parameter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := tc.srv.do("POST", tc.path, tc.body)
			if status != 400 {
				t.Fatalf("status %d: %s", status, body)
			}
			checkErrorShape(t, body, tc.param, tc.code)
		})
	}
	// tool_choice "none" and "auto" without tools, and tools with
	// tool_choice "none" on a template that cannot show them, are fine.
	for _, body := range []string{user + `,"tool_choice":"none"}`, user + `,"tool_choice":"auto","tools":[]}`, chatBodyWithTools(`,"tool_choice":"none"`)} {
		if status, _, out := plain.do("POST", "/v1/chat/completions", body); status != 200 {
			t.Errorf("%s: status %d: %s", body, status, out)
		}
	}
}

// OpenAI's deprecated functions API: functions are tools, a reply's call
// comes back as function_call (one, finishing "function_call"), and a
// history's function_call and "function" message are a call and its
// answer.
func TestChatLegacyFunctions(t *testing.T) {
	fn := `[{"name": "get_weather", "description": "날씨를 알려 줍니다", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}]`
	reply := "<tool_call>{\"name\": \"get_weather\", \"arguments\": {\"city\": \"부산\"}}</tool_call>\n<tool_call>{\"name\": \"get_weather\", \"arguments\": {\"city\": \"대구\"}}</tool_call>"
	ts := newTestServer(t, Config{}, reply, withTemplate(t, hermesTemplate))
	for _, stream := range []bool{false, true} {
		status, _, body := ts.do("POST", "/v1/chat/completions", fmt.Sprintf(`{"messages":[{"role":"user","content":"부산 날씨?"}],"functions":%s,"stream":%v}`, fn, stream))
		if status != 200 {
			t.Fatalf("stream %v: status %d: %s", stream, status, body)
		}
		var call *toolFunction
		calls, finish := 0, ""
		if !stream {
			var resp chatResponse
			if err := json.Unmarshal(body, &resp); err != nil {
				t.Fatal(err)
			}
			m := resp.Choices[0].Message
			call, calls, finish = m.FunctionCall, len(m.ToolCalls), *resp.Choices[0].FinishReason
			if m.Content != nil || !strings.Contains(string(body), `"content":null`) {
				t.Fatalf("content of a call: %s", body)
			}
		} else {
			for _, e := range sseEvents(t, string(body)) {
				var c chatResponse
				if e == "[DONE]" || json.Unmarshal([]byte(e), &c) != nil || len(c.Choices) == 0 {
					continue
				}
				if d := c.Choices[0].Delta; d.FunctionCall != nil {
					if call != nil {
						t.Fatalf("two function_calls: %s", body)
					}
					call = d.FunctionCall
				}
				calls += len(c.Choices[0].Delta.ToolCalls)
				if f := c.Choices[0].FinishReason; f != nil {
					finish = *f
				}
			}
		}
		// One call: the deprecated message holds one.
		if call == nil || call.Name != "get_weather" || call.Arguments != `{"city":"부산"}` || calls != 0 || finish != "function_call" {
			t.Fatalf("stream %v: call %+v, %d tool calls, finish %q: %s", stream, call, calls, finish, body)
		}
		prompt, _ := fakeTokenizer{}.Decode(ts.eng.last().Prompt, false)
		if !strings.Contains(string(prompt), `<tools>{"type": "function", "function": {"name": "get_weather", "description": "날씨를 알려 줍니다"`) {
			t.Fatalf("the template was not shown the function as a tool: %q", prompt)
		}
	}
	// function_call "none" shows no tools; a named one forces its call.
	status, _, body := ts.do("POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"a"}],"functions":`+fn+`,"function_call":"none"}`)
	if prompt, _ := (fakeTokenizer{}).Decode(ts.eng.last().Prompt, false); status != 200 || strings.Contains(string(prompt), "<tools>") {
		t.Fatalf("function_call none: status %d, prompt %q: %s", status, prompt, body)
	}
	status, _, body = ts.do("POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"a"}],"functions":`+fn+`,"function_call":{"name":"get_weather"}}`)
	if prompt, _ := (fakeTokenizer{}).Decode(ts.eng.last().Prompt, false); status != 200 || !strings.HasSuffix(string(prompt), `<tool_call>
{"name": "get_weather", "arguments": `) {
		t.Fatalf("named function_call: status %d, prompt %q: %s", status, prompt, body)
	}
	// A history in the deprecated form.
	hist := newTestServer(t, Config{}, "부산은 맑아요.", withTemplate(t, hermesTemplate))
	status, _, body = hist.do("POST", "/v1/chat/completions", `{"messages":[
		{"role":"user","content":"부산 날씨?"},
		{"role":"assistant","content":null,"function_call":{"name":"get_weather","arguments":"{\"city\": \"부산\"}"}},
		{"role":"function","name":"get_weather","content":"맑음"}],"functions":`+fn+`}`)
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	prompt, _ := fakeTokenizer{}.Decode(hist.eng.last().Prompt, false)
	want := "<|im_start|>assistant\n<tool_call>{\"name\": \"get_weather\", \"arguments\": {\"city\": \"부산\"}}</tool_call><|im_end|>\n<|im_start|>user\n<tool_response>맑음</tool_response><|im_end|>\n<|im_start|>assistant\n"
	if !strings.HasSuffix(string(prompt), want) {
		t.Fatalf("prompt %q\nwant suffix %q", prompt, want)
	}
	var resp chatResponse
	if err := json.Unmarshal(body, &resp); err != nil || resp.Choices[0].Message.FunctionCall != nil || *resp.Choices[0].FinishReason != "stop" {
		t.Fatalf("reply %s", body)
	}
	// OpenAI's Go client still speaks it.
	client := openai.NewClient(option.WithBaseURL(ts.url+"/v1"), option.WithAPIKey("unused"), option.WithMaxRetries(0))
	params := openai.ChatCompletionNewParams{
		Model:    "fake-model",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("부산 날씨?")},
		//lint:ignore SA1019 the deprecated functions API is what this checks
		Functions: []openai.ChatCompletionNewParamsFunction{{Name: "get_weather",
			Parameters: openai.FunctionParameters{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}}}},
		FunctionCall: openai.ChatCompletionNewParamsFunctionCallUnion{OfFunctionCallMode: openai.String("auto")},
	}
	out, err := client.Chat.Completions.New(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	//lint:ignore SA1019 the deprecated functions API is what this checks
	if fc := out.Choices[0].Message.FunctionCall; fc.Name != "get_weather" || fc.Arguments != `{"city":"부산"}` || out.Choices[0].FinishReason != "function_call" {
		t.Fatalf("response %+v", out.Choices[0])
	}
}

// OpenAI's own Go client reads the calls, whole and streamed.
func TestChatToolCallsOpenAIClient(t *testing.T) {
	ts := newTestServer(t, Config{}, callReply, withTemplate(t, hermesTemplate))
	client := openai.NewClient(option.WithBaseURL(ts.url+"/v1"), option.WithAPIKey("unused"), option.WithMaxRetries(0))
	params := openai.ChatCompletionNewParams{
		Model:    "fake-model",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("서울 날씨 어때?")},
		Tools: []openai.ChatCompletionToolParam{{Function: openai.FunctionDefinitionParam{
			Name:       "get_weather",
			Parameters: openai.FunctionParameters{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}},
		}}},
	}
	ctx := context.Background()
	resp, err := client.Chat.Completions.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	calls := resp.Choices[0].Message.ToolCalls
	if len(calls) != 1 || calls[0].Function.Name != "get_weather" || calls[0].Function.Arguments != `{"city":"서울"}` || resp.Choices[0].FinishReason != "tool_calls" {
		t.Fatalf("response %+v", resp.Choices[0])
	}
	stream := client.Chat.Completions.NewStreaming(ctx, params)
	var acc openai.ChatCompletionAccumulator
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	calls = acc.Choices[0].Message.ToolCalls
	if len(calls) != 1 || calls[0].Function.Arguments != `{"city":"서울"}` || !strings.HasPrefix(calls[0].ID, "call_") ||
		acc.Choices[0].Message.Content != "확인해 볼게요." || acc.Choices[0].FinishReason != "tool_calls" {
		t.Fatalf("accumulated %+v", acc.Choices[0])
	}
}

// markerTok has "<tool_call>" as one token, as Qwen's vocabulary does.
type markerTok struct{ fakeTokenizer }

func (m markerTok) Encode(text string, addSpecial, parseSpecial bool) ([]int32, error) {
	if text == "<tool_call>" && parseSpecial {
		return []int32{300}, nil
	}
	return m.fakeTokenizer.Encode(text, addSpecial, parseSpecial)
}

func TestMarkerTexts(t *testing.T) {
	if got := markerTexts(markerTok{}, chat.ToolsHermes.Markers()); len(got) != 1 || got[300] != "<tool_call>" {
		t.Fatalf("got %v, want 300: <tool_call>: only the marker that is one token", got)
	}
	if got := markerTexts(markerTok{}, chat.ToolsNone.Markers()); len(got) != 0 {
		t.Fatalf("none: %v", got)
	}
}

// A forced call is held to its JSON: the named function's arguments under
// its parameters schema, or for "required" a call naming one of the
// tools with that tool's arguments, each closed by the format's marker.
func TestForcedCallConstraint(t *testing.T) {
	ts := newTestServer(t, Config{}, "{\"city\": \"서울\"}}\n</tool_call>", withTemplate(t, hermesTemplate))
	feed := func(c sample.Constraint, s string) bool {
		for _, b := range []byte(s) {
			if !c.Allows(int32(b) + 3) {
				return false
			}
			c.Accept(int32(b) + 3)
		}
		return c.Complete()
	}
	for _, tc := range []struct {
		choice    string
		good, bad []string
	}{
		{`{"type": "function", "function": {"name": "get_weather"}}`,
			[]string{"{\"city\": \"서울\"}}\n</tool_call>"},
			[]string{"{\"town\": \"서울\"}}\n</tool_call>", "{}}\n</tool_call>", "{\"city\": \"서울\"}}", "{\"city\": 1}}\n</tool_call>"}},
		{`"required"`,
			[]string{"{\"name\": \"get_weather\", \"arguments\": {\"city\": \"부산\"}}\n</tool_call>", "{\"name\": \"get_time\", \"arguments\": {}}\n</tool_call>"},
			[]string{"{\"name\": \"nope\", \"arguments\": {}}\n</tool_call>", "{\"arguments\": {}}\n</tool_call>", "{\"name\": \"get_weather\", \"arguments\": []}\n</tool_call>",
				"{\"name\": \"get_weather\", \"arguments\": {\"city\": 1}}\n</tool_call>", "{\"name\": \"get_time\", \"arguments\": {\"city\": \"부산\"}}\n</tool_call>"}},
		{`"required"`, // one tool: named, and its schema holds
			[]string{"{\"city\": \"부산\"}}\n</tool_call>"},
			[]string{"{\"name\": \"get_weather\", \"arguments\": {\"city\": \"부산\"}}\n</tool_call>"}},
	} {
		req := chatBodyWithTools(`,"tool_choice":` + tc.choice)
		if tc.choice == `"required"` && strings.Contains(tc.good[0], "name") {
			req = strings.Replace(req, weatherTool, twoTools, 1)
		}
		status, _, body := ts.do("POST", "/v1/chat/completions", req)
		if status != 200 {
			t.Fatalf("status %d: %s", status, body)
		}
		r := ts.eng.last()
		if r.Constraint == nil {
			t.Fatalf("%s: no constraint", tc.choice)
		}
		for _, s := range tc.good {
			if !feed(r.Constraint(), s) {
				t.Errorf("%s: %q refused", tc.choice, s)
			}
		}
		for _, s := range tc.bad {
			if feed(r.Constraint(), s) {
				t.Errorf("%s: %q accepted", tc.choice, s)
			}
		}
	}
	strictTool := `[{"type": "function", "function": {"name": "f", "strict": true, "parameters": {"type": "object", "properties": {"s": {"type": "integer", "multipleOf": 0.1}}}}}]`
	looseTool := strings.Replace(strictTool, `"strict": true`, `"strict": false`, 1)
	for _, tc := range []struct {
		body   string
		status int
	}{
		{`{"messages":[{"role":"user","content":"a"}],"tools":` + strictTool + `,"tool_choice":"required"}`, 400}, // one tool: named
		{`{"messages":[{"role":"user","content":"a"}],"tools":` + strictTool + `,"tool_choice":{"type":"function","function":{"name":"f"}}}`, 400},
		{`{"messages":[{"role":"user","content":"a"}],"tools":` + looseTool + `,"tool_choice":{"type":"function","function":{"name":"f"}}}`, 200},
		{`{"messages":[{"role":"user","content":"a"}],"tools":` + looseTool + `,"tool_choice":"required","response_format":{"type":"json_object"}}`, 400},
	} {
		if status, _, body := ts.do("POST", "/v1/chat/completions", tc.body); status != tc.status {
			t.Errorf("%s: status %d, want %d: %s", tc.body, status, tc.status, body)
		}
	}
}

// Beyond 64 tools "required" forces only the call's opening: no enum can
// list the names.
func TestForcedCallManyTools(t *testing.T) {
	ts := newTestServer(t, Config{}, "{\"name\": \"f7\", \"arguments\": {}}\n</tool_call>", withTemplate(t, hermesTemplate))
	var tools []string
	for i := range 65 {
		tools = append(tools, fmt.Sprintf(`{"type": "function", "function": {"name": "f%d"}}`, i))
	}
	status, _, body := ts.do("POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"a"}],"tool_choice":"required","tools":[`+strings.Join(tools, ",")+`]}`)
	if status != 200 || ts.eng.last().Constraint != nil {
		t.Fatalf("status %d, constrained %v: %s", status, ts.eng.last().Constraint != nil, body)
	}
	if content, calls, finish := replyOf(t, body, false); content != "" || len(calls) != 1 || calls[0].Function.Name != "f7" || finish != "tool_calls" {
		t.Fatalf("reply %q %+v %s", content, calls, finish)
	}
}

// Under tool_choice "auto" the reply is free, but a call the model opens
// is held to the tools' schemas and its closing marker, and the reply
// cannot end inside one. response_format, --free-tool-calls and a format
// without an opening marker leave it as before.
func TestLazyCallConstraint(t *testing.T) {
	// feed runs s through c and reports whether every byte was allowed
	// and whether the reply may end there.
	feed := func(c sample.Constraint, s string) (bool, bool) {
		for _, b := range []byte(s) {
			if !c.Allows(int32(b) + 3) {
				return false, false
			}
			c.Accept(int32(b) + 3)
		}
		return true, c.Allows(2)
	}
	ts := newTestServer(t, Config{}, callReply, withTemplate(t, hermesTemplate))
	for _, tc := range []struct {
		text          string
		allowed, ends bool
	}{
		{"그냥 산문으로 답할게요. {not a call}", true, true},
		{callReply, true, true},
		{callReply + "\n" + strings.Replace(callReply, "서울", "부산", 1) + "\n끝.", true, true},
		{"<tool_call>\n{\"name\": \"get_time\", \"arguments\": {}}\n</tool_call>", false, false},      // not a tool of this request
		{"<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"town\": \"서울\"}}", false, false}, // off its schema
		{"<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"서울\"}}</tool_call>", false, false},
		{"<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"서", true, false}, // open: no end yet
		{"<tool_call>\n저는", false, false},
	} {
		status, _, body := ts.do("POST", "/v1/chat/completions", chatBodyWithTools(""))
		if status != 200 {
			t.Fatalf("status %d: %s", status, body)
		}
		c := ts.eng.last().Constraint
		if c == nil {
			t.Fatal("tool_choice auto: no constraint")
		}
		if allowed, ends := feed(c(), tc.text); allowed != tc.allowed || allowed && ends != tc.ends {
			t.Errorf("%q: allowed %v, may end %v; want %v, %v", tc.text, allowed, ends, tc.allowed, tc.ends)
		}
	}
	// parallel_tool_calls false: the reply ends with its first call.
	if status, _, body := ts.do("POST", "/v1/chat/completions", chatBodyWithTools(`,"parallel_tool_calls":false`)); status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	once := ts.eng.last().Constraint()
	if ok, _ := feed(once, callReply); !ok || !once.Complete() || once.Allows(int32('\n')+3) {
		t.Errorf("parallel_tool_calls false: allowed %v, complete %v after a call", ok, once.Complete())
	}
	// More tools than the name's enum holds: any name, any object.
	var many []string
	for i := range 65 {
		many = append(many, fmt.Sprintf(`{"type": "function", "function": {"name": "f%d"}}`, i))
	}
	status, _, body := ts.do("POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"a"}],"tools":[`+strings.Join(many, ",")+`]}`)
	if status != 200 || ts.eng.last().Constraint == nil {
		t.Fatalf("65 tools: status %d: %s", status, body)
	}
	if ok, _ := feed(ts.eng.last().Constraint(), "<tool_call>\n{\"name\": \"f7\", \"arguments\": {}}\n</tool_call>"); !ok {
		t.Error("65 tools: a call refused")
	}
	if ok, _ := feed(ts.eng.last().Constraint(), "<tool_call>\n{\"arguments\": {}}"); ok {
		t.Error("65 tools: a call without a name allowed")
	}
	// response_format holds the whole reply; tool_choice none and a
	// strict schema the recognizer cannot enforce are as before.
	status, _, body = ts.do("POST", "/v1/chat/completions", chatBodyWithTools(`,"response_format":{"type":"json_object"}`))
	if status != 200 {
		t.Fatalf("response_format: status %d: %s", status, body)
	}
	if ok, _ := feed(ts.eng.last().Constraint(), "<tool_call>"); ok {
		t.Error("response_format with tools: a call marker allowed")
	}
	if status, _, body = ts.do("POST", "/v1/chat/completions", chatBodyWithTools(`,"tool_choice":"none"`)); status != 200 || ts.eng.last().Constraint != nil {
		t.Errorf("tool_choice none: status %d, constrained %v: %s", status, ts.eng.last().Constraint != nil, body)
	}
	strictTool := `[{"type": "function", "function": {"name": "f", "strict": true, "parameters": {"type": "object", "properties": {"s": {"type": "integer", "multipleOf": 0.1}}}}}]`
	if status, _, body = ts.do("POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"a"}],"tools":`+strictTool+`}`); status != 400 {
		t.Errorf("strict schema that cannot be enforced: status %d: %s", status, body)
	}

	free := newTestServer(t, Config{}, callReply, withTemplate(t, hermesTemplate), func(b *Backend) { b.FreeToolCalls = true })
	if status, _, body = free.do("POST", "/v1/chat/completions", chatBodyWithTools("")); status != 200 || free.eng.last().Constraint != nil {
		t.Errorf("FreeToolCalls: status %d, constrained %v: %s", status, free.eng.last().Constraint != nil, body)
	}
	llama := newTestServer(t, Config{}, callReply, withTemplate(t, hermesTemplate), func(b *Backend) { b.ToolFormat = chat.ToolsLlama3 })
	if status, _, body = llama.do("POST", "/v1/chat/completions", chatBodyWithTools("")); status != 200 || llama.eng.last().Constraint != nil {
		t.Errorf("llama3 format: status %d, constrained %v: %s", status, llama.eng.last().Constraint != nil, body)
	}
}

// solarTemplate writes calls and results as Upstage's Solar Open template
// does: the call's id, name and arguments between its markers, results
// under the call's id.
const solarTemplate = `{%- if tools %}<|begin|>system<|content|><|tools:begin|>{% for t in tools %}<|tool:begin|>{{ t.function | tojson }}<|tool:end|>{% endfor %}<|tools:end|><|end|>{% endif %}
{%- for m in messages %}
{%- if m.role == 'tool' %}<|begin|>tool<|tool_response:id|>{{ m.tool_call_id }}<|tool_response:result|>{{ m.content }}<|tool_response:end|><|end|>
{%- else %}<|begin|>{{ m.role }}<|content|>{{ m.content }}{% for c in m.tool_calls %}<|tool_call:begin|>{{ c.id }}<|tool_call:name|>{{ c.function.name }}<|tool_call:args|>{{ c.function.arguments | tojson }}<|tool_call:end|>{% endfor %}<|end|>
{%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}<|begin|>assistant<|content|>{% endif %}`

// Solar Open's calls: parsed with the model's own id, which comes back in
// the history under the same id; a named tool_choice writes the call up
// to its arguments, with an id in the template's form.
func TestChatToolCallsSolar(t *testing.T) {
	reply := "확인할게요.<|tool_call:begin|>k3j9x0a1b2<|tool_call:name|>get_weather<|tool_call:args|>{\"city\": \"서울\"}<|tool_call:end|>"
	ts := newTestServer(t, Config{}, reply, withTemplate(t, solarTemplate))
	resp, body := chatWithTools(t, ts)
	m := resp.Choices[0].Message
	if m.Content == nil || *m.Content != "확인할게요." || len(m.ToolCalls) != 1 || m.ToolCalls[0].ID != "k3j9x0a1b2" ||
		m.ToolCalls[0].Function.Name != "get_weather" || m.ToolCalls[0].Function.Arguments != `{"city":"서울"}` {
		t.Fatalf("reply %s", body)
	}
	status, _, body := ts.do("POST", "/v1/chat/completions", `{"messages":[
		{"role":"user","content":"서울 날씨?"},
		{"role":"assistant","content":"","tool_calls":[{"id":"k3j9x0a1b2","type":"function","function":{"name":"get_weather","arguments":"{\"city\": \"서울\"}"}}]},
		{"role":"tool","tool_call_id":"k3j9x0a1b2","content":"맑음"}],"tools":`+weatherTool+`}`)
	if status != 200 {
		t.Fatalf("history: status %d: %s", status, body)
	}
	prompt, _ := fakeTokenizer{}.Decode(ts.eng.last().Prompt, false)
	want := `<|tool_call:begin|>k3j9x0a1b2<|tool_call:name|>get_weather<|tool_call:args|>{"city": "서울"}<|tool_call:end|><|end|><|begin|>tool<|tool_response:id|>k3j9x0a1b2<|tool_response:result|>맑음`
	if !strings.Contains(string(prompt), want) {
		t.Fatalf("history prompt %q\nwant %q in it", prompt, want)
	}
	named := newTestServer(t, Config{}, `{"city": "광주"}<|tool_call:end|>`, withTemplate(t, solarTemplate))
	status, _, body = named.do("POST", "/v1/chat/completions", chatBodyWithTools(`,"tool_choice":{"type": "function", "function": {"name": "get_weather"}}`))
	if status != 200 {
		t.Fatalf("named: status %d: %s", status, body)
	}
	prompt, _ = fakeTokenizer{}.Decode(named.eng.last().Prompt, false)
	if !strings.HasSuffix(string(prompt), "<|tool_call:name|>get_weather<|tool_call:args|>") || !strings.Contains(string(prompt), "<|content|><|tool_call:begin|>") {
		t.Fatalf("named prompt %q", prompt)
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatal(err)
	}
	if c := resp.Choices[0].Message.ToolCalls; len(c) != 1 || len(c[0].ID) != 10 || c[0].Function.Arguments != `{"city":"광주"}` {
		t.Fatalf("named reply %s", body)
	}
}

// gemma4ToolTemplate writes tools, calls and results in Gemma 4's
// notation (written for this test; Gemma 4's own template converts the
// arguments' JSON to its notation, which this one only copies).
const gemma4ToolTemplate = `{%- if tools %}<|turn>system
{% for t in tools %}<|tool>declaration:{{ t.function.name }}<tool|>{% endfor %}<turn|>
{% endif %}
{%- for m in messages %}
{%- if m.role == 'tool' %}<|tool_response>response:{{ m.name }}{value:<|"|>{{ m.content }}<|"|>}<tool_response|>
{%- else %}<|turn>{{ m.role }}
{{ m.content }}{% for c in m.tool_calls %}<|tool_call>call:{{ c.function.name }}{{ c.function.arguments }}<tool_call|>{% endfor %}<turn|>
{% endif %}
{%- endfor %}
{%- if add_generation_prompt %}<|turn>model
{% endif %}`

// Gemma 4's calls come back as JSON arguments; a named tool_choice opens
// the call up to its arguments, which the model writes in its notation
// (not held to the schema: they are not JSON).
func TestChatToolCallsGemma4(t *testing.T) {
	reply := `확인할게요.<|tool_call>call:get_weather{city:<|"|>서울<|"|>}<tool_call|>`
	ts := newTestServer(t, Config{}, reply, withTemplate(t, gemma4ToolTemplate))
	resp, body := chatWithTools(t, ts)
	m := resp.Choices[0].Message
	if m.Content == nil || *m.Content != "확인할게요." || len(m.ToolCalls) != 1 ||
		m.ToolCalls[0].Function.Name != "get_weather" || m.ToolCalls[0].Function.Arguments != `{"city":"서울"}` {
		t.Fatalf("reply %s", body)
	}
	named := newTestServer(t, Config{}, `{city:<|"|>광주<|"|>}<tool_call|>`, withTemplate(t, gemma4ToolTemplate))
	status, _, body := named.do("POST", "/v1/chat/completions", chatBodyWithTools(`,"tool_choice":{"type": "function", "function": {"name": "get_weather"}}`))
	if status != 200 {
		t.Fatalf("named: status %d: %s", status, body)
	}
	prompt, _ := fakeTokenizer{}.Decode(named.eng.last().Prompt, false)
	if !strings.HasSuffix(string(prompt), "<|turn>model\n<|tool_call>call:get_weather") || named.eng.last().Constraint != nil {
		t.Fatalf("named prompt %q, constrained %v", prompt, named.eng.last().Constraint != nil)
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatal(err)
	}
	if c := resp.Choices[0].Message.ToolCalls; len(c) != 1 || c[0].Function.Name != "get_weather" || c[0].Function.Arguments != `{"city":"광주"}` {
		t.Fatalf("named reply %s", body)
	}
}

// mistralToolTemplate writes tools and calls as Ministral 3's template
// does (written for this test).
const mistralToolTemplate = `{%- if tools %}[AVAILABLE_TOOLS]{{ tools | tojson }}[/AVAILABLE_TOOLS]{% endif %}
{%- for m in messages %}
{%- if m.role == 'user' %}[INST]{{ m.content }}[/INST]
{%- elif m.role == 'tool' %}[TOOL_RESULTS]{{ m.content }}[/TOOL_RESULTS]
{%- else %}{{ m.content }}{% for c in m.tool_calls %}[TOOL_CALLS]{{ c.function.name }}[ARGS]{{ c.function.arguments }}{% endfor %}</s>
{%- endif %}
{%- endfor %}`

// Mistral's calls: parsed after [TOOL_CALLS], ended by their JSON; a
// named tool_choice writes the call up to [ARGS] and holds the arguments
// to the schema, with nothing after them.
func TestChatToolCallsMistral(t *testing.T) {
	reply := `확인할게요.[TOOL_CALLS]get_weather[ARGS]{"city": "서울"}`
	ts := newTestServer(t, Config{}, reply, withTemplate(t, mistralToolTemplate))
	resp, body := chatWithTools(t, ts)
	m := resp.Choices[0].Message
	if m.Content == nil || *m.Content != "확인할게요." || len(m.ToolCalls) != 1 ||
		m.ToolCalls[0].Function.Name != "get_weather" || m.ToolCalls[0].Function.Arguments != `{"city":"서울"}` {
		t.Fatalf("reply %s", body)
	}
	named := newTestServer(t, Config{}, `{"city": "광주"}`, withTemplate(t, mistralToolTemplate))
	status, _, body := named.do("POST", "/v1/chat/completions", chatBodyWithTools(`,"tool_choice":{"type": "function", "function": {"name": "get_weather"}}`))
	if status != 200 {
		t.Fatalf("named: status %d: %s", status, body)
	}
	prompt, _ := fakeTokenizer{}.Decode(named.eng.last().Prompt, false)
	if !strings.HasSuffix(string(prompt), "[TOOL_CALLS]get_weather[ARGS]") || named.eng.last().Constraint == nil {
		t.Fatalf("named prompt %q, constrained %v", prompt, named.eng.last().Constraint != nil)
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatal(err)
	}
	if c := resp.Choices[0].Message.ToolCalls; len(c) != 1 || c[0].Function.Arguments != `{"city":"광주"}` {
		t.Fatalf("named reply %s", body)
	}
}

// The server's template variables (--chat-template-kwargs) reach every
// chat route's template; a request's own win key by key.
func TestTemplateKwargsDefaults(t *testing.T) {
	const tmpl = `{% if enable_thinking is defined and not enable_thinking %}[no-think]{% endif %}{% if lang is defined %}[{{ lang }}]{% endif %}{% for m in messages %}{{ m.content }}{% endfor %}`
	ts := newTestServer(t, Config{}, "ok", withTemplate(t, tmpl), func(b *Backend) {
		b.TemplateKwargs = map[string]any{"enable_thinking": false, "lang": "ko"}
	})
	for _, tc := range []struct{ path, body, want string }{
		{"/v1/chat/completions", `{"messages":[{"role":"user","content":"안녕"}]}`, "[no-think][ko]안녕"},
		{"/v1/chat/completions", `{"messages":[{"role":"user","content":"안녕"}],"chat_template_kwargs":{"enable_thinking":true}}`, "[ko]안녕"},
		{"/v1/responses", `{"input":"안녕","chat_template_kwargs":{"lang":"en"}}`, "[no-think][en]안녕"},
		{"/v1/messages", `{"max_tokens":5,"messages":[{"role":"user","content":"안녕"}]}`, "[no-think][ko]안녕"},
		{"/api/chat", `{"model":"fake-model","stream":false,"messages":[{"role":"user","content":"안녕"}],"think":true}`, "[ko]안녕"},
	} {
		if status, _, raw := ts.do("POST", tc.path, tc.body); status != 200 {
			t.Fatalf("%s %s: %d %s", tc.path, tc.body, status, raw)
		}
		if got := string(mustDecode(t, ts.eng.last().Prompt)); !strings.HasSuffix(got, tc.want) {
			t.Errorf("%s %s: prompt %q, want it to end %q", tc.path, tc.body, got, tc.want)
		}
	}
	status, _, raw := ts.do("POST", "/apply-template", `{"messages":[{"role":"user","content":"안녕"}]}`)
	if status != 200 || !strings.Contains(string(raw), "[no-think][ko]안녕") {
		t.Errorf("/apply-template: %d %s", status, raw)
	}
}
