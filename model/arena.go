package model

import (
	"fmt"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/quant"
)

// acts are one forward pass's activations (F32). Buffers are reused
// across passes and only grow, so steady-state decoding allocates nothing
// on the device.
type acts struct {
	x, h     backends.Tensor // [n][n_embd] residual stream, normed input
	q, k, v  backends.Tensor // [n][heads*head_dim]
	qh, kh   backends.Tensor // the same memory as q, k viewed as one row per head
	attn, o  backends.Tensor // [n][n_head*head_dim_v] attention output, [n][n_embd] sub-layer output
	gate, up backends.Tensor // [n][n_ff]
	// Mixture of experts (moe.go): router scores [n][n_expert]; per slot
	// (k a token) the gathered input (later the outputs gathered back
	// choice by choice) and the experts' gate, up and output.
	router         backends.Tensor
	xs, gs, us, ys backends.Tensor
	// qwen2moe's shared expert: its gate's logit [n][1], gate, up and output.
	shLogit, shG, shU, shY backends.Tensor
	// MLA: the query's unrotated parts, the query latent, the query and
	// key rows' parts before they are laid side by side, and the heads'
	// outputs through v_b.
	qNope, qA, qSrc, kSrc, vOut backends.Tensor
	xOut, aOut                  backends.Tensor // [n_out][...] last-layer rows whose logits are wanted
	logits                      backends.Tensor // [n_out][n_vocab]
	// LoRA adapters' products A·x and B·(A·x), reshaped per matrix
	// (empty without adapters).
	loraT, loraD backends.Tensor // [n][max rank], [n][max rows of an adapted matrix]
	// Gemma 4's per-layer inputs [n][n_layer×width] (and the token part
	// while they are computed), one layer's gate and input rows [n][width].
	ple, pleTok, pleG, pleIn backends.Tensor
}

// arena owns the activation buffer.
type arena struct {
	buf  backends.Buffer
	size int
}

// layout carves the activations of an n-token pass with nOut output rows
// (logits, or hidden states, which need no logits buffer: an embedding
// pass of 2048 mean-pooled tokens would otherwise set aside 2048 rows of
// a 150k vocabulary, 1.2 GB).
func (m *transformer) layout(n, nOut int, hidden bool) (*acts, error) {
	hp := m.hp
	nLogits := nOut
	if hidden {
		nLogits = 0 // hidden states are read from the stream itself
	}
	a := &m.acts // reused like the arena: one Forward at a time
	*a = acts{}
	specs := []struct {
		t          *backends.Tensor
		name       string
		rows, cols int
	}{
		{&a.x, "x", n, hp.NEmbd}, {&a.h, "h", n, hp.NEmbd},
		{&a.q, "q", n, hp.NHead * hp.HeadDimK}, {&a.k, "k", n, hp.NHeadKV * hp.HeadDimK},
		{&a.v, "v", n, hp.NHeadKV * hp.HeadDimV}, {&a.attn, "attn", n, hp.NHead * hp.HeadDimV},
		{&a.o, "o", n, hp.NEmbd}, {&a.gate, "gate", n, hp.NFF}, {&a.up, "up", n, hp.NFF},
		{&a.xOut, "x_out", nOut, hp.NEmbd}, {&a.aOut, "attn_out", nOut, hp.NHead * hp.HeadDimV},
		{&a.logits, "logits", nLogits, hp.NVocab},
		{&a.loraT, "lora_t", n, m.loraRank}, {&a.loraD, "lora_d", n, m.loraOut},
		{&a.router, "router", n, hp.NExpert},
		{&a.xs, "moe_x", n * hp.NExpertUsed, hp.NEmbd}, {&a.ys, "moe_y", n * hp.NExpertUsed, hp.NEmbd},
		{&a.gs, "moe_gate", n * hp.NExpertUsed, hp.NFFExpert}, {&a.us, "moe_up", n * hp.NExpertUsed, hp.NFFExpert},
		{&a.shLogit, "shexp_logit", n, min(hp.NFFShared, 1)},
		{&a.shG, "shexp_gate", n, hp.NFFShared}, {&a.shU, "shexp_up", n, hp.NFFShared},
		{&a.shY, "shexp_out", n, min(hp.NFFShared, 1) * hp.NEmbd},
		// Multi-head latent attention (mla.go; empty otherwise).
		{&a.qNope, "q_nope", n, hp.NHead * hp.mla.nope}, {&a.qA, "q_latent_in", n, hp.mla.qLoRA},
		{&a.qSrc, "q_parts", n, min(hp.mla.kvLoRA, 1) * hp.NHead * hp.HeadDimK},
		{&a.kSrc, "k_parts", n, min(hp.mla.kvLoRA, 1) * hp.HeadDimK},
		{&a.vOut, "mla_out", n, hp.NHead * hp.mla.vDim},
		{&a.ple, "ple", n, hp.NLayer * hp.nPLE}, {&a.pleTok, "ple_tok", n, hp.NLayer * hp.nPLE},
		{&a.pleG, "ple_gate", n, hp.nPLE}, {&a.pleIn, "ple_in", n, hp.nPLE},
	}
	total := 0
	for _, s := range specs {
		total += align64(s.rows * s.cols * 4)
	}
	if m.act.size < total {
		buf, err := m.dev.Alloc(total, backends.UsageScratch)
		if err != nil {
			return nil, fmt.Errorf("activations for %d tokens (%d bytes): %w", n, total, err)
		}
		m.act = arena{buf: buf, size: total}
	}
	off := 0
	for _, s := range specs {
		*s.t = backends.Tensor{Name: s.name, Buf: m.act.buf, Off: off, Type: quant.F32, Rows: s.rows, Cols: s.cols}
		off += align64(s.rows * s.cols * 4)
	}
	a.qh = reshape(a.q, n*hp.NHead, hp.HeadDimK)
	a.kh = reshape(a.k, n*hp.NHeadKV, hp.HeadDimK)
	return a, nil
}

// reshape views t's first rows×cols values as a rows×cols tensor (the
// same bytes): a row per head, or a LoRA product of its own width.
func reshape(t backends.Tensor, rows, cols int) backends.Tensor {
	t.Rows, t.Cols = rows, cols
	return t
}

// prefix returns the first rows of t.
func prefix(t backends.Tensor, rows int) backends.Tensor {
	t.Rows = rows
	return t
}

func align64(n int) int { return (n + 63) &^ 63 }
