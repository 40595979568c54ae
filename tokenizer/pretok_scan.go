package tokenizer

import "unicode"

// The two hand-written scanners llama.cpp uses for its most common regexes
// (unicode_regex_split_custom_gpt2 and ..._llama3). They walk the code
// points once, with at most two code points of look-ahead, and reproduce
// the regex's leftmost-alternative semantics exactly. Positions at or past
// the end of the piece read as "no code point" (flags 0), which is how the
// look-ahead (?!\S) sees the end of a piece.

const wsLN = cfWhitespace | cfLetter | cfNumber

// pieceWriter appends piece ends, skipping empty pieces as llama.cpp's
// _add_token does.
type pieceWriter struct {
	out  []int32
	prev int
}

func (w *pieceWriter) add(end int) {
	if end > w.prev {
		w.out = append(w.out, int32(end))
	}
	w.prev = end
}

func flagAt(c *cpText, p, hi int) cpFlags {
	if p < hi {
		return c.f[p]
	}
	return 0
}

// gpt2Scanner implements
//
//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)
//
// plus llama.cpp's \s+ fallback for whitespace the look-ahead rejects and a
// one-code-point piece for anything left over. Contractions are
// case-sensitive.
type gpt2Scanner struct{}

func (gpt2Scanner) split(c *cpText, lo, hi int, out []int32) []int32 {
	w := pieceWriter{out: out, prev: lo}
	for pos := lo; pos < hi; {
		cp, f := c.r[pos], c.f[pos]
		if cp == '\'' && pos+1 < hi {
			n := c.r[pos+1]
			if n == 's' || n == 't' || n == 'm' || n == 'd' {
				pos += 2
				w.add(pos)
				continue
			}
			if pos+2 < hi {
				nn := c.r[pos+2]
				if (n == 'r' && nn == 'e') || (n == 'v' && nn == 'e') || (n == 'l' && nn == 'l') {
					pos += 3
					w.add(pos)
					continue
				}
			}
		}
		f2 := f
		if cp == ' ' {
			f2 = flagAt(c, pos+1, hi)
		}
		switch {
		case f2&cfLetter != 0: // <space>?\p{L}+
			if cp == ' ' {
				pos++
			}
			for flagAt(c, pos, hi)&cfLetter != 0 {
				pos++
			}
			w.add(pos)
			continue
		case f2&cfNumber != 0: // <space>?\p{N}+
			if cp == ' ' {
				pos++
			}
			for flagAt(c, pos, hi)&cfNumber != 0 {
				pos++
			}
			w.add(pos)
			continue
		case f2&wsLN == 0 && f2 != 0: // <space>?[^\s\p{L}\p{N}]+
			if cp == ' ' {
				pos++
			}
			for g := flagAt(c, pos, hi); g&wsLN == 0 && g != 0; g = flagAt(c, pos, hi) {
				pos++
			}
			w.add(pos)
			continue
		}
		n := 0
		for flagAt(c, pos+n, hi)&cfWhitespace != 0 {
			n++
		}
		switch {
		case n > 1 && pos+n < hi: // \s+(?!\S): leave the last space to the next word
			pos += n - 1
		case n > 0: // \s+
			pos += n
		default: // no alternative matched: one code point on its own
			pos++
		}
		w.add(pos)
	}
	return w.out
}

// llama3Scanner implements the Llama-3 regex
//
//	(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//
// and, with maxDigits 1, Qwen2's variant (\p{N} instead of \p{N}{1,3}).
// llama.cpp runs Qwen2's regex through std::regex on its "collapsed" text;
// with every real code point carrying a category flag the two paths match
// the same pieces, so one scanner serves both. Two more variants:
// marks (Qwen3.5) reads \p{L} as [\p{L}\p{M}] in the letter run and
// excludes \p{M} from the symbol run; bareSymbols (Seed-Coder) drops the
// symbol run's trailing [\r\n]*.
type llama3Scanner struct {
	maxDigits   int // 0: \p{N}+
	marks       bool
	bareSymbols bool
	cascade     bool // Jais-2's whitespace (cascadeWhitespaceEnd)
}

func (s llama3Scanner) split(c *cpText, lo, hi int, out []int32) []int32 {
	w := pieceWriter{out: out, prev: lo}
	letters, symbols := cpFlags(cfLetter), wsLN
	if s.marks {
		letters, symbols = cfLetter|cfMark, wsLN|cfMark
	}
	for pos := lo; pos < hi; {
		cp, f := c.r[pos], c.f[pos]
		if n := contractionAt(c, pos, hi); n > 0 {
			pos += n
			w.add(pos)
			continue
		}
		// [^\r\n\p{L}\p{N}]?\p{L}+
		if !(cp == '\r' || cp == '\n' || f&cfNumber != 0) {
			if f&letters != 0 || flagAt(c, pos+1, hi)&letters != 0 {
				pos++
				for flagAt(c, pos, hi)&letters != 0 {
					pos++
				}
				w.add(pos)
				continue
			}
		}
		// \p{N}{1,maxDigits}
		if f&cfNumber != 0 {
			ini := pos
			for flagAt(c, pos, hi)&cfNumber != 0 {
				pos++
				if s.maxDigits > 0 && pos-ini >= s.maxDigits {
					w.add(pos)
					ini = pos
				}
			}
			w.add(pos)
			continue
		}
		// <space>?[^\s\p{L}\p{N}]+[\r\n]*
		tail := -1
		if s.bareSymbols {
			tail = 0
		}
		if e := symbolRun(c, pos, hi, symbols, isNewline, tail); e >= 0 {
			pos = e
			w.add(pos)
			continue
		}
		if s.cascade {
			pos = cascadeWhitespaceEnd(c, pos, hi)
		} else {
			pos = whitespaceEnd(c, pos, hi)
		}
		w.add(pos)
	}
	return w.out
}

// gpt4oScanner implements the o200k regex (GPT-4o, Llama 4, Kanana-2,
// MiniMax-M2):
//
//	[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?
//	|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?
//	|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+
//
// and, without contractions and with maxDigits 1, Mistral's tekken. A word
// is an upper-case-or-caseless run followed by a lower-case-or-caseless
// one: "helloWorld" is "hello", "World", while "HTTPServer" and "I" stay
// whole. Caseless letters (Hangul, CJK, Lm) and marks belong to both runs,
// so Korean text forms whole words; the regex backtracks into the upper
// run for them ("ABC한국DEF" is "ABC한국", "DEF").
type gpt4oScanner struct {
	contractions bool
	maxDigits    int
	// asciiCase reads the classes as granite-embed-multi-97m's
	// look-aheads do: upper is any letter or mark but a-z, lower any but
	// A-Z, so "é" and "М" are both.
	asciiCase bool
}

// caseOf is letterCase, or its ASCII-only form under asciiCase.
func (g gpt4oScanner) caseOf(r rune, f cpFlags) (upper, lower bool) {
	if !g.asciiCase {
		return letterCase(r, f)
	}
	if f&(cfLetter|cfMark) == 0 {
		return false, false
	}
	return r < 'a' || r > 'z', r < 'A' || r > 'Z'
}

// letterCase classifies a code point for the o200k classes: upper is
// [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}], lower [\p{Ll}\p{Lm}\p{Lo}\p{M}].
func letterCase(r rune, f cpFlags) (upper, lower bool) {
	switch {
	case f&cfMark != 0:
		return true, true
	case f&cfLetter == 0:
		return false, false
	case r < 0x80:
		return r <= 'Z', r >= 'a'
	case unicode.IsLower(r):
		return false, true
	case unicode.IsUpper(r) || unicode.IsTitle(r):
		return true, false
	}
	return true, true // Lm, Lo
}

// word returns the end of the first (upper then lower) or, with second,
// the second (upper run alone) letter alternative's match starting at s
// (after the optional prefix), or -1 when it does not match there.
func (g gpt4oScanner) word(c *cpText, s, hi int, second bool) int {
	k := s
	for k < hi {
		if up, _ := g.caseOf(c.r[k], c.f[k]); !up {
			break
		}
		k++
	}
	// First alternative: the longest upper run after which a lower run
	// can start; a caseless code point inside the upper run can be it.
	j := -1
	if k < hi {
		if _, low := g.caseOf(c.r[k], c.f[k]); low {
			j = k
		}
	}
	for i := k - 1; j < 0 && i >= s; i-- {
		if _, low := g.caseOf(c.r[i], c.f[i]); low {
			j = i
		}
	}
	var e int
	switch {
	case !second && j >= 0:
		e = j
		for e < hi {
			if _, low := g.caseOf(c.r[e], c.f[e]); !low {
				break
			}
			e++
		}
	case second && k > s:
		// The second alternative is only tried where the first failed
		// everywhere, so nothing lower follows its upper run.
		e = k
	default:
		return -1
	}
	if g.contractions {
		e += contractionAt(c, e, hi)
	}
	return e
}

// contractionAt returns the length of a case-insensitive 's 't 're 've 'm
// 'll 'd at p, or 0.
func contractionAt(c *cpText, p, hi int) int {
	if p+1 >= hi || c.r[p] != '\'' {
		return 0
	}
	n := lowerASCII(c.r[p+1])
	if n == 's' || n == 't' || n == 'm' || n == 'd' {
		return 2
	}
	if p+2 < hi {
		nn := lowerASCII(c.r[p+2])
		if (n == 'r' && nn == 'e') || (n == 'v' && nn == 'e') || (n == 'l' && nn == 'l') {
			return 3
		}
	}
	return 0
}

func (g gpt4oScanner) split(c *cpText, lo, hi int, out []int32) []int32 {
	w := pieceWriter{out: out, prev: lo}
	for pos := lo; pos < hi; {
		cp, f := c.r[pos], c.f[pos]
		// The two letter alternatives in order, each first with the
		// optional prefix [^\r\n\p{L}\p{N}] and then without it.
		prefix := cp != '\r' && cp != '\n' && f&(cfLetter|cfNumber) == 0
		e := -1
		for _, second := range [2]bool{false, true} {
			if prefix && pos+1 < hi {
				if e = g.word(c, pos+1, hi, second); e >= 0 {
					break
				}
			}
			if e = g.word(c, pos, hi, second); e >= 0 {
				break
			}
		}
		if e >= 0 {
			pos = e
			w.add(pos)
			continue
		}
		// \p{N}{1,maxDigits}
		if f&cfNumber != 0 {
			n := 0
			for n < g.maxDigits && flagAt(c, pos+n, hi)&cfNumber != 0 {
				n++
			}
			pos += n
			w.add(pos)
			continue
		}
		// <space>?[^\s\p{L}\p{N}]+[\r\n/]*
		if e := symbolRun(c, pos, hi, wsLN, isNewlineOrSlash, -1); e >= 0 {
			pos = e
			w.add(pos)
			continue
		}
		pos = whitespaceEnd(c, pos, hi)
		w.add(pos)
	}
	return w.out
}

// symbolRun matches <space>?[^\s…]+ at pos, the class excluding the flags
// excl (whitespace among them), then up to maxTail code points for which
// tail holds (-1: any number). It returns the end, or -1 when no run
// starts at pos.
func symbolRun(c *cpText, pos, hi int, excl cpFlags, tail func(rune) bool, maxTail int) int {
	lead := c.r[pos] == ' '
	f := c.f[pos]
	if lead {
		f = flagAt(c, pos+1, hi)
	}
	if f&excl != 0 || f == 0 {
		return -1
	}
	if lead {
		pos++
	}
	for g := flagAt(c, pos, hi); g&excl == 0 && g != 0; g = flagAt(c, pos, hi) {
		pos++
	}
	for n := 0; n != maxTail && pos < hi && tail(c.r[pos]); n++ {
		pos++
	}
	return pos
}

func isNewline(r rune) bool        { return r == '\r' || r == '\n' }
func isNewlineOrSlash(r rune) bool { return r == '\r' || r == '\n' || r == '/' }

// whitespaceEnd matches the regexes' common tail at pos:
// \s*[\r\n]+|\s+(?!\S)|\s+, or one code point when none applies.
func whitespaceEnd(c *cpText, pos, hi int) int {
	n, lastNL := 0, 0
	for flagAt(c, pos+n, hi)&cfWhitespace != 0 {
		if r := c.r[pos+n]; r == '\r' || r == '\n' {
			lastNL = pos + n + 1
		}
		n++
	}
	switch {
	case lastNL > 0: // \s*[\r\n]+
		return lastNL
	case n > 1 && pos+n < hi: // \s+(?!\S)
		return pos + n - 1
	case n > 0: // \s+
		return pos + n
	}
	return pos + 1
}

// cascadeWhitespaceEnd is whitespaceEnd for Jais-2, whose regex ends
// \s*[\r\n]+|\s{512}(?!\S)|\s{256}(?!\S)|…|\s{4}(?!\S)|\s{1,2}(?!\S)|\s{1}:
// a run without a line break is taken in the largest power-of-two chunk
// that still leaves a space (or the piece's end) after it, so long
// indentation becomes pieces of 512, 256, … spaces and the last space
// before a word goes with the word.
func cascadeWhitespaceEnd(c *cpText, pos, hi int) int {
	n := 0
	for flagAt(c, pos+n, hi)&cfWhitespace != 0 {
		if r := c.r[pos+n]; r == '\r' || r == '\n' {
			return whitespaceEnd(c, pos, hi)
		}
		n++
	}
	if n == 0 {
		return pos + 1
	}
	// (?!\S) after k code points: the run goes on, or the piece ends.
	fits := func(k int) bool { return k < n || k == n && pos+n >= hi }
	for k := 512; k >= 4; k /= 2 {
		if fits(k) {
			return pos + k
		}
	}
	if fits(2) {
		return pos + 2
	}
	return pos + 1 // \s{1,2}(?!\S) with one, or \s{1}
}

// thousandsSplitter implements SuperBPE's second regex, the bare
// look-ahead (?=(\d{3})+(?!\d)): its empty matches cut a piece before
// every ASCII digit that starts a run of digits whose length to the run's
// end is a multiple of three ("1234567" is "1", "234", "567"). Its \d is
// std::wregex's, the ten ASCII digits (llama.cpp runs a regex without
// \p classes through std::wregex as it is).
type thousandsSplitter struct{}

func (thousandsSplitter) split(c *cpText, lo, hi int, out []int32) []int32 {
	w := pieceWriter{out: out, prev: lo}
	for p := lo; p < hi; {
		if !isASCIIDigit(c.r[p], 0) {
			p++
			continue
		}
		e := p
		for e < hi && isASCIIDigit(c.r[e], 0) {
			e++
		}
		for q := p + (e-p)%3; q < e; q += 3 {
			w.add(q)
		}
		p = e
	}
	w.add(hi)
	return w.out
}

// digitGroupScanner implements Tiny Aya's first regex,
// \d{1,3}(?=(?:\d{3})*\b), as Hugging Face's tokenizers (Oniguruma)
// read it: \d is any decimal digit (Nd) and \b a change between word
// code points (letters, marks, numbers, connector punctuation) and
// others. A
// match must leave a multiple of three digits before a boundary, and a
// digit is a word code point, so a run of digits splits only where
// something other than a word code point (or the text's end) follows it:
// then from the left into groups of three, the first taking the
// remainder ("1234567 " is "1", "234", "567", " "; "2024년" stays
// whole). llama.cpp's std::regex reads \b with ASCII word characters and
// splits "2024년" as "2", "024"; the tokenizer.json regex is followed
// here, as for the o200k regex itself.
type digitGroupScanner struct{}

func isDecimal(r rune) bool {
	if r < 0x80 {
		return r >= '0' && r <= '9'
	}
	return unicode.IsDigit(r)
}

func isWordCP(r rune, f cpFlags) bool {
	return f&(cfLetter|cfMark|cfNumber) != 0 || unicode.Is(unicode.Pc, r)
}

func (digitGroupScanner) split(c *cpText, lo, hi int, out []int32) []int32 {
	w := pieceWriter{out: out, prev: lo}
	for p := lo; p < hi; {
		if !isDecimal(c.r[p]) {
			p++
			continue
		}
		e := p
		for e < hi && isDecimal(c.r[e]) {
			e++
		}
		if e == hi || !isWordCP(c.r[e], c.f[e]) {
			w.add(p) // the gap before the run
			q := p + (e-p)%3
			if q == p {
				q += 3
			}
			for ; q <= e; q += 3 {
				w.add(q)
			}
		}
		p = e
	}
	w.add(hi)
	return w.out
}

// exaoneMoEScanner implements K-EXAONE's regex (exaone-moe):
//
//	(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?(?:\p{L}\p{M}*(?: \p{L}\p{M}*)*)+|\p{N}
//	| ?[^\s\p{L}\p{N}]+[\r\n/]?|\s*[\r\n]|\s+(?!\S)|\s+
//
// Its words run on across single spaces: "오늘 날씨가 좋다" is one piece,
// and a second space (or anything but a letter after the space) ends it.
type exaoneMoEScanner struct{}

// letters returns the end of \p{L}\p{M}*(?: ?\p{L}\p{M}*)* at p, or p when
// no letter starts there.
func (exaoneMoEScanner) letters(c *cpText, p, hi int) int {
	if flagAt(c, p, hi)&cfLetter == 0 {
		return p
	}
	for {
		p++
		for flagAt(c, p, hi)&cfMark != 0 {
			p++
		}
		switch {
		case flagAt(c, p, hi)&cfLetter != 0:
		case p < hi && c.r[p] == ' ' && flagAt(c, p+1, hi)&cfLetter != 0:
			p++
		default:
			return p
		}
	}
}

func (x exaoneMoEScanner) split(c *cpText, lo, hi int, out []int32) []int32 {
	w := pieceWriter{out: out, prev: lo}
	for pos := lo; pos < hi; {
		cp, f := c.r[pos], c.f[pos]
		if n := contractionAt(c, pos, hi); n > 0 {
			pos += n
			w.add(pos)
			continue
		}
		// [^\r\n\p{L}\p{N}]?(?:\p{L}\p{M}*(?: \p{L}\p{M}*)*)+
		start := pos
		if cp != '\r' && cp != '\n' && f&(cfLetter|cfNumber) == 0 {
			start = pos + 1
		}
		if e := x.letters(c, start, hi); e > start {
			pos = e
			w.add(pos)
			continue
		}
		if e := x.letters(c, pos, hi); e > pos {
			pos = e
			w.add(pos)
			continue
		}
		if f&cfNumber != 0 { // \p{N}
			pos++
			w.add(pos)
			continue
		}
		// <space>?[^\s\p{L}\p{N}]+[\r\n/]?
		if e := symbolRun(c, pos, hi, wsLN, isNewlineOrSlash, 1); e >= 0 {
			pos = e
			w.add(pos)
			continue
		}
		pos = whitespaceEnd(c, pos, hi)
		w.add(pos)
	}
	return w.out
}

// deepseek3Scanner implements the last of DeepSeek-V3's three regexes
// (after \p{N}{1,3} and [一-龥぀-ゟ゠-ヿ]+ have split the text):
//
//	[!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+
//	| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//
// Code points no alternative matches (the digit pieces the first regex
// cut out, controls) stay together as one piece up to the next match, as
// the regex split leaves its gaps.
type deepseek3Scanner struct{}

func isASCIIPunct(r rune) bool {
	return (r >= '!' && r <= '/') || (r >= ':' && r <= '@') || (r >= '[' && r <= '`') || (r >= '{' && r <= '~')
}

func isASCIILetter(r rune) bool { return (r >= 'A' && r <= 'Z') || (r >= 'a' && r <= 'z') }

func (deepseek3Scanner) split(c *cpText, lo, hi int, out []int32) []int32 {
	w := pieceWriter{out: out, prev: lo}
	const letterMark, punctSymbol = cfLetter | cfMark, cfPunct | cfSymbol
	match := func(start, end int) {
		w.add(start) // the gap before the match, if any
		w.add(end)
	}
	for pos := lo; pos < hi; {
		cp, f := c.r[pos], c.f[pos]
		// [!"#...~][A-Za-z]+
		if isASCIIPunct(cp) && pos+1 < hi && isASCIILetter(c.r[pos+1]) {
			e := pos + 1
			for e < hi && isASCIILetter(c.r[e]) {
				e++
			}
			match(pos, e)
			pos = e
			continue
		}
		// [^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+
		s := pos
		if cp != '\r' && cp != '\n' && f&(cfLetter|punctSymbol) == 0 && flagAt(c, pos+1, hi)&letterMark != 0 {
			s = pos + 1
		}
		if flagAt(c, s, hi)&letterMark != 0 {
			e := s
			for flagAt(c, e, hi)&letterMark != 0 {
				e++
			}
			match(pos, e)
			pos = e
			continue
		}
		// <space>?[\p{P}\p{S}]+[\r\n]*
		s = pos
		if cp == ' ' {
			s = pos + 1
		}
		if flagAt(c, s, hi)&punctSymbol != 0 {
			e := s
			for flagAt(c, e, hi)&punctSymbol != 0 {
				e++
			}
			for e < hi && (c.r[e] == '\r' || c.r[e] == '\n') {
				e++
			}
			match(pos, e)
			pos = e
			continue
		}
		if f&cfWhitespace != 0 {
			e := whitespaceEnd(c, pos, hi)
			match(pos, e)
			pos = e
			continue
		}
		pos++ // unmatched: part of the gap
	}
	w.add(hi)
	return w.out
}
