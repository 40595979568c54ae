package tokenizer

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// buildPieces precomputes every token's piece as llama.cpp's
// token_to_piece(id, special=true) returns it (its cache_token_to_piece).
func (t *Tokenizer) buildPieces() {
	t.pieceOff = make([]uint32, t.nVocab+1)
	for id := range t.texts {
		t.pieces = t.appendPiece(t.pieces, int32(id))
		t.pieceOff[id+1] = uint32(len(t.pieces))
	}
}

func (t *Tokenizer) appendPiece(dst []byte, id int32) []byte {
	text, a := t.texts[id], t.attrs[id]
	switch {
	case a&(attrUnknown|attrControl|attrUserDefined) != 0:
		return append(dst, text...)
	case a&attrNormal != 0:
		if t.kind == kindBPE && !t.rawUTF8 {
			return t.appendBPEText(dst, text)
		}
		return append(dst, strings.ReplaceAll(text, spaceMark, " ")...)
	case a&attrByte != 0:
		return append(dst, byteTokenValue(text))
	}
	return dst // UNUSED and UNDEFINED tokens render as nothing
}

// appendBPEText maps a byte-level token text back to raw bytes. A rune
// outside the byte table is rendered as llama.cpp's llama_decode_text does:
// "[UNK_BYTE_0x" + its UTF-8 in hex + the whole token text + "]".
func (t *Tokenizer) appendBPEText(dst []byte, text string) []byte {
	for i := 0; i < len(text); {
		r, n, _ := decodeLenient(text[i:])
		if b, ok := t.bt.byteOf(r); ok {
			dst = append(dst, b)
		} else {
			dst = append(dst, "[UNK_BYTE_0x"...)
			for _, c := range appendRune(nil, r) {
				dst = fmt.Appendf(dst, "%02x", c)
			}
			dst = append(dst, text...)
			dst = append(dst, ']')
		}
		i += n
	}
	return dst
}

// byteTokenValue parses the XX of a "<0xXX>" byte token (strtol on the two
// characters at offset 3: stops at the first non-hex digit).
func byteTokenValue(text string) byte {
	var v byte
	for i := 3; i < 5 && i < len(text); i++ {
		c := text[i]
		switch {
		case '0' <= c && c <= '9':
			v = v<<4 | (c - '0')
		case 'a' <= c && c <= 'f':
			v = v<<4 | (c - 'a' + 10)
		case 'A' <= c && c <= 'F':
			v = v<<4 | (c - 'A' + 10)
		default:
			return v
		}
	}
	return v
}

// ErrInvalidToken is wrapped by errors for token ids outside the vocabulary.
var ErrInvalidToken = errors.New("invalid token id")

func (t *Tokenizer) check(id int32) error {
	if id < 0 || int(id) >= t.nVocab {
		return fmt.Errorf("tokenizer: %w %d (vocabulary has %d tokens)", ErrInvalidToken, id, t.nVocab)
	}
	return nil
}

// piece returns the bytes of id (no copy; do not modify).
func (t *Tokenizer) piece(id int32, special bool) []byte {
	if !special && t.attrs[id]&(attrUnknown|attrControl) != 0 {
		return nil
	}
	return t.pieces[t.pieceOff[id]:t.pieceOff[id+1]:t.pieceOff[id+1]]
}

// Piece returns the bytes token id stands for: raw bytes for byte-level
// tokens (possibly part of a UTF-8 sequence), the text with ▁ as space for
// SPM tokens. Control and unknown tokens render empty unless special.
func (t *Tokenizer) Piece(id int32, special bool) ([]byte, error) {
	if err := t.check(id); err != nil {
		return nil, err
	}
	p := t.piece(id, special)
	return append([]byte(nil), p...), nil
}

// Decode turns ids back into text the way llama_detokenize does (with
// remove_special off): pieces are concatenated; with add_space_prefix (SPM)
// one leading space of the first piece is dropped; and for pre-tokenizers
// with clean_spaces (gpt-2, llama-bpe, exaone, ...) spaces before
// ? ! . , and before 's 'm 're 've are removed and " ' " becomes "'".
// StreamDecoder does neither clean-up, like llama.cpp's per-token path.
func (t *Tokenizer) Decode(ids []int32, special bool) ([]byte, error) {
	var out []byte
	for i, id := range ids {
		if err := t.check(id); err != nil {
			return nil, err
		}
		p := t.piece(id, special)
		if i == 0 && t.addSpacePrefix && len(p) > 0 && p[0] == ' ' {
			p = p[1:]
		}
		out = append(out, p...)
	}
	if t.cleanSpaces {
		out = cleanSpaces(out)
	}
	return out, nil
}

// cleanSpaces applies llama_detokenize's three clean_spaces passes in
// place. Each pass looks at the text as the previous pass left it.
func cleanSpaces(b []byte) []byte {
	if len(b) == 0 {
		return b
	}
	// 1: " ?", " !", " .", " ," lose the space.
	n := 1
	for i := 1; i < len(b); i++ {
		x := b[i]
		if b[i-1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',') {
			n--
		}
		b[n] = x
		n++
	}
	b = b[:n]
	// 2: " ' " becomes "'".
	n = 1
	for i := 1; i < len(b); i++ {
		x := b[i]
		if x == '\'' && i+1 < len(b) && b[i-1] == ' ' && b[i+1] == ' ' {
			n--
			i++
			b[i] = 0 // llama.cpp zeroes the skipped space; the next look-back sees it
		}
		b[n] = x
		n++
	}
	b = b[:n]
	// 3: " 's", " 'm", " 're", " 've" lose the space (" 't", " 'd", " 'll" keep it).
	n = 1
	for i := 1; i < len(b); i++ {
		x := b[i]
		if b[i-1] == ' ' && x == '\'' && i+1 < len(b) {
			x1 := b[i+1]
			switch {
			case x1 == 's' || x1 == 'm':
				n--
			case i+2 < len(b) && ((x1 == 'r' && b[i+2] == 'e') || (x1 == 'v' && b[i+2] == 'e')):
				n--
			}
		}
		b[n] = x
		n++
	}
	return b[:n]
}

// validUTF8Prefix reports whether b (1 to 3 bytes) can still grow into a
// valid UTF-8 sequence.
func validUTF8Prefix(b []byte) bool {
	if len(b) == 0 || len(b) >= utf8.UTFMax || utf8.FullRune(b) {
		return false
	}
	lead := b[0]
	var need int
	lo, hi := byte(0x80), byte(0xBF)
	switch {
	case lead >= 0xC2 && lead <= 0xDF:
		need = 2
	case lead == 0xE0:
		need, lo = 3, 0xA0
	case lead >= 0xE1 && lead <= 0xEC, lead == 0xEE, lead == 0xEF:
		need = 3
	case lead == 0xED:
		need, hi = 3, 0x9F
	case lead == 0xF0:
		need, lo = 4, 0x90
	case lead >= 0xF1 && lead <= 0xF3:
		need = 4
	case lead == 0xF4:
		need, hi = 4, 0x8F
	default:
		return false
	}
	if len(b) >= need {
		return false
	}
	for i := 1; i < len(b); i++ {
		c := b[i]
		if i == 1 && (c < lo || c > hi) {
			return false
		}
		if c < 0x80 || c > 0xBF {
			return false
		}
	}
	return true
}
