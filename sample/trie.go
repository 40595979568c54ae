package sample

import (
	"bytes"
	"slices"
)

// vocabTrie is a vocabulary as a byte trie, so a constraint can find every
// token it allows by walking shared prefixes once and dropping a whole
// subtree at its first refused byte: between JSON values that is nearly
// the whole vocabulary at the root.
type vocabTrie struct {
	nodes []trieNode
	toks  []int32 // the tokens ending at each node, by node
	depth int     // the longest piece
}

type trieNode struct {
	first, n  int32 // children: nodes[first : first+n]
	tok, ntok int32 // tokens ending here: toks[tok : tok+ntok]
	b         byte  // the byte into this node
}

// newVocabTrie builds the trie of v's non-empty pieces; children of a
// node are contiguous, so a walk is a scan.
func newVocabTrie(v [][]byte) *vocabTrie {
	ids := make([]int32, 0, len(v))
	for id, p := range v {
		if len(p) > 0 {
			ids = append(ids, int32(id))
		}
	}
	slices.SortFunc(ids, func(a, b int32) int {
		if c := bytes.Compare(v[a], v[b]); c != 0 {
			return c
		}
		return int(a - b)
	})
	t := &vocabTrie{nodes: []trieNode{{}}}
	t.build(v, ids, 0, 0)
	return t
}

// build fills node n with ids, sorted pieces sharing their first depth
// bytes.
func (t *vocabTrie) build(v [][]byte, ids []int32, n int32, depth int) {
	t.depth = max(t.depth, depth)
	i := 0
	for i < len(ids) && len(v[ids[i]]) == depth { // whole pieces sort first
		i++
	}
	t.nodes[n].tok, t.nodes[n].ntok = int32(len(t.toks)), int32(i)
	t.toks = append(t.toks, ids[:i]...)
	rest := ids[i:]
	var groups [][]int32
	for len(rest) > 0 {
		b := v[rest[0]][depth]
		j := 1
		for j < len(rest) && v[rest[j]][depth] == b {
			j++
		}
		groups = append(groups, rest[:j])
		rest = rest[j:]
	}
	first := int32(len(t.nodes))
	t.nodes[n].first, t.nodes[n].n = first, int32(len(groups))
	for _, g := range groups {
		t.nodes = append(t.nodes, trieNode{b: v[g[0]][depth]})
	}
	for k, g := range groups {
		t.build(v, g, first+int32(k), depth+1)
	}
}

// byteStepper is a recognizer state a trie walk can copy and advance.
type byteStepper[S any] interface {
	*S
	copyFrom(src *S)
	stepByte(c byte) bool
}

// walkTrie calls allow for every token whose bytes root's state accepts.
// stack holds a state for each depth (grown as needed).
func walkTrie[S any, P byteStepper[S]](t *vocabTrie, root *S, stack *[]S, allow func(tok int32)) {
	if len(*stack) < t.depth+1 {
		*stack = make([]S, t.depth+1)
	}
	st := *stack
	P(&st[0]).copyFrom(root)
	type frame struct{ node, next int32 }
	path := []frame{{0, 0}}
	for len(path) > 0 {
		top := &path[len(path)-1]
		n := &t.nodes[top.node]
		if top.next >= n.n {
			path = path[:len(path)-1]
			continue
		}
		child := n.first + top.next
		top.next++
		d := len(path)
		P(&st[d]).copyFrom(&st[d-1])
		if !P(&st[d]).stepByte(t.nodes[child].b) {
			continue
		}
		c := &t.nodes[child]
		for _, tok := range t.toks[c.tok : c.tok+c.ntok] {
			allow(tok)
		}
		if c.n > 0 {
			path = append(path, frame{child, 0})
		}
	}
}
