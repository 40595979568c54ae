package engine

import (
	"errors"
	"fmt"
	"slices"

	"github.com/nuri-ai/nuri/model"
)

// stepScratch holds buffers reused across steps.
type stepScratch struct {
	plan   []work
	batch  model.Batch
	tables [][]int32
	wins   [][]int32 // the windowed layers' tables (Engine.win)
	rows   []int     // logits row of each plan entry, -1 for none
	scored []scoredRow
	logits []float32
	lora   []int32 // the batch's adapter ids, when a row has one

	draftJobs    []draftJob // this step's draft-model jobs
	draftEntries []int      // their plan entries
}

// scoredRow is a logits row that scores a prompt token
// (Request.PromptLogprobs): plan entry i's position pos, whose logits give
// the probability of the token at pos+1.
type scoredRow struct{ entry, pos, row int }

// step runs one scheduler iteration: take in submissions, end cancelled
// sequences, plan a batch, run the model, sample and emit. It reports
// whether it ran a forward pass. Tests call it directly.
func (e *Engine) step() bool {
	e.intake()
	e.reap()
	e.retryDrains()
	plan := e.plan()
	if len(plan) == 0 {
		e.publish()
		return false
	}
	if err := e.forward(plan); err != nil {
		// A failed pass fails only the sequences in it.
		for _, w := range plan {
			e.finish(w.seq, Event{Finish: FinishError, Err: err, Reason: err.Error()})
		}
		e.compact()
		e.publish()
		return true
	}
	e.counters.steps++
	n := len(e.scratch.batch.Tokens)
	e.counters.paddedTokens += int64(e.bucket.padded(n) - n)
	V := e.mcfg.NVocab
	for _, sr := range e.scratch.scored {
		e.scorePrompt(plan[sr.entry].seq, sr.pos, e.scratch.logits[sr.row*V:(sr.row+1)*V])
	}
	for i, w := range plan {
		s := w.seq
		e.fed(s, w.n-w.drafts)
		if r := e.scratch.rows[i]; r >= 0 && !s.finished {
			if s.req.PromptOnly {
				e.finish(s, Event{Finish: FinishLength, Reason: "prompt only (max tokens 0)",
					PromptLogprobs: s.promptLP, PromptTopLogprobs: s.promptTop})
				continue
			}
			kept := 0
			if s.predDrafts {
				// Rejected until picked (emitNext counts a pick equal to
				// s.expect), so that a reply finishing mid-step reports
				// them right.
				s.predRejected += w.drafts
			}
			for j := 0; ; j++ {
				// Row j follows draft j-1: the sampler picks from it as it
				// would have after that token, and a pick equal to draft j
				// makes draft j's K/V, computed this pass, the sequence's.
				s.expect = -1
				if s.predDrafts && j < w.drafts {
					s.expect = s.drafts[j]
				}
				tok, live := e.emitNext(s, e.scratch.logits[(r+j)*V:(r+j+1)*V])
				if !live || j == w.drafts || tok != s.drafts[j] {
					break
				}
				kept++
				e.fed(s, 1)
			}
			if w.drafts > 0 {
				e.counters.specDrafts++
				e.counters.specDrafted += int64(w.drafts)
				e.counters.specAccepted += int64(kept)
				e.adaptDrafts(s, w.drafts, kept)
				if e.draft != nil && !s.predDrafts {
					if kept == 0 {
						noteDraftMiss(s, true)
					} else {
						noteDraftKept(s)
					}
				}
			}
		}
	}
	e.compact()
	e.publish()
	return true
}

// fed makes n more of s's tokens computed, counts them and registers
// the blocks they fill.
func (e *Engine) fed(s *Sequence, n int) {
	e.countFed(s, n)
	s.nComputed += n
	if !e.cfg.DisablePrefixCaching {
		e.registerFull(s)
	}
	e.slideWindow(s)
}

// countFed splits the n tokens about to be computed for s into prefill
// (prompt, or recomputation after preemption) and first-time decodes.
func (e *Engine) countFed(s *Sequence, n int) {
	start := s.nComputed
	firstTime := max(s.nPrompt, s.maxComputed)
	decodes := max(0, start+n-max(start, firstTime))
	e.counters.prefillTokens += int64(n - decodes)
	s.maxComputed = max(s.maxComputed, start+n)
}

// forward builds the batch for plan and runs the model. Each entry feeds
// tokens [nComputed, nComputed+n) of its sequence, its drafts after its
// last token; logits are asked only where the entry reaches the
// sequence's last token, and for each draft.
func (e *Engine) forward(plan []work) (err error) {
	sc := &e.scratch
	b := &sc.batch
	b.Tokens, b.Pos, b.Seq, b.Logits = b.Tokens[:0], b.Pos[:0], b.Seq[:0], b.Logits[:0]
	sc.tables, sc.wins, sc.rows, sc.scored = sc.tables[:0], sc.wins[:0], sc.rows[:0], sc.scored[:0]
	// Adapter ids only where a sequence asks for one (nil otherwise: the
	// model then skips them).
	adapters := false
	for _, w := range plan {
		adapters = adapters || w.seq.req.LoRA != 0
	}
	b.LoRA = nil
	if adapters {
		b.LoRA = sc.lora[:0]
	}
	nLogits := 0
	for i, w := range plan {
		s := w.seq
		sc.tables = append(sc.tables, s.blocks)
		if e.win != nil {
			sc.wins = append(sc.wins, s.wblocks)
		}
		last := len(s.tokens) - 1
		row := -1
		for p := s.nComputed; p < s.nComputed+w.n; p++ {
			if p <= last {
				b.Tokens = append(b.Tokens, s.tokens[p])
			} else {
				b.Tokens = append(b.Tokens, s.drafts[p-last-1])
			}
			b.Pos = append(b.Pos, int32(p))
			b.Seq = append(b.Seq, int32(i))
			if adapters {
				b.LoRA = append(b.LoRA, s.req.LoRA)
			}
			// A recomputed prompt (after preemption) is not scored twice.
			score := s.req.PromptLogprobs && p < s.nPrompt-1 && p >= len(s.promptLP)
			b.Logits = append(b.Logits, p >= last || score)
			switch {
			case p == last:
				row = nLogits
				nLogits++
			case p > last: // a draft's row follows its predecessor's
				nLogits++
			case score:
				sc.scored = append(sc.scored, scoredRow{entry: i, pos: p, row: nLogits})
				nLogits++
			}
		}
		sc.rows = append(sc.rows, row)
	}
	if adapters {
		sc.lora = b.LoRA
	}
	sc.logits = slices.Grow(sc.logits[:0], nLogits*e.mcfg.NVocab)[:nLogits*e.mcfg.NVocab]
	defer func() {
		// No panic crosses a package boundary: a crashing pass fails only
		// the sequences in it.
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: panic: %v", errStep, r)
		}
	}()
	view := model.KVView{Cache: e.kv, Tables: sc.tables}
	if e.win != nil {
		view.WinTables = sc.wins
	}
	if err := e.m.Forward(b, view, sc.logits); err != nil {
		return fmt.Errorf("%w: %w", errStep, err)
	}
	return nil
}

// reap ends the sequences whose readers cancelled.
func (e *Engine) reap() {
	n := 0
	for _, s := range slices.Concat(e.running, e.waiting) {
		if s.cancelled.Load() {
			e.finish(s, Event{Finish: FinishCancelled, Reason: "cancelled"})
			n++
		}
	}
	if n > 0 {
		e.compact()
	}
}

// compact drops finished sequences from the queues.
func (e *Engine) compact() {
	done := func(s *Sequence) bool { return s.finished }
	e.running = slices.DeleteFunc(e.running, done)
	e.waiting = slices.DeleteFunc(e.waiting, done)
}

// finish ends s with ev (Finish set): its held-back text is flushed, usage
// filled, blocks freed, and the final event queued for delivery.
func (e *Engine) finish(s *Sequence, ev Event) {
	if s.finished {
		return
	}
	s.finished = true
	// Held-back text is released only when the sequence ran to a natural
	// end; a cancelled or failed stream stays a prefix of the full output.
	if tail := s.text.flush(); ev.Finish == FinishStop || ev.Finish == FinishLength {
		ev.Text += tail
	}
	ev.Usage = Usage{PromptTokens: s.nPrompt, CachedTokens: s.cached, CompletionTokens: s.generated(),
		AcceptedPredictionTokens: s.predAccepted, RejectedPredictionTokens: s.predRejected}
	e.freeBlocks(s)
	if e.draft != nil {
		e.draft.release(s)
	}
	e.releaseLoRA(s.req.LoRA)
	if !s.admitted {
		s.admitted = true
		e.dequeue()
	}
	if e.counters.finished == nil {
		e.counters.finished = make(map[FinishReason]int64)
	}
	e.counters.finished[ev.Finish]++
	e.obs.ObserveE2E(timeSince(s.submitted))
	if s.stopCtx != nil {
		s.stopCtx()
	}
	if ev.Finish == FinishError && !errors.Is(ev.Err, ErrClosed) {
		e.log.Warn("sequence failed", zapSeq(s), zapErr(ev.Err))
	}
	s.merge(ev)
	e.push(s)
}

// push tries to deliver s's pending output; if the reader is behind, s
// joins the draining list and is retried every step.
func (e *Engine) push(s *Sequence) {
	if !s.deliver() && !s.draining {
		s.draining = true
		e.draining = append(e.draining, s)
	}
}

func (e *Engine) retryDrains() {
	e.draining = slices.DeleteFunc(e.draining, func(s *Sequence) bool {
		if s.deliver() {
			s.draining = false
			return true
		}
		return false
	})
}
