package tokenizer

import (
	"container/heap"
	"fmt"
)

// SentencePiece-style BPE as llama.cpp implements it (llm_tokenizer_spm):
// characters are merged pairwise, highest token score first, and symbols
// that never became tokens are re-split along the recorded merges or fall
// back to <0xXX> byte tokens.

const spaceMark = "\u2581" // ▁ stands for a space in SPM token texts

// encodeSPM tokenizes the fragments of text, prefixing a space before the
// first raw fragment and after every special token when add_space_prefix
// is set.
func (t *Tokenizer) encodeSPM(text string, frags []fragment, s *scratch, out []int32) ([]int32, error) {
	prevSpecial := true
	for _, f := range frags {
		if f.tok >= 0 {
			out = append(out, f.tok)
			prevSpecial = true
			continue
		}
		buf := s.spm[:0]
		if t.addSpacePrefix && prevSpecial {
			buf = append(buf, spaceMark...)
		}
		for i := f.lo; i < f.hi; i++ {
			if text[i] == ' ' {
				buf = append(buf, spaceMark...)
			} else {
				buf = append(buf, text[i])
			}
		}
		s.spm = buf
		var err error
		if out, err = t.spmFragment(string(buf), out); err != nil {
			return nil, err
		}
		prevSpecial = false
	}
	return out, nil
}

type spmSymbol struct {
	off, n     int
	prev, next int
}

type spmBigram struct {
	left, right int
	score       float32
	size        int
}

type spmHeap []spmBigram

func (h spmHeap) Len() int { return len(h) }
func (h spmHeap) Less(i, j int) bool {
	if h[i].score != h[j].score {
		return h[i].score > h[j].score
	}
	return h[i].left < h[j].left
}
func (h spmHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *spmHeap) Push(x any)   { *h = append(*h, x.(spmBigram)) }
func (h *spmHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// utf8LenLead is llama.cpp's unicode_len_utf8: the sequence length its
// lead byte announces (1 for continuation bytes).
func utf8LenLead(b byte) int {
	switch b >> 4 {
	case 0xC, 0xD:
		return 2
	case 0xE:
		return 3
	case 0xF:
		return 4
	}
	return 1
}

func (t *Tokenizer) spmFragment(text string, out []int32) ([]int32, error) {
	var syms []spmSymbol
	for off := 0; off < len(text); {
		n := min(utf8LenLead(text[off]), len(text)-off)
		syms = append(syms, spmSymbol{off: off, n: n, prev: len(syms) - 1, next: len(syms) + 1})
		off += n
	}
	if len(syms) == 0 {
		return out, nil
	}
	syms[len(syms)-1].next = -1

	var h spmHeap
	revMerge := map[string][2]int{}
	tryAdd := func(l, r int) {
		if l < 0 || r < 0 {
			return
		}
		txt := text[syms[l].off : syms[l].off+syms[l].n+syms[r].n]
		id, ok := t.byText[txt]
		if !ok {
			return
		}
		heap.Push(&h, spmBigram{left: l, right: r, score: t.scores[id], size: len(txt)})
		revMerge[txt] = [2]int{l, r}
	}
	for i := 1; i < len(syms); i++ {
		tryAdd(i-1, i)
	}
	for h.Len() > 0 {
		b := heap.Pop(&h).(spmBigram)
		l, r := &syms[b.left], &syms[b.right]
		if l.n == 0 || r.n == 0 || l.n+r.n != b.size {
			continue
		}
		l.n += r.n
		r.n = 0
		l.next = r.next
		if r.next >= 0 {
			syms[r.next].prev = b.left
		}
		tryAdd(l.prev, b.left)
		tryAdd(b.left, l.next)
	}
	var err error
	for i := 0; i != -1 && err == nil; i = syms[i].next {
		out, err = t.spmResegment(text, syms, revMerge, syms[i], out, 0)
	}
	return out, err
}

// spmResegment emits a final symbol: its token if it is one, else the two
// symbols its text was last recorded as merged from, else byte tokens.
func (t *Tokenizer) spmResegment(text string, syms []spmSymbol, rev map[string][2]int, sym spmSymbol, out []int32, depth int) ([]int32, error) {
	txt := text[sym.off : sym.off+sym.n]
	if id, ok := t.byText[txt]; ok {
		return append(out, id), nil
	}
	// The depth bound only guards against a pathological cycle, where
	// llama.cpp would recurse without end; it then falls back to bytes.
	if p, ok := rev[txt]; ok && depth < 64 {
		var err error
		if out, err = t.spmResegment(text, syms, rev, syms[p[0]], out, depth+1); err != nil {
			return nil, err
		}
		return t.spmResegment(text, syms, rev, syms[p[1]], out, depth+1)
	}
	for i := 0; i < len(txt); i++ {
		id, err := t.spmByteToken(txt[i])
		if err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, nil
}

// spmByteToken finds the byte-fallback token for b: "<0xXX>", else the raw
// one-byte string. llama.cpp throws when neither exists; here the unknown
// token stands in, and without one it is an error.
func (t *Tokenizer) spmByteToken(b byte) (int32, error) {
	const hex = "0123456789ABCDEF"
	var name = [6]byte{'<', '0', 'x', hex[b>>4], hex[b&15], '>'}
	if id, ok := t.byText[string(name[:])]; ok {
		return id, nil
	}
	if id, ok := t.byText[string([]byte{b})]; ok {
		return id, nil
	}
	if t.unk >= 0 {
		return t.unk, nil
	}
	return 0, fmt.Errorf("tokenizer: byte 0x%02X has no token and the vocabulary has no unknown token", b)
}
