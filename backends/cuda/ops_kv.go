package cuda

import (
	"fmt"
	"math"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/quant"
)

// ropeConsts are the per-call constants of ggml_rope_ext, computed on the
// host in float32 as the reference does: θ scale = base^(−2/n_dims) (the
// exponent rounded to float32 first), the YaRN ramp bounds (dimension
// indices where the wavelength covers n_ctx_orig/β rotations) and the YaRN
// magnitude factor 1 + 0.1·ln(1/freq_scale).
func ropeConsts(p backends.RoPE) (thetaScale, corr0, corr1, yarnM float32) {
	thetaScale = float32(math.Pow(float64(p.Base), float64(float32(-2)/float32(p.NDims))))
	if p.ExtFactor == 0 {
		return thetaScale, 0, 0, 1
	}
	logf := func(v float32) float32 { return float32(math.Log(float64(v))) }
	corr := func(beta float32) float32 {
		num := logf(float32(p.NCtxOrig) / (beta * 2 * float32(math.Pi)))
		return float32(p.NDims) * num / (2 * logf(p.Base))
	}
	corr0 = max(0, float32(math.Floor(float64(corr(p.BetaFast)))))
	corr1 = min(float32(p.NDims-1), float32(math.Ceil(float64(corr(p.BetaSlow)))))
	yarnM = 1 + float32(0.1*logf(1/p.FreqScale))
	return thetaScale, corr0, corr1, yarnM
}

// RoPE implements backends.Stream.
func (s *Stream) RoPE(x backends.Tensor, pos []int32, p backends.RoPE) {
	s.do(backends.OpRoPE, func() error {
		if p.NHead <= 0 || x.Rows%p.NHead != 0 || x.Rows/p.NHead != len(pos) || x.Type != quant.F32 {
			return fmt.Errorf("%s with %d heads for %d positions: %w", x.Shape(), p.NHead, len(pos), backends.ErrShape)
		}
		if p.NDims <= 0 || p.NDims%2 != 0 || p.NDims > x.Cols {
			return fmt.Errorf("%s: rotating %d dims: %w", x.Shape(), p.NDims, backends.ErrShape)
		}
		xp, err := s.dev.ptr(x)
		if err != nil {
			return err
		}
		var fp uint64
		if p.Freqs.Valid() {
			if p.Freqs.Type != quant.F32 || p.Freqs.Rows*p.Freqs.Cols < p.NDims/2 {
				return fmt.Errorf("%s: need %d F32 frequency factors: %w", p.Freqs.Shape(), p.NDims/2, backends.ErrShape)
			}
			if fp, err = s.dev.ptr(p.Freqs); err != nil {
				return err
			}
		}
		pp, err := s.upload32("pos", pos)
		if err != nil {
			return err
		}
		ts, c0, c1, ym := ropeConsts(p)
		neox := 0
		if p.Neox {
			neox = 1
		}
		n := len(pos) * p.NHead * (p.NDims / 2)
		grid := [3]uint32{uint32((n + 255) / 256), 1, 1}
		return s.launch("nuri_rope", grid, threads(256), 0, xp, pp, fp, len(pos), p.NHead, x.Cols, p.NDims, neox,
			ts, p.FreqScale, p.ExtFactor, p.AttnFactor, c0, c1, ym)
	})
}

// attnKernel names the attention kernel of a cache of K type k and V type
// v (kname's names): nuri_attention_f16, or nuri_attention_q8_0_f16 where
// they differ.
func attnKernel(k, v string) string {
	if k == v {
		return "nuri_attention_" + k
	}
	return "nuri_attention_" + k + "_" + v
}

// checkKV validates a paged cache against the kernels' layout.
func checkKV(kv backends.PagedKV) error {
	if !kvType(kv.K.Type) || !kvType(kv.V.Type) {
		return fmt.Errorf("KV cache types %v/%v: %w", kv.K.Type, kv.V.Type, backends.ErrUnsupportedOp)
	}
	if kv.NHeadKV <= 0 || kv.BlockSize <= 0 || kv.K.Rows%kv.NHeadKV != 0 || kv.V.Rows != kv.K.Rows ||
		(kv.K.Rows/kv.NHeadKV)%kv.BlockSize != 0 {
		return fmt.Errorf("KV cache %s/%s with %d heads and blocks of %d: %w", kv.K.Shape(), kv.V.Shape(), kv.NHeadKV, kv.BlockSize, backends.ErrShape)
	}
	return kv.CheckVInK()
}

// StoreKV implements backends.Stream.
func (s *Stream) StoreKV(kv backends.PagedKV, k, v backends.Tensor, slots []int32) {
	s.do(backends.OpStoreKV, func() error {
		if err := checkKV(kv); err != nil {
			return err
		}
		n := len(slots)
		if n > maxGridY {
			return fmt.Errorf("%d tokens in one store (at most %d): %w", n, maxGridY, backends.ErrShape)
		}
		wk, wv := kv.NHeadKV*kv.K.Cols, kv.NHeadKV*kv.V.Cols
		if err := sameShape(n, wk, k); err != nil {
			return err
		}
		if kv.VInK {
			if v.Valid() {
				return fmt.Errorf("a value tensor %s given to a cache whose values live in K: %w", v.Shape(), backends.ErrShape)
			}
		} else if err := sameShape(n, wv, v); err != nil {
			return err
		}
		nSlots := kv.NumSlots()
		for _, sl := range slots {
			if sl < 0 || int(sl) >= nSlots {
				return fmt.Errorf("slot %d outside the cache's %d: %w", sl, nSlots, backends.ErrShape)
			}
		}
		jobs := []struct {
			cache, src *backends.Tensor
			width      int
		}{{&kv.K, &k, wk}, {&kv.V, &v, wv}}
		if kv.VInK {
			jobs = jobs[:1] // V is K's first columns: stored with it
		}
		sp, err := s.upload32("slots", slots)
		if err != nil {
			return err
		}
		for _, job := range jobs {
			name := "nuri_store_kv_" + kname(job.cache.Type)
			p, err := s.ptrs(*job.cache, *job.src)
			if err != nil {
				return err
			}
			work := job.width
			if job.cache.Type == quant.Q8_0 {
				work = job.width / 32 * 32 // one warp per block (width is whole blocks)
			}
			grid := [3]uint32{uint32((work + 255) / 256), uint32(n), 1}
			if err := s.launch(name, grid, threads(256), 0, p[1], p[0], sp, n, job.width); err != nil {
				return err
			}
		}
		return nil
	})
}

// Attention implements backends.Stream. The block tables are flattened on
// the host (and every entry the queries reach is checked there) and copied
// with the positions; scores live in a scratch buffer.
func (s *Stream) Attention(dst, q backends.Tensor, kv backends.PagedKV, rows backends.AttnRows, p backends.Attn) {
	s.do(backends.OpAttention, func() error {
		if err := checkKV(kv); err != nil {
			return err
		}
		n := len(rows.Pos)
		if rows.Lo != nil && len(rows.Lo) != n {
			return fmt.Errorf("%d row starts for %d tokens: %w", len(rows.Lo), n, backends.ErrShape)
		}
		if n > maxGridY || p.NHead > maxGridY {
			return fmt.Errorf("%d tokens × %d heads in one call (at most %d each): %w", n, p.NHead, maxGridY, backends.ErrShape)
		}
		if len(rows.Tables) != n || p.NHead <= 0 || p.NHeadKV != kv.NHeadKV || p.NHead%p.NHeadKV != 0 ||
			kv.K.Cols != p.HeadDimK || kv.V.Cols != p.HeadDimV {
			return fmt.Errorf("%d heads over %d KV heads (%dx%d) for %d tokens with %d tables, cache %s/%s: %w",
				p.NHead, p.NHeadKV, p.HeadDimK, p.HeadDimV, n, len(rows.Tables), kv.K.Shape(), kv.V.Shape(), backends.ErrShape)
		}
		if err := sameShape(n, p.NHead*p.HeadDimK, q); err != nil {
			return err
		}
		if err := sameShape(n, p.NHead*p.HeadDimV, dst); err != nil {
			return err
		}
		meta, maxCtx, err := attnMeta(rows, kv, p.Window)
		if err != nil {
			return err
		}
		var loP uint64
		hasLo := 0
		if rows.Lo != nil {
			if loP, err = s.upload32("attn_lo", rows.Lo); err != nil {
				return err
			}
			hasLo = 1
		}
		// A VInK cache's V rows are read through K with K's stride: the
		// kernel reads hd_v elements of each row whatever its stride.
		vt, _ := kv.VStorage()
		ptr, err := s.ptrs(q, kv.K, vt, dst)
		if err != nil {
			return err
		}
		mp, err := s.upload32("attn_meta", meta)
		if err != nil {
			return err
		}
		sc, err := s.work("attn_scores", 4*n*p.NHead*maxCtx)
		if err != nil {
			return err
		}
		kRow, _ := kv.K.RowBytes()
		vRow, _ := vt.RowBytes()
		shmem := uint32(4 * (p.HeadDimK + p.HeadDimK/32 + 1))
		grid := [3]uint32{uint32(p.NHead), uint32(n), 1}
		posP, toffP, tabP := mp, mp+uint64(4*n), mp+uint64(8*n)
		return s.launch(attnKernel(kname(kv.K.Type), kname(vt.Type)), grid, threads(attnThreads), shmem,
			ptr[0], ptr[1], ptr[2], ptr[3], posP, toffP, tabP, sc.ptr,
			p.NHead, p.NHeadKV, p.HeadDimK, p.HeadDimV, kv.BlockSize, p.Window, p.Scale, maxCtx, kRow, vRow, p.SoftCap, loP, hasLo)
	})
}

// attnThreads is the attention kernel's block: eight warps share a head's
// positions (decode runs one block per head, so the GPU has few blocks and
// each must be wide).
const attnThreads = 256

// attnMeta packs [pos(n) | table offset(n) | tables...] and checks that
// every position a query reads maps to a slot of the cache. Tokens that
// share a block table (one sequence) share its copy.
func attnMeta(rows backends.AttnRows, kv backends.PagedKV, window int) ([]int32, int, error) {
	n := len(rows.Pos)
	meta := make([]int32, 2*n, 2*n+8*n)
	copy(meta, rows.Pos)
	nSlots := kv.NumSlots()
	maxCtx := 1
	lastOff := -1
	for t := 0; t < n; t++ {
		pos, table := int(rows.Pos[t]), rows.Tables[t]
		if pos < 0 || pos/kv.BlockSize >= len(table) {
			return nil, 0, fmt.Errorf("position %d not covered by a block table of %d blocks: %w", pos, len(table), backends.ErrShape)
		}
		lo := 0
		if window > 0 {
			lo = max(0, pos-window+1)
		}
		if rows.Lo != nil {
			if lo = max(lo, int(rows.Lo[t])); lo > pos {
				return nil, 0, fmt.Errorf("token %d's first key %d is past its last %d: %w", t, lo, pos, backends.ErrShape)
			}
		}
		maxCtx = max(maxCtx, pos-lo+1)
		for b := lo / kv.BlockSize; b <= pos/kv.BlockSize; b++ {
			if blk := int(table[b]); blk < 0 || (blk+1)*kv.BlockSize > nSlots {
				return nil, 0, fmt.Errorf("block %d outside the cache's %d blocks: %w", blk, nSlots/kv.BlockSize, backends.ErrShape)
			}
		}
		if t > 0 && sameTable(rows.Tables[t-1], table) {
			meta[n+t] = int32(lastOff)
			continue
		}
		lastOff = len(meta) - 2*n
		meta[n+t] = int32(lastOff)
		meta = append(meta, table...)
	}
	return meta, maxCtx, nil
}

func sameTable(a, b []int32) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}
