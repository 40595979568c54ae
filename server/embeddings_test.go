package server

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/openai/openai-go"
	"github.com/openai/openai-go/option"

	"github.com/nuri-ai/nuri/engine"
)

// fakeEmbedder's vector for tokens: (sum, count, first, last) of the ids,
// with the limit of an engine embedder's context.
type fakeEmbedder struct{ nCtx int }

func (f fakeEmbedder) Dim() int { return 4 }

func (f fakeEmbedder) MaxTokens() int { return f.nCtx }

func (f fakeEmbedder) EmbedBatch(_ context.Context, inputs [][]int32) ([][]float32, error) {
	out := make([][]float32, len(inputs))
	for i, ids := range inputs {
		if len(ids) > f.nCtx {
			return nil, fmt.Errorf("%w: input %d has %d tokens", engine.ErrEmbedInput, i, len(ids))
		}
		sum := 0
		for _, id := range ids {
			sum += int(id)
		}
		out[i] = []float32{float32(sum), float32(len(ids)), float32(ids[0]), float32(ids[len(ids)-1])}
	}
	return out, nil
}

func unit(v ...float64) []float32 {
	s := 0.0
	for _, x := range v {
		s += x * x
	}
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x / math.Sqrt(s))
	}
	return out
}

func closeTo(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(float64(a[i]-b[i])) > 1e-6 {
			return false
		}
	}
	return true
}

func TestEmbeddings(t *testing.T) {
	ts := newTestServer(t, Config{}, "", func(b *Backend) { b.Embedder = fakeEmbedder{nCtx: 10} })
	type resp struct {
		Object string `json:"object"`
		Data   []struct {
			Object    string          `json:"object"`
			Index     int             `json:"index"`
			Embedding json.RawMessage `json:"embedding"`
		} `json:"data"`
		Model string         `json:"model"`
		Usage embeddingUsage `json:"usage"`
	}
	// "ab" is BOS 1, 'a'+3 = 100, 'b'+3 = 101 in the fake tokenizer.
	ab := unit(202, 3, 1, 101)
	for _, tc := range []struct {
		body   string
		want   [][]float32
		tokens int
	}{
		{`{"input": "ab"}`, [][]float32{ab}, 3},
		{`{"input": ["ab", "a"], "model": "fake-model"}`, [][]float32{ab, unit(101, 2, 1, 100)}, 5},
		{`{"input": [5, 6, 7]}`, [][]float32{unit(18, 3, 5, 7)}, 3},
		{`{"input": [[5], [6, 7]]}`, [][]float32{unit(5, 1, 5, 5), unit(13, 2, 6, 7)}, 3},
		{`{"input": "ab", "dimensions": 2}`, [][]float32{unit(202, 3)}, 3},
		{`{"input": "ab", "encoding_format": "base64"}`, [][]float32{ab}, 3},
	} {
		status, _, body := ts.do("POST", "/v1/embeddings", tc.body)
		if status != 200 {
			t.Fatalf("%s: status %d: %s", tc.body, status, body)
		}
		var r resp
		if err := json.Unmarshal(body, &r); err != nil {
			t.Fatal(err)
		}
		if r.Object != "list" || r.Model != "fake-model" || len(r.Data) != len(tc.want) || r.Usage.PromptTokens != tc.tokens || r.Usage.TotalTokens != tc.tokens {
			t.Fatalf("%s: %s", tc.body, body)
		}
		for i, d := range r.Data {
			var got []float32
			var b64 string
			if json.Unmarshal(d.Embedding, &b64) == nil {
				raw, err := base64.StdEncoding.DecodeString(b64)
				if err != nil {
					t.Fatal(err)
				}
				for k := 0; k+4 <= len(raw); k += 4 {
					got = append(got, math.Float32frombits(binary.LittleEndian.Uint32(raw[k:])))
				}
			} else if err := json.Unmarshal(d.Embedding, &got); err != nil {
				t.Fatal(err)
			}
			if d.Object != "embedding" || d.Index != i || !closeTo(got, tc.want[i]) {
				t.Fatalf("%s: data %d: %v, want %v", tc.body, i, got, tc.want[i])
			}
		}
	}
	for _, tc := range []struct{ body, param, code string }{
		{`{"input": ""}`, "input", ""},
		{`{"input": []}`, "input", ""},
		{`{"input": [900]}`, "input", ""},
		{`{"input": "ab", "dimensions": 5}`, "dimensions", ""},
		{`{"input": "ab", "encoding_format": "int8"}`, "encoding_format", ""},
		{`{"input": "abcdefghijkl"}`, "input", "context_length_exceeded"},
		{`{"input": "ab", "model": "other"}`, "model", "model_not_found"},
	} {
		status, _, body := ts.do("POST", "/v1/embeddings", tc.body)
		if status/100 != 4 {
			t.Fatalf("%s: status %d: %s", tc.body, status, body)
		}
		checkErrorShape(t, body, tc.param, tc.code)
	}
	if _, _, body := ts.do("GET", "/metrics", ""); !strings.Contains(string(body), `vllm:prompt_tokens_total{model_name="fake-model"} 20`) {
		t.Errorf("prompt tokens of the embeddings not counted:\n%s", body)
	}
	plain := newTestServer(t, Config{}, "")
	if status, _, body := plain.do("POST", "/v1/embeddings", `{"input": "ab"}`); status != 400 {
		t.Fatalf("without an embedder: status %d: %s", status, body)
	}
}

// OpenAI's Go client reads the embeddings, as floats and as base64.
func TestEmbeddingsOpenAIClient(t *testing.T) {
	ts := newTestServer(t, Config{}, "", func(b *Backend) { b.Embedder = fakeEmbedder{nCtx: 10} })
	client := openai.NewClient(option.WithBaseURL(ts.url+"/v1"), option.WithAPIKey("unused"), option.WithMaxRetries(0))
	for _, format := range []openai.EmbeddingNewParamsEncodingFormat{openai.EmbeddingNewParamsEncodingFormatFloat, openai.EmbeddingNewParamsEncodingFormatBase64} {
		resp, err := client.Embeddings.New(context.Background(), openai.EmbeddingNewParams{
			Model:          "fake-model",
			Input:          openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"ab", "a"}},
			EncodingFormat: format,
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Data) != 2 || resp.Usage.PromptTokens != 5 {
			t.Fatalf("%s: %+v", format, resp)
		}
		if format == openai.EmbeddingNewParamsEncodingFormatFloat {
			got := make([]float32, len(resp.Data[0].Embedding))
			for i, x := range resp.Data[0].Embedding {
				got[i] = float32(x)
			}
			if !closeTo(got, unit(202, 3, 1, 101)) {
				t.Fatalf("embedding %v", got)
			}
		}
	}
}

// TestTEIEmbed: Hugging Face TEI's POST /embed answers a bare array of
// vectors, normalised unless asked not to; truncate cuts an input to the
// model's limit, which without it is a 400.
func TestTEIEmbed(t *testing.T) {
	ts := newTestServer(t, Config{}, "", func(b *Backend) { b.Embedder = fakeEmbedder{nCtx: 3} })
	for _, tc := range []struct {
		body string
		want [][]float32
	}{
		{`{"inputs": "ab"}`, [][]float32{unit(202, 3, 1, 101)}},
		{`{"inputs": ["ab", "a"]}`, [][]float32{unit(202, 3, 1, 101), unit(101, 2, 1, 100)}},
		{`{"inputs": "ab", "normalize": false}`, [][]float32{{202, 3, 1, 101}}},
		{`{"inputs": "abc", "truncate": true}`, [][]float32{unit(202, 3, 1, 101)}},
	} {
		status, _, body := ts.do("POST", "/embed", tc.body)
		var got [][]float32
		if status != 200 || json.Unmarshal(body, &got) != nil || len(got) != len(tc.want) {
			t.Fatalf("%s: %d %s", tc.body, status, body)
		}
		for i := range got {
			if !closeTo(got[i], tc.want[i]) {
				t.Errorf("%s: vector %d is %v, want %v", tc.body, i, got[i], tc.want[i])
			}
		}
	}
	for _, body := range []string{`{"inputs": "abc"}`, `{"inputs": 5}`, `{"inputs": ""}`} {
		if status, _, b := ts.do("POST", "/embed", body); status != 400 {
			t.Errorf("%s: status %d: %s", body, status, b)
		}
	}
}

// llama-server's /embedding and /embeddings: content (or input) in,
// [{"index", "embedding": [[...]]}] out, each vector scaled by
// embd_normalize as llama.cpp's common_embd_normalize numbers them.
func TestLlamaEmbedding(t *testing.T) {
	ts := newTestServer(t, Config{}, "", func(b *Backend) { b.Embedder = fakeEmbedder{nCtx: 8} })
	raw := []float64{202, 3, 1, 101} // "ab": BOS 1, 'a' 100, 'b' 101
	scaled := func(div float64) []float32 {
		out := make([]float32, len(raw))
		for i, x := range raw {
			out[i] = float32(x / div)
		}
		return out
	}
	cube := math.Cbrt(202*202*202 + 27 + 1 + 101*101*101)
	for _, tc := range []struct {
		path, body string
		want       [][]float32
	}{
		{"/embedding", `{"content": "ab"}`, [][]float32{unit(raw...)}},
		{"/embeddings", `{"input": ["ab", "a"]}`, [][]float32{unit(raw...), unit(101, 2, 1, 100)}},
		{"/embedding", `{"content": [1, 100]}`, [][]float32{unit(101, 2, 1, 100)}},
		{"/embedding", `{"content": "ab", "embd_normalize": -1}`, [][]float32{scaled(1)}},
		{"/embedding", `{"content": "ab", "embd_normalize": 0}`, [][]float32{scaled(202.0 / 32760)}},
		{"/embedding", `{"content": "ab", "embd_normalize": 1}`, [][]float32{scaled(307)}},
		{"/embedding", `{"content": "ab", "embd_normalize": 3}`, [][]float32{scaled(cube)}},
	} {
		status, _, body := ts.do("POST", tc.path, tc.body)
		var got []llamaEmbedding
		if status != 200 || json.Unmarshal(body, &got) != nil || len(got) != len(tc.want) {
			t.Fatalf("%s %s: %d %s", tc.path, tc.body, status, body)
		}
		for i, e := range got {
			// 1e-6 relative: float32 rounding of values up to 32760.
			if e.Index != i || len(e.Embedding) != 1 || !closeRel(e.Embedding[0], tc.want[i], 1e-6) {
				t.Errorf("%s %s: entry %d is %+v, want %v", tc.path, tc.body, i, e, tc.want[i])
			}
		}
	}
	for _, body := range []string{`{}`, `{"content": 5}`, `{"content": ""}`, `{"content": "ab", "embd_normalize": -2}`, `{"content": "abcdefghij"}`} {
		if status, _, b := ts.do("POST", "/embedding", body); status != 400 {
			t.Errorf("%s: status %d: %s", body, status, b)
		}
	}
	plain := newTestServer(t, Config{}, "ok")
	if status, _, b := plain.do("POST", "/embedding", `{"content": "ab"}`); status != 400 || !strings.Contains(string(b), "--embeddings") {
		t.Errorf("without an embedder: %d %s", status, b)
	}
}

// closeRel compares within tol of the larger magnitude.
func closeRel(a, b []float32, tol float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(float64(a[i]-b[i])) > tol*math.Max(1, math.Max(math.Abs(float64(a[i])), math.Abs(float64(b[i])))) {
			return false
		}
	}
	return true
}
