package tokenizer

import (
	"strings"
)

// scratch holds the buffers one Encode call needs; pooled per Tokenizer.
type scratch struct {
	cps    cpText
	ends   [2][]int32
	frags  []fragment
	frags2 []fragment
	filter *textFilter

	lin        []linSym
	sym, ln    []int32
	next, prev []int32
	heap       bigramHeap

	spm []byte
}

func (t *Tokenizer) getScratch() *scratch {
	if s, ok := t.pool.Get().(*scratch); ok {
		return s
	}
	return &scratch{}
}

func (t *Tokenizer) putScratch(s *scratch) {
	// Do not let one huge input pin a huge buffer in the pool.
	if cap(s.cps.r) > 1<<20 {
		s.cps = cpText{}
		s.ends = [2][]int32{}
	}
	t.pool.Put(s)
}

// fragment is a run of raw text [lo, hi) or a special token (tok >= 0).
type fragment struct {
	tok    int32
	lo, hi int
}

// Encode tokenizes text. With addSpecial, BOS/EOS are added when the
// vocabulary asks for them (AddBOS/AddEOS); with parseSpecial, control
// tokens written in the text ("<|im_start|>") become their ids, otherwise
// only user-defined tokens are (llama.cpp's and Hugging Face's rule). The
// text between them is normalized first where SetNormalization asked for
// it.
//
// One deliberate difference from llama.cpp: when addSpecial and
// parseSpecial are both set and the text itself starts with the BOS token
// (a chat template that writes <|begin_of_text|>), no second BOS is added.
func (t *Tokenizer) Encode(text string, addSpecial, parseSpecial bool) ([]int32, error) {
	s := t.getScratch()
	defer t.putScratch(s)
	frags := t.partition(text, parseSpecial, s)
	text, frags = t.normalizeFragments(text, frags, s)
	out := make([]int32, 0, len(text)/3+4)
	// WordPiece always opens with its [CLS] and closes with its [SEP] in
	// llama.cpp's llama_tokenize, whatever add_bos_token and
	// add_sep_token say; the others follow the flags.
	wpm := t.kind == kindWPM
	if addSpecial && (t.addBOS || wpm && t.bos >= 0) {
		if !(len(frags) > 0 && frags[0].tok == t.bos) {
			out = append(out, t.bos)
		}
	}
	if t.kind == kindSPM {
		var err error
		if out, err = t.encodeSPM(text, frags, s, out); err != nil {
			return nil, err
		}
	} else {
		for _, f := range frags {
			if f.tok >= 0 {
				out = append(out, f.tok)
				continue
			}
			switch raw := text[f.lo:f.hi]; t.kind {
			case kindWPM:
				out = t.encodeWPM(raw, out)
			case kindUGM:
				out = t.encodeUGM(raw, out)
			default:
				out = t.encodeBPE(raw, s, out)
			}
		}
	}
	if addSpecial && t.addEOS {
		out = append(out, t.eos)
	}
	if addSpecial && wpm && t.sep >= 0 {
		// Only WordPiece ends a text with its separator; a BPE
		// vocabulary's add_sep (RoBERTa's) only joins a reranker's pair
		// (AddSEP).
		out = append(out, t.sep)
	}
	return out, nil
}

// partition splits special tokens out of text (tokenizer_st_partition):
// for each special token, longest first, every occurrence in every
// remaining raw fragment is cut out, left to right.
func (t *Tokenizer) partition(text string, parseSpecial bool, s *scratch) []fragment {
	frags := s.frags[:0]
	if text == "" {
		return frags
	}
	frags = append(frags, fragment{tok: -1, lo: 0, hi: len(text)})
	list := t.specialText
	if parseSpecial {
		list = t.specialAll
	}
	// Scanning the text once per special token is the expensive part for
	// long inputs, so first rule tokens out with one pass: a token can only
	// occur if every pair of adjacent bytes in it occurs in the text, and
	// if the text has a run of its longest repeated byte at least as long
	// (EXAONE's user-defined tokens are runs of 2 to 31 spaces).
	useFilter := len(list) > 8 && len(text) > 512
	if useFilter {
		if s.filter == nil {
			s.filter = new(textFilter)
		}
		s.filter.scan(text)
	}
	spare := s.frags2[:0]
	for _, id := range list {
		tok := t.texts[id]
		if useFilter && !s.filter.mayContain(tok) {
			continue
		}
		a := t.attrs[id]
		spare = spare[:0]
		found := false
		for _, f := range frags {
			if f.tok >= 0 {
				spare = append(spare, f)
				continue
			}
			lo, hi := f.lo, f.hi
			for lo < hi {
				i := strings.Index(text[lo:hi], tok)
				if i < 0 {
					spare = append(spare, fragment{tok: -1, lo: lo, hi: hi})
					break
				}
				found = true
				m := lo + i
				left := m
				if a&attrLStrip != 0 {
					for left > lo && isCSpace(text[left-1]) {
						left--
					}
				}
				if left > lo {
					spare = append(spare, fragment{tok: -1, lo: lo, hi: left})
				}
				spare = append(spare, fragment{tok: id, lo: m, hi: m + len(tok)})
				lo = m + len(tok)
				if a&attrRStrip != 0 {
					for lo < hi && isCSpace(text[lo]) {
						lo++
					}
				}
			}
		}
		if found {
			frags, spare = spare, frags
		}
	}
	s.frags, s.frags2 = frags, spare
	return frags
}

// textFilter summarises a text for cheap "can token T occur" checks.
type textFilter struct {
	pairs  [1 << 16 / 64]uint64 // bit set of adjacent byte pairs
	maxRun [256]int             // longest run of each byte value
}

func (f *textFilter) scan(text string) {
	f.pairs = [1 << 16 / 64]uint64{}
	f.maxRun = [256]int{}
	run := 0
	for i := 0; i < len(text); i++ {
		c := text[i]
		if i > 0 && text[i-1] == c {
			run++
		} else {
			run = 1
		}
		if run > f.maxRun[c] {
			f.maxRun[c] = run
		}
		if i+1 < len(text) {
			p := uint16(c)<<8 | uint16(text[i+1])
			f.pairs[p>>6] |= 1 << (p & 63)
		}
	}
}

// mayContain is false only when tok certainly does not occur in the text.
func (f *textFilter) mayContain(tok string) bool {
	run := 0
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if i > 0 && tok[i-1] == c {
			run++
		} else {
			run = 1
		}
		if run > f.maxRun[c] {
			return false
		}
		if i+1 < len(tok) {
			p := uint16(c)<<8 | uint16(tok[i+1])
			if f.pairs[p>>6]&(1<<(p&63)) == 0 {
				return false
			}
		}
	}
	return true
}

// isCSpace is C's isspace in the "C" locale, which llama.cpp's LSTRIP and
// RSTRIP use.
func isCSpace(b byte) bool {
	return b == ' ' || (b >= '\t' && b <= '\r')
}

// encodeBPE pre-tokenizes one raw fragment and merges each word.
func (t *Tokenizer) encodeBPE(text string, s *scratch, out []int32) []int32 {
	if t.escapeSpaces {
		text = strings.ReplaceAll(text, " ", spaceMark)
	}
	text = normalizeUTF8(text)
	s.cps.load(t.cpTab, text)
	ends := t.pre.split(&s.cps, &s.ends)
	lo := 0
	for _, e := range ends {
		word := text[s.cps.off[lo]:s.cps.off[e]]
		out = t.bpeWord(word, s, out)
		lo = int(e)
	}
	return out
}
