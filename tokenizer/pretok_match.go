package tokenizer

// The pre-tokenizer regexes llama.cpp runs through std::regex: simple
// character-class runs. llama.cpp finds matches left to right
// (regex_iterator) and turns every unmatched stretch between them into a
// piece of its own; runMatcher and trailingSpace reproduce that.
//
// Character classes follow what std::regex sees. Regexes with \p{..} run on
// llama.cpp's "collapsed" text (ASCII kept, other code points replaced by a
// marker byte per category, whitespace by \v); the others run on the code
// points with non-ASCII whitespace replaced by \v. Either way \s is ASCII
// [\t\n\v\f\r ] plus every non-ASCII White_Space code point, which is
// exactly cfWhitespace, and a non-ASCII whitespace code point never matches
// any literal class.

// class reports whether code point r (with flags f) is in a character class.
type class func(r rune, f cpFlags) bool

func isNumber(_ rune, f cpFlags) bool { return f&cfNumber != 0 }
func isLetter(_ rune, f cpFlags) bool { return f&cfLetter != 0 }
func isCRLF(r rune, _ cpFlags) bool   { return r == '\r' || r == '\n' }
func isLF(r rune, _ cpFlags) bool     { return r == '\n' }
func isASCIIDigit(r rune, _ cpFlags) bool {
	return '0' <= r && r <= '9'
}

// isCollapsedPunct is \p{P} as llama.cpp collapses it: the ASCII characters
// !"#%&'()*,-./:;?@[\]_{} and any non-ASCII punctuation code point.
func isCollapsedPunct(r rune, f cpFlags) bool {
	if r < 0x80 {
		switch {
		case r >= 0x21 && r <= 0x23, r >= 0x25 && r <= 0x2A, r >= 0x2C && r <= 0x2F,
			r >= 0x3A && r <= 0x3B, r >= 0x3F && r <= 0x40, r >= 0x5B && r <= 0x5D,
			r == 0x5F, r == 0x7B, r == 0x7D:
			return true
		}
		return false
	}
	return f&cfWhitespace == 0 && f&cfPunct != 0
}

// isDefaultPunct is [\p{P}\$\+<=>\^~\|].
func isDefaultPunct(r rune, f cpFlags) bool {
	switch r {
	case '$', '+', '<', '=', '>', '^', '~', '|':
		return true
	}
	return isCollapsedPunct(r, f)
}

// isFalconPunct is [\p{P}\$\+<=>\^~\|`].
func isFalconPunct(r rune, f cpFlags) bool {
	return r == '`' || isDefaultPunct(r, f)
}

// inRanges reports whether r lies in one of the sorted-or-not closed ranges.
func inRanges(r rune, rs [][2]rune) bool {
	for _, x := range rs {
		if x[0] <= r && r <= x[1] {
			return true
		}
	}
	return false
}

// deepseekLetterRanges is the literal class of deepseek-llm's second regex
// (\s?[A-Za-zµÀ-ÖØ-öø-ƺ...]+), transcribed as code point ranges.
var deepseekLetterRanges = [][2]rune{
	{0x41, 0x5A}, {0x61, 0x7A}, {0xB5, 0xB5}, {0xC0, 0xD6}, {0xD8, 0xF6}, {0xF8, 0x1BA},
	{0x1BC, 0x1BF}, {0x1C4, 0x293}, {0x295, 0x2AF}, {0x370, 0x373}, {0x376, 0x377},
	{0x37B, 0x37D}, {0x37F, 0x37F}, {0x386, 0x386}, {0x388, 0x38A}, {0x38C, 0x38C},
	{0x38E, 0x3A1}, {0x3A3, 0x3F5}, {0x3F7, 0x481}, {0x48A, 0x52F}, {0x531, 0x556},
	{0x10A0, 0x10C5}, {0x13A0, 0x13F5}, {0x13F8, 0x13FD}, {0x1C90, 0x1CBA}, {0x1CBD, 0x1CBF},
	{0x1D00, 0x1D2B}, {0x1D6B, 0x1D77}, {0x1D79, 0x1D9A}, {0x1E00, 0x1F15}, {0x1F18, 0x1F1D},
	{0x1F20, 0x1F45}, {0x1F48, 0x1F4D}, {0x1F50, 0x1F57}, {0x1F59, 0x1F59}, {0x1F5B, 0x1F5B},
	{0x1F5D, 0x1F5D}, {0x1F5F, 0x1F7D}, {0x1F80, 0x1FB4}, {0x1FB6, 0x1FBC}, {0x1FBE, 0x1FBE},
	{0x1FC2, 0x1FC4}, {0x1FC6, 0x1FCC}, {0x1FD0, 0x1FD3}, {0x1FD6, 0x1FDB}, {0x1FE0, 0x1FEC},
	{0x1FF2, 0x1FF4}, {0x1FF6, 0x1FFC}, {0x2102, 0x2102}, {0x2107, 0x2107}, {0x210A, 0x2113},
	{0x2115, 0x2115}, {0x2119, 0x211D}, {0x2124, 0x2124}, {0x2126, 0x2126}, {0x2128, 0x2128},
	{0x212A, 0x212D}, {0x212F, 0x2134}, {0x2139, 0x2139}, {0x213C, 0x213F}, {0x2145, 0x2149},
	{0x214E, 0x214E}, {0x2183, 0x2184}, {0x2C00, 0x2C7B}, {0x2C7E, 0x2CE4}, {0x2CEB, 0x2CEE},
	{0x2CF2, 0x2CF3}, {0xA640, 0xA66D}, {0xA680, 0xA69B}, {0xA722, 0xA76F}, {0xA771, 0xA787},
	{0xA78B, 0xA78E}, {0xAB70, 0xABBF}, {0xFB00, 0xFB06}, {0xFB13, 0xFB17}, {0xFF21, 0xFF3A},
	{0xFF41, 0xFF5A}, {0x10400, 0x1044F}, {0x104B0, 0x104D3}, {0x104D8, 0x104FB},
	{0x10C80, 0x10CB2}, {0x10CC0, 0x10CF2}, {0x118A0, 0x118DF}, {0x1E900, 0x1E943},
}

// deepseekPunctRanges is [!-/:-~！-／：-～‘-‟　-。].
var deepseekPunctRanges = [][2]rune{
	{0x21, 0x2F}, {0x3A, 0x7E}, {0xFF01, 0xFF0F}, {0xFF1A, 0xFF5E}, {0x2018, 0x201F}, {0x3000, 0x3002},
}

func isDeepseekLetter(r rune, f cpFlags) bool {
	if r < 0x80 {
		return ('A' <= r && r <= 'Z') || ('a' <= r && r <= 'z')
	}
	return f&cfWhitespace == 0 && inRanges(r, deepseekLetterRanges)
}

func isDeepseekPunct(r rune, f cpFlags) bool {
	if r < 0x80 {
		return (0x21 <= r && r <= 0x2F) || (0x3A <= r && r <= 0x7E)
	}
	return f&cfWhitespace == 0 && inRanges(r, deepseekPunctRanges)
}

// isCJKHangul is [一-龥ࠀ-一가-퟿]: U+4E00-U+9FA5, U+0800-U+4E00 and
// U+AC00-U+D7FF. Whitespace inside those ranges (U+2000-U+200A, U+3000,
// ...) was replaced by \v before matching and so never counts.
func isCJKHangul(r rune, f cpFlags) bool {
	if f&cfWhitespace != 0 {
		return false
	}
	return (0x0800 <= r && r <= 0x9FA5) || (0xAC00 <= r && r <= 0xD7FF)
}

// isBloomWord is [^(\s|.,!?…。，、।۔،)]: anything but whitespace and those
// delimiters (the parentheses and bar included, as std::regex reads the
// class).
func isBloomWord(r rune, f cpFlags) bool {
	if f&cfWhitespace != 0 {
		return false
	}
	switch r {
	case '(', '|', '.', ',', '!', '?', '…', '。', '，', '、', '।', '۔', '،', ')':
		return false
	}
	return true
}

// isCJKKana is [一-龥぀-ゟ゠-ヿ]: U+4E00-U+9FA5 and the hiragana and
// katakana blocks U+3040-U+30FF.
func isCJKKana(r rune, _ cpFlags) bool {
	return (0x4E00 <= r && r <= 0x9FA5) || (0x3040 <= r && r <= 0x30FF)
}

// Youtu's first-stage classes. isHangulYoutu is [가-힣ㄱ-ㆎ]: syllables and
// compatibility jamo.
func isHangulYoutu(r rune, _ cpFlags) bool {
	return (0xAC00 <= r && r <= 0xD7A3) || (0x3131 <= r && r <= 0x318E)
}

// isCJKPunctYoutu is [！…“”‘’—：；，、-〿︰-﹏].
func isCJKPunctYoutu(r rune, _ cpFlags) bool {
	switch r {
	case '！', '…', '“', '”', '‘', '’', '—', '：', '；', '，':
		return true
	}
	return (0x3001 <= r && r <= 0x303F) || (0xFE30 <= r && r <= 0xFE4F)
}

// isBopomofo is [ㄅ-ㄯ].
func isBopomofo(r rune, _ cpFlags) bool { return 0x3105 <= r && r <= 0x312F }

// runMatcher matches `\s?X{min,max}` (prefixSpace), ` ?X{min,max}`
// (literalSpace) or `X{min,max}` greedily (max 0 = unbounded) at the
// leftmost position where it can.
type runMatcher struct {
	prefixSpace  bool
	literalSpace bool
	body         class
	min, max     int
}

// run returns how many code points of class body start at p, capped at max.
func (m runMatcher) run(c *cpText, p, hi int) int {
	n := 0
	for p+n < hi && (m.max == 0 || n < m.max) && m.body(c.r[p+n], c.f[p+n]) {
		n++
	}
	return n
}

func (m runMatcher) split(c *cpText, lo, hi int, out []int32) []int32 {
	start := lo
	for p := lo; p < hi; {
		ms, me := -1, -1
		// \s? is greedy: try it first, fall back to an empty prefix.
		if (m.prefixSpace && c.f[p]&cfWhitespace != 0 || m.literalSpace && c.r[p] == ' ') && p+1 < hi {
			if n := m.run(c, p+1, hi); n >= m.min {
				ms, me = p, p+1+n
			}
		}
		if ms < 0 {
			if n := m.run(c, p, hi); n >= m.min && n > 0 {
				ms, me = p, p+n
			}
		}
		if ms < 0 {
			p++
			continue
		}
		if ms > start {
			out = append(out, int32(ms))
		}
		out = append(out, int32(me))
		start, p = me, me
	}
	if start < hi {
		out = append(out, int32(hi))
	}
	return out
}

// trailingSpace matches `\s+$`: the whitespace run that ends the piece.
type trailingSpace struct{}

func (trailingSpace) split(c *cpText, lo, hi int, out []int32) []int32 {
	q := hi
	for q > lo && c.f[q-1]&cfWhitespace != 0 {
		q--
	}
	if q > lo {
		out = append(out, int32(q))
	}
	if q < hi {
		out = append(out, int32(hi))
	}
	return out
}
