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
	stops       []string
	includeStop bool                 // a matched stop string stays in the text (Request.IncludeStop)
	utf8        tokenizer.UTF8Stream // holds an incomplete UTF-8 character
	held        string               // complete text not yet emitted
}

// push adds one token's bytes. It returns the text that is now safe to emit
// and the stop string that matched, if one did; after a match the caller
// finishes the sequence and the text after the stop string (and the stop
// string itself, unless includeStop) is dropped. With check false no stop
// string is looked for (before Request.MinTokens) and nothing is held.
func (o *textOut) push(piece []byte, check bool) (string, string, bool) {
	o.held += o.utf8.Push(piece)
	if len(o.stops) == 0 || !check {
		out := o.held
		o.held = ""
		return out, "", false
	}
	// Every match starts inside held: what was emitted could not begin one.
	if i, stop := earliestStop(o.held, o.stops); i >= 0 {
		end := i
		if o.includeStop {
			end += len(stop)
		}
		out := o.held[:end]
		o.held = ""
		return out, stop, true
	}
	keep := heldSuffix(o.held, o.stops)
	out := o.held[:len(o.held)-keep]
	o.held = o.held[len(o.held)-keep:]
	return out, "", false
}

// flush returns everything held back, for a sequence ending without a stop
// string match. Bytes of an unfinished character become U+FFFD.
func (o *textOut) flush() string {
	out := o.held + o.utf8.Flush()
	o.held = ""
	return out
}

// earliestStop returns the first index at which any stop string occurs in
// s, or -1, and that stop string (the longest of those starting there).
func earliestStop(s string, stops []string) (int, string) {
	best, which := -1, ""
	for _, st := range stops {
		if i := strings.Index(s, st); i >= 0 && (best < 0 || i < best || (i == best && len(st) > len(which))) {
			best, which = i, st
		}
	}
	return best, which
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

// lineWatch follows the lines of a sequence's output for
// Request.MinIndent and Request.PredictTimeLimit: whether a newline has
// come, and the indentation of the line being written.
type lineWatch struct {
	newline   bool // the output holds a newline
	lineStart bool // still in the current line's leading spaces and tabs
	indent    int  // how many of them so far
}

// watch reads one token's bytes. With minIndent > 0, a line after the
// first whose first character other than a space or tab comes after
// fewer than minIndent of them cuts piece just before that character and
// reports it; the caller ends the sequence.
func (w *lineWatch) watch(piece []byte, minIndent int) ([]byte, bool) {
	for i, c := range piece {
		switch {
		case c == '\n':
			w.newline, w.lineStart, w.indent = true, true, 0
		case !w.lineStart:
		case c == ' ' || c == '\t':
			w.indent++
		default:
			w.lineStart = false
			if minIndent > 0 && w.indent < minIndent {
				return piece[:i], true
			}
		}
	}
	return piece, false
}
