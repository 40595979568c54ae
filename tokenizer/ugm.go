package tokenizer

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
)

// Unigram ("t5" in GGUF, llama.cpp's UGM; T5, mT5, XLM-RoBERTa and the
// embedding models built on it): the text is normalized with
// SentencePiece's precompiled character map, then cut into the sequence
// of vocabulary entries with the highest total score (Viterbi over byte
// positions). A code point no entry starts with costs the lowest normal
// score minus 10 and becomes the unknown token; runs of unknowns collapse
// into one.

// ugm is what a Unigram tokenizer adds to a Tokenizer.
type ugm struct {
	charsmap      *charsmap
	tokens        byteTrie // normal, user-defined and unused tokens
	userDefined   byteTrie // user-defined tokens, passed through unnormalized
	unknownScore  float64
	removeExtraWS bool
}

// unknownPenalty is SentencePiece's kUnkPenalty.
const unknownPenalty = 10.0

func (t *Tokenizer) buildUGM(charsmapBlob []byte, removeExtraWS bool) error {
	u := &ugm{removeExtraWS: removeExtraWS}
	if len(charsmapBlob) > 0 {
		cm, err := parseCharsmap(charsmapBlob)
		if err != nil {
			return err
		}
		u.charsmap = cm
	}
	minScore := math.MaxFloat32
	for id, a := range t.attrs {
		if a&attrNormal != 0 {
			minScore = min(minScore, float64(t.scores[id]))
		}
		if a&(attrNormal|attrUserDefined|attrUnused) != 0 {
			u.tokens.insert(t.texts[id], int32(id))
		}
		if a&attrUserDefined != 0 {
			u.userDefined.insert(t.texts[id], int32(id))
		}
	}
	u.unknownScore = minScore - unknownPenalty
	t.ugm = u
	return nil
}

// encodeUGM appends the tokens of one raw fragment.
func (t *Tokenizer) encodeUGM(text string, out []int32) []int32 {
	u := t.ugm
	s := u.normalize(text, t.addSpacePrefix)
	n := len(s)
	if n == 0 {
		return out
	}
	type best struct {
		tok   int32
		from  int
		score float64
	}
	res := make([]best, n+1)
	for i := range res {
		res[i] = best{tok: t.unk, score: -math.MaxFloat64}
	}
	res[0].score = 0
	for off := 0; off < n; {
		units := min(utf8LenLead(s[off]), n-off)
		cur := res[off].score
		single := false
		node := u.tokens.root()
		for p := off; p < n; p++ {
			if node = u.tokens.child(node, s[p]); node < 0 {
				break
			}
			id := u.tokens.value(node)
			if id < 0 {
				continue
			}
			if p+1-off == units {
				single = true
			}
			score := float64(t.scores[id])
			if t.attrs[id]&attrUserDefined != 0 {
				score = 0 // user-defined tokens win over the negative log-probabilities
			}
			if c := cur + score; c > res[p+1].score {
				res[p+1] = best{tok: id, from: off, score: c}
			}
		}
		if !single {
			if c := cur + u.unknownScore; c > res[off+units].score {
				res[off+units] = best{tok: t.unk, from: off, score: c}
			}
		}
		off += units
	}
	start := len(out)
	prevUnknown := false
	for b := res[n]; ; b = res[b.from] {
		unknown := b.tok == t.unk
		if !(prevUnknown && unknown) {
			out = append(out, b.tok)
		}
		if b.from == 0 {
			break
		}
		prevUnknown = unknown
	}
	slices.Reverse(out[start:])
	return out
}

// normalize applies the character map piece by piece and SentencePiece's
// whitespace rules: spaces become ▁ (llama.cpp always escapes them for
// Unigram and never reads treat_whitespace_as_suffix), a space is
// prepended when add_space_prefix is set, and with
// remove_extra_whitespaces runs of spaces collapse to one before each word
// and trailing ones are dropped.
func (u *ugm) normalize(text string, addSpacePrefix bool) string {
	out := make([]byte, 0, len(text)*3/2+4)
	prepended, inWord := false, false
	for off := 0; off < len(text); {
		repl, consumed := u.normalizePrefix(text, off)
		for i := 0; i < len(repl); i++ {
			c := repl[i]
			if c != ' ' {
				if !inWord {
					inWord = true
					if (addSpacePrefix && !prepended) || u.removeExtraWS {
						out = append(out, spaceMark...)
						prepended = true
					}
				}
				out = append(out, c)
				continue
			}
			inWord = false
			if !u.removeExtraWS {
				out = append(out, spaceMark...)
			}
		}
		off += consumed
	}
	return string(out)
}

// normalizePrefix returns the normalized form of the longest piece of text
// at off that has one, and how many bytes of text it stands for: a
// user-defined token as it is, else the character map's longest match,
// else one code point as it is (U+FFFD for an invalid byte).
func (u *ugm) normalizePrefix(text string, off int) (string, int) {
	if n := u.userDefined.longestPrefix(text[off:]); n > 0 {
		return text[off : off+n], n
	}
	if u.charsmap != nil {
		if repl, n := u.charsmap.longestMatch(text[off:]); n > 0 {
			return repl, n
		}
	}
	if _, n, ok := decodeLenient(text[off:]); ok {
		return text[off : off+n], n
	}
	return "\uFFFD", 1
}

// charsmap is SentencePiece's precompiled normalization map as GGUF stores
// it (tokenizer.ggml.precompiled_charsmap): a little-endian uint32 blob
// size, an XOR-compressed compact double array (XCDA, Kanda 2018) over
// input bytes whose leaves hold offsets into the rest, and the rest:
// NUL-terminated replacement strings.
type charsmap struct {
	units []uint32
	repl  []byte
}

func parseCharsmap(b []byte) (*charsmap, error) {
	if len(b) < 4 {
		return nil, fmt.Errorf("tokenizer: precompiled_charsmap has %d bytes, too few for its header", len(b))
	}
	size := binary.LittleEndian.Uint32(b)
	if size%4 != 0 || uint64(size)+4 >= uint64(len(b)) {
		return nil, fmt.Errorf("tokenizer: precompiled_charsmap's double array of %d bytes does not fit its %d bytes", size, len(b))
	}
	cm := &charsmap{units: make([]uint32, size/4), repl: b[4+size:]}
	for i := range cm.units {
		cm.units[i] = binary.LittleEndian.Uint32(b[4+4*i:])
	}
	return cm, nil
}

// An XCDA unit packs BASE in bits 10-30 (shifted left by 8 more when bit 9
// is set), the label byte in bits 0-7 (bit 31 marks a value unit, so a
// value never matches a label) and LEAF in bit 8; a value unit holds its
// replacement's offset in bits 0-30.
func (cm *charsmap) unit(i uint32) (uint32, bool) {
	if int(i) >= len(cm.units) {
		return 0, false
	}
	return cm.units[i], true
}

func xcdaBase(u uint32) uint32  { return (u >> 10) << ((u & (1 << 9)) >> 6) }
func xcdaLabel(u uint32) uint32 { return u & (1<<31 | 0xFF) }
func xcdaLeaf(u uint32) bool    { return u>>8&1 != 0 }
func xcdaValue(u uint32) uint32 { return u & (1<<31 - 1) }

// longestMatch walks the double array along s and returns the replacement
// of the longest prefix of s the map has, and that prefix's length (0 when
// none). A NUL byte ends the walk, as in SentencePiece. A map whose offsets
// point outside it matches nothing there.
func (cm *charsmap) longestMatch(s string) (string, int) {
	root, ok := cm.unit(0)
	if !ok {
		return "", 0
	}
	node := xcdaBase(root)
	length, at := 0, uint32(0)
	for i := 0; i < len(s) && s[i] != 0; i++ {
		c := uint32(s[i])
		node ^= c
		u, ok := cm.unit(node)
		if !ok || xcdaLabel(u) != c {
			break
		}
		node ^= xcdaBase(u)
		if xcdaLeaf(u) {
			v, ok := cm.unit(node)
			if !ok {
				break
			}
			length, at = i+1, xcdaValue(v)
		}
	}
	if length == 0 || int(at) >= len(cm.repl) {
		return "", 0
	}
	end := at
	for int(end) < len(cm.repl) && cm.repl[end] != 0 {
		end++
	}
	if int(end) == len(cm.repl) {
		return "", 0 // unterminated replacement
	}
	return string(cm.repl[at:end]), length
}

// byteTrie maps byte strings to token ids. Each node lists its children as
// a sibling chain; the root's 256 children are indexed directly, since
// every lookup passes through it.
type byteTrie struct {
	rootKids [256]int32
	nodes    []trieNode
}

type trieNode struct {
	firstKid, next int32
	label          byte
	val            int32
}

func (tr *byteTrie) root() int32 { return -2 }

// child returns the child of node along b, or -1.
func (tr *byteTrie) child(node int32, b byte) int32 {
	if node == -2 {
		return tr.rootKids[b] - 1
	}
	for k := tr.nodes[node].firstKid; k >= 0; k = tr.nodes[k].next {
		if tr.nodes[k].label == b {
			return k
		}
	}
	return -1
}

func (tr *byteTrie) value(node int32) int32 { return tr.nodes[node].val }

func (tr *byteTrie) insert(s string, id int32) {
	node := tr.root()
	for i := 0; i < len(s); i++ {
		next := tr.child(node, s[i])
		if next < 0 {
			next = int32(len(tr.nodes))
			tr.nodes = append(tr.nodes, trieNode{firstKid: -1, next: -1, label: s[i], val: -1})
			if node == -2 {
				tr.rootKids[s[i]] = next + 1
			} else {
				tr.nodes[next].next = tr.nodes[node].firstKid
				tr.nodes[node].firstKid = next
			}
		}
		node = next
	}
	if node >= 0 && tr.nodes[node].val < 0 {
		tr.nodes[node].val = id
	}
}

// longestPrefix returns the length of the longest key that prefixes s.
func (tr *byteTrie) longestPrefix(s string) int {
	best := 0
	node := tr.root()
	for i := 0; i < len(s); i++ {
		if node = tr.child(node, s[i]); node < 0 {
			break
		}
		if tr.nodes[node].val >= 0 {
			best = i + 1
		}
	}
	return best
}
