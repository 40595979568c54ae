package sample

import (
	"math"
	"unicode/utf8"
)

// Unique strings under a pattern or format (a set of e-mail addresses,
// tags under a pattern: uniqueItems on such strings). A text written
// before is refused where it ends, as for plain strings; a pattern may
// also leave a text few ways to go on (^[a-z]+\.md$ after "a.m" only
// "d" and the end), so a character, or a character's first bytes, is
// taken only where the text can still end as one not written before:
// where more texts can follow than items were written, at once, and
// otherwise by trying the few there are. The texts are counted over the
// classes of characters the automata tell apart (charClasses), each as
// many times as it has characters.

// uniqueTexts says whether n is a unique string item under a pattern or
// format, whose characters uniqueLeft judges.
func (n *schemaNode) uniqueTexts() bool {
	return n.kind == kString && n.unique && n.texts[0] != nil
}

// uniqueArray says whether array n's items are unique (an enum's,
// counted off in same, or items that remember those written before),
// which arrays joined as their items are written would not hold.
func (n *schemaNode) uniqueArray() bool {
	return n.same != nil || n.values != nil && n.values.unique
}

// uniqueKey is the schema whose values tell unique items n apart: n's
// own, or an object's key property's (uniqueObjects).
func (n *schemaNode) uniqueKey() *schemaNode {
	if n.kind == kObject && n.unique {
		return n.props[n.keyProp].node
	}
	return n
}

// textClass is a class of characters the automata tell apart: its first
// character (rep) and how many it has (surrogates are none).
type textClass struct {
	lo, end rune // [lo, end)
	rep     rune
	size    int
}

// classes are n's character classes (n.starts, as charClasses made
// them), worked out once when the unique item is compiled (uniqueScalars).
func (n *schemaNode) classes() []textClass { return n.textClasses }

// makeClasses is classes, worked out.
func (n *schemaNode) makeClasses() []textClass {
	var out []textClass
	for i, b := range n.starts {
		end := rune(utf8.MaxRune + 1)
		if i+1 < len(n.starts) {
			end = n.starts[i+1]
		}
		rep, ok := classChar(b, end)
		if !ok {
			continue
		}
		out = append(out, textClass{lo: b, end: end, rep: rep, size: charsIn(b, end)})
	}
	return out
}

// charsIn is how many characters [lo, end) holds: its code points less
// the surrogates, which no UTF-8 text holds.
func charsIn(lo, end rune) int {
	size := int(end - lo)
	if a, b := max(lo, 0xD800), min(end, 0xE000); a < b {
		size -= int(b - a)
	}
	return size
}

// fewer is the characters left after one more is written, of left (-1:
// no bound, which stays so).
func fewer(left int) int {
	if left < 0 {
		return -1
	}
	return left - 1
}

// stepRune moves states st past the bytes of r from the skip-th on (a
// character whose first skip bytes were read), and hash h likewise.
func (n *schemaNode) stepRune(st *textStates, h *uint64, r rune, skip int) bool {
	var buf [4]byte
	for _, b := range utf8.AppendRune(buf[:0], r)[skip:] {
		if !n.stepTexts(st, b) {
			return false
		}
		*h = (*h ^ uint64(b)) * fnvPrime
	}
	return true
}

// live says whether the automata in st can still become whole within
// left characters (-1: any number).
func (n *schemaNode) live(st textStates, left int) bool {
	if !n.textsLive(st) {
		return false
	}
	d := n.finishDistance(st)
	return d != math.MaxInt && (left < 0 || d <= left)
}

// textCount counts the texts of at most left characters (-1: any number)
// that take the automata from st to whole, up to limit (limit: as many or
// more, or infinitely many). path holds the states on the way to st,
// where a state met again closes a loop.
func (n *schemaNode) textCount(st textStates, left, limit int, path map[textStates]bool) int {
	total := 0
	if n.wholeAt(st) {
		total = 1
	}
	if left == 0 || total >= limit {
		return min(total, limit)
	}
	if left < 0 {
		if path[st] {
			return limit // a loop of live states: texts without end
		}
		path[st] = true
		defer delete(path, st)
	}
	next := fewer(left)
	for _, c := range n.classes() {
		to, h := st, uint64(0)
		if !n.stepRune(&to, &h, c.rep, 0) || !n.live(to, next) {
			continue
		}
		if total += c.size * n.textCount(to, next, limit, path); total >= limit {
			return limit
		}
	}
	return total
}

// maxUniqueTries bounds the texts unseenText tries, beyond which a text
// is taken to have no way on (refused: never a dead end).
const maxUniqueTries = 4096

// unseenText says whether some text of at most left characters takes
// the automata from st to whole and, appended to the text whose hash is
// h, makes one not in seen.
func (n *schemaNode) unseenText(st textStates, h uint64, left int, seen *seenList, tries *int) bool {
	if n.wholeAt(st) && !seen.has(h) {
		return true
	}
	if left == 0 {
		return false
	}
	next := fewer(left)
	return n.unseenThrough(st, h, 0, utf8.MaxRune, 0, next, seen, tries)
}

// unseenThrough is unseenText through a character in [lo, hi] first, of
// which skip bytes are read already, with next characters left after
// it: the characters are tried one by one, in the classes that can go on
// (every character of a class goes alike).
func (n *schemaNode) unseenThrough(st textStates, h uint64, lo, hi rune, skip, next int, seen *seenList, tries *int) bool {
	for _, c := range n.classes() {
		a, b := max(c.lo, lo), min(c.end-1, hi)
		if a > b {
			continue
		}
		rep, ok := classChar(a, b+1)
		probe, ph := st, h
		if !ok || !n.stepRune(&probe, &ph, rep, skip) || !n.live(probe, next) {
			continue
		}
		for r := a; r <= b; r++ {
			if r >= 0xD800 && r <= 0xDFFF {
				continue
			}
			if *tries--; *tries <= 0 {
				return false
			}
			to, th := st, h
			if n.stepRune(&to, &th, r, skip) && n.unseenText(to, th, next, seen, tries) {
				return true
			}
		}
	}
	return false
}

// uniqueLeft says whether the unique item in string frame f, at a
// character's end, can still end as a text not written before.
func (n *schemaNode) uniqueLeft(f *schemaFrame) bool {
	return n.uniqueFrom(f.pat, f.hash, n.charsLeft(f), f.seen)
}

// charsLeft is how many characters maxLength leaves string frame f (-1:
// no bound), and more of them: the character being written, which the
// count has taken already.
func (n *schemaNode) charsLeft(f *schemaFrame, more ...int) int {
	if n.max < 0 {
		return -1
	}
	extra := 0
	for _, m := range more {
		extra += m
	}
	return max(n.max-int(f.count)+extra, 0)
}

// uniqueFrom says whether a text of at most left characters takes the
// automata from st to whole and makes, after the text of hash h, one
// not in seen.
func (n *schemaNode) uniqueFrom(st textStates, h uint64, left int, seen *seenList) bool {
	written := seen.len()
	if written == 0 {
		return true
	}
	if n.textCount(st, left, written+1, map[textStates]bool{}) > written {
		return true
	}
	tries := maxUniqueTries
	return n.unseenText(st, h, left, seen, &tries)
}

// uniqueWithin says whether the unique item in string frame f, within a
// character of which skip bytes are read, can still end as a text not
// written before through a character in [lo, hi]; left is how many
// characters maxLength leaves, that one among them (-1: no bound).
func (n *schemaNode) uniqueWithin(f *schemaFrame, lo, hi rune, skip, left int) bool {
	if f.seen == nil {
		return true // nothing written before (the automata are judged apart)
	}
	next, written := fewer(left), f.seen.len()
	count := 0
	for _, c := range n.classes() {
		a, b := max(c.lo, lo), min(c.end-1, hi)
		if a > b {
			continue
		}
		rep, ok := classChar(a, b+1)
		to, h := f.pat, f.hash
		if !ok || !n.stepRune(&to, &h, rep, skip) || !n.live(to, next) {
			continue
		}
		if count += charsIn(a, b+1) * n.textCount(to, next, written+1, map[textStates]bool{}); count > written {
			return true
		}
	}
	tries := maxUniqueTries
	return n.unseenThrough(f.pat, f.hash, lo, hi, skip, next, f.seen, &tries)
}

// charRange is the characters a character's first bytes leave, [lo,
// hi] from their bits (lo, hi) with left continuation bytes still to
// come, and how many bytes were read: after a lead byte alone the bits
// reach below the characters of its length (0xF0's 0 to 0x3FFFF, whose
// characters start at 0x10000), which are cut off.
func charRange(lo, hi rune, left int, lead bool) (rune, rune, int) {
	if lead {
		size := left + 1
		return max(lo, [...]rune{0, 0, 0x80, 0x800, 0x10000}[size]), hi, 1
	}
	return lo, hi, utf8.RuneLen(lo) - left
}

// uniqueEscape says whether a unique item's text, at a backslash, can go
// on through an escape (a short one, or \u of a character of the Basic
// Multilingual Plane) to a text not written before.
func (n *schemaNode) uniqueEscape(f *schemaFrame) bool {
	if n.uniqueWithin(f, 0, 0xFFFF, 0, n.charsLeft(f)) {
		return true
	}
	next := fewer(n.charsLeft(f))
	for _, e := range []byte("\"\\/bfnrt") {
		to, h := f.pat, f.hash
		if n.stepRune(&to, &h, rune(unescapeJSON(e)), 0) && n.live(to, next) && n.uniqueFrom(to, h, next, f.seen) {
			return true
		}
	}
	return false
}
