package engine

import "slices"

// Stats is a snapshot of the scheduler for /metrics. Gauges describe the end
// of the last step; counters are totals since New.
type Stats struct {
	Running int // sequences admitted and holding KV blocks
	Waiting int // sequences queued (never admitted, or preempted)

	KVBlocks       int     // blocks in the cache (outside the windowed pool)
	KVBlocksUsed   int     // blocks referenced by sequences
	KVBlocksCached int     // unreferenced blocks kept for prefix reuse (evictable)
	KVUsage        float64 // KVBlocksUsed / KVBlocks, or the windowed pool's share when higher
	// The sliding-window layers' own pool (Config.DisableWindowPool):
	// its blocks and those referenced; 0 without one.
	KVWindowBlocks, KVWindowBlocksUsed int

	// Prefix cache, in tokens (vLLM's convention): PrefixQueries counts the
	// prompt tokens looked up at each admission (re-admission after
	// preemption included), PrefixHits those served from cached blocks.
	PrefixQueries int64
	PrefixHits    int64

	Preemptions      int64
	PromptTokens     int64 // prompt tokens of admitted requests (cached ones included)
	PrefillTokens    int64 // tokens run through the model as prompt: cache hits excluded, recomputation after preemption included
	GenerationTokens int64 // generated tokens
	Steps            int64 // forward passes
	// PaddedTokens counts the rows a static-shape device ran beyond the
	// steps' tokens (bucket padding, wasted work); 0 on other devices.
	PaddedTokens int64
	// Speculative decoding (Config.SpecTokens): the drafts (a sequence's
	// draft tokens of one step), the draft tokens fed, and those the
	// samplers picked themselves (kept).
	SpecDrafts         int64
	SpecDraftTokens    int64
	SpecAcceptedTokens int64
	// The draft model (Config.Draft): its forward passes, and the tokens
	// it ran (catching up on sequences' tokens and feeding its drafts).
	DraftPasses int64
	DraftTokens int64

	FinishedStop      int64
	FinishedLength    int64
	FinishedCancelled int64
	FinishedError     int64

	// Per-request LoRA adapters: how many are served now, and the names
	// of those the running and waiting sequences asked for at the last
	// step (sorted, each once; vLLM's lora_requests_info). Empty without
	// adapters.
	LoRALoaded               int
	LoRARunning, LoRAWaiting []string
}

// counters are the scheduler-owned totals, published into Stats each step.
type counters struct {
	prefixQueries, prefixHits int64
	preemptions               int64
	promptTokens              int64
	prefillTokens             int64
	generationTokens          int64
	steps                     int64
	paddedTokens              int64
	specDrafts                int64
	specDrafted, specAccepted int64
	finished                  map[FinishReason]int64
}

// Stats returns a snapshot; safe from any goroutine.
func (e *Engine) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.stats
	s.Waiting += len(e.incoming)
	// Loads and unloads come from other goroutines between steps: count
	// the adapters now rather than at the last step.
	s.LoRALoaded = 0
	for _, sl := range e.loras {
		if sl.live {
			s.LoRALoaded++
		}
	}
	return s
}

// publish copies the scheduler's state into the shared snapshot.
func (e *Engine) publish() {
	c := &e.counters
	used := e.pool.numUsed()
	usage := float64(used) / float64(e.pool.numBlocks())
	var winBlocks, winUsed int
	if e.win != nil {
		winBlocks, winUsed = e.win.numBlocks(), e.win.numUsed()
		usage = max(usage, float64(winUsed)/float64(winBlocks))
	}
	var draftPasses, draftTokens int64
	if e.draft != nil {
		draftPasses, draftTokens = e.draft.passes, e.draft.fed
	}
	e.assignSlots()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.slotSnap = e.slotStatesLocked(e.slotSnap)
	running, waiting := e.loraStatsLocked()
	e.stats = Stats{
		LoRARunning:        running,
		LoRAWaiting:        waiting,
		Running:            len(e.running),
		Waiting:            len(e.waiting),
		KVBlocks:           e.pool.numBlocks(),
		KVBlocksUsed:       used,
		KVBlocksCached:     e.pool.nLRU,
		KVUsage:            usage,
		KVWindowBlocks:     winBlocks,
		KVWindowBlocksUsed: winUsed,
		PrefixQueries:      c.prefixQueries,
		PrefixHits:         c.prefixHits,
		Preemptions:        c.preemptions,
		PromptTokens:       c.promptTokens,
		PrefillTokens:      c.prefillTokens,
		GenerationTokens:   c.generationTokens,
		Steps:              c.steps,
		PaddedTokens:       c.paddedTokens,
		SpecDrafts:         c.specDrafts,
		SpecDraftTokens:    c.specDrafted,
		SpecAcceptedTokens: c.specAccepted,
		DraftPasses:        draftPasses,
		DraftTokens:        draftTokens,
		FinishedStop:       c.finished[FinishStop],
		FinishedLength:     c.finished[FinishLength],
		FinishedCancelled:  c.finished[FinishCancelled],
		FinishedError:      c.finished[FinishError],
	}
}

// loraStatsLocked names the adapters the running and the waiting
// sequences ask for. e.mu is held.
func (e *Engine) loraStatsLocked() (running, waiting []string) {
	if len(e.loras) == 0 {
		return nil, nil
	}
	names := func(seqs []*Sequence) []string {
		var out []string
		for _, s := range seqs {
			if id := s.req.LoRA; id > 0 {
				out = append(out, e.loras[id-1].name)
			}
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	return names(e.running), names(append(slices.Clip(e.waiting), e.incoming...))
}
