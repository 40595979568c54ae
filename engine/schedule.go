package engine

import (
	"cmp"
	"slices"
	"time"

	"go.uber.org/zap"
)

// work is one sequence's share of a step: n tokens starting at position
// seq.nComputed, the last drafts of them seq.drafts (speculative tokens
// fed after its last token).
type work struct {
	seq    *Sequence
	n      int
	drafts int
}

// plan chooses this step's batch. Running sequences come first: decodes,
// then prompts whose prefill is under way; then waiting sequences are
// admitted in arrival order (FCFS, no overtaking) while the token budget,
// the sequence cap and the free blocks allow. A running sequence that
// cannot get a block preempts the newest running sequence not yet planned
// (possibly itself). On a static-shape device the budget is a bucket shape
// (see stepBuckets), so the step's padded shape never exceeds it.
//
// Under the priority policy both queues are kept in priority order
// (insertByPriority) and the running sequences are planned in one pass in
// that order, decodes and prefills alike: the unplanned ones, from which
// a victim is taken, are then exactly those of the same or lower
// priority, and the last of them is the lowest-priority, latest arrival.
func (e *Engine) plan() []work {
	e.stepNo++
	budget := e.bucket.budget // MaxNumBatchedTokens, capped to a bucket shape
	plan := e.scratch.plan[:0]
	before := e.counters.preemptions
	passes := []func(*Sequence) bool{(*Sequence).isDecode, func(s *Sequence) bool { return !s.isDecode() }}
	if e.cfg.SchedulingPolicy == PolicyPriority {
		passes = []func(*Sequence) bool{func(*Sequence) bool { return true }}
	}
	for _, inPass := range passes {
		for i := 0; i < len(e.running) && budget > 0; i++ {
			s := e.running[i]
			if s.lastPlan == e.stepNo || !inPass(s) {
				continue
			}
			n := min(len(s.tokens)-s.nComputed, budget, e.chunkCap(s))
			if !e.growOrPreempt(s, s.nComputed+n) {
				i-- // s was at index i and left running
				continue
			}
			s.lastPlan = e.stepNo
			plan = append(plan, work{s, n, 0})
			budget -= n
		}
	}
	// Admitting while preempting would only thrash the cache.
	preempted := e.counters.preemptions != before
	for !preempted && budget > 0 && len(e.waiting) > 0 && len(e.running) < e.cfg.MaxNumSeqs {
		s := e.waiting[0]
		n, ok := e.admit(s, budget)
		if !ok {
			break
		}
		e.waiting = e.waiting[1:]
		if e.cfg.SchedulingPolicy == PolicyPriority {
			e.running = insertByPriority(e.running, s)
		} else {
			e.running = append(e.running, s)
		}
		s.lastPlan = e.stepNo
		plan = append(plan, work{s, n, 0})
		budget -= n
	}
	if !preempted {
		e.addDrafts(plan, budget) // n-gram drafts (Config.SpecTokens) and predictions
	}
	e.scratch.plan = plan
	return plan
}

// addDrafts gives the planned decodes their speculative tokens from what
// the step has left: its budget and the free blocks. Drafts come last, so
// they never preempt a sequence or keep one waiting. Drafts from the
// draft model are made for all its sequences together, in shared passes.
func (e *Engine) addDrafts(plan []work, budget int) {
	jobs, entries := e.scratch.draftJobs[:0], e.scratch.draftEntries[:0]
	for i := range plan {
		w := &plan[i]
		s := w.seq
		if budget <= 0 {
			break
		}
		if w.n != 1 || !s.isDecode() {
			continue
		}
		k := e.draftRoom(s, budget)
		if k == 0 {
			continue
		}
		if !e.proposeDrafts(s, k) {
			if s.skip > 0 {
				s.skip--
				continue
			}
			jobs = append(jobs, draftJob{s: s, k: k})
			entries = append(entries, i)
			budget -= k // held for the draft model's picks
			continue
		}
		budget -= e.feedDrafts(w)
	}
	if len(jobs) > 0 {
		if err := e.draft.run(jobs); err != nil {
			// A draft model that keeps failing would log every step.
			if e.draft.failures++; e.draft.failures%1000 == 1 {
				e.log.Warn("draft model failed; this step's drafts end there", zapErr(err), zap.Int64("failures", e.draft.failures))
			}
		}
		for _, i := range entries {
			if e.feedDrafts(&plan[i]) == 0 {
				noteDraftMiss(plan[i].seq, false)
			}
		}
	}
	clear(jobs) // no sequence kept alive by the scratch
	e.scratch.draftJobs, e.scratch.draftEntries = jobs, entries
}

// feedDrafts adds w's sequence's drafts to its share of the step when
// its table can hold them, and returns how many it added.
func (e *Engine) feedDrafts(w *work) int {
	s := w.seq
	if len(s.drafts) == 0 || !e.grow(s, s.nComputed+1+len(s.drafts)) {
		return 0
	}
	w.n += len(s.drafts)
	w.drafts = len(s.drafts)
	return w.drafts
}

// draftRoom is how many drafts s may feed this step: at most s.draftLen
// and room, none past its max_tokens or the context, none while more
// than SpecMaxSeqs sequences run or drafting is off.
func (e *Engine) draftRoom(s *Sequence, room int) int {
	if e.cfg.SpecTokens == 0 && len(s.req.Prediction) == 0 {
		return 0
	}
	if s.draftLen == 0 {
		s.draftLen = 1
	}
	k := min(s.draftLen, room, e.nCtx-len(s.tokens))
	if s.req.MaxTokens > 0 {
		k = min(k, s.req.MaxTokens-s.generated()-1)
	}
	if k <= 0 || len(e.running) > e.cfg.SpecMaxSeqs {
		return 0
	}
	return k
}

// proposeDrafts sets s.drafts to up to k speculative tokens for this
// step: from its Request.Prediction where its output lines up with it,
// else (Config.SpecTokens) what followed the latest earlier occurrence
// of its last tokens. With a draft model it instead reports false, the
// drafts left to the model.
func (e *Engine) proposeDrafts(s *Sequence, k int) bool {
	s.predDrafts = false
	s.drafts = s.drafts[:0]
	if len(s.req.Prediction) > 0 {
		var from int
		if s.drafts, from = predictDrafts(s.drafts, s.tokens[s.nPrompt:], s.req.Prediction, s.predPos, k); len(s.drafts) > 0 {
			s.predPos, s.predDrafts = from, true
			return true
		}
	}
	switch {
	case e.cfg.SpecTokens == 0:
		return true
	case e.draft != nil:
		return false
	}
	s.drafts = lookupDrafts(s.drafts, s.tokens, e.cfg.SpecNgramMin, e.cfg.SpecNgramMax, k)
	return true
}

// predictNgramMax is the longest tail of the output predictDrafts looks
// for in a prediction.
const predictNgramMax = 8

// predictDrafts appends to dst up to k tokens of pred that should follow
// out, the output so far, and returns where in pred they start. Before
// any output that is pred's start. After, it is what follows the longest
// tail of out (up to predictNgramMax tokens, down to one) found in pred:
// its first occurrence at or after from (where the last drafts started),
// else its last one before. A one-token tail can line up by chance; the
// drafts' adaptive length (adaptDrafts) keeps such misses cheap.
func predictDrafts(dst, out, pred []int32, from, k int) ([]int32, int) {
	if len(out) == 0 {
		return append(dst, pred[:min(k, len(pred))]...), 0
	}
	for n := min(predictNgramMax, len(out)); n >= 1; n-- {
		tail := out[len(out)-n:]
		at := -1
		for i := max(0, from-n); i+n < len(pred); i++ { // a token must follow the match
			if slices.Equal(pred[i:i+n], tail) {
				at = i
				break
			}
		}
		if at < 0 {
			for i := min(from-n, len(pred)-n-1); i >= 0; i-- {
				if slices.Equal(pred[i:i+n], tail) {
					at = i
					break
				}
			}
		}
		if at >= 0 {
			start := at + n
			return append(dst, pred[start:min(start+k, len(pred))]...), start
		}
	}
	return dst, from
}

// adaptDrafts sets how many drafts s feeds next from how many of this
// step's it kept: its rows (drafts and the last token) double after it
// kept them all, and are the fewest that hold one more than it kept
// otherwise. Row counts stay powers of two, where the batched kernels do
// most per row: on llama-1b Q4_0 a step of 2, 4 and 8 rows costs 1.15,
// 1.31 and 2.1 one-row steps (3 rows 1.25). So a sequence whose drafts
// miss drafts one token, and one whose drafts hold drafts more, up to
// Config.SpecTokens (PredictionTokens for drafts from a prediction).
func (e *Engine) adaptDrafts(s *Sequence, drafted, kept int) {
	want := kept + 2 // rows: the last token, the kept drafts, one more
	if kept == drafted {
		want = 2 * (drafted + 1)
	}
	rows := 2
	for rows < want {
		rows *= 2
	}
	limit := e.cfg.SpecTokens
	if s.predDrafts {
		limit = e.cfg.PredictionTokens
	}
	s.draftLen = min(rows-1, limit)
}

// lookupDrafts appends to dst up to k tokens that followed the latest
// earlier occurrence of toks' last n tokens, for the longest n in
// [nMin, nMax] that occurs (prompt lookup decoding). A sequence's tokens
// are searched from the end, one comparison a position for most.
func lookupDrafts(dst, toks []int32, nMin, nMax, k int) []int32 {
	for n := min(nMax, len(toks)-1); n >= nMin; n-- {
		suffix := toks[len(toks)-n:]
		// i is where a match starts; one token at least must follow it
		// (i+n < len(toks)), and it is not the suffix itself.
		for i := len(toks) - n - 1; i >= 0; i-- {
			if toks[i] != suffix[0] || !slices.Equal(toks[i:i+n], suffix) {
				continue
			}
			from := i + n
			return append(dst, toks[from:min(from+k, len(toks))]...)
		}
	}
	return dst
}

// growOrPreempt makes s's table cover nTokens positions, preempting the
// newest unplanned running sequences until it fits. It reports false when
// s itself had to be preempted. Every unplanned running sequence is newer
// than s or s itself, so preemption never disturbs the caller's iteration
// before s.
func (e *Engine) growOrPreempt(s *Sequence, nTokens int) bool {
	for !e.grow(s, nTokens) {
		victim := e.newestUnplanned()
		e.preempt(victim)
		if victim == s {
			return false
		}
	}
	return true
}

// promptScoreBytes bounds the logits rows of one step's prompt scoring
// (Request.PromptLogprobs): 32 MiB, 64 rows of a 128k vocabulary.
const promptScoreBytes = 32 << 20

// chunkCap is the most tokens s may feed in one step: a prompt being
// scored takes a logits row a token, so it goes promptScoreBytes of rows
// at a time.
func (e *Engine) chunkCap(s *Sequence) int {
	if s.req.PromptLogprobs && s.nComputed < s.nPrompt-1 {
		return max(1, promptScoreBytes/(4*e.mcfg.NVocab))
	}
	return len(s.tokens)
}

// isDecode reports whether s only needs its last sampled token fed.
func (s *Sequence) isDecode() bool { return s.nComputed == len(s.tokens)-1 }

// admit gives a waiting sequence its cached prefix and the blocks for its
// first chunk. It fails, leaving s untouched, when the blocks are short.
func (e *Engine) admit(s *Sequence, budget int) (int, bool) {
	hits := 0
	if !e.cfg.DisablePrefixCaching && !s.req.PromptLogprobs {
		hits = e.matchPrefix(s)
	}
	n := min(len(s.tokens)-s.nComputed, budget, e.chunkCap(s))
	if !e.grow(s, s.nComputed+n) {
		e.freeBlocks(s)
		return 0, false
	}
	e.counters.prefixQueries += int64(len(s.tokens))
	e.counters.prefixHits += int64(hits)
	if !s.admitted {
		s.admitted = true
		s.cached = hits
		e.counters.promptTokens += int64(s.nPrompt)
		e.dequeue()
		e.obs.ObserveQueue(time.Since(s.submitted))
	}
	return n, true
}

// grow makes s's block table cover nTokens positions, all or nothing.
func (e *Engine) grow(s *Sequence, nTokens int) bool {
	need := (nTokens+e.cfg.BlockSize-1)/e.cfg.BlockSize - len(s.blocks)
	if need <= 0 {
		return true
	}
	if e.pool.numAvailable() < need || e.win != nil && e.win.numAvailable() < need {
		return false
	}
	for range need {
		b, _ := e.pool.alloc()
		s.blocks = append(s.blocks, b)
		if e.win != nil {
			w, _ := e.win.alloc()
			s.wblocks = append(s.wblocks, w)
		}
	}
	return true
}

// slideWindow gives back the windowed blocks s's next query can no
// longer reach: those wholly before nComputed - window + 1. Blocks
// registered for the prefix cache stay cached until evicted; those that
// end past the prompt are evicted first: a later request's hit ends
// where it parts from this sequence, and a prompt shared by many (a
// system prompt) ends inside this one's prompt, so its window is worth
// keeping over windows of generated text (a continuation of this
// sequence needs its last window, which freeBlocks keeps warm).
func (e *Engine) slideWindow(s *Sequence) {
	if e.win == nil {
		return
	}
	bs := e.cfg.BlockSize
	end := min(max(0, s.nComputed-e.window+1)/bs, len(s.wblocks))
	for ; s.wLo < end; s.wLo++ {
		b := s.wblocks[s.wLo]
		if b < 0 {
			continue
		}
		if (s.wLo+1)*bs > s.nPrompt {
			e.win.releaseCold(b)
		} else {
			e.win.release(b)
		}
		s.wblocks[s.wLo] = -1
	}
}

// newestUnplanned returns the most recently admitted running sequence not
// yet planned in this step. The caller is itself unplanned, so there is
// always one.
func (e *Engine) newestUnplanned() *Sequence {
	for i := len(e.running) - 1; i >= 0; i-- {
		if e.running[i].lastPlan != e.stepNo {
			return e.running[i]
		}
	}
	return nil
}

// preempt frees s's blocks and puts it at the front of the waiting queue
// (under the priority policy, at its place by priority). Its tokens,
// sampler and text state are kept: when readmitted it recomputes its K/V
// (cheaply, through the prefix cache when its blocks are still cached)
// and continues exactly where it stopped.
func (e *Engine) preempt(s *Sequence) {
	e.freeBlocks(s)
	e.running = slices.DeleteFunc(e.running, func(x *Sequence) bool { return x == s })
	if e.cfg.SchedulingPolicy == PolicyPriority {
		e.waiting = insertByPriority(e.waiting, s)
	} else {
		e.waiting = slices.Insert(e.waiting, 0, s)
	}
	e.counters.preemptions++
	e.log.Debug("preempted", zapSeq(s), zapInt("n_tokens", len(s.tokens)))
}

// freeBlocks releases s's table, last block first, so the cache evicts a
// sequence's tail before its (more shareable) head.
func (e *Engine) freeBlocks(s *Sequence) {
	for i := len(s.blocks) - 1; i >= 0; i-- {
		e.pool.release(s.blocks[i])
		if e.win != nil && s.wblocks[i] >= 0 {
			e.win.release(s.wblocks[i])
		}
	}
	s.blocks, s.hashes, s.nComputed = s.blocks[:0], s.hashes[:0], 0
	s.wblocks, s.wLo = s.wblocks[:0], 0
}

// dequeue drops one sequence from the bounded-queue count.
func (e *Engine) dequeue() {
	e.mu.Lock()
	e.queued--
	e.mu.Unlock()
}

// insertByPriority inserts s into q, which is in priority order (lower
// Request.Priority first, then earlier arrival), at its place.
func insertByPriority(q []*Sequence, s *Sequence) []*Sequence {
	i, _ := slices.BinarySearchFunc(q, s, func(a, b *Sequence) int {
		if c := cmp.Compare(a.req.Priority, b.req.Priority); c != 0 {
			return c
		}
		return cmp.Compare(a.arrival, b.arrival)
	})
	return slices.Insert(q, i, s)
}
