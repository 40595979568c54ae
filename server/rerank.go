package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/nuri-ai/nuri/engine"
)

// Reranker is what /v1/rerank and /score need: *engine.Reranker.
type Reranker interface {
	Score(ctx context.Context, inputs [][]int32) ([]float32, error)
	MaxTokens() int
}

// maxRerankDocuments bounds the documents (or pairs) a request scores.
const maxRerankDocuments = 1024

// DefaultRerankInstruction is Qwen3-Reranker's instruction when a request
// gives none (the one llama.cpp's converter bakes into the template).
const DefaultRerankInstruction = "Given a web search query, retrieve relevant passages that answer the query"

// qwen3RerankTemplate is Qwen3-Reranker's prompt (its model card), for a
// reranker whose GGUF carries no tokenizer.chat_template.rerank: the
// model answers "yes" or "no" after an empty thinking block.
const qwen3RerankTemplate = "<|im_start|>system\nJudge whether the Document meets the requirements based on the Query and the Instruct provided. Note that the answer can only be \"yes\" or \"no\".<|im_end|>\n" +
	"<|im_start|>user\n<Instruct>: {instruction}\n<Query>: {query}\n<Document>: {document}<|im_end|>\n" +
	"<|im_start|>assistant\n<think>\n\n</think>\n\n"

// pairTokenizer is what rerankPair needs of a tokenizer besides
// Tokenizer: *tokenizer.Tokenizer.
type pairTokenizer interface {
	SEP() (int32, bool)
	AddEOS() bool
	AddSEP() bool
}

// pairReranker is implemented by rerankers that read a query and a
// document as a pair of texts (an encoder: *engine.Reranker.Pairs).
type pairReranker interface{ Pairs() bool }

// rerankPrompt formats a query and a document with the backend's template
// (the GGUF's, or Qwen3-Reranker's) and tokenizes it as llama.cpp and
// Qwen's reference do: the whole text, special tokens parsed; a
// cross-encoder without a template gets the pair (rerankPair). A prompt
// longer than the reranker takes loses the end of its document.
func rerankPrompt(b *Backend, instruction, query, doc string) ([]int32, error) {
	tmpl := b.RerankTemplate
	if pr, ok := b.Reranker.(pairReranker); ok && pr.Pairs() && tmpl == "" {
		if instruction != "" {
			return nil, invalidParam("instruction", "this model's reranking takes no instruction")
		}
		return rerankPair(b, query, doc)
	}
	if tmpl == "" {
		tmpl = qwen3RerankTemplate
	}
	if instruction == "" {
		instruction = DefaultRerankInstruction
	}
	switch {
	case strings.Contains(tmpl, "{instruction}"), instruction == DefaultRerankInstruction:
	case strings.Contains(tmpl, DefaultRerankInstruction):
		// llama.cpp's converter writes the default instruction into the
		// template: it becomes a placeholder.
		tmpl = strings.ReplaceAll(tmpl, DefaultRerankInstruction, "{instruction}")
	default:
		return nil, invalidParam("instruction", "this model's rerank template takes no instruction")
	}
	// One pass over the template: text a request brings is never read as
	// a placeholder.
	render := func(doc string) string {
		return strings.NewReplacer("{query}", query, "{document}", doc, "{instruction}", instruction).Replace(tmpl)
	}
	limit := b.Reranker.MaxTokens()
	ids, err := b.Tokenizer.Encode(render(doc), true, true)
	if err != nil {
		return nil, err
	}
	for try := 0; len(ids) > limit && try < 4; try++ {
		// Cut the document by the excess (and a little more each try, as
		// its tokens alone may join differently with the template's).
		dt, err := b.Tokenizer.Encode(doc, false, false)
		if err != nil {
			return nil, err
		}
		keep := len(dt) - (len(ids) - limit) - try*8
		if keep <= 0 {
			return nil, &apiError{err: errContextExceeded, param: "query",
				msg: fmt.Sprintf("the query and the prompt take more than the reranker's %d tokens", limit)}
		}
		text, err := b.Tokenizer.Decode(dt[:keep], false)
		if err != nil {
			return nil, err
		}
		doc = string(text)
		if ids, err = b.Tokenizer.Encode(render(doc), true, true); err != nil {
			return nil, err
		}
	}
	if len(ids) > limit {
		return nil, &apiError{err: errContextExceeded, param: "documents",
			msg: fmt.Sprintf("a document does not fit the reranker's %d tokens", limit)}
	}
	return ids, nil
}

// rerankPair is llama.cpp's pair of texts for a cross-encoder without a
// template: [BOS] query [EOS] [SEP] document [EOS], each special token as
// the vocabulary adds them (XLM-RoBERTa's <s> q </s></s> d </s>; EOS is
// SEP where there is no EOS), the document cut to fit the reranker.
func rerankPair(b *Backend, query, doc string) ([]int32, error) {
	tok := b.Tokenizer
	st, ok := tok.(pairTokenizer)
	if !ok {
		return nil, fmt.Errorf("%w: the tokenizer does not say how a pair of texts is joined", ErrInternal)
	}
	q, err := tok.Encode(query, false, false)
	if err != nil {
		return nil, err
	}
	d, err := tok.Encode(doc, false, false)
	if err != nil {
		return nil, err
	}
	eos, ok := tok.EOS()
	if !ok {
		eos, _ = st.SEP()
	}
	sep, _ := st.SEP()
	var head []int32
	if bos, ok := tok.BOS(); ok && tok.AddBOS() {
		head = append(head, bos)
	}
	head = append(head, q...)
	var tail int
	if st.AddEOS() {
		head = append(head, eos)
		tail = 1
	}
	if st.AddSEP() {
		head = append(head, sep)
	}
	room := b.Reranker.MaxTokens() - len(head) - tail
	if room < 1 {
		return nil, &apiError{err: errContextExceeded, param: "query",
			msg: fmt.Sprintf("the query takes more than the reranker's %d tokens", b.Reranker.MaxTokens())}
	}
	ids := append(head, d[:min(len(d), room)]...)
	if tail == 1 {
		ids = append(ids, eos)
	}
	return ids, nil
}

// rerankBackend returns the backend when it serves reranking under model.
func (s *Server) rerankBackend(model string) (*Backend, error) {
	return s.poolingBackend(model, func(b *Backend) bool { return b.Reranker != nil }, "reranking", "scores", "--reranking")
}

// score tokenizes each (query, document) pair and scores them, counting
// the prompt tokens for /metrics and the access log.
func (s *Server) score(ctx context.Context, ri *reqInfo, b *Backend, instruction string, queries, docs []string) ([]float32, int, error) {
	inputs := make([][]int32, len(docs))
	n := 0
	for i := range docs {
		ids, err := rerankPrompt(b, instruction, queries[i], docs[i])
		if err != nil {
			var ae *apiError
			if errors.As(err, &ae) {
				return nil, 0, err
			}
			return nil, 0, invalidParam("documents", "cannot tokenize document %d: %v", i, err)
		}
		inputs[i] = ids
		n += len(ids)
	}
	scores, err := b.Reranker.Score(ctx, inputs)
	switch {
	case errors.Is(err, engine.ErrEmbedInput):
		return nil, 0, &apiError{err: errContextExceeded, param: "documents", msg: err.Error()}
	case err != nil:
		return nil, 0, fmt.Errorf("rerank: %w", err)
	}
	ri.promptTokens = n
	s.metrics.promptTokens.Add(int64(n))
	return scores, n, nil
}

// rerankDocument is a document as Jina's and Cohere's APIs return it.
type rerankDocument struct {
	Text string `json:"text"`
}

type rerankRequest struct {
	Model           string            `json:"model"`
	Query           string            `json:"query"`
	Documents       []json.RawMessage `json:"documents"` // strings, or {"text": ...}
	Texts           []string          `json:"texts"`     // Hugging Face TEI's name
	TopN            *int              `json:"top_n"`
	ReturnDocuments *bool             `json:"return_documents"`
	ReturnText      *bool             `json:"return_text"` // TEI's name
	RawScores       bool              `json:"raw_scores"`  // TEI's: no sigmoid on a logit
	Instruction     string            `json:"instruction"` // Qwen3-Reranker's task instruction
}

// teiRerankResult is one entry of TEI's rerank answer, a bare array.
type teiRerankResult struct {
	Index int     `json:"index"`
	Score float32 `json:"score"`
	Text  *string `json:"text,omitempty"`
}

// rawScorer is implemented by rerankers that say whether their scores
// are raw logits (*engine.Reranker.RawScores).
type rawScorer interface{ RawScores() bool }

type rerankResult struct {
	Index          int             `json:"index"`
	RelevanceScore float32         `json:"relevance_score"`
	Document       *rerankDocument `json:"document,omitempty"`
}

type rerankUsage struct {
	PromptTokens int `json:"prompt_tokens"`
	TotalTokens  int `json:"total_tokens"`
}

type rerankResponse struct {
	ID      string         `json:"id"`
	Object  string         `json:"object"`
	Model   string         `json:"model"`
	Usage   rerankUsage    `json:"usage"`
	Results []rerankResult `json:"results"`
}

// documents reads the request's documents: strings or objects with a
// text (Jina's and Cohere's forms), or TEI's texts.
func (r *rerankRequest) documents() ([]string, error) {
	if len(r.Documents) > 0 && len(r.Texts) > 0 {
		return nil, invalidParam("documents", "give documents or texts, not both")
	}
	out := r.Texts
	for i, raw := range r.Documents {
		raw = bytes.TrimSpace(raw)
		var text string
		if len(raw) > 0 && raw[0] == '{' {
			var d struct {
				Text *string `json:"text"`
			}
			if err := json.Unmarshal(raw, &d); err != nil || d.Text == nil {
				return nil, invalidParam("documents", "document %d must be a string or an object with a text", i)
			}
			text = *d.Text
		} else if err := json.Unmarshal(raw, &text); err != nil {
			return nil, invalidParam("documents", "document %d must be a string or an object with a text", i)
		}
		out = append(out, text)
	}
	switch {
	case len(out) == 0:
		return nil, invalidParam("documents", "documents must list at least one document")
	case len(out) > maxRerankDocuments:
		return nil, invalidParam("documents", "at most %d documents a request, got %d", maxRerankDocuments, len(out))
	}
	return out, nil
}

// handleRerank is the reranking API of Jina, Cohere (v1 and v2), vLLM
// and llama.cpp (/v1/rerank, /rerank, /v2/rerank): every document scored
// against the query, best first, top_n of them when asked.
func (s *Server) handleRerank(ctx *fasthttp.RequestCtx, ri *reqInfo) error {
	var req rerankRequest
	if err := decodeBody(ctx, &req); err != nil {
		return err
	}
	b, err := s.rerankBackend(req.Model)
	if err != nil {
		return err
	}
	if req.Query == "" {
		return invalidParam("query", "query must be a non-empty string")
	}
	docs, err := req.documents()
	if err != nil {
		return err
	}
	topN := len(docs)
	if req.TopN != nil {
		if *req.TopN < 0 {
			return invalidParam("top_n", "top_n must not be negative, got %d", *req.TopN)
		}
		if *req.TopN > 0 {
			topN = min(topN, *req.TopN)
		}
	}
	withDocs := true
	for _, f := range []*bool{req.ReturnDocuments, req.ReturnText} {
		if f != nil {
			withDocs = *f
		}
	}
	queries := make([]string, len(docs))
	for i := range queries {
		queries[i] = req.Query
	}
	scores, n, err := s.score(ctx, ri, b, req.Instruction, queries, docs)
	if err != nil {
		return err
	}
	results := make([]rerankResult, len(docs))
	for i, sc := range scores {
		results[i] = rerankResult{Index: i, RelevanceScore: sc}
		if withDocs {
			results[i].Document = &rerankDocument{Text: docs[i]}
		}
	}
	sort.SliceStable(results, func(i, j int) bool { return results[i].RelevanceScore > results[j].RelevanceScore })
	if len(req.Texts) > 0 {
		return s.writeJSON(ctx, teiRerank(b, &req, results[:topN]))
	}
	resp := rerankResponse{ID: "rerank-" + ri.id, Object: "list", Model: s.pooledName(req.Model, b),
		Usage: rerankUsage{PromptTokens: n, TotalTokens: n}, Results: results[:topN]}
	return s.writeJSON(ctx, &resp)
}

// teiRerank is TEI's answer to a request in its form (texts): a bare
// array, best first, each a score and, with return_text (off by default
// there), the text. A cross-encoder's logit goes through a sigmoid, as TEI
// does unless raw_scores; a probability (Qwen3-Reranker's) stays as it is.
func teiRerank(b *Backend, req *rerankRequest, results []rerankResult) []teiRerankResult {
	sigmoid := false
	if rs, ok := b.Reranker.(rawScorer); ok && rs.RawScores() && !req.RawScores {
		sigmoid = true
	}
	out := make([]teiRerankResult, len(results))
	for i, r := range results {
		out[i] = teiRerankResult{Index: r.Index, Score: r.RelevanceScore}
		if sigmoid {
			out[i].Score = float32(1 / (1 + math.Exp(-float64(r.RelevanceScore))))
		}
		if req.ReturnText != nil && *req.ReturnText {
			text := req.Texts[r.Index]
			out[i].Text = &text
		}
	}
	return out
}

// stringOrList is a JSON string or a list of strings.
type stringOrList []string

func (l *stringOrList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*l = []string{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*l = many
	return nil
}

type scoreRequest struct {
	Model       string       `json:"model"`
	Text1       stringOrList `json:"text_1"`
	Text2       stringOrList `json:"text_2"`
	Instruction string       `json:"instruction"`
}

type scoreData struct {
	Index  int     `json:"index"`
	Object string  `json:"object"`
	Score  float32 `json:"score"`
}

type scoreResponse struct {
	ID      string      `json:"id"`
	Object  string      `json:"object"`
	Created int64       `json:"created"`
	Model   string      `json:"model"`
	Data    []scoreData `json:"data"`
	Usage   rerankUsage `json:"usage"`
}

// handleScore is vLLM's /score: text_1 against each text_2 (one query and
// many documents), or pair by pair when both are lists of one length;
// scores in the order given.
func (s *Server) handleScore(ctx *fasthttp.RequestCtx, ri *reqInfo) error {
	var req scoreRequest
	if err := decodeBody(ctx, &req); err != nil {
		return err
	}
	b, err := s.rerankBackend(req.Model)
	if err != nil {
		return err
	}
	q, d := req.Text1, req.Text2
	switch {
	case len(q) == 0 || len(d) == 0:
		return invalidParam("text_1", "text_1 and text_2 must each be a string or a non-empty list of strings")
	case len(d) > maxRerankDocuments:
		return invalidParam("text_2", "at most %d texts a request, got %d", maxRerankDocuments, len(d))
	case len(q) == 1:
		q = make([]string, len(d))
		for i := range q {
			q[i] = req.Text1[0]
		}
	case len(q) != len(d):
		return invalidParam("text_2", "text_1 has %d texts and text_2 %d: pairs need one length, or a single text_1", len(q), len(d))
	}
	scores, n, err := s.score(ctx, ri, b, req.Instruction, q, d)
	if err != nil {
		return err
	}
	resp := scoreResponse{ID: "score-" + ri.id, Object: "list", Created: time.Now().Unix(), Model: s.pooledName(req.Model, b),
		Usage: rerankUsage{PromptTokens: n, TotalTokens: n}, Data: make([]scoreData, len(scores))}
	for i, sc := range scores {
		resp.Data[i] = scoreData{Index: i, Object: "score", Score: sc}
	}
	return s.writeJSON(ctx, &resp)
}
