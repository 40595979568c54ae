package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/nuri-ai/nuri/engine"
)

// fakeReranker scores a prompt by the x's in it (hundredths), refusing
// prompts longer than maxTokens as the engine's reranker does, and keeps
// the prompts it saw.
type fakeReranker struct {
	maxTokens int
	mu        sync.Mutex
	seen      []string
}

func (f *fakeReranker) MaxTokens() int { return f.maxTokens }

func (f *fakeReranker) Score(_ context.Context, inputs [][]int32) ([]float32, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]float32, len(inputs))
	for i, ids := range inputs {
		if len(ids) > f.maxTokens {
			return nil, fmt.Errorf("%w: input %d has %d tokens", engine.ErrEmbedInput, i, len(ids))
		}
		text, _ := fakeTokenizer{}.Decode(ids, false)
		f.seen = append(f.seen, string(text))
		out[i] = float32(strings.Count(string(text), "x")) / 100
	}
	return out, nil
}

func rerankServer(t *testing.T, template string, maxTokens int) (*testServer, *fakeReranker) {
	r := &fakeReranker{maxTokens: maxTokens}
	ts := newTestServer(t, Config{}, "", func(b *Backend) { b.Reranker, b.RerankTemplate = r, template })
	return ts, r
}

func TestRerank(t *testing.T) {
	ts, _ := rerankServer(t, "Q:{query} D:{document}.", 64)
	type resp struct {
		ID      string         `json:"id"`
		Model   string         `json:"model"`
		Usage   rerankUsage    `json:"usage"`
		Results []rerankResult `json:"results"`
	}
	for _, tc := range []struct {
		path, body string
		order      []int
		scores     []float32
		docs       bool
		tokens     int
	}{
		// Best first; each prompt is BOS and "Q:q D:<doc>." byte by byte.
		{"/v1/rerank", `{"query": "q", "documents": ["a", "xx", "x"]}`, []int{1, 2, 0}, []float32{0.02, 0.01, 0}, true, 9 + 10 + 9},
		{"/rerank", `{"query": "q", "documents": [{"text": "a"}, {"text": "xxx"}], "top_n": 1, "model": "fake-model"}`, []int{1}, []float32{0.03}, true, 9 + 11},
		{"/v2/rerank", `{"query": "q", "documents": ["x", "a"], "return_documents": false}`, []int{0, 1}, []float32{0.01, 0}, false, 18},
	} {
		status, _, body := ts.do("POST", tc.path, tc.body)
		if status != 200 {
			t.Fatalf("%s: status %d: %s", tc.body, status, body)
		}
		var r resp
		if err := json.Unmarshal(body, &r); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(r.ID, "rerank-") || r.Model != "fake-model" || r.Usage.PromptTokens != tc.tokens || r.Usage.TotalTokens != tc.tokens || len(r.Results) != len(tc.order) {
			t.Fatalf("%s: %s", tc.body, body)
		}
		for i, res := range r.Results {
			if res.Index != tc.order[i] || res.RelevanceScore != tc.scores[i] || (res.Document != nil) != tc.docs {
				t.Errorf("%s: result %d: %+v, want index %d score %v", tc.body, i, res, tc.order[i], tc.scores[i])
			}
		}
	}
	for _, tc := range []struct{ body, param, code string }{
		{`{"query": "", "documents": ["a"]}`, "query", ""},
		{`{"query": "q", "documents": []}`, "documents", ""},
		{`{"query": "q", "documents": [3]}`, "documents", ""},
		{`{"query": "q", "documents": [{"title": "a"}]}`, "documents", ""},
		{`{"query": "q", "documents": ["a"], "texts": ["b"]}`, "documents", ""},
		{`{"query": "q", "documents": ["a"], "top_n": -1}`, "top_n", ""},
		{`{"query": "q", "documents": ["a"], "instruction": "rank"}`, "instruction", ""},
		{`{"query": "q", "documents": ["a"], "model": "other"}`, "model", "model_not_found"},
		{`{"query": "` + strings.Repeat("q", 70) + `", "documents": ["a"]}`, "query", "context_length_exceeded"},
	} {
		status, _, body := ts.do("POST", "/v1/rerank", tc.body)
		if status/100 != 4 {
			t.Fatalf("%s: status %d: %s", tc.body, status, body)
		}
		checkErrorShape(t, body, tc.param, tc.code)
	}
	plain := newTestServer(t, Config{}, "")
	if status, _, body := plain.do("POST", "/v1/rerank", `{"query": "q", "documents": ["a"]}`); status != 400 || !strings.Contains(string(body), "--reranking") {
		t.Fatalf("without a reranker: status %d: %s", status, body)
	}
}

// A document longer than the reranker takes is cut to fit, from its end.
func TestRerankTruncates(t *testing.T) {
	ts, r := rerankServer(t, "Q:{query} D:{document}.", 20)
	status, _, body := ts.do("POST", "/v1/rerank", `{"query": "q", "documents": ["`+strings.Repeat("x", 50)+`"]}`)
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	// BOS + "Q:q D:" + 12 x's + "." is 20 tokens.
	if want := "Q:q D:" + strings.Repeat("x", 12) + "."; len(r.seen) != 1 || r.seen[0] != want {
		t.Fatalf("prompt %q, want %q", r.seen, want)
	}
}

// Without a template of the model's own, Qwen3-Reranker's prompt is used,
// with the request's instruction or the default one.
func TestRerankDefaultTemplate(t *testing.T) {
	ts, r := rerankServer(t, "", 1000)
	for _, instr := range []string{"", "Find Korean recipes"} {
		body := `{"query": "김치", "documents": ["kimchi"]`
		if instr != "" {
			body += `, "instruction": "` + instr + `"`
		}
		if status, _, b := ts.do("POST", "/v1/rerank", body+"}"); status != 200 {
			t.Fatalf("status %d: %s", status, b)
		}
		want := instr
		if want == "" {
			want = DefaultRerankInstruction
		}
		got := r.seen[len(r.seen)-1]
		if !strings.HasPrefix(got, "<|im_start|>system\n") || !strings.Contains(got, "<Instruct>: "+want+"\n<Query>: 김치\n<Document>: kimchi<|im_end|>") ||
			!strings.HasSuffix(got, "<|im_start|>assistant\n<think>\n\n</think>\n\n") {
			t.Errorf("instruction %q: prompt %q", instr, got)
		}
	}
	// A template with the default instruction written in takes another.
	ts2, r2 := rerankServer(t, "I:"+DefaultRerankInstruction+" Q:{query} D:{document}", 1000)
	if status, _, b := ts2.do("POST", "/v1/rerank", `{"query": "q", "documents": ["d"], "instruction": "other"}`); status != 200 {
		t.Fatalf("status %d: %s", status, b)
	}
	if got := r2.seen[0]; got != "I:other Q:q D:d" {
		t.Errorf("prompt %q", got)
	}
	// Placeholders in what a request brings stay text.
	if status, _, b := ts2.do("POST", "/v1/rerank", `{"query": "{document}", "documents": ["{query}"], "instruction": "{query}"}`); status != 200 {
		t.Fatalf("status %d: %s", status, b)
	}
	if got := r2.seen[1]; got != "I:{query} Q:{document} D:{query}" {
		t.Errorf("prompt %q", got)
	}
}

func TestScore(t *testing.T) {
	ts, _ := rerankServer(t, "{query}|{document}", 64)
	type resp struct {
		ID     string      `json:"id"`
		Object string      `json:"object"`
		Data   []scoreData `json:"data"`
		Usage  rerankUsage `json:"usage"`
	}
	for _, tc := range []struct {
		body   string
		scores []float32
	}{
		{`{"text_1": "q", "text_2": ["a", "xx", "x"]}`, []float32{0, 0.02, 0.01}},
		{`{"text_1": ["x", "a"], "text_2": ["x", "b"], "model": "fake-model"}`, []float32{0.02, 0}},
		{`{"text_1": "x", "text_2": "x"}`, []float32{0.02}},
	} {
		status, _, body := ts.do("POST", "/score", tc.body)
		if status != 200 {
			t.Fatalf("%s: status %d: %s", tc.body, status, body)
		}
		var r resp
		if err := json.Unmarshal(body, &r); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(r.ID, "score-") || r.Object != "list" || len(r.Data) != len(tc.scores) {
			t.Fatalf("%s: %s", tc.body, body)
		}
		for i, d := range r.Data {
			if d.Index != i || d.Object != "score" || d.Score != tc.scores[i] {
				t.Errorf("%s: data %d: %+v, want score %v", tc.body, i, d, tc.scores[i])
			}
		}
	}
	for _, body := range []string{`{"text_1": ["a", "b"], "text_2": ["a"]}`, `{"text_1": "a", "text_2": []}`, `{"text_2": ["a"]}`} {
		if status, _, b := ts.do("POST", "/v1/score", body); status != 400 {
			t.Errorf("%s: status %d: %s", body, status, b)
		}
	}
}

// FuzzRerank: any request body gives documents and prompts within the
// reranker's limit, or an error that names a field; nothing panics.
func FuzzRerank(f *testing.F) {
	for _, s := range []string{`{"query": "q", "documents": ["a", {"text": "b"}]}`, `{"query": "", "texts": ["x"]}`,
		`{"query": "q", "documents": [1, null, {"text": 2}]}`, `{"query": "q", "documents": ["` + strings.Repeat("x", 80) + `"], "instruction": "i"}`} {
		f.Add([]byte(s), uint8(20))
	}
	f.Fuzz(func(t *testing.T, raw []byte, limit uint8) {
		var req rerankRequest
		if json.Unmarshal(raw, &req) != nil {
			return
		}
		docs, err := req.documents()
		if err != nil {
			checkNamed(t, raw, err)
			return
		}
		r := &fakeReranker{maxTokens: int(limit)}
		for _, tmpl := range []string{"", "Q:{query} D:{document}", "I:" + DefaultRerankInstruction + " {query}|{document}"} {
			b := &Backend{Tokenizer: fakeTokenizer{}, Reranker: r, RerankTemplate: tmpl}
			for _, d := range docs {
				ids, err := rerankPrompt(b, req.Instruction, req.Query, d)
				if err != nil {
					checkNamed(t, raw, err)
					continue
				}
				if len(ids) > int(limit) {
					t.Fatalf("%s: a prompt of %d tokens for a limit of %d", raw, len(ids), limit)
				}
			}
		}
	})
}

func checkNamed(t *testing.T, raw []byte, err error) {
	t.Helper()
	var ae *apiError
	if !errors.As(err, &ae) || ae.param == "" {
		t.Fatalf("%s: error %v names no field", raw, err)
	}
}

// TestTEIRerank: a request in TEI's form (texts) gets TEI's answer, a bare
// array best first with score and, with return_text, text; a reranker
// whose scores are raw logits has them through a sigmoid unless
// raw_scores.
func TestTEIRerank(t *testing.T) {
	for _, raw := range []bool{false, true} {
		r := &fakeReranker{maxTokens: 64}
		var rr Reranker = r
		if raw {
			rr = rawFakeReranker{r}
		}
		ts := newTestServer(t, Config{}, "", func(b *Backend) { b.Reranker, b.RerankTemplate = rr, "Q:{query} D:{document}." })
		for _, tc := range []struct {
			body      string
			order     []int
			sigmoid   bool
			withTexts bool
		}{
			{`{"query": "q", "texts": ["a", "xx", "x"]}`, []int{1, 2, 0}, raw, false},
			{`{"query": "q", "texts": ["x", "a"], "return_text": true}`, []int{0, 1}, raw, true},
			{`{"query": "q", "texts": ["x", "a"], "raw_scores": true}`, []int{0, 1}, false, false},
		} {
			status, _, body := ts.do("POST", "/rerank", tc.body)
			var got []teiRerankResult
			if status != 200 || json.Unmarshal(body, &got) != nil || len(got) != len(tc.order) {
				t.Fatalf("raw %v, %s: %d %s", raw, tc.body, status, body)
			}
			var req rerankRequest
			_ = json.Unmarshal([]byte(tc.body), &req)
			for i, g := range got {
				want := float32(strings.Count(req.Texts[g.Index], "x")) / 100
				if tc.sigmoid {
					want = float32(1 / (1 + math.Exp(-float64(want))))
				}
				if g.Index != tc.order[i] || g.Score != want || (g.Text != nil) != tc.withTexts ||
					(g.Text != nil && *g.Text != req.Texts[g.Index]) {
					t.Errorf("raw %v, %s: result %d %+v, want index %d score %v", raw, tc.body, i, g, tc.order[i], want)
				}
			}
		}
	}
}

// rawFakeReranker is fakeReranker saying its scores are logits.
type rawFakeReranker struct{ *fakeReranker }

func (rawFakeReranker) RawScores() bool { return true }
