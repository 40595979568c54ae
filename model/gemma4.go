package model

import (
	"fmt"
	"math"

	"github.com/nuri-ai/nuri/backends"
)

// Gemma 4, as llama.cpp's gemma4 graph computes it. Its block is Gemma
// 3's (pre- and post-norms, Q/K norms, a GELU-gated feed-forward block)
// with these differences:
//   - windowed and global layers have heads of their own sizes and KV
//     head counts (Config.Attn), the global ones with "proportional" RoPE
//     (rope_freqs, global layers only) and, in the larger models, V the
//     K projection itself (no attn_v);
//   - V is RMS-normed per head without a weight; scores are not scaled;
//   - the last attention.shared_kv_layers layers compute queries only and
//     attend over an earlier layer's cache (E2B, E4B);
//   - the feed-forward block may add a mixture of experts (26B-A4B): the
//     dense block and the experts each post-normed, summed, post-normed;
//     the router reads the stream RMS-normed, scaled by 1/√n_embd and a
//     learnt vector; each expert's output has its own scale;
//   - per-layer token embeddings (E2B, E4B): a second embedding of each
//     token, a slice a layer, mixed with a projection of the stream's
//     input, gates a small projection added to each layer's output;
//   - a learnt scalar scales each layer's output;
//   - tokens the file lists (tokenizer.ggml.suppress_tokens) are never
//     produced: their logits are -Inf.

// gemma4Layer is what a Gemma 4 block has beyond the common layer.
type gemma4Layer struct {
	// vFromK: V is the K projection (global layers without attn_v).
	vFromK bool
	// The mixture of experts: the experts' input norm, the dense block's
	// and the experts' post-norms, the router's input norm (its learnt
	// scale over √n_embd), each expert's output scale (nil: 1).
	preFFN2, postFFN1, postFFN2, routerNorm backends.Tensor
	expScale                                []float32
	// Per-layer embeddings: the gate (n_embd → width), the projection back
	// and its post-norm.
	pleGate, pleProj, plePostNorm backends.Tensor
	outScale                      float32 // layer_output_scale (0: none)
}

// bindGemma4 binds Gemma 4's global tensors beyond the common ones: the
// per-layer embeddings' table, projection and norm, and a vector of ones
// (V's norm has no weight; ×1 is exact).
func (m *transformer) bindGemma4(b *binder) error {
	hp := m.hp
	ones := make([]float32, hp.HeadDimV)
	for i := range ones {
		ones[i] = 1
	}
	var err error
	if m.ones, err = b.hostValues("ones", ones); err != nil {
		return err
	}
	if v, ok := b.f.Get("tokenizer.ggml.suppress_tokens"); ok {
		ids, ok := v.AsInt32s()
		if !ok {
			return fmt.Errorf("tokenizer.ggml.suppress_tokens: want an array of token ids")
		}
		for _, id := range ids {
			if id < 0 || int(id) >= hp.NVocab {
				return fmt.Errorf("tokenizer.ggml.suppress_tokens: token %d outside the vocabulary (%d)", id, hp.NVocab)
			}
		}
		m.suppress = ids
	}
	if hp.nPLE == 0 {
		return nil
	}
	w := hp.nPLE * hp.NLayer
	if m.pleTok, err = b.lookupWeight("per_layer_token_embd.weight", w, hp.NVocab); err != nil {
		return err
	}
	if m.pleModelProj, err = b.weight("per_layer_model_proj.weight", hp.NEmbd, w); err != nil {
		return err
	}
	m.pleProjNorm, err = b.vector("per_layer_proj_norm.weight", hp.nPLE)
	return err
}

// bindGemma4Layer binds Gemma 4's block il.
func (m *transformer) bindGemma4Layer(b *binder, il int) error {
	hp, L := m.hp, &m.layers[il]
	G := &L.g4
	la := hp.LayerAttn(il)
	E, F := hp.NEmbd, hp.layerFF[il]
	var err error
	n, must, vec, _ := blockBinders(b, il, &err)
	must(&L.wq, "attn_q.weight", E, hp.NHead*la.HeadDimK)
	must(&L.wo, "attn_output.weight", hp.NHead*la.HeadDimV, E)
	vec(&L.qNorm, "attn_q_norm.weight", la.HeadDimK)
	if la.KVFrom == il {
		must(&L.wk, "attn_k.weight", E, la.NHeadKV*la.HeadDimK)
		vec(&L.kNorm, "attn_k_norm.weight", la.HeadDimK)
		if err == nil {
			var ok bool
			L.wv, ok, err = b.optional(n("attn_v.weight"), E, la.NHeadKV*la.HeadDimV)
			G.vFromK = !ok
		}
	} else {
		// A shared-KV layer: the converter may keep its own K/V weights,
		// which llama.cpp loads and never uses.
		b.claim(n("attn_k.weight"), n("attn_v.weight"), n("attn_k_norm.weight"))
	}
	vec(&L.attnNorm, "attn_norm.weight", E)
	vec(&L.postAttnNorm, "post_attention_norm.weight", E)
	vec(&L.ffnNorm, "ffn_norm.weight", E)
	vec(&L.postFFNNorm, "post_ffw_norm.weight", E)
	must(&L.gate, "ffn_gate.weight", E, F)
	must(&L.up, "ffn_up.weight", E, F)
	must(&L.down, "ffn_down.weight", F, E)
	if _, moe := b.f.Tensor(n("ffn_gate_inp.weight")); moe && hp.NExpert > 0 && err == nil {
		err = m.bindGemma4Experts(b, il)
	}
	if hp.nPLE > 0 {
		must(&G.pleGate, "inp_gate.weight", E, hp.nPLE)
		must(&G.pleProj, "proj.weight", hp.nPLE, E)
		vec(&G.plePostNorm, "post_norm.weight", E)
	}
	if err != nil {
		return err
	}
	if s, ok, err := b.hostVector(n("layer_output_scale.weight"), 1); err != nil {
		return err
	} else if ok {
		G.outScale = s[0]
	}
	L.window = hp.swa[il]
	L.rope = true
	return nil
}

// bindGemma4Experts binds block il's mixture of experts.
func (m *transformer) bindGemma4Experts(b *binder, il int) error {
	hp, L := m.hp, &m.layers[il]
	G := &L.g4
	E, FE, NE := hp.NEmbd, hp.NFFExpert, hp.NExpert
	var err error
	n, must, vec, _ := blockBinders(b, il, &err)
	must(&L.router, "ffn_gate_inp.weight", E, NE)
	vec(&G.preFFN2, "pre_ffw_norm_2.weight", E)
	vec(&G.postFFN1, "post_ffw_norm_1.weight", E)
	vec(&G.postFFN2, "post_ffw_norm_2.weight", E)
	if err != nil {
		return err
	}
	if _, fused := b.f.Tensor(n("ffn_gate_up_exps.weight")); fused {
		parts, err := b.expertParts(n("ffn_gate_up_exps.weight"), E, 2*FE, NE, 2)
		if err != nil {
			return err
		}
		L.gateExp, L.upExp = parts[0], parts[1]
	} else {
		if L.gateExp, err = b.experts(n("ffn_gate_exps.weight"), E, FE, NE); err != nil {
			return err
		}
		if L.upExp, err = b.experts(n("ffn_up_exps.weight"), E, FE, NE); err != nil {
			return err
		}
	}
	if L.downExp, err = b.experts(n("ffn_down_exps.weight"), FE, E, NE); err != nil {
		return err
	}
	// The router's input is rms_norm(x) · (1/√n_embd) · scale: one norm
	// weight here (the product rounds once where llama.cpp rounds twice).
	scale, ok, err := b.hostVector(n("ffn_gate_inp.scale"), E)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("tensor %q: %w", n("ffn_gate_inp.scale"), ErrMissingTensor)
	}
	w := make([]float32, E)
	inv := 1 / math.Sqrt(float64(E))
	for i, v := range scale {
		w[i] = float32(float64(v) * inv)
	}
	if G.routerNorm, err = b.hostValues(n("router_norm"), w); err != nil {
		return err
	}
	G.expScale, _, err = b.hostVector(n("ffn_down_exps.scale"), NE)
	return err
}

// gemma4PLE computes a pass's per-layer inputs into a.ple ([n][n_layer ×
// width], a row a token, each layer's slice in turn) from the tokens and
// the scaled embeddings x: (proj(x)/√n_embd, RMS-normed a slice at a time,
// plus the token's own per-layer embedding × √width) / √2.
func (m *transformer) gemma4PLE(s backends.Stream, a *acts, x backends.Tensor, tokens []int32) {
	hp := m.hp
	n, w := x.Rows, hp.nPLE
	tok := prefix(a.pleTok, n)
	s.GetRows(tok, m.pleTok, tokens)
	s.Scale(tok, tok, float32(math.Sqrt(float64(w))))
	ple := prefix(a.ple, n)
	s.MatMul(ple, m.pleModelProj, x)
	s.Scale(ple, ple, float32(1/math.Sqrt(float64(hp.NEmbd))))
	slices := reshape(ple, n*hp.NLayer, w)
	s.RMSNorm(slices, slices, m.pleProjNorm, hp.eps)
	s.Add(ple, ple, tok)
	s.Scale(ple, ple, float32(1/math.Sqrt2))
}

// gemma4Tail finishes block il on the stream x (n rows, the rows rows of
// the pass when fewer are kept in the last block): the per-layer
// embedding's gated projection, then the layer's output scale.
func (m *transformer) gemma4Tail(s backends.Stream, il int, x backends.Tensor, a *acts, p *plan) {
	hp, G := m.hp, &m.layers[il].g4
	n := x.Rows
	if hp.nPLE > 0 {
		// This layer's slice of each kept row's per-layer input.
		m.pleIdx = m.pleIdx[:0]
		for t := range n {
			row := t
			if n != p.n {
				row = int(p.outIdx[t])
			}
			m.pleIdx = append(m.pleIdx, int32(row*hp.NLayer+il))
		}
		g, in := prefix(a.pleG, n), prefix(a.pleIn, n)
		s.MatMul(g, G.pleGate, x)
		s.GetRows(in, reshape(a.ple, p.n*hp.NLayer, hp.nPLE), m.pleIdx)
		s.(backends.GELUMuler).GELUMul(g, g, in)
		y := prefix(a.o, n)
		s.MatMul(y, G.pleProj, g)
		s.RMSNorm(y, y, G.plePostNorm, hp.eps)
		s.Add(x, x, y)
	}
	if G.outScale != 0 {
		s.Scale(x, x, G.outScale)
	}
}

// gemma4FFN adds block L's feed-forward output for the n rows of x to x:
// the dense GELU block, and with experts the two post-normed halves'
// sum, post-normed.
func (m *transformer) gemma4FFN(s backends.Stream, x backends.Tensor, L *layer, a *acts, n int) {
	hp, G := m.hp, &L.g4
	o := prefix(a.o, n)
	ff := L.gate.Rows // this layer's width (shared-KV layers may be wider)
	g, u := reshape(a.gate, n, ff), reshape(a.up, n, ff)
	if len(L.gateExp) == 0 {
		m.normLinears(s, x, L.ffnNorm, prefix(a.h, n), [3]backends.Tensor{g, u}, [3]backends.Tensor{L.gate, L.up}, [3]backends.Tensor{},
			[3][]loraPair{L.lgate, L.lup}, 2)
		s.(backends.GELUMuler).GELUMul(g, g, u)
		m.residualLinear(s, x, o, L.down, backends.Tensor{}, g, L.postFFNNorm, L.ldown)
		return
	}
	// The experts first: their router and input norms use a.o and a.h,
	// which the dense block then reuses.
	hr, h := o, prefix(a.h, n)
	s.RMSNorm(hr, x, G.routerNorm, hp.eps)
	s.RMSNorm(h, x, G.preFFN2, hp.eps)
	moe := m.experts(s, h, hr, L, a, n, true)
	if m.fwdErr != nil {
		return
	}
	s.RMSNorm(moe, moe, G.postFFN2, hp.eps)
	m.normLinears(s, x, L.ffnNorm, h, [3]backends.Tensor{g, u}, [3]backends.Tensor{L.gate, L.up}, [3]backends.Tensor{},
		[3][]loraPair{L.lgate, L.lup}, 2)
	s.(backends.GELUMuler).GELUMul(g, g, u)
	linear(s, o, L.down, backends.Tensor{}, g)
	m.loraAdd(s, o, g, L.ldown)
	s.RMSNorm(o, o, G.postFFN1, hp.eps)
	s.Add(o, o, moe)
	m.residual(s, x, o, L.postFFNNorm)
}
