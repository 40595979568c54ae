package sample

import "strings"

// ThinkingBudget holds a reasoning model's thinking to budget tokens
// (llama.cpp's reasoning budget, Anthropic's budget_tokens): a reply that
// thinks — it begins with tags' opening (<think>), or its prompt opened
// it (open) — may write budget tokens inside the thinking; then message
// (may be empty) and the closing (</think>) are forced, token by token as
// the model prefers to spell them, and the reply goes on free. A thinking
// the model closes itself within the budget is left alone, as is a reply
// that does not think. inner, when not nil, holds throughout as well: a
// token must pass both.
func ThinkingBudget(v *Vocab, budget int, message string, tags ThinkTags, open bool, inner Constraint) Constraint {
	tags = tags.orDefault()
	b := &thinkBudget{v: v, budget: max(budget, 0), tags: tags, close: message + tags.Close, inner: inner}
	if open {
		b.think("")
	}
	return b
}

type thinkBudget struct {
	v      *Vocab
	tags   ThinkTags
	budget int
	close  string // what is forced once the budget is spent
	inner  Constraint
	phase  int    // phaseStart, phaseThinking or phaseAnswer (the thinking is over, or there is none)
	n      int    // tokens written inside the thinking
	tail   string // start: the <think> written so far; thinking: a possible start of </think>
	forced string // thinking: the forced text still to write ("" while under budget)
}

// think enters the thinking with its first bytes s.
func (b *thinkBudget) think(s string) {
	b.phase, b.tail = phaseThinking, ""
	b.scan(s)
	if b.phase == phaseThinking && b.n >= b.budget {
		b.force()
	}
}

// scan reads thinking bytes, looking for the model's own </think>.
func (b *thinkBudget) scan(s string) {
	var found bool
	if _, b.tail, found = seek(b.tail, s, b.tags.Close); found {
		b.phase, b.tail = phaseAnswer, ""
	}
}

// force starts writing the forced text. A </think> the model had begun
// is finished rather than started again.
func (b *thinkBudget) force() {
	b.forced = b.close
	if b.tail != "" && b.close == b.tags.Close {
		b.forced = b.tags.Close[len(b.tail):]
	}
}

// forcing is whether only the forced text may come next.
func (b *thinkBudget) forcing() bool { return b.phase == phaseThinking && b.forced != "" }

// continues is whether tok writes on in the forced text (or finishes it
// and goes past).
func (b *thinkBudget) continues(tok int32) bool {
	p := string(b.v.piece(tok))
	return p != "" && (strings.HasPrefix(b.forced, p) || strings.HasPrefix(p, b.forced))
}

func (b *thinkBudget) Allows(tok int32) bool {
	if b.inner != nil && !b.inner.Allows(tok) {
		return false
	}
	return !b.forcing() || b.continues(tok)
}

func (b *thinkBudget) Accept(tok int32) {
	if b.inner != nil {
		b.inner.Accept(tok)
	}
	p := string(b.v.piece(tok))
	switch {
	case b.phase == phaseStart:
		w := b.tail + p
		switch {
		case strings.HasPrefix(w, b.tags.Open):
			b.think(w[len(b.tags.Open):])
		case strings.HasPrefix(b.tags.Open, w):
			b.tail = w
		default:
			b.phase = phaseAnswer
		}
	case b.forcing():
		if len(p) >= len(b.forced) {
			b.phase, b.forced = phaseAnswer, ""
		} else {
			b.forced = b.forced[len(p):]
		}
	case b.phase == phaseThinking:
		b.n++
		b.scan(p)
		if b.phase == phaseThinking && b.n >= b.budget {
			b.force()
		}
	}
}

func (b *thinkBudget) Complete() bool { return b.inner != nil && b.inner.Complete() }

// eachAllowed lists the tokens both rules allow, through inner's own list
// when it has one.
func (b *thinkBudget) eachAllowed(allow func(tok int32)) {
	forcing := b.forcing()
	keep := func(tok int32) {
		if !forcing || b.continues(tok) {
			allow(tok)
		}
	}
	if l, ok := b.inner.(tokenLister); ok {
		l.eachAllowed(keep)
		return
	}
	for tok := range int32(b.v.Len()) {
		if b.inner == nil || b.inner.Allows(tok) {
			keep(tok)
		}
	}
}
