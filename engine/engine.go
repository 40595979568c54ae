package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"go.uber.org/zap"

	"github.com/nuri-ai/nuri/model"
	"github.com/nuri-ai/nuri/sample"
	"github.com/nuri-ai/nuri/tokenizer"
)

// Tokenizer is what the engine needs from a tokenizer: end-of-generation
// ids and each token's bytes (the engine assembles UTF-8 itself so a fake
// tokenizer can drive it in tests). *tokenizer.Tokenizer satisfies it.
type Tokenizer interface {
	IsEOG(id int32) bool
	Piece(id int32, special bool) ([]byte, error)
}

var _ Tokenizer = (*tokenizer.Tokenizer)(nil)

// Engine is the scheduler: one goroutine (Run) steps all sequences through
// the model, many goroutines Submit and read events.
type Engine struct {
	cfg   Config
	m     model.Model
	mcfg  model.Config
	tok   Tokenizer
	log   *zap.Logger
	nCtx  int
	kv    *model.KVCache
	draft *drafter // Config.Draft; nil: none
	pool  *blockPool
	// win is the windowed layers' pool (nil: they share pool), whose
	// blocks a sequence holds only over its last window of positions.
	win    *blockPool
	window int // the cache's Window
	hasher *blockHasher
	bucket stepBuckets // the device's static shapes (off for most devices)
	obs    Observer

	wake chan struct{} // capacity 1: a pending wake-up

	mu          sync.Mutex // guards the fields below
	incoming    []*Sequence
	queued      int // submitted, not yet admitted nor finished
	closed      bool
	loopRunning bool
	loopDone    chan struct{}
	nextID      uint64
	stats       Stats
	loras       []loraSlot // per-request adapters by id (LoadLoRA)
	slotSnap    []SlotState

	loraMu sync.Mutex // serialises LoadLoRA and UnloadLoRA

	// Owned by the scheduler goroutine (or the test driving step).
	waiting  []*Sequence // FCFS; preempted sequences go back to the front
	running  []*Sequence // admission order: the newest is last
	draining []*Sequence // finished, final event not yet delivered
	eog      []int32     // the vocabulary's end-of-generation tokens (Request.MinTokens masks them)
	slots    slotTable   // which running sequence holds which slot (Slots)
	stepNo   uint64
	counters counters
	scratch  stepScratch
}

// New builds an engine over m. It sizes the paged KV cache from the budget
// in cfg and logs the result.
func New(cfg Config, m model.Model, tok Tokenizer, log *zap.Logger) (*Engine, error) {
	if m == nil || tok == nil {
		return nil, fmt.Errorf("engine: model and tokenizer are required")
	}
	if log == nil {
		log = zap.NewNop()
	}
	cfg, kvType, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("engine config: %w", err)
	}
	mc := m.Config()
	if mc.NVocab <= 0 {
		return nil, fmt.Errorf("engine: model reports vocabulary size %d", mc.NVocab)
	}
	nCtx := cfg.NCtx
	if nCtx == 0 {
		nCtx = mc.NCtxTrain
	}
	if nCtx <= 1 {
		return nil, fmt.Errorf("engine: context length %d (model trained with %d)", nCtx, mc.NCtxTrain)
	}
	plan, err := planKV(cfg, mc, kvType, nCtx)
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	kv, err := newKVCache(cfg.Device, mc, plan.nBlocks, plan.winBlocks, cfg.BlockSize, kvType)
	if err != nil {
		return nil, fmt.Errorf("engine: allocate kv cache of %d blocks (%d windowed): %w", plan.nBlocks, plan.winBlocks, err)
	}
	// One sequence must always fit: cap the context at the cache capacity.
	nCtx = min(nCtx, plan.nBlocks*cfg.BlockSize)
	e := &Engine{
		cfg: cfg, m: m, mcfg: mc, tok: tok, log: log, nCtx: nCtx, kv: kv,
		pool:     newBlockPool(plan.nBlocks, cfg.BlockSize),
		window:   kv.Window(),
		hasher:   newBlockHasher(),
		bucket:   newStepBuckets(cfg.Device, cfg.MaxNumBatchedTokens),
		obs:      cfg.Observer,
		wake:     make(chan struct{}, 1),
		loopDone: make(chan struct{}),
	}
	if plan.winBlocks > 0 {
		e.win = newBlockPool(plan.winBlocks, cfg.BlockSize)
	}
	for id := range int32(mc.NVocab) {
		if tok.IsEOG(id) {
			e.eog = append(e.eog, id)
		}
	}
	for _, name := range mc.LoRA {
		e.loras = append(e.loras, loraSlot{name: name, live: name != "", gone: name == ""})
	}
	if e.obs == nil {
		e.obs = nopObserver{}
	}
	if cfg.Draft != nil {
		d, bytes, err := newDrafter(cfg, mc, nCtx, plan.nBlocks, kvType, tok.IsEOG)
		if err != nil {
			return nil, fmt.Errorf("engine: %w", err)
		}
		e.draft = d
		dc := cfg.Draft.Config()
		log.Info("draft model",
			zap.String("arch", dc.Arch),
			zap.Int("n_layer", dc.NLayer),
			zap.Int("n_embd", dc.NEmbd),
			zap.Int("n_vocab", dc.NVocab),
			zap.Int("kv_blocks", len(d.free)),
			zap.Int64("kv_bytes", bytes),
			zap.Int("draft_max", cfg.SpecTokens),
			zap.Float64("p_min", cfg.DraftPMin),
			zap.Int("spec_max_seqs", cfg.SpecMaxSeqs))
	}
	e.publish()
	log.Info("kv cache",
		zap.Int("n_blocks", plan.nBlocks),
		zap.Int("tokens", plan.nBlocks*cfg.BlockSize),
		zap.Int("block_size", cfg.BlockSize),
		zap.Int64("bytes_per_block", int64(kv.BytesPerBlock())),
		zap.Int64("bytes", kv.Bytes()),
		zap.Int("sliding_window", kv.Window()),
		zap.Int("n_window_blocks", kv.WindowBlocks()),
		zap.Int64("bytes_per_window_block", int64(kv.BytesPerWindowBlock())),
		zap.Int64("one_pool_bytes", plan.onePoolBytes),
		zap.Stringer("type", kvType),
		zap.String("budget", plan.source),
		zap.Int64("available_memory", plan.availRAM),
		zap.Int("n_ctx", nCtx),
		zap.Int("max_num_seqs", cfg.MaxNumSeqs),
		zap.Int("max_num_batched_tokens", cfg.MaxNumBatchedTokens),
		zap.Bool("prefix_caching", !cfg.DisablePrefixCaching),
		zap.String("device", deviceName(cfg.Device)))
	if e.bucket.on {
		log.Info("static shape buckets",
			zap.Stringer("buckets", e.bucket.b),
			zap.Int("step_token_budget", e.bucket.budget))
	}
	return e, nil
}

// NCtx returns the context length per sequence (prompt plus generated).
func (e *Engine) NCtx() int { return e.nCtx }

// KVCacheTypes returns the cache's K and V element types.
func (e *Engine) KVCacheTypes() model.KVTypes { return e.kv.Types() }

// Submit queues a request. It fails fast with ErrEmptyPrompt,
// ErrPromptTooLong, ErrInvalidRequest, ErrQueueFull or ErrClosed. Cancelling
// ctx cancels the sequence.
func (e *Engine) Submit(ctx context.Context, r Request) (*Sequence, error) {
	if e.isClosed() {
		return nil, ErrClosed
	}
	if err := e.validate(&r); err != nil {
		return nil, err
	}
	s := &Sequence{
		e:         e,
		req:       r,
		events:    make(chan Event, e.cfg.EventBuffer),
		tokens:    slices.Clone(r.Prompt),
		nPrompt:   len(r.Prompt),
		sampler:   sample.New(r.Sampling),
		text:      textOut{stops: r.Stop, includeStop: r.IncludeStop},
		submitted: time.Now(),
		expect:    -1,
		slot:      -1,
	}
	if r.CacheSalt != "" {
		s.saltRoot = e.hasher.saltRoot(r.CacheSalt, r.LoRA)
	}
	if r.Constraint != nil {
		s.sampler.Constrain(r.Constraint())
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, ErrClosed
	}
	if e.queued >= e.cfg.MaxQueuedRequests {
		return nil, fmt.Errorf("%w (%d waiting)", ErrQueueFull, e.queued)
	}
	if err := e.useLoRALocked(r.LoRA); err != nil {
		return nil, err
	}
	e.queued++
	e.nextID++
	s.arrival = e.nextID
	s.id = r.ID
	if s.id == "" {
		s.id = "seq-" + strconv.FormatUint(e.nextID, 10)
	}
	if ctx != nil && ctx.Done() != nil {
		s.stopCtx = context.AfterFunc(ctx, s.Cancel)
	}
	e.incoming = append(e.incoming, s)
	e.wakeUp()
	return s, nil
}

// validate checks r and copies what the caller might reuse.
func (e *Engine) validate(r *Request) error {
	switch {
	case e.m.Config().Encoder:
		return fmt.Errorf("%w: %w: it is an encoder, which embeds (/v1/embeddings), it does not generate", ErrInvalidRequest, model.ErrNoLMHead)
	case e.m.Config().NoLMHead:
		return fmt.Errorf("%w: %w, only a reranker's classification head: it scores (/v1/rerank), it does not generate", ErrInvalidRequest, model.ErrNoLMHead)
	case len(r.Prompt) == 0:
		return ErrEmptyPrompt
	case len(r.Prompt) >= e.nCtx:
		return fmt.Errorf("%w: %d prompt tokens, context holds %d (prompt plus at least one generated token)",
			ErrPromptTooLong, len(r.Prompt), e.nCtx)
	case r.MaxTokens < 0:
		return fmt.Errorf("%w: max tokens %d", ErrInvalidRequest, r.MaxTokens)
	case r.TopLogprobs < 0:
		return fmt.Errorf("%w: top logprobs %d", ErrInvalidRequest, r.TopLogprobs)
	case r.MinTokens < 0 || (r.MaxTokens > 0 && r.MinTokens > r.MaxTokens):
		return fmt.Errorf("%w: min tokens %d (max tokens %d)", ErrInvalidRequest, r.MinTokens, r.MaxTokens)
	case r.Priority != 0 && e.cfg.SchedulingPolicy != PolicyPriority:
		return fmt.Errorf("%w: priority %d needs the priority scheduling policy (this engine schedules %s)", ErrInvalidRequest, r.Priority, e.cfg.SchedulingPolicy)
	}
	for i, t := range r.Prompt {
		if t < 0 || int(t) >= e.mcfg.NVocab {
			return fmt.Errorf("%w: prompt token %d at %d outside vocabulary of %d", ErrInvalidRequest, t, i, e.mcfg.NVocab)
		}
	}
	for i, t := range r.StopTokens {
		if t < 0 || int(t) >= e.mcfg.NVocab {
			return fmt.Errorf("%w: stop token %d at %d outside vocabulary of %d", ErrInvalidRequest, t, i, e.mcfg.NVocab)
		}
	}
	for i, t := range r.Prediction {
		if t < 0 || int(t) >= e.mcfg.NVocab {
			return fmt.Errorf("%w: prediction token %d at %d outside vocabulary of %d", ErrInvalidRequest, t, i, e.mcfg.NVocab)
		}
	}
	for _, st := range r.Stop {
		if st == "" || !utf8.ValidString(st) {
			return fmt.Errorf("%w: stop string %q is empty or not UTF-8", ErrInvalidRequest, st)
		}
	}
	if err := r.Sampling.Validate(e.mcfg.NVocab); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	}
	r.Prompt = slices.Clone(r.Prompt)
	r.Prediction = slices.Clone(r.Prediction)
	r.StopTokens = slices.Clone(r.StopTokens)
	r.Stop = slices.Clone(r.Stop)
	r.Sampling.LogitBias = maps.Clone(r.Sampling.LogitBias)
	return nil
}

func (e *Engine) wakeUp() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// drainPoll is how often undelivered final events are retried while the
// engine is otherwise idle.
const drainPoll = 5 * time.Millisecond

// Run is the scheduler loop: it steps while there is work and sleeps until
// a Submit, a Cancel or Close otherwise. It returns nil after Close, or the
// context's error; either way every sequence still in flight is ended
// (FinishError with ErrClosed) so no reader hangs.
func (e *Engine) Run(ctx context.Context) error {
	e.mu.Lock()
	if e.loopRunning || e.closed {
		e.mu.Unlock()
		return fmt.Errorf("engine: Run called twice or after Close: %w", ErrClosed)
	}
	e.loopRunning = true
	e.mu.Unlock()
	defer close(e.loopDone)
	defer e.shutdown()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if e.isClosed() {
			return nil
		}
		if e.step() {
			continue
		}
		e.sleep(ctx)
	}
}

// sleep waits for a wake-up; while final events wait for slow readers it
// also wakes on a short timer to retry them.
func (e *Engine) sleep(ctx context.Context) {
	if len(e.draining) == 0 {
		select {
		case <-ctx.Done():
		case <-e.wake:
		}
		return
	}
	t := time.NewTimer(drainPoll)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-e.wake:
	case <-t.C:
	}
}

func (e *Engine) isClosed() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.closed
}

// Close stops the engine: Submit fails from now on, Run returns and every
// sequence in flight ends with ErrClosed. It waits for Run to finish.
func (e *Engine) Close() {
	e.mu.Lock()
	already, looping := e.closed, e.loopRunning
	e.closed = true
	e.mu.Unlock()
	e.wakeUp()
	switch {
	case looping:
		<-e.loopDone
	case !already:
		e.shutdown()
	}
}

// shutdown ends every sequence in flight.
func (e *Engine) shutdown() {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	e.intake()
	for _, s := range slices.Concat(e.running, e.waiting) {
		e.finish(s, Event{Finish: FinishError, Err: ErrClosed, Reason: "engine shut down"})
	}
	e.running, e.waiting = nil, nil
	for _, s := range e.draining {
		// Nobody may read any more: hand over what fits and close.
		s.cancelled.Store(true)
		s.deliver()
	}
	e.draining = nil
	e.publish()
}

// intake moves newly submitted sequences to the waiting queue.
func (e *Engine) intake() {
	e.mu.Lock()
	in := e.incoming
	e.incoming = nil
	e.mu.Unlock()
	if e.cfg.SchedulingPolicy != PolicyPriority {
		e.waiting = append(e.waiting, in...)
		return
	}
	for _, s := range in {
		e.waiting = insertByPriority(e.waiting, s)
	}
}

type nopObserver struct{}

func (nopObserver) ObserveQueue(time.Duration) {}
func (nopObserver) ObserveTTFT(time.Duration)  {}
func (nopObserver) ObserveITL(time.Duration)   {}
func (nopObserver) ObserveE2E(time.Duration)   {}

// errStep marks errors of a failed forward pass.
var errStep = errors.New("forward pass failed")
