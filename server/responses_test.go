package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/openai/openai-go"
	"github.com/openai/openai-go/option"
	"github.com/openai/openai-go/responses"
)

// responseEventsOf splits a Responses stream into its events, checking
// that each names its type twice (event line and data) and that sequence
// numbers count up from 0.
func responseEventsOf(t *testing.T, body string) []responseEvent {
	t.Helper()
	var out []responseEvent
	for _, block := range strings.Split(strings.TrimSpace(body), "\n\n") {
		if strings.HasPrefix(block, ":") {
			continue // keep-alive
		}
		name, data, ok := strings.Cut(block, "\ndata: ")
		if !ok || !strings.HasPrefix(name, "event: ") {
			t.Fatalf("event block %q", block)
		}
		var ev responseEvent
		var raw struct {
			Response json.RawMessage `json:"response"`
		}
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			t.Fatalf("event %q: %v", data, err)
		}
		if err := json.Unmarshal([]byte(data), &raw); err != nil {
			t.Fatal(err)
		}
		if present(raw.Response) {
			ev.Response = new(responseObject)
			if err := json.Unmarshal(raw.Response, ev.Response); err != nil {
				t.Fatal(err)
			}
		}
		if ev.Type != strings.TrimPrefix(name, "event: ") || ev.SequenceNumber != len(out) {
			t.Fatalf("event %d: %q %q", len(out), name, data)
		}
		out = append(out, ev)
	}
	return out
}

func eventTypes(evs []responseEvent) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Type
	}
	return out
}

// outputOf is a response's output items with their types and texts.
func outputOf(t *testing.T, r *responseObject) []map[string]any {
	t.Helper()
	b, err := json.Marshal(r.Output)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestResponsesText(t *testing.T) {
	ts := newTestServer(t, Config{}, "안녕하세요, 반가워요.")
	status, _, body := ts.do("POST", "/v1/responses", `{"model":"fake-model","instructions":"짧게 답하세요.","input":"안녕",
		"temperature":0,"metadata":{"k":"v"},"user":"u1"}`)
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	var r responseObject
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatal(err)
	}
	prompt, _ := fakeTokenizer{}.Decode(ts.eng.last().Prompt, false)
	if want := "<|im_start|>system\n짧게 답하세요.<|im_end|>\n<|im_start|>user\n안녕<|im_end|>\n<|im_start|>assistant\n"; !strings.HasSuffix(string(prompt), want) {
		t.Errorf("prompt %q, want %q", prompt, want)
	}
	out := outputOf(t, &r)
	if r.Object != "response" || !strings.HasPrefix(r.ID, "resp_") || r.Status != "completed" || r.Model != "fake-model" ||
		r.Temperature != 0 || r.TopP != 0.95 || r.Metadata["k"] != "v" || r.User == nil || *r.User != "u1" || !r.Store ||
		string(r.Text.Format) != `{"type":"text"}` || string(r.ToolChoice) != `"auto"` || string(r.Tools) != `[]` || r.IncompleteDetails != nil {
		t.Errorf("response %s", body)
	}
	if len(out) != 1 || out[0]["type"] != "message" || out[0]["role"] != "assistant" || out[0]["status"] != "completed" ||
		!strings.HasPrefix(out[0]["id"].(string), "msg_") {
		t.Fatalf("output %v", out)
	}
	part := out[0]["content"].([]any)[0].(map[string]any)
	if part["type"] != "output_text" || part["text"] != "안녕하세요, 반가워요." {
		t.Errorf("part %v", part)
	}
	if u := r.Usage; u == nil || u.InputTokens != len(ts.eng.last().Prompt) || u.OutputTokens != len("안녕하세요, 반가워요.") ||
		u.TotalTokens != u.InputTokens+u.OutputTokens || u.OutputTokensDetails.ReasoningTokens != 0 {
		t.Errorf("usage %+v", r.Usage)
	}

	// max_output_tokens cuts the reply: the response is incomplete.
	status, _, body = ts.do("POST", "/v1/responses", `{"input":[{"role":"user","content":[{"type":"input_text","text":"안녕"}]}],"max_output_tokens":6}`)
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	r = responseObject{}
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatal(err)
	}
	out = outputOf(t, &r)
	if r.Status != "incomplete" || r.IncompleteDetails == nil || r.IncompleteDetails.Reason != "max_output_tokens" ||
		*r.MaxOutputTokens != 6 || out[0]["status"] != "incomplete" || ts.eng.last().MaxTokens != 6 {
		t.Errorf("response %s", body)
	}
}

func TestResponsesStreaming(t *testing.T) {
	reply := "한국어 스트리밍 😀 test"
	ts := newTestServer(t, Config{}, reply)
	status, hdr, body := ts.do("POST", "/v1/responses", `{"input":"안녕","stream":true,"include":["message.output_text.logprobs"],"top_logprobs":2}`)
	if status != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("status %d, headers %v: %s", status, hdr, body)
	}
	evs := responseEventsOf(t, string(body))
	types := eventTypes(evs)
	head := []string{"response.created", "response.in_progress", "response.output_item.added", "response.content_part.added"}
	tail := []string{"response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed"}
	if len(types) < len(head)+len(tail)+1 || strings.Join(types[:4], " ") != strings.Join(head, " ") ||
		strings.Join(types[len(types)-4:], " ") != strings.Join(tail, " ") {
		t.Fatalf("events %v", types)
	}
	var text strings.Builder
	nLP := 0
	for _, e := range evs[4 : len(evs)-4] {
		if e.Type != "response.output_text.delta" || e.Delta == nil || *e.OutputIndex != 0 || *e.ContentIndex != 0 || e.ItemID != evs[3].ItemID {
			t.Fatalf("delta %+v", e)
		}
		text.WriteString(*e.Delta)
		lp, _ := e.Logprobs.([]any)
		nLP += len(lp)
	}
	final := evs[len(evs)-1].Response
	out := outputOf(t, final)
	part := out[0]["content"].([]any)[0].(map[string]any)
	if text.String() != reply || part["text"] != reply || *evs[len(evs)-4].Text != reply || final.Status != "completed" ||
		final.Usage == nil || final.Usage.OutputTokens != len(reply) || evs[0].Response.Status != "in_progress" {
		t.Errorf("text %q, final %+v", text.String(), final)
	}
	// Logprobs: one a token (a byte here), each with its two alternatives.
	lps := part["logprobs"].([]any)
	if nLP != len(reply) || len(lps) != len(reply) || len(lps[0].(map[string]any)["top_logprobs"].([]any)) != 2 {
		t.Errorf("%d streamed logprobs, %d in the part: %v", nLP, len(lps), lps[:1])
	}
}

const responsesWeatherTool = `[{"type": "function", "name": "get_weather", "description": "날씨를 알려 줍니다", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}]`

func TestResponsesToolCalls(t *testing.T) {
	ts := newTestServer(t, Config{}, callReply, withTemplate(t, hermesTemplate))
	req := `{"input":"서울 날씨 어때?","tools":` + responsesWeatherTool
	for _, stream := range []bool{false, true} {
		status, _, body := ts.do("POST", "/v1/responses", req+`,"stream":`+map[bool]string{false: "false", true: "true"}[stream]+`}`)
		if status != 200 {
			t.Fatalf("status %d: %s", status, body)
		}
		var r responseObject
		if stream {
			evs := responseEventsOf(t, string(body))
			r = *evs[len(evs)-1].Response
			types := strings.Join(eventTypes(evs), " ")
			if !strings.Contains(types, "response.output_item.done response.output_item.added response.function_call_arguments.delta response.function_call_arguments.done response.output_item.done response.completed") {
				t.Errorf("events %s", types)
			}
		} else if err := json.Unmarshal(body, &r); err != nil {
			t.Fatal(err)
		}
		out := outputOf(t, &r)
		if len(out) != 2 || out[0]["type"] != "message" || out[1]["type"] != "function_call" {
			t.Fatalf("stream %v: output %v", stream, out)
		}
		if text := out[0]["content"].([]any)[0].(map[string]any)["text"]; text != "확인해 볼게요." {
			t.Errorf("stream %v: text %q", stream, text)
		}
		call := out[1]
		if call["name"] != "get_weather" || call["arguments"] != `{"city":"서울"}` || call["status"] != "completed" ||
			!strings.HasPrefix(call["call_id"].(string), "call_") || !strings.HasPrefix(call["id"].(string), "fc_") {
			t.Errorf("stream %v: call %v", stream, call)
		}
		if !strings.Contains(string(r.Tools), `"name":"get_weather"`) {
			t.Errorf("tools not repeated: %s", r.Tools)
		}
	}
	prompt, _ := fakeTokenizer{}.Decode(ts.eng.last().Prompt, false)
	if !strings.Contains(string(prompt), `<tools>{"function": {"description": "날씨를 알려 줍니다", "name": "get_weather"`) {
		t.Errorf("the template did not get the tools as chat tools: %q", prompt)
	}

	// A named tool_choice forces the call; max_tool_calls 1 holds a reply
	// to one call.
	ts2 := newTestServer(t, Config{}, "<tool_call>{\"name\": \"get_weather\", \"arguments\": {\"city\": \"서울\"}}</tool_call><tool_call>{\"name\": \"get_weather\", \"arguments\": {\"city\": \"부산\"}}</tool_call>", withTemplate(t, hermesTemplate))
	status, _, body := ts2.do("POST", "/v1/responses", req+`,"max_tool_calls":1}`)
	var r responseObject
	if err := json.Unmarshal(body, &r); status != 200 || err != nil {
		t.Fatalf("status %d: %s", status, body)
	}
	if out := outputOf(t, &r); len(out) != 1 || out[0]["arguments"] != `{"city":"서울"}` {
		t.Errorf("max_tool_calls 1: output %v", out)
	}
	status, _, body = ts2.do("POST", "/v1/responses", req+`,"tool_choice":{"type":"function","name":"get_weather"}}`)
	if status != 200 || !strings.HasSuffix(string(mustDecode(t, ts2.eng.last().Prompt)), "<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": ") {
		t.Errorf("named tool_choice: status %d, prompt %q: %s", status, mustDecode(t, ts2.eng.last().Prompt), body)
	}
}

func mustDecode(t *testing.T, ids []int32) []byte {
	t.Helper()
	b, err := fakeTokenizer{}.Decode(ids, false)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A conversation's calls and their outputs come back as a chat history.
func TestResponsesInputItems(t *testing.T) {
	ts := newTestServer(t, Config{}, "서울은 맑아요.", withTemplate(t, hermesTemplate))
	status, _, body := ts.do("POST", "/v1/responses", `{"tools":`+responsesWeatherTool+`,"input":[
		{"role":"developer","content":"날씨 비서"},
		{"type":"message","role":"user","content":[{"type":"input_text","text":"서울 날씨?"}]},
		{"type":"reasoning","id":"rs_1","summary":[],"content":[{"type":"reasoning_text","text":"도구를 쓰자"}]},
		{"type":"function_call","call_id":"call_1","name":"get_weather","arguments":"{\"city\": \"서울\"}"},
		{"type":"function_call_output","call_id":"call_1","output":"맑음"}]}`)
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	prompt := string(mustDecode(t, ts.eng.last().Prompt))
	want := "<|im_start|>system\n날씨 비서<|im_end|>\n<|im_start|>user\n서울 날씨?<|im_end|>\n" +
		"<|im_start|>assistant\n<tool_call>{\"name\": \"get_weather\", \"arguments\": {\"city\": \"서울\"}}</tool_call><|im_end|>\n" +
		"<|im_start|>user\n<tool_response>맑음</tool_response><|im_end|>\n<|im_start|>assistant\n"
	if !strings.HasSuffix(prompt, want) {
		t.Fatalf("prompt %q\nwant suffix %q", prompt, want)
	}
}

func TestResponsesReasoning(t *testing.T) {
	reply := "<think>\n2 더하기 2는 4.\n</think>\n\n답은 4입니다."
	ts := newTestServer(t, Config{}, reply, withTemplate(t, thinkTemplate))
	for _, stream := range []string{"false", "true"} {
		status, _, body := ts.do("POST", "/v1/responses", `{"input":"2+2?","reasoning":{"effort":"low"},"stream":`+stream+`}`)
		if status != 200 {
			t.Fatalf("status %d: %s", status, body)
		}
		var r responseObject
		if stream == "true" {
			evs := responseEventsOf(t, string(body))
			r = *evs[len(evs)-1].Response
			types := strings.Join(eventTypes(evs), " ")
			if !strings.Contains(types, "response.output_item.added response.content_part.added response.reasoning_text.delta") ||
				!strings.Contains(types, "response.reasoning_text.done response.content_part.done response.output_item.done response.output_item.added") {
				t.Errorf("events %s", types)
			}
		} else if err := json.Unmarshal(body, &r); err != nil {
			t.Fatal(err)
		}
		out := outputOf(t, &r)
		if len(out) != 2 || out[0]["type"] != "reasoning" || out[1]["type"] != "message" {
			t.Fatalf("output %v", out)
		}
		if got := out[0]["content"].([]any)[0].(map[string]any)["text"]; got != "2 더하기 2는 4." {
			t.Errorf("reasoning %q", got)
		}
		if got := out[1]["content"].([]any)[0].(map[string]any)["text"]; got != "답은 4입니다." {
			t.Errorf("text %q", got)
		}
		if r.Reasoning.Effort == nil || *r.Reasoning.Effort != "low" || r.Usage.OutputTokensDetails.ReasoningTokens != len("2 더하기 2는 4.") {
			t.Errorf("reasoning %+v, usage %+v", r.Reasoning, r.Usage)
		}
	}
}

func TestResponsesJSONFormat(t *testing.T) {
	ts := newTestServer(t, Config{}, `{"city": "서울"}`)
	status, _, body := ts.do("POST", "/v1/responses", `{"input":"도시 하나","text":{"format":{"type":"json_schema","name":"city","strict":true,
		"schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}}`)
	if status != 200 || ts.eng.last().Constraint == nil {
		t.Fatalf("status %d, constraint set %v: %s", status, ts.eng.last().Constraint != nil, body)
	}
	var r responseObject
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(r.Text.Format), `"name":"city"`) {
		t.Errorf("text.format not repeated: %s", r.Text.Format)
	}
}

func TestResponsesRefused(t *testing.T) {
	ts := newTestServer(t, Config{}, "x", withTemplate(t, hermesTemplate))
	for _, tc := range []struct{ body, param string }{
		{`{"input":"x","conversation":5}`, "conversation"},
		{`{"input":"x","conversation":"conv_1","previous_response_id":"resp_1"}`, "conversation"},
		{`{"input":"x","background":true,"store":false}`, "background"},
		{`{"input":"x","truncation":"end"}`, "truncation"},
		{`{"input":"x","n":2}`, "n"},
		{`{"input":"x","max_tokens":5}`, "max_tokens"},
		{`{"input":"x","max_output_tokens":0}`, "max_output_tokens"},
		{`{"input":"x","response_format":{"type":"json_object"}}`, "response_format"},
		{`{"input":"x","tools":[{"type":"web_search"}]}`, "tools[0].type"},
		{`{"input":"x","text":{"format":{"type":"yaml"}}}`, "text.format.type"},
		{`{"input":"x","tools":` + responsesWeatherTool + `,"tool_choice":"required","text":{"format":{"type":"json_object"}}}`, "text.format"},
		{`{"input":[{"role":"user","content":[{"type":"input_image","image_url":"http://x"}]}]}`, "input[0].content[0].type"},
		{`{"input":[{"type":"item_reference","id":"msg_1"}]}`, "input[0].type"},
		{`{"input":[{"type":"function_call_output","output":"x"}]}`, "input[0].call_id"},
		{`{"input":[]}`, "input"},
		{`{}`, "input"},
	} {
		status, _, body := ts.do("POST", "/v1/responses", tc.body)
		var e errorBody
		if err := json.Unmarshal(body, &e); err != nil || status != 400 || e.Error.Param == nil || *e.Error.Param != tc.param {
			t.Errorf("%s: status %d, want 400 naming %s: %s", tc.body, status, tc.param, body)
		}
	}
	status, _, body := ts.do("GET", "/v1/responses/resp_123", "")
	if status != 404 || !strings.Contains(string(body), `no stored response \"resp_123\"`) {
		t.Errorf("GET an unknown response: status %d: %s", status, body)
	}
	status, _, body = ts.do("POST", "/v1/responses", `{"input":"x","previous_response_id":"resp_1"}`)
	if status != 404 || !strings.Contains(string(body), `"param":"previous_response_id"`) {
		t.Errorf("an unknown previous_response_id: status %d: %s", status, body)
	}
	status, _, body = ts.do("POST", "/v1/responses", `{"input":"x","conversation":{"id":"conv_1"}}`)
	if status != 404 || !strings.Contains(string(body), `"param":"conversation"`) {
		t.Errorf("an unknown conversation: status %d: %s", status, body)
	}
}

// OpenAI's own Go client reads responses, whole and streamed.
func TestResponsesOpenAIClient(t *testing.T) {
	ts := newTestServer(t, Config{}, callReply, withTemplate(t, hermesTemplate))
	client := openai.NewClient(option.WithBaseURL(ts.url+"/v1"), option.WithAPIKey("unused"), option.WithMaxRetries(0))
	params := responses.ResponseNewParams{
		Model:        "fake-model",
		Instructions: openai.String("날씨 비서"),
		Input:        responses.ResponseNewParamsInputUnion{OfString: openai.String("서울 날씨 어때?")},
		Tools: []responses.ToolUnionParam{{OfFunction: &responses.FunctionToolParam{
			Name:       "get_weather",
			Parameters: map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}},
		}}},
	}
	ctx := context.Background()
	resp, err := client.Responses.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	if resp.OutputText() != "확인해 볼게요." || len(resp.Output) != 2 || resp.Status != "completed" {
		t.Fatalf("response %s", resp.RawJSON())
	}
	call := resp.Output[1].AsFunctionCall()
	if call.Name != "get_weather" || call.Arguments != `{"city":"서울"}` || resp.Usage.OutputTokens != int64(len(callReply)) {
		t.Errorf("call %+v, usage %+v", call, resp.Usage)
	}
	stream := client.Responses.NewStreaming(ctx, params)
	var text strings.Builder
	var done *responses.Response
	for stream.Next() {
		ev := stream.Current()
		switch ev.Type {
		case "response.output_text.delta":
			text.WriteString(ev.AsResponseOutputTextDelta().Delta)
		case "response.completed":
			r := ev.AsResponseCompleted().Response
			done = &r
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if text.String() != "확인해 볼게요." || done == nil || done.Output[1].AsFunctionCall().Arguments != `{"city":"서울"}` {
		t.Errorf("streamed %q, final %+v", text.String(), done)
	}
}

// FuzzResponsesChat: any request body either fails with a 400 naming a
// field or becomes a chat request whose messages pass the chat checks;
// nothing panics.
func FuzzResponsesChat(f *testing.F) {
	for _, s := range []string{
		`{"input":"안녕","instructions":"x","max_output_tokens":5}`,
		`{"input":[{"role":"user","content":[{"type":"input_text","text":"a"}]},{"type":"function_call","call_id":"c","name":"f","arguments":"{}"},{"type":"function_call_output","call_id":"c","output":[{"type":"input_text","text":"o"}]}]}`,
		`{"input":[{"type":"reasoning","summary":[{"type":"summary_text","text":"s"}]},{"role":"assistant","content":"x"}],"tools":` + responsesWeatherTool + `,"tool_choice":{"type":"function","name":"get_weather"}}`,
		`{"input":"x","text":{"format":{"type":"json_schema","name":"n","schema":{"type":"object"}}},"reasoning":{"effort":"high"},"top_logprobs":3}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req responsesRequest
		if json.Unmarshal(body, &req) != nil {
			return
		}
		c, err := responsesChat(&req, nil)
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
		if _, _, err := readTools(c.Tools); err != nil && !present(c.Tools) {
			t.Fatalf("%s: no tools, yet %v", body, err)
		}
	})
}

// reasoning_effort (chat) and reasoning.effort (responses) reach the
// template as the variable reasoning_effort; chat_template_kwargs wins.
// (The template's last newline is dropped, as Jinja drops it.)
func TestReasoningEffortVariable(t *testing.T) {
	const tmpl = `{% for m in messages %}<|im_start|>{{ m.role }}
{{ m.content }}<|im_end|>
{% endfor %}<|im_start|>assistant
effort={{ reasoning_effort | default("none") }}
`
	ts := newTestServer(t, Config{}, "x", withTemplate(t, tmpl))
	for _, tc := range []struct{ path, body, want string }{
		{"/v1/chat/completions", `{"messages":[{"role":"user","content":"a"}],"reasoning_effort":"high"}`, "effort=high"},
		{"/v1/chat/completions", `{"messages":[{"role":"user","content":"a"}],"reasoning_effort":"high","chat_template_kwargs":{"reasoning_effort":"low"}}`, "effort=low"},
		{"/v1/chat/completions", `{"messages":[{"role":"user","content":"a"}]}`, "effort=none"},
		{"/v1/responses", `{"input":"a","reasoning":{"effort":"medium"}}`, "effort=medium"},
	} {
		if status, _, body := ts.do("POST", tc.path, tc.body); status != 200 {
			t.Fatalf("%s: status %d: %s", tc.body, status, body)
		}
		if prompt := string(mustDecode(t, ts.eng.last().Prompt)); !strings.HasSuffix(prompt, tc.want) {
			t.Errorf("%s: prompt %q, want the suffix %q", tc.body, prompt, tc.want)
		}
	}
}

// postResponse posts a Responses request and decodes the response (the
// final event's, streamed).
func postResponse(t *testing.T, ts *testServer, body string) (*responseObject, []byte) {
	t.Helper()
	status, _, out := ts.do("POST", "/v1/responses", body)
	if status != 200 {
		t.Fatalf("%s: status %d: %s", body, status, out)
	}
	if strings.Contains(body, `"stream":true`) {
		evs := responseEventsOf(t, string(out))
		return evs[len(evs)-1].Response, out
	}
	var r responseObject
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatal(err)
	}
	return &r, out
}

// Stored responses: GET returns one, previous_response_id continues its
// conversation (without its instructions), DELETE drops it, store false
// keeps none, and streamed responses are kept too.
func TestResponsesStore(t *testing.T) {
	ts := newTestServer(t, Config{}, "반가워요.")
	first, body := postResponse(t, ts, `{"instructions":"첫 지시","input":"안녕"}`)
	if !first.Store {
		t.Fatalf("not stored: %s", body)
	}
	status, _, got := ts.do("GET", "/v1/responses/"+first.ID, "")
	if status != 200 || string(got) != string(body) {
		t.Errorf("GET: status %d\n%s\nwant\n%s", status, got, body)
	}
	second, _ := postResponse(t, ts, `{"instructions":"둘째 지시","input":"다시","previous_response_id":"`+first.ID+`","stream":true}`)
	prompt := string(mustDecode(t, ts.eng.last().Prompt))
	want := "<|im_start|>system\n둘째 지시<|im_end|>\n<|im_start|>user\n안녕<|im_end|>\n<|im_start|>assistant\n반가워요.<|im_end|>\n<|im_start|>user\n다시<|im_end|>\n<|im_start|>assistant\n"
	if !strings.HasSuffix(prompt, want) || strings.Contains(prompt, "첫 지시") {
		t.Errorf("follow-up prompt %q\nwant the suffix %q, without the first instructions", prompt, want)
	}
	if second.PreviousResponseID == nil || *second.PreviousResponseID != first.ID {
		t.Errorf("previous_response_id %v", second.PreviousResponseID)
	}
	// The chain goes on from the streamed response.
	postResponse(t, ts, `{"input":"셋째","previous_response_id":"`+second.ID+`"}`)
	if prompt := string(mustDecode(t, ts.eng.last().Prompt)); !strings.Contains(prompt, "user\n다시<|im_end|>\n<|im_start|>assistant\n반가워요.<|im_end|>\n<|im_start|>user\n셋째") {
		t.Errorf("third prompt %q", prompt)
	}
	unstored, _ := postResponse(t, ts, `{"input":"x","store":false}`)
	if status, _, _ := ts.do("GET", "/v1/responses/"+unstored.ID, ""); unstored.Store || status != 404 {
		t.Errorf("store false: store %v, GET status %d", unstored.Store, status)
	}
	status, _, got = ts.do("DELETE", "/v1/responses/"+first.ID, "")
	if status != 200 || !strings.Contains(string(got), `"deleted":true`) {
		t.Errorf("DELETE: status %d: %s", status, got)
	}
	for _, m := range []string{"GET", "DELETE"} {
		if status, _, _ := ts.do(m, "/v1/responses/"+first.ID, ""); status != 404 {
			t.Errorf("%s after DELETE: status %d", m, status)
		}
	}
	if status, _, _ := ts.do("POST", "/v1/responses/"+second.ID+"/input_items", ""); status != 404 && status != 405 {
		t.Errorf("POST input_items: status %d", status)
	}
}

// input_items lists a kept response's own input items, newest first by
// default, a page at a time.
func TestResponsesInputItemsList(t *testing.T) {
	ts := newTestServer(t, Config{}, "x")
	list := func(id, query string) itemsPage {
		t.Helper()
		status, _, body := ts.do("GET", "/v1/responses/"+id+"/input_items"+query, "")
		var p itemsPage
		if err := json.Unmarshal(body, &p); status != 200 || err != nil {
			t.Fatalf("input_items%s: status %d: %s", query, status, body)
		}
		return p
	}
	one, _ := postResponse(t, ts, `{"input":"안녕"}`)
	p := list(one.ID, "")
	if p.Object != "list" || len(p.Data) != 1 || p.HasMore || !strings.Contains(string(p.Data[0]), `"content":[{"text":"안녕","type":"input_text"}]`) ||
		p.FirstID == nil || !strings.HasPrefix(*p.FirstID, "msg_") {
		t.Errorf("a string input: %+v %s", p, p.Data)
	}
	three, _ := postResponse(t, ts, `{"input":[{"role":"user","content":"a","id":"msg_a"},{"role":"assistant","content":"b"},{"role":"user","content":"c","id":"msg_c"}]}`)
	if p = list(three.ID, ""); len(p.Data) != 3 || *p.FirstID != "msg_c" || itemID(p.Data[1]) == "" || *p.LastID != "msg_a" {
		t.Errorf("desc: %+v %s", p, p.Data)
	}
	if p = list(three.ID, "?order=asc&limit=2"); len(p.Data) != 2 || *p.FirstID != "msg_a" || !p.HasMore {
		t.Errorf("asc, 2: %+v", p)
	}
	if p = list(three.ID, "?order=asc&after="+*p.LastID); len(p.Data) != 1 || *p.FirstID != "msg_c" || p.HasMore {
		t.Errorf("asc after the second: %+v", p)
	}
	if p = list(three.ID, "?before=msg_a"); len(p.Data) != 2 || *p.FirstID != "msg_c" {
		t.Errorf("desc before the oldest: %+v", p)
	}
	for _, q := range []string{"?order=up", "?limit=0", "?after=msg_zz", "?before=x"} {
		if status, _, _ := ts.do("GET", "/v1/responses/"+three.ID+"/input_items"+q, ""); status != 400 {
			t.Errorf("%s: status %d", q, status)
		}
	}
	if status, _, _ := ts.do("GET", "/v1/responses/resp_none/input_items", ""); status != 404 {
		t.Errorf("an unknown response's items: status %d", status)
	}
}

// A function_call_output answers a stored response's call by its call_id.
func TestResponsesStoreToolCall(t *testing.T) {
	ts := newTestServer(t, Config{}, callReply, withTemplate(t, hermesTemplate))
	first, _ := postResponse(t, ts, `{"input":"서울 날씨 어때?","tools":`+responsesWeatherTool+`}`)
	callID := outputOf(t, first)[1]["call_id"].(string)
	postResponse(t, ts, `{"tools":`+responsesWeatherTool+`,"previous_response_id":"`+first.ID+`",
		"input":[{"type":"function_call_output","call_id":"`+callID+`","output":"맑음"}]}`)
	prompt := string(mustDecode(t, ts.eng.last().Prompt))
	want := "<|im_start|>assistant\n확인해 볼게요.<tool_call>{\"name\": \"get_weather\", \"arguments\": {\"city\": \"서울\"}}</tool_call><|im_end|>\n<|im_start|>user\n<tool_response>맑음</tool_response><|im_end|>\n<|im_start|>assistant\n"
	if !strings.HasSuffix(prompt, want) {
		t.Errorf("prompt %q\nwant the suffix %q", prompt, want)
	}
}

// The store keeps the newest responses within its count; with none kept
// previous_response_id is refused and responses say store false.
func TestResponsesStoreLimits(t *testing.T) {
	ts := newTestServer(t, Config{StoredResponses: 2}, "x")
	var ids []string
	for range 3 {
		r, _ := postResponse(t, ts, `{"input":"a"}`)
		ids = append(ids, r.ID)
	}
	for i, id := range ids {
		if status, _, _ := ts.do("GET", "/v1/responses/"+id, ""); (status == 200) != (i > 0) {
			t.Errorf("response %d of 3 with room for 2: GET status %d", i, status)
		}
	}
	off := newTestServer(t, Config{StoredResponses: -1}, "x")
	if r, _ := postResponse(t, off, `{"input":"a"}`); r.Store {
		t.Error("store true with no store")
	}
	status, _, body := off.do("POST", "/v1/responses", `{"input":"a","previous_response_id":"resp_1"}`)
	if status != 400 || !strings.Contains(string(body), "unsupported_parameter") {
		t.Errorf("previous_response_id with no store: status %d: %s", status, body)
	}
	// A store's byte budget drops the oldest too.
	s := newResponseStore(10, 1000)
	for i := range 5 {
		s.put(&storedResponse{id: fmt.Sprint(i), body: make([]byte, 300)})
	}
	if _, ok := s.get("0"); ok || s.bytes > 1000 || s.order.Len() != 3 {
		t.Errorf("byte budget: %d bytes in %d responses", s.bytes, s.order.Len())
	}
	s.put(&storedResponse{id: "big", body: make([]byte, 2000)})
	if _, ok := s.get("big"); ok {
		t.Error("a response over the whole budget was kept")
	}
}

// Reasoning, text and a call in one reply come out as three items, in
// that order, whole and streamed alike.
func TestResponsesReasoningTextAndCall(t *testing.T) {
	reply := "<think>날씨를 봐야겠다.</think>\n확인해 볼게요.\n<tool_call>{\"name\": \"get_weather\", \"arguments\": {\"city\": \"서울\"}}</tool_call>"
	ts := newTestServer(t, Config{}, reply, withTemplate(t, thinkTemplate))
	var outs [2][]map[string]any
	for i, stream := range []string{"false", "true"} {
		r, _ := postResponse(t, ts, `{"input":"서울 날씨?","tools":`+responsesWeatherTool+`,"stream":`+stream+`}`)
		outs[i] = outputOf(t, r)
		out := outs[i]
		if len(out) != 3 || out[0]["type"] != "reasoning" || out[1]["type"] != "message" || out[2]["type"] != "function_call" {
			t.Fatalf("stream %s: output %v", stream, out)
		}
		if text := out[1]["content"].([]any)[0].(map[string]any)["text"]; text != "확인해 볼게요." {
			t.Errorf("stream %s: text %q", stream, text)
		}
		if out[2]["arguments"] != `{"city":"서울"}` || r.Usage.OutputTokensDetails.ReasoningTokens != len("날씨를 봐야겠다.") {
			t.Errorf("stream %s: call %v, usage %+v", stream, out[2], r.Usage)
		}
	}
	for i := range outs[0] {
		a, b := outs[0][i], outs[1][i]
		delete(a, "id")
		delete(b, "id")
		delete(a, "call_id")
		delete(b, "call_id")
		if ja, jb := fmt.Sprint(a), fmt.Sprint(b); ja != jb {
			t.Errorf("item %d whole %s, streamed %s", i, ja, jb)
		}
	}
}

// The input_tokens routes count the prompt the same body submits to its
// generating route (instructions, tools, template and a previous
// response's conversation included), without running it.
func TestInputTokens(t *testing.T) {
	ts := newTestServer(t, Config{}, "반가워요.", withTemplate(t, hermesTemplate))
	first, _ := postResponse(t, ts, `{"input":"안녕"}`)
	tools := `"tools":[{"type":"function","name":"get_weather","parameters":{"type":"object"}}]`
	cases := []struct {
		name, count, run, body string
	}{
		{"responses", "/v1/responses/input_tokens", "/v1/responses", `{"instructions":"짧게","input":"서울 날씨?",` + tools + `}`},
		{"responses previous", "/v1/responses/input_tokens", "/v1/responses", `{"input":"다시","previous_response_id":"` + first.ID + `"}`},
		{"chat", "/v1/chat/completions/input_tokens", "/v1/chat/completions", `{"messages":[{"role":"system","content":"짧게"},{"role":"user","content":"서울 날씨?"}],"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}]}`},
		{"chat no /v1", "/chat/completions/input_tokens", "/chat/completions", `{"messages":[{"role":"user","content":"안녕"}],"max_tokens":3}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := len(ts.eng.lastRequests())
			status, _, raw := ts.do("POST", c.count, c.body)
			var got struct {
				Object      string `json:"object"`
				InputTokens int    `json:"input_tokens"`
			}
			if status != 200 || json.Unmarshal(raw, &got) != nil || got.Object != "response.input_tokens" {
				t.Fatalf("%d %s", status, raw)
			}
			if len(ts.eng.lastRequests()) != before {
				t.Fatalf("counting submitted a request")
			}
			if status, _, raw := ts.do("POST", c.run, c.body); status != 200 {
				t.Fatalf("%s: %d %s", c.run, status, raw)
			}
			if n := len(ts.eng.last().Prompt); got.InputTokens != n || n == 0 {
				t.Errorf("input_tokens %d, the request's prompt %d tokens", got.InputTokens, n)
			}
		})
	}
	for _, c := range []struct{ path, body, want string }{
		{"/v1/responses/input_tokens", `{"input":"x","previous_response_id":"resp_none"}`, `"param":"previous_response_id"`},
		{"/v1/responses/input_tokens", `{"input":"x","background":true}`, `"param":"background"`},
		{"/v1/chat/completions/input_tokens", `{"messages":[]}`, `messages`},
	} {
		if status, _, raw := ts.do("POST", c.path, c.body); status < 400 || !strings.Contains(string(raw), c.want) {
			t.Errorf("%s %s: %d %s", c.path, c.body, status, raw)
		}
	}
	if status, _, _ := ts.do("GET", "/v1/responses/input_tokens", ""); status != 405 {
		t.Errorf("GET input_tokens: status %d, want 405", status)
	}
}

// truncation "auto" drops the oldest turns, after the instructions and
// up to a user message, until the prompt leaves max_output_tokens of
// room; "disabled" refuses what does not fit.
func TestResponsesTruncationAuto(t *testing.T) {
	ts := newTestServer(t, Config{}, "ok") // a 256-token context; a byte a token
	turn := func(role, c string) string {
		return `{"role":"` + role + `","content":"` + strings.Repeat(c, 40) + `"}`
	}
	input := `[` + strings.Join([]string{turn("user", "a"), turn("assistant", "b"), turn("user", "c"), turn("assistant", "d"), turn("user", "e")}, ",") + `]`
	long := `{"instructions":"짧게","max_output_tokens":20,"input":` + input
	if status, _, body := ts.do("POST", "/v1/responses", long+`}`); status != 400 || !strings.Contains(string(body), "context_length_exceeded") {
		t.Errorf("disabled, too long: %d %s", status, body)
	}
	r, _ := postResponse(t, ts, long+`,"truncation":"auto"}`)
	prompt := string(mustDecode(t, ts.eng.last().Prompt))
	// Dropping "a" alone leaves "b" first, which goes too; "c", "d", "e"
	// still do not leave 20 tokens, so only "e" stays.
	if !strings.Contains(prompt, "system\n짧게") || !strings.Contains(prompt, strings.Repeat("e", 40)) || strings.Contains(prompt, "ccc") || strings.Contains(prompt, "ddd") {
		t.Errorf("truncated prompt %q", prompt)
	}
	if n := len(ts.eng.last().Prompt); n+20 > 256 {
		t.Errorf("%d prompt tokens leave less than 20 of 256", n)
	}
	if r.Truncation != "auto" || r.Status != "completed" {
		t.Errorf("response truncation %q status %q", r.Truncation, r.Status)
	}
	status, _, body := ts.do("POST", "/v1/responses/input_tokens", long+`,"truncation":"auto"}`)
	var count struct {
		InputTokens int `json:"input_tokens"`
	}
	if status != 200 || json.Unmarshal(body, &count) != nil || count.InputTokens != len(ts.eng.last().Prompt) {
		t.Errorf("input_tokens under auto: %d %s, want %d", status, body, len(ts.eng.last().Prompt))
	}
	// With more room to spare nothing is dropped.
	short := `{"max_output_tokens":20,"truncation":"auto","input":[` + turn("user", "x") + `,` + turn("assistant", "y") + `,` + turn("user", "z") + `]}`
	postResponse(t, ts, short)
	if p := string(mustDecode(t, ts.eng.last().Prompt)); !strings.Contains(p, "xxx") || !strings.Contains(p, "yyy") {
		t.Errorf("a conversation that fits lost turns: %q", p)
	}
	// The newest message alone too long: refused as without truncation.
	huge := `{"truncation":"auto","input":[` + turn("user", "x") + `,{"role":"user","content":"` + strings.Repeat("z", 300) + `"}]}`
	if status, _, body := ts.do("POST", "/v1/responses", huge); status != 400 || !strings.Contains(string(body), "context_length_exceeded") {
		t.Errorf("the newest message alone too long: %d %s", status, body)
	}
	if status, _, body := ts.do("POST", "/v1/responses", `{"input":"x","truncation":"middle"}`); status != 400 || !strings.Contains(string(body), `"param":"truncation"`) {
		t.Errorf("truncation middle: %d %s", status, body)
	}
}
