package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

// llamaOut is the part of a /completion result the tests read.
type llamaOut struct {
	Index           int            `json:"index"`
	Content         string         `json:"content"`
	Tokens          []int32        `json:"tokens"`
	Stop            bool           `json:"stop"`
	TokensPredicted int            `json:"tokens_predicted"`
	TokensEvaluated int            `json:"tokens_evaluated"`
	StopType        string         `json:"stop_type"`
	StoppingWord    *string        `json:"stopping_word"`
	Prompt          *string        `json:"prompt"`
	Settings        map[string]any `json:"generation_settings"`
	Timings         *llamaTimings  `json:"timings"`
	Probs           []llamaProb    `json:"completion_probabilities"`
}

// /completion: llama.cpp's options reach the engine (n_predict, the
// penalties, a seed, stop words, logit_bias pairs with false as a ban,
// n_probs), and the result reports why it stopped, its tokens, counts,
// timings and probabilities.
func TestLlamaCompletion(t *testing.T) {
	ts := newTestServer(t, Config{}, "하나 둘 셋. 넷")
	status, _, body := ts.do("POST", "/completion", `{"prompt":"세어 봐:","n_predict":64,"temperature":-1,"top_k":5,"repeat_penalty":1.1,
		"repeat_last_n":32,"seed":42,"stop":["."],"logit_bias":[[10,2.5],[11,false]],"n_probs":2,"return_tokens":true,"mirostat":0,"cache_prompt":true}`)
	if status != 200 {
		t.Fatalf("%d %s", status, body)
	}
	var r llamaOut
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatal(err)
	}
	if r.Content != "하나 둘 셋" || !r.Stop || r.StopType != "word" || *r.StoppingWord != "." || r.TokensPredicted != len("하나 둘 셋") ||
		len(r.Tokens) != r.TokensPredicted || len(r.Probs) != r.TokensPredicted || len(r.Probs[0].TopLogprobs) != 2 ||
		r.Timings == nil || r.Timings.PredictedN != r.TokensPredicted || *r.Prompt != "세어 봐:" || r.Settings["n_predict"] != 64.0 {
		t.Fatalf("result %s", body)
	}
	req := ts.eng.last()
	p := req.Sampling
	if req.MaxTokens != 64 || p.Temperature != 0 || p.TopK != 5 || math.Abs(float64(p.RepeatPenalty)-1.1) > 1e-6 || p.PenaltyLastN != 32 ||
		p.Seed != 42 || !p.HasSeed || p.LogitBias[10] != 2.5 || !math.IsInf(float64(p.LogitBias[11]), -1) || req.TopLogprobs != 2 ||
		r.TokensEvaluated != len(req.Prompt) || req.Prompt[0] != 1 {
		t.Fatalf("request %+v", req)
	}

	// n_predict -1 (and none) leaves the reply to the context; the limit
	// is reported.
	for _, tc := range []struct{ body, stopType string }{
		{`{"prompt":"a","n_predict":-1}`, "eos"},
		{`{"prompt":"a","n_predict":3}`, "limit"},
	} {
		status, _, body := ts.do("POST", "/completion", tc.body)
		var r llamaOut
		if status != 200 || json.Unmarshal(body, &r) != nil || r.StopType != tc.stopType {
			t.Errorf("%s: %d %s", tc.body, status, body)
		}
	}
	if ts.eng.last().MaxTokens != 3 {
		t.Errorf("n_predict 3: max tokens %d", ts.eng.last().MaxTokens)
	}
	// n_indent and t_max_predict_ms reach the engine.
	if status, _, body := ts.do("POST", "/completion", `{"prompt":"a","n_indent":4,"t_max_predict_ms":250}`); status != 200 ||
		ts.eng.last().MinIndent != 4 || ts.eng.last().PredictTimeLimit != 250*time.Millisecond {
		t.Errorf("n_indent, t_max_predict_ms: %d %s, %+v", status, body, ts.eng.last())
	}
	// response_fields, as llama.vscode asks: the listed fields only, a
	// nested one under its path, a missing one left out; cache_salt
	// reaches the engine.
	status, _, body = ts.do("POST", "/completion", `{"prompt":"a","n_predict":3,"cache_salt":"s1","response_fields":["content","timings/prompt_n","truncated","nope/x"]}`)
	var fields map[string]any
	if status != 200 || json.Unmarshal(body, &fields) != nil || len(fields) != 3 || fields["content"] != "하" ||
		fields["timings/prompt_n"] != float64(len(ts.eng.last().Prompt)) || fields["truncated"] != false || ts.eng.last().CacheSalt != "s1" {
		t.Errorf("response_fields: %d %s", status, body)
	}
	for _, bad := range []string{`{"prompt":"a","n_probs":21}`, `{"prompt":"a","logit_bias":[["hello",1]]}`, `{"prompt":"a","logit_bias":{"5":"x"}}`, `{"prompt":"a","n_indent":-1}`, `{"prompt":[1,[2]],"n_predict":1}`, `{"n_predict":1}`} {
		if status, _, body := ts.do("POST", "/completion", bad); status != 400 {
			t.Errorf("%s: %d %s", bad, status, body)
		}
	}
}

// Prompts: a string gets BOS, a token list is taken as it is, ids and
// strings mix into one prompt, and a list of prompts gives a list of
// results in order.
func TestLlamaPrompts(t *testing.T) {
	ts := newTestServer(t, Config{}, "ok")
	enc := func(s string) []int32 { ids, _ := fakeTokenizer{}.Encode(s, false, false); return ids }
	for _, tc := range []struct {
		prompt string
		want   [][]int32
	}{
		{`"ab"`, [][]int32{slices.Concat([]int32{1}, enc("ab"))}},
		{`[7, 8, 9]`, [][]int32{{7, 8, 9}}},
		{`["ab", 7, "c"]`, [][]int32{slices.Concat([]int32{1}, enc("ab"), []int32{7}, enc("c"))}},
		{`[7, "c"]`, [][]int32{slices.Concat([]int32{7}, enc("c"))}},
		{`["a", "b"]`, [][]int32{slices.Concat([]int32{1}, enc("a")), slices.Concat([]int32{1}, enc("b"))}},
		{`[[7, 8], "b", {"prompt_string": "c"}]`, [][]int32{{7, 8}, slices.Concat([]int32{1}, enc("b")), slices.Concat([]int32{1}, enc("c"))}},
	} {
		before := len(ts.eng.lastRequests())
		status, _, body := ts.do("POST", "/completion", `{"prompt":`+tc.prompt+`,"n_predict":2}`)
		if status != 200 {
			t.Fatalf("%s: %d %s", tc.prompt, status, body)
		}
		reqs := ts.eng.lastRequests()[before:]
		if len(reqs) != len(tc.want) {
			t.Fatalf("%s: %d requests", tc.prompt, len(reqs))
		}
		for i, r := range reqs {
			if !slices.Equal(r.Prompt, tc.want[i]) {
				t.Errorf("%s: prompt %d %v, want %v", tc.prompt, i, r.Prompt, tc.want[i])
			}
		}
		if len(tc.want) > 1 {
			var rs []llamaOut
			if err := json.Unmarshal(body, &rs); err != nil || len(rs) != len(tc.want) || rs[1].Index != 1 {
				t.Errorf("%s: results %s", tc.prompt, body)
			}
		}
	}
}

// A stream: a piece per token with its ids, then the final result with
// stop true and the counts, and no [DONE]; several prompts stream their
// pieces tagged with their index.
func TestLlamaCompletionStream(t *testing.T) {
	ts := newTestServer(t, Config{}, "안녕, 세상")
	status, hdr, body := ts.do("POST", "/completion", `{"prompt":"x","stream":true,"n_probs":1}`)
	if status != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/event-stream") || strings.Contains(string(body), "[DONE]") {
		t.Fatalf("%d %v %s", status, hdr, body)
	}
	evs := sseEvents(t, string(body))
	var text strings.Builder
	var ids, probs int
	for i, e := range evs {
		var r llamaOut
		if err := json.Unmarshal([]byte(e), &r); err != nil {
			t.Fatal(err)
		}
		if last := i == len(evs)-1; r.Stop != last {
			t.Fatalf("event %d: stop %v", i, r.Stop)
		}
		text.WriteString(r.Content)
		ids += len(r.Tokens)
		probs += len(r.Probs)
		if i == len(evs)-1 && (r.StopType != "eos" || r.TokensPredicted != len("안녕, 세상") || r.Timings == nil) {
			t.Errorf("final %s", e)
		}
	}
	if text.String() != "안녕, 세상" || ids != len("안녕, 세상") || probs != ids {
		t.Errorf("text %q, %d ids, %d probs", text.String(), ids, probs)
	}

	_, _, body = ts.do("POST", "/completion", `{"prompt":["a","b"],"stream":true}`)
	texts := map[int]string{}
	finals := 0
	for _, e := range sseEvents(t, string(body)) {
		var r llamaOut
		if err := json.Unmarshal([]byte(e), &r); err != nil {
			t.Fatal(err)
		}
		texts[r.Index] += r.Content
		if r.Stop {
			finals++
		}
	}
	if finals != 2 || texts[0] != "안녕, 세상" || texts[1] != "안녕, 세상" {
		t.Errorf("two prompts: %d finals, texts %v", finals, texts)
	}
}

// repoTok has fill-in-the-middle tokens and the repository ones.
type repoTok struct{ fimTok }

func (repoTok) FIMRepo() (repo, fileSep int32) { return 253, 254 }

// /infill lays out llama.cpp's form: the files of input_extra under the
// repository tokens (or after snippet lines without them), then prefix,
// suffix and middle, the prompt after it; a long input keeps the
// prefix's end and the suffix's start to fit the context.
func TestLlamaInfill(t *testing.T) {
	enc := func(s string) []int32 { ids, _ := fakeTokenizer{}.Encode(s, false, false); return ids }
	body := `{"input_prefix":"def f(x):\n    return ","input_suffix":"\n\nf(2)","prompt":"x","input_extra":[{"filename":"a.py","text":"A=1"}],"n_predict":8}`
	ts := newTestServer(t, Config{}, "x + 1", func(b *Backend) { b.Tokenizer = repoTok{} })
	status, _, raw := ts.do("POST", "/infill", body)
	var r llamaOut
	if status != 200 || json.Unmarshal(raw, &r) != nil || r.Content != "x + 1" {
		t.Fatalf("%d %s", status, raw)
	}
	want := slices.Concat([]int32{1, 253}, enc("myproject\n"), []int32{254}, enc("a.py\n"), enc("A=1"), []int32{254}, enc("filename\n"),
		[]int32{250}, enc("def f(x):\n    return "), []int32{251}, enc("\n\nf(2)"), []int32{252}, enc("x"))
	if got := ts.eng.last().Prompt; !slices.Equal(got, want) {
		t.Errorf("prompt %v\nwant %v", got, want)
	}

	ts = newTestServer(t, Config{}, "x + 1", func(b *Backend) { b.Tokenizer = fimTok{} })
	if status, _, raw := ts.do("POST", "/infill", body); status != 200 {
		t.Fatalf("%d %s", status, raw)
	}
	want = slices.Concat([]int32{1}, enc("\n\n--- snippet ---\n\n"), enc("A=1"),
		[]int32{250}, enc("def f(x):\n    return "), []int32{251}, enc("\n\nf(2)"), []int32{252}, enc("x"))
	if got := ts.eng.last().Prompt; !slices.Equal(got, want) {
		t.Errorf("without repository tokens: prompt %v\nwant %v", got, want)
	}

	// Too long for a context of 256 less 56 for the reply: the room (256
	// − 56 − BOS − 3 markers = 196) goes 3:1 to the prefix's end and the
	// suffix's start, and the extra file is left out.
	long := `{"input_prefix":"` + strings.Repeat("p", 300) + `E","input_suffix":"S` + strings.Repeat("s", 300) + `","input_extra":[{"text":"zzz"}],"n_predict":56}`
	if status, _, raw := ts.do("POST", "/infill", long); status != 200 {
		t.Fatalf("long: %d %s", status, raw)
	}
	got := ts.eng.last().Prompt
	want = slices.Concat([]int32{1, 250}, enc(strings.Repeat("p", 146)+"E"), []int32{251}, enc("S"+strings.Repeat("s", 48)), []int32{252})
	if !slices.Equal(got, want) {
		t.Errorf("long: %d tokens %v\nwant %d %v", len(got), got, len(want), want)
	}
	if status, _, raw := newTestServer(t, Config{}, "x").do("POST", "/infill", body); status != 400 {
		t.Errorf("a model without FIM tokens: %d %s", status, raw)
	}
}

// /props, /apply-template and llama.cpp's forms of /tokenize and
// /detokenize.
func TestLlamaMisc(t *testing.T) {
	ts := newTestServer(t, Config{ModelName: "m"}, "ok", func(b *Backend) {
		b.Model.Path, b.Model.Slots, b.Model.ChatTemplate = "/models/m.gguf", 4, "{{ messages }}"
	})
	status, _, body := ts.do("GET", "/props", "")
	var props struct {
		Default struct {
			NCtx   int            `json:"n_ctx"`
			Params map[string]any `json:"params"`
		} `json:"default_generation_settings"`
		TotalSlots   int    `json:"total_slots"`
		ModelPath    string `json:"model_path"`
		ChatTemplate string `json:"chat_template"`
		BOS          string `json:"bos_token"`
	}
	if status != 200 || json.Unmarshal(body, &props) != nil || props.Default.NCtx != 256 || props.TotalSlots != 4 ||
		props.ModelPath != "/models/m.gguf" || props.ChatTemplate != "{{ messages }}" || props.BOS != "<s>" ||
		props.Default.Params["temperature"] == nil {
		t.Fatalf("props %d %s", status, body)
	}
	// llama-server's routes without /v1: chat is OpenAI's, /completions
	// its own.
	if status, _, body := ts.do("POST", "/chat/completions", `{"messages":[{"role":"user","content":"a"}]}`); status != 200 || !strings.Contains(string(body), `"chat.completion"`) {
		t.Errorf("/chat/completions: %d %s", status, body)
	}
	if status, _, body := ts.do("GET", "/models", ""); status != 200 || !strings.Contains(string(body), `"id":"m"`) {
		t.Errorf("/models: %d %s", status, body)
	}
	if status, _, body := ts.do("POST", "/completions", `{"prompt":"a","n_predict":1}`); status != 200 || !strings.Contains(string(body), `"content":"o"`) {
		t.Errorf("/completions: %d %s", status, body)
	}
	status, _, body = ts.do("POST", "/apply-template", `{"messages":[{"role":"user","content":"hi"}]}`)
	if status != 200 || string(body) != `{"prompt":"<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"}` {
		t.Errorf("apply-template %d %s", status, body)
	}
	status, _, body = ts.do("POST", "/tokenize", `{"content":"ab","with_pieces":true}`)
	if status != 200 || string(body) != `{"tokens":[{"id":100,"piece":"a"},{"id":101,"piece":"b"}]}` {
		t.Errorf("tokenize with pieces %d %s", status, body)
	}
	status, _, body = ts.do("POST", "/tokenize", `{"content":"ab","add_special":true}`)
	var tk tokenizeResponse
	if status != 200 || json.Unmarshal(body, &tk) != nil || !slices.Equal(tk.Tokens, []int32{1, 100, 101}) {
		t.Errorf("tokenize add_special %d %s", status, body)
	}
	status, _, body = ts.do("POST", "/detokenize", `{"tokens":[100,101]}`)
	if status != 200 || !strings.Contains(string(body), `"content":"ab"`) || !strings.Contains(string(body), `"prompt":"ab"`) {
		t.Errorf("detokenize %d %s", status, body)
	}
}

// FuzzLlamaPrompts: any prompt value is tokens or a 400 naming the field;
// nothing panics, and every id is in the vocabulary.
func FuzzLlamaPrompts(f *testing.F) {
	for _, s := range []string{`"ab"`, `[1, 2, "x", 3]`, `["a", "b"]`, `[[1, 2], "b", {"prompt_string": "c"}]`, `[]`, `[[]]`, `[{}]`, `[1.5]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !json.Valid(raw) {
			return
		}
		prompts, err := llamaPrompts(fakeTokenizer{}, raw)
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || ae.param != "prompt" {
				t.Fatalf("%s: error %v names no field", raw, err)
			}
			return
		}
		for _, p := range prompts {
			for _, id := range p {
				if id < 0 || int(id) >= (fakeTokenizer{}).NVocab() {
					t.Fatalf("%s: id %d", raw, id)
				}
			}
		}
	})
}

// TestNativeSamplingFields: both native APIs read the shared sampling
// options from their JSON; llama.cpp's readings of a negative temperature
// (greedy), a negative seed (random) and repeat_last_n 0 (penalties off)
// apply to /completion alone.
func TestNativeSamplingFields(t *testing.T) {
	f64 := func(f *float64) any {
		if f == nil {
			return nil
		}
		return *f
	}
	tests := []struct {
		body                  string
		temp, topP, minP, rep any
		topK, lastN           any
		seed                  any
	}{
		{`{"temperature":0.7,"top_k":5,"top_p":0.9,"min_p":0.05,"repeat_penalty":1.1,"repeat_last_n":32,"seed":7}`,
			0.7, 0.9, 0.05, 1.1, 5, 32, int64(7)},
		{`{"temperature":-1,"seed":-1,"repeat_last_n":0,"repeat_penalty":1.3}`, 0.0, nil, nil, 1.0, nil, nil, nil},
		{`{}`, nil, nil, nil, nil, nil, nil, nil},
	}
	for _, tt := range tests {
		var r llamaCompletionRequest
		if err := json.Unmarshal([]byte(tt.body), &r); err != nil {
			t.Fatalf("%s: %v", tt.body, err)
		}
		f, _, err := r.toSampling()
		if err != nil {
			t.Fatalf("%s: %v", tt.body, err)
		}
		var topK, lastN, seed any
		if f.TopK != nil {
			topK = *f.TopK
		}
		if f.RepeatLastN != nil {
			lastN = *f.RepeatLastN
		}
		if f.Seed != nil {
			seed = *f.Seed
		}
		got := []any{f64(f.Temperature), f64(f.TopP), f64(f.MinP), f64(f.RepetitionPenalty), topK, lastN, seed}
		want := []any{tt.temp, tt.topP, tt.minP, tt.rep, tt.topK, tt.lastN, tt.seed}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("/completion %s: got %v, want %v", tt.body, got, want)
		}
	}
	var o ollamaOptions
	if err := json.Unmarshal([]byte(`{"temperature":-1,"seed":-1,"repeat_last_n":0,"top_k":3,"num_predict":5}`), &o); err != nil {
		t.Fatal(err)
	}
	var f samplingFields
	o.apply(&f)
	if *f.Temperature != -1 || *f.Seed != -1 || *f.RepeatLastN != 0 || *f.TopK != 3 || *f.MaxTokens != 5 {
		t.Errorf("ollama options: temperature %v seed %v repeat_last_n %v top_k %v max_tokens %v", *f.Temperature, *f.Seed, *f.RepeatLastN, *f.TopK, *f.MaxTokens)
	}
}
