package model

import (
	"fmt"

	"github.com/nuri-ai/nuri/backends"
)

// ModernBERT encoders (llama.cpp's modern-bert graph; mmBERT, the
// multilingual one, and the embedding models built on them): the token
// embedding through a LayerNorm without a bias; then per block a
// pre-norm LayerNorm (none in block 0), q, k and v fused without biases,
// RoPE NEOX, attention both ways — in every layer but each third (from
// the first) within a symmetric sliding window at rope.freq_base_swa
// (10000) —, the output projection added to the stream; a LayerNorm, a
// GELU-gated (or SiLU-gated) feed-forward block with its gate and up
// fused in ffn_up (gate first), added; after the last block a LayerNorm.
// There are no biases anywhere.

// glu is a gated feed-forward block's activation.
type glu int

const (
	gluGELU glu = iota // ggml's geglu (ModernBERT's default)
	gluSiLU            // swiglu (Granite Embedding R2)
)

// bindModernBert claims a ModernBERT encoder's tensors.
func (m *transformer) bindModernBert(b *binder) error {
	hp := m.hp
	if err := m.bindEncoderEmbd(b); err != nil {
		return err
	}
	E := hp.NEmbd
	var err error
	if m.embNorm, err = b.vector("token_embd_norm.weight", E); err != nil {
		return err
	}
	if m.outNorm, err = b.vector("output_norm.weight", E); err != nil {
		return err
	}
	for _, head := range []string{"cls.weight", "cls.output.weight"} {
		if _, ok := b.f.Tensor(head); ok {
			return fmt.Errorf("%s: a classification head (%s; a ModernBERT reranker) is not supported yet: %w", m.spec.name, head, ErrUnsupportedArch)
		}
	}
	return m.bindEncoderLayers(b, m.bindModernBertLayer)
}

// bindModernBertLayer binds block il, splitting attn_qkv into q, k and v
// and ffn_up into the gate (its first half) and up.
func (m *transformer) bindModernBertLayer(b *binder, il int) error {
	hp, L := m.hp, &m.layers[il]
	E, F := hp.NEmbd, hp.NFF
	nq, nk, nv := hp.NHead*hp.HeadDimK, hp.NHeadKV*hp.HeadDimK, hp.NHeadKV*hp.HeadDimV
	var err error
	n, must, vec, opt := blockBinders(b, il, &err)
	if il == 0 {
		opt(&L.lnAttn, "attn_norm.weight", E) // block 0's is the identity
	} else {
		vec(&L.lnAttn, "attn_norm.weight", E)
	}
	if err == nil {
		err = m.bindFusedQKV(b, il, nq, nk, nv)
	}
	must(&L.wo, "attn_output.weight", hp.NHead*hp.HeadDimV, E)
	vec(&L.lnOut, "ffn_norm.weight", E)
	must(&L.down, "ffn_down.weight", F, E)
	if err != nil {
		return err
	}
	parts, err := b.rowSets(n("ffn_up.weight"), E, 2*F, rowRange0(0, F), rowRange0(F, F))
	if err != nil {
		return err
	}
	L.gate, L.up = parts[0], parts[1]
	L.window = hp.swa[il]
	L.rope = true
	return nil
}

// rowRange0 lists the row indices lo, lo+1, …, lo+n-1.
func rowRange0(lo, n int) []int {
	r := make([]int, n)
	for i := range r {
		r[i] = lo + i
	}
	return r
}

// modernBertInput normalises the token embeddings in x.
func (m *transformer) modernBertInput(s backends.Stream, a *acts) {
	s.(backends.LayerNormer).LayerNorm(a.x, a.x, m.embNorm, backends.Tensor{}, m.hp.eps) // checked at load
}

// modernBertBlock runs ModernBERT block il on the stream x and returns it.
func (m *transformer) modernBertBlock(s backends.Stream, il int, x backends.Tensor, a *acts, p *plan, kv *KVCache) backends.Tensor {
	L, eps := &m.layers[il], m.hp.eps
	ln := s.(backends.LayerNormer) // checked at load
	in := x
	if L.lnAttn.Valid() {
		in = a.h
		ln.LayerNorm(in, x, L.lnAttn, backends.Tensor{}, eps)
	}
	attn := m.attention(s, il, in, a, p, kv)
	attn, x = m.keepOutRows(s, il, attn, x, a, p)
	n := x.Rows
	o := prefix(a.o, n)
	m.residualLinear(s, x, o, L.wo, backends.Tensor{}, attn, backends.Tensor{}, L.lo)
	h := prefix(a.h, n)
	ln.LayerNorm(h, x, L.lnOut, backends.Tensor{}, eps)
	g, u := prefix(a.gate, n), prefix(a.up, n)
	m.linears(s, h, [3]backends.Tensor{g, u}, [3]backends.Tensor{L.gate, L.up}, [3]backends.Tensor{}, 2)
	m.loraAdds(s, [3]backends.Tensor{g, u}, h, [3][]loraPair{L.lgate, L.lup}, 2)
	if m.hp.glu == gluSiLU {
		s.SiLUMul(g, g, u)
	} else {
		s.(backends.GELUMuler).GELUMul(g, g, u) // checked at load
	}
	m.residualLinear(s, x, o, L.down, backends.Tensor{}, g, backends.Tensor{}, L.ldown)
	return x
}
