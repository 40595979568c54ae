package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/nuri-ai/nuri/engine"
	"github.com/nuri-ai/nuri/internal/synth"
	"github.com/nuri-ai/nuri/internal/testgguf"
	"github.com/nuri-ai/nuri/internal/testshared"
	"github.com/nuri-ai/nuri/model"
	"github.com/nuri-ai/nuri/quant"
	"github.com/nuri-ai/nuri/tokenizer"
)

// rerankResults is /v1/rerank's answer, as the tests read it.
type rerankResults struct {
	Results []struct {
		Index          int     `json:"index"`
		RelevanceScore float64 `json:"relevance_score"`
	} `json:"results"`
}

// postRerank asks base's /v1/rerank to score docs against query and
// fails t unless every document comes back.
func postRerank(t *testing.T, base, query string, docs []string) (rerankResults, []byte) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "documents": docs})
	resp, err := http.Post(base+"/v1/rerank", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var got rerankResults
	if err := json.Unmarshal(raw, &got); err != nil || resp.StatusCode != 200 || len(got.Results) != len(docs) {
		t.Fatalf("%d %v: %s", resp.StatusCode, err, raw)
	}
	return got, raw
}

// loadTokenizerModel loads path's tokenizer and model (closed when the
// test ends), the reference side of the serving tests.
func loadTokenizerModel(t *testing.T, path string) (*tokenizer.Tokenizer, model.Model) {
	t.Helper()
	tok, err := tokenizer.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.Load(path, model.LoadOptions{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return tok, m
}

// TestServeRerank: nuri serve --reranking on a reranker file scores each
// document as the original model's two label logits at the prompt's end
// say, P(first) = 1/(1+e^(second-first)), best first.
func TestServeRerank(t *testing.T) {
	labels := [2]int32{393, 348} // "▁happy", "▁y"
	const template = "Question: {query} Story: {document}"
	path := testgguf.WriteReranker(t, testshared.Path(t, "models", "stories260K.gguf"), labels, template)
	base := startServe(t, "--model", path, "--reranking")

	query := "Who is happy?"
	docs := []string{"Lily was happy.", "The dog ran to the park.", "Once upon a time"}
	got, raw := postRerank(t, base, query, docs)

	// The reference: the original model's logits, one prompt at a time.
	orig := testshared.Path(t, "models", "stories260K.gguf")
	tok, m := loadTokenizerModel(t, orig)
	want := make([]float64, len(docs))
	for i, d := range docs {
		ids, err := tok.Encode(strings.NewReplacer("{query}", query, "{document}", d).Replace(template), true, true)
		if err != nil {
			t.Fatal(err)
		}
		kv, err := model.NewSequenceView(m.Config(), len(ids), 16, model.SameKV(quant.F16))
		if err != nil {
			t.Fatal(err)
		}
		b := &model.Batch{Tokens: ids, Pos: make([]int32, len(ids)), Seq: make([]int32, len(ids))}
		for k := range ids {
			b.Pos[k] = int32(k)
		}
		logits := make([]float32, m.Config().NVocab)
		if err := m.Forward(b, kv, logits); err != nil {
			t.Fatal(err)
		}
		want[i] = 1 / (1 + math.Exp(float64(logits[labels[1]]-logits[labels[0]])))
	}
	prev := math.Inf(1)
	for _, r := range got.Results {
		// float64 dot products of the head against the matmul kernels'
		// float32 logits: 1e-5 on a probability.
		if math.Abs(r.RelevanceScore-want[r.Index]) > 1e-5 {
			t.Errorf("document %d: score %v, want %v", r.Index, r.RelevanceScore, want[r.Index])
		}
		if r.RelevanceScore > prev {
			t.Errorf("results not best first: %s", raw)
		}
		prev = r.RelevanceScore
	}

	// stories260K's embedding and output matrices hold the same values
	// (llama2.c ties them), so the head's rows are embedding rows and the
	// file keeps a language-model head: greedy text is the original's.
	resp, err := http.Post(base+"/v1/completions", "application/json",
		strings.NewReader(`{"prompt": "Once upon a time", "max_tokens": 12, "temperature": 0}`))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	var comp struct {
		Choices []struct {
			Text string `json:"text"`
		} `json:"choices"`
	}
	if err := json.Unmarshal(raw, &comp); err != nil || len(comp.Choices) != 1 || comp.Choices[0].Text == "" ||
		!strings.HasPrefix(storiesGreedy, "Once upon a time"+comp.Choices[0].Text) {
		t.Errorf("completion on the tied reranker: %v: %s", err, raw)
	}
}

// A reranker whose lm_head the converter dropped (an untied model) scores
// documents, and refuses to generate, saying why.
func TestServeRerankUntied(t *testing.T) {
	shape, err := synth.Lookup("tiny")
	if err != nil {
		t.Fatal(err)
	}
	shape.Tied = false
	src := filepath.Join(t.TempDir(), "tiny.gguf")
	if err := synth.Write(src, synth.Options{Shape: shape, Type: "F32", Seed: 3}); err != nil {
		t.Fatal(err)
	}
	base := startServe(t, "--model", testgguf.WriteReranker(t, src, [2]int32{7, 3}, ""), "--reranking")
	for _, c := range []struct{ path, body string }{
		{"/v1/chat/completions", `{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}`},
		{"/v1/completions", `{"prompt": "hi", "max_tokens": 4}`},
		{"/v1/rerank", `{"query": "a", "documents": ["b", "c"]}`},
	} {
		resp, err := http.Post(base+c.path, "application/json", strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if c.path == "/v1/rerank" {
			if resp.StatusCode != 200 {
				t.Errorf("rerank: status %d: %s", resp.StatusCode, raw)
			}
		} else if resp.StatusCode != 400 || !strings.Contains(string(raw), "language-model head") {
			t.Errorf("%s: status %d: %s", c.path, resp.StatusCode, raw)
		}
	}
}

// --reranking on a model that is no reranker (no head, no yes/no tokens)
// fails at start-up, saying why.
func TestServeRerankNeedsAHead(t *testing.T) {
	var stderr bytes.Buffer
	c, err := parseServe([]string{"--model", testshared.Path(t, "models", "stories260K.gguf"), "--addr", "127.0.0.1:0", "--reranking"}, &stderr)
	if err != nil {
		t.Fatalf("parse: %v: %s", err, stderr.String())
	}
	err = serveModel(context.Background(), c, zap.NewNop(), io.Discard, nil)
	if err == nil || !strings.Contains(err.Error(), "reranking") || !strings.Contains(err.Error(), "classification head") {
		t.Fatalf("serve --reranking on stories260K: %v", err)
	}
}

// TestServeRerankEncoder: a cross-encoder (synth's bert-rerank-tiny) is
// served for reranking without --reranking; each document's score is the
// engine's score of llama.cpp's pair, [BOS] query [EOS] [SEP] document
// [EOS] as the vocabulary adds them (here BOS only: [BOS] query document),
// and an instruction is refused.
func TestServeRerankEncoder(t *testing.T) {
	path := testgguf.Synth(t, "bert-rerank-tiny", "Q8_0", 1)
	base := startServe(t, "--model", path)
	query, docs := "who is happy", []string{"lily was happy", "the dog ran", "once upon a time there was"}
	got, _ := postRerank(t, base, query, docs)
	tok, m := loadTokenizerModel(t, path)
	head, _, err := engine.RerankHead(m, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := engine.NewReranker(m, engine.EmbedderConfig{}, head)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	bos, _ := tok.BOS()
	q, _ := tok.Encode(query, false, false)
	for _, res := range got.Results {
		d, _ := tok.Encode(docs[res.Index], false, false)
		want, err := r.Score(context.Background(), [][]int32{append(append([]int32{bos}, q...), d...)})
		if err != nil {
			t.Fatal(err)
		}
		if float32(res.RelevanceScore) != want[0] {
			t.Errorf("document %d: %v, the pair's score %v", res.Index, res.RelevanceScore, want[0])
		}
	}
	resp, err := http.Post(base+"/v1/rerank", "application/json", strings.NewReader(`{"query": "a", "documents": ["b"], "instruction": "x"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("an instruction for a cross-encoder: status %d, want 400", resp.StatusCode)
	}
}

// TestServeEmbeddingModel: --embedding-model serves an embedding model and
// a reranker beside a model that does neither. Their embeddings and
// scores are those of the same files served alone (--embeddings,
// --reranking), requests that name no model reach them, and the main
// model still generates.
func TestServeEmbeddingModel(t *testing.T) {
	stories := testshared.Path(t, "models", "stories260K.gguf")
	reranker := testgguf.WriteReranker(t, stories, [2]int32{393, 348}, "Question: {query} Story: {document}")
	base := startServe(t, "--embedding-model", "emb="+stories, "--embedding-model", reranker)
	rrName := strings.TrimSuffix(filepath.Base(reranker), ".gguf")
	alone := startServe(t, "--embeddings")
	rrAlone := startServe(t, "--model", reranker, "--reranking")

	post := func(url, body string) []byte {
		t.Helper()
		resp, err := http.Post(url, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("POST %s %s: %d %s", url, body, resp.StatusCode, raw)
		}
		return raw
	}
	type embeddings struct {
		Model string `json:"model"`
		Data  []struct {
			Embedding []float32 `json:"embedding"`
		} `json:"data"`
	}
	var want embeddings
	if err := json.Unmarshal(post(alone+"/v1/embeddings", `{"input": ["Lily was happy.", "Once"]}`), &want); err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{`{"input": ["Lily was happy.", "Once"]}`, `{"input": ["Lily was happy.", "Once"], "model": "emb"}`} {
		var got embeddings
		if err := json.Unmarshal(post(base+"/v1/embeddings", body), &got); err != nil {
			t.Fatal(err)
		}
		if got.Model != "emb" || len(got.Data) != 2 || len(want.Data) != 2 {
			t.Fatalf("%s: model %q, %d vectors", body, got.Model, len(got.Data))
		}
		for i := range got.Data {
			if !slices.Equal(got.Data[i].Embedding, want.Data[i].Embedding) {
				t.Errorf("%s: vector %d differs from --embeddings'", body, i)
			}
		}
	}

	docs := []string{"Lily was happy.", "The dog ran to the park.", "Once upon a time"}
	wantRR, _ := postRerank(t, rrAlone, "Who is happy?", docs)
	body, _ := json.Marshal(map[string]any{"model": rrName, "query": "Who is happy?", "documents": docs})
	var gotRR rerankResults
	if err := json.Unmarshal(post(base+"/v1/rerank", string(body)), &gotRR); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(gotRR.Results, wantRR.Results) {
		t.Errorf("rerank beside the model %+v, alone %+v", gotRR.Results, wantRR.Results)
	}

	var comp struct {
		Choices []struct {
			Text string `json:"text"`
		} `json:"choices"`
	}
	raw := post(base+"/v1/completions", `{"prompt": "Once upon a time", "max_tokens": 12, "temperature": 0}`)
	if err := json.Unmarshal(raw, &comp); err != nil || len(comp.Choices) != 1 || comp.Choices[0].Text == "" ||
		!strings.HasPrefix(storiesGreedy, "Once upon a time"+comp.Choices[0].Text) {
		t.Errorf("completion beside the embedding models: %v: %s", err, raw)
	}
	resp, err := http.Get(base + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(raw), `"id":"emb"`) || !strings.Contains(string(raw), `"id":"`+rrName+`"`) {
		t.Errorf("models: %s", raw)
	}
}

// An --embedding-model that cannot be found fails before the port is
// bound, naming the flag and the file.
func TestServeEmbeddingModelMissing(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.gguf")
	var stderr bytes.Buffer
	c, err := parseServe([]string{"--model", testshared.Path(t, "models", "stories260K.gguf"), "--addr", "127.0.0.1:0", "--embedding-model", "e=" + missing}, &stderr)
	if err != nil {
		t.Fatalf("parse: %v: %s", err, stderr.String())
	}
	err = serveModel(context.Background(), c, zap.NewNop(), io.Discard, nil)
	if err == nil || !strings.Contains(err.Error(), "--embedding-model") || !strings.Contains(err.Error(), missing) {
		t.Fatalf("serve with a missing embedding model: %v", err)
	}
	if _, err := parseServe([]string{"--model", "m", "--embedding-model", "=x.gguf"}, &stderr); err == nil {
		t.Error("--embedding-model =x.gguf taken")
	}
}
