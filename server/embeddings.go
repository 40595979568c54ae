package server

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/valyala/fasthttp"

	"github.com/nuri-ai/nuri/engine"
)

// Embedder is what /v1/embeddings needs: *engine.Embedder.
type Embedder interface {
	EmbedBatch(ctx context.Context, inputs [][]int32) ([][]float32, error)
	Dim() int
}

// maxEmbedInputs is OpenAI's limit on inputs a request.
const maxEmbedInputs = 2048

type embeddingRequest struct {
	Model          string          `json:"model"`
	Input          json.RawMessage `json:"input"` // as a prompt: text(s) or token ids
	EncodingFormat string          `json:"encoding_format"`
	Dimensions     *int            `json:"dimensions"`
	User           string          `json:"user"`
}

type embeddingData struct {
	Object    string `json:"object"`
	Index     int    `json:"index"`
	Embedding any    `json:"embedding"` // []float32, or a base64 string
}

type embeddingResponse struct {
	Object string          `json:"object"`
	Data   []embeddingData `json:"data"`
	Model  string          `json:"model"`
	Usage  embeddingUsage  `json:"usage"`
}

type embeddingUsage struct {
	PromptTokens int `json:"prompt_tokens"`
	TotalTokens  int `json:"total_tokens"`
}

// handleEmbeddings is OpenAI's /v1/embeddings: each input's pooled final
// hidden state, truncated to dimensions when asked (Matryoshka models such
// as Qwen3-Embedding are trained for it) and normalised to length 1.
func (s *Server) handleEmbeddings(ctx *fasthttp.RequestCtx, ri *reqInfo) error {
	var req embeddingRequest
	if err := decodeBody(ctx, &req); err != nil {
		return err
	}
	b, err := s.embeddingBackend(req.Model)
	if err != nil {
		return err
	}
	switch req.EncodingFormat {
	case "", "float", "base64":
	default:
		return invalidParam("encoding_format", "encoding_format must be \"float\" or \"base64\", got %q", req.EncodingFormat)
	}
	var in promptField
	if err := in.UnmarshalJSON(req.Input); err != nil {
		return invalidParam("input", "input must be a string, strings, token ids or lists of them")
	}
	inputs, err := embeddingInputs(b.Tokenizer, &in)
	if err != nil {
		return err
	}
	vecs, n, err := s.embed(ctx, ri, b, inputs, req.Dimensions, true)
	if err != nil {
		return err
	}
	resp := embeddingResponse{Object: "list", Model: s.pooledName(req.Model, b), Data: make([]embeddingData, len(inputs))}
	for i, v := range vecs {
		resp.Data[i] = embeddingData{Object: "embedding", Index: i, Embedding: v}
		if req.EncodingFormat == "base64" {
			resp.Data[i].Embedding = base64Floats(v)
		}
	}
	resp.Usage.PromptTokens, resp.Usage.TotalTokens = n, n
	return s.writeJSON(ctx, &resp)
}

// embeddingBackend returns the backend when it serves embeddings under
// model (the served model's name; a LoRA module's is refused).
func (s *Server) embeddingBackend(model string) (*Backend, error) {
	return s.poolingBackend(model, func(b *Backend) bool { return b.Embedder != nil }, "embeddings", "embeddings", "--embeddings")
}

// poolingBackend returns the backend when served says it serves a route
// (what, which gives results) under model, the served model's name: a
// LoRA module's is refused, and a server started without flag says so.
//
// A pooling model (AddPoolingBackend) is taken by its name, and by no name
// or the main model's when the main model does not serve the route (or is
// still loading): the first that does.
func (s *Server) poolingBackend(model string, served func(*Backend) bool, what, results, flag string) (*Backend, error) {
	if p := s.poolingModelNamed(model); p != nil {
		if !served(p.b) {
			return nil, &apiError{err: ErrNotSupported, param: "model", msg: fmt.Sprintf("'%s' is not served for %s: it serves %s", model, what, p.servesWhat())}
		}
		return p.b, nil
	}
	b, err := s.backendFor()
	if err != nil || !served(b) {
		if _, lora := s.loras.lookup(model); !lora {
			if err := s.checkModel(model); err != nil {
				return nil, err
			}
			for _, p := range s.poolingModels() {
				if served(p.b) {
					return p.b, nil
				}
			}
		}
		if err != nil {
			return nil, err
		}
		return nil, &apiError{err: ErrNotSupported, param: "model", msg: fmt.Sprintf("'%s' is not served for %s: start the server with %s, or serve a model for them beside it with --embedding-model", s.cfg.ModelName, what, flag)}
	}
	if lora, err := s.generationModel(model); err != nil {
		return nil, err
	} else if lora > 0 {
		return nil, &apiError{err: ErrNotSupported, param: "model", msg: fmt.Sprintf("'%s' is a LoRA module, applied to generation only: %s come from '%s'", model, results, s.cfg.ModelName)}
	}
	return b, nil
}

// embed runs the tokenized inputs through b's embedder: each vector cut
// to dims values when asked (Matryoshka models are trained for it) and
// normalised to length 1 when normalize is set. It returns the vectors
// and the prompt tokens, which it counts for /metrics and the access log
// (prefill, as vLLM counts pooling requests).
func (s *Server) embed(ctx context.Context, ri *reqInfo, b *Backend, inputs [][]int32, dims *int, normalize bool) ([][]float32, int, error) {
	dim := b.Embedder.Dim()
	if dims != nil && (*dims < 1 || *dims > dim) {
		return nil, 0, invalidParam("dimensions", "dimensions must be between 1 and %d, got %d", dim, *dims)
	}
	vecs, err := b.Embedder.EmbedBatch(ctx, inputs)
	switch {
	case errors.Is(err, engine.ErrEmbedInput):
		return nil, 0, &apiError{err: errContextExceeded, param: "input", msg: err.Error()}
	case err != nil:
		return nil, 0, fmt.Errorf("embed: %w", err)
	}
	n := 0
	for i, ids := range inputs {
		n += len(ids)
		if dims != nil {
			vecs[i] = vecs[i][:*dims]
		}
		if normalize {
			engine.Normalize(vecs[i])
		}
	}
	ri.promptTokens = n
	s.metrics.promptTokens.Add(int64(n))
	return vecs, n, nil
}

// embeddingInputs tokenizes the input: a string, strings, token ids or
// lists of them. Texts get the special tokens the vocabulary adds (BOS, or
// the EOS last-token embedders are trained with); their own text is never
// read as special tokens.
func embeddingInputs(tok Tokenizer, in *promptField) ([][]int32, error) {
	var out [][]int32
	for i, text := range in.Texts {
		if text == "" {
			return nil, invalidParam("input", "input %d is empty", i)
		}
		ids, err := tok.Encode(text, true, false)
		if err != nil {
			return nil, invalidParam("input", "cannot tokenize input %d: %v", i, err)
		}
		out = append(out, ids)
	}
	if err := checkTokenLists(in.Tokens, tok.NVocab(), "input"); err != nil {
		return nil, err
	}
	out = append(out, in.Tokens...)
	switch {
	case len(out) == 0:
		return nil, invalidParam("input", "input must be a string, strings, or token ids")
	case len(out) > maxEmbedInputs:
		return nil, invalidParam("input", "at most %d inputs a request, got %d", maxEmbedInputs, len(out))
	}
	return out, nil
}

// base64Floats is OpenAI's base64 encoding: the little-endian float32s.
func base64Floats(v []float32) string {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return base64.StdEncoding.EncodeToString(b)
}

// teiEmbedRequest is Hugging Face Text Embeddings Inference's POST /embed
// body: inputs (a string or strings), normalize (default true), truncate
// (cut an input longer than the model takes instead of refusing it) and
// dimensions (Matryoshka models).
type teiEmbedRequest struct {
	Inputs     json.RawMessage `json:"inputs"`
	Normalize  *bool           `json:"normalize"`
	Truncate   bool            `json:"truncate"`
	Dimensions *int            `json:"dimensions"`
}

// maxTokenser is implemented by embedders that say the longest input they
// take (*engine.Embedder).
type maxTokenser interface{ MaxTokens() int }

// handleTEIEmbed answers TEI's POST /embed with a bare array of vectors,
// so clients written for TEI (LangChain's and LlamaIndex's TEI embeddings,
// the bge-m3 deployments that serve with it) work unchanged.
func (s *Server) handleTEIEmbed(ctx *fasthttp.RequestCtx, ri *reqInfo) error {
	var req teiEmbedRequest
	if err := decodeBody(ctx, &req); err != nil {
		return err
	}
	b, err := s.embeddingBackend("")
	if err != nil {
		return err
	}
	var texts []string
	if err := json.Unmarshal(req.Inputs, &texts); err != nil {
		var one string
		if err := json.Unmarshal(req.Inputs, &one); err != nil {
			return invalidParam("inputs", "inputs must be a string or strings")
		}
		texts = []string{one}
	}
	inputs, err := embeddingInputs(b.Tokenizer, &promptField{Texts: texts})
	if err != nil {
		return err
	}
	if mt, ok := b.Embedder.(maxTokenser); ok && req.Truncate {
		for i, ids := range inputs {
			inputs[i] = ids[:min(len(ids), mt.MaxTokens())]
		}
	}
	vecs, _, err := s.embed(ctx, ri, b, inputs, req.Dimensions, req.Normalize == nil || *req.Normalize)
	if err != nil {
		return err
	}
	return s.writeJSON(ctx, vecs)
}

// llamaEmbeddingRequest is llama-server's own POST /embedding (and
// /embeddings) body: content (or, as /v1/embeddings, input) as a prompt,
// and embd_normalize.
type llamaEmbeddingRequest struct {
	Content       json.RawMessage `json:"content"`
	Input         json.RawMessage `json:"input"`
	EmbdNormalize *int            `json:"embd_normalize"`
}

// llamaEmbedding is one input's entry in llama-server's answer: its
// pooled vector, as the one row of a per-token list.
type llamaEmbedding struct {
	Index     int         `json:"index"`
	Embedding [][]float32 `json:"embedding"`
}

// handleLlamaEmbedding answers llama-server's POST /embedding and
// /embeddings: [{"index", "embedding": [[...]]}], each pooled vector
// scaled by embd_normalize (llama.cpp's: -1 none, 0 max absolute to
// int16's range, 1 taxicab, 2 Euclidean (the default), p > 2 the p-norm).
func (s *Server) handleLlamaEmbedding(ctx *fasthttp.RequestCtx, ri *reqInfo) error {
	var req llamaEmbeddingRequest
	if err := decodeBody(ctx, &req); err != nil {
		return err
	}
	b, err := s.embeddingBackend("")
	if err != nil {
		return err
	}
	raw, param := req.Content, "content"
	if !present(raw) {
		raw, param = req.Input, "input"
	}
	var in promptField
	if !present(raw) || in.UnmarshalJSON(raw) != nil {
		return invalidParam(param, "content (or input) must be a string, strings, token ids or lists of them")
	}
	inputs, err := embeddingInputs(b.Tokenizer, &in)
	if err != nil {
		return err
	}
	norm := 2
	if req.EmbdNormalize != nil {
		norm = *req.EmbdNormalize
		if norm < -1 {
			return invalidParam("embd_normalize", "embd_normalize must be -1 (none), 0 (max absolute), 1 (taxicab), 2 (Euclidean) or a p above 2, got %d", norm)
		}
	}
	vecs, _, err := s.embed(ctx, ri, b, inputs, nil, false)
	if err != nil {
		return err
	}
	out := make([]llamaEmbedding, len(vecs))
	for i, v := range vecs {
		scaleEmbedding(v, norm)
		out[i] = llamaEmbedding{Index: i, Embedding: [][]float32{v}}
	}
	return s.writeJSON(ctx, out)
}

// scaleEmbedding divides v by its norm of kind p in llama.cpp's
// embd_normalize numbering; a zero vector stays zero.
func scaleEmbedding(v []float32, p int) {
	var sum float64
	switch p {
	case -1:
		return
	case 0:
		for _, x := range v {
			sum = max(sum, math.Abs(float64(x)))
		}
		sum /= 32760 // the largest value becomes 32760: int16's range
	case 2:
		for _, x := range v {
			sum += float64(x) * float64(x)
		}
		sum = math.Sqrt(sum)
	default:
		for _, x := range v {
			sum += math.Pow(math.Abs(float64(x)), float64(p))
		}
		sum = math.Pow(sum, 1/float64(p))
	}
	scale := float32(0)
	if sum > 0 {
		scale = float32(1 / sum)
	}
	for i := range v {
		v[i] *= scale
	}
}
