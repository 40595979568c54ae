package tokenizer

import (
	"container/heap"
	"fmt"
	"strings"
)

const noRank = ^uint32(0)

// buildBPE prepares the merge map and, for byte-level BPE, the byte
// table; over raw UTF-8 (t.rawUTF8) token texts are their own bytes.
func (t *Tokenizer) buildBPE(merges []string) error {
	if !t.rawUTF8 {
		t.bt = newByteTable()
	}
	t.byRaw = make(map[string]int32, t.nVocab)
	for id, text := range t.texts {
		if raw, ok := t.rawOf(text); ok {
			t.byRaw[raw] = int32(id)
		}
	}
	pseudo := map[string]int32{}
	symOf := func(raw string) int32 {
		if id, ok := t.byRaw[raw]; ok {
			return id
		}
		if id, ok := pseudo[raw]; ok {
			return id
		}
		id := int32(t.nVocab + len(t.pseudoRaw))
		pseudo[raw] = id
		t.pseudoRaw = append(t.pseudoRaw, raw)
		return id
	}
	t.merges = newPairTable(len(merges))
	for rank, m := range merges {
		if rank >= int(noRank) {
			return fmt.Errorf("tokenizer: %d merges is too many", len(merges))
		}
		// Split at the first space at byte index >= 1 (a merge may start
		// with a space-like rune, never with a space).
		if len(m) < 2 {
			continue
		}
		i := strings.IndexByte(m[1:], ' ')
		if i < 0 {
			continue
		}
		a, b := m[:i+1], m[i+2:]
		// Operands that are not pure byte-table text (literal spaces, or
		// runes outside the table) can never meet an encoded word.
		ra, okA := t.rawOf(a)
		rb, okB := t.rawOf(b)
		if !okA || !okB || ra == "" || rb == "" {
			continue
		}
		key := uint64(uint32(symOf(ra)))<<32 | uint64(uint32(symOf(rb)))
		// On a repeated pair llama.cpp keeps the first (lowest) rank.
		if _, dup := t.merges.get(key); !dup {
			t.merges.putIfAbsent(key, uint64(rank)<<32|uint64(uint32(symOf(ra+rb))))
		}
	}
	for b := 0; b < 256; b++ {
		raw := []byte{byte(b)}
		t.byteSym[b] = -1
		if id, ok := t.byRaw[string(raw)]; ok {
			t.byteSym[b] = id
		} else if id, ok := pseudo[string(raw)]; ok {
			t.byteSym[b] = id
		}
	}
	if t.rawUTF8 {
		// Characters of several bytes are looked up whole; bytes no token
		// spells fall back to SentencePiece's <0xXX> tokens.
		t.pseudoSym = pseudo
		for b := range t.byteFallback {
			t.byteFallback[b] = -1
			if id, ok := t.byText[fmt.Sprintf("<0x%02X>", b)]; ok {
				t.byteFallback[b] = id
			}
		}
	}
	return nil
}

// rawOf returns the raw bytes a token text spells: the text itself over
// raw UTF-8, else its byte-level decoding (ok false when some rune is not
// in the byte table).
func (t *Tokenizer) rawOf(text string) (string, bool) {
	if t.rawUTF8 {
		return text, true
	}
	return t.bt.rawBytes(text)
}

// utf8Len is llama.cpp's unicode_len_utf8: a character's length from its
// first byte (a stray continuation byte counts as one).
var utf8Len = [16]uint8{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4}

// firstSymbol returns the symbol word starts with at byte i and its length:
// a byte in byte-level BPE, a character over raw UTF-8 (-1 when no token
// or merge spells it). mergeLinear inlines the byte-level case.
func (t *Tokenizer) firstSymbol(word string, i int) (int32, int) {
	c := word[i]
	if !t.rawUTF8 || c < 0x80 {
		return t.byteSym[c], 1
	}
	n := min(int(utf8Len[c>>4]), len(word)-i)
	ch := word[i : i+n]
	if id, ok := t.byRaw[ch]; ok {
		return id, n
	}
	if id, ok := t.pseudoSym[ch]; ok {
		return id, n
	}
	return -1, n
}

// mergeOf returns the rank and result symbol of merging left and right.
func (t *Tokenizer) mergeOf(left, right int32) (rank uint32, result int32) {
	if left < 0 || right < 0 {
		return noRank, -1
	}
	v, ok := t.merges.get(uint64(uint32(left))<<32 | uint64(uint32(right)))
	if !ok {
		return noRank, -1
	}
	return uint32(v >> 32), int32(uint32(v))
}

// linearMergeMax is the word length (in bytes) up to which the quadratic
// merge loop beats the heap: Korean and English words are far shorter.
const linearMergeMax = 48

// bpeWord appends the ids of one pre-tokenized word (raw bytes) to out.
func (t *Tokenizer) bpeWord(word string, s *scratch, out []int32) []int32 {
	if t.ignoreMerges {
		if id, ok := t.byRaw[word]; ok {
			return append(out, id)
		}
	}
	if t.wholeNewlines && strings.Trim(word, "\n") == "" {
		// Gemma 4: a run of newlines that is a token is taken whole.
		if id, ok := t.byText[word]; ok {
			return append(out, id)
		}
	}
	if len(word) == 1 {
		return t.emitSymbol(word, t.byteSym[word[0]], out)
	}
	cacheable := len(word) <= maxCachedWord
	if cacheable {
		if ids, ok := t.cache.get(word); ok {
			return append(out, ids...)
		}
	}
	start := len(out)
	if len(word) <= linearMergeMax {
		out = t.mergeLinear(word, s, out)
	} else {
		out = t.mergeHeap(word, s, out)
	}
	if cacheable {
		t.cache.put(word, out[start:])
	}
	return out
}

// linSym is a symbol of the linear merge loop together with the merge it
// would make with its right neighbour.
type linSym struct {
	sym, ln int32
	rank    uint32 // noRank: no merge with the next symbol
	res     int32
}

// mergeLinear repeatedly merges the adjacent pair with the lowest rank
// (leftmost on ties), exactly the order llama.cpp's priority queue yields.
func (t *Tokenizer) mergeLinear(word string, s *scratch, out []int32) []int32 {
	ls := s.lin[:0]
	if !t.rawUTF8 {
		for i := 0; i < len(word); i++ {
			ls = append(ls, linSym{sym: t.byteSym[word[i]], ln: 1, rank: noRank})
		}
	}
	for i := 0; t.rawUTF8 && i < len(word); {
		sym, n := t.firstSymbol(word, i)
		ls = append(ls, linSym{sym: sym, ln: int32(n), rank: noRank})
		i += n
	}
	for i := 0; i+1 < len(ls); i++ {
		ls[i].rank, ls[i].res = t.mergeOf(ls[i].sym, ls[i+1].sym)
	}
	for len(ls) > 1 {
		best, bestRank := -1, noRank
		for i := range ls {
			if ls[i].rank < bestRank {
				best, bestRank = i, ls[i].rank
			}
		}
		if best < 0 {
			break
		}
		ls[best].sym = ls[best].res
		ls[best].ln += ls[best+1].ln
		ls = append(ls[:best+1], ls[best+2:]...)
		if best > 0 {
			ls[best-1].rank, ls[best-1].res = t.mergeOf(ls[best-1].sym, ls[best].sym)
		}
		if best+1 < len(ls) {
			ls[best].rank, ls[best].res = t.mergeOf(ls[best].sym, ls[best+1].sym)
		} else {
			ls[best].rank = noRank
		}
	}
	off := 0
	for _, x := range ls {
		out = t.emitSymbol(word[off:off+int(x.ln)], x.sym, out)
		off += int(x.ln)
	}
	s.lin = ls
	return out
}

// bigram is a candidate merge of the symbols at left and right (indices
// into the word's symbol list), valid while both still hold the symbols
// they held when it was queued.
type bigram struct {
	rank        uint32
	left, right int32
	lsym, rsym  int32
	result      int32
}

type bigramHeap []bigram

func (h bigramHeap) Len() int { return len(h) }
func (h bigramHeap) Less(i, j int) bool {
	if h[i].rank != h[j].rank {
		return h[i].rank < h[j].rank
	}
	return h[i].left < h[j].left
}
func (h bigramHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *bigramHeap) Push(x any)   { *h = append(*h, x.(bigram)) }
func (h *bigramHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// mergeHeap is llama.cpp's algorithm (linked symbols, a priority queue of
// bigrams ordered by rank then left index, stale entries skipped), used for
// long words where the linear scan would be quadratic.
func (t *Tokenizer) mergeHeap(word string, s *scratch, out []int32) []int32 {
	sym, ln := s.sym[:0], s.ln[:0]
	next, prev := s.next[:0], s.prev[:0]
	for i := 0; i < len(word); {
		y, m := t.firstSymbol(word, i)
		k := int32(len(sym))
		sym = append(sym, y)
		ln = append(ln, int32(m))
		next = append(next, k+1)
		prev = append(prev, k-1)
		i += m
	}
	n := len(sym)
	next[n-1] = -1
	h := s.heap[:0]
	push := func(l, r int32) {
		if l < 0 || r < 0 {
			return
		}
		rk, res := t.mergeOf(sym[l], sym[r])
		if rk == noRank {
			return
		}
		heap.Push(&h, bigram{rank: rk, left: l, right: r, lsym: sym[l], rsym: sym[r], result: res})
	}
	for i := 0; i+1 < n; i++ {
		push(int32(i), int32(i+1))
	}
	for h.Len() > 0 {
		b := heap.Pop(&h).(bigram)
		if ln[b.left] == 0 || ln[b.right] == 0 || next[b.left] != b.right ||
			sym[b.left] != b.lsym || sym[b.right] != b.rsym {
			continue // stale: one side has changed since it was queued
		}
		sym[b.left] = b.result
		ln[b.left] += ln[b.right]
		ln[b.right] = 0
		next[b.left] = next[b.right]
		if nx := next[b.right]; nx >= 0 {
			prev[nx] = b.left
		}
		push(prev[b.left], b.left)
		push(b.left, next[b.left])
	}
	off := 0
	for i := int32(0); i >= 0; i = next[i] {
		out = t.emitSymbol(word[off:off+int(ln[i])], sym[i], out)
		off += int(ln[i])
	}
	s.sym, s.ln, s.next, s.prev, s.heap = sym, ln, next, prev, h
	return out
}

// emitSymbol appends the id of a final symbol. A symbol that is not a token
// falls back, like llama.cpp, to looking up each byte of its byte-level
// spelling as a one-character token (over raw UTF-8: each byte's <0xXX>
// token) and silently drops bytes that are not.
func (t *Tokenizer) emitSymbol(raw string, sym int32, out []int32) []int32 {
	if sym >= 0 && int(sym) < t.nVocab {
		return append(out, sym)
	}
	if t.rawUTF8 {
		for i := 0; i < len(raw); i++ {
			if id := t.byteFallback[raw[i]]; id >= 0 {
				out = append(out, id)
			}
		}
		return out
	}
	var buf [64]byte
	enc := t.bt.appendEncoded(buf[:0], raw)
	for _, c := range enc {
		if id, ok := t.byText[string([]byte{c})]; ok {
			out = append(out, id)
		}
	}
	return out
}
