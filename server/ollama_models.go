package server

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
)

// ModelInfo describes the served model file, for Ollama's /api/tags,
// /api/show and /api/ps (cmd/nuri fills it from the GGUF).
type ModelInfo struct {
	Size     int64 // bytes of the file (all parts)
	Modified time.Time
	Arch     string // general.architecture
	Params   int64  // parameters
	Quant    string // the weight type most of the matrices' bytes are in
	Context  int    // the context the model was trained for
	// What llama.cpp's /props reports: the file, the chat template's
	// source (the GGUF's or the one given) and how many sequences run
	// at once.
	Path         string
	ChatTemplate string
	Slots        int
}

type ollamaDetails struct {
	ParentModel       string   `json:"parent_model"`
	Format            string   `json:"format"`
	Family            string   `json:"family"`
	Families          []string `json:"families"`
	ParameterSize     string   `json:"parameter_size"`
	QuantizationLevel string   `json:"quantization_level"`
}

type ollamaModelEntry struct {
	Name      string        `json:"name"`
	Model     string        `json:"model"`
	Modified  string        `json:"modified_at,omitempty"`
	Size      int64         `json:"size"`
	Digest    string        `json:"digest"`
	Details   ollamaDetails `json:"details"`
	ExpiresAt string        `json:"expires_at,omitempty"` // /api/ps
	SizeVRAM  *int64        `json:"size_vram,omitempty"`  // /api/ps
	Context   int           `json:"context_length,omitempty"`
}

// paramSize is Ollama's parameter_size: "1.2B", "260K".
func paramSize(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.1fB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1fM", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.0fK", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}

// ollamaEntries lists the base model, its LoRA modules and the pooling
// models under Ollama's "name:latest" form.
func (s *Server) ollamaEntries(b *Backend, running bool) []ollamaModelEntry {
	out := []ollamaModelEntry{ollamaEntry(b, s.cfg.ModelName, "", running)}
	for _, id := range s.loras.ids() {
		out = append(out, ollamaEntry(b, s.loras.module(id).Name, ollamaTagged(s.cfg.ModelName), running))
	}
	for _, p := range s.poolingModels() {
		out = append(out, ollamaEntry(p.b, p.name, "", running))
	}
	return out
}

// ollamaEntry is b's entry under name (a LoRA module's with its parent).
func ollamaEntry(b *Backend, name, parent string, running bool) ollamaModelEntry {
	mi := b.Model
	d := ollamaDetails{Format: "gguf", Family: mi.Arch, Families: []string{mi.Arch}, ParameterSize: paramSize(mi.Params), QuantizationLevel: mi.Quant, ParentModel: parent}
	e := ollamaModelEntry{Name: ollamaTagged(name), Model: ollamaTagged(name), Size: mi.Size, Details: d}
	if !mi.Modified.IsZero() {
		e.Modified = mi.Modified.Format(time.RFC3339Nano)
	}
	if running {
		zero := int64(0) // weights in host memory
		e.ExpiresAt, e.SizeVRAM, e.Context = time.Now().AddDate(10, 0, 0).UTC().Format(time.RFC3339), &zero, b.maxLen()
	}
	return e
}

func (s *Server) handleOllamaTags(ctx *fasthttp.RequestCtx, _ *reqInfo) error {
	b, err := s.backendFor()
	if err != nil {
		return err
	}
	return s.writeJSON(ctx, map[string]any{"models": s.ollamaEntries(b, false)})
}

func (s *Server) handleOllamaPS(ctx *fasthttp.RequestCtx, _ *reqInfo) error {
	b, err := s.backendFor()
	if err != nil {
		return err
	}
	return s.writeJSON(ctx, map[string]any{"models": s.ollamaEntries(b, true)})
}

// handleOllamaPull answers Ollama's /api/pull: the model served is there
// already ("success", as Ollama answers for a model it has); any other
// is not found, since Nuri serves the one model it started with and
// downloads nothing.
func (s *Server) handleOllamaPull(ctx *fasthttp.RequestCtx, _ *reqInfo) error {
	var req struct {
		Model  string `json:"model"`
		Name   string `json:"name"` // older clients
		Stream *bool  `json:"stream"`
	}
	if err := decodeBody(ctx, &req); err != nil {
		return err
	}
	name := ollamaModel(req.Model + req.Name)
	if _, err := s.generationModel(name); err != nil || name == "" {
		return &apiError{err: ErrModelNotFound, param: "model", msg: fmt.Sprintf("pull model manifest: '%s' is not served here; Nuri serves the model it was started with and downloads nothing (ollama pull it, then nuri serve %s)", req.Model+req.Name, req.Model+req.Name)}
	}
	if req.Stream != nil && !*req.Stream {
		return s.writeJSON(ctx, map[string]string{"status": "success"})
	}
	ctx.SetContentType("application/x-ndjson")
	ctx.SetBodyString(`{"status":"success"}` + "\n")
	return nil
}

// handleOllamaManage answers Ollama's /api/create, /api/copy, /api/push
// and /api/delete: Nuri serves the one model it was started with.
func (s *Server) handleOllamaManage(ctx *fasthttp.RequestCtx, _ *reqInfo) error {
	return &apiError{err: ErrNotSupported, msg: fmt.Sprintf("%s: Nuri serves the one model it was started with and does not manage models (use ollama, then nuri serve NAME)", ctx.Path())}
}

func (s *Server) handleOllamaVersion(ctx *fasthttp.RequestCtx, _ *reqInfo) error {
	return s.writeJSON(ctx, map[string]string{"version": ollamaAPIVersion})
}

// handleOllamaShow answers /api/show for the served model (or one of its
// LoRA modules): details, the architecture's context length, the chat
// template and what the model can do.
func (s *Server) handleOllamaShow(ctx *fasthttp.RequestCtx, _ *reqInfo) error {
	b, err := s.backendFor()
	if err != nil {
		return err
	}
	var req struct {
		Model string `json:"model"`
		Name  string `json:"name"` // older clients
	}
	if err := decodeBody(ctx, &req); err != nil {
		return err
	}
	name := ollamaModel(req.Model + req.Name)
	lora, err := s.generationModel(name)
	if err != nil || name == "" {
		return &apiError{err: ErrModelNotFound, param: "model", msg: fmt.Sprintf("model '%s' not found", req.Model+req.Name)}
	}
	entries := s.ollamaEntries(b, false)
	e := entries[0]
	for _, o := range entries[1:] {
		if lora > 0 && o.Name == ollamaTagged(s.modelName(lora)) {
			e = o
		}
	}
	caps := []string{"completion"}
	if b.Chat.RendersTools() {
		caps = append(caps, "tools")
	}
	if b.reasoning() {
		caps = append(caps, "thinking")
	}
	if b.Embedder != nil {
		caps = append(caps, "embedding")
	}
	mi := b.Model
	info := map[string]any{"general.architecture": mi.Arch, "general.parameter_count": mi.Params}
	if mi.Arch != "" {
		info[mi.Arch+".context_length"] = mi.Context
	}
	return s.writeJSON(ctx, map[string]any{
		"modelfile": "", "parameters": "", "template": "",
		"details": e.Details, "model_info": info, "capabilities": caps,
		"modified_at": e.Modified,
	})
}

// handleOllamaEmbed is /api/embed (normalised vectors, one or more inputs)
// and, with legacy, the older /api/embeddings (one prompt, the vector as
// the model gives it).
func (s *Server) ollamaEmbed(legacy bool) handlerFunc {
	return func(ctx *fasthttp.RequestCtx, ri *reqInfo) error {
		var req struct {
			Model      string          `json:"model"`
			Input      json.RawMessage `json:"input"`
			Prompt     string          `json:"prompt"` // /api/embeddings
			Dimensions *int            `json:"dimensions"`
		}
		if err := decodeBody(ctx, &req); err != nil {
			return err
		}
		b, err := s.embeddingBackend(ollamaModel(req.Model))
		if err != nil {
			return err
		}
		var in promptField
		if legacy {
			in.Texts = []string{req.Prompt}
		} else if err := in.UnmarshalJSON(req.Input); err != nil || len(in.Tokens) > 0 {
			return invalidParam("input", "input must be a string or strings")
		}
		inputs, err := embeddingInputs(b.Tokenizer, &in)
		if err != nil {
			return err
		}
		start := time.Now()
		vecs, n, err := s.embed(ctx, ri, b, inputs, req.Dimensions, !legacy)
		if err != nil {
			return err
		}
		if legacy {
			return s.writeJSON(ctx, map[string]any{"embedding": vecs[0]})
		}
		return s.writeJSON(ctx, map[string]any{"model": ollamaModel(req.Model), "embeddings": vecs,
			"total_duration": time.Since(start).Nanoseconds(), "load_duration": 0, "prompt_eval_count": n})
	}
}

// isOllamaPath reports whether path is one of Ollama's routes, whose
// errors are {"error": "..."}.
func isOllamaPath(path string) bool { return strings.HasPrefix(path, "/api/") }

// handleRoot answers GET / in plain text, as Ollama does: clients that
// probe the root to see that a server is up find it.
func (s *Server) handleRoot(ctx *fasthttp.RequestCtx, _ *reqInfo) error {
	return s.writeText(ctx, "Nuri is running: the OpenAI API at /v1, Ollama's at /api")
}
