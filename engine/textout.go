package engine

import (
	"strings"

	"github.com/nuri-ai/nuri/tokenizer"
)

// textOut turns a sequence's token pieces into text deltas. It emits only
// complete UTF-8 (a multi-byte character split across tokens, common in
// Korean with byte-fallback vocabularies, waits for its last byte) and never
// any part of a stop string: text that could still grow into a stop string
// is held back until it cannot.
type textOut struct {
	stops []string
	utf8  tokenizer.UTF8Stream // holds an incomplete UTF-8 character
	held  string               // complete text not yet emitted
}

// push adds one token's bytes. It returns the text that is now safe to emit
// and whether a stop string matched; after a match the caller finishes the
// sequence and the text from the stop string on is dropped.
func (o *textOut) push(piece []byte) (string, bool) {
	o.held += o.utf8.Push(piece)
	if len(o.stops) == 0 {
		out := o.held
		o.held = ""
		return out, false
	}
	// Every match starts inside held: what was emitted could not begin one.
	if i := earliestStop(o.held, o.stops); i >= 0 {
		out := o.held[:i]
		o.held = ""
		return out, true
	}
	keep := heldSuffix(o.held, o.stops)
	out := o.held[:len(o.held)-keep]
	o.held = o.held[len(o.held)-keep:]
	return out, false
}

// flush returns everything held back, for a sequence ending without a stop
// string match. Bytes of an unfinished character become U+FFFD.
func (o *textOut) flush() string {
	out := o.held + o.utf8.Flush()
	o.held = ""
	return out
}

// earliestStop returns the first index at which any stop string occurs in
// s, or -1.
func earliestStop(s string, stops []string) int {
	best := -1
	for _, st := range stops {
		if i := strings.Index(s, st); i >= 0 && (best < 0 || i < best) {
			best = i
		}
	}
	return best
}

// heldSuffix returns the length of the longest suffix of s that is a proper
// prefix of some stop string (and so may still become a match).
func heldSuffix(s string, stops []string) int {
	keep := 0
	for _, st := range stops {
		for k := min(len(st)-1, len(s)); k > keep; k-- {
			if strings.HasSuffix(s, st[:k]) {
				keep = k
				break
			}
		}
	}
	return keep
}
