package server

import (
	"encoding/json"
	"testing"

	"go.uber.org/zap"

	"github.com/nuri-ai/nuri/chat"
)

// FuzzChatJob sends whatever decodes as a /v1/chat/completions body
// through the request's whole validation and rendering (chatJob, on a
// fake engine with a Hermes-style template that shows tools): a client's
// request must give a job or an error that statusOf answers with a 4xx,
// never a panic or a 500. Every seed must give a job, so the fuzzing
// starts from requests that reach the tools, constraints and template.
func FuzzChatJob(f *testing.F) {
	seeds := []string{
		`{"messages":[{"role":"user","content":"안녕"}],"max_tokens":5}`,
		`{"messages":[{"role":"system","content":"x"},{"role":"user","content":[{"type":"text","text":"a"}]}],"logprobs":true,"top_logprobs":2}`,
		`{"messages":[{"role":"user","content":"서울 날씨?"}],"tools":` + weatherTool + `,"tool_choice":"required"}`,
		`{"messages":[{"role":"user","content":"q"},{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"서울\"}"}}]},{"role":"tool","tool_call_id":"c","content":"맑음"}],"tools":` + weatherTool + `}`,
		`{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"부분"}],"continue_final_message":true,"add_generation_prompt":false}`,
		`{"messages":[{"role":"user","content":"q"}],"response_format":{"type":"json_schema","json_schema":{"name":"n","schema":{"type":"object","properties":{"a":{"type":"integer"}}}}}}`,
		`{"messages":[{"role":"user","content":"q"}],"stop":["a","b"],"n":2,"seed":1,"temperature":0.5,"top_p":0.9,"max_completion_tokens":3}`,
		`{"messages":[{"role":"user","content":"q"},{"role":"assistant","function_call":{"name":"f","arguments":"{}"}},{"role":"function","name":"f","content":"r"}],"functions":[{"name":"f","parameters":{"type":"object"}}],"function_call":{"name":"f"}}`,
	}
	srv, err := New(Config{ModelName: "fake-model", Logger: zap.NewNop()})
	if err != nil {
		f.Fatal(err)
	}
	r, err := chat.New(hermesTemplate)
	if err != nil {
		f.Fatal(err)
	}
	// Byte tokens: a prompt with tools is long.
	b := &Backend{Engine: &fakeEngine{nCtx: 4096}, Tokenizer: fakeTokenizer{}, Chat: r}
	if err := srv.SetBackend(b); err != nil {
		f.Fatal(err)
	}
	for _, s := range seeds {
		var req chatRequest
		if err := json.Unmarshal([]byte(s), &req); err != nil {
			f.Fatalf("seed %s: %v", s, err)
		}
		if _, err := srv.chatJob(b, &req, "chat", "chatcmpl-seed"); err != nil {
			f.Fatalf("seed %s: %v", s, err)
		}
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req chatRequest
		if json.Unmarshal(body, &req) != nil {
			return
		}
		j, err := srv.chatJob(b, &req, "chat", "chatcmpl-fuzz")
		if err != nil {
			if status, _, _ := statusOf(err); status < 400 || status >= 500 {
				t.Fatalf("%s: status %d for %v", body, status, err)
			}
			return
		}
		if j == nil {
			t.Fatalf("%s: no job and no error", body)
		}
	})
}
