package engine

import (
	"strings"
	"unicode/utf8"
)

// textOut turns a sequence's token pieces into text deltas. It emits only
// complete UTF-8 (a multi-byte character split across tokens, common in
// Korean with byte-fallback vocabularies, waits for its last byte) and never
// any part of a stop string: text that could still grow into a stop string
// is held back until it cannot.
type textOut struct {
	stops   []string
	partial []byte // bytes of an incomplete UTF-8 character
	held    string // complete text not yet emitted
}

// push adds one token's bytes. It returns the text that is now safe to emit
// and whether a stop string matched; after a match the caller finishes the
// sequence and the text from the stop string on is dropped.
func (o *textOut) push(piece []byte) (string, bool) {
	o.partial = append(o.partial, piece...)
	n := completePrefix(o.partial)
	o.held += sanitize(o.partial[:n])
	o.partial = append(o.partial[:0], o.partial[n:]...)
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
	out := o.held + sanitize(o.partial)
	o.held, o.partial = "", o.partial[:0]
	return out
}

// completePrefix returns how many leading bytes of b can be decoded now: all
// of b except a trailing, still incomplete multi-byte character.
func completePrefix(b []byte) int {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax+1; i-- {
		if utf8.RuneStart(b[i]) {
			if utf8.FullRune(b[i:]) {
				return len(b)
			}
			return i
		}
	}
	return len(b)
}

// sanitize converts bytes to a string, replacing each invalid byte with
// U+FFFD. Replacing byte by byte (not run by run) makes the result the same
// however the bytes were split into pieces.
func sanitize(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var sb strings.Builder
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size == 1 {
			sb.WriteString("\uFFFD")
		} else {
			sb.Write(b[:size])
		}
		b = b[size:]
	}
	return sb.String()
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
