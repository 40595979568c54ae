package sample

// A string's text must be well-formed UTF-8 (RFC 8259 §8.1): a model
// that writes a character's first byte must write the rest before the
// string may close, and no stray or overlong byte passes. utf8Next checks
// one byte. Its state is 0 between characters; inside one, bits 0-1 count
// the continuation bytes still due and bits 2-4 name the range the next
// must fall in (utf8Ranges), as Unicode's table of well-formed sequences
// gives them.
func utf8Next(st uint8, c byte) (uint8, bool) {
	if st != 0 {
		r := utf8Ranges[st>>2]
		if c < r[0] || c > r[1] {
			return 0, false
		}
		return st&3 - 1, true // later bytes take 80-BF
	}
	switch {
	case c < 0x80:
		return 0, true
	case c >= 0xC2 && c <= 0xDF:
		return 1, true
	case c == 0xE0:
		return 2 | 1<<2, true
	case c == 0xED:
		return 2 | 2<<2, true // no surrogates
	case c >= 0xE1 && c <= 0xEF:
		return 2, true
	case c == 0xF0:
		return 3 | 3<<2, true
	case c >= 0xF1 && c <= 0xF3:
		return 3, true
	case c == 0xF4:
		return 3 | 4<<2, true // up to U+10FFFF
	}
	return 0, false // a continuation byte, C0, C1 or F5-FF
}

// utf8Ranges are the bounds of the byte after a lead byte: the usual
// 80-BF, and the narrower ones after E0, ED, F0 and F4.
var utf8Ranges = [5][2]byte{{0x80, 0xBF}, {0xA0, 0xBF}, {0x80, 0x9F}, {0x90, 0xBF}, {0x80, 0x8F}}
