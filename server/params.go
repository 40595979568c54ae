package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/nuri-ai/nuri/engine"
	"github.com/nuri-ai/nuri/sample"
)

// Limits on request fields.
const (
	maxChoices     = 128 // n times the number of prompts
	maxStopStrings = 16
	maxTopLogprobs = 20
)

// decodeBody parses the JSON request body into v. Syntax errors are
// ErrBadJSON; a field of the wrong type is an invalid parameter named in
// param.
func decodeBody(ctx *fasthttp.RequestCtx, v any) error {
	body := bytes.TrimSpace(ctx.PostBody())
	if len(body) == 0 {
		return &apiError{err: ErrBadJSON, msg: "request body is empty: expected a JSON object"}
	}
	if body[0] != '{' {
		return &apiError{err: ErrBadJSON, msg: "request body must be a JSON object"}
	}
	err := json.Unmarshal(body, v)
	if err == nil {
		return nil
	}
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return &apiError{err: ErrBadJSON, msg: fmt.Sprintf("malformed JSON at byte %d: %v", syn.Offset, err)}
	case errors.As(err, &typ):
		// the shared fields live in an embedded struct: drop its name
		field := strings.TrimPrefix(typ.Field, "samplingFields.")
		if field == "" {
			field = "body"
		}
		return invalidParam(field, "'%s' must be of type %s, not a JSON %s", field, jsonTypeName(typ.Type.Kind().String()), typ.Value)
	}
	// A custom field decoder (prompt, stop, content) refused its value, or
	// the JSON ended early.
	return &apiError{err: ErrBadJSON, msg: "invalid request body: " + err.Error()}
}

func jsonTypeName(kind string) string {
	switch kind {
	case "int", "int32", "int64":
		return "integer"
	case "float32", "float64":
		return "number"
	case "bool":
		return "boolean"
	case "slice":
		return "array"
	case "map", "struct":
		return "object"
	}
	return kind
}

// checkModel accepts an empty model, the served name, or an accepted alias.
func (s *Server) checkModel(name string) error {
	if name == "" || name == s.cfg.ModelName || slices.Contains(s.cfg.AcceptModels, name) || slices.Contains(s.cfg.Aliases, name) {
		return nil
	}
	served := "'" + s.cfg.ModelName + "'"
	for _, a := range s.cfg.Aliases {
		served += ", '" + a + "'"
	}
	for _, id := range s.loras.ids() {
		served += ", '" + s.loras.module(id).Name + "'"
	}
	for _, p := range s.poolingModels() {
		if p.name == name {
			return &apiError{err: ErrNotSupported, param: "model", msg: fmt.Sprintf("The model '%s' serves %s only (/v1/embeddings, /v1/rerank); this route takes %s.", name, p.servesWhat(), served)}
		}
		served += ", '" + p.name + "' (" + p.servesWhat() + ")"
	}
	return &apiError{err: ErrModelNotFound, param: "model", msg: fmt.Sprintf("The model '%s' does not exist. This server serves %s.", name, served)}
}

// generationModel is checkModel for the routes that generate (and
// tokenize): a LoRA module's name is a model too. It returns the
// adapter's id for engine.Request.LoRA (0: the base model).
func (s *Server) generationModel(name string) (int32, error) {
	if id, ok := s.loras.lookup(name); ok {
		return id, nil
	}
	return 0, s.checkModel(name)
}

// replyModel is the name a reply carries: the alias the request named,
// else the name of adapter id lora.
func (s *Server) replyModel(asked string, lora int32) string {
	if lora == 0 && slices.Contains(s.cfg.Aliases, asked) {
		return asked
	}
	return s.modelName(lora)
}

// modelName is the name replies carry for adapter id lora.
func (s *Server) modelName(lora int32) string {
	if lora > 0 {
		return s.loras.module(lora).Name
	}
	return s.cfg.ModelName
}

func present(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) > 0 && !bytes.Equal(t, []byte("null"))
}

// baseRequest validates the shared fields and returns the engine request
// template and n. max_tokens 0 becomes a prompt-only request, which only
// completions with echo accept (checkMaxTokens).
func (s *Server) baseRequest(f *samplingFields, b *Backend) (engine.Request, int, error) {
	var r engine.Request
	nVocab := b.Tokenizer.NVocab()
	lora, err := s.generationModel(f.Model)
	if err != nil {
		return r, 0, err
	}
	if err := s.checkLoRAScales(f.LoRA, "lora"); err != nil {
		return r, 0, err
	}
	r.LoRA = lora
	r.Priority = f.Priority
	if f.CacheSalt != nil {
		if *f.CacheSalt == "" {
			return r, 0, invalidParam("cache_salt", "cache_salt must not be empty: leave it out for the common cache")
		}
		r.CacheSalt = *f.CacheSalt
	}
	c, err := b.outputConstraint(f)
	if err != nil {
		return r, 0, err
	}
	r.Constraint = c
	n := 1
	if f.N != nil {
		n = *f.N
		if n < 1 || n > maxChoices {
			return r, 0, invalidParam("n", "n must be between 1 and %d, got %d", maxChoices, n)
		}
	}
	p, err := samplingParams(f, b.defaultSampling(), nVocab)
	if err != nil {
		return r, 0, err
	}
	r.Sampling = p
	if f.MaxTokens != nil {
		if *f.MaxTokens < 0 {
			return r, 0, invalidParam("max_tokens", "max_tokens must be at least 1, got %d", *f.MaxTokens)
		}
		r.MaxTokens = *f.MaxTokens
		r.PromptOnly = *f.MaxTokens == 0
	}
	if len(f.Stop.List) > maxStopStrings {
		return r, 0, invalidParam("stop", "at most %d stop strings are allowed, got %d", maxStopStrings, len(f.Stop.List))
	}
	for _, st := range f.Stop.List {
		if st == "" {
			return r, 0, invalidParam("stop", "stop strings must not be empty")
		}
	}
	r.Stop = f.Stop.List
	r.IgnoreEOS = f.IgnoreEOS
	if err := stopControls(f, &r, nVocab); err != nil {
		return r, 0, err
	}
	if r.Prediction, err = predictionTokens(f.Prediction, b.Tokenizer); err != nil {
		return r, 0, err
	}
	if f.StreamOptions != nil && (f.Stream == nil || !*f.Stream) {
		return r, 0, invalidParam("stream_options", "stream_options is only allowed when stream is true")
	}
	return r, n, nil
}

func inRange(param string, v *float64, lo, hi float64, loOpen bool) (float32, bool, error) {
	if v == nil {
		return 0, false, nil
	}
	x := *v
	if math.IsNaN(x) || x < lo || x > hi || (loOpen && x == lo) {
		open := "["
		if loOpen {
			open = "("
		}
		return 0, false, invalidParam(param, "%s must be in %s%g, %g], got %g", param, open, lo, hi, x)
	}
	return float32(x), true, nil
}

// samplingParams starts from the backend's defaults (llama.cpp's, with
// what the model recommends over them, as llama-server does) and applies
// the request's settings.
func samplingParams(f *samplingFields, p sample.Params, nVocab int) (sample.Params, error) {
	type rng struct {
		param  string
		v      *float64
		lo, hi float64
		loOpen bool
		dst    *float32
	}
	for _, c := range []rng{
		{"temperature", f.Temperature, 0, 2, false, &p.Temperature},
		{"top_p", f.TopP, 0, 1, true, &p.TopP},
		{"min_p", f.MinP, 0, 1, false, &p.MinP},
		{"presence_penalty", f.PresencePenalty, -2, 2, false, &p.PresencePenalty},
		{"frequency_penalty", f.FrequencyPenalty, -2, 2, false, &p.FrequencyPenalty},
		{"repetition_penalty", f.RepetitionPenalty, 0, 10, true, &p.RepeatPenalty},
	} {
		v, ok, err := inRange(c.param, c.v, c.lo, c.hi, c.loOpen)
		if err != nil {
			return p, err
		}
		if ok {
			*c.dst = v
		}
	}
	if f.TopK != nil {
		k := *f.TopK
		if k < -1 {
			return p, invalidParam("top_k", "top_k must be -1 (off), 0 (off) or positive, got %d", k)
		}
		p.TopK = max(k, 0)
	}
	if f.RepeatLastN != nil {
		if *f.RepeatLastN < -1 {
			return p, invalidParam("repeat_last_n", "repeat_last_n must be -1 (the whole context) or more, got %d", *f.RepeatLastN)
		}
		p.PenaltyLastN = *f.RepeatLastN
	}
	if f.Seed != nil {
		p.Seed, p.HasSeed = uint64(*f.Seed), true
	}
	if len(f.LogitBias) > 0 {
		p.LogitBias = make(map[int32]float32, len(f.LogitBias))
		for k, b := range f.LogitBias {
			id, err := strconv.ParseInt(k, 10, 32)
			if err != nil || id < 0 || int(id) >= nVocab {
				return p, invalidParam("logit_bias", "logit_bias key %q is not a token id in [0, %d)", k, nVocab)
			}
			if math.IsNaN(b) || b < -100 || b > 100 {
				return p, invalidParam("logit_bias", "logit_bias value for token %s must be in [-100, 100], got %g", k, b)
			}
			p.LogitBias[int32(id)] = float32(b)
		}
	}
	return p, nil
}

// expand makes one engine request per choice: each prompt n times, in
// OpenAI's choice order. With a seed, choice i samples with seed+i so the
// choices differ but the whole response is reproducible.
// checkMaxTokens refuses a prompt-only request (max_tokens 0) unless it
// echoes its prompt: only the echo makes such a response say anything.
func checkMaxTokens(r engine.Request, echo bool, hint string) error {
	if r.PromptOnly && !echo {
		return invalidParam("max_tokens", "max_tokens must be at least 1%s, got 0", hint)
	}
	return nil
}

func expand(base engine.Request, reqID string, prompts [][]int32, n int) []engine.Request {
	out := make([]engine.Request, 0, len(prompts)*n)
	for pi, p := range prompts {
		for i := 0; i < n; i++ {
			r := base
			r.Prompt = p
			idx := pi*n + i
			r.ID = reqID + "-" + strconv.Itoa(idx)
			if base.Sampling.HasSeed {
				r.Sampling.Seed = base.Sampling.Seed + uint64(idx)
			}
			out = append(out, r)
		}
	}
	return out
}

// predictionTokens tokenizes a prediction ({"type": "content", "content":
// text or a list of text parts}) as text the reply would contain: no
// special tokens, no BOS.
func predictionTokens(raw json.RawMessage, tok Tokenizer) ([]int32, error) {
	if !present(raw) {
		return nil, nil
	}
	var p struct {
		Type    string       `json:"type"`
		Content contentField `json:"content"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, invalidParam("prediction", "prediction must be {\"type\": \"content\", \"content\": ...}: %v", err)
	}
	switch {
	case p.Type != "content":
		return nil, invalidParam("prediction.type", "prediction type must be \"content\", got %q", p.Type)
	case p.Content.err != "":
		return nil, invalidParam("prediction.content", "%s", p.Content.err)
	case p.Content.Text == "":
		return nil, nil
	}
	ids, err := tok.Encode(p.Content.Text, false, false)
	if err != nil {
		return nil, invalidParam("prediction.content", "cannot tokenize the prediction: %v", err)
	}
	return ids, nil
}

// maxStopTokens bounds stop_token_ids.
const maxStopTokens = 64

// stopControls applies vLLM's min_tokens, stop_token_ids,
// include_stop_str_in_output and skip_special_tokens to r.
func stopControls(f *samplingFields, r *engine.Request, nVocab int) error {
	if f.MinTokens != nil {
		switch m := *f.MinTokens; {
		case m < 0:
			return invalidParam("min_tokens", "min_tokens must not be negative, got %d", m)
		case r.MaxTokens > 0 && m > r.MaxTokens:
			return invalidParam("min_tokens", "min_tokens %d is over max_tokens %d", m, r.MaxTokens)
		}
		r.MinTokens = *f.MinTokens
	}
	if len(f.StopTokenIDs) > maxStopTokens {
		return invalidParam("stop_token_ids", "at most %d stop token ids are allowed, got %d", maxStopTokens, len(f.StopTokenIDs))
	}
	for _, id := range f.StopTokenIDs {
		if id < 0 || int(id) >= nVocab {
			return invalidParam("stop_token_ids", "stop token id %d is outside the vocabulary of %d", id, nVocab)
		}
	}
	r.StopTokens = f.StopTokenIDs
	r.IncludeStop = f.IncludeStopStrInOutput
	r.ShowSpecial = f.SkipSpecialTokens != nil && !*f.SkipSpecialTokens
	return nil
}

// truncatePrompts applies vLLM's truncate_prompt_tokens: each prompt
// longer than k keeps its last k tokens (-1: the context less the one
// token a reply needs at least).
func truncatePrompts(f *samplingFields, prompts [][]int32, nCtx int) ([][]int32, error) {
	if f.TruncatePromptTokens == nil {
		return prompts, nil
	}
	k := *f.TruncatePromptTokens
	switch {
	case k == -1:
		k = nCtx - 1
	case k < 1:
		return nil, invalidParam("truncate_prompt_tokens", "truncate_prompt_tokens must be -1 (the context) or at least 1, got %d", k)
	}
	out := make([][]int32, len(prompts))
	for i, p := range prompts {
		out[i] = p[max(0, len(p)-k):]
	}
	return out, nil
}

// backendAndBody is a route's start: the backend (or why there is none
// yet) and the request body decoded into a new T.
func backendAndBody[T any](s *Server, ctx *fasthttp.RequestCtx) (*Backend, *T, error) {
	b, err := s.backendFor()
	if err != nil {
		return nil, nil, err
	}
	req := new(T)
	if err := decodeBody(ctx, req); err != nil {
		return nil, nil, err
	}
	return b, req, nil
}
