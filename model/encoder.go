package model

import (
	"fmt"

	"github.com/nuri-ai/nuri/backends"
)

// BERT-style encoders (llama.cpp's bert graph): the embedding of each
// token plus the row of token type 0 plus its position's row, through a
// LayerNorm; then per block self-attention over the whole sequence (both
// ways), its output projection added to the stream and a LayerNorm, a
// GELU feed-forward block added and a LayerNorm. The last block's stream
// is the hidden state an embedding pools; there is no language-model
// head. BGE-M3 and multilingual-E5 (XLM-RoBERTa, whose converter has
// already dropped the two position rows RoBERTa skips) ship this way.
// jina-bert-v3 and nomic-bert rotate Q and K (RoPE NEOX at the tokens'
// positions) instead of adding position rows, and nomic-bert's
// feed-forward block is SiLU-gated (gate, up, down, no biases); both
// ship q, k and v fused (attn_qkv), which the loader splits.

// bindEncoder claims an encoder's tensors.
func (m *transformer) bindEncoder(b *binder) error {
	hp := m.hp
	if err := m.bindEncoderEmbd(b); err != nil {
		return err
	}
	E := hp.NEmbd
	var err error
	if !m.spec.encoderRoPE {
		if m.posEmbd, err = b.lookupWeight("position_embd.weight", E, hp.NCtxTrain); err != nil {
			return err
		}
	}
	if tt, ok := b.f.Tensor("token_types.weight"); ok {
		// Only type 0 ("sentence A") is ever added, as in llama.cpp.
		nTypes := 1
		if len(tt.Dims) > 1 {
			nTypes = int(tt.Dims[1])
		}
		if nTypes < 1 || nTypes > 1024 {
			return fmt.Errorf("tensor %q has shape %v, want [%d, n_types]: %w", tt.Name, tt.Dims, E, ErrBadShape)
		}
		if m.typeEmbd, _, err = b.bind(tt.Name, true, E, nTypes); err != nil {
			return err
		}
	}
	if m.embNorm, err = b.vector("token_embd_norm.weight", E); err != nil {
		return err
	}
	if m.embNormB, err = b.vector("token_embd_norm.bias", E); err != nil {
		return err
	}
	// A reranker (BGE's): the pooler, then the classification head.
	var ok bool
	if m.pooler, ok, err = b.bind("cls.weight", true, E, E); err != nil {
		return err
	}
	if ok {
		if m.poolerBias, _, err = b.optVector("cls.bias", E); err != nil {
			return err
		}
	}
	if err := m.bindClassifier(b); err != nil {
		return err
	}
	if m.pooler.Valid() && !m.cls.Valid() {
		return fmt.Errorf("tensor %q without %q: %w", "cls.weight", "cls.output.weight", ErrMissingTensor)
	}
	return m.bindEncoderLayers(b, m.bindEncoderLayer)
}

// bindEncoderEmbd binds an encoder's token embedding, which only row
// lookups read (it has no language-model head).
func (m *transformer) bindEncoderEmbd(b *binder) error {
	if err := m.readVocabSize(b); err != nil {
		return err
	}
	var err error
	m.tokEmbd, err = b.lookupWeight("token_embd.weight", m.hp.NEmbd, m.hp.NVocab)
	return err
}

// bindEncoderLayers binds an encoder's blocks with bindLayer and checks
// that the file has nothing else; it has hidden states only.
func (m *transformer) bindEncoderLayers(b *binder, bindLayer func(*binder, int) error) error {
	m.lmHead, m.hp.NoLMHead = false, true
	m.layers = make([]layer, m.hp.NLayer)
	for il := range m.layers {
		if err := bindLayer(b, il); err != nil {
			return err
		}
	}
	return b.checkAllUsed()
}

// bindEncoderLayer binds encoder block il: separate q, k, v (biases
// optional, as every other bias), the two LayerNorms with their biases,
// and the feed-forward block's up and down.
func (m *transformer) bindEncoderLayer(b *binder, il int) error {
	hp, L := m.hp, &m.layers[il]
	E, F := hp.NEmbd, hp.NFF
	nq, nk, nv := hp.NHead*hp.HeadDimK, hp.NHeadKV*hp.HeadDimK, hp.NHeadKV*hp.HeadDimV
	var err error
	n, must, vec, opt := blockBinders(b, il, &err)
	if _, fused := b.f.Tensor(n("attn_qkv.weight")); fused {
		err = m.bindFusedQKV(b, il, nq, nk, nv)
	} else {
		must(&L.wq, "attn_q.weight", E, nq)
		must(&L.wk, "attn_k.weight", E, nk)
		must(&L.wv, "attn_v.weight", E, nv)
		opt(&L.bq, "attn_q.bias", nq)
		opt(&L.bk, "attn_k.bias", nk)
		opt(&L.bv, "attn_v.bias", nv)
	}
	must(&L.wo, "attn_output.weight", hp.NHead*hp.HeadDimV, E)
	opt(&L.bo, "attn_output.bias", E)
	vec(&L.lnAttn, "attn_output_norm.weight", E)
	vec(&L.lnAttnB, "attn_output_norm.bias", E)
	if hp.moeEvery > 0 && il%hp.moeEvery == 1 {
		// nomic-bert-moe: a mixture of GELU experts (up, down; the
		// converter drops their bias), softmax weights as they come.
		NE, FE := hp.NExpert, hp.NFFExpert
		must(&L.router, "ffn_gate_inp.weight", E, NE)
		if err == nil {
			L.upExp, err = b.experts(n("ffn_up_exps.weight"), E, FE, NE)
		}
		if err == nil {
			L.downExp, err = b.experts(n("ffn_down_exps.weight"), FE, E, NE)
		}
		vec(&L.lnOut, "layer_output_norm.weight", E)
		vec(&L.lnOutB, "layer_output_norm.bias", E)
		L.rope = m.spec.encoderRoPE
		return err
	}
	must(&L.up, "ffn_up.weight", E, F)
	must(&L.down, "ffn_down.weight", F, E)
	if m.spec.encoderGLU {
		must(&L.gate, "ffn_gate.weight", E, F)
		// llama.cpp loads these biases when present and never adds them.
		b.claim(n("ffn_up.bias"), n("ffn_down.bias"))
	} else {
		opt(&L.bUp, "ffn_up.bias", F)
		opt(&L.bDown, "ffn_down.bias", E)
	}
	vec(&L.lnOut, "layer_output_norm.weight", E)
	vec(&L.lnOutB, "layer_output_norm.bias", E)
	L.rope = m.spec.encoderRoPE
	return err
}

// bindFusedQKV binds block il's attn_qkv (and its optional bias) as its
// q, k and v rows.
func (m *transformer) bindFusedQKV(b *binder, il, nq, nk, nv int) error {
	L := &m.layers[il]
	name := fmt.Sprintf("blk.%d.attn_qkv", il)
	parts, err := b.rowSets(name+".weight", m.hp.NEmbd, nq+nk+nv, rowRange0(0, nq), rowRange0(nq, nk), rowRange0(nq+nk, nv))
	if err != nil {
		return err
	}
	L.wq, L.wk, L.wv = parts[0], parts[1], parts[2]
	bias, ok, err := b.hostVector(name+".bias", nq+nk+nv)
	if err != nil || !ok {
		return err
	}
	for i, dst := range []*backends.Tensor{&L.bq, &L.bk, &L.bv} {
		lo := []int{0, nq, nq + nk}[i]
		if *dst, err = b.hostValues(fmt.Sprintf("%s.bias[%d]", name, i), bias[lo:lo+[]int{nq, nk, nv}[i]]); err != nil {
			return err
		}
	}
	return nil
}

// checkEncoderOps refuses an encoder on a stream without LayerNorm and
// GELU (the fallback wrapper has both: the host runs them).
func (m *transformer) checkEncoderOps() error {
	if !m.spec.encoder {
		return nil
	}
	_, ln := m.stream.(backends.LayerNormer)
	_, gl := m.stream.(backends.GELUer)
	if m.spec.modernBert { // its gated GELU instead
		_, gl = m.stream.(backends.GELUMuler)
	}
	if !ln || !gl {
		return fmt.Errorf("%s: device %s has no layer_norm or gelu (an encoder's ops): %w", m.spec.name, m.dev.Name(), backends.ErrUnsupportedOp)
	}
	return nil
}

// encoderPlan checks that each sequence of an encoder's batch is whole
// (positions 0, 1, … in order: attention reads the sequence's every key,
// so none may be missing or left from an earlier pass) and sets the
// attention rows' positions to their sequence's last, which opens
// attention to every token of it.
func (m *transformer) encoderPlan(b *Batch, p *plan, nSeq int) error {
	m.seqNext = grow(m.seqNext, nSeq)
	next := m.seqNext // each sequence's next position
	clear(next)
	for i, s := range b.Seq {
		if b.Pos[i] != next[s] {
			return fmt.Errorf("encoder: token %d of sequence %d is at position %d, want %d (a pass must hold whole sequences from position 0): %w",
				i, s, b.Pos[i], next[s], ErrBadBatch)
		}
		next[s]++
	}
	m.attnPos = grow(m.attnPos, len(b.Pos))
	for i, s := range b.Seq {
		m.attnPos[i] = next[s] - 1
	}
	p.rows.Pos = m.attnPos
	if m.hp.swaSymmetric {
		half := m.hp.swaHalf
		// A symmetric window: keys within half of the query either way
		// (llama.cpp's LLAMA_SWA_TYPE_SYMMETRIC).
		m.swaPos, m.swaLo = grow(m.swaPos, len(b.Pos)), grow(m.swaLo, len(b.Pos))
		for i, s := range b.Seq {
			m.swaPos[i] = min(next[s]-1, b.Pos[i]+int32(half))
			m.swaLo[i] = max(0, b.Pos[i]-int32(half))
		}
		p.swaRows = backends.AttnRows{Pos: m.swaPos, Lo: m.swaLo, Tables: p.rows.Tables}
	}
	if m.typeEmbd.Valid() {
		m.typeIdx = grow(m.typeIdx, len(b.Tokens))
		clear(m.typeIdx) // every token's type row: 0
	}
	return nil
}

// encoderInput adds the token-type and position rows to the token
// embeddings in x and normalises the sum, in llama.cpp's order.
func (m *transformer) encoderInput(s backends.Stream, a *acts, b *Batch) {
	x, h := a.x, a.h
	if m.typeEmbd.Valid() {
		s.GetRows(h, m.typeEmbd, m.typeIdx)
		s.Add(x, x, h)
	}
	if m.posEmbd.Valid() { // else RoPE in the attention
		s.GetRows(h, m.posEmbd, b.Pos)
		s.Add(x, x, h)
	}
	s.(backends.LayerNormer).LayerNorm(x, x, m.embNorm, m.embNormB, m.hp.eps) // checked at load
}

// encoderBlock runs encoder block il on the stream x and returns it.
func (m *transformer) encoderBlock(s backends.Stream, il int, x backends.Tensor, a *acts, p *plan, kv *KVCache) backends.Tensor {
	L, eps := &m.layers[il], m.hp.eps
	attn := m.attention(s, il, x, a, p, kv)
	attn, x = m.keepOutRows(s, il, attn, x, a, p)
	n := x.Rows
	o := prefix(a.o, n)
	ln := s.(backends.LayerNormer) // checked at load
	m.residualLinear(s, x, o, L.wo, L.bo, attn, backends.Tensor{}, L.lo)
	ln.LayerNorm(x, x, L.lnAttn, L.lnAttnB, eps)
	u := prefix(a.up, n)
	if len(L.upExp) > 0 { // nomic-bert-moe's mixtures
		moe := m.experts(s, x, x, L, a, n, true)
		if m.fwdErr != nil {
			return x
		}
		s.Add(x, x, moe)
		ln.LayerNorm(x, x, L.lnOut, L.lnOutB, eps)
		return x
	}
	if L.gate.Valid() { // nomic-bert: SwiGLU
		g := prefix(a.gate, n)
		m.linears(s, x, [3]backends.Tensor{g, u}, [3]backends.Tensor{L.gate, L.up}, [3]backends.Tensor{}, 2)
		m.loraAdds(s, [3]backends.Tensor{g, u}, x, [3][]loraPair{L.lgate, L.lup}, 2)
		s.SiLUMul(u, g, u)
	} else {
		linear(s, u, L.up, L.bUp, x)
		m.loraAdd(s, u, x, L.lup)
		s.(backends.GELUer).GELU(u, u)
	}
	m.residualLinear(s, x, o, L.down, L.bDown, u, backends.Tensor{}, L.ldown)
	ln.LayerNorm(x, x, L.lnOut, L.lnOutB, eps)
	return x
}
