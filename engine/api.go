package engine

import (
	"errors"
	"time"

	"github.com/nuri-ai/nuri/sample"
)

// Sentinel errors; the server maps each to one HTTP status.
var (
	ErrQueueFull      = errors.New("request queue is full")
	ErrPromptTooLong  = errors.New("prompt does not fit in the context")
	ErrEmptyPrompt    = errors.New("prompt is empty")
	ErrClosed         = errors.New("engine is shut down")
	ErrInvalidRequest = errors.New("invalid request")
)

// FinishReason says why a sequence ended (OpenAI's vocabulary).
type FinishReason string

const (
	FinishNone      FinishReason = ""
	FinishStop      FinishReason = "stop"      // EOS/EOG token or a stop string
	FinishLength    FinishReason = "length"    // max tokens or context full
	FinishCancelled FinishReason = "cancelled" // context cancelled or Cancel called
	FinishError     FinishReason = "error"     // a failed step; Event.Err says why
)

// Request is one generation request, already tokenized.
type Request struct {
	ID          string
	Prompt      []int32
	MaxTokens   int // 0: until EOS or context full
	Sampling    sample.Params
	Stop        []string // stop strings; matched on decoded text, never emitted
	Logprobs    bool     // report the chosen token's log-probability
	TopLogprobs int      // and this many alternatives per position
	IgnoreEOS   bool
	// MinTokens is vLLM's min_tokens: until this many tokens are generated
	// the end-of-generation tokens (unless IgnoreEOS) and StopTokens are
	// never sampled, and stop strings are not looked for.
	MinTokens int
	// StopTokens end the sequence like an end-of-generation token (vLLM's
	// stop_token_ids): FinishStop, Event.StopReason the token.
	StopTokens []int32
	// IncludeStop keeps the matched stop string, or the stop token's text,
	// at the end of the output (vLLM's include_stop_str_in_output).
	IncludeStop bool
	// ShowSpecial emits every special and control token's text (vLLM's
	// skip_special_tokens false); by default they add none, but for
	// ShowTokens.
	ShowSpecial bool
	// PromptLogprobs reports, on the sequence's first event, each prompt
	// token's log-probability given the tokens before it (the first token
	// has none), with TopLogprobs alternatives: what OpenAI's completions
	// return for echo with logprobs. Such a prompt is computed in full
	// (no prefix-cache hits), in chunks whose logits rows take at most
	// promptScoreBytes.
	PromptLogprobs bool
	// PromptOnly computes the prompt and generates nothing: the sequence
	// ends with FinishLength and no tokens (scoring a text; max_tokens 0).
	PromptOnly bool
	// ShowTokens are control tokens whose text is emitted all the same:
	// a tool-call format's markers, which some vocabularies mark as
	// control but a parser must see (llama.cpp's "preserved tokens").
	ShowTokens []int32
	// Constraint, when set, makes each sequence's own output constraint
	// (a grammar such as sample.NewJSON): only tokens it allows are
	// sampled, and the sequence stops with FinishStop once it is complete.
	Constraint func() sample.Constraint
	// Prediction is text the reply is expected to repeat largely verbatim
	// (OpenAI's predicted outputs: a file being edited, say). Its tokens
	// are drafted as speculative tokens where the output lines up with
	// them, whether or not Config.SpecTokens is on, up to
	// Config.PredictionTokens a step. The output is exactly what it would
	// be without it; only the number of steps changes.
	Prediction []int32
	// LoRA is the model's per-request adapter the request runs with: 0
	// none, k the adapter model.Config.LoRA[k-1] (one given at load, or
	// the id LoadLoRA returned). Cached prompt blocks are shared only
	// between requests with the same adapter.
	LoRA int32
	// MinIndent (llama.cpp's n_indent, for code completion) ends the
	// reply at a line after its first that is indented by fewer spaces or
	// tabs: the text stops before that line's first other character
	// (FinishLength), so a completion ends with the block it fills.
	MinIndent int
	// PredictTimeLimit (llama.cpp's t_max_predict_ms) ends the reply
	// (FinishLength) once this long has passed since its first token and
	// it holds a newline: an editor's completion stays within its latency
	// and ends on a whole line.
	PredictTimeLimit time.Duration
	// CacheSalt keeps the request's cached prompt blocks apart (vLLM's
	// cache_salt): requests share prefix-cache blocks only when their
	// salts are equal, so one tenant cannot learn through the cache's
	// timing whether another sent a prompt. "" is the common cache.
	CacheSalt string
	// Priority orders requests under Config.SchedulingPolicy "priority":
	// lower runs first (vLLM's field; negative values go before the
	// default 0). It must be 0 under "fcfs".
	Priority int
}

// TokenLogprob is one candidate token and its log-probability.
type TokenLogprob struct {
	Token   int32
	Text    []byte // the token's bytes (may be partial UTF-8)
	Logprob float32
}

// Usage counts tokens of one request.
type Usage struct {
	PromptTokens     int
	CachedTokens     int // prompt tokens served from the prefix cache
	CompletionTokens int
	// Request.Prediction: its drafted tokens the output kept, and those
	// it did not (OpenAI's accepted and rejected prediction tokens).
	AcceptedPredictionTokens, RejectedPredictionTokens int
}

// Event is one step of a sequence's output. Text holds only complete UTF-8
// and never any part of a stop string. The last event has Finish set (and
// Usage filled); the channel is closed after it.
type Event struct {
	Tokens      []int32 // tokens accepted this step (usually one)
	Text        string
	Logprobs    []TokenLogprob   // chosen tokens' logprobs, when asked
	TopLogprobs [][]TokenLogprob // alternatives per chosen token, when asked
	// PromptLogprobs (Request.PromptLogprobs, first event only): prompt
	// tokens 1.. scored given the tokens before each, and their
	// alternatives when TopLogprobs asks.
	PromptLogprobs    []TokenLogprob
	PromptTopLogprobs [][]TokenLogprob
	Finish            FinishReason
	Reason            string // human-readable detail of Finish ("max tokens (120)", "context full (2048 tokens)")
	// StopReason is what ended a FinishStop sequence when it was not an
	// end-of-generation token or a finished constraint: the stop string
	// (a string) or the stop token (an int32), as vLLM's stop_reason.
	StopReason any
	Err        error
	Usage      Usage
	TTFT       time.Duration // on the first event carrying tokens
	// CachedTokens (with TTFT) is how many prompt tokens the prefix
	// cache served, so a stream can report its prompt's work before
	// the final event's Usage.
	CachedTokens int
}
