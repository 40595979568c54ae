package sample

import (
	"bytes"
	"strings"
)

// Trigger says when a lazily applied constraint starts (Triggered).
type Trigger struct {
	// Text is what starts the constraint: a tool call's opening marker.
	Text string
	// Markers holds the text of tokens the Vocab shows as empty (control
	// tokens) whose text the output still carries, such as a call's
	// markers when they are control tokens: they are read as that text.
	Markers map[int32]string
	// Thinking: the text inside <think>…</think> (ThinkTags', when set)
	// is not searched for the trigger, since a reasoning model may mention
	// a call while it plans one. Open says the prompt already opened the
	// thinking.
	Thinking, Open bool
	ThinkTags      ThinkTags
	// Once ends the output after the first held part (OpenAI's
	// parallel_tool_calls false): the constraint is then Complete.
	Once bool
}

// maxTriggerGap bounds the whitespace between a trigger and the value it
// starts.
const maxTriggerGap = 8

// Triggered leaves the output free until it writes tr.Text, then holds
// what follows to a fresh constraint from next: at most a little
// whitespace, then the constraint, whose own end (a ConstraintThen
// suffix) closes the held part. After that the output is free again, and
// the next trigger starts another. This is llama.cpp's lazy grammar: a
// model given tools may answer in prose, but a call it begins is
// well-formed, and the reply cannot end inside one. next must return
// this package's constraints. Triggered is Complete only after a held
// part under Trigger.Once; otherwise the output ends when the model ends
// it.
func Triggered(v *Vocab, tr Trigger, next func() Constraint) Constraint {
	if tr.Text == "" {
		panic("sample.Triggered: empty trigger")
	}
	tr.ThinkTags = tr.ThinkTags.orDefault()
	t := &triggered{v: v, tr: tr, next: next}
	if tr.Thinking && tr.Open {
		t.st.phase = trigThinking
	}
	return t
}

const (
	trigFree     = iota // searching for the trigger
	trigThinking        // inside <think>…</think>
	trigGap             // after the trigger, before the value
	trigHeld            // under the inner constraint
	trigDone            // after the one held part Once allows: nothing more
)

type triggered struct {
	v     *Vocab
	tr    Trigger
	next  func() Constraint
	st    trigState
	inner byteConstraint // the held part's constraint (trigHeld, trigGap)
	probe byteConstraint // a fresh one, to judge a token that writes the trigger; never accepted into
}

// trigState is the wrapper's own state, copied to judge a token.
type trigState struct {
	phase int
	tail  string // free: a possible start of the trigger or <think>; thinking: of </think>
	gap   int    // whitespace bytes after the trigger
	fresh bool   // the trigger came in the text being judged: the probe holds
}

// text is tok's text as the output carries it.
func (t *triggered) text(tok int32) []byte {
	if p := t.v.piece(tok); len(p) > 0 {
		return p
	}
	if m, ok := t.tr.Markers[tok]; ok {
		return []byte(m)
	}
	return nil
}

// held is the constraint bytes in the held part go to.
func (t *triggered) held(st *trigState, accept bool) byteConstraint {
	switch {
	case accept && st.fresh:
		t.inner, st.fresh = t.next().(byteConstraint), false
	case !accept && st.fresh:
		if t.probe == nil {
			t.probe = t.next().(byteConstraint)
		}
		return t.probe
	}
	return t.inner
}

// run moves st over s, the text of one token; bytes in the held part go
// to its constraint (accepted into it when accept is set).
func (t *triggered) run(st *trigState, s string, accept bool) bool {
	for s != "" {
		switch st.phase {
		case trigFree:
			w := st.tail + s
			at, think := strings.Index(w, t.tr.Text), -1
			if t.tr.Thinking {
				think = strings.Index(w, t.tr.ThinkTags.Open)
			}
			switch {
			case think >= 0 && (at < 0 || think < at):
				st.phase, st.tail, s = trigThinking, "", w[think+len(t.tr.ThinkTags.Open):]
			case at >= 0:
				st.phase, st.tail, st.gap, st.fresh, s = trigGap, "", 0, true, w[at+len(t.tr.Text):]
				t.held(st, accept)
			default:
				keep := partialSuffix(w, t.tr.Text)
				if t.tr.Thinking {
					keep = max(keep, partialSuffix(w, t.tr.ThinkTags.Open))
				}
				st.tail, s = w[len(w)-keep:], ""
			}
		case trigThinking:
			var found bool
			if s, st.tail, found = seek(st.tail, s, t.tr.ThinkTags.Close); found {
				st.phase = trigFree
			}
		case trigGap:
			var ok bool
			if s, ok = skipGap(&st.gap, s, maxTriggerGap); !ok {
				return false
			}
			if s != "" {
				st.phase = trigHeld
			}
		case trigHeld:
			c := t.held(st, accept)
			if !accept {
				return c.allowsBytes([]byte(s))
			}
			c.acceptBytes([]byte(s))
			if c.Complete() {
				st.phase, t.inner = t.after(), nil
			}
			return true
		default: // trigDone
			return false
		}
	}
	return true
}

// after is the phase a held part's end leads to.
func (t *triggered) after() int {
	if t.tr.Once {
		return trigDone
	}
	return trigFree
}

func (t *triggered) Allows(tok int32) bool {
	switch {
	case t.st.phase == trigDone:
		return t.v.isEnd(tok)
	case t.st.phase == trigHeld && (len(t.v.piece(tok)) > 0 || t.v.isEnd(tok)):
		return t.inner.Allows(tok) // its own judgement, with its caches
	case t.v.isEnd(tok):
		return t.st.phase != trigGap // no end inside a held part
	}
	p := t.text(tok)
	if len(p) == 0 {
		// A control token with no text: free outside a held part.
		return t.st.phase == trigFree || t.st.phase == trigThinking
	}
	st := t.st
	return t.run(&st, string(p), false)
}

func (t *triggered) Accept(tok int32) {
	if t.st.phase == trigHeld && len(t.v.piece(tok)) > 0 {
		t.inner.Accept(tok)
		if t.inner.Complete() {
			t.st.phase, t.inner = t.after(), nil
		}
		return
	}
	if p := t.text(tok); len(p) > 0 {
		t.run(&t.st, string(p), true)
	}
}

func (t *triggered) Complete() bool { return t.st.phase == trigDone }

// eachAllowed lists a held part's tokens from its constraint's own walk.
// Outside one, a token can be refused only for what it writes after a
// trigger it completes, so only the tokens holding the trigger's last
// byte are judged one by one.
func (t *triggered) eachAllowed(allow func(tok int32)) {
	if t.st.phase == trigDone {
		for _, end := range t.v.ends {
			allow(end)
		}
		return
	}
	l, lists := t.inner.(tokenLister)
	if lists && t.st.phase == trigHeld {
		l.eachAllowed(allow)
		for tok := range t.tr.Markers {
			if len(t.v.piece(tok)) == 0 && t.Allows(tok) {
				allow(tok)
			}
		}
		return
	}
	if t.st.phase == trigGap || t.st.phase == trigHeld {
		for id := range int32(t.v.Len()) {
			if t.Allows(id) {
				allow(id)
			}
		}
		return
	}
	judge := t.v.holding(t.tr.Text[len(t.tr.Text)-1]) // sorted ids
	for id := range int32(t.v.Len()) {
		if len(judge) > 0 && judge[0] == id {
			judge = judge[1:]
			if !t.Allows(id) {
				continue
			}
		} else if _, marker := t.tr.Markers[id]; marker && !t.Allows(id) {
			continue
		}
		allow(id)
	}
}

// holding lists, in id order, the tokens whose bytes include b; a list is
// built once a byte and shared.
func (v *Vocab) holding(b byte) []int32 {
	v.holdMu.Lock()
	defer v.holdMu.Unlock()
	if ids, ok := v.hold[b]; ok {
		return ids
	}
	ids := []int32{}
	for id, p := range v.pieces {
		if bytes.IndexByte(p, b) >= 0 {
			ids = append(ids, int32(id))
		}
	}
	if v.hold == nil {
		v.hold = make(map[byte][]int32)
	}
	v.hold[b] = ids
	return ids
}
