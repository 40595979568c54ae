package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"
)

// anthropicEvents parses a Messages stream into its events, checking
// that each SSE event's name is its data's type.
func anthropicEvents(t *testing.T, body []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, chunk := range strings.Split(strings.TrimSpace(string(body)), "\n\n") {
		var name, data string
		for _, line := range strings.Split(chunk, "\n") {
			switch {
			case strings.HasPrefix(line, "event: "):
				name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				data = strings.TrimPrefix(line, "data: ")
			}
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(data), &m); err != nil {
			t.Fatalf("event %q: %v", chunk, err)
		}
		if m["type"] != name {
			t.Fatalf("event named %q carries type %v", name, m["type"])
		}
		out = append(out, m)
	}
	return out
}

// anthropicTypes lists the events' types, pings left out.
func anthropicTypes(evs []map[string]any) []string {
	var out []string
	for _, e := range evs {
		if e["type"] != "ping" {
			out = append(out, e["type"].(string))
		}
	}
	return out
}

// A plain exchange: the fields reach the engine, the system prompt and
// the turns reach the template, and the reply comes whole or as events
// whose deltas add up to it, with the stop reason and usage.
func TestAnthropicMessages(t *testing.T) {
	ts := newTestServer(t, Config{ModelName: "base"}, "안녕하세요, 반갑습니다")
	req := `{"model":"base","max_tokens":64,"system":[{"type":"text","text":"친절하게"}],"temperature":0.5,"top_k":3,"top_p":0.9,
		"stop_sequences":["끝"],"metadata":{"user_id":"u1"},
		"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":[{"type":"text","text":"yes?"}]},{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}]`
	status, hdr, body := ts.do("POST", "/v1/messages", req+`}`, "anthropic-version", "2023-06-01")
	if status != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
		t.Fatalf("%d %s", status, body)
	}
	var r anthropicReply
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(r.ID, "msg_") || r.Type != "message" || r.Role != "assistant" || r.Model != "base" ||
		len(r.Content) != 1 || r.Content[0].Type != "text" || *r.Content[0].Text != "안녕하세요, 반갑습니다" ||
		*r.StopReason != "end_turn" || r.StopSequence != nil || r.Usage.OutputTokens != len("안녕하세요, 반갑습니다") {
		t.Fatalf("reply %s", body)
	}
	last := ts.eng.last()
	if r.Usage.InputTokens != len(last.Prompt) {
		t.Errorf("input_tokens %d, prompt %d", r.Usage.InputTokens, len(last.Prompt))
	}
	p := last.Sampling
	if p.Temperature != 0.5 || p.TopK != 3 || p.TopP != 0.9 || last.MaxTokens != 64 || !slices.Equal(last.Stop, []string{"끝"}) {
		t.Fatalf("request %+v", last)
	}
	want := "<|im_start|>system\n친절하게<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nyes?<|im_end|>\n<|im_start|>user\na\nb<|im_end|>\n<|im_start|>assistant\n"
	if got := string(mustDecode(t, last.Prompt)); got != want {
		t.Errorf("prompt %q\nwant %q", got, want)
	}

	status, hdr, body = ts.do("POST", "/v1/messages", req+`,"stream":true}`)
	if status != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("stream: %d %v %s", status, hdr, body)
	}
	evs := anthropicEvents(t, body)
	types := anthropicTypes(evs)
	if types[0] != "message_start" || types[1] != "content_block_start" || types[len(types)-3] != "content_block_stop" ||
		types[len(types)-2] != "message_delta" || types[len(types)-1] != "message_stop" {
		t.Fatalf("events %v", types)
	}
	var text strings.Builder
	for _, e := range evs {
		if e["type"] == "content_block_delta" {
			d := e["delta"].(map[string]any)
			if d["type"] != "text_delta" || e["index"] != 0.0 {
				t.Fatalf("delta %v", e)
			}
			text.WriteString(d["text"].(string))
		}
	}
	md := evs[len(evs)-2]
	if text.String() != "안녕하세요, 반갑습니다" || md["delta"].(map[string]any)["stop_reason"] != "end_turn" ||
		md["usage"].(map[string]any)["output_tokens"] != float64(len("안녕하세요, 반갑습니다")) {
		t.Fatalf("text %q, message_delta %v", text.String(), md)
	}
	start := evs[0]["message"].(map[string]any)
	if start["stop_reason"] != nil || start["usage"].(map[string]any)["input_tokens"] != float64(len(ts.eng.last().Prompt)) {
		t.Errorf("message_start %v", start)
	}
}

// Stop reasons: a stop sequence is named, a reply cut by max_tokens says
// so.
func TestAnthropicStopReasons(t *testing.T) {
	ts := newTestServer(t, Config{}, "하나 둘 셋 끝 넷")
	for _, tc := range []struct {
		extra, reason string
		seq           any
	}{
		{`"max_tokens":100,"stop_sequences":["끝"]`, "stop_sequence", "끝"},
		{`"max_tokens":4`, "max_tokens", nil},
		{`"max_tokens":100`, "end_turn", nil},
	} {
		for _, stream := range []bool{false, true} {
			body := `{"messages":[{"role":"user","content":"세어 봐"}],` + tc.extra
			if stream {
				body += `,"stream":true`
			}
			status, _, raw := ts.do("POST", "/v1/messages", body+`}`)
			if status != 200 {
				t.Fatalf("%s: %d %s", tc.extra, status, raw)
			}
			var got map[string]any
			if stream {
				evs := anthropicEvents(t, raw)
				got = evs[len(evs)-2]["delta"].(map[string]any)
			} else if err := json.Unmarshal(raw, &got); err != nil {
				t.Fatal(err)
			}
			if got["stop_reason"] != tc.reason || got["stop_sequence"] != tc.seq {
				t.Errorf("%s (stream %v): stop_reason %v, stop_sequence %v", tc.extra, stream, got["stop_reason"], got["stop_sequence"])
			}
		}
	}
}

// Tools: the client's tools reach the template in OpenAI's form, a call
// in the reply comes back as a tool_use block with its input object, and
// tool uses and results of the history reach the template as calls and
// tool messages.
func TestAnthropicTools(t *testing.T) {
	ts := newTestServer(t, Config{}, callReply, withTemplate(t, hermesTemplate))
	tools := `"tools":[{"name":"get_weather","description":"날씨를 알려 줍니다","input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}]`
	req := `{"max_tokens":200,` + tools + `,"messages":[{"role":"user","content":"서울 날씨 어때?"}]`
	for _, stream := range []bool{false, true} {
		body := req + `}`
		if stream {
			body = req + `,"stream":true}`
		}
		status, _, raw := ts.do("POST", "/v1/messages", body)
		if status != 200 {
			t.Fatalf("%d %s", status, raw)
		}
		var content []map[string]any
		var reason any
		if !stream {
			var r map[string]any
			if err := json.Unmarshal(raw, &r); err != nil {
				t.Fatal(err)
			}
			for _, c := range r["content"].([]any) {
				content = append(content, c.(map[string]any))
			}
			reason = r["stop_reason"]
		} else {
			// Rebuild the blocks from the events.
			var partial []string
			for _, e := range anthropicEvents(t, raw) {
				switch e["type"] {
				case "content_block_start":
					if int(e["index"].(float64)) != len(content) {
						t.Fatalf("block %v out of order", e)
					}
					content = append(content, e["content_block"].(map[string]any))
					partial = append(partial, "")
				case "content_block_delta":
					i, d := int(e["index"].(float64)), e["delta"].(map[string]any)
					switch d["type"] {
					case "text_delta":
						content[i]["text"] = content[i]["text"].(string) + d["text"].(string)
					case "input_json_delta":
						partial[i] += d["partial_json"].(string)
					}
				case "content_block_stop":
					if i := int(e["index"].(float64)); partial[i] != "" {
						var in any
						if err := json.Unmarshal([]byte(partial[i]), &in); err != nil {
							t.Fatalf("partial json %q: %v", partial[i], err)
						}
						content[i]["input"] = in
					}
				case "message_delta":
					reason = e["delta"].(map[string]any)["stop_reason"]
				}
			}
		}
		if len(content) != 2 || content[0]["type"] != "text" || content[0]["text"] != "확인해 볼게요." ||
			content[1]["type"] != "tool_use" || content[1]["name"] != "get_weather" || reason != "tool_use" ||
			!strings.HasPrefix(content[1]["id"].(string), "toolu_") {
			t.Fatalf("stream %v: content %v, stop_reason %v", stream, content, reason)
		}
		if in, ok := content[1]["input"].(map[string]any); !ok || in["city"] != "서울" {
			t.Fatalf("stream %v: input %v", stream, content[1]["input"])
		}
	}
	prompt := string(mustDecode(t, ts.eng.last().Prompt))
	if !strings.Contains(prompt, `{"type": "function", "function": {"name": "get_weather", "description": "날씨를 알려 줍니다", "parameters": {"type": "object"`) {
		t.Errorf("tools in prompt: %q", prompt)
	}

	// The call and its result as history; the result's tool is named.
	hist := `{"max_tokens":50,` + tools + `,"messages":[{"role":"user","content":"서울 날씨?"},
		{"role":"assistant","content":[{"type":"text","text":"볼게요."},{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"서울"}}]},
		{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":[{"type":"text","text":"맑음"}]},{"type":"text","text":"고마워"}]}]}`
	if status, _, raw := ts.do("POST", "/v1/messages", hist); status != 200 {
		t.Fatalf("history: %d %s", status, raw)
	}
	prompt = string(mustDecode(t, ts.eng.last().Prompt))
	want := "<|im_start|>assistant\n볼게요.<tool_call>{\"name\": \"get_weather\", \"arguments\": {\"city\": \"서울\"}}</tool_call><|im_end|>\n" +
		"<|im_start|>user\n<tool_response>맑음</tool_response><|im_end|>\n<|im_start|>user\n고마워<|im_end|>\n<|im_start|>assistant\n"
	if !strings.HasSuffix(prompt, want) {
		t.Errorf("history prompt %q\nwant suffix %q", prompt, want)
	}

	// tool_choice: "any" with one tool and "tool" force the call;
	// disable_parallel_tool_use caps the calls at one.
	for _, choice := range []string{`{"type":"any"}`, `{"type":"tool","name":"get_weather"}`} {
		status, _, raw := ts.do("POST", "/v1/messages", req+`,"tool_choice":`+choice+`}`)
		if status != 200 || ts.eng.last().Constraint == nil {
			t.Errorf("tool_choice %s: %d %s, constraint %v", choice, status, raw, ts.eng.last().Constraint != nil)
		}
		prompt := string(mustDecode(t, ts.eng.last().Prompt))
		if !strings.HasSuffix(prompt, "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": ") {
			t.Errorf("tool_choice %s: the prompt does not open the call: %q", choice, prompt[max(0, len(prompt)-80):])
		}
	}
	if status, _, raw := ts.do("POST", "/v1/messages", req+`,"tool_choice":{"type":"none"}}`); status != 200 ||
		strings.Contains(string(mustDecode(t, ts.eng.last().Prompt)), "get_weather") {
		t.Errorf("tool_choice none: %d %s: the tools were shown", status, raw)
	}
}

// Thinking comes back as a thinking block before the text, and reaches
// the template from the history; thinking.type sets enable_thinking.
func TestAnthropicThinking(t *testing.T) {
	ts := newTestServer(t, Config{}, "<think>2 더하기 2는 4.</think>\n\n답은 4입니다.", withTemplate(t, thinkTemplate),
		func(b *Backend) { b.Reasoning = ReasoningAuto })
	req := `{"max_tokens":100,"messages":[{"role":"user","content":"2+2?"}]`
	status, _, raw := ts.do("POST", "/v1/messages", req+`}`)
	var r anthropicReply
	if status != 200 || json.Unmarshal(raw, &r) != nil {
		t.Fatalf("%d %s", status, raw)
	}
	if len(r.Content) != 2 || r.Content[0].Type != "thinking" || *r.Content[0].Thinking != "2 더하기 2는 4." || r.Content[0].Signature == nil ||
		r.Content[1].Type != "text" || *r.Content[1].Text != "답은 4입니다." {
		t.Fatalf("content %s", raw)
	}
	status, _, raw = ts.do("POST", "/v1/messages", req+`,"stream":true}`)
	if status != 200 {
		t.Fatalf("stream: %d %s", status, raw)
	}
	var thinking, text strings.Builder
	var starts []string
	for _, e := range anthropicEvents(t, raw) {
		switch e["type"] {
		case "content_block_start":
			starts = append(starts, e["content_block"].(map[string]any)["type"].(string))
		case "content_block_delta":
			d := e["delta"].(map[string]any)
			switch {
			case d["type"] == "thinking_delta" && e["index"] == 0.0:
				thinking.WriteString(d["thinking"].(string))
			case d["type"] == "text_delta" && e["index"] == 1.0:
				text.WriteString(d["text"].(string))
			default:
				t.Fatalf("delta %v", e)
			}
		}
	}
	if !slices.Equal(starts, []string{"thinking", "text"}) || thinking.String() != "2 더하기 2는 4." || text.String() != "답은 4입니다." {
		t.Fatalf("blocks %v, thinking %q, text %q", starts, thinking.String(), text.String())
	}

	if status, _, raw := ts.do("POST", "/v1/messages", req+`,"thinking":{"type":"disabled"}}`); status != 200 ||
		!strings.HasSuffix(string(mustDecode(t, ts.eng.last().Prompt)), "<think>\n\n</think>\n\n") {
		t.Errorf("thinking disabled: %d %s, prompt %q", status, raw, mustDecode(t, ts.eng.last().Prompt))
	}
	hist := `{"max_tokens":10,"messages":[{"role":"user","content":"2+2?"},
		{"role":"assistant","content":[{"type":"thinking","thinking":"음","signature":""},{"type":"text","text":"4"}]},{"role":"user","content":"3+3?"}]}`
	if status, _, raw := ts.do("POST", "/v1/messages", hist); status != 200 ||
		!strings.Contains(string(mustDecode(t, ts.eng.last().Prompt)), "[had thought]4") {
		t.Errorf("thinking in history: %d %s, prompt %q", status, raw, mustDecode(t, ts.eng.last().Prompt))
	}
}

// A final assistant message is a prefill: the prompt ends with its text,
// the turn left open; an empty one asks for nothing. The OpenAI route's
// continue_final_message does the same.
func TestAnthropicPrefill(t *testing.T) {
	ts := newTestServer(t, Config{}, " 4입니다.")
	status, _, raw := ts.do("POST", "/v1/messages", `{"max_tokens":50,"messages":[{"role":"user","content":"2+2?"},{"role":"assistant","content":"답은"}]}`)
	var r anthropicReply
	if status != 200 || json.Unmarshal(raw, &r) != nil || *r.Content[0].Text != " 4입니다." {
		t.Fatalf("%d %s", status, raw)
	}
	want := "<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n답은"
	if got := string(mustDecode(t, ts.eng.last().Prompt)); got != want {
		t.Errorf("prompt %q, want %q", got, want)
	}
	status, _, raw = ts.do("POST", "/v1/messages", `{"max_tokens":10,"messages":[{"role":"user","content":"2+2?"},{"role":"assistant","content":""}]}`)
	if got := string(mustDecode(t, ts.eng.last().Prompt)); status != 200 || got != "<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n" {
		t.Errorf("empty prefill: %d %s, prompt %q", status, raw, got)
	}

	msgs := `"messages":[{"role":"user","content":"2+2?"},{"role":"assistant","content":"답은"}]`
	if status, _, raw := ts.do("POST", "/v1/chat/completions", `{"continue_final_message":true,"add_generation_prompt":false,`+msgs+`}`); status != 200 ||
		string(mustDecode(t, ts.eng.last().Prompt)) != want {
		t.Errorf("continue_final_message: %d %s, prompt %q", status, raw, mustDecode(t, ts.eng.last().Prompt))
	}
	if status, _, raw := ts.do("POST", "/v1/chat/completions", `{"continue_final_message":true,"add_generation_prompt":true,`+msgs+`}`); status != http.StatusBadRequest {
		t.Errorf("continue_final_message with add_generation_prompt: %d %s", status, raw)
	}
	status, _, raw = ts.do("POST", "/tokenize", `{"continue_final_message":true,`+msgs+`}`)
	var tk tokenizeResponse
	if status != 200 || json.Unmarshal(raw, &tk) != nil || string(mustDecode(t, tk.Tokens)) != want {
		t.Errorf("tokenize: %d %s", status, raw)
	}
}

// Errors come in Anthropic's shape with its types; x-api-key is a key as
// a bearer token is.
func TestAnthropicErrors(t *testing.T) {
	ts := newTestServer(t, Config{ModelName: "base", APIKeys: []string{"sk-1"}}, "ok")
	key := []string{"x-api-key", "sk-1"}
	for _, tc := range []struct {
		body   string
		hdr    []string
		status int
		typ    string
	}{
		{`{"messages":[{"role":"user","content":"hi"}]}`, key, 400, "invalid_request_error"},
		{`{"max_tokens":5,"messages":[]}`, key, 400, "invalid_request_error"},
		{`{"max_tokens":5,"messages":[{"role":"system","content":"hi"}]}`, key, 400, "invalid_request_error"},
		{`{"max_tokens":5,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"aGk="}}]}]}`, key, 400, "invalid_request_error"},
		{`{"max_tokens":5,"tools":[{"type":"web_search_20250305","name":"web_search"}],"messages":[{"role":"user","content":"hi"}]}`, key, 400, "invalid_request_error"},
		{`{"max_tokens":5,"thinking":{"type":"sometimes"},"messages":[{"role":"user","content":"hi"}]}`, key, 400, "invalid_request_error"},
		{`{"max_tokens":5,"messages":[{"role":"user","content":"hi"}`, key, 400, "invalid_request_error"},
		{`{"model":"claude-x","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`, key, 404, "not_found_error"},
		{`{"max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`, []string{"x-api-key", "wrong"}, 401, "authentication_error"},
		{`{"max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`, nil, 401, "authentication_error"},
	} {
		status, _, raw := ts.do("POST", "/v1/messages", tc.body, tc.hdr...)
		var e anthropicErrorBody
		if status != tc.status || json.Unmarshal(raw, &e) != nil || e.Type != "error" || e.Error.Type != tc.typ || e.Error.Message == "" {
			t.Errorf("%s: %d %s, want %d %s", tc.body, status, raw, tc.status, tc.typ)
		}
	}
	if status, _, raw := ts.do("POST", "/v1/messages", `{"max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`, "Authorization", "Bearer sk-1"); status != 200 {
		t.Errorf("bearer key: %d %s", status, raw)
	}
	if status, _, raw := ts.do("GET", "/v1/messages", ""); status != http.StatusMethodNotAllowed || !strings.Contains(string(raw), `"type":"error"`) {
		t.Errorf("GET: %d %s", status, raw)
	}
}

// count_tokens counts the prompt a messages request with the same body
// submits.
func TestAnthropicCountTokens(t *testing.T) {
	ts := newTestServer(t, Config{}, "ok", withTemplate(t, hermesTemplate))
	body := `"system":"짧게","tools":[{"name":"get_weather","input_schema":{"type":"object"}}],"messages":[{"role":"user","content":"서울 날씨?"}]`
	status, _, raw := ts.do("POST", "/v1/messages/count_tokens", `{`+body+`}`)
	var c struct {
		InputTokens int `json:"input_tokens"`
	}
	if status != 200 || json.Unmarshal(raw, &c) != nil {
		t.Fatalf("%d %s", status, raw)
	}
	if status, _, raw := ts.do("POST", "/v1/messages", `{"max_tokens":5,`+body+`}`); status != 200 {
		t.Fatalf("%d %s", status, raw)
	}
	if n := len(ts.eng.last().Prompt); c.InputTokens != n || n == 0 {
		t.Errorf("count_tokens %d, the request's prompt %d tokens", c.InputTokens, n)
	}
}

// Anthropic's official Go SDK, pointed at the server, reads replies,
// streams (accumulated into the same message) and tool calls.
func TestAnthropicSDK(t *testing.T) {
	ts := newTestServer(t, Config{ModelName: "base", APIKeys: []string{"sk-1"}}, callReply, withTemplate(t, hermesTemplate))
	client := anthropic.NewClient(option.WithBaseURL(ts.url), option.WithAPIKey("sk-1"), option.WithMaxRetries(0))
	ctx := context.Background()
	params := anthropic.MessageNewParams{
		Model:       "base",
		MaxTokens:   200,
		Temperature: anthropic.Float(0.2),
		System:      []anthropic.TextBlockParam{{Text: "도구를 쓰세요"}},
		Messages:    []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("서울 날씨 어때?"))},
		Tools: []anthropic.ToolUnionParam{{OfTool: &anthropic.ToolParam{
			Name: "get_weather", Description: anthropic.String("날씨를 알려 줍니다"),
			InputSchema: anthropic.ToolInputSchemaParam{Properties: map[string]any{"city": map[string]any{"type": "string"}}, Required: []string{"city"}},
		}}},
	}
	check := func(what string, m *anthropic.Message) {
		t.Helper()
		if m.StopReason != anthropic.StopReasonToolUse || len(m.Content) != 2 || m.Content[0].Text != "확인해 볼게요." || m.Model != "base" {
			t.Fatalf("%s: %+v", what, m)
		}
		tu := m.Content[1].AsToolUse()
		var in struct{ City string }
		if tu.Name != "get_weather" || json.Unmarshal(tu.Input, &in) != nil || in.City != "서울" {
			t.Fatalf("%s: tool use %+v", what, tu)
		}
		if m.Usage.InputTokens == 0 || m.Usage.OutputTokens != int64(len(callReply)) {
			t.Errorf("%s: usage %+v", what, m.Usage)
		}
	}
	m, err := client.Messages.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	check("new", m)
	if ts.eng.last().Sampling.Temperature != 0.2 {
		t.Errorf("temperature %v", ts.eng.last().Sampling.Temperature)
	}

	stream := client.Messages.NewStreaming(ctx, params)
	var acc anthropic.Message
	for stream.Next() {
		if err := acc.Accumulate(stream.Current()); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	check("stream", &acc)

	// The call answered: the history goes back through the SDK's types.
	params.Messages = append(params.Messages, acc.ToParam(),
		anthropic.NewUserMessage(anthropic.NewToolResultBlock(acc.Content[1].ID, "맑음, 23도", false)))
	if _, err := client.Messages.New(ctx, params); err != nil {
		t.Fatal(err)
	}
	if prompt := string(mustDecode(t, ts.eng.last().Prompt)); !strings.Contains(prompt, "<tool_response>맑음, 23도</tool_response>") {
		t.Errorf("the tool result is not in the prompt: %q", prompt)
	}

	n, err := client.Messages.CountTokens(ctx, anthropic.MessageCountTokensParams{Model: "base", Messages: params.Messages})
	if err != nil || n.InputTokens == 0 {
		t.Fatalf("count tokens: %v %+v", err, n)
	}

	_, err = client.Messages.New(ctx, anthropic.MessageNewParams{Model: "other", MaxTokens: 5, Messages: params.Messages[:1]})
	var apiErr *anthropic.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 {
		t.Fatalf("unknown model: %v", err)
	}

	// The model listing in Anthropic's shape.
	page, err := client.Models.List(ctx, anthropic.ModelListParams{})
	if err != nil || len(page.Data) != 1 || page.Data[0].ID != "base" || page.Data[0].CreatedAt.IsZero() || page.HasMore {
		t.Fatalf("models: %v %+v", err, page)
	}
	if m, err := client.Models.Get(ctx, "base", anthropic.ModelGetParams{}); err != nil || m.ID != "base" {
		t.Fatalf("model: %v %+v", err, m)
	}
	if _, err := client.Models.Get(ctx, "other", anthropic.ModelGetParams{}); !errors.As(err, &apiErr) || apiErr.StatusCode != 404 {
		t.Fatalf("unknown model: %v", err)
	}
}

// A request as coding agents send it: system blocks and turns with
// cache_control, tool schemas with $schema and formats the recognizer
// does not enforce, metadata, thinking with a budget, the beta query
// and headers. It is served, not refused.
func TestAnthropicAgentRequest(t *testing.T) {
	ts := newTestServer(t, Config{}, callReply, withTemplate(t, hermesTemplate))
	body := `{"model":"fake-model","max_tokens":32000,"stream":true,"metadata":{"user_id":"user_abc_account__session_1"},
		"system":[{"type":"text","text":"You are an agent.","cache_control":{"type":"ephemeral"}},{"type":"text","text":"Be brief."}],
		"thinking":{"type":"enabled","budget_tokens":1024},"temperature":1,
		"tools":[{"name":"Read","description":"Reads a file","input_schema":{"$schema":"http://json-schema.org/draft-07/schema#","type":"object",
			"properties":{"file_path":{"type":"string","format":"uri-reference"},"offset":{"type":"number","exclusiveMinimum":0}},"required":["file_path"],"additionalProperties":false}},
			{"name":"get_weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}}},"cache_control":{"type":"ephemeral"}}],
		"messages":[{"role":"user","content":[{"type":"text","text":"<system-reminder>ctx</system-reminder>"},{"type":"text","text":"서울 날씨?","cache_control":{"type":"ephemeral"}}]}]}`
	status, _, raw := ts.do("POST", "/v1/messages?beta=true", body, "anthropic-version", "2023-06-01", "anthropic-beta", "interleaved-thinking-2025-05-14")
	if status != 200 {
		t.Fatalf("%d %s", status, raw)
	}
	var sawCall bool
	for _, e := range anthropicEvents(t, raw) {
		if e["type"] == "content_block_start" && e["content_block"].(map[string]any)["type"] == "tool_use" {
			sawCall = true
		}
	}
	if !sawCall || ts.eng.last().MaxTokens != 32000 {
		t.Fatalf("no tool_use block (or max_tokens %d): %s", ts.eng.last().MaxTokens, raw)
	}
	if prompt := string(mustDecode(t, ts.eng.last().Prompt)); !strings.Contains(prompt, "You are an agent.\nBe brief.") {
		t.Errorf("system %q", prompt)
	}
}

// FuzzAnthropicChat: any Messages body either fails with a 400 naming a
// field or becomes a chat request whose messages pass the chat checks;
// nothing panics.
func FuzzAnthropicChat(f *testing.F) {
	for _, s := range []string{
		`{"max_tokens":5,"system":"s","messages":[{"role":"user","content":"안녕"},{"role":"assistant","content":"답은"}]}`,
		`{"max_tokens":5,"messages":[{"role":"user","content":[{"type":"text","text":"a"}]},{"role":"assistant","content":[{"type":"thinking","thinking":"t"},{"type":"tool_use","id":"t1","name":"f","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":[{"type":"text","text":"o"}]}]}]}`,
		`{"max_tokens":5,"tools":[{"name":"f","input_schema":{"type":"object"}}],"tool_choice":{"type":"tool","name":"f","disable_parallel_tool_use":true},"thinking":{"type":"enabled","budget_tokens":10},"messages":[{"role":"user","content":"x"}]}`,
		`{"max_tokens":5,"output_config":{"effort":"high","format":{"type":"json_schema","schema":{"type":"object"}}},"messages":[{"role":"user","content":"x"}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req anthropicRequest
		if json.Unmarshal(body, &req) != nil {
			return
		}
		c, err := req.toChat(true)
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || ae.param == "" {
				t.Fatalf("%s: error %v names no field", body, err)
			}
			return
		}
		if _, err := chatMessages(c.Messages); err != nil {
			var ae *apiError
			if !errors.As(err, &ae) {
				t.Fatalf("%s: chat check %v", body, err)
			}
		}
		if _, err := generationPrompt(c.AddGenerationPrompt, c.ContinueFinalMessage, c.Messages); err != nil {
			t.Fatalf("%s: a prefill the chat route refuses: %v", body, err)
		}
	})
}
