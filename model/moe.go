package model

import (
	"fmt"
	"math"

	"github.com/nuri-ai/nuri/backends"
)

// A mixture-of-experts feed-forward block (qwen3moe, Mixtral-style llama,
// qwen2moe, exaone-moe, deepseek2, glm4moe), as llama.cpp's build_moe_ffn
// computes it: the router scores every expert for each token, a softmax or
// a sigmoid turns the scores into probabilities, the k best are kept
// (chosen by probability plus the file's selection bias, among the best
// expert groups when the file has groups, weighted by probability alone;
// the weights rescaled to sum to 1, except in qwen2moe and where the file
// says not to, then scaled by the file's factor), and the block's output
// is the weighted sum, in the order chosen, of those experts' SwiGLU
// feed-forward outputs. A shared expert every token takes follows:
// qwen2moe's scaled by the sigmoid of a gate's logit (llama.cpp writes the
// sigmoid as silu(x)/x, NaN at exactly 0), the others' added as it is.
//
// Here the device does every matmul: the tokens routed to an expert are
// gathered into consecutive rows (one slot per token and choice, grouped
// by expert), each expert's matrices run once over its rows, each slot is
// scaled by its weight, and the slots are gathered back choice by choice
// and summed. Only the router's scores go to the host, where the choice
// is made. Every token's result is computed from its own rows alone, so
// the output stays batch-invariant.

// routing is one layer's choice of experts for n tokens, with the index
// lists the device ops read. Its slices are reused from layer to layer: a
// layer reads the router's scores back (Sync) before it routes, so the
// previous layer's ops are done with them.
type routing struct {
	scores  []float32 // [n][n_expert] router logits
	shLogit []float32 // [n] the shared expert's gate logits
	shScale []float32 // [n] their sigmoids
	probs   []float32 // one token's probabilities
	sel     []float32 // and with the selection bias and group mask
	gScore  []float32 // each expert group's score
	gKeep   []int32   // the groups searched
	chosen  []int32   // [n][k] experts, best first
	weight  []float32 // [n][k] their normalised weights
	count   []int     // tokens per expert
	start   []int     // each expert's first slot
	next    []int     // each expert's next free slot, while filling
	// Slot s (expert-major) holds token slotTok[s], scaled by slotW[s];
	// perm[j*n+t] is the slot of token t's j-th choice.
	slotTok []int32
	slotW   []float32
	perm    []int32
	// A one-token pass's shared gate/up and grouped down calls: outputs,
	// weights and (down) input rows.
	dsts, ws []backends.Tensor
	rows     []int
}

// gating is how a layer's router turns scores into chosen experts and
// their weights.
type gating struct {
	sigmoid   bool      // sigmoid probabilities (else softmax)
	normalize bool      // rescale the chosen weights to sum to 1
	scale     float32   // then multiply them (0 or 1: not)
	bias      []float32 // [n_expert] added to the probabilities to choose (nil: none)
	// groups > 1: the experts fall into that many equal groups, ranked
	// by the sum of their two best selection scores; only the best
	// groupsUsed are searched (DeepSeek-V3).
	groups, groupsUsed int
	// expScale [n_expert] scales each expert's output (nil: none; Gemma
	// 4's, applied here to its weight).
	expScale []float32
}

// minWeightSum is the smallest sum the chosen weights are divided by (the
// smallest normal F16, as llama.cpp clamps it).
const minWeightSum = 6.103515625e-5

// route chooses k of ne experts for each of n tokens from r.scores as g
// says and fills the slot lists.
func (r *routing) route(n, ne, k int, g gating) {
	r.probs = grow(r.probs, ne)
	r.sel = grow(r.sel, ne)
	r.chosen = grow(r.chosen, n*k)
	r.weight = grow(r.weight, n*k)
	for t := range n {
		x := r.scores[t*ne : (t+1)*ne]
		if g.sigmoid {
			for i, v := range x { // ggml_sigmoid: 1/(1+expf(-x)) in float32
				r.probs[i] = 1 / (1 + float32(math.Exp(-float64(v))))
			}
		} else {
			softmax(r.probs, x)
		}
		sel := r.probs
		if g.bias != nil || g.groups > 1 {
			copy(r.sel, r.probs)
			for i, b := range g.bias {
				r.sel[i] += b
			}
			sel = r.sel
		}
		if g.groups > 1 {
			r.maskGroups(sel, g.groups, g.groupsUsed)
		}
		chosen, w := r.chosen[t*k:(t+1)*k], r.weight[t*k:(t+1)*k]
		topK(chosen, sel)
		var sum float64 // ggml_sum_rows accumulates in double
		for j, e := range chosen {
			w[j] = r.probs[e]
			sum += float64(w[j])
		}
		if g.normalize {
			d := max(float32(sum), minWeightSum)
			for j := range w {
				w[j] /= d
			}
		}
		if g.scale != 0 && g.scale != 1 {
			for j := range w {
				w[j] *= g.scale
			}
		}
		if g.expScale != nil {
			for j, e := range chosen {
				w[j] *= g.expScale[e]
			}
		}
	}
	r.count = grow(r.count, ne)
	r.start = grow(r.start, ne)
	clear(r.count)
	for _, e := range r.chosen[:n*k] {
		r.count[e]++
	}
	off := 0
	for e := range ne {
		r.start[e] = off
		off += r.count[e]
	}
	r.slotTok = grow(r.slotTok, n*k)
	r.slotW = grow(r.slotW, n*k)
	r.perm = grow(r.perm, n*k)
	r.next = append(r.next[:0], r.start...)
	for t := range n {
		for j := range k {
			e := r.chosen[t*k+j]
			s := r.next[e]
			r.next[e]++
			r.slotTok[s], r.slotW[s] = int32(t), r.weight[t*k+j]
			r.perm[j*n+t] = int32(s)
		}
	}
}

// maskGroups sets the selection scores of every expert outside the used
// best of groups equal groups to -Inf: a group's score is the sum of its
// two best (its one, for groups of one), as llama.cpp's build_moe_ffn
// ranks them; ties go to the lower group.
func (r *routing) maskGroups(sel []float32, groups, used int) {
	per := len(sel) / groups
	r.gScore = grow(r.gScore, groups)
	var best [2]int32
	for g := range groups {
		part := sel[g*per : (g+1)*per]
		k := best[:min(2, per)]
		topK(k, part)
		var sum float32
		for _, i := range k {
			sum += part[i]
		}
		r.gScore[g] = sum
	}
	r.gKeep = grow(r.gKeep, used)
	topK(r.gKeep, r.gScore)
	for g := range groups {
		keep := false
		for _, k := range r.gKeep {
			keep = keep || int(k) == g
		}
		if !keep {
			for i := g * per; i < (g+1)*per; i++ {
				sel[i] = float32(math.Inf(-1))
			}
		}
	}
}

// softmax writes the softmax of x into p as ggml_soft_max does: float32
// exponentials, a float64 sum.
func softmax(p, x []float32) {
	top := x[0]
	for _, v := range x {
		top = max(top, v)
	}
	var sum float64
	for i, v := range x {
		p[i] = float32(math.Exp(float64(v - top)))
		sum += float64(p[i])
	}
	inv := float32(1 / sum)
	for i := range p[:len(x)] {
		p[i] *= inv
	}
}

// topK writes the indices of the len(dst) largest values of p into dst,
// largest first; on ties the lower index comes first.
func topK(dst []int32, p []float32) {
	for j := range dst {
		best := int32(-1)
		for i, v := range p {
			if best >= 0 && v <= p[best] {
				continue
			}
			taken := false
			for _, d := range dst[:j] {
				if d == int32(i) {
					taken = true
					break
				}
			}
			if !taken {
				best = int32(i)
			}
		}
		dst[j] = best
	}
}

// moeFFN adds the mixture-of-experts block's output for the n rows of the
// stream x to x. An error reading the router's scores back is kept for
// Forward to return.
func (m *transformer) moeFFN(s backends.Stream, x backends.Tensor, L *layer, a *acts, n int) {
	// The normed stream is gathered for the experts below, so it is
	// computed on its own (a fused norm-matmul leaves h unspecified).
	h := prefix(a.h, n)
	s.RMSNorm(h, x, L.ffnNorm, m.hp.eps)
	o := m.experts(s, h, h, L, a, n, false)
	if m.fwdErr != nil {
		return
	}
	m.residual(s, x, o, L.postFFNNorm)
}

// experts returns block L's mixture of experts (and its shared expert)
// for the n rows of h, the router reading hr: SwiGLU experts, or GELU
// ones (Gemma 4). The result is in a.xs's first n rows. An error reading
// the router's scores back is left in m.fwdErr.
func (m *transformer) experts(s backends.Stream, h, hr backends.Tensor, L *layer, a *acts, n int, gelu bool) backends.Tensor {
	hp := m.hp
	ne, k := hp.NExpert, hp.NExpertUsed
	scores := prefix(a.router, n)
	r := &m.route
	r.scores = grow(r.scores, n*ne)
	if L.shGateInp.Valid() {
		logit := prefix(a.shLogit, n)
		m.linears(s, hr, [3]backends.Tensor{scores, logit}, [3]backends.Tensor{L.router, L.shGateInp}, [3]backends.Tensor{}, 2)
		r.shLogit = grow(r.shLogit, n)
		s.Read(r.shLogit, logit)
	} else {
		m.linears(s, hr, [3]backends.Tensor{scores}, [3]backends.Tensor{L.router}, [3]backends.Tensor{}, 1)
	}
	s.Read(r.scores, scores)
	if err := s.Sync(); err != nil {
		m.fwdErr = fmt.Errorf("expert router: %w", err)
		return backends.Tensor{}
	}
	r.route(n, ne, k, gating{sigmoid: hp.moeSigmoid, normalize: hp.moeNorm, scale: hp.moeScale, bias: L.expBias,
		groups: hp.moeGroups, groupsUsed: hp.moeGroupsUsed, expScale: L.g4.expScale})
	slots := n * k
	gateless := len(L.gateExp) == 0 // nomic-bert-moe: up, GELU, down
	sharedDone := false             // the shared expert's gate and up computed
	if sm, ok := s.(backends.SharedMatMuler); ok && n == 1 {
		// One token: its experts share its input, so their gate and up
		// matrices go in one call (the same bits as one call each).
		r.dsts, r.ws = r.dsts[:0], r.ws[:0]
		for _, e := range r.chosen[:k] {
			off := r.start[e]
			if !gateless {
				r.dsts, r.ws = append(r.dsts, rowRange(a.gs, off, 1)), append(r.ws, L.gateExp[e])
			}
			r.dsts, r.ws = append(r.dsts, rowRange(a.us, off, 1)), append(r.ws, L.upExp[e])
		}
		if L.shGate.Valid() { // the shared expert's too
			r.dsts = append(r.dsts, prefix(a.shG, 1), prefix(a.shU, 1))
			r.ws = append(r.ws, L.shGate, L.shUp)
			sharedDone = true
		}
		sm.MatMulShared(r.dsts, r.ws, h)
	} else {
		s.GetRows(prefix(a.xs, slots), h, r.slotTok)
		for e := range ne {
			c, off := r.count[e], r.start[e]
			switch {
			case c == 0:
			case gateless:
				s.MatMul(rowRange(a.us, off, c), L.upExp[e], rowRange(a.xs, off, c))
			default:
				m.linears(s, rowRange(a.xs, off, c), [3]backends.Tensor{rowRange(a.gs, off, c), rowRange(a.us, off, c)},
					[3]backends.Tensor{L.gateExp[e], L.upExp[e]}, [3]backends.Tensor{}, 2)
			}
		}
	}
	act := a.gs // the down matrices' input
	switch {
	case gateless:
		s.(backends.GELUer).GELU(prefix(a.us, slots), prefix(a.us, slots)) // checked at load (an encoder's)
		act = a.us
	case gelu:
		s.(backends.GELUMuler).GELUMul(prefix(a.gs, slots), prefix(a.gs, slots), prefix(a.us, slots))
	default:
		s.SiLUMul(prefix(a.gs, slots), prefix(a.gs, slots), prefix(a.us, slots))
	}
	if gm, ok := s.(backends.GroupedMatMuler); ok && n == 1 {
		// One token: each chosen expert's down matrix takes its own row,
		// all in one call (the same bits as one call each).
		r.dsts, r.ws, r.rows = r.dsts[:0], r.ws[:0], r.rows[:0]
		for _, e := range r.chosen[:k] {
			off := r.start[e]
			r.dsts = append(r.dsts, rowRange(a.ys, off, 1))
			r.ws = append(r.ws, L.downExp[e])
			r.rows = append(r.rows, off)
		}
		gm.MatMulGrouped(r.dsts, r.ws, prefix(act, slots), r.rows)
	} else {
		for e := range ne {
			if c, off := r.count[e], r.start[e]; c > 0 {
				s.MatMul(rowRange(a.ys, off, c), L.downExp[e], rowRange(act, off, c))
			}
		}
	}
	ys := prefix(a.ys, slots)
	s.(backends.RowScaler).ScaleRows(ys, ys, r.slotW[:slots])
	byChoice := prefix(a.xs, slots) // the experts' inputs are read by now
	s.GetRows(byChoice, ys, r.perm[:slots])
	o := rowRange(byChoice, 0, n)
	for j := 1; j < k; j++ {
		s.Add(o, o, rowRange(byChoice, j*n, n))
	}
	if L.shGate.Valid() {
		g, u, y := prefix(a.shG, n), prefix(a.shU, n), prefix(a.shY, n)
		if !sharedDone {
			m.linears(s, h, [3]backends.Tensor{g, u}, [3]backends.Tensor{L.shGate, L.shUp}, [3]backends.Tensor{}, 2)
		}
		s.SiLUMul(g, g, u)
		s.MatMul(y, L.shDown, g)
		if L.shGateInp.Valid() {
			r.shScale = grow(r.shScale, n)
			for t, l := range r.shLogit[:n] {
				r.shScale[t] = float32(1 / (1 + math.Exp(-float64(l))))
			}
			s.(backends.RowScaler).ScaleRows(y, y, r.shScale)
		}
		s.Add(o, o, y)
	}
	return o
}

// rowRange is rows [lo, lo+n) of an activation tensor (F32, in bounds by
// construction).
func rowRange(t backends.Tensor, lo, n int) backends.Tensor {
	t.Off += lo * t.Cols * 4
	t.Rows = n
	return t
}
