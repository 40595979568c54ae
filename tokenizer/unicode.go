package tokenizer

import (
	"sync"
	"unicode"
	"unicode/utf8"
)

// cpFlags are the per-code-point category flags llama.cpp's pre-tokenizers
// test (unicode_cpt_flags). Every code point has exactly one category bit.
// llama.cpp marks unassigned code points "undefined" and private-use,
// surrogate and format ones "control"; no pre-tokenizer rule tells the two
// apart (both are neither letter, number nor space, and both collapse to
// the same byte), so both are cfControl here. Whitespace is the Unicode
// White_Space property (llama.cpp's unicode_set_whitespace), a separate
// bit.
type cpFlags uint8

const (
	cfNumber     cpFlags = 1 << iota // \p{N}
	cfLetter                         // \p{L}
	cfSeparator                      // \p{Z}
	cfMark                           // \p{M}
	cfPunct                          // \p{P}
	cfSymbol                         // \p{S}
	cfControl                        // \p{C}
	cfWhitespace                     // \s
)

const maxRune = 0x10FFFF

// cpTable maps every code point to its flags. It is built once on first use
// from Go's unicode tables (1.1 MB) and never written afterwards.
var cpTable = sync.OnceValue(buildCPTable)

func buildCPTable() []cpFlags {
	t := make([]cpFlags, maxRune+1)
	mark := func(rt *unicode.RangeTable, f cpFlags) {
		for _, r := range rt.R16 {
			for c := uint32(r.Lo); c <= uint32(r.Hi); c += uint32(r.Stride) {
				t[c] |= f
			}
		}
		for _, r := range rt.R32 {
			for c := r.Lo; c <= r.Hi; c += r.Stride {
				t[c] |= f
			}
		}
	}
	mark(unicode.L, cfLetter)
	mark(unicode.N, cfNumber)
	mark(unicode.Z, cfSeparator)
	mark(unicode.M, cfMark)
	mark(unicode.P, cfPunct)
	mark(unicode.S, cfSymbol)
	// Go's tables are Unicode 15.0; llama.cpp's are 15.1, which added CJK
	// Extension I (letters) and five ideographic description/stroke
	// symbols.
	for c := 0x2EBF0; c <= 0x2EE5D; c++ {
		t[c] = cfLetter
	}
	for _, c := range []int{0x2FFC, 0x2FFD, 0x2FFE, 0x2FFF, 0x31EF} {
		t[c] = cfSymbol
	}
	for c := range t {
		if t[c] == 0 {
			t[c] = cfControl
		}
	}
	mark(unicode.White_Space, cfWhitespace)
	return t
}

// flagsOf returns the flags of code point r (0 for values outside Unicode).
func flagsOf(t []cpFlags, r rune) cpFlags {
	if uint32(r) > maxRune {
		return 0
	}
	return t[r]
}

// decodeLenient decodes one code point the way llama.cpp's
// unicode_cpt_from_utf8 does: it checks lead and continuation bits but not
// overlong forms or surrogates. ok is false for an invalid sequence, which
// llama.cpp replaces by U+FFFD consuming one byte. Values above U+10FFFF
// (which llama.cpp cannot re-encode and would throw on) are treated as
// invalid too.
func decodeLenient(s string) (r rune, size int, ok bool) {
	b0 := s[0]
	switch {
	case b0 < 0x80:
		return rune(b0), 1, true
	case b0&0x40 == 0:
		return utf8.RuneError, 1, false
	case b0&0x20 == 0:
		if len(s) < 2 || s[1]&0xC0 != 0x80 {
			return utf8.RuneError, 1, false
		}
		return rune(b0&0x1F)<<6 | rune(s[1]&0x3F), 2, true
	case b0&0x10 == 0:
		if len(s) < 3 || s[1]&0xC0 != 0x80 || s[2]&0xC0 != 0x80 {
			return utf8.RuneError, 1, false
		}
		return rune(b0&0x0F)<<12 | rune(s[1]&0x3F)<<6 | rune(s[2]&0x3F), 3, true
	case b0&0x08 == 0:
		if len(s) < 4 || s[1]&0xC0 != 0x80 || s[2]&0xC0 != 0x80 || s[3]&0xC0 != 0x80 {
			return utf8.RuneError, 1, false
		}
		r = rune(b0&0x07)<<18 | rune(s[1]&0x3F)<<12 | rune(s[2]&0x3F)<<6 | rune(s[3]&0x3F)
		if r > maxRune {
			return utf8.RuneError, 1, false
		}
		return r, 4, true
	}
	return utf8.RuneError, 1, false
}

// appendRune encodes r (0..0x10FFFF, surrogates included) the way
// llama.cpp's unicode_cpt_to_utf8 does; utf8.AppendRune would turn
// surrogates into U+FFFD.
func appendRune(b []byte, r rune) []byte {
	switch {
	case r < 0x80:
		return append(b, byte(r))
	case r < 0x800:
		return append(b, 0xC0|byte(r>>6), 0x80|byte(r)&0x3F)
	case r < 0x10000:
		return append(b, 0xE0|byte(r>>12), 0x80|byte(r>>6)&0x3F, 0x80|byte(r)&0x3F)
	}
	return append(b, 0xF0|byte(r>>18), 0x80|byte(r>>12)&0x3F, 0x80|byte(r>>6)&0x3F, 0x80|byte(r)&0x3F)
}

// normalizeUTF8 returns s as llama.cpp's BPE path sees it: the text is
// decoded leniently, invalid bytes become U+FFFD, and the code points are
// re-encoded. Valid UTF-8 comes back unchanged (and unallocated).
func normalizeUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	b := make([]byte, 0, len(s)+16)
	for i := 0; i < len(s); {
		r, n, _ := decodeLenient(s[i:])
		b = appendRune(b, r)
		i += n
	}
	return string(b)
}

// lowerASCII folds ASCII letters; llama.cpp's contraction matching is
// case-insensitive and no non-ASCII code point lowercases to the letters
// involved (s, t, m, d, r, e, v, l).
func lowerASCII(r rune) rune {
	if 'A' <= r && r <= 'Z' {
		return r + ('a' - 'A')
	}
	return r
}
