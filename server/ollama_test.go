package server

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// ollamaLines parses an NDJSON reply.
func ollamaLines(t *testing.T, body []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

// /api/chat: the options reach the sampler, the reply comes whole or as
// NDJSON lines whose contents add up to it, the last line done with the
// counts; the Ollama model name form is accepted.
func TestOllamaChat(t *testing.T) {
	ts := newTestServer(t, Config{ModelName: "base"}, "안녕하세요, 반갑습니다")
	status, hdr, body := ts.do("POST", "/api/chat", `{"model":"base:latest","stream":false,
		"messages":[{"role":"system","content":"s"},{"role":"user","content":"hi"}],
		"options":{"temperature":0.5,"top_k":3,"top_p":0.9,"repeat_last_n":12,"repeat_penalty":1.1,"seed":7,"num_predict":99,"stop":["끝"],"num_ctx":4096}}`)
	if status != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
		t.Fatalf("%d %s", status, body)
	}
	var r struct {
		Model   string `json:"model"`
		Message struct {
			Role, Content string
		} `json:"message"`
		Done            bool   `json:"done"`
		DoneReason      string `json:"done_reason"`
		PromptEvalCount int    `json:"prompt_eval_count"`
		EvalCount       int    `json:"eval_count"`
		TotalDuration   int64  `json:"total_duration"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatal(err)
	}
	if r.Message.Role != "assistant" || r.Message.Content != "안녕하세요, 반갑습니다" || !r.Done || r.DoneReason != "stop" ||
		r.PromptEvalCount == 0 || r.EvalCount == 0 || r.TotalDuration <= 0 || r.Model != "base" {
		t.Fatalf("reply %+v", r)
	}
	req := ts.eng.last()
	p := req.Sampling
	if p.Temperature != 0.5 || p.TopK != 3 || p.TopP != 0.9 || p.PenaltyLastN != 12 || p.Seed != 7 || !p.HasSeed ||
		req.MaxTokens != 99 || !slices.Equal(req.Stop, []string{"끝"}) {
		t.Fatalf("request %+v", req)
	}

	status, hdr, body = ts.do("POST", "/api/chat", `{"model":"base","messages":[{"role":"user","content":"hi"}]}`)
	if status != 200 || hdr.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("stream: %d %v %s", status, hdr, body)
	}
	lines := ollamaLines(t, body)
	var text strings.Builder
	for i, l := range lines {
		last := i == len(lines)-1
		if l["done"] != last {
			t.Fatalf("line %d done %v", i, l["done"])
		}
		text.WriteString(l["message"].(map[string]any)["content"].(string))
	}
	if len(lines) < 3 || text.String() != "안녕하세요, 반갑습니다" || lines[len(lines)-1]["eval_count"] == nil {
		t.Fatalf("%d lines, text %q, last %v", len(lines), text.String(), lines[len(lines)-1])
	}
	if ts.eng.last().MaxTokens != 0 {
		t.Errorf("without num_predict the reply is bounded by %d tokens, not the context", ts.eng.last().MaxTokens)
	}

	for _, tc := range []struct {
		body   string
		status int
	}{
		{`{"model":"other","messages":[{"role":"user","content":"hi"}]}`, http.StatusNotFound},
		{`{"model":"base","messages":[{"role":"user","content":"hi","images":["aGk="]}]}`, http.StatusBadRequest},
		{`{"model":"base","messages":[{"role":"user","content":"hi"}],"format":3}`, http.StatusBadRequest},
	} {
		status, _, body := ts.do("POST", "/api/chat", tc.body)
		var e struct{ Error string }
		if status != tc.status || json.Unmarshal(body, &e) != nil || e.Error == "" {
			t.Errorf("%s: %d %s, want %d and {\"error\": ...}", tc.body, status, body, tc.status)
		}
	}
	if status, _, body := ts.do("POST", "/api/chat", `{"model":"base","stream":false,"format":"json","messages":[{"role":"user","content":"hi"}]}`); status != 200 || ts.eng.last().Constraint == nil {
		t.Errorf("format json: %d %s, constraint %v", status, body, ts.eng.last().Constraint != nil)
	}
}

// /api/generate: templated (a user turn) or raw; empty prompts answer
// done at once.
func TestOllamaGenerate(t *testing.T) {
	ts := newTestServer(t, Config{ModelName: "base"}, "reply")
	status, _, body := ts.do("POST", "/api/generate", `{"model":"base","prompt":"abc","raw":true,"stream":false,"options":{"num_predict":-1}}`)
	var r struct {
		Response string `json:"response"`
		Done     bool   `json:"done"`
	}
	if status != 200 || json.Unmarshal(body, &r) != nil || r.Response != "reply" || !r.Done {
		t.Fatalf("raw: %d %s", status, body)
	}
	if req := ts.eng.last(); !slices.Equal(req.Prompt, []int32{1, 'a' + 3, 'b' + 3, 'c' + 3}) || req.MaxTokens != 0 {
		t.Fatalf("raw prompt %v, max tokens %d", req.Prompt, req.MaxTokens)
	}
	status, _, body = ts.do("POST", "/api/generate", `{"model":"base","prompt":"abc","system":"sys"}`)
	lines := ollamaLines(t, body)
	var text strings.Builder
	for _, l := range lines {
		text.WriteString(l["response"].(string))
	}
	if status != 200 || text.String() != "reply" || lines[len(lines)-1]["done"] != true {
		t.Fatalf("templated: %d %s", status, body)
	}
	if p := ts.eng.last().Prompt; len(p) <= 4 {
		t.Fatalf("templated prompt %v is the raw one", p)
	}
	if status, _, body := ts.do("POST", "/api/generate", `{"model":"base"}`); status != 200 || !strings.Contains(string(body), `"done":true`) {
		t.Errorf("empty prompt: %d %s", status, body)
	}
}

// The listing routes, and /api/embed next to the OpenAI embeddings.
func TestOllamaModels(t *testing.T) {
	ts := newTestServer(t, Config{ModelName: "base", LoRAModules: []LoRAModule{{"ko", "/a/ko.gguf"}}}, "x", func(b *Backend) {
		b.Model = ModelInfo{Size: 1234, Arch: "llama", Params: 1_240_000_000, Quant: "Q4_K", Context: 131072}
		b.Embedder = fakeEmbedder{nCtx: 10}
	})
	status, _, body := ts.do("GET", "/api/tags", "")
	var tags struct {
		Models []struct {
			Name    string
			Size    int64
			Details struct {
				Format, Family, ParameterSize, QuantizationLevel string
			}
		}
	}
	if status != 200 || json.Unmarshal(body, &tags) != nil || len(tags.Models) != 2 || tags.Models[0].Name != "base:latest" ||
		tags.Models[1].Name != "ko:latest" || tags.Models[0].Size != 1234 {
		t.Fatalf("tags: %d %s", status, body)
	}
	if !strings.Contains(string(body), `"parameter_size":"1.2B"`) || !strings.Contains(string(body), `"quantization_level":"Q4_K"`) {
		t.Errorf("tags details: %s", body)
	}
	if status, _, body := ts.do("GET", "/", ""); status != 200 || !strings.HasPrefix(string(body), "Nuri is running") {
		t.Errorf("root: %d %s", status, body)
	}
	if status, _, body := ts.do("GET", "/api/version", ""); status != 200 || string(body) != `{"version":"0.12.0"}` {
		t.Errorf("version: %d %s", status, body)
	}
	if status, _, body := ts.do("GET", "/api/ps", ""); status != 200 || !strings.Contains(string(body), `"context_length":256`) {
		t.Errorf("ps: %d %s", status, body)
	}
	status, _, body = ts.do("POST", "/api/show", `{"model":"ko:latest"}`)
	if status != 200 || !strings.Contains(string(body), `"llama.context_length":131072`) || !strings.Contains(string(body), `"embedding"`) ||
		!strings.Contains(string(body), `"parent_model":"base:latest"`) {
		t.Errorf("show: %d %s", status, body)
	}
	if status, _, body := ts.do("POST", "/api/show", `{"model":"nope"}`); status != http.StatusNotFound || !strings.Contains(string(body), `"error"`) {
		t.Errorf("show unknown: %d %s", status, body)
	}
	status, _, body = ts.do("POST", "/api/embed", `{"model":"base","input":["ab","abc"]}`)
	var emb struct {
		Embeddings [][]float32 `json:"embeddings"`
		Count      int         `json:"prompt_eval_count"`
	}
	if status != 200 || json.Unmarshal(body, &emb) != nil || len(emb.Embeddings) != 2 || len(emb.Embeddings[0]) != 4 || emb.Count != 7 {
		t.Fatalf("embed: %d %s", status, body)
	}
	status, _, body = ts.do("POST", "/api/embeddings", `{"model":"base","prompt":"ab"}`)
	var legacy struct{ Embedding []float32 }
	if status != 200 || json.Unmarshal(body, &legacy) != nil || len(legacy.Embedding) != 4 {
		t.Fatalf("embeddings: %d %s", status, body)
	}
}

// Thinking and tool calls come apart as Ollama gives them: message.thinking
// and message.tool_calls with object arguments, streamed or not; a tool
// call and its result in the history reach the template.
func TestOllamaThinkingAndTools(t *testing.T) {
	reply := "<think>날씨를 봐야겠다.</think>\n<tool_call>{\"name\": \"get_weather\", \"arguments\": {\"city\": \"서울\"}}</tool_call>"
	ts := newTestServer(t, Config{ModelName: "base"}, reply, withTemplate(t, thinkTemplate), func(b *Backend) { b.Reasoning = ReasoningAuto })
	req := `{"model":"base","messages":[{"role":"user","content":"서울 날씨?"}],"tools":` + weatherTool + `,"think":true`
	for _, stream := range []bool{false, true} {
		body := req + `,"stream":false}`
		if stream {
			body = req + `}`
		}
		status, _, raw := ts.do("POST", "/api/chat", body)
		if status != 200 {
			t.Fatalf("stream %v: %d %s", stream, status, raw)
		}
		var thinking, content strings.Builder
		var calls []any
		for _, l := range ollamaLines(t, raw) {
			m := l["message"].(map[string]any)
			if s, ok := m["thinking"].(string); ok {
				thinking.WriteString(s)
			}
			content.WriteString(m["content"].(string))
			if c, ok := m["tool_calls"].([]any); ok {
				calls = append(calls, c...)
			}
		}
		if thinking.String() != "날씨를 봐야겠다." || strings.TrimSpace(content.String()) != "" || len(calls) != 1 {
			t.Fatalf("stream %v: thinking %q content %q calls %v", stream, thinking.String(), content.String(), calls)
		}
		fn := calls[0].(map[string]any)["function"].(map[string]any)
		if args, ok := fn["arguments"].(map[string]any); fn["name"] != "get_weather" || !ok || args["city"] != "서울" {
			t.Errorf("stream %v: call %v", stream, fn)
		}
	}
	if kw := ts.eng.last(); kw.Prompt == nil {
		t.Fatal("no prompt")
	}
	// The call and its result as history.
	hist := `{"model":"base","stream":false,"tools":` + weatherTool + `,"messages":[{"role":"user","content":"서울 날씨?"},
		{"role":"assistant","content":"","tool_calls":[{"function":{"name":"get_weather","arguments":{"city":"서울"}}}]},
		{"role":"tool","content":"맑음","tool_name":"get_weather"}]}`
	if status, _, raw := ts.do("POST", "/api/chat", hist); status != 200 {
		t.Fatalf("history: %d %s", status, raw)
	}
	prompt := string(mustDecode(t, ts.eng.last().Prompt))
	if !strings.Contains(prompt, "get_weather") || !strings.Contains(prompt, "맑음") {
		t.Errorf("the history is not in the prompt: %q", prompt)
	}
}

// TestOllamaTaggedName: a model served under the name Ollama pulled it as
// ("qwen3:8b") is listed and answered under that name, not "qwen3:8b:latest".
func TestOllamaTaggedName(t *testing.T) {
	ts := newTestServer(t, Config{ModelName: "qwen3:8b"}, "hello")
	status, _, body := ts.do("GET", "/api/tags", "")
	if status != 200 || !strings.Contains(string(body), `"name":"qwen3:8b"`) || strings.Contains(string(body), "qwen3:8b:latest") {
		t.Fatalf("tags: %d %s", status, body)
	}
	status, _, body = ts.do("POST", "/api/chat", `{"model":"qwen3:8b","stream":false,"messages":[{"role":"user","content":"hi"}]}`)
	if status != 200 || !strings.Contains(string(body), `"model":"qwen3:8b"`) {
		t.Errorf("chat: %d %s", status, body)
	}
	for name, want := range map[string]string{"qwen3": "qwen3:latest", "qwen3:8b": "qwen3:8b", "hf.co/org/repo:Q4_K_M": "hf.co/org/repo:Q4_K_M",
		"localhost:5000/ns/m": "localhost:5000/ns/m:latest", "Org/Repo": "Org/Repo:latest"} {
		if got := ollamaTagged(name); got != want {
			t.Errorf("ollamaTagged(%q) = %q, want %q", name, got, want)
		}
	}
}

// TestOllamaPull: pulling the model served succeeds at once (streamed or
// not); another is not found, and managing models is not supported.
func TestOllamaPull(t *testing.T) {
	ts := newTestServer(t, Config{ModelName: "qwen3:8b"}, "hello")
	status, hdr, body := ts.do("POST", "/api/pull", `{"model":"qwen3:8b"}`)
	if status != 200 || hdr.Get("Content-Type") != "application/x-ndjson" || string(body) != `{"status":"success"}`+"\n" {
		t.Errorf("pull, streamed: %d %q %s", status, hdr.Get("Content-Type"), body)
	}
	status, _, body = ts.do("POST", "/api/pull", `{"name":"qwen3:8b","stream":false}`)
	if status != 200 || !strings.Contains(string(body), `"status":"success"`) {
		t.Errorf("pull: %d %s", status, body)
	}
	status, _, body = ts.do("POST", "/api/pull", `{"model":"llama3:latest"}`)
	if status != 404 || !strings.Contains(string(body), "downloads nothing") {
		t.Errorf("pull of another model: %d %s", status, body)
	}
	for _, r := range [][2]string{{"POST", "/api/create"}, {"POST", "/api/copy"}, {"POST", "/api/push"}, {"DELETE", "/api/delete"}} {
		status, _, body := ts.do(r[0], r[1], `{"model":"qwen3:8b"}`)
		if status < 400 || !strings.Contains(string(body), "does not manage models") {
			t.Errorf("%s %s: %d %s", r[0], r[1], status, body)
		}
	}
}
