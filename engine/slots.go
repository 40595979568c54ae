package engine

// Slots number the running sequences the way llama-server numbers its
// slots: MaxNumSeqs of them, each sequence holding the lowest free one
// from admission until it finishes or is preempted. Monitoring tools read
// them (llama-server's GET /slots); the scheduler itself never looks at a
// slot.

// SlotState is one slot at the end of the last step.
type SlotState struct {
	Slot int  // 0 .. MaxNumSeqs-1
	Busy bool // a sequence holds it; the fields below describe that sequence
	// ID is the sequence's request id; Task its submission number (1, 2,
	// …), llama-server's id_task.
	ID   string
	Task uint64
	// Request is what was submitted (shared, read-only).
	Request *Request
	// PromptTokens is the prompt's length; PromptDone how many of its
	// tokens have their K/V in the cache (cached prefix included), so the
	// prompt is being processed while PromptDone < PromptTokens;
	// CachedTokens those served from the prefix cache at admission.
	PromptTokens, PromptDone, CachedTokens int
	// Generated counts the tokens sampled so far.
	Generated int
	// Speculative: the slot's sequences may be drafted for (Config.SpecTokens
	// or Config.Draft is on, or the request carries a Prediction).
	Speculative bool
}

// slotTable is which running sequence holds each slot (scheduler-owned;
// Engine.slotSnap is what Slots reads).
type slotTable struct {
	holder []*Sequence
	live   []bool // assignSlots' scratch: the slots a running sequence holds
}

// assignSlots frees the slots of sequences that left the running list
// and gives a slot to each running sequence without one. Called once a
// step, before publish.
func (e *Engine) assignSlots() {
	t := &e.slots
	n := max(e.cfg.MaxNumSeqs, len(e.running))
	for len(t.holder) < n {
		t.holder = append(t.holder, nil)
		t.live = append(t.live, false)
	}
	clear(t.live)
	for _, s := range e.running {
		if s.slot >= 0 && !s.finished {
			t.live[s.slot] = true
		}
	}
	for i, s := range t.holder {
		if s != nil && !t.live[i] {
			s.slot = -1
			t.holder[i] = nil
		}
	}
	free := 0
	for _, s := range e.running {
		if s.slot >= 0 || s.finished {
			continue
		}
		for t.holder[free] != nil {
			free++
		}
		s.slot, t.holder[free] = free, s
	}
}

// slotStatesLocked snapshots the slots into dst (reused) for Slots; e.mu
// is held by the caller, the scheduler goroutine.
func (e *Engine) slotStatesLocked(dst []SlotState) []SlotState {
	dst = dst[:0]
	drafts := e.cfg.SpecTokens > 0 || e.draft != nil
	for i, s := range e.slots.holder {
		st := SlotState{Slot: i, Speculative: drafts}
		if s != nil {
			st = SlotState{
				Slot: i, Busy: true, ID: s.id, Task: s.arrival, Request: &s.req,
				PromptTokens: s.nPrompt, PromptDone: min(s.nComputed, s.nPrompt),
				CachedTokens: s.cached, Generated: s.generated(),
				Speculative: drafts || len(s.req.Prediction) > 0,
			}
		}
		dst = append(dst, st)
	}
	return dst
}

// Slots returns the slots as of the end of the last step; safe from any
// goroutine. The slice is the caller's.
func (e *Engine) Slots() []SlotState {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]SlotState, len(e.slotSnap))
	copy(out, e.slotSnap)
	return out
}
