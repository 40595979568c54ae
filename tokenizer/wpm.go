package tokenizer

import (
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// WordPiece ("bert" in GGUF) as llama.cpp implements it (llm_tokenizer_wpm):
// BERT's basic tokenizer splits the text into words, then each word is
// covered greedily by the longest vocabulary entries. llama.cpp's
// converter rewrites the vocabulary first: a word-initial entry "play"
// becomes "▁play" and a continuation "##ing" becomes "ing", so a word is
// matched as "▁" + word and every later piece without a prefix. A word
// that cannot be covered whole becomes one unknown token.

// wpmOptions are BertNormalizer's two options llama.cpp honours
// (tokenizer.ggml.normalizer.*; both default to true, and strip_accents
// follows lowercase unless set).
type wpmOptions struct {
	lowercase    bool
	stripAccents bool
}

// encodeWPM appends the tokens of one raw fragment.
func (t *Tokenizer) encodeWPM(text string, out []int32) []int32 {
	word := make([]byte, 0, 64)
	word = append(word, spaceMark...)
	flush := func() {
		if len(word) > len(spaceMark) {
			out = t.wpmWord(word, out)
		}
		word = word[:len(spaceMark)]
	}
	for i := 0; i < len(text); {
		r, n, ok := decodeLenient(text[i:])
		i += n
		if !ok {
			continue // llama.cpp drops U+FFFD
		}
		if t.wpm.stripAccents {
			r = nfdFirst(r)
		}
		f := flagsOf(t.cpTab, r)
		switch {
		case f&cfWhitespace != 0:
			flush()
			continue
		case r == 0 || r == utf8.RuneError || isControlRune(f, r):
			continue
		case t.wpm.stripAccents && f&cfMark != 0:
			continue
		}
		alone := f&cfPunct != 0 || (r < 0x7F && f&cfSymbol != 0) || isBertCJK(r)
		if t.wpm.lowercase {
			r = unicode.ToLower(r)
		}
		if alone {
			flush()
			word = appendRune(word, r)
			flush()
			continue
		}
		word = appendRune(word, r)
	}
	flush()
	return out
}

// wpmWord covers "▁" + word (w) with the longest vocabulary entries, left
// to right. The scan is over bytes, as llama.cpp's: a cut inside a UTF-8
// sequence simply finds no entry.
func (t *Tokenizer) wpmWord(w []byte, out []int32) []int32 {
	start := len(out)
	for i := 0; i < len(w); {
		j := min(len(w), i+t.maxTokenLen)
		for ; j > i; j-- {
			if id, ok := t.byText[string(w[i:j])]; ok {
				out = append(out, id)
				break
			}
		}
		if j == i {
			return append(out[:start], t.unk)
		}
		i = j
	}
	return out
}

// isControlRune reports whether r is in \p{C} proper (control, format,
// private use, surrogate). The flag table folds unassigned code points into
// cfControl too; llama.cpp keeps those apart, and BERT's normalizer drops
// only the former.
func isControlRune(f cpFlags, r rune) bool {
	return f&cfControl != 0 && unicode.Is(unicode.C, r)
}

// nfdFirst maps r to the first code point of its canonical decomposition,
// which is what llama.cpp's unicode_cpts_normalize_nfd does (its table keeps
// one code point per entry): "é" becomes "e", and a Hangul syllable its
// leading consonant jamo ("한" becomes U+1112), where Hugging Face's
// BertNormalizer would keep all the jamo.
func nfdFirst(r rune) rune {
	const sBase, sCount, lBase, perL = 0xAC00, 11172, 0x1100, 21 * 28
	switch {
	case r < 0xC0: // no canonical decomposition below U+00C0
		return r
	case r >= sBase && r < sBase+sCount:
		return lBase + (r-sBase)/perL
	}
	var buf [utf8.UTFMax]byte
	n := utf8.EncodeRune(buf[:], r)
	d := norm.NFD.Properties(buf[:n]).Decomposition()
	if len(d) == 0 {
		return r
	}
	first, _ := utf8.DecodeRune(d)
	return first
}

// isBertCJK is BERT's _is_chinese_char range list, which llama.cpp copies
// from Hugging Face's Rust code, including its 0x2B920 (not 0x2B820)
// start of Extension E.
func isBertCJK(r rune) bool {
	return (r >= 0x4E00 && r <= 0x9FFF) ||
		(r >= 0x3400 && r <= 0x4DBF) ||
		(r >= 0x20000 && r <= 0x2A6DF) ||
		(r >= 0x2A700 && r <= 0x2B73F) ||
		(r >= 0x2B740 && r <= 0x2B81F) ||
		(r >= 0x2B920 && r <= 0x2CEAF) ||
		(r >= 0xF900 && r <= 0xFAFF) ||
		(r >= 0x2F800 && r <= 0x2FA1F)
}
