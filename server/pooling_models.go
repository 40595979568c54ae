package server

import (
	"fmt"
	"slices"
)

// poolingModel is an embedding model or a reranker served beside the main
// model under a name of its own (nuri serve --embedding-model), so that
// one server answers a RAG application's chat and its embeddings or
// reranking: the routes that pool (/v1/embeddings, /v1/rerank, /score,
// TEI's /embed, Ollama's /api/embed, llama-server's /embedding) take it by
// that name, and by no name (or the main model's) when the main model does
// not serve what they ask.
type poolingModel struct {
	name string
	b    *Backend
}

// AddPoolingBackend serves b, which embeds or reranks (Embedder or
// Reranker set, with its Tokenizer), under name beside the main model; it
// may be called before SetBackend, while the main model loads.
func (s *Server) AddPoolingBackend(name string, b *Backend) error {
	if name == "" || b == nil || b.Tokenizer == nil || (b.Embedder == nil && b.Reranker == nil) {
		return fmt.Errorf("server: a pooling model needs a name, a tokenizer and an embedder or a reranker")
	}
	if s.checkModel(name) == nil {
		return fmt.Errorf("server: pooling model %q: the main model is served under that name", name)
	}
	if _, ok := s.loras.lookup(name); ok {
		return fmt.Errorf("server: pooling model %q: a LoRA module has that name", name)
	}
	s.poolMu.Lock()
	defer s.poolMu.Unlock()
	if slices.ContainsFunc(s.pooling, func(p poolingModel) bool { return p.name == name }) {
		return fmt.Errorf("server: pooling model %q given twice", name)
	}
	s.pooling = append(slices.Clip(s.pooling), poolingModel{name: name, b: b})
	return nil
}

// poolingModels returns the pooling models, in the order they were added.
func (s *Server) poolingModels() []poolingModel {
	s.poolMu.RLock()
	defer s.poolMu.RUnlock()
	return s.pooling
}

// poolingModelNamed returns the pooling model served as name, or nil.
func (s *Server) poolingModelNamed(name string) *poolingModel {
	for _, p := range s.poolingModels() {
		if p.name == name {
			return &p
		}
	}
	return nil
}

// pooledName is the model name a pooling route's reply carries: a pooling
// model's own, else the main model's (the alias asked for, if one).
func (s *Server) pooledName(asked string, b *Backend) string {
	for _, p := range s.poolingModels() {
		if p.b == b {
			return p.name
		}
	}
	return s.replyModel(asked, 0)
}

// servesWhat says what a pooling model serves, for listings and errors.
func (p *poolingModel) servesWhat() string {
	switch {
	case p.b.Embedder != nil && p.b.Reranker != nil:
		return "embeddings and reranking"
	case p.b.Reranker != nil:
		return "reranking"
	}
	return "embeddings"
}

// maxLen is the longest input b takes: its engine's context, or a pooling
// model's longest input.
func (b *Backend) maxLen() int {
	switch {
	case b.Engine != nil:
		return b.Engine.NCtx()
	case b.Embedder != nil:
		if mt, ok := b.Embedder.(maxTokenser); ok {
			return mt.MaxTokens()
		}
	case b.Reranker != nil:
		if mt, ok := b.Reranker.(maxTokenser); ok {
			return mt.MaxTokens()
		}
	}
	return 0
}
