package engine

import (
	"fmt"
	"math"
	"time"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/model"
)

// Defaults of Config's zero fields.
const (
	DefaultBlockSize           = 16
	DefaultMaxNumBatchedTokens = 512
	DefaultMaxNumSeqs          = 16
	DefaultMaxQueuedRequests   = 256
	DefaultKVCacheFraction     = 0.25
	DefaultEventBuffer         = 64
	DefaultKVCacheType         = "f16"
	DefaultSpecNgramMax        = 4
	DefaultSpecNgramMin        = 2
	DefaultSpecMaxSeqs         = 2
	DefaultPredictionTokens    = 15

	// PolicyFCFS and PolicyPriority are Config.SchedulingPolicy's values.
	PolicyFCFS     = "fcfs"
	PolicyPriority = "priority"
	// maxSpecTokens bounds Config.SpecTokens: a longer draft is almost
	// never accepted whole, and each token of it costs a logits row.
	maxSpecTokens = 32
)

// Config is the scheduler's configuration. Zero fields take the defaults
// above; cmd/nuri maps its flags onto it.
type Config struct {
	// BlockSize is the number of tokens per KV block.
	BlockSize int
	// NumBlocks fixes the number of KV blocks; it overrides the memory
	// budget (tests use it to force preemption).
	NumBlocks int
	// KVCacheMemory is the KV cache budget in bytes. 0: KVCacheFraction of
	// the available memory (Device's free memory when it reports it, else
	// the host's RAM), capped at what MaxNumSeqs sequences of a full
	// context can use.
	KVCacheMemory int64
	// KVCacheFraction is the share of available memory used when
	// KVCacheMemory is 0.
	KVCacheFraction float64
	// KVCacheType is the cache element type: "f16" (default), "q8_0",
	// "f32", or a 4- or 5-bit block type: "q4_0", "q4_1", "q5_0", "q5_1",
	// "iq4_nl" (model.KVCacheTypes). It is K's and V's, or K's alone when
	// KVCacheTypeV is given.
	KVCacheType string
	// KVCacheTypeV is the V rows' element type, one of the same ("": as
	// KVCacheType). llama.cpp's -ctk/-ctv give the two apart.
	KVCacheTypeV string
	// NCtx is the context length per sequence; 0: the model's training
	// context. It is further capped by the cache capacity.
	NCtx int
	// MaxNumBatchedTokens is the token budget of one step (prompt chunks
	// plus decodes).
	MaxNumBatchedTokens int
	// MaxNumSeqs caps the sequences running at once.
	MaxNumSeqs int
	// MaxQueuedRequests bounds the requests waiting for admission; Submit
	// beyond it returns ErrQueueFull.
	MaxQueuedRequests int
	// SchedulingPolicy is PolicyFCFS (the default: arrival order) or
	// PolicyPriority (vLLM's --scheduling-policy priority): requests are
	// admitted by Request.Priority, lower first, then arrival; running
	// sequences are stepped in that order, and one that cannot get a KV
	// block preempts the lowest-priority, latest-arrived running one.
	SchedulingPolicy string
	// DisablePrefixCaching turns off reuse of cached prompt blocks.
	DisablePrefixCaching bool
	// DisableWindowPool keeps a model's sliding-window layers in the one
	// KV pool with the others. By default they get a pool of their own
	// (model.NewWindowedKVCache) sized for each running sequence's window
	// and a step's tokens, and a sequence gives their blocks back as its
	// window moves past them: for Gemma 2-4, EXAONE 4 32B or K-EXAONE a
	// long context then costs those layers a window's memory, not the
	// context's, and the same budget holds several times the tokens.
	DisableWindowPool bool
	// EventBuffer is the capacity of each sequence's event channel. A slow
	// reader never blocks the scheduler: undelivered events are merged.
	EventBuffer int
	// Observer receives latency observations; nil: none.
	Observer Observer
	// SpecTokens turns on n-gram speculative decoding (prompt lookup):
	// a decoding sequence whose last tokens occurred earlier in its own
	// tokens (prompt and output) feeds, after its last token, up to
	// SpecTokens of the tokens that followed them there, in the same
	// forward pass; its sampler then samples each row in turn, and each
	// draft it picks itself is kept with its K/V. Outputs are exactly
	// those of plain decoding (batch invariance: the same logits, and one
	// sampler draw a token either way); a step can emit up to
	// SpecTokens+1 tokens of a sequence for about the price of one when
	// decoding is memory-bound. 0: off. With Draft, the drafts come from
	// the draft model instead and SpecTokens bounds them.
	SpecTokens int
	// SpecNgramMax and SpecNgramMin bound the length of the n-gram looked
	// up, longest first (defaults DefaultSpecNgramMax, DefaultSpecNgramMin).
	SpecNgramMax, SpecNgramMin int
	// PredictionTokens caps the drafts a step feeds from a request's
	// Prediction (default DefaultPredictionTokens; at least SpecTokens).
	// Like n-gram drafts they adapt to how many are kept, doubling while
	// all are.
	PredictionTokens int
	// Draft is a smaller model of the target's vocabulary that proposes
	// the drafts instead of n-gram lookup (draft-model speculative
	// decoding): each step it runs ahead of each drafting sequence, its
	// most likely token at a time, up to SpecTokens tokens
	// (DefaultDraftTokens when 0), and the target verifies them as it
	// does n-gram drafts, so outputs are the same. The caller owns it
	// (loads it on Device, closes it after the engine).
	Draft model.Model
	// DraftPMin ends a sequence's drafts for the step at the first pick
	// the draft model gives less than this probability (default
	// DefaultDraftPMin; negative: never).
	DraftPMin float64
	// SpecMaxSeqs stops drafting while more sequences than this are
	// running (default DefaultSpecMaxSeqs): a large batch is compute-bound
	// already, so rejected drafts would cost more than accepted ones save.
	SpecMaxSeqs int
	// Device is the device the model runs on (the one passed to
	// model.LoadOptions). When set, the KV cache lives in its memory
	// (model.NewKVCacheOn), the default budget is a share of its free
	// memory, and if it only runs static shapes (backends.ShapeBucketer)
	// the token budget of a step is capped to a bucket shape. nil: the
	// cache is host memory (what the CPU device uses) and steps are not
	// bucketed.
	Device backends.Device
}

// Observer receives per-request latency observations (for histograms). Its
// methods are called from the scheduler goroutine: they must be quick and
// safe to call concurrently with the observer's own readers.
type Observer interface {
	ObserveQueue(d time.Duration) // Submit → first scheduled
	ObserveTTFT(d time.Duration)  // Submit → first generated token
	ObserveITL(d time.Duration)   // between consecutive generated tokens
	ObserveE2E(d time.Duration)   // Submit → finished
}

// withDefaults returns c with zero fields set and the result validated.
func (c Config) withDefaults() (Config, model.KVTypes, error) {
	if c.BlockSize == 0 {
		c.BlockSize = DefaultBlockSize
	}
	if c.MaxNumBatchedTokens == 0 {
		c.MaxNumBatchedTokens = DefaultMaxNumBatchedTokens
	}
	if c.MaxNumSeqs == 0 {
		c.MaxNumSeqs = DefaultMaxNumSeqs
	}
	if c.MaxQueuedRequests == 0 {
		c.MaxQueuedRequests = DefaultMaxQueuedRequests
	}
	if c.KVCacheFraction == 0 {
		c.KVCacheFraction = DefaultKVCacheFraction
	}
	if c.EventBuffer == 0 {
		c.EventBuffer = DefaultEventBuffer
	}
	if c.KVCacheType == "" {
		c.KVCacheType = DefaultKVCacheType
	}
	if c.SchedulingPolicy == "" {
		c.SchedulingPolicy = PolicyFCFS
	}
	if c.SpecNgramMax == 0 {
		c.SpecNgramMax = DefaultSpecNgramMax
	}
	if c.SpecNgramMin == 0 {
		c.SpecNgramMin = min(DefaultSpecNgramMin, c.SpecNgramMax)
	}
	if c.SpecMaxSeqs == 0 {
		c.SpecMaxSeqs = DefaultSpecMaxSeqs
	}
	if c.Draft != nil && c.SpecTokens == 0 {
		c.SpecTokens = DefaultDraftTokens
	}
	if c.DraftPMin == 0 {
		c.DraftPMin = DefaultDraftPMin
	}
	if c.PredictionTokens == 0 {
		c.PredictionTokens = DefaultPredictionTokens
	}
	c.PredictionTokens = max(c.PredictionTokens, c.SpecTokens)
	t, err := model.ParseKVTypes(c.KVCacheType, c.KVCacheTypeV)
	if err != nil {
		return c, t, err
	}
	switch {
	case c.BlockSize < 1:
		return c, t, fmt.Errorf("block size %d must be ≥ 1", c.BlockSize)
	case c.SchedulingPolicy != PolicyFCFS && c.SchedulingPolicy != PolicyPriority:
		return c, t, fmt.Errorf("scheduling policy %q: want %s or %s", c.SchedulingPolicy, PolicyFCFS, PolicyPriority)
	case c.NumBlocks < 0:
		return c, t, fmt.Errorf("number of KV blocks %d must be ≥ 0", c.NumBlocks)
	case c.KVCacheMemory < 0:
		return c, t, fmt.Errorf("kv cache memory %d must be ≥ 0", c.KVCacheMemory)
	case c.KVCacheFraction < 0 || c.KVCacheFraction > 1:
		return c, t, fmt.Errorf("kv cache fraction %v must be in (0, 1]", c.KVCacheFraction)
	case c.NCtx < 0:
		return c, t, fmt.Errorf("context length %d must be ≥ 0", c.NCtx)
	case c.MaxNumBatchedTokens < 1:
		return c, t, fmt.Errorf("max batched tokens %d must be ≥ 1", c.MaxNumBatchedTokens)
	case c.MaxNumSeqs < 1:
		return c, t, fmt.Errorf("max sequences %d must be ≥ 1", c.MaxNumSeqs)
	case c.MaxQueuedRequests < 1:
		return c, t, fmt.Errorf("max queued requests %d must be ≥ 1", c.MaxQueuedRequests)
	case c.EventBuffer < 1:
		return c, t, fmt.Errorf("event buffer %d must be ≥ 1", c.EventBuffer)
	case c.SpecTokens < 0 || c.SpecTokens > maxSpecTokens:
		return c, t, fmt.Errorf("speculative tokens %d must be in [0, %d]", c.SpecTokens, maxSpecTokens)
	case c.SpecNgramMin < 1 || c.SpecNgramMax < c.SpecNgramMin:
		return c, t, fmt.Errorf("speculative n-gram lengths %d..%d: want 1 ≤ min ≤ max", c.SpecNgramMin, c.SpecNgramMax)
	case c.PredictionTokens < 1 || c.PredictionTokens > maxSpecTokens:
		return c, t, fmt.Errorf("prediction tokens %d must be in [1, %d]", c.PredictionTokens, maxSpecTokens)
	case c.DraftPMin >= 1 || math.IsNaN(c.DraftPMin):
		return c, t, fmt.Errorf("draft minimum probability %v must be below 1", c.DraftPMin)
	case c.SpecMaxSeqs < 1:
		return c, t, fmt.Errorf("speculative max sequences %d must be ≥ 1", c.SpecMaxSeqs)
	}
	return c, t, nil
}
