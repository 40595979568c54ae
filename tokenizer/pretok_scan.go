package tokenizer

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
// the same pieces, so one scanner serves both.
type llama3Scanner struct {
	maxDigits int
}

func (s llama3Scanner) split(c *cpText, lo, hi int, out []int32) []int32 {
	w := pieceWriter{out: out, prev: lo}
	for pos := lo; pos < hi; {
		cp, f := c.r[pos], c.f[pos]
		if cp == '\'' && pos+1 < hi {
			n := lowerASCII(c.r[pos+1])
			if n == 's' || n == 't' || n == 'm' || n == 'd' {
				pos += 2
				w.add(pos)
				continue
			}
			if pos+2 < hi {
				nn := lowerASCII(c.r[pos+2])
				if (n == 'r' && nn == 'e') || (n == 'v' && nn == 'e') || (n == 'l' && nn == 'l') {
					pos += 3
					w.add(pos)
					continue
				}
			}
		}
		// [^\r\n\p{L}\p{N}]?\p{L}+
		if !(cp == '\r' || cp == '\n' || f&cfNumber != 0) {
			if f&cfLetter != 0 || flagAt(c, pos+1, hi)&cfLetter != 0 {
				pos++
				for flagAt(c, pos, hi)&cfLetter != 0 {
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
				if pos-ini >= s.maxDigits {
					w.add(pos)
					ini = pos
				}
			}
			w.add(pos)
			continue
		}
		// <space>?[^\s\p{L}\p{N}]+[\r\n]*
		f2 := f
		if cp == ' ' {
			f2 = flagAt(c, pos+1, hi)
		}
		if f2&wsLN == 0 && f != 0 {
			if cp == ' ' {
				pos++
			}
			for g := flagAt(c, pos, hi); g&wsLN == 0 && g != 0; g = flagAt(c, pos, hi) {
				pos++
			}
			for pos < hi && (c.r[pos] == '\r' || c.r[pos] == '\n') {
				pos++
			}
			w.add(pos)
			continue
		}
		n, lastNL := 0, 0
		for flagAt(c, pos+n, hi)&cfWhitespace != 0 {
			if r := c.r[pos+n]; r == '\r' || r == '\n' {
				lastNL = pos + n + 1
			}
			n++
		}
		switch {
		case lastNL > 0: // \s*[\r\n]+
			pos = lastNL
		case n > 1 && pos+n < hi: // \s+(?!\S)
			pos += n - 1
		case n > 0: // \s+
			pos += n
		default:
			pos++
		}
		w.add(pos)
	}
	return w.out
}
