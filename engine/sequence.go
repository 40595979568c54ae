package engine

import (
	"sync/atomic"
	"time"

	"github.com/nuri-ai/nuri/sample"
)

// Sequence is one submitted request in flight. Its events arrive on Events;
// Cancel (or cancelling the Submit context) ends it within one step.
type Sequence struct {
	e         *Engine
	id        string
	arrival   uint64 // submission order
	req       Request
	events    chan Event
	cancelled atomic.Bool
	stopCtx   func() bool // detaches the Submit context's AfterFunc

	// Everything below is owned by the scheduler goroutine.
	tokens      []int32 // prompt followed by the generated tokens
	nPrompt     int
	nComputed   int     // tokens whose K/V is in the cache: positions [0, nComputed)
	maxComputed int     // highest nComputed ever reached (recomputation after preemption stays below it)
	blocks      []int32 // block table: blocks[i] holds positions [i*bs, (i+1)*bs)
	// The windowed layers' table (Engine.win), as long as blocks: the
	// entries before wLo are -1, freed once behind the window.
	wblocks    []int32
	wLo        int
	hashes     []uint64 // hashes of the full computed blocks, in order
	saltRoot   uint64   // Request.CacheSalt: the parent of the first block
	lines      lineWatch
	firstToken time.Time // when the first token was sampled (Request.PredictTimeLimit)
	sampler    *sample.Sampler
	text       textOut
	admitted   bool // admitted at least once (left the bounded queue)
	slot       int  // the slot it holds while running (Engine.Slots); -1 for none
	cached     int  // prompt tokens served from the prefix cache at first admission
	finished   bool
	lastPlan   uint64  // step number this sequence was last scheduled in
	drafts     []int32 // this step's speculative tokens, fed after the last one (Config.SpecTokens)
	draftLen   int     // the most drafts this sequence feeds next (adapts to how many it keeps)
	// Request.Prediction: where the output last lined up with it (the
	// index after the matched tokens), whether this step's drafts came
	// from it, and how many of its drafts were kept and dropped.
	predPos                    int
	predDrafts                 bool
	predAccepted, predRejected int
	expect                     int32 // the prediction's draft the next pick keeps (-1: none)
	// Config.Draft: the draft model's block table, the positions its
	// cache holds ([0, dComputed)), and of those the ones past dBase hold
	// the drafts dFed (fed before the target verified them).
	dBlocks          []int32
	dComputed, dBase int
	dFed             []int32
	// Draft-model drafting backs off while it fails: misses attempts in
	// a row kept no draft, backoffs of them backed off, and the next skip
	// steps make none (see noteDraftMiss).
	misses, backoffs, skip int
	// Request.PromptLogprobs: the scores of prompt tokens 1..len(promptLP)
	// so far (position p's logits score token p+1), sent on the first event.
	promptLP  []TokenLogprob
	promptTop [][]TokenLogprob

	submitted, lastToken time.Time
	sawToken             bool

	// Undelivered output, merged while the reader is behind.
	pending    Event
	hasPending bool
	draining   bool // on the engine's draining list
}

// ID returns the request id (Request.ID, or one the engine assigned).
func (s *Sequence) ID() string { return s.id }

// Events returns the sequence's event stream. The last event has Finish set;
// the channel is closed after it. When the reader falls behind, events are
// merged (several tokens in one event) rather than blocking the scheduler.
// After Cancel, undelivered events may be dropped and the channel closed.
func (s *Sequence) Events() <-chan Event { return s.events }

// Cancel ends the sequence; its blocks are freed within one step. It is safe
// to call more than once and from any goroutine.
func (s *Sequence) Cancel() {
	if s.cancelled.CompareAndSwap(false, true) {
		s.e.wakeUp()
	}
}

// generated returns the number of generated tokens.
func (s *Sequence) generated() int { return len(s.tokens) - s.nPrompt }

// merge appends ev to the pending output.
func (s *Sequence) merge(ev Event) {
	if !s.hasPending {
		s.pending, s.hasPending = ev, true
		return
	}
	p := &s.pending
	p.Tokens = append(p.Tokens, ev.Tokens...)
	p.Text += ev.Text
	p.Logprobs = append(p.Logprobs, ev.Logprobs...)
	p.TopLogprobs = append(p.TopLogprobs, ev.TopLogprobs...)
	p.PromptLogprobs = append(p.PromptLogprobs, ev.PromptLogprobs...)
	p.PromptTopLogprobs = append(p.PromptTopLogprobs, ev.PromptTopLogprobs...)
	if p.TTFT == 0 {
		p.TTFT, p.CachedTokens = ev.TTFT, ev.CachedTokens
	}
	if ev.Finish != FinishNone {
		p.Finish, p.Reason, p.Err, p.Usage = ev.Finish, ev.Reason, ev.Err, ev.Usage
	}
}

// deliver tries to hand the pending output to the reader without blocking.
// It reports whether nothing is left to deliver; the channel is closed
// after the final event.
func (s *Sequence) deliver() bool {
	if !s.hasPending {
		return true
	}
	select {
	case s.events <- s.pending:
		final := s.pending.Finish != FinishNone
		s.pending, s.hasPending = Event{}, false
		if final {
			close(s.events)
		}
		return true
	default:
	}
	if s.finished && s.cancelled.Load() {
		// The reader cancelled and is not reading: drop what is left.
		s.pending, s.hasPending = Event{}, false
		close(s.events)
		return true
	}
	return false
}
