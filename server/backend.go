package server

import (
	"context"
	"sync"

	"github.com/nuri-ai/nuri/chat"
	"github.com/nuri-ai/nuri/engine"
	"github.com/nuri-ai/nuri/sample"
)

// Engine is what the server needs from the scheduler. *engine.Engine fits
// through EngineAdapter; tests use a fake.
type Engine interface {
	Submit(ctx context.Context, r engine.Request) (Stream, error)
	Stats() engine.Stats
	NCtx() int
}

// Stream is one submitted sequence: its events, ending with one that has
// Finish set, after which the channel is closed.
type Stream interface {
	Events() <-chan engine.Event
	Cancel()
}

// Tokenizer is what the server needs from the tokenizer.
// *tokenizer.Tokenizer satisfies it.
type Tokenizer interface {
	Encode(text string, addSpecial, parseSpecial bool) ([]int32, error)
	Decode(ids []int32, special bool) ([]byte, error)
	Piece(id int32, special bool) ([]byte, error)
	BOS() (int32, bool)
	EOS() (int32, bool)
	IsEOG(id int32) bool
	AddBOS() bool
	NVocab() int
	TokenText(id int32) string
}

// Backend is the loaded model behind the server. Until SetBackend is
// called the server answers 503 (loading).
type Backend struct {
	Engine    Engine
	Tokenizer Tokenizer
	Chat      *chat.Renderer
	// ToolFormat, when set, is how tool calls are parsed from replies,
	// whatever the chat template shows (nuri serve --tool-parser).
	ToolFormat chat.ToolFormat
	// FreeToolCalls leaves the calls a model writes under tool_choice
	// "auto" unconstrained (nuri serve --free-tool-calls); by default a
	// call, once its opening marker is written, is held to the tools'
	// schemas.
	FreeToolCalls bool
	// CompactJSON makes JSON output compact by default, no whitespace
	// between its tokens (nuri serve --disable-any-whitespace); a
	// request's structured_outputs.disable_any_whitespace wins.
	CompactJSON bool
	// Reasoning says whether replies' <think>…</think> is split off into
	// reasoning_content: ReasoningAuto when the template shows thinking.
	Reasoning Reasoning
	// ThinkingBudget, when not nil, is how many tokens a reply may think
	// before </think> is forced, after ThinkingBudgetMessage (nuri serve
	// --reasoning-budget, --reasoning-budget-message); a request's own
	// budget wins.
	ThinkingBudget        *int
	ThinkingBudgetMessage string
	// TemplateKwargs are the chat template's variables every request
	// starts from (nuri serve --chat-template-kwargs, e.g.
	// {"enable_thinking": false}); a request's own chat_template_kwargs
	// (or Ollama's think, Anthropic's thinking) win key by key.
	TemplateKwargs map[string]any

	vocabOnce  sync.Once
	vocabTable *sample.Vocab // every token's text, for output constraints
	// Embedder, when not nil, serves /v1/embeddings (nuri serve
	// --embeddings).
	Embedder Embedder
	// Reranker, when not nil, serves /v1/rerank (also /rerank, /v2/rerank)
	// and /score (nuri serve --reranking).
	Reranker Reranker
	// RerankTemplate is the prompt a query and a document are scored in,
	// with {query}, {document} and optionally {instruction}: the GGUF's
	// tokenizer.chat_template.rerank; "" means Qwen3-Reranker's.
	RerankTemplate string
	// Gauges, when not nil, adds gauges to /metrics at every scrape (the
	// device's telemetry; see GaugeSource).
	Gauges GaugeSource
	// Model describes the model file (Ollama's /api/tags and /api/show).
	Model ModelInfo
	// Sampling, when not nil, is what a request's unset sampling fields
	// take (the model's recommended settings over llama.cpp's defaults);
	// nil: sample.DefaultParams.
	Sampling *sample.Params
}

// EngineAdapter makes *engine.Engine an Engine.
type EngineAdapter struct{ E *engine.Engine }

// Submit forwards to the engine; a failed submit returns a nil Stream (not
// a typed nil).
func (a EngineAdapter) Submit(ctx context.Context, r engine.Request) (Stream, error) {
	s, err := a.E.Submit(ctx, r)
	if err != nil {
		return nil, err
	}
	return s, nil
}

func (a EngineAdapter) Stats() engine.Stats { return a.E.Stats() }
func (a EngineAdapter) NCtx() int           { return a.E.NCtx() }

// Reasoning is whether a reply's thinking is split off (nuri serve
// --reasoning-parser).
type Reasoning string

const (
	ReasoningAuto  Reasoning = ""      // when the chat template writes <think>…</think>
	ReasoningThink Reasoning = "think" // always
	ReasoningNone  Reasoning = "none"  // never: the thinking stays in content
)

// reasoning says whether this backend's replies have their thinking split
// off.
func (b *Backend) reasoning() bool {
	switch b.Reasoning {
	case ReasoningThink:
		return true
	case ReasoningNone:
		return false
	}
	return b.Chat.ShowsThinking()
}

// thinkingBudget is the budget a chat request's reply thinks under (-1:
// none) and the message forced before </think>: the request's, else the
// server's.
func (b *Backend) thinkingBudget(req *chatRequest) (int, string, error) {
	budget := -1
	if b.ThinkingBudget != nil {
		budget = *b.ThinkingBudget
	}
	message := b.ThinkingBudgetMessage
	if n := req.ThinkingBudgetTokens; n != nil {
		if *n < -1 {
			return 0, "", invalidParam("thinking_budget_tokens", "thinking_budget_tokens must be -1 (no limit) or more, got %d", *n)
		}
		budget = *n
	}
	if m := req.ThinkingBudgetMessage; m != nil {
		message = *m
	}
	return budget, message, nil
}

// defaultSampling is the sampling a request starts from.
func (b *Backend) defaultSampling() sample.Params {
	if b.Sampling == nil {
		return sample.DefaultParams()
	}
	p := *b.Sampling
	p.LogitBias = nil // a request's own, never shared
	return p
}
