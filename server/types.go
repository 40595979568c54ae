package server

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// samplingFields are the request fields /v1/completions and
// /v1/chat/completions share. Pointers distinguish "absent" from zero.
// Unknown fields are ignored, as OpenAI does.
type samplingFields struct {
	Model             string             `json:"model"`
	MaxTokens         *int               `json:"max_tokens"`
	Temperature       *float64           `json:"temperature"`
	TopP              *float64           `json:"top_p"`
	TopK              *int               `json:"top_k"`
	MinP              *float64           `json:"min_p"`
	PresencePenalty   *float64           `json:"presence_penalty"`
	FrequencyPenalty  *float64           `json:"frequency_penalty"`
	RepetitionPenalty *float64           `json:"repetition_penalty"`
	Seed              *int64             `json:"seed"`
	Stop              stopField          `json:"stop"`
	LogitBias         map[string]float64 `json:"logit_bias"`
	N                 *int               `json:"n"`
	Stream            *bool              `json:"stream"`
	StreamOptions     *streamOptions     `json:"stream_options"`
	User              string             `json:"user"`
	IgnoreEOS         bool               `json:"ignore_eos"` // vLLM extension
	Priority          int                `json:"priority"`   // vLLM extension: lower first, with --scheduling-policy priority
	// CacheSalt (vLLM extension) keeps the request's cached prompt
	// blocks apart from those of requests with another salt.
	CacheSalt *string `json:"cache_salt"`
	// vLLM's stop controls.
	MinTokens              *int    `json:"min_tokens"`
	StopTokenIDs           []int32 `json:"stop_token_ids"`
	IncludeStopStrInOutput bool    `json:"include_stop_str_in_output"`
	SkipSpecialTokens      *bool   `json:"skip_special_tokens"`
	// vLLM's truncate_prompt_tokens: only the prompt's last k tokens are
	// used (-1: as many as the context takes).
	TruncatePromptTokens *int `json:"truncate_prompt_tokens"`
	// RepeatLastN is how many recent tokens the penalties look back over
	// (llama.cpp's and Ollama's repeat_last_n; -1: the whole context).
	RepeatLastN    *int            `json:"repeat_last_n"`
	ResponseFormat json.RawMessage `json:"response_format"`
	Tools          json.RawMessage `json:"tools"` // chat only; completions refuse it
	// vLLM's guided decoding: the older guided_* fields and the newer
	// structured_outputs object.
	GuidedJSON        json.RawMessage    `json:"guided_json"`
	GuidedChoice      []string           `json:"guided_choice"`
	GuidedRegex       *string            `json:"guided_regex"`
	GuidedGrammar     *string            `json:"guided_grammar"`
	StructuredOutputs *structuredOutputs `json:"structured_outputs"`
	Grammar           *string            `json:"grammar"`     // llama.cpp's server: GBNF
	JSONSchema        json.RawMessage    `json:"json_schema"` // llama.cpp's server: a schema
	// Prediction is OpenAI's predicted output: {"type": "content",
	// "content": text or text parts}.
	Prediction json.RawMessage `json:"prediction"`
	// LoRA is llama-server's per-request adapter scales, [{"id", "scale"}]
	// (checkLoRAScales).
	LoRA json.RawMessage `json:"lora"`
	// TimingsPerToken (llama-server's) puts the timings so far in every
	// streamed chunk that carries output, not only the last.
	TimingsPerToken bool `json:"timings_per_token"`
}

// nativeSampling are the sampling options that llama-server's and
// Ollama's native APIs share, under the same JSON names; each API's
// request embeds them.
type nativeSampling struct {
	Temperature      *float64 `json:"temperature"`
	TopK             *int     `json:"top_k"`
	TopP             *float64 `json:"top_p"`
	MinP             *float64 `json:"min_p"`
	RepeatPenalty    *float64 `json:"repeat_penalty"`
	RepeatLastN      *int     `json:"repeat_last_n"`
	PresencePenalty  *float64 `json:"presence_penalty"`
	FrequencyPenalty *float64 `json:"frequency_penalty"`
	Seed             *int64   `json:"seed"`
}

// apply copies the options into f as they were given; an API with its
// own readings of some values (llama.cpp's negative temperature and seed)
// corrects f after.
func (o *nativeSampling) apply(f *samplingFields) {
	f.Temperature, f.TopP, f.MinP, f.TopK = o.Temperature, o.TopP, o.MinP, o.TopK
	f.RepetitionPenalty, f.PresencePenalty, f.FrequencyPenalty = o.RepeatPenalty, o.PresencePenalty, o.FrequencyPenalty
	f.RepeatLastN, f.Seed = o.RepeatLastN, o.Seed
}

type structuredOutputs struct {
	JSON       json.RawMessage `json:"json"`
	Choice     []string        `json:"choice"`
	Regex      *string         `json:"regex"`
	Grammar    *string         `json:"grammar"`
	JSONObject *bool           `json:"json_object"` // any JSON object, as response_format json_object
	// What Nuri cannot honour is refused rather than ignored: a structural
	// tag, and a whitespace pattern other than Nuri's own bounded runs.
	// (disable_additional_properties is how Nuri reads every schema
	// already, no property the schema does not declare, so it needs no
	// field.)
	StructuralTag     json.RawMessage `json:"structural_tag"`
	WhitespacePattern *string         `json:"whitespace_pattern"`
	// DisableAnyWhitespace makes JSON output compact (no whitespace
	// between its tokens), whichever field asked for JSON.
	DisableAnyWhitespace *bool `json:"disable_any_whitespace"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

type completionRequest struct {
	samplingFields
	Prompt   promptField `json:"prompt"`
	Logprobs *int        `json:"logprobs"` // legacy: number of alternatives
	Echo     bool        `json:"echo"`
	Suffix   *string     `json:"suffix"`
	BestOf   *int        `json:"best_of"`
}

type chatRequest struct {
	samplingFields
	Messages            []chatMessage   `json:"messages"`
	MaxCompletionTokens *int            `json:"max_completion_tokens"`
	Logprobs            *bool           `json:"logprobs"`
	TopLogprobs         *int            `json:"top_logprobs"`
	ChatTemplateKwargs  map[string]any  `json:"chat_template_kwargs"` // vLLM extension, e.g. enable_thinking
	ToolChoice          json.RawMessage `json:"tool_choice"`
	ParallelToolCalls   *bool           `json:"parallel_tool_calls"`
	Functions           json.RawMessage `json:"functions"`             // deprecated by OpenAI: tools (legacyFunctions)
	FunctionCall        json.RawMessage `json:"function_call"`         // deprecated by OpenAI: tool_choice
	AddGenerationPrompt *bool           `json:"add_generation_prompt"` // vLLM extension
	// ContinueFinalMessage (vLLM extension) leaves the last message open:
	// the reply continues its text (a prefilled answer) instead of
	// starting a turn of its own.
	ContinueFinalMessage bool `json:"continue_final_message"`
	// ReasoningEffort (OpenAI's reasoning models) is passed to the chat
	// template as the variable reasoning_effort, which templates that
	// take an effort (gpt-oss's) read; chat_template_kwargs wins.
	ReasoningEffort string `json:"reasoning_effort"`
	// ThinkingBudgetTokens and ThinkingBudgetMessage are llama.cpp's
	// per-request reasoning budget: how many tokens the reply may think
	// (-1: no limit, over the server's default) before the message and
	// </think> are forced.
	ThinkingBudgetTokens  *int    `json:"thinking_budget_tokens"`
	ThinkingBudgetMessage *string `json:"thinking_budget_message"`
	// Store keeps the completion for OpenAI's stored chat completions
	// API (GET /v1/chat/completions/{id}), with Metadata.
	Store    *bool             `json:"store"`
	Metadata map[string]string `json:"metadata"`
	// maxCalls caps the calls a reply gives (0: no cap); /v1/responses'
	// max_tool_calls.
	maxCalls int
}

type chatMessage struct {
	Role       string       `json:"role"`
	Content    contentField `json:"content"`
	Name       string       `json:"name"`
	ToolCalls  []toolCallIn `json:"tool_calls"`
	ToolCallID string       `json:"tool_call_id"`
	// FunctionCall is the deprecated functions API's call in an
	// assistant message; the role "function" answers it, by Name.
	FunctionCall *struct {
		Name      string          `json:"name"`
		Arguments json.RawMessage `json:"arguments"`
	} `json:"function_call"`
	// ReasoningContent is an assistant turn's thinking, for templates
	// that show (or drop) it.
	ReasoningContent string `json:"reasoning_content"`
}

// contentField is a message's content: a string, null, or a list of parts
// of which only "text" parts are supported.
type contentField struct {
	Text    string
	Present bool
	err     string // why the content cannot be used (reported as a 400)
}

// MarshalJSON writes the content back as UnmarshalJSON reads it: a string,
// or null when absent (a kept conversation's file).
func (c contentField) MarshalJSON() ([]byte, error) {
	if !c.Present {
		return []byte("null"), nil
	}
	return json.Marshal(c.Text)
}

func (c *contentField) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	c.Present = true
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &c.Text)
	}
	var parts []struct {
		Type string  `json:"type"`
		Text *string `json:"text"`
	}
	if err := json.Unmarshal(b, &parts); err != nil {
		return fmt.Errorf("content must be a string or a list of text parts")
	}
	var buf bytes.Buffer
	for i, p := range parts {
		if p.Type != "text" {
			c.err = fmt.Sprintf("content part %d has type %q: only \"text\" parts are supported", i, p.Type)
			return nil
		}
		if p.Text == nil {
			c.err = fmt.Sprintf("content part %d has no text", i)
			return nil
		}
		// OpenAI joins text parts with a newline
		if i > 0 {
			buf.WriteByte('\n')
		}
		buf.WriteString(*p.Text)
	}
	c.Text = buf.String()
	return nil
}

// stopField is a stop string or a list of them.
type stopField struct{ List []string }

func (s *stopField) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		return nil
	case len(b) > 0 && b[0] == '"':
		var one string
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		s.List = []string{one}
		return nil
	}
	if err := json.Unmarshal(b, &s.List); err != nil {
		return fmt.Errorf("stop must be a string or a list of strings")
	}
	return nil
}

// promptField is a completion prompt: a string, a list of strings, a list
// of token ids, or a list of token-id lists.
type promptField struct {
	Texts  []string
	Tokens [][]int32
}

func (p *promptField) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		p.Texts = []string{s}
		return nil
	}
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil || len(raw) == 0 {
		return fmt.Errorf("prompt must be a string, a list of strings, or a list of token ids")
	}
	first := bytes.TrimSpace(raw[0])
	switch {
	case len(first) > 0 && first[0] == '"':
		if err := json.Unmarshal(b, &p.Texts); err != nil {
			return fmt.Errorf("prompt list must hold only strings")
		}
	case len(first) > 0 && first[0] == '[':
		if err := json.Unmarshal(b, &p.Tokens); err != nil {
			return fmt.Errorf("prompt must be lists of integer token ids")
		}
	default:
		var ids []int32
		if err := json.Unmarshal(b, &ids); err != nil {
			return fmt.Errorf("prompt must be a list of integer token ids")
		}
		p.Tokens = [][]int32{ids}
	}
	return nil
}

// Responses.

type usageJSON struct {
	PromptTokens            int                      `json:"prompt_tokens"`
	CompletionTokens        int                      `json:"completion_tokens"`
	TotalTokens             int                      `json:"total_tokens"`
	PromptTokensDetails     *promptTokensDetails     `json:"prompt_tokens_details,omitempty"`
	CompletionTokensDetails *completionTokensDetails `json:"completion_tokens_details,omitempty"`
}

// completionTokensDetails reports a prediction's tokens (only when the
// request gave one): those the reply kept and those it did not.
type completionTokensDetails struct {
	AcceptedPredictionTokens int `json:"accepted_prediction_tokens"`
	RejectedPredictionTokens int `json:"rejected_prediction_tokens"`
}

type promptTokensDetails struct {
	CachedTokens int `json:"cached_tokens"`
}

type completionChoice struct {
	Index        int                 `json:"index"`
	Text         string              `json:"text"`
	Logprobs     *completionLogprobs `json:"logprobs"`
	FinishReason *string             `json:"finish_reason"`
	StopReason   any                 `json:"stop_reason,omitempty"` // vLLM's: the stop string or stop token id that ended it
}

// completionLogprobs is the legacy logprobs object. An echoed prompt's
// first token has no score: its token_logprobs and top_logprobs entries
// are null, as OpenAI's are.
type completionLogprobs struct {
	Tokens        []string             `json:"tokens"`
	TokenLogprobs []*float64           `json:"token_logprobs"`
	TopLogprobs   []map[string]float64 `json:"top_logprobs"`
	TextOffset    []int                `json:"text_offset"`
}

type completionResponse struct {
	ID                string             `json:"id"`
	Object            string             `json:"object"`
	Created           int64              `json:"created"`
	Model             string             `json:"model"`
	SystemFingerprint string             `json:"system_fingerprint,omitempty"`
	Choices           []completionChoice `json:"choices"`
	Usage             *usageJSON         `json:"usage,omitempty"`
	// Timings is llama-server's addition to the OpenAI reply (the whole
	// reply's, or a streamed chunk's choice's so far).
	Timings *llamaTimings `json:"timings,omitempty"`
}

// chatMessageOut is a stream delta: only what changed.
type chatMessageOut struct {
	Role             string        `json:"role,omitempty"`
	Content          *string       `json:"content,omitempty"`
	ReasoningContent *string       `json:"reasoning_content,omitempty"`
	ToolCalls        []toolCallOut `json:"tool_calls,omitempty"`
	FunctionCall     *toolFunction `json:"function_call,omitempty"` // the deprecated functions API's
}

// chatMessageFull is a whole reply; content is null when the reply is
// only tool calls, as OpenAI's is.
type chatMessageFull struct {
	Role             string        `json:"role"`
	Content          *string       `json:"content"`
	ReasoningContent *string       `json:"reasoning_content,omitempty"` // the thinking, as vLLM and DeepSeek name it
	ToolCalls        []toolCallOut `json:"tool_calls,omitempty"`
	FunctionCall     *toolFunction `json:"function_call,omitempty"` // the deprecated functions API's
}

type chatChoice struct {
	Index        int              `json:"index"`
	Message      *chatMessageFull `json:"message,omitempty"`
	Delta        *chatMessageOut  `json:"delta,omitempty"`
	Logprobs     *chatLogprobs    `json:"logprobs"`
	FinishReason *string          `json:"finish_reason"`
	StopReason   any              `json:"stop_reason,omitempty"` // vLLM's: the stop string or stop token id that ended it
}

type chatLogprobs struct {
	Content []chatTokenLogprob `json:"content"`
}

type chatTopLogprob struct {
	Token   string  `json:"token"`
	Logprob float64 `json:"logprob"`
	Bytes   []int   `json:"bytes"`
}

type chatTokenLogprob struct {
	chatTopLogprob
	TopLogprobs []chatTopLogprob `json:"top_logprobs"`
}

type chatResponse struct {
	ID                string       `json:"id"`
	Object            string       `json:"object"`
	Created           int64        `json:"created"`
	Model             string       `json:"model"`
	SystemFingerprint string       `json:"system_fingerprint,omitempty"`
	Choices           []chatChoice `json:"choices"`
	Usage             *usageJSON   `json:"usage,omitempty"`
	// Timings is llama-server's addition to the OpenAI reply (the whole
	// reply's, or a streamed chunk's choice's so far).
	Timings *llamaTimings `json:"timings,omitempty"`
}

type modelJSON struct {
	ID          string `json:"id"`
	Object      string `json:"object"`
	Created     int64  `json:"created"`
	OwnedBy     string `json:"owned_by"`
	MaxModelLen int    `json:"max_model_len,omitempty"`
	Root        string `json:"root,omitempty"`   // a LoRA module's adapter file
	Parent      string `json:"parent,omitempty"` // and the model it adapts
}

type modelList struct {
	Object string      `json:"object"`
	Data   []modelJSON `json:"data"`
}
