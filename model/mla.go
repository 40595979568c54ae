package model

import (
	"fmt"
	"math"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/gguf"
)

// Multi-head latent attention (DeepSeek-V2, V3; Kakao's Kanana-2), as
// llama.cpp's deepseek2 graph runs it with the absorption optimisation:
// the keys and values of a token are one latent vector c (kv_lora_rank
// wide, RMS-normed) plus one rotated key part k_pe shared by every head,
// so the cache holds c and k_pe once a token (an MQA over the latent). A
// head's query is its unrotated part q_nope taken into the latent through
// the head's k_b matrix, next to its rotated part q_pe; the attention's
// output, a latent vector a head, goes back out through the head's v_b
// matrix, then attn_output.
//
// The device ops are the ordinary ones: the stream's matmuls (q's two parts
// and the latent's two come from weights split by rows at load, so no op
// has to cut a row apart), per-head matmuls through
// backends.GroupedMatMuler (one per head and token, each on its own row),
// and GetRows over rows of unit columns to lay [latent | rotated] side by
// side in each query and key row.

// readMLA reads and checks the latent attention's sizes, and the score
// scale llama.cpp derives from YaRN.
func (hp *hparams) readMLA(f *gguf.File, a archSpec) error {
	p := a.name + "."
	ml := &hp.mla
	ml.kvLoRA = optUint(f, p+"attention.kv_lora_rank", 0)
	ml.qLoRA = optUint(f, p+"attention.q_lora_rank", 0)
	hk := optUint(f, p+"attention.key_length_mla", 0)
	ml.vDim = optUint(f, p+"attention.value_length_mla", 0)
	if hk == 0 || ml.vDim == 0 {
		return fmt.Errorf("%s: no attention.key_length_mla / value_length_mla: a file from before llama.cpp split kv_b into k_b and v_b (convert it again): %w", a.name, ErrUnsupportedArch)
	}
	if v, ok := f.Float32(p + "attention.temperature_scale"); ok && v != 0 {
		return fmt.Errorf("%s: attention temperature scaling (Mistral Large 3) is not supported: %w", a.name, ErrUnsupportedArch)
	}
	rope := hp.rope.NDims
	ml.nope = hk - rope
	if ml.kvLoRA <= 0 || ml.nope <= 0 || hp.NHeadKV != 1 || hp.HeadDimK != ml.kvLoRA+rope || hp.HeadDimV != ml.kvLoRA {
		return fmt.Errorf("%s: latent %d, heads of %d (%d rotated), key/value length %d/%d, %d KV heads: MLA files have key length = latent + rotated, value length = latent, one KV head",
			a.name, ml.kvLoRA, hk, rope, hp.HeadDimK, hp.HeadDimV, hp.NHeadKV)
	}
	hp.VInK = true // the latent leads each cached key row
	ml.unit = gcd(ml.kvLoRA, rope)
	// llama.cpp folds YaRN's magnitude into the scores: attn_factor is
	// first adjusted as llama_context does for deepseek2 (mscale ==
	// mscale_all_dim, so the ratio of the two is 1), the graph takes the
	// adjustment back out and scales q·k by mscale².
	r := &hp.rope
	logMul, _ := f.Float32(p + "rope.scaling.yarn_log_multiplier")
	logMul /= 0.1 // the converter writes 0.1·mscale_all_dim
	inv := float32(math.Log(float64(1 / r.FreqScale)))
	if r.ExtFactor != 0 {
		r.AttnFactor /= 1 + float32(0.1*float32(math.Log(float64(1/r.FreqScale))))
	}
	orig := r.AttnFactor * (1 + float32(0.1*inv))
	mscale := orig * (1 + float32(0.1*logMul*inv))
	ml.kqScale = mscale * mscale / float32(math.Sqrt(float64(hk)))
	return nil
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// bindMLA binds block il's latent attention: the query and latent
// projections split by rows into their unrotated and rotated parts, the
// norms, and each head's k_b and v_b.
func (m *transformer) bindMLA(b *binder, il int) error {
	hp, L, ml := m.hp, &m.layers[il], &m.hp.mla
	E, H, rope := hp.NEmbd, hp.NHead, hp.rope.NDims
	hk := ml.nope + rope
	n := func(what string) string { return fmt.Sprintf("blk.%d.%s", il, what) }
	// Rows of a query projection, head by head: nope rotated-part rows.
	nopeRows, peRows := make([]int, 0, H*ml.nope), make([]int, 0, H*rope)
	for h := range H {
		for i := range hk {
			if i < ml.nope {
				nopeRows = append(nopeRows, h*hk+i)
			} else {
				peRows = append(peRows, h*hk+i)
			}
		}
	}
	qName, qCols := n("attn_q.weight"), E
	if _, ok := b.f.Tensor(n("attn_q_a.weight")); ok {
		ti, _ := b.f.Tensor(n("attn_q_a.weight"))
		if ml.qLoRA == 0 && len(ti.Dims) == 2 {
			ml.qLoRA = int(ti.Dims[1])
		}
		var err error
		if L.wqA, err = b.weight(n("attn_q_a.weight"), E, ml.qLoRA); err != nil {
			return err
		}
		if L.qANorm, err = b.vector(n("attn_q_a_norm.weight"), ml.qLoRA); err != nil {
			return err
		}
		qName, qCols = n("attn_q_b.weight"), ml.qLoRA
	}
	q, err := b.rowSets(qName, qCols, H*hk, nopeRows, peRows)
	if err != nil {
		return err
	}
	L.wqNope, L.wqPe = q[0], q[1]
	kvRows := make([]int, ml.kvLoRA+rope)
	for i := range kvRows {
		kvRows[i] = i
	}
	kv, err := b.rowSets(n("attn_kv_a_mqa.weight"), E, ml.kvLoRA+rope, kvRows[:ml.kvLoRA], kvRows[ml.kvLoRA:])
	if err != nil {
		return err
	}
	L.wkvC, L.wkPe = kv[0], kv[1]
	if L.kvANorm, err = b.vector(n("attn_kv_a_norm.weight"), ml.kvLoRA); err != nil {
		return err
	}
	if L.wkB, err = b.experts(n("attn_k_b.weight"), ml.nope, ml.kvLoRA, H); err != nil {
		return err
	}
	if L.wvB, err = b.experts(n("attn_v_b.weight"), ml.kvLoRA, ml.vDim, H); err != nil {
		return err
	}
	L.wo, err = b.weight(n("attn_output.weight"), H*ml.vDim, E)
	return err
}

// mlaIndex fills the GetRows index lists that lay each query row out as
// [its latent part | its rotated part] (m.mlaQIdx, n·heads rows) and each
// key row likewise (m.mlaKIdx, n rows), in units of ml.unit columns: the
// sources hold first every row's latent part, then every row's rotated
// part.
func (m *transformer) mlaIndex(n int) {
	ml, H := &m.hp.mla, m.hp.NHead
	u := ml.unit
	lat, pe := ml.kvLoRA/u, m.hp.rope.NDims/u
	fill := func(dst []int32, rows int) []int32 {
		dst = dst[:0]
		for r := range rows {
			for j := range lat {
				dst = append(dst, int32(r*lat+j))
			}
			for j := range pe {
				dst = append(dst, int32(rows*lat+r*pe+j))
			}
		}
		return dst
	}
	if m.mlaRows != n {
		m.mlaQIdx = fill(m.mlaQIdx, n*H)
		m.mlaKIdx = fill(m.mlaKIdx, n)
		m.mlaRows = n
	}
}

// mlaAttention runs block il's latent attention on the stream x and
// returns the heads' outputs ([n × heads·value width], attn_output's
// input).
func (m *transformer) mlaAttention(s backends.Stream, il int, x backends.Tensor, a *acts, p *plan, kv *KVCache) backends.Tensor {
	L, hp, ml := &m.layers[il], m.hp, &m.hp.mla
	n, H, rope, lat := x.Rows, hp.NHead, hp.rope.NDims, ml.kvLoRA
	h := prefix(a.h, n)
	s.RMSNorm(h, x, L.attnNorm, hp.eps)
	qn := prefix(a.qNope, n)
	// The sources of the query and key rows: every latent part, then
	// every rotated part.
	qLat := backends.Tensor{Name: "q_latent", Buf: a.qSrc.Buf, Off: a.qSrc.Off, Type: a.qSrc.Type, Rows: n * H, Cols: lat}
	qPe := backends.Tensor{Name: "q_pe", Buf: a.qSrc.Buf, Off: a.qSrc.Off + n*H*lat*4, Type: a.qSrc.Type, Rows: n, Cols: H * rope}
	kLat := backends.Tensor{Name: "kv_latent", Buf: a.kSrc.Buf, Off: a.kSrc.Off, Type: a.kSrc.Type, Rows: n, Cols: lat}
	kPe := backends.Tensor{Name: "k_pe", Buf: a.kSrc.Buf, Off: a.kSrc.Off + n*lat*4, Type: a.kSrc.Type, Rows: n, Cols: rope}
	d, w := m.mlaMM[0][:0], m.mlaMM[1][:0] // reused: a step allocates nothing
	if L.wqA.Valid() {
		qa := prefix(a.qA, n)
		m.sharedMatMuls(s, h, append(d, qa, kLat, kPe), append(w, L.wqA, L.wkvC, L.wkPe))
		s.RMSNorm(qa, qa, L.qANorm, hp.eps)
		m.sharedMatMuls(s, qa, append(d, qn, qPe), append(w, L.wqNope, L.wqPe))
	} else {
		m.sharedMatMuls(s, h, append(d, qn, qPe, kLat, kPe), append(w, L.wqNope, L.wqPe, L.wkvC, L.wkPe))
	}
	s.RMSNorm(kLat, kLat, L.kvANorm, hp.eps)
	s.RoPE(reshape(qPe, n*H, rope), p.pos, m.ropeParams(nil, H))
	s.RoPE(kPe, p.pos, m.ropeParams(nil, 1))
	// Each head's q_nope into the latent through its k_b.
	m.perHead(s, qLat, L.wkB, reshape(qn, n*H, ml.nope), n)
	m.mlaIndex(n)
	u := ml.unit
	q, k := prefix(a.q, n), prefix(a.k, n)
	s.GetRows(reshape(q, n*H*(lat+rope)/u, u), reshape(a.qSrc, n*H*(lat+rope)/u, u), m.mlaQIdx)
	s.GetRows(reshape(k, n*(lat+rope)/u, u), reshape(a.kSrc, n*(lat+rope)/u, u), m.mlaKIdx)
	cache := kv.layer(il)
	v := kLat
	if cache.VInK {
		v = backends.Tensor{} // the latent just stored as K's first columns
	}
	s.StoreKV(cache, k, v, p.slots)
	attn := prefix(a.attn, n)
	s.Attention(attn, q, cache, p.rows, backends.Attn{NHead: H, NHeadKV: 1, HeadDimK: lat + rope, HeadDimV: lat, Scale: ml.kqScale})
	// Each head's latent output back out through its v_b.
	out := backends.Tensor{Name: "mla_out", Buf: a.vOut.Buf, Off: a.vOut.Off, Type: a.vOut.Type, Rows: n * H, Cols: ml.vDim}
	m.perHead(s, out, L.wvB, reshape(attn, n*H, lat), n)
	return reshape(out, n, H*ml.vDim)
}

// perHead computes row t·H+h of dst as ws[h]·(row t·H+h of x) for the n
// tokens and H heads: one grouped call when the stream has one, else a
// matmul a row.
func (m *transformer) perHead(s backends.Stream, dst backends.Tensor, ws []backends.Tensor, x backends.Tensor, n int) {
	H := len(ws)
	m.phDsts, m.phWs, m.phRows = m.phDsts[:0], m.phWs[:0], m.phRows[:0]
	for t := range n {
		for h, w := range ws {
			m.phDsts = append(m.phDsts, rowRange(dst, t*H+h, 1))
			m.phWs = append(m.phWs, w)
			m.phRows = append(m.phRows, t*H+h)
		}
	}
	if gm, ok := s.(backends.GroupedMatMuler); ok {
		gm.MatMulGrouped(m.phDsts, m.phWs, x, m.phRows)
		return
	}
	for i, d := range m.phDsts {
		s.MatMul(d, m.phWs[i], rowRange(x, m.phRows[i], 1))
	}
}
