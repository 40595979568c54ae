package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/nuri-ai/nuri/engine"
)

// llama-server's native API (/completion, /infill, /props,
// /apply-template, and its forms of /tokenize and /detokenize) over the
// same engine and samplers: scripts, editor plugins (llama.vscode's
// fill-in-the-middle) and front ends written against llama.cpp's server
// can use a Nuri server unchanged.

// llamaCompletionRequest is /completion's body (and /infill's, which adds
// its inputs). Options Nuri has no sampler for (mirostat, dry_*, xtc_*,
// typical_p, dynatemp_*, samplers, n_keep, cache_prompt, id_slot,
// t_max_prompt_ms) are accepted and ignored, as llama.cpp ignores those a
// build lacks.
type llamaCompletionRequest struct {
	Model     string          `json:"model"`
	Prompt    json.RawMessage `json:"prompt"`
	NPredict  *int            `json:"n_predict"`
	MaxTokens *int            `json:"max_tokens"` // llama.cpp's alias of n_predict
	nativeSampling
	Stop         []string        `json:"stop"`
	Stream       bool            `json:"stream"`
	IgnoreEOS    bool            `json:"ignore_eos"`
	LogitBias    json.RawMessage `json:"logit_bias"`
	NProbs       int             `json:"n_probs"`
	NCmpl        *int            `json:"n_cmpl"`
	Grammar      *string         `json:"grammar"`
	JSONSchema   json.RawMessage `json:"json_schema"`
	ReturnTokens bool            `json:"return_tokens"`
	// ResponseFields keeps only these fields of a result, nested ones
	// ("timings/prompt_n") moved to the top under their path.
	ResponseFields []string `json:"response_fields"`
	CacheSalt      *string  `json:"cache_salt"` // vLLM's, taken here too
	// TimingsPerToken puts the timings so far in every streamed result,
	// not only the last.
	TimingsPerToken bool `json:"timings_per_token"`
	// LoRA is the adapters' scales, [{"id", "scale"}] (checkLoRAScales).
	LoRA json.RawMessage `json:"lora"`
	// Code completion's stops: a line after the first indented by fewer
	// spaces or tabs ends the reply before it; so does the first newline
	// after this many milliseconds since the first token.
	NIndent       int `json:"n_indent"`
	TMaxPredictMS int `json:"t_max_predict_ms"`
	// /infill's inputs.
	InputPrefix json.RawMessage `json:"input_prefix"`
	InputSuffix json.RawMessage `json:"input_suffix"`
	InputExtra  []struct {
		Filename *string `json:"filename"`
		Text     string  `json:"text"`
	} `json:"input_extra"`
}

// llamaMeta is what a /completion or /infill job's replies repeat of its
// request.
type llamaMeta struct {
	nProbs       int
	returnTokens bool
	prompts      []string
	settings     map[string]any // generation_settings
	nCtx         int
	fields       []string // response_fields
}

// toSampling turns the request into the shared fields.
func (r *llamaCompletionRequest) toSampling() (samplingFields, []int32, error) {
	f := samplingFields{Model: r.Model, Stop: stopField{List: r.Stop}, IgnoreEOS: r.IgnoreEOS, Grammar: r.Grammar, LoRA: r.LoRA,
		JSONSchema: r.JSONSchema, N: r.NCmpl, CacheSalt: r.CacheSalt, TimingsPerToken: r.TimingsPerToken}
	r.nativeSampling.apply(&f)
	if t := r.Temperature; t != nil && *t < 0 {
		zero := 0.0 // llama.cpp: a negative temperature samples greedily
		f.Temperature = &zero
	}
	if r.Seed != nil && *r.Seed < 0 {
		f.Seed = nil // -1 (the default): a random seed
	}
	if r.RepeatLastN != nil && *r.RepeatLastN == 0 {
		one := 1.0 // llama.cpp: repeat_last_n 0 turns the penalties off
		f.RepetitionPenalty, f.PresencePenalty, f.FrequencyPenalty = &one, nil, nil
		f.RepeatLastN = nil
	}
	n := r.NPredict
	if n == nil {
		n = r.MaxTokens
	}
	if n != nil && *n >= 0 {
		f.MaxTokens = n
	}
	no := false
	f.Stream = &no // the llama.cpp writer streams; the job's own SSE path stays off
	banned, err := llamaLogitBias(r.LogitBias, &f)
	return f, banned, err
}

// llamaLogitBias reads logit_bias in llama.cpp's forms: [[id, bias], ...]
// with false for "never", or OpenAI's {"id": bias}. It fills f.LogitBias
// and returns the banned ids (set to -inf once the params are built).
// Text keys (llama.cpp's [["text", bias]]) are refused: their tokens depend
// on where the text would fall.
func llamaLogitBias(raw json.RawMessage, f *samplingFields) ([]int32, error) {
	raw = bytes.TrimSpace(raw)
	if !present(raw) {
		return nil, nil
	}
	if raw[0] == '{' {
		if err := json.Unmarshal(raw, &f.LogitBias); err != nil {
			return nil, invalidParam("logit_bias", "logit_bias must map token ids to numbers: %v", err)
		}
		return nil, nil
	}
	var pairs [][2]json.RawMessage
	if err := json.Unmarshal(raw, &pairs); err != nil {
		return nil, invalidParam("logit_bias", "logit_bias must be [[token id, bias or false], ...] or {\"token id\": bias}")
	}
	f.LogitBias = map[string]float64{}
	var banned []int32
	for i, p := range pairs {
		var id int32
		if err := json.Unmarshal(p[0], &id); err != nil {
			return nil, invalidParam("logit_bias", "logit_bias entry %d: the key must be a token id (text keys are not supported)", i)
		}
		if bytes.Equal(bytes.TrimSpace(p[1]), []byte("false")) {
			banned = append(banned, id)
			f.LogitBias[strconv.Itoa(int(id))] = -100 // checked like any bias, then made -inf
			continue
		}
		var b float64
		if err := json.Unmarshal(p[1], &b); err != nil {
			return nil, invalidParam("logit_bias", "logit_bias entry %d: the bias must be a number or false", i)
		}
		f.LogitBias[strconv.Itoa(int(id))] = b
	}
	return banned, nil
}

// llamaPrompts reads /completion's prompt: a string, a token list (ids and
// strings mixed), or a list of such prompts. A prompt that starts with
// text gets BOS when the model wants one, as llama.cpp does.
func llamaPrompts(tok Tokenizer, raw json.RawMessage) ([][]int32, error) {
	raw = bytes.TrimSpace(raw)
	if !present(raw) {
		return nil, invalidParam("prompt", "prompt is required")
	}
	if raw[0] != '[' {
		p, err := llamaMixed(tok, raw, true)
		if err != nil {
			return nil, err
		}
		return [][]int32{p}, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, invalidParam("prompt", "prompt must be a string, a token list or a list of prompts")
	}
	several, allText := false, len(items) > 0
	for _, it := range items {
		switch bytes.TrimSpace(it)[0] {
		case '[', '{':
			several = true
		case '"':
		default:
			allText = false
		}
	}
	if !several && !allText {
		p, err := llamaMixed(tok, raw, true)
		if err != nil {
			return nil, err
		}
		return [][]int32{p}, nil
	}
	out := make([][]int32, 0, len(items))
	for i, it := range items {
		if bytes.TrimSpace(it)[0] == '{' {
			var o struct {
				PromptString *string `json:"prompt_string"`
			}
			if err := json.Unmarshal(it, &o); err != nil || o.PromptString == nil {
				return nil, invalidParam("prompt", "prompt %d: an object prompt needs prompt_string (multimodal data is not supported)", i)
			}
			it, _ = json.Marshal(*o.PromptString)
		}
		p, err := llamaMixed(tok, it, true)
		if err != nil {
			return nil, invalidParam("prompt", "prompt %d: %v", i, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// llamaMixed tokenizes one prompt: a string, or a list of token ids and
// strings (special tokens in the strings parsed). bos: a prompt whose first
// element is text gets BOS when the model wants one.
func llamaMixed(tok Tokenizer, raw json.RawMessage, bos bool) ([]int32, error) {
	raw = bytes.TrimSpace(raw)
	var items []json.RawMessage
	if raw[0] == '"' {
		items = []json.RawMessage{raw}
	} else if err := json.Unmarshal(raw, &items); err != nil {
		return nil, invalidParam("prompt", "a prompt must be a string or a list of token ids and strings")
	}
	var out []int32
	for i, it := range items {
		var s string
		if json.Unmarshal(it, &s) == nil {
			ids, err := tok.Encode(s, bos && i == 0 && tok.AddBOS(), true)
			if err != nil {
				return nil, invalidParam("prompt", "cannot tokenize: %v", err)
			}
			out = append(out, ids...)
			continue
		}
		var id int32
		if err := json.Unmarshal(it, &id); err != nil || id < 0 || int(id) >= tok.NVocab() {
			return nil, invalidParam("prompt", "prompt element %d is neither a string nor a token id in [0, %d)", i, tok.NVocab())
		}
		out = append(out, id)
	}
	return out, nil
}

// llamaJob validates a /completion or /infill request whose prompts are
// built; prompts nil: build them from the request's prompt.
func (s *Server) llamaJob(b *Backend, req *llamaCompletionRequest, prompts [][]int32, id string) (*job, error) {
	f, banned, err := req.toSampling()
	if err != nil {
		return nil, err
	}
	base, n, err := s.baseRequest(&f, b)
	if err != nil {
		return nil, err
	}
	for _, t := range banned {
		base.Sampling.LogitBias[t] = float32(math.Inf(-1))
	}
	if req.NProbs < 0 || req.NProbs > maxTopLogprobs {
		return nil, invalidParam("n_probs", "n_probs must be between 0 and %d, got %d", maxTopLogprobs, req.NProbs)
	}
	if req.NProbs > 0 {
		base.Logprobs, base.TopLogprobs = true, req.NProbs
	}
	if req.NIndent < 0 || req.TMaxPredictMS < 0 {
		return nil, invalidParam("n_indent", "n_indent and t_max_predict_ms must not be negative")
	}
	base.MinIndent = req.NIndent
	base.PredictTimeLimit = time.Duration(req.TMaxPredictMS) * time.Millisecond
	if prompts == nil {
		if prompts, err = llamaPrompts(b.Tokenizer, req.Prompt); err != nil {
			return nil, err
		}
	}
	if len(prompts)*n > maxChoices {
		return nil, invalidParam("n_cmpl", "%d prompts times n_cmpl=%d is over %d completions", len(prompts), n, maxChoices)
	}
	j := s.newJob("llama", id, &f, base, prompts, n)
	j.stream = req.Stream
	meta := &llamaMeta{nProbs: req.NProbs, returnTokens: req.ReturnTokens, nCtx: b.Engine.NCtx(),
		fields: req.ResponseFields}
	nPredict := -1 // no limit
	if f.MaxTokens != nil {
		nPredict = *f.MaxTokens
	}
	nPredict = s.replyLimit(nPredict)
	for _, p := range prompts {
		text, err := b.Tokenizer.Decode(p, true)
		if err != nil {
			return nil, invalidParam("prompt", "the prompt cannot be decoded: %v", err)
		}
		meta.prompts = append(meta.prompts, string(text))
	}
	meta.settings = llamaSettings(j.reqs[0], nPredict, meta.nCtx, j.model, req.Stream)
	j.llama = meta
	return j, nil
}

// llamaSettings is generation_settings: the parameters a request ran with.
func llamaSettings(r engine.Request, nPredict, nCtx int, model string, stream bool) map[string]any {
	p := r.Sampling
	seed := int64(-1)
	if p.HasSeed {
		seed = int64(p.Seed)
	}
	stop := r.Stop
	if stop == nil {
		stop = []string{}
	}
	return map[string]any{
		"n_ctx": nCtx, "model": model, "n_predict": nPredict, "seed": seed,
		"temperature": p.Temperature, "top_k": p.TopK, "top_p": p.TopP, "min_p": p.MinP,
		"repeat_penalty": p.RepeatPenalty, "repeat_last_n": p.PenaltyLastN,
		"presence_penalty": p.PresencePenalty, "frequency_penalty": p.FrequencyPenalty,
		"stop": stop, "ignore_eos": r.IgnoreEOS, "stream": stream, "n_probs": r.TopLogprobs,
		"samplers": []string{"penalties", "top_k", "top_p", "min_p", "temperature"},
	}
}

// llamaHandler serves /completion, or with infill /infill, which fills in
// the middle as llama.cpp lays it out: [BOS] [repository context] FIM_PRE
// prefix FIM_SUF suffix FIM_MID prompt. The context is input_extra's
// files, under the model's repository tokens when it has them
// (Qwen2.5-Coder's <|repo_name|> and <|file_sep|>), else each after a
// "--- snippet ---" line. When the whole does not fit the context less the
// reply's room, the prefix's end and the suffix's start are kept (3:1)
// and the context takes what is left, its end first.
func (s *Server) llamaHandler(infill bool) handlerFunc {
	return func(ctx *fasthttp.RequestCtx, ri *reqInfo) error {
		b, req, err := backendAndBody[llamaCompletionRequest](s, ctx)
		if err != nil {
			return err
		}
		var prompts [][]int32 // nil: from the request's prompt
		if infill {
			p, err := s.infillPrompt(b, req)
			if err != nil {
				return err
			}
			prompts = [][]int32{p}
		}
		j, err := s.llamaJob(b, req, prompts, "cmpl-"+ri.id)
		if err != nil {
			return err
		}
		return s.run(ctx, ri, b, j)
	}
}

// RepoFIMTokenizer is a Tokenizer that knows its repository-level
// fill-in-the-middle tokens, -1 for each it lacks (tokenizer.Tokenizer
// is).
type RepoFIMTokenizer interface {
	FIMRepo() (repo, fileSep int32)
}

func (s *Server) infillPrompt(b *Backend, req *llamaCompletionRequest) ([]int32, error) {
	tok := b.Tokenizer
	pre, suf, mid, ok := fimTokens(tok)
	if !ok {
		return nil, &apiError{err: ErrNotSupported, param: "input_prefix", msg: "/infill needs a model with fill-in-the-middle tokens (such as Qwen2.5-Coder's <|fim_prefix|>, <|fim_suffix|>, <|fim_middle|>), and this one has none"}
	}
	text := func(raw json.RawMessage, param string) ([]int32, error) {
		if !present(raw) {
			return nil, nil
		}
		ids, err := llamaMixed(tok, raw, false)
		if err != nil {
			return nil, invalidParam(param, "%s: %v", param, err)
		}
		return ids, nil
	}
	prefix, err := text(req.InputPrefix, "input_prefix")
	if err != nil {
		return nil, err
	}
	suffix, err := text(req.InputSuffix, "input_suffix")
	if err != nil {
		return nil, err
	}
	after, err := text(req.Prompt, "prompt")
	if err != nil {
		return nil, err
	}
	plain := func(s string) []int32 {
		ids, _ := tok.Encode(s, false, false) // plain text always tokenizes
		return ids
	}
	repo, sep := int32(-1), int32(-1)
	if rt, ok := tok.(RepoFIMTokenizer); ok {
		repo, sep = rt.FIMRepo()
	}
	var extra []int32
	if repo >= 0 && len(req.InputExtra) > 0 {
		extra = append(append(extra, repo), plain("myproject\n")...)
	}
	for _, c := range req.InputExtra {
		name := "tmp"
		if c.Filename != nil {
			name = *c.Filename
		}
		if sep >= 0 {
			extra = append(append(extra, sep), plain(name+"\n")...)
		} else {
			extra = append(extra, plain("\n\n--- snippet ---\n\n")...)
		}
		extra = append(extra, plain(c.Text)...)
	}
	if sep >= 0 && len(req.InputExtra) > 0 {
		extra = append(append(extra, sep), plain("filename\n")...)
	}
	var head []int32
	if bos, ok := tok.BOS(); ok && tok.AddBOS() {
		head = append(head, bos)
	}
	// The room: the context less the reply's (n_predict, or a quarter of
	// the context without one) and the fixed tokens.
	nCtx := b.Engine.NCtx()
	reply := nCtx / 4
	if n := req.NPredict; n != nil && *n >= 0 {
		reply = *n
	}
	room := nCtx - reply - len(head) - 3 - len(after)
	if room < 1 {
		return nil, &apiError{err: errContextExceeded, param: "n_predict", msg: fmt.Sprintf("n_predict %d leaves no room for the infill's prompt in a context of %d tokens", reply, nCtx)}
	}
	if len(prefix)+len(suffix) > room {
		// Keep the prefix's end and the suffix's start, 3:1, each taking
		// what the other leaves.
		np := min(len(prefix), max(3*room/4, room-len(suffix)))
		ns := min(len(suffix), room-np)
		prefix, suffix = prefix[len(prefix)-np:], suffix[:ns]
	}
	if left := room - len(prefix) - len(suffix); len(extra) > left {
		extra = extra[len(extra)-left:] // the context nearest the file
	}
	out := append(head, extra...)
	out = append(append(out, pre), prefix...)
	out = append(append(out, suf), suffix...)
	out = append(append(out, mid), after...)
	return out, nil
}

// llamaProb is one token's entry in completion_probabilities.
type llamaProb struct {
	ID          int32          `json:"id"`
	Token       string         `json:"token"`
	Logprob     float64        `json:"logprob"`
	Bytes       []int          `json:"bytes"`
	TopLogprobs []llamaTopProb `json:"top_logprobs"`
}

type llamaTopProb struct {
	ID      int32   `json:"id"`
	Token   string  `json:"token"`
	Logprob float64 `json:"logprob"`
	Bytes   []int   `json:"bytes"`
}

func llamaProbsOf(lps []engine.TokenLogprob, top [][]engine.TokenLogprob) []llamaProb {
	out := make([]llamaProb, len(lps))
	for i, lp := range lps {
		out[i] = llamaProb{ID: lp.Token, Token: string(lp.Text), Logprob: float64(lp.Logprob), Bytes: bytesOf(lp.Text), TopLogprobs: []llamaTopProb{}}
		if i < len(top) {
			for _, a := range top[i] {
				out[i].TopLogprobs = append(out[i].TopLogprobs, llamaTopProb{ID: a.Token, Token: string(a.Text), Logprob: float64(a.Logprob), Bytes: bytesOf(a.Text)})
			}
		}
	}
	return out
}

// llamaResult is /completion's reply object: a whole result, the last
// event of a stream (content empty, stop true), or a streamed piece.
type llamaResult struct {
	Index           int            `json:"index"`
	Content         string         `json:"content"`
	Tokens          []int32        `json:"tokens"`
	IDSlot          int            `json:"id_slot"`
	Stop            bool           `json:"stop"`
	Model           string         `json:"model,omitempty"`
	TokensPredicted int            `json:"tokens_predicted"`
	TokensEvaluated int            `json:"tokens_evaluated"`
	Settings        map[string]any `json:"generation_settings,omitempty"`
	Prompt          *string        `json:"prompt,omitempty"`
	HasNewLine      *bool          `json:"has_new_line,omitempty"`
	Truncated       *bool          `json:"truncated,omitempty"`
	StopType        string         `json:"stop_type,omitempty"`
	StoppingWord    *string        `json:"stopping_word,omitempty"`
	TokensCached    *int           `json:"tokens_cached,omitempty"`
	Timings         *llamaTimings  `json:"timings,omitempty"`
	Probs           []llamaProb    `json:"completion_probabilities,omitempty"`
}

// llamaTimings is llama-server's timings object: the prompt's tokens
// not served from the cache (cache_n those that were) up to the first
// token, and prediction after it.
type llamaTimings struct {
	CacheN              int     `json:"cache_n"`
	PromptN             int     `json:"prompt_n"`
	PromptMS            float64 `json:"prompt_ms"`
	PromptPerTokenMS    float64 `json:"prompt_per_token_ms"`
	PromptPerSecond     float64 `json:"prompt_per_second"`
	PredictedN          int     `json:"predicted_n"`
	PredictedMS         float64 `json:"predicted_ms"`
	PredictedPerTokenMS float64 `json:"predicted_per_token_ms"`
	PredictedPerSecond  float64 `json:"predicted_per_second"`
}

// llamaFinal fills r as choice idx's finished result: why it stopped, the
// counts and timings (prompt evaluation up to the first token, prediction
// after it).
func (j *job) llamaFinal(r *llamaResult, idx int, c *choice) {
	m := j.llama
	r.Stop, r.Model, r.Settings = true, j.model, m.settings
	prompt := m.prompts[idx/j.n]
	r.Prompt = &prompt
	r.TokensPredicted, r.TokensEvaluated = c.usage.CompletionTokens, c.usage.PromptTokens
	nl := strings.Contains(string(c.text), "\n")
	r.HasNewLine = &nl
	word := ""
	switch s, ok := c.stop.(string); {
	case c.finish == engine.FinishStop && ok:
		r.StopType, word = "word", s
	case c.finish == engine.FinishStop:
		r.StopType = "eos"
	case c.finish == engine.FinishLength:
		r.StopType = "limit"
	default:
		r.StopType = "none"
	}
	r.StoppingWord = &word
	truncated := c.finish == engine.FinishLength && c.usage.PromptTokens+c.usage.CompletionTokens >= m.nCtx
	r.Truncated = &truncated
	cached := c.usage.CachedTokens
	r.TokensCached = &cached
	r.Timings = j.choiceTimings(idx, c)
}

// llamaBody is the reply to a request not streamed: one result, or a list
// when there are several (prompts × n_cmpl).
func (j *job) llamaBody(choices []*choice) any {
	out := make([]any, len(choices))
	for i, c := range choices {
		r := &llamaResult{Index: i, Content: string(c.text), Tokens: []int32{}, IDSlot: 0}
		if j.llama.returnTokens {
			r.Tokens = c.tokens
		}
		if j.llama.nProbs > 0 {
			r.Probs = llamaProbsOf(c.logprobs, c.top)
		}
		j.llamaFinal(r, i, c)
		out[i] = j.llamaFields(r)
	}
	if len(out) == 1 {
		return out[0]
	}
	return out
}

// llamaEvent writes a streamed piece of choice idx, and its final result
// when the event ends it. Text is held back to whole characters (and the
// logprobs with it).
func (s *Server) llamaEvent(sw *sseWriter, j *job, idx int, st *streamState, ev engine.Event) {
	finished := ev.Finish != engine.FinishNone
	delta := st.hold.push(ev.Text)
	if finished {
		delta += st.hold.flush()
	}
	st.lp = append(st.lp, ev.Logprobs...)
	st.top = append(st.top, ev.TopLogprobs...)
	st.ids = append(st.ids, ev.Tokens...)
	if delta != "" || (finished && len(st.ids) > 0) {
		r := &llamaResult{Index: idx, Content: delta, Tokens: st.ids, IDSlot: 0,
			TokensPredicted: st.c.nTokens, TokensEvaluated: len(j.reqs[idx].Prompt)}
		if j.timingsPerToken && !finished {
			r.Timings = j.choiceTimings(idx, st.c)
		}
		if j.llama.nProbs > 0 {
			r.Probs = llamaProbsOf(st.lp, st.top)
		}
		sw.data(r)
		st.lp, st.top, st.ids = nil, nil, nil
	}
	if !finished {
		return
	}
	s.recordFinish(st.c)
	if ev.Finish == engine.FinishError {
		s.streamFailed(sw, j, idx, ev.Err) // logged as the OpenAI streams' are
		return
	}
	r := &llamaResult{Index: idx, Tokens: []int32{}}
	j.llamaFinal(r, idx, st.c)
	sw.data(j.llamaFields(r))
}

// llamaFields is r as response_fields asks: only the fields listed, a
// nested one ("generation_settings/n_predict") at the top under its path;
// a field r lacks is left out. Without the list, r whole.
func (j *job) llamaFields(r *llamaResult) any {
	if len(j.llama.fields) == 0 {
		return r
	}
	b, err := json.Marshal(r)
	var whole map[string]any
	if err == nil {
		err = json.Unmarshal(b, &whole)
	}
	if err != nil {
		return r // cannot happen: r is plain data
	}
	out := make(map[string]any, len(j.llama.fields))
	for _, path := range j.llama.fields {
		var v any = whole
		for _, key := range strings.Split(path, "/") {
			m, ok := v.(map[string]any)
			if !ok {
				v = nil
				break
			}
			v = m[key]
		}
		if v != nil {
			out[path] = v
		}
	}
	return out
}

// defaultLlamaSettings are the settings a /completion request starts
// from, in llama.cpp's form (/props, and /slots' idle slots).
func (s *Server) defaultLlamaSettings(b *Backend) map[string]any {
	return llamaSettings(engine.Request{Sampling: b.defaultSampling()}, s.replyLimit(-1), b.Engine.NCtx(), s.cfg.ModelName, false)
}

// handleLlamaProps is llama.cpp's GET /props: the defaults a /completion
// request starts from, the model and its chat template.
func (s *Server) handleLlamaProps(ctx *fasthttp.RequestCtx, _ *reqInfo) error {
	b, err := s.backendFor()
	if err != nil {
		return err
	}
	params := s.defaultLlamaSettings(b)
	tok := b.Tokenizer
	token := func(id int32, ok bool) string {
		if !ok {
			return ""
		}
		return tok.TokenText(id)
	}
	return s.writeJSON(ctx, map[string]any{
		"default_generation_settings": map[string]any{"id": 0, "id_task": -1, "n_ctx": b.Engine.NCtx(), "speculative": false,
			"is_processing": false, "params": params, "prompt": ""},
		"total_slots": b.Model.Slots, "model_alias": s.cfg.ModelName, "model_path": b.Model.Path,
		"chat_template": b.Model.ChatTemplate, "modalities": map[string]bool{"vision": false, "audio": false},
		"bos_token": token(tok.BOS()), "eos_token": token(tok.EOS()), "build_info": "nuri " + s.cfg.Version,
		"is_sleeping": false,
	})
}

// handleApplyTemplate is llama.cpp's /apply-template: a conversation
// through the chat template, without generating.
func (s *Server) handleApplyTemplate(ctx *fasthttp.RequestCtx, _ *reqInfo) error {
	b, req, err := backendAndBody[chatRequest](s, ctx)
	if err != nil {
		return err
	}
	text, err := renderConversation(b, req.Messages, req.AddGenerationPrompt, req.ContinueFinalMessage, req.ChatTemplateKwargs, req.Tools)
	if err != nil {
		return err
	}
	return s.writeJSON(ctx, map[string]string{"prompt": text})
}
