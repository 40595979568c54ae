package tokenizer

import "unicode/utf8"

// GPT-2's bytes_to_unicode table: byte-level BPE spells every raw byte as
// one printable code point so token texts never hold spaces or control
// characters. Bytes 0x21-0x7E, 0xA1-0xAC and 0xAE-0xFF stand for
// themselves; the other 68 bytes, in increasing order, map to U+0100,
// U+0101, ... (so ' ' is 'Ġ' U+0120 and '\n' is 'Ċ' U+010A).
type byteTable struct {
	toRune [256]rune
	// fromRune maps U+0000..U+0143 back to byte+1 (0 = not a table rune).
	fromRune [0x144]uint16
}

func newByteTable() *byteTable {
	t := &byteTable{}
	n := rune(0)
	for b := 0; b < 256; b++ {
		if (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			t.toRune[b] = rune(b)
		} else {
			t.toRune[b] = 0x100 + n
			n++
		}
		t.fromRune[t.toRune[b]] = uint16(b) + 1
	}
	return t
}

// byteOf returns the raw byte that table rune r stands for.
func (t *byteTable) byteOf(r rune) (byte, bool) {
	if r < 0 || int(r) >= len(t.fromRune) || t.fromRune[r] == 0 {
		return 0, false
	}
	return byte(t.fromRune[r] - 1), true
}

// rawBytes converts a byte-level token text back to the raw bytes it
// spells. ok is false when some code point is not in the table (added
// tokens such as "<think>" are plain ASCII and do convert; text with
// spaces or Hangul written literally does not).
func (t *byteTable) rawBytes(text string) (string, bool) {
	buf := make([]byte, 0, len(text))
	for _, r := range text {
		b, ok := t.byteOf(r)
		if !ok {
			return "", false
		}
		buf = append(buf, b)
	}
	return string(buf), true
}

// appendEncoded appends the byte-level spelling of raw to dst.
func (t *byteTable) appendEncoded(dst []byte, raw string) []byte {
	for i := 0; i < len(raw); i++ {
		dst = utf8.AppendRune(dst, t.toRune[raw[i]])
	}
	return dst
}
