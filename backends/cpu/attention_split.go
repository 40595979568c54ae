package cpu

import (
	"github.com/nuri-ai/nuri/quant"
)

// splitMinPositions is the shortest context a split call (attnSplit) takes:
// below it the three passes' dispatches cost more than the reads they save.
const splitMinPositions = 256

// splitParts is how many parts attnSplit cuts each (token, KV head) pair
// of the call into, or 0 where the call runs as units of query heads.
// A decode step of a model with fewer KV heads than threads (Gemma 3 1B
// and Gemma 4's small models: one) has fewer pairs than threads, and a
// unit of query heads reads its KV head's whole cache: either a thread
// idles, or several units read the same rows. Split, each part reads its
// share of them once. The F16 and Q8_0 multi-head loops only, every
// query head of a KV head in one group (four at most), each token's
// context at least splitMinPositions.
func (a *attnJob) splitParts(threads int) int {
	k, v := a.kv.K.Type, a.kv.V.Type
	pairs := len(a.rows.Pos) * a.p.NHeadKV
	if threads < 2 || pairs >= threads || a.perKVH > 4 || (k != quant.F16 && k != quant.Q8_0) || (v != quant.F16 && v != quant.Q8_0) {
		return 0
	}
	for t := range a.rows.Pos {
		lo, pos, err := a.window(t)
		if err != nil || pos-lo+1 < splitMinPositions {
			return 0 // an error is reported by the units' own path
		}
	}
	parts := threads / pairs
	// The values' dimensions are cut in whole Q8_0 blocks.
	for parts > 1 && a.p.HeadDimV/parts%32 != 0 {
		parts--
	}
	if parts < 2 {
		return 0
	}
	return parts
}

// attnSplit runs a call as splitParts cuts it, in three passes with the
// same bits as kvGroup: the scores of each pair's positions in parts
// (each row's score is its own), the softmax of each head, then the
// weighted sums of each pair's value dimensions in parts (each dimension
// sums its positions in order, whatever the others do).
func (s *Stream) attnSplit(parts int) error {
	sa := &s.attn
	a := &sa.job
	pairs := len(a.rows.Pos) * a.p.NHeadKV
	sp := &sa.split
	sp.parts = parts
	sp.off = grow(sp.off, pairs+1)
	sp.gk = a.groupWidth(a.perKVH)
	total := 0
	for i := range pairs {
		lo, pos, err := a.window(i / a.p.NHeadKV)
		if err != nil {
			return err
		}
		sp.off[i] = total
		total += sp.gk * (pos - lo + 1)
	}
	sp.off[pairs] = total
	sp.scores = grow(sp.scores, total)
	for _, phase := range []int{splitScores, splitSoftmax, splitSums} {
		n := pairs * parts
		if phase == splitSoftmax {
			n = pairs
		}
		sa.errs = grow(sa.errs, n)
		clear(sa.errs)
		sp.phase = phase
		s.dev.pool.RunTask(n, sp)
		for _, err := range sa.errs[:n] {
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// The passes of a split call.
const (
	splitScores = iota
	splitSoftmax
	splitSums
)

// attnSplitTask is the pool task of a split call's current pass (see
// attnSplit): unit i is part i % parts of pair i / parts, a pair being a
// token and KV head (i / NHeadKV, i % NHeadKV); the softmax pass has a
// unit a pair.
type attnSplitTask struct {
	s      *Stream
	phase  int
	parts  int
	gk     int       // heads a group's loops run (kvGroup's padding)
	off    []int     // each pair's scores in scores, gk rows of its positions
	scores []float32 // shared by the passes
}

func (sp *attnSplitTask) Run(lo, hi int) {
	sa := &sp.s.attn
	w := sp.s.attnWorker(&sa.job)
	for i := lo; i < hi; i++ {
		switch sp.phase {
		case splitScores:
			sa.errs[i] = w.splitScores(sp, i/sp.parts, i%sp.parts)
		case splitSoftmax:
			w.splitSoftmax(sp, i)
		default:
			sa.errs[i] = w.splitSums(sp, i/sp.parts, i%sp.parts)
		}
	}
	sa.workers.Put(w)
}

// pairRows returns pair's token, KV head, first position, context and
// spans (in w.list).
func (w *attnWorker) pairRows(pair int) (t, kvh, lo, n int, list []span, err error) {
	a := w.a
	t, kvh = pair/a.p.NHeadKV, pair%a.p.NHeadKV
	lo, pos, err := a.window(t)
	if err != nil {
		return
	}
	w.list, err = a.spans(w.list[:0], a.rows.Tables[t], lo, pos, kvh)
	return t, kvh, lo, pos - lo + 1, w.list, err
}

// splitScores computes part part of pair's scores: its share of the
// positions, for every query head of the KV head (as kvGroup does).
func (w *attnWorker) splitScores(sp *attnSplitTask, pair, part int) error {
	a, p := w.a, w.a.p
	t, kvh, lo, n, list, err := w.pairRows(pair)
	if err != nil {
		return err
	}
	per := (n + sp.parts - 1) / sp.parts
	from, to := lo+part*per, min(lo+(part+1)*per, lo+n)
	g, gk, hd := a.perKVH, sp.gk, p.HeadDimK
	h0 := kvh * a.perKVH
	qh := a.qs[(t*p.NHead+h0)*hd : (t*p.NHead+h0+g)*hd]
	sc := sp.scores[sp.off[pair]:sp.off[pair+1]]
	if err := w.groupQ(qh, g, gk); err != nil {
		return err
	}
	if a.kv.K.Type == quant.F16 {
		qfs := w.qfs[:gk*hd]
		for _, r := range list {
			if f, m, row := cut(r, from, to, a.kv.NHeadKV); m > 0 {
				a.vec.DotF16RowsHeads(sc[f-lo:], n, m, qfs, hd, hd, gk, a.k16[row*hd:], a.kv.NHeadKV*hd)
			}
		}
		return nil
	}
	qqs, qds := w.qqs[:gk*hd], w.qds[:gk*hd/32]
	for _, r := range list {
		if f, m, row := cut(r, from, to, a.kv.NHeadKV); m > 0 {
			a.vec.DotQ8_0RowsHeads(sc[f-lo:], n, m, qqs, qds, gk, a.kb[row*a.kRow:], a.kv.NHeadKV*a.kRow)
		}
	}
	return nil
}

// cut returns the positions of run r within [from, to): the first, how
// many, and the cache row of the first (a position's rows are nHeadKV
// apart).
func cut(r span, from, to, nHeadKV int) (first, n, row int) {
	first = max(r.first, from)
	n = min(r.first+r.n, to) - first
	return first, n, r.row + (first-r.first)*nHeadKV
}

// splitSoftmax turns pair's score rows into probabilities, the padded
// heads' to zeros.
func (w *attnWorker) splitSoftmax(sp *attnSplitTask, pair int) {
	a := w.a
	sc := sp.scores[sp.off[pair]:sp.off[pair+1]]
	n := len(sc) / sp.gk
	for i := range a.perKVH {
		a.softmax(sc[i*n : (i+1)*n])
	}
	clear(sc[a.perKVH*n:])
}

// splitSums computes part part of pair's weighted sums: its share of the
// value dimensions, over every position.
func (w *attnWorker) splitSums(sp *attnSplitTask, pair, part int) error {
	a, p := w.a, w.a.p
	t, kvh, lo, n, list, err := w.pairRows(pair)
	if err != nil {
		return err
	}
	d := p.HeadDimV / sp.parts
	d0 := part * d
	g, gk := a.perKVH, sp.gk
	sc := sp.scores[sp.off[pair]:sp.off[pair+1]]
	acc := w.groupAcc[:gk*d]
	clear(acc)
	for _, r := range list {
		if a.kv.V.Type == quant.F16 {
			a.vec.AxpyF16RowsHeads(acc, d, d, sc[r.first-lo:], n, r.n, gk, a.v16[r.row*a.vCols+d0:], a.kv.NHeadKV*a.vCols)
		} else {
			a.vec.AxpyQ8_0RowsHeads(acc, d, d, sc[r.first-lo:], n, r.n, gk, a.vb[r.row*a.vRow+d0/32*quant.Q8_0.BlockBytes():], a.kv.NHeadKV*a.vRow)
		}
	}
	h0 := kvh * a.perKVH
	for i := range g {
		y := a.ys[(t*p.NHead+h0+i)*p.HeadDimV:]
		copy(y[d0:d0+d], acc[i*d:(i+1)*d])
	}
	return nil
}
