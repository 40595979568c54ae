package tokenizer

import (
	"fmt"
	"strings"

	"golang.org/x/text/unicode/norm"
)

// Normalization is a Unicode normalization form applied to a text's
// ordinary runs before they are split and merged. GGUF files do not record
// the normalizer of the tokenizer.json they came from, and llama.cpp applies
// none, so Nuri applies none by default and every valid UTF-8 text comes
// back from its pieces unchanged. Hugging Face's tokenizers (and so vLLM and
// transformers) run the tokenizer.json's normalizer first: NFC for the Qwen
// family (Qwen2, 2.5, 3 and the models built on them). Decomposed input,
// such as Hangul written as conjoining jamo (macOS file names and
// clipboards carry it), otherwise reaches such a model as jamo and byte
// tokens it rarely saw in training instead of its syllables.
type Normalization uint8

// The normalization forms, as Hugging Face's NFC, NFD, NFKC and NFKD
// normalizers (Unicode Standard Annex #15).
const (
	NormNone Normalization = iota
	NormNFC
	NormNFD
	NormNFKC
	NormNFKD
)

var normNames = [...]string{"none", "nfc", "nfd", "nfkc", "nfkd"}

func (n Normalization) String() string {
	if int(n) < len(normNames) {
		return normNames[n]
	}
	return fmt.Sprintf("Normalization(%d)", n)
}

// ParseNormalization reads a form's name, case-insensitively; "" is none.
func ParseNormalization(s string) (Normalization, error) {
	if s == "" {
		return NormNone, nil
	}
	for i, name := range normNames {
		if strings.EqualFold(s, name) {
			return Normalization(i), nil
		}
	}
	return NormNone, fmt.Errorf("unknown normalization %q (want one of %s)", s, strings.Join(normNames[:], ", "))
}

func (n Normalization) form() (norm.Form, bool) {
	switch n {
	case NormNFC:
		return norm.NFC, true
	case NormNFD:
		return norm.NFD, true
	case NormNFKC:
		return norm.NFKC, true
	case NormNFKD:
		return norm.NFKD, true
	}
	return 0, false
}

// SetNormalization makes Encode normalize the text between special tokens
// to form n first, as a Hugging Face tokenizer with that normalizer does
// (special tokens are matched in the text as given, as Hugging Face matches
// added tokens that are not normalized). Call it before the Tokenizer is
// shared: it is not synchronised with Encode.
func (t *Tokenizer) SetNormalization(n Normalization) { t.norm = n }

// Normalization reports the form Encode normalizes text to.
func (t *Tokenizer) Normalization() Normalization { return t.norm }

// normalizeFragments rewrites text so that each of its ordinary fragments
// is in the tokenizer's normal form, returning the new text and the
// fragments moved to it (in s's spare buffer). It returns text and frags
// unchanged, allocating nothing, when they already are.
func (t *Tokenizer) normalizeFragments(text string, frags []fragment, s *scratch) (string, []fragment) {
	f, ok := t.norm.form()
	if !ok {
		return text, frags
	}
	changed := false
	for _, fr := range frags {
		if fr.tok >= 0 {
			continue
		}
		// The quick check settles most text without allocating;
		// IsNormalString (which allocates) decides the "maybe"s.
		if run := text[fr.lo:fr.hi]; f.QuickSpanString(run) < len(run) && !f.IsNormalString(run) {
			changed = true
			break
		}
	}
	if !changed {
		return text, frags
	}
	var b strings.Builder
	b.Grow(len(text) + len(text)/4)
	out := s.frags2[:0]
	for _, fr := range frags {
		lo := b.Len()
		if fr.tok >= 0 {
			b.WriteString(text[fr.lo:fr.hi])
		} else {
			b.WriteString(f.String(text[fr.lo:fr.hi]))
		}
		out = append(out, fragment{tok: fr.tok, lo: lo, hi: b.Len()})
	}
	s.frags, s.frags2 = out, frags
	return b.String(), out
}

// MarshalText writes the form's name (flag.TextVar, JSON).
func (n Normalization) MarshalText() ([]byte, error) { return []byte(n.String()), nil }

// UnmarshalText reads a name ParseNormalization accepts.
func (n *Normalization) UnmarshalText(b []byte) error {
	v, err := ParseNormalization(string(b))
	if err != nil {
		return err
	}
	*n = v
	return nil
}
