package server

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestPoolingModels: an embedding model and a reranker served beside a
// main model that does neither (nuri serve --embedding-model) answer
// their routes by name, and by no name or the main model's; they are
// listed, their replies carry their names, and a generation route refuses
// them by name.
func TestPoolingModels(t *testing.T) {
	ts := newTestServer(t, Config{Aliases: []string{"chat"}}, "ok")
	if err := ts.srv.AddPoolingBackend("embedder", &Backend{Tokenizer: fakeTokenizer{}, Embedder: fakeEmbedder{nCtx: 10}}); err != nil {
		t.Fatal(err)
	}
	if err := ts.srv.AddPoolingBackend("ranker", &Backend{Tokenizer: fakeTokenizer{}, Reranker: &fakeReranker{maxTokens: 512}}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []struct {
		name string
		b    *Backend
	}{
		{"fake-model", &Backend{Tokenizer: fakeTokenizer{}, Embedder: fakeEmbedder{nCtx: 10}}}, // the main model's name
		{"chat", &Backend{Tokenizer: fakeTokenizer{}, Embedder: fakeEmbedder{nCtx: 10}}},       // its alias
		{"embedder", &Backend{Tokenizer: fakeTokenizer{}, Embedder: fakeEmbedder{nCtx: 10}}},   // twice
		{"empty", &Backend{Tokenizer: fakeTokenizer{}}},                                        // neither embeds nor reranks
		{"", &Backend{Tokenizer: fakeTokenizer{}, Embedder: fakeEmbedder{nCtx: 10}}},
	} {
		if err := ts.srv.AddPoolingBackend(bad.name, bad.b); err == nil {
			t.Errorf("pooling model %q taken", bad.name)
		}
	}

	embed := func(model string) (int, string) {
		body := `{"input": "ab"}`
		if model != "" {
			body = `{"input": "ab", "model": "` + model + `"}`
		}
		status, _, out := ts.do("POST", "/v1/embeddings", body)
		var r struct {
			Model string `json:"model"`
			Data  []struct {
				Embedding []float32 `json:"embedding"`
			} `json:"data"`
		}
		if status == 200 && (json.Unmarshal(out, &r) != nil || len(r.Data) != 1 || len(r.Data[0].Embedding) != 4) {
			t.Fatalf("embeddings %q: %s", model, out)
		}
		if status != 200 {
			return status, string(out)
		}
		return status, r.Model
	}
	for _, tc := range []struct {
		model, want string
		status      int
	}{
		{"embedder", "embedder", 200},
		{"", "embedder", 200},           // the main model does not embed
		{"fake-model", "embedder", 200}, // nor under its name
		{"chat", "embedder", 200},
		{"ranker", "serves reranking", 400},
		{"nothing", "does not exist", 404},
	} {
		status, got := embed(tc.model)
		if status != tc.status || !strings.Contains(got, tc.want) {
			t.Errorf("embeddings with model %q: %d %s, want %d %s", tc.model, status, got, tc.status, tc.want)
		}
	}
	status, _, out := ts.do("POST", "/v1/rerank", `{"model": "ranker", "query": "a", "documents": ["ab", "b"]}`)
	if status != 200 || !strings.Contains(string(out), `"model":"ranker"`) {
		t.Errorf("rerank: %d %s", status, out)
	}
	if status, _, out := ts.do("POST", "/v1/rerank", `{"query": "a", "documents": ["ab"]}`); status != 200 || !strings.Contains(string(out), `"model":"ranker"`) {
		t.Errorf("rerank by no name: %d %s", status, out)
	}
	if status, _, out := ts.do("POST", "/api/embed", `{"model": "embedder:latest", "input": "ab"}`); status != 200 {
		t.Errorf("Ollama's embed: %d %s", status, out)
	}

	status, _, out = ts.do("GET", "/v1/models", "")
	var list modelList
	if status != 200 || json.Unmarshal(out, &list) != nil {
		t.Fatalf("models: %d %s", status, out)
	}
	var ids []string
	for _, m := range list.Data {
		ids = append(ids, m.ID)
		if m.ID == "embedder" && m.MaxModelLen != 10 {
			t.Errorf("embedder listed with max_model_len %d", m.MaxModelLen)
		}
	}
	if strings.Join(ids, ",") != "fake-model,chat,embedder,ranker" {
		t.Errorf("models listed: %v", ids)
	}
	if status, _, out := ts.do("GET", "/api/tags", ""); status != 200 || !strings.Contains(string(out), `"embedder:latest"`) {
		t.Errorf("Ollama's tags: %d %s", status, out)
	}
	status, _, out = ts.do("POST", "/v1/chat/completions", `{"model": "embedder", "messages": [{"role": "user", "content": "hi"}]}`)
	if status != 400 || !strings.Contains(string(out), "serves embeddings only") {
		t.Errorf("chat with the embedding model: %d %s", status, out)
	}
	status, _, out = ts.do("POST", "/v1/chat/completions", `{"model": "nothing", "messages": [{"role": "user", "content": "hi"}]}`)
	if status != 404 || !strings.Contains(string(out), "'embedder' (embeddings)") {
		t.Errorf("chat with an unknown model: %d %s", status, out)
	}

	// A main model that embeds keeps the requests that name no model.
	both := newTestServer(t, Config{}, "ok", func(b *Backend) { b.Embedder = fakeEmbedder{nCtx: 7} })
	if err := both.srv.AddPoolingBackend("embedder", &Backend{Tokenizer: fakeTokenizer{}, Embedder: fakeEmbedder{nCtx: 10}}); err != nil {
		t.Fatal(err)
	}
	for model, want := range map[string]string{"": "fake-model", "fake-model": "fake-model", "embedder": "embedder"} {
		status, _, out := both.do("POST", "/v1/embeddings", `{"input": "ab", "model": "`+model+`"}`)
		if status != 200 || !strings.Contains(string(out), `"model":"`+want+`"`) {
			t.Errorf("embeddings with %q beside an embedding main model: %d %s", model, status, out)
		}
	}
}
