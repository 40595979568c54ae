package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/valyala/fasthttp"
	"go.uber.org/zap"

	"github.com/nuri-ai/nuri/engine"
)

// handleHealth: 200 when ready, 503 while loading or draining. No key.
func (s *Server) handleHealth(ctx *fasthttp.RequestCtx, _ *reqInfo) error {
	status, state := http.StatusOK, "ok"
	switch s.state.Load() {
	case stateLoading:
		status, state = http.StatusServiceUnavailable, "loading"
	case stateDraining:
		status, state = http.StatusServiceUnavailable, "draining"
	}
	writeJSONRaw(ctx, status, map[string]string{"status": state})
	return nil
}

// handleInvocations is SageMaker's inference route, as vLLM serves it:
// the body's shape picks the API — messages a chat completion, prompt a
// completion, input embeddings.
func (s *Server) handleInvocations(ctx *fasthttp.RequestCtx, ri *reqInfo) error {
	var shape struct {
		Messages json.RawMessage `json:"messages"`
		Prompt   json.RawMessage `json:"prompt"`
		Input    json.RawMessage `json:"input"`
	}
	if err := decodeBody(ctx, &shape); err != nil {
		return err
	}
	switch {
	case present(shape.Messages):
		return s.handleChat(ctx, ri)
	case present(shape.Prompt):
		return s.handleCompletion(ctx, ri)
	case present(shape.Input):
		return s.handleEmbeddings(ctx, ri)
	}
	return invalidParam("body", "/invocations takes a chat request (messages), a completion (prompt) or an embeddings request (input)")
}

// handleMetrics writes Prometheus text. No key, like vLLM.
func (s *Server) handleMetrics(ctx *fasthttp.RequestCtx, _ *reqInfo) error {
	var st engine.Stats
	var gauges []Gauge
	if b := s.backend.Load(); b != nil {
		st = b.Engine.Stats()
		if b.Gauges != nil {
			gauges = b.Gauges.Gauges()
		}
	}
	gauges = append(gauges, s.storeGauges()...)
	var buf bytes.Buffer
	if err := s.metrics.write(&buf, st); err != nil {
		return fmt.Errorf("%w: metrics: %w", ErrInternal, err)
	}
	skipped, err := writeGauges(&buf, gauges)
	if err != nil {
		return fmt.Errorf("%w: metrics: %w", ErrInternal, err)
	}
	if skipped != nil {
		s.log.Warn("metrics", zap.Error(skipped))
	}
	ctx.SetStatusCode(http.StatusOK)
	ctx.SetContentType("text/plain; version=0.0.4; charset=utf-8")
	s.enc.writeBody(ctx, buf.Bytes())
	return nil
}

// modelObject describes the model served under adapter id lora (0: the
// base model; a LoRA module names its file as root and the base model as
// parent, as vLLM lists them).
func (s *Server) modelObject(lora int32) modelJSON {
	m := modelJSON{ID: s.modelName(lora), Object: "model", Created: s.created, OwnedBy: "nuri"}
	if lora > 0 {
		m.Root, m.Parent = s.loras.module(lora).Path, s.cfg.ModelName
	}
	if b := s.backend.Load(); b != nil {
		m.MaxModelLen = b.maxLen()
	}
	return m
}

func (s *Server) handleModels(ctx *fasthttp.RequestCtx, _ *reqInfo) error {
	list := modelList{Object: "list", Data: []modelJSON{s.modelObject(0)}}
	for _, a := range s.cfg.Aliases {
		m := s.modelObject(0)
		m.ID = a
		list.Data = append(list.Data, m)
	}
	for _, id := range s.loras.ids() {
		list.Data = append(list.Data, s.modelObject(id))
	}
	for _, p := range s.poolingModels() {
		list.Data = append(list.Data, modelJSON{ID: p.name, Object: "model", Created: s.created, OwnedBy: "nuri", MaxModelLen: p.b.maxLen()})
	}
	if anthropicClient(ctx) {
		out := anthropicModelList{Data: make([]anthropicModel, len(list.Data))}
		for i, m := range list.Data {
			out.Data[i] = anthropicModelOf(m)
		}
		out.FirstID, out.LastID = out.Data[0].ID, out.Data[len(out.Data)-1].ID
		return s.writeJSON(ctx, out)
	}
	return s.writeJSON(ctx, list)
}

// anthropicClient is whether the request comes from one of Anthropic's
// SDKs, which send anthropic-version with every call: the model listing
// and errors answer in Anthropic's shapes.
func anthropicClient(ctx *fasthttp.RequestCtx) bool {
	return len(ctx.Request.Header.Peek("anthropic-version")) > 0
}

// anthropicModel is a model as Anthropic's API lists it.
type anthropicModel struct {
	Type        string `json:"type"`
	ID          string `json:"id"`
	DisplayName string `json:"display_name"`
	CreatedAt   string `json:"created_at"`
}

type anthropicModelList struct {
	Data    []anthropicModel `json:"data"`
	HasMore bool             `json:"has_more"`
	FirstID string           `json:"first_id"`
	LastID  string           `json:"last_id"`
}

func anthropicModelOf(m modelJSON) anthropicModel {
	return anthropicModel{Type: "model", ID: m.ID, DisplayName: m.ID, CreatedAt: time.Unix(m.Created, 0).UTC().Format(time.RFC3339)}
}

func (s *Server) handleModel(ctx *fasthttp.RequestCtx, ri *reqInfo) error {
	id := strings.TrimPrefix(ri.path, "/v1/models/")
	lora, err := s.generationModel(id)
	if err != nil || id == "" {
		return &apiError{err: ErrModelNotFound, msg: fmt.Sprintf("The model '%s' does not exist", id)}
	}
	m := s.modelObject(lora)
	m.ID = s.replyModel(id, lora)
	if anthropicClient(ctx) {
		return s.writeJSON(ctx, anthropicModelOf(m))
	}
	return s.writeJSON(ctx, m)
}

type tokenizeRequest struct {
	Model                string          `json:"model"`
	Prompt               *string         `json:"prompt"`
	Messages             []chatMessage   `json:"messages"`
	AddSpecialTokens     *bool           `json:"add_special_tokens"`
	AddGenerationPrompt  *bool           `json:"add_generation_prompt"`
	ContinueFinalMessage bool            `json:"continue_final_message"`
	ChatTemplateKwargs   map[string]any  `json:"chat_template_kwargs"`
	Tools                json.RawMessage `json:"tools"` // rendered as a chat request's are
	// llama.cpp's form: content, add_special (default false),
	// parse_special (default true) and with_pieces.
	Content      *string `json:"content"`
	AddSpecial   *bool   `json:"add_special"`
	ParseSpecial *bool   `json:"parse_special"`
	WithPieces   bool    `json:"with_pieces"`
}

// tokenPiece is a token with its text (llama.cpp's with_pieces): a
// string, or the bytes when they are not whole UTF-8.
type tokenPiece struct {
	ID    int32 `json:"id"`
	Piece any   `json:"piece"`
}

type tokenizeResponse struct {
	Tokens      []int32 `json:"tokens"`
	Count       int     `json:"count"`
	MaxModelLen int     `json:"max_model_len"`
}

// handleTokenize is vLLM's /tokenize: a prompt, or messages through the
// chat template.
func (s *Server) handleTokenize(ctx *fasthttp.RequestCtx, _ *reqInfo) error {
	b, req, err := backendAndBody[tokenizeRequest](s, ctx)
	if err != nil {
		return err
	}
	if _, err := s.generationModel(req.Model); err != nil {
		return err
	}
	var ids []int32
	switch {
	case req.Content != nil:
		if req.Prompt != nil || req.Messages != nil {
			return invalidParam("content", "give one of content, prompt and messages")
		}
		add := req.AddSpecial != nil && *req.AddSpecial
		parse := req.ParseSpecial == nil || *req.ParseSpecial
		if ids, err = b.Tokenizer.Encode(*req.Content, add, parse); err != nil {
			return invalidParam("content", "cannot tokenize: %v", err)
		}
		if req.WithPieces {
			return s.writeJSON(ctx, map[string]any{"tokens": piecesOf(b.Tokenizer, ids)})
		}
	case req.Prompt != nil && req.Messages != nil:
		return invalidParam("prompt", "give either prompt or messages, not both")
	case req.Prompt != nil:
		add := req.AddSpecialTokens == nil || *req.AddSpecialTokens
		if ids, err = b.Tokenizer.Encode(*req.Prompt, add, true); err != nil {
			return invalidParam("prompt", "cannot tokenize: %v", err)
		}
	case req.Messages != nil:
		text, err := renderConversation(b, req.Messages, req.AddGenerationPrompt, req.ContinueFinalMessage, req.ChatTemplateKwargs, req.Tools)
		if err != nil {
			return err
		}
		if ids, err = tokenizeChat(b, text); err != nil {
			return err
		}
	default:
		return invalidParam("prompt", "prompt or messages is required")
	}
	if ids == nil {
		ids = []int32{}
	}
	return s.writeJSON(ctx, tokenizeResponse{Tokens: ids, Count: len(ids), MaxModelLen: b.Engine.NCtx()})
}

type detokenizeRequest struct {
	Model  string  `json:"model"`
	Tokens []int32 `json:"tokens"`
}

func (s *Server) handleDetokenize(ctx *fasthttp.RequestCtx, _ *reqInfo) error {
	b, req, err := backendAndBody[detokenizeRequest](s, ctx)
	if err != nil {
		return err
	}
	if _, err := s.generationModel(req.Model); err != nil {
		return err
	}
	nv := b.Tokenizer.NVocab()
	for _, id := range req.Tokens {
		if id < 0 || int(id) >= nv {
			return invalidParam("tokens", "token id %d is outside the vocabulary of %d", id, nv)
		}
	}
	text, err := b.Tokenizer.Decode(req.Tokens, false)
	if err != nil {
		return invalidParam("tokens", "cannot detokenize: %v", err)
	}
	// prompt is vLLM's name, content llama.cpp's.
	out := strings.ToValidUTF8(string(text), "\uFFFD")
	return s.writeJSON(ctx, map[string]string{"prompt": out, "content": out})
}

// piecesOf pairs each token with its text.
func piecesOf(tok Tokenizer, ids []int32) []tokenPiece {
	out := make([]tokenPiece, len(ids))
	for i, id := range ids {
		p, err := tok.Piece(id, true)
		out[i] = tokenPiece{ID: id, Piece: string(p)}
		if err != nil || !utf8.Valid(p) {
			out[i].Piece = bytesOf(p)
		}
	}
	return out
}

// handleVersion is vLLM's GET /version: {"version": "..."}, without a key
// (as /health).
func (s *Server) handleVersion(ctx *fasthttp.RequestCtx, _ *reqInfo) error {
	v := s.cfg.Version
	if v == "" {
		v = "devel"
	}
	return s.writeJSON(ctx, map[string]string{"version": v})
}
