package server

import (
	"bufio"
	"cmp"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// sseEvents splits an SSE body into its data payloads.
func sseEvents(t *testing.T, body string) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "data: ") {
			out = append(out, strings.TrimPrefix(line, "data: "))
		}
	}
	return out
}

func TestCompletionNonStreaming(t *testing.T) {
	ts := newTestServer(t, Config{}, "hello world")
	status, _, body := ts.do("POST", "/v1/completions", `{"model":"fake-model","prompt":"hi","max_tokens":5,"temperature":0}`)
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	var resp completionResponse
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatal(err)
	}
	if resp.Object != "text_completion" || len(resp.Choices) != 1 || resp.Choices[0].Text != "hello" ||
		*resp.Choices[0].FinishReason != "length" || resp.Model != "fake-model" || !strings.HasPrefix(resp.ID, "cmpl-") {
		t.Errorf("response %s", body)
	}
	if u := resp.Usage; u.PromptTokens != 3 || u.CompletionTokens != 5 || u.TotalTokens != 8 {
		t.Errorf("usage %+v, want 3 prompt (BOS+2) and 5 completion", u)
	}
	reqs := ts.eng.lastRequests()
	if len(reqs) != 1 || reqs[0].Sampling.Temperature != 0 || reqs[0].MaxTokens != 5 {
		t.Errorf("engine got %+v", reqs)
	}
	// OpenAI's default of 16 tokens when max_tokens is absent
	ts.do("POST", "/v1/completions", `{"prompt":"hi"}`)
	if reqs := ts.eng.lastRequests(); reqs[len(reqs)-1].MaxTokens != 16 {
		t.Errorf("default max tokens %d, want 16", reqs[len(reqs)-1].MaxTokens)
	}
}

func TestRequestFieldsReachEngine(t *testing.T) {
	ts := newTestServer(t, Config{}, "x")
	status, _, body := ts.do("POST", "/v1/completions", `{"prompt":[1,5,6],"max_tokens":3,"temperature":0.5,"top_p":0.9,"top_k":7,
		"min_p":0.1,"presence_penalty":0.5,"frequency_penalty":-0.5,"repetition_penalty":1.1,"seed":42,"stop":["a","b"],
		"logit_bias":{"5":-100},"user":"u1","ignore_eos":true,"unknown_field":{"x":1}}`)
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	r := ts.eng.lastRequests()[0]
	p := r.Sampling
	if len(r.Prompt) != 3 || r.Prompt[1] != 5 || p.Temperature != 0.5 || p.TopP != 0.9 || p.TopK != 7 || p.MinP != float32(0.1) ||
		p.PresencePenalty != 0.5 || p.FrequencyPenalty != -0.5 || p.RepeatPenalty != float32(1.1) || !p.HasSeed || p.Seed != 42 ||
		len(r.Stop) != 2 || p.LogitBias[5] != -100 || !r.IgnoreEOS {
		t.Errorf("engine request %+v", r)
	}
}

func TestChatStreamingHangul(t *testing.T) {
	reply := "안녕하세요! 반가워요. 한국어 스트리밍 😀 test"
	ts := newTestServer(t, Config{}, reply)
	status, hdr, body := ts.do("POST", "/v1/chat/completions",
		`{"messages":[{"role":"system","content":"시스템"},{"role":"user","content":[{"type":"text","text":"안녕"}]}],
		  "stream":true,"stream_options":{"include_usage":true}}`, "Accept-Encoding", "gzip")
	if status != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/event-stream") || hdr.Get("Content-Encoding") != "" {
		t.Fatalf("status %d, headers %v", status, hdr)
	}
	events := sseEvents(t, string(body))
	if len(events) < 4 || events[len(events)-1] != "[DONE]" {
		t.Fatalf("events %q", events)
	}
	var text strings.Builder
	sawFinish, sawUsage := false, false
	for i, e := range events[:len(events)-1] {
		var c chatResponse
		if err := json.Unmarshal([]byte(e), &c); err != nil {
			t.Fatalf("chunk %d not JSON: %v: %s", i, err, e)
		}
		if c.Object != "chat.completion.chunk" {
			t.Errorf("chunk %d object %q", i, c.Object)
		}
		if c.Usage != nil {
			sawUsage = true
			if len(c.Choices) != 0 || i != len(events)-2 {
				t.Errorf("usage chunk %d has choices or is not last: %s", i, e)
			}
			want := len(reply) // one token per byte in the fake
			if c.Usage.CompletionTokens != want || c.Usage.PromptTokens == 0 || c.Usage.TotalTokens != c.Usage.PromptTokens+want {
				t.Errorf("usage %+v, want %d completion tokens", c.Usage, want)
			}
			continue
		}
		ch := c.Choices[0]
		if i == 0 && (ch.Delta.Role != "assistant" || ch.Delta.Content == nil || *ch.Delta.Content != "") {
			t.Errorf("first chunk is not the role delta: %s", e)
		}
		if ch.Delta.Content != nil {
			d := *ch.Delta.Content
			if !utf8.ValidString(d) || strings.ContainsRune(d, utf8.RuneError) {
				t.Errorf("chunk %d splits a character: %q", i, d)
			}
			text.WriteString(d)
		}
		if ch.FinishReason != nil {
			sawFinish = true
			if *ch.FinishReason != "stop" {
				t.Errorf("finish %q", *ch.FinishReason)
			}
		}
	}
	if text.String() != reply || !sawFinish || !sawUsage {
		t.Errorf("text %q (want %q), finish %v, usage %v", text.String(), reply, sawFinish, sawUsage)
	}
	// the rendered ChatML prompt reached the engine with BOS
	got, _ := fakeTokenizer{}.Decode(ts.eng.lastRequests()[0].Prompt, false)
	if want := "<|im_start|>system\n시스템<|im_end|>\n<|im_start|>user\n안녕<|im_end|>\n<|im_start|>assistant\n"; string(got) != want {
		t.Errorf("prompt %q, want %q", got, want)
	}
}

func TestChatNonStreamingChoicesAndLogprobs(t *testing.T) {
	ts := newTestServer(t, Config{}, "네 알겠어요")
	status, _, body := ts.do("POST", "/v1/chat/completions",
		`{"messages":[{"role":"user","content":"hi"}],"n":3,"seed":7,"logprobs":true,"top_logprobs":2,"max_completion_tokens":100}`)
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	var resp chatResponse
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatal(err)
	}
	if len(resp.Choices) != 3 {
		t.Fatalf("%d choices", len(resp.Choices))
	}
	for i, c := range resp.Choices {
		if c.Index != i || *c.Message.Content != "네 알겠어요" || c.Message.Role != "assistant" {
			t.Errorf("choice %d: %+v", i, c)
		}
		if c.Logprobs == nil || len(c.Logprobs.Content) != len("네 알겠어요") || len(c.Logprobs.Content[0].TopLogprobs) != 2 {
			t.Errorf("choice %d logprobs %+v", i, c.Logprobs)
		}
	}
	if resp.Usage.CompletionTokens != 3*len("네 알겠어요") || resp.Usage.PromptTokens != len(ts.eng.lastRequests()[0].Prompt) {
		t.Errorf("usage %+v: prompt counted once, completions summed", resp.Usage)
	}
	seeds := map[uint64]bool{}
	for _, r := range ts.eng.lastRequests() {
		seeds[r.Sampling.Seed] = true
		if !r.Logprobs || r.TopLogprobs != 2 || r.MaxTokens != 100 {
			t.Errorf("engine request %+v", r)
		}
	}
	if !seeds[7] || !seeds[8] || !seeds[9] {
		t.Errorf("seeds %v, want 7, 8, 9", seeds)
	}
}

func TestCompletionStreamingStopAndLogprobs(t *testing.T) {
	ts := newTestServer(t, Config{}, "one two three")
	status, _, body := ts.do("POST", "/v1/completions", `{"prompt":"p","stream":true,"stop":" three","logprobs":1,"max_tokens":50}`)
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	events := sseEvents(t, string(body))
	var text strings.Builder
	offsets := []int{}
	for _, e := range events[:len(events)-1] {
		var c completionResponse
		if err := json.Unmarshal([]byte(e), &c); err != nil {
			t.Fatal(err)
		}
		if len(c.Choices) == 1 {
			text.WriteString(c.Choices[0].Text)
			if lp := c.Choices[0].Logprobs; lp != nil {
				offsets = append(offsets, lp.TextOffset...)
			}
		}
	}
	if text.String() != "one two" || events[len(events)-1] != "[DONE]" {
		t.Errorf("text %q, last %q", text.String(), events[len(events)-1])
	}
	for i, o := range offsets {
		if o != i {
			t.Fatalf("text offsets %v, want 0,1,2,...", offsets)
		}
	}
}

func TestModelsAndTokenize(t *testing.T) {
	ts := newTestServer(t, Config{ModelName: "m1"}, "x")
	status, _, body := ts.do("GET", "/v1/models", "")
	var list modelList
	if status != 200 || json.Unmarshal(body, &list) != nil || len(list.Data) != 1 || list.Data[0].ID != "m1" || list.Data[0].MaxModelLen != 256 {
		t.Errorf("models: %d %s", status, body)
	}
	if status, _, body = ts.do("GET", "/v1/models/m1", ""); status != 200 {
		t.Errorf("model m1: %d %s", status, body)
	}
	if status, _, _ = ts.do("GET", "/v1/models/other", ""); status != http.StatusNotFound {
		t.Errorf("model other: %d", status)
	}
	status, _, body = ts.do("POST", "/tokenize", `{"prompt":"ab"}`)
	if status != 200 || string(body) != `{"tokens":[1,100,101],"count":3,"max_model_len":256}` {
		t.Errorf("tokenize: %d %s", status, body)
	}
	status, _, body = ts.do("POST", "/detokenize", `{"tokens":[1,100,101]}`)
	if status != 200 || string(body) != `{"content":"ab","prompt":"ab"}` {
		t.Errorf("detokenize: %d %s", status, body)
	}
	status, _, body = ts.do("POST", "/tokenize", `{"messages":[{"role":"user","content":"a"}],"add_generation_prompt":false}`)
	var tr tokenizeResponse
	if status != 200 || json.Unmarshal(body, &tr) != nil || tr.Count != len("<|im_start|>user\na<|im_end|>\n")+1 {
		t.Errorf("tokenize messages: %d %s", status, body)
	}
}

func TestStreamingSeveralChoices(t *testing.T) {
	ts := newTestServer(t, Config{}, "둘 다")
	status, _, body := ts.do("POST", "/v1/chat/completions",
		`{"messages":[{"role":"user","content":"a"}],"n":2,"stream":true,"stream_options":{"include_usage":true}}`)
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	events := sseEvents(t, string(body))
	texts := map[int]string{}
	roles, finishes := map[int]bool{}, map[int]bool{}
	var usage *usageJSON
	for _, e := range events[:len(events)-1] {
		var c chatResponse
		if err := json.Unmarshal([]byte(e), &c); err != nil {
			t.Fatal(err)
		}
		if c.Usage != nil {
			usage = c.Usage
			continue
		}
		ch := c.Choices[0]
		if ch.Delta.Role == "assistant" {
			roles[ch.Index] = true
		}
		if ch.Delta.Content != nil {
			texts[ch.Index] += *ch.Delta.Content
		}
		if ch.FinishReason != nil {
			finishes[ch.Index] = true
		}
	}
	for i := 0; i < 2; i++ {
		if texts[i] != "둘 다" || !roles[i] || !finishes[i] {
			t.Errorf("choice %d: text %q role %v finish %v", i, texts[i], roles[i], finishes[i])
		}
	}
	if usage == nil || usage.CompletionTokens != 2*len("둘 다") {
		t.Errorf("usage %+v", usage)
	}
}

// TestCompletionEcho: with echo every choice starts with its own prompt
// (choices are prompt-major), the prompt's scores come first with the
// first token's null, and max_tokens 0 returns the prompt alone; streamed,
// the prompt is each choice's first chunk.
func TestCompletionEcho(t *testing.T) {
	ts := newTestServer(t, Config{}, "hello")
	type lpJSON struct {
		Tokens        []string             `json:"tokens"`
		TokenLogprobs []*float64           `json:"token_logprobs"`
		TopLogprobs   []map[string]float64 `json:"top_logprobs"`
		TextOffset    []int                `json:"text_offset"`
	}
	type respJSON struct {
		Choices []struct {
			Index        int     `json:"index"`
			Text         string  `json:"text"`
			Logprobs     *lpJSON `json:"logprobs"`
			FinishReason *string `json:"finish_reason"`
		} `json:"choices"`
		Usage *struct {
			CompletionTokens int `json:"completion_tokens"`
		} `json:"usage"`
	}
	status, _, body := ts.do("POST", "/v1/completions", `{"prompt":["ab","xyz"],"n":2,"echo":true,"logprobs":1,"max_tokens":3}`)
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	var r respJSON
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatal(err)
	}
	prompts := []string{"ab", "ab", "xyz", "xyz"}
	for i, c := range r.Choices {
		if c.Text != prompts[i]+"hel" {
			t.Errorf("choice %d text %q, want %q", i, c.Text, prompts[i]+"hel")
		}
		lp := c.Logprobs
		want := append([]string{""}, strings.Split(prompts[i]+"hel", "")...) // BOS has no text here
		if lp == nil || !slices.Equal(lp.Tokens, want) || len(lp.TokenLogprobs) != len(want) || len(lp.TopLogprobs) != len(want) {
			t.Fatalf("choice %d logprobs %+v, want tokens %q", i, lp, want)
		}
		if lp.TokenLogprobs[0] != nil || lp.TopLogprobs[0] != nil || *lp.TokenLogprobs[1] != -0.125 {
			t.Errorf("choice %d: first scores %v %v, second %v", i, lp.TokenLogprobs[0], lp.TopLogprobs[0], *lp.TokenLogprobs[1])
		}
		for k := 1; k < len(want); k++ {
			if lp.TextOffset[k] != lp.TextOffset[k-1]+len(want[k-1]) {
				t.Fatalf("choice %d offsets %v", i, lp.TextOffset)
			}
		}
	}
	if reqs := ts.eng.lastRequests(); !reqs[len(reqs)-1].PromptLogprobs {
		t.Errorf("engine request without PromptLogprobs: %+v", reqs[len(reqs)-1])
	}

	status, _, body = ts.do("POST", "/v1/completions", `{"prompt":"abc","echo":true,"max_tokens":0}`)
	if err := json.Unmarshal(body, &r); status != 200 || err != nil {
		t.Fatalf("max_tokens 0: status %d %v: %s", status, err, body)
	}
	if c := r.Choices[0]; c.Text != "abc" || *c.FinishReason != "length" || c.Logprobs != nil || r.Usage.CompletionTokens != 0 {
		t.Errorf("max_tokens 0 with echo: %s", body)
	}
	if reqs := ts.eng.lastRequests(); !reqs[len(reqs)-1].PromptOnly || reqs[len(reqs)-1].PromptLogprobs {
		t.Errorf("engine request %+v, want prompt-only without scores", reqs[len(reqs)-1])
	}

	status, _, body = ts.do("POST", "/v1/completions", `{"prompt":["ab","xyz"],"echo":true,"logprobs":0,"max_tokens":2,"stream":true}`)
	if status != 200 {
		t.Fatalf("stream: status %d: %s", status, body)
	}
	texts, first := map[int]string{}, map[int]string{}
	for _, e := range sseEvents(t, string(body)) {
		if e == "[DONE]" {
			continue
		}
		var c respJSON
		if err := json.Unmarshal([]byte(e), &c); err != nil {
			t.Fatal(err)
		}
		for _, ch := range c.Choices {
			if _, ok := first[ch.Index]; !ok && ch.Text != "" {
				first[ch.Index] = ch.Text
			}
			texts[ch.Index] += ch.Text
		}
	}
	if texts[0] != "abhe" || texts[1] != "xyzhe" || first[0] != "ab" || first[1] != "xyz" {
		t.Errorf("streamed texts %v, first chunks %v", texts, first)
	}
}

// A prediction reaches the engine as tokens of its text, and the usage
// then reports the prediction's tokens.
func TestPrediction(t *testing.T) {
	ts := newTestServer(t, Config{}, "hello world")
	status, _, body := ts.do("POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}],
		"prediction":{"type":"content","content":[{"type":"text","text":"hel"},{"type":"text","text":"lo"}]}}`)
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	want, _ := fakeTokenizer{}.Encode("hel\nlo", false, false)
	if got := ts.eng.last().Prediction; !slices.Equal(got, want) {
		t.Errorf("engine prediction %v, want %v", got, want)
	}
	if !strings.Contains(string(body), `"completion_tokens_details":{"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}`) {
		t.Errorf("usage without the prediction's details: %s", body)
	}
	status, _, body = ts.do("POST", "/v1/completions", `{"prompt":"hi","prediction":{"type":"content","content":"hello"}}`)
	want, _ = fakeTokenizer{}.Encode("hello", false, false)
	if status != 200 || !slices.Equal(ts.eng.last().Prediction, want) {
		t.Errorf("completions: status %d, prediction %v: %s", status, ts.eng.last().Prediction, body)
	}
	if _, _, body = ts.do("POST", "/v1/completions", `{"prompt":"hi"}`); strings.Contains(string(body), "completion_tokens_details") {
		t.Errorf("details without a prediction: %s", body)
	}
	for _, bad := range []string{`{"type":"text","content":"x"}`, `"x"`, `{"type":"content","content":[{"type":"image_url"}]}`} {
		status, _, body := ts.do("POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}],"prediction":`+bad+`}`)
		if status != 400 || !strings.Contains(string(body), `"param":"prediction`) {
			t.Errorf("prediction %s: status %d: %s", bad, status, body)
		}
	}
}

// fimTok is the fake tokenizer with fill-in-the-middle tokens.
type fimTok struct{ fakeTokenizer }

func (fimTok) FIM() (pre, suf, mid int32, ok bool) { return 250, 251, 252, true }

// A completion with a suffix fills in the middle: the prompt is the
// prefix and the suffix in the model's fill-in-the-middle layout.
func TestCompletionSuffix(t *testing.T) {
	ts := newTestServer(t, Config{}, "x + 1", func(b *Backend) { b.Tokenizer = fimTok{} })
	enc := func(s string) []int32 { ids, _ := fakeTokenizer{}.Encode(s, false, false); return ids }
	suffix := enc("\n\nprint(f(2))")
	var body []byte
	for _, tc := range []struct {
		prompt string
		prefix []int32
	}{{`"def f(x):\n    return "`, enc("def f(x):\n    return ")}, {`[7,8]`, []int32{7, 8}}} {
		var status int
		status, _, body = ts.do("POST", "/v1/completions", `{"prompt":`+tc.prompt+`,"suffix":"\n\nprint(f(2))","max_tokens":8}`)
		if status != 200 {
			t.Fatalf("status %d: %s", status, body)
		}
		want := slices.Concat([]int32{1, 250}, tc.prefix, []int32{251}, suffix, []int32{252})
		if got := ts.eng.last().Prompt; !slices.Equal(got, want) {
			t.Errorf("prompt %s: %v, want %v", tc.prompt, got, want)
		}
	}
	if !strings.Contains(string(body), `"text":"x + 1"`) {
		t.Errorf("response %s", body)
	}
	for _, tc := range []struct {
		body, param string
		plain       bool // a model without fill-in-the-middle tokens
	}{
		{`{"prompt":"a","suffix":"b","echo":true}`, "echo", false},
		{`{"prompt":"a","suffix":"b"}`, "suffix", true},
		{`{"prompt":[[999]],"suffix":"b"}`, "prompt", false},
	} {
		srv := ts
		if tc.plain {
			srv = newTestServer(t, Config{}, "x")
		}
		status, _, body := srv.do("POST", "/v1/completions", tc.body)
		if status != 400 || !strings.Contains(string(body), `"param":"`+tc.param+`"`) {
			t.Errorf("%s: status %d: %s", tc.body, status, body)
		}
	}
	// An empty suffix is no suffix.
	ts.do("POST", "/v1/completions", `{"prompt":"a","suffix":""}`)
	if got := ts.eng.last().Prompt; slices.Contains(got, 250) {
		t.Errorf("empty suffix: prompt %v", got)
	}
}

// LoRA modules are models of their own: /v1/models lists them with their
// file and parent, a generation request naming one runs with its adapter
// id and replies under its name, tokenizing accepts it, embeddings and
// unknown names do not, and a module may not take a model's name.
func TestLoRAModules(t *testing.T) {
	cfg := Config{ModelName: "base", LoRAModules: []LoRAModule{{"sql", "/a/sql.gguf"}, {"ko", "/a/ko.gguf"}}}
	ts := newTestServer(t, cfg, "x", func(b *Backend) { b.Embedder = fakeEmbedder{nCtx: 10} })
	status, _, body := ts.do("GET", "/v1/models", "")
	var list modelList
	if status != 200 || json.Unmarshal(body, &list) != nil || len(list.Data) != 3 ||
		list.Data[2] != (modelJSON{ID: "ko", Object: "model", Created: list.Data[0].Created, OwnedBy: "nuri", MaxModelLen: 256, Root: "/a/ko.gguf", Parent: "base"}) {
		t.Fatalf("models: %d %s", status, body)
	}
	if status, _, body = ts.do("GET", "/v1/models/sql", ""); status != 200 || !strings.Contains(string(body), `"parent":"base"`) {
		t.Errorf("model sql: %d %s", status, body)
	}
	for i, name := range []string{"", "base", "sql", "ko"} {
		status, _, body := ts.do("POST", "/v1/chat/completions", `{"model":"`+name+`","messages":[{"role":"user","content":"a"}]}`)
		var resp chatResponse
		if status != 200 || json.Unmarshal(body, &resp) != nil {
			t.Fatalf("model %q: %d %s", name, status, body)
		}
		got := ts.eng.last().LoRA
		want := max(0, int32(i)-1)
		if wantName := cmp.Or(name, "base"); got != want || resp.Model != wantName {
			t.Errorf("model %q: adapter %d, reply for %q; want %d, %q", name, got, resp.Model, want, wantName)
		}
	}
	status, _, body = ts.do("POST", "/v1/completions", `{"model":"ko","prompt":"a","stream":true}`)
	if status != 200 || !strings.Contains(string(body), `"model":"ko"`) || ts.eng.last().LoRA != 2 {
		t.Errorf("streamed completion on ko: %d %s", status, body)
	}
	if status, _, body = ts.do("POST", "/tokenize", `{"model":"sql","prompt":"ab"}`); status != 200 {
		t.Errorf("tokenize with sql: %d %s", status, body)
	}
	status, _, body = ts.do("POST", "/v1/chat/completions", `{"model":"other","messages":[{"role":"user","content":"a"}]}`)
	if status != http.StatusNotFound || !strings.Contains(string(body), "'base', 'sql', 'ko'") {
		t.Errorf("unknown model: %d %s", status, body)
	}
	if status, _, body = ts.do("POST", "/v1/embeddings", `{"model":"sql","input":"a"}`); status == 200 || !strings.Contains(string(body), "LoRA module") {
		t.Errorf("embeddings under a LoRA module: %d %s", status, body)
	}
	for _, bad := range [][]LoRAModule{{{"base", "x"}}, {{"", "x"}}, {{"a", "x"}, {"a", "y"}}} {
		if _, err := New(Config{ModelName: "base", LoRAModules: bad}); err == nil {
			t.Errorf("modules %v accepted", bad)
		}
	}
}

// With AllowLoRAUpdates, adapters are loaded and unloaded over HTTP as
// vLLM does it: a loaded one is a model at once, an unloaded one is gone
// at once; names stay unique and apart from the base model's; a missing
// file is a 404, a file that is no adapter a 400. Without it the routes
// do not exist.
func TestLoRAUpdates(t *testing.T) {
	closed := newTestServer(t, Config{ModelName: "base"}, "x")
	if status, _, body := closed.do("POST", "/v1/load_lora_adapter", `{"lora_name":"ko","lora_path":"/a/ko.gguf"}`); status != http.StatusNotFound {
		t.Fatalf("load without AllowLoRAUpdates: %d %s", status, body)
	}

	ts := newTestServer(t, Config{ModelName: "base", AllowLoRAUpdates: true, APIKeys: []string{"k"},
		LoRAModules: []LoRAModule{{"sql", "/a/sql.gguf"}}}, "x")
	ts.eng.loras = []string{"sql"} // the engine's adapter 1, as at start
	auth := []string{"Authorization", "Bearer k"}
	do := func(path, body string) (int, string) {
		t.Helper()
		status, _, b := ts.do("POST", path, body, auth...)
		return status, string(b)
	}
	if status, _, _ := ts.do("POST", "/v1/load_lora_adapter", `{"lora_name":"ko","lora_path":"/a/ko.gguf"}`); status != http.StatusUnauthorized {
		t.Fatalf("load without the API key: %d", status)
	}
	status, body := do("/v1/load_lora_adapter", `{"lora_name":"ko","lora_path":"/a/ko.gguf"}`)
	if status != 200 || body != "Success: LoRA adapter 'ko' added successfully." {
		t.Fatalf("load: %d %s", status, body)
	}
	chat := func(model string) (int, string) {
		t.Helper()
		return do("/v1/chat/completions", `{"model":"`+model+`","messages":[{"role":"user","content":"a"}]}`)
	}
	if status, body := chat("ko"); status != 200 || !strings.Contains(body, `"model":"ko"`) || ts.eng.last().LoRA != 2 {
		t.Fatalf("chat with the loaded adapter: %d %s (adapter %d)", status, body, ts.eng.last().LoRA)
	}
	status, _, raw := ts.do("GET", "/v1/models", "", auth...)
	var list modelList
	if status != 200 || json.Unmarshal(raw, &list) != nil || len(list.Data) != 3 || list.Data[2].ID != "ko" || list.Data[2].Root != "/a/ko.gguf" {
		t.Fatalf("models: %d %s", status, raw)
	}
	for _, tc := range []struct {
		body   string
		status int
		want   string
	}{
		{`{"lora_name":"ko","lora_path":"/a/other.gguf"}`, 400, "loaded already"},
		{`{"lora_name":"base","lora_path":"/a/other.gguf"}`, 400, "base model's name"},
		{`{"lora_name":"x"}`, 400, "must be given"},
		{`{"lora_name":"x","lora_path":"missing.gguf"}`, 404, "no LoRA adapter at 'missing.gguf'"},
		{`{"lora_name":"x","lora_path":"bad.gguf"}`, 400, "not an adapter"},
	} {
		if status, body := do("/v1/load_lora_adapter", tc.body); status != tc.status || !strings.Contains(body, tc.want) {
			t.Errorf("load %s: %d %s, want %d and %q", tc.body, status, body, tc.status, tc.want)
		}
	}
	// The adapter given at start goes like one loaded later.
	if status, body := do("/v1/unload_lora_adapter", `{"lora_name":"sql"}`); status != 200 || body != "Success: LoRA adapter 'sql' removed successfully." {
		t.Fatalf("unload: %d %s", status, body)
	}
	if ts.eng.loras[0] != "" {
		t.Errorf("the engine still serves sql: %q", ts.eng.loras)
	}
	if status, body := chat("sql"); status != http.StatusNotFound || !strings.Contains(body, "'base', 'ko'") {
		t.Errorf("chat with an unloaded adapter: %d %s", status, body)
	}
	for _, tc := range []struct {
		body   string
		status int
	}{{`{"lora_name":"sql"}`, 404}, {`{}`, 400}, {`{"lora_int_id":1}`, 404}, {`{"lora_name":"ko","lora_int_id":1}`, 404}} {
		if status, body := do("/v1/unload_lora_adapter", tc.body); status != tc.status {
			t.Errorf("unload %s: %d %s, want %d", tc.body, status, body, tc.status)
		}
	}
	if status, body := do("/v1/unload_lora_adapter", `{"lora_int_id":2}`); status != 200 || !strings.Contains(body, "'ko'") {
		t.Errorf("unload by id: %d %s", status, body)
	}
	// A name unloaded may be loaded again, from another file.
	if status, body := do("/v1/load_lora_adapter", `{"lora_name":"sql","lora_path":"/b/sql.gguf"}`); status != 200 {
		t.Fatalf("load again: %d %s", status, body)
	}
	if status, body := chat("sql"); status != 200 || ts.eng.last().LoRA != 3 {
		t.Errorf("chat with the reloaded adapter: %d %s (adapter %d)", status, body, ts.eng.last().LoRA)
	}
	// load_inplace replaces it under its name; a failed replacement keeps
	// the version in service.
	if status, body := do("/v1/load_lora_adapter", `{"lora_name":"sql","lora_path":"bad.gguf","load_inplace":true}`); status != 400 {
		t.Errorf("a bad replacement: %d %s", status, body)
	}
	if status, _ := chat("sql"); status != 200 || ts.eng.last().LoRA != 3 {
		t.Errorf("after a bad replacement: %d, adapter %d", status, ts.eng.last().LoRA)
	}
	if status, body := do("/v1/load_lora_adapter", `{"lora_name":"sql","lora_path":"/c/sql.gguf","load_inplace":true}`); status != 200 || !strings.Contains(body, "'sql'") {
		t.Fatalf("replace: %d %s", status, body)
	}
	if status, _ := chat("sql"); status != 200 || ts.eng.last().LoRA != 4 || ts.eng.loras[2] != "" {
		t.Errorf("after the replacement: %d, adapter %d, engine %q", status, ts.eng.last().LoRA, ts.eng.loras)
	}
	status, _, raw = ts.do("GET", "/v1/models", "", auth...)
	if status != 200 || json.Unmarshal(raw, &list) != nil || len(list.Data) != 2 || list.Data[1].Root != "/c/sql.gguf" {
		t.Errorf("models after the replacement: %d %s", status, raw)
	}
	if status, body := do("/v1/load_lora_adapter", `{"lora_name":"new","lora_path":"/d/new.gguf","load_inplace":true}`); status != 200 {
		t.Errorf("load_inplace of a name not loaded: %d %s", status, body)
	}
}

// vLLM's "priority" reaches the engine from every generation route.
func TestPriorityField(t *testing.T) {
	ts := newTestServer(t, Config{}, "x")
	for _, tc := range []struct{ path, body string }{
		{"/v1/completions", `{"prompt":"a","priority":3}`},
		{"/v1/chat/completions", `{"messages":[{"role":"user","content":"a"}],"priority":-2}`},
		{"/v1/responses", `{"input":"a","priority":7}`},
	} {
		if status, _, body := ts.do("POST", tc.path, tc.body); status != 200 {
			t.Fatalf("%s: %d %s", tc.path, status, body)
		}
		var want struct{ Priority int }
		if err := json.Unmarshal([]byte(tc.body), &want); err != nil {
			t.Fatal(err)
		}
		if got := ts.eng.last().Priority; got != want.Priority {
			t.Errorf("%s: priority %d reached the engine, want %d", tc.path, got, want.Priority)
		}
	}
}

// Aliases (--served-model-name NAME,ALIAS): listed, accepted, and carried
// by the replies to requests that name them; a LoRA module may not take
// one's name.
func TestModelAliases(t *testing.T) {
	ts := newTestServer(t, Config{ModelName: "exaone", Aliases: []string{"claude-sonnet-4-5", "gpt-4o"}}, "답")
	status, _, body := ts.do("GET", "/v1/models", "")
	var list modelList
	if status != 200 || json.Unmarshal(body, &list) != nil || len(list.Data) != 3 || list.Data[0].ID != "exaone" || list.Data[2].ID != "gpt-4o" {
		t.Fatalf("models %d %s", status, body)
	}
	for _, tc := range []struct{ path, body, want string }{
		{"/v1/chat/completions", `{"model":"gpt-4o","messages":[{"role":"user","content":"a"}]}`, `"model":"gpt-4o"`},
		{"/v1/chat/completions", `{"messages":[{"role":"user","content":"a"}]}`, `"model":"exaone"`},
		{"/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[{"role":"user","content":"a"}]}`, `"model":"claude-sonnet-4-5"`},
		{"/v1/completions", `{"model":"exaone","prompt":"a"}`, `"model":"exaone"`},
	} {
		if status, _, body := ts.do("POST", tc.path, tc.body); status != 200 || !strings.Contains(string(body), tc.want) {
			t.Errorf("%s %s: %d %s", tc.path, tc.body, status, body)
		}
	}
	if status, _, body := ts.do("GET", "/v1/models/gpt-4o", ""); status != 200 || !strings.Contains(string(body), `"id":"gpt-4o"`) {
		t.Errorf("model by alias: %d %s", status, body)
	}
	if status, _, body := ts.do("POST", "/v1/chat/completions", `{"model":"other","messages":[{"role":"user","content":"a"}]}`); status != 404 || !strings.Contains(string(body), "'gpt-4o'") {
		t.Errorf("unknown model: %d %s", status, body)
	}
	if _, err := New(Config{ModelName: "m", Aliases: []string{"law"}, LoRAModules: []LoRAModule{{Name: "law", Path: "x"}}}); err == nil {
		t.Error("a LoRA module took an alias's name")
	}
}

// SageMaker's routes: /ping answers as /health, /invocations runs a chat
// request, a completion or embeddings by the body's shape.
func TestSageMakerRoutes(t *testing.T) {
	ts := newTestServer(t, Config{APIKeys: []string{"k"}}, "답")
	for _, m := range []string{"GET", "POST"} {
		if status, _, body := ts.do(m, "/ping", ""); status != 200 || string(body) != `{"status":"ok"}` {
			t.Errorf("%s /ping: %d %s", m, status, body)
		}
	}
	key := []string{"Authorization", "Bearer k"}
	status, _, body := ts.do("POST", "/invocations", `{"messages":[{"role":"user","content":"a"}]}`, key...)
	if status != 200 || !strings.Contains(string(body), `"object":"chat.completion"`) {
		t.Errorf("chat: %d %s", status, body)
	}
	status, _, body = ts.do("POST", "/invocations", `{"prompt":"a","max_tokens":3}`, key...)
	if status != 200 || !strings.Contains(string(body), `"object":"text_completion"`) {
		t.Errorf("completion: %d %s", status, body)
	}
	if status, _, body = ts.do("POST", "/invocations", `{"input":"a"}`, key...); status == 200 || !strings.Contains(string(body), "embeddings") {
		t.Errorf("embeddings without --embeddings: %d %s", status, body)
	}
	if status, _, body = ts.do("POST", "/invocations", `{"x":1}`, key...); status != 400 {
		t.Errorf("no shape: %d %s", status, body)
	}
	if status, _, _ = ts.do("POST", "/invocations", `{"prompt":"a"}`); status != 401 {
		t.Errorf("no key: %d", status)
	}
}

// vLLM's cache_salt reaches the engine on every generation route; an
// empty one is refused.
func TestCacheSaltField(t *testing.T) {
	ts := newTestServer(t, Config{}, "x")
	for _, tc := range []struct{ path, body string }{
		{"/v1/completions", `{"prompt":"a","cache_salt":"tenant-1"}`},
		{"/v1/chat/completions", `{"messages":[{"role":"user","content":"a"}],"cache_salt":"tenant-1"}`},
		{"/v1/responses", `{"input":"a","cache_salt":"tenant-1"}`},
	} {
		if status, _, body := ts.do("POST", tc.path, tc.body); status != 200 || ts.eng.last().CacheSalt != "tenant-1" {
			t.Errorf("%s: %d %s, salt %q", tc.path, status, body, ts.eng.last().CacheSalt)
		}
	}
	if status, _, body := ts.do("POST", "/v1/completions", `{"prompt":"a","cache_salt":""}`); status != 400 || !strings.Contains(string(body), `"param":"cache_salt"`) {
		t.Errorf("empty salt: %d %s", status, body)
	}
	if ts.do("POST", "/v1/completions", `{"prompt":"a"}`); ts.eng.last().CacheSalt != "" {
		t.Errorf("no salt: %q", ts.eng.last().CacheSalt)
	}
}

// vLLM's stop controls reach the engine, checked.
func TestStopControlFields(t *testing.T) {
	ts := newTestServer(t, Config{}, "x")
	body := `{"prompt":"a","max_tokens":20,"min_tokens":5,"stop_token_ids":[7,9],"include_stop_str_in_output":true,"skip_special_tokens":false}`
	if status, _, b := ts.do("POST", "/v1/completions", body); status != 200 {
		t.Fatalf("%d %s", status, b)
	}
	r := ts.eng.last()
	if r.MinTokens != 5 || !slices.Equal(r.StopTokens, []int32{7, 9}) || !r.IncludeStop || !r.ShowSpecial {
		t.Fatalf("request %+v", r)
	}
	if status, _, b := ts.do("POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"a"}]}`); status != 200 {
		t.Fatalf("%d %s", status, b)
	} else if r := ts.eng.last(); r.MinTokens != 0 || r.StopTokens != nil || r.IncludeStop || r.ShowSpecial {
		t.Fatalf("defaults %+v", r)
	}
	for _, bad := range []string{
		`{"prompt":"a","min_tokens":-1}`,
		`{"prompt":"a","max_tokens":3,"min_tokens":4}`,
		`{"prompt":"a","stop_token_ids":[-1]}`,
		`{"prompt":"a","stop_token_ids":[100000000]}`,
	} {
		if status, _, b := ts.do("POST", "/v1/completions", bad); status != http.StatusBadRequest {
			t.Errorf("%s: %d %s", bad, status, b)
		}
	}
}

// vLLM's truncate_prompt_tokens keeps a prompt's last k tokens.
func TestTruncatePromptTokens(t *testing.T) {
	ts := newTestServer(t, Config{}, "x")
	if status, _, b := ts.do("POST", "/v1/completions", `{"prompt":"abcdefghij"}`); status != 200 {
		t.Fatalf("%d %s", status, b)
	}
	whole := ts.eng.last().Prompt
	if len(whole) < 8 {
		t.Fatalf("prompt of %d tokens", len(whole))
	}
	for _, tc := range []struct {
		path, body string
		want       int // tokens kept; -1: as many as without truncation
	}{
		{"/v1/completions", `{"prompt":"abcdefghij","truncate_prompt_tokens":4}`, 4},
		{"/v1/completions", `{"prompt":"abcdefghij","truncate_prompt_tokens":-1}`, -1},
		{"/v1/completions", `{"prompt":"abcdefghij","truncate_prompt_tokens":1000}`, -1},
		{"/v1/chat/completions", `{"messages":[{"role":"user","content":"abcdefghij"}],"truncate_prompt_tokens":3}`, 3},
	} {
		if status, _, b := ts.do("POST", tc.path, tc.body); status != 200 {
			t.Fatalf("%s: %d %s", tc.body, status, b)
		}
		got := ts.eng.last().Prompt
		if tc.want < 0 && tc.path == "/v1/completions" && !slices.Equal(got, whole) {
			t.Errorf("%s: %v, want %v", tc.body, got, whole)
		}
		if tc.want > 0 && len(got) != tc.want {
			t.Errorf("%s: %d tokens kept, want %d", tc.body, len(got), tc.want)
		}
		if tc.want > 0 && tc.path == "/v1/completions" && !slices.Equal(got, whole[len(whole)-tc.want:]) {
			t.Errorf("%s: %v, want the last %d of %v", tc.body, got, tc.want, whole)
		}
	}
	for _, bad := range []string{
		`{"prompt":"a","truncate_prompt_tokens":0}`,
		`{"prompt":"a","truncate_prompt_tokens":-2}`,
		`{"prompt":"a","truncate_prompt_tokens":4,"echo":true}`,
	} {
		if status, _, b := ts.do("POST", "/v1/completions", bad); status != http.StatusBadRequest {
			t.Errorf("%s: %d %s", bad, status, b)
		}
	}
}

// GET /version answers without a key, as vLLM's.
func TestVersionRoute(t *testing.T) {
	ts := newTestServer(t, Config{Version: "v1.2.3", APIKeys: []string{"k"}}, "x")
	status, _, body := ts.do("GET", "/version", "")
	if status != 200 || string(body) != `{"version":"v1.2.3"}` {
		t.Fatalf("%d %s", status, body)
	}
	ts = newTestServer(t, Config{}, "x")
	if status, _, body := ts.do("GET", "/version", ""); status != 200 || string(body) != `{"version":"devel"}` {
		t.Fatalf("%d %s", status, body)
	}
}
