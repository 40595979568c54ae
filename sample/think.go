package sample

import "strings"

// byteConstraint is a constraint that can also judge raw bytes: the part
// of a token that falls after a thinking block.
type byteConstraint interface {
	Constraint
	allowsBytes(b []byte) bool
	acceptBytes(b []byte)
}

// maxThinkGap bounds the whitespace between </think> and the constrained
// answer.
const maxThinkGap = 8

// ThinkTags are the texts that open and close a reasoning model's
// thinking: <think> and </think> (DefaultThinkTags), or another model's
// (Gemma 4's <|channel>thought and <channel|>).
type ThinkTags struct{ Open, Close string }

// DefaultThinkTags are <think> and </think>.
var DefaultThinkTags = ThinkTags{Open: "<think>", Close: "</think>"}

// orDefault is t, or DefaultThinkTags when t is unset.
func (t ThinkTags) orDefault() ThinkTags {
	if t.Open == "" || t.Close == "" {
		return DefaultThinkTags
	}
	return t
}

// AfterThinking applies c to the answer after a reasoning model's
// thinking: a reply that begins with tags' opening (<think>; or whose
// prompt opened it, open) may think freely until its closing (</think>),
// then write at most a little whitespace, then must follow c. A reply
// that does not think follows c from its first byte. c must be one of
// this package's constraints.
func AfterThinking(v *Vocab, c Constraint, tags ThinkTags, open bool) Constraint {
	t := &thinkFirst{v: v, inner: c.(byteConstraint), tags: tags.orDefault()}
	if open {
		t.phase = phaseThinking
	}
	return t
}

const (
	phaseStart    = iota // nothing written: <think>, or the answer
	phaseThinking        // inside the thinking
	phaseGap             // after </think>, before the answer
	phaseAnswer          // the answer, under the inner constraint
)

type thinkFirst struct {
	v     *Vocab
	tags  ThinkTags
	inner byteConstraint
	phase int
	tail  string // start: the <think> written so far; thinking: a possible start of </think>
	gap   int    // whitespace bytes after </think>
}

// thinkState is the wrapper's own state, copied to judge a token.
type thinkState struct {
	phase, gap int
	tail       string
}

func (t *thinkFirst) state() thinkState { return thinkState{t.phase, t.gap, t.tail} }

// run moves st over b. Bytes that reach the answer are judged by the
// inner constraint (accepted into it when accept is set).
func (t *thinkFirst) run(st *thinkState, b []byte, accept bool) bool {
	s := string(b)
	for s != "" {
		switch st.phase {
		case phaseStart:
			w := st.tail + s
			switch {
			case strings.HasPrefix(w, t.tags.Open):
				st.phase, st.tail, s = phaseThinking, "", w[len(t.tags.Open):]
			case strings.HasPrefix(t.tags.Open, w):
				st.tail, s = w, ""
			case st.tail == "":
				st.phase = phaseAnswer
			default:
				return false
			}
		case phaseThinking:
			var found bool
			if s, st.tail, found = seek(st.tail, s, t.tags.Close); found {
				st.phase = phaseGap
			}
		case phaseGap:
			var ok bool
			if s, ok = skipGap(&st.gap, s, maxThinkGap); !ok {
				return false
			}
			if s != "" {
				st.phase = phaseAnswer
			}
		case phaseAnswer:
			if accept {
				t.inner.acceptBytes([]byte(s))
				return true
			}
			return t.inner.allowsBytes([]byte(s))
		}
	}
	return true
}

func (t *thinkFirst) Allows(tok int32) bool {
	if t.phase == phaseAnswer {
		return t.inner.Allows(tok)
	}
	p := t.v.piece(tok)
	if len(p) == 0 {
		return false // no end before the answer
	}
	st := t.state()
	return t.run(&st, p, false)
}

func (t *thinkFirst) Accept(tok int32) {
	if t.phase == phaseAnswer {
		t.inner.Accept(tok)
		return
	}
	st := t.state()
	t.run(&st, t.v.piece(tok), true)
	t.phase, t.gap, t.tail = st.phase, st.gap, st.tail
}

func (t *thinkFirst) Complete() bool { return t.phase == phaseAnswer && t.inner.Complete() }

func (t *thinkFirst) eachAllowed(allow func(tok int32)) {
	if l, ok := t.inner.(tokenLister); ok && t.phase == phaseAnswer {
		l.eachAllowed(allow)
		return
	}
	for id := range int32(t.v.Len()) {
		if t.Allows(id) {
			allow(id)
		}
	}
}

// The byte-level side of the package's constraints.

func (c *jsonConstraint) allowsBytes(b []byte) bool {
	st := c.st
	return st.feed(b)
}

func (c *jsonConstraint) acceptBytes(b []byte) { c.st.feed(b) }

func (c *schemaConstraint) allowsBytes(b []byte) bool {
	c.st.copyTo(&c.scratch)
	off := c.off
	return c.run(&c.scratch, &off, b)
}

func (c *schemaConstraint) acceptBytes(b []byte) { c.run(&c.st, &c.off, b) }

func (c *choiceConstraint) allowsBytes(b []byte) bool {
	st := c.state()
	for _, x := range b {
		if !c.step(&st, x) {
			return false
		}
	}
	return true
}

func (c *choiceConstraint) acceptBytes(b []byte) {
	st := c.state()
	for _, x := range b {
		if !c.step(&st, x) {
			return
		}
	}
	c.lo, c.hi, c.off = st.lo, st.hi, st.off
}

// seek looks for marker in tail+s, tail being what the text before s
// left that may start it. Found, it returns the text after the marker;
// otherwise nothing, and the new tail.
func seek(tail, s, marker string) (rest, newTail string, found bool) {
	w := tail + s
	if i := strings.Index(w, marker); i >= 0 {
		return w[i+len(marker):], "", true
	}
	return "", w[len(w)-partialSuffix(w, marker):], false
}

// skipGap drops s's leading whitespace, counting it in *gap; false when
// the gap grows past limit bytes.
func skipGap(gap *int, s string, limit int) (string, bool) {
	trimmed := strings.TrimLeft(s, " \t\r\n")
	*gap += len(s) - len(trimmed)
	return trimmed, *gap <= limit
}

// partialSuffix is the length of the longest suffix of s that is a proper
// prefix of marker: text that may yet become the marker.
func partialSuffix(s, marker string) int {
	for n := min(len(s), len(marker)-1); n > 0; n-- {
		if strings.HasSuffix(s, marker[:n]) {
			return n
		}
	}
	return 0
}
