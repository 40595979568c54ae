package model

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/quant"
)

// Forward implements Model: embeddings, every decoder block, the final
// norm and the lm_head, all through the device's ops.
func (m *transformer) Forward(b *Batch, kv KVView, out []float32) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return fmt.Errorf("forward: model is closed")
	}
	if !b.Hidden && !m.lmHead {
		return fmt.Errorf("forward: %w", ErrNoLMHead)
	}
	p, err := m.plan(b, kv, out)
	if err != nil {
		return fmt.Errorf("forward: %w", err)
	}
	defer p.release()
	a, err := m.layout(p.n, len(p.outIdx), b.Hidden)
	if err != nil {
		return fmt.Errorf("forward: %w", err)
	}
	s, hp := m.stream, m.hp
	s.GetRows(a.x, m.tokEmbd, b.Tokens)
	if hp.embScale != 0 {
		s.Scale(a.x, a.x, hp.embScale)
	}
	if hp.nPLE > 0 {
		m.gemma4PLE(s, a, a.x, b.Tokens)
	}
	block := m.block
	switch {
	case m.spec.modernBert:
		m.modernBertInput(s, a)
		block = m.modernBertBlock
	case m.spec.encoder:
		m.encoderInput(s, a, b)
		block = m.encoderBlock
	}
	x := a.x
	m.fwdErr = nil
	for il := range m.layers {
		x = block(s, il, x, a, p, kv.Cache)
		if m.fwdErr != nil {
			return fmt.Errorf("forward: layer %d: %w", il, m.fwdErr)
		}
	}
	if b.Hidden {
		// The lm_head's input: the final norm of the kept rows.
		h := x
		switch {
		case m.spec.modernBert: // a LayerNorm without a bias
			h = prefix(a.h, x.Rows)
			s.(backends.LayerNormer).LayerNorm(h, x, m.outNorm, backends.Tensor{}, hp.eps)
		case m.outNorm.Valid():
			h = prefix(a.h, x.Rows)
			s.RMSNorm(h, x, m.outNorm, hp.eps)
		}
		s.Read(out[:len(p.outIdx)*hp.NEmbd], h)
		if err := s.Sync(); err != nil {
			return fmt.Errorf("forward: %w", err)
		}
		return nil
	}
	out = out[:len(p.outIdx)*hp.NVocab]
	logits, direct := m.logitsIn(out, a.logits)
	m.normLinears(s, x, m.outNorm, prefix(a.h, x.Rows), [3]backends.Tensor{logits}, [3]backends.Tensor{m.output}, [3]backends.Tensor{}, [3][]loraPair{m.loraOutput}, 1)
	if m.outBias.Valid() {
		s.Add(logits, logits, m.outBias)
	}
	if hp.logitScale != 0 {
		s.Scale(logits, logits, 1/hp.logitScale) // granite divides the logits
	}
	if !direct {
		s.Read(out, logits)
	}
	if err := s.Sync(); err != nil {
		return fmt.Errorf("forward: %w", err)
	}
	if c := hp.finalSoftCap; c > 0 {
		m.vec.SoftCap(out, c) // Gemma: c·tanh(logit/c), on the host copy
	}
	for r := 0; r < len(out); r += hp.NVocab {
		for _, id := range m.suppress {
			out[r+int(id)] = float32(math.Inf(-1))
		}
	}
	return nil
}

// logitsIn returns the tensor the logits are computed in: out itself when
// the stream writes host memory (backends.HostOutputs; direct is true),
// else the device tensor t, which Read then copies into out. The wrapper
// of out is kept for the next call with the same buffer (a caller decoding
// step by step passes one), so a step allocates nothing; it holds on to
// out until a call with another buffer or Close.
func (m *transformer) logitsIn(out []float32, t backends.Tensor) (logits backends.Tensor, direct bool) {
	if _, ok := m.stream.(backends.HostOutputs); !ok || len(out) == 0 {
		return t, false
	}
	b := unsafe.Slice((*byte)(unsafe.Pointer(&out[0])), 4*len(out))
	if hb := m.outBuf; hb == nil || hb.Size() != len(b) || &hb.Bytes()[0] != &b[0] {
		m.outBuf = backends.WrapHost(b)
	}
	return backends.Tensor{Name: t.Name, Buf: m.outBuf, Type: quant.F32, Rows: t.Rows, Cols: t.Cols}, true
}

// block runs decoder block il on the residual stream x and returns the
// stream (in the last block, only the rows whose logits are wanted).
//
// One builder serves every architecture: pre-norm blocks (llama, qwen,
// exaone, granite) normalise the sub-layer input; exaone4 feeds the raw
// stream and normalises the sub-layer output instead.
func (m *transformer) block(s backends.Stream, il int, x backends.Tensor, a *acts, p *plan, kv *KVCache) backends.Tensor {
	L := &m.layers[il]
	var attn backends.Tensor
	if m.spec.mla {
		attn = m.mlaAttention(s, il, x, a, p, kv)
	} else {
		attn = m.attention(s, il, x, a, p, kv)
	}
	attn, x = m.keepOutRows(s, il, attn, x, a, p)
	n := x.Rows
	o := prefix(a.o, n)
	m.residualLinear(s, x, o, L.wo, L.bo, attn, L.postAttnNorm, L.lo)

	if m.spec.gemma4 {
		m.gemma4FFN(s, x, L, a, n)
		if m.fwdErr == nil {
			m.gemma4Tail(s, il, x, a, p)
		}
		return x
	}
	if len(L.gateExp) > 0 {
		m.moeFFN(s, x, L, a, n)
		return x
	}
	g, u := prefix(a.gate, n), prefix(a.up, n)
	m.normLinears(s, x, L.ffnNorm, prefix(a.h, n), [3]backends.Tensor{g, u}, [3]backends.Tensor{L.gate, L.up}, [3]backends.Tensor{L.bGate, L.bUp},
		[3][]loraPair{L.lgate, L.lup}, 2)
	if m.spec.gemma {
		s.(backends.GELUMuler).GELUMul(g, g, u) // checked at load
		m.residualLinear(s, x, o, L.down, L.bDown, g, L.postFFNNorm, L.ldown)
		return x
	}
	if sm, ok := s.(backends.SwiGLUMatMuler); ok && m.plainResidual(L.bDown, L.postFFNNorm) && len(L.ldown) == 0 {
		sm.MatMulResidualSwiGLU(x, o, L.down, g, u)
		return x
	}
	s.SiLUMul(g, g, u)
	m.residualLinear(s, x, o, L.down, L.bDown, g, L.postFFNNorm, L.ldown)
	return x
}

// keepOutRows returns, in the last block, the attention output and the
// stream of only the rows whose outputs are wanted: the later ops are
// row-wise, so the rest need not be computed (llama.cpp's inp_out_ids;
// math-neutral). Elsewhere it returns them as they are.
func (m *transformer) keepOutRows(s backends.Stream, il int, attn, x backends.Tensor, a *acts, p *plan) (backends.Tensor, backends.Tensor) {
	if il != len(m.layers)-1 || len(p.outIdx) == p.n {
		return attn, x
	}
	aOut := reshape(a.aOut, len(p.outIdx), attn.Cols)
	s.GetRows(aOut, attn, p.outIdx)
	s.GetRows(a.xOut, x, p.outIdx)
	return aOut, a.xOut
}

// attention runs block il's self-attention on the stream x (all its
// rows) and returns the heads' outputs: the q/k/v projections of the
// normed stream, the per-head norms and RoPE, the cache store and the
// attention over it.
func (m *transformer) attention(s backends.Stream, il int, x backends.Tensor, a *acts, p *plan, kv *KVCache) backends.Tensor {
	L, hp := &m.layers[il], m.hp
	la := hp.LayerAttn(il)
	n := x.Rows
	// Views of the activations in this layer's head sizes (the buffers
	// fit the largest).
	q, attn := reshape(a.q, n, hp.NHead*la.HeadDimK), reshape(a.attn, n, hp.NHead*la.HeadDimV)
	k, v := reshape(a.k, n, la.NHeadKV*la.HeadDimK), reshape(a.v, n, la.NHeadKV*la.HeadDimV)
	qh, kh := reshape(q, n*hp.NHead, la.HeadDimK), reshape(k, n*la.NHeadKV, la.HeadDimK)
	shared := la.KVFrom != il // queries only, over an earlier layer's cache
	nmm := 3
	switch {
	case shared:
		nmm = 1
	case L.g4.vFromK:
		nmm = 2 // V is the K projection, copied before K's norm and RoPE
	}
	m.normLinears(s, x, L.attnNorm, a.h, [3]backends.Tensor{q, k, v}, [3]backends.Tensor{L.wq, L.wk, L.wv}, [3]backends.Tensor{L.bq, L.bk, L.bv},
		[3][]loraPair{L.lq, L.lk, L.lv}, nmm)
	if L.g4.vFromK {
		s.Scale(v, k, 1)
	}
	if L.qNorm.Valid() { // per-head RMSNorm over head_dim, before RoPE
		s.RMSNorm(qh, qh, L.qNorm, hp.eps)
		if !shared {
			s.RMSNorm(kh, kh, L.kNorm, hp.eps)
		}
	}
	if m.spec.gemma4 && !shared { // V too, without a weight
		vh := reshape(v, n*la.NHeadKV, la.HeadDimV)
		s.RMSNorm(vh, vh, reshape(m.ones, 1, la.HeadDimV), hp.eps)
	}
	if L.rope {
		s.RoPE(qh, p.pos, m.ropeParams(L, hp.NHead))
		if !shared {
			s.RoPE(kh, p.pos, m.ropeParams(L, la.NHeadKV))
		}
	}
	if hp.qScale != 0 {
		s.Scale(q, q, hp.qScale)
	}
	if hp.attnTemp != 0 {
		s.(backends.RowScaler).ScaleRows(q, q, m.attnTemps(p)) // checked at load
	}
	cache := kv.layer(la.KVFrom)
	slots, rows := p.slots, p.rows
	if kv.windowed(il) {
		slots, rows = p.winSlots, p.winRows
	}
	if !shared {
		s.StoreKV(cache, k, v, slots)
	}
	if L.window > 0 && m.spec.bidirectional {
		rows = p.swaRows // the window is in the rows (symmetric)
	}
	s.Attention(attn, q, cache, rows, m.attnParams(L, la))
	return attn
}

// plainResidual reports whether a sub-layer output with this bias and
// post-norm is added to the stream as it is (no bias, post-norm or
// residual scale), which the streams' fused forms do.
func (m *transformer) plainResidual(bias, postNorm backends.Tensor) bool {
	return !bias.Valid() && !postNorm.Valid() && m.hp.resScale == 0
}

// residualLinear adds the sub-layer output y = in·Wᵀ (+ bias, + the LoRA
// terms) to the stream x (residual). A plain sum goes through the
// stream's fused form when it has one (backends.ResidualMatMuler: the
// same bits).
func (m *transformer) residualLinear(s backends.Stream, x, y, w, bias, in, postNorm backends.Tensor, lora []loraPair) {
	if rm, ok := s.(backends.ResidualMatMuler); ok && m.plainResidual(bias, postNorm) && len(lora) == 0 {
		rm.MatMulResidual(x, y, w, in)
		return
	}
	linear(s, y, w, bias, in)
	m.loraAdd(s, y, in, lora)
	m.residual(s, x, y, postNorm)
}

// residual adds a sub-layer output y to the stream x, after exaone4's
// post-norm and granite's residual scale when the model has them.
func (m *transformer) residual(s backends.Stream, x, y, postNorm backends.Tensor) {
	if postNorm.Valid() {
		s.RMSNorm(y, y, postNorm, m.hp.eps)
	}
	if m.hp.resScale != 0 {
		s.Scale(y, y, m.hp.resScale)
	}
	s.Add(x, x, y)
}

// normLinears computes dsts[i] = RMSNorm(x)·ws[i]ᵀ (+ biases[i], + the
// LoRA terms loras[i]) for the first n matrices, the norm (when norm is
// valid) into h: folded into the matmuls when the stream can
// (backends.NormMatMuler: the same bits) and no adapter needs h.
func (m *transformer) normLinears(s backends.Stream, x, norm, h backends.Tensor, dsts, ws, biases [3]backends.Tensor, loras [3][]loraPair, n int) {
	adapted := len(loras[0])+len(loras[1])+len(loras[2]) > 0
	if !norm.Valid() {
		m.linears(s, x, dsts, ws, biases, n)
		m.loraAdds(s, dsts, x, loras, n)
		return
	}
	nm, ok := s.(backends.NormMatMuler)
	if !ok || adapted {
		s.RMSNorm(h, x, norm, m.hp.eps)
		m.linears(s, h, dsts, ws, biases, n)
		m.loraAdds(s, dsts, h, loras, n)
		return
	}
	m.mm[0], m.mm[1] = dsts, ws
	nm.MatMulNormShared(m.mm[0][:n], m.mm[1][:n], x, norm, m.hp.eps, h)
	m.addBiases(s, dsts, biases, n)
}

// linears computes dsts[i] = x·ws[i]ᵀ (+ biases[i]) for the first n
// matrices, which share their input: in one call when the stream can do
// them together (backends.SharedMatMuler), else one by one.
func (m *transformer) linears(s backends.Stream, x backends.Tensor, dsts, ws, biases [3]backends.Tensor, n int) {
	m.mm[0], m.mm[1] = dsts, ws
	m.sharedMatMuls(s, x, m.mm[0][:n], m.mm[1][:n])
	m.addBiases(s, dsts, biases, n)
}

// sharedMatMuls computes dsts[i] = x·ws[i]ᵀ, in one call when the stream
// can (backends.SharedMatMuler).
func (m *transformer) sharedMatMuls(s backends.Stream, x backends.Tensor, dsts, ws []backends.Tensor) {
	if sm, ok := s.(backends.SharedMatMuler); ok {
		sm.MatMulShared(dsts, ws, x)
		return
	}
	for i := range ws {
		s.MatMul(dsts[i], ws[i], x)
	}
}

// loraAdds adds the LoRA terms of the first n matrices, whose input was in.
func (m *transformer) loraAdds(s backends.Stream, dsts [3]backends.Tensor, in backends.Tensor, loras [3][]loraPair, n int) {
	for i := range n {
		m.loraAdd(s, dsts[i], in, loras[i])
	}
}

// addBiases adds the valid biases[i] to dsts[i] for the first n.
func (m *transformer) addBiases(s backends.Stream, dsts, biases [3]backends.Tensor, n int) {
	for i := range n {
		if biases[i].Valid() {
			s.Add(dsts[i], dsts[i], biases[i])
		}
	}
}

// linear computes dst = x·Wᵀ (+ bias).
func linear(s backends.Stream, dst, w, bias, x backends.Tensor) {
	s.MatMul(dst, w, x)
	if bias.Valid() {
		s.Add(dst, dst, bias)
	}
}

// ropeParams is layer L's RoPE (nil: the model's) for nHead head rows a
// token.
func (m *transformer) ropeParams(L *layer, nHead int) backends.RoPE {
	r := m.hp.rope
	if L != nil && L.window > 0 && m.hp.ropeSWA != nil {
		r = *m.hp.ropeSWA
	}
	r.NHead = nHead
	if L == nil || L.window == 0 || !m.spec.gemma4 {
		r.Freqs = m.ropeFreqs // Gemma 4's are its global layers' only
	}
	return r
}

func (m *transformer) attnParams(L *layer, la LayerAttn) backends.Attn {
	hp := m.hp
	scale := hp.attnScale // granite's attention.scale replaces 1/sqrt(d)
	switch {
	case hp.qScale != 0:
		scale = 1 // the queries were scaled (Gemma)
	case scale == 0:
		scale = 1 / float32(math.Sqrt(float64(la.HeadDimK)))
	}
	window := L.window
	if m.spec.bidirectional {
		window = 0 // its windows are in the rows (plan's swaRows)
	}
	return backends.Attn{NHead: hp.NHead, NHeadKV: la.NHeadKV, HeadDimK: la.HeadDimK, HeadDimV: la.HeadDimV,
		Scale: scale, Window: window, SoftCap: hp.attnSoftCap}
}

// attnTemps are Llama 4's attention temperatures of a pass's tokens, as
// llama.cpp's Ministral 3 graph scales its queries: 1 + t·ln(⌊pos/f⌋ +
// 1), the quotient in float32 and the rest in float64, as there.
func (m *transformer) attnTemps(p *plan) []float32 {
	hp := m.hp
	m.temps = grow(m.temps, len(p.pos))
	for i, pos := range p.pos {
		q := float32(pos) / float32(hp.attnTempFloor)
		m.temps[i] = float32(float64(math.Log(math.Floor(float64(q))+1)*float64(hp.attnTemp)) + 1)
	}
	return m.temps
}
