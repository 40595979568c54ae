package cpu

import (
	"fmt"
	"math"
	"sync"
	"unsafe"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/kernels"
	"github.com/nuri-ai/nuri/quant"
)

// StoreKV implements backends.Stream. The conversion to the cache type is
// ggml_cpy's: fp16/bf16 round to nearest even, Q8_0 uses the same
// quantizer as activations (the x86 from_float of Q8_0), and the other
// block types (Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL) their reference quantizer,
// which is their from_float on the CPU.
func (s *Stream) StoreKV(kv backends.PagedKV, k, v backends.Tensor, slots []int32) {
	s.do(backends.OpStoreKV, func() error {
		if err := checkKV(kv); err != nil {
			return err
		}
		n := len(slots)
		if err := sameShape(n, kv.NHeadKV*kv.K.Cols, k); err != nil {
			return err
		}
		if kv.VInK {
			if v.Valid() {
				return fmt.Errorf("a value tensor %s given to a cache whose values live in K: %w", v.Shape(), backends.ErrShape)
			}
		} else if err := sameShape(n, kv.NHeadKV*kv.V.Cols, v); err != nil {
			return err
		}
		ks, err := k.HostF32s()
		if err != nil {
			return err
		}
		kb, err := kv.K.HostBytes()
		if err != nil {
			return err
		}
		var vs []float32
		var vb []byte
		if !kv.VInK {
			if vs, err = v.HostF32s(); err != nil {
				return err
			}
			if vb, err = kv.V.HostBytes(); err != nil {
				return err
			}
		}
		kRow, _ := kv.K.RowBytes()
		vRow, _ := kv.V.RowBytes()
		nSlots := kv.NumSlots()
		for _, slot := range slots {
			if slot < 0 || int(slot) >= nSlots {
				return fmt.Errorf("slot %d outside the cache's %d: %w", slot, nSlots, backends.ErrShape)
			}
		}
		// One slot's NHeadKV rows are contiguous in the cache and in the
		// token's K row, so each token converts in one call.
		t := &s.store
		*t = storeTask{vec: s.dev.pool.VecOps(), kv: kv, ks: ks, vs: vs, kb: kb, vb: vb,
			kCols: k.Cols, vCols: v.Cols, kSlot: kRow * kv.NHeadKV, vSlot: vRow * kv.NHeadKV, slots: slots}
		s.storeErrs = grow(s.storeErrs, n)
		t.errs = s.storeErrs
		clear(t.errs)
		// A prefill's tokens are converted on the pool: the block types'
		// reference quantizers take 1.3-5 µs a token and layer of
		// llama-1b, IQ4_NL's scale search 52 µs.
		if n >= storeParallelTokens {
			s.dev.pool.RunTask(n, t)
		} else {
			t.Run(0, n)
		}
		for _, err := range t.errs {
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// storeParallelTokens is the fewest tokens StoreKV spreads over the pool.
const storeParallelTokens = 8

// storeTask is StoreKV's pool task: tokens lo..hi-1 converted into their
// slots (checked by the caller).
type storeTask struct {
	vec                        kernels.VecOps
	kv                         backends.PagedKV
	ks, vs                     []float32
	kb, vb                     []byte
	kCols, vCols, kSlot, vSlot int
	slots                      []int32
	errs                       []error // one a token
}

func (t *storeTask) Run(lo, hi int) {
	for i := lo; i < hi; i++ {
		o := int(t.slots[i])
		if err := storeRow(t.vec, t.kv.K.Type, t.ks[i*t.kCols:(i+1)*t.kCols], t.kb[o*t.kSlot:(o+1)*t.kSlot]); err != nil {
			t.errs[i] = err
			continue
		}
		if !t.kv.VInK {
			t.errs[i] = storeRow(t.vec, t.kv.V.Type, t.vs[i*t.vCols:(i+1)*t.vCols], t.vb[o*t.vSlot:(o+1)*t.vSlot])
		}
	}
}

// storeRow converts one token's K or V row into the cache's type: fp16
// with the vector conversion (the scalar one took 1.3 µs for a 512-value
// row, 27 ns vectorized: 2.6 µs a layer in llama-1b decode), Q8_0 and F32
// as quant.QuantizeActivations does, the other block types with
// quant.Quantize.
func storeRow(vec kernels.VecOps, t quant.Type, src []float32, dst []byte) error {
	if t == quant.F16 && len(dst) == 2*len(src) && len(src) > 0 {
		vec.ToF16(unsafe.Slice((*uint16)(unsafe.Pointer(&dst[0])), len(src)), src)
		return nil
	}
	if t == quant.IQ4_NL {
		return vec.QuantizeIQ4_NL(src, dst)
	}
	if kernels.QuantCacheType(t) {
		return quant.Quantize(t, src, dst)
	}
	return quant.QuantizeActivations(t, src, dst)
}

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

// Attention implements backends.Stream following ggml's non-flash path:
// q (per head) is converted to the cache's vec-dot type (fp16 for an F16
// cache) and dotted with each cached K; the scores are scaled, softmaxed
// with a float64 sum, the probabilities rounded to that same type for an
// F16/BF16 cache, and they weight the cached V rows. Each (token, head)
// reduces over positions in increasing order, whatever the batch. F16 and
// F32 caches run the vector loops of kernels.VecOps a block at a time;
// those sum in float32 lanes in a fixed order (ggml's SIMD dot does too).
// A Q8_0 cache takes the integer-per-block loops (DotQ8_0Rows,
// AxpyQ8_0Rows) against q quantized to Q8_0, as ggml's Q8_0 vec-dot. The
// other block types (kernels.QuantCacheType) take DotQuantRowsHeads and
// AxpyQuantRowsHeads against q quantized to their vec-dot type: Q4_0, Q5_0
// and IQ4_NL rows transcoded to Q8_0 for the Q8_0 loops; Q4_1 and Q5_1
// scored on those loops too (their codes and d, each block's m times the
// query block's d·Σq added after; MatMul's row kernels without AVX2) and
// summed dequantized to float32, as ggml's flash attention reads a
// quantized V.
func (s *Stream) Attention(dst, q backends.Tensor, kv backends.PagedKV, rows backends.AttnRows, p backends.Attn) {
	s.do(backends.OpAttention, func() error {
		a, err := s.newAttnJob(dst, q, kv, rows, p)
		if err != nil {
			return err
		}
		if parts := a.splitParts(s.dev.pool.Threads()); parts > 1 && !s.attn.noSplit {
			s.attn.split.s = s
			return s.attnSplit(parts)
		}
		// One unit is up to a.unit query heads of a token that share a KV
		// head, and so its cache rows; or, where tokens are grouped, the
		// query heads of a KV head for up to tokensPerGroup tokens of one
		// sequence.
		per := p.NHeadKV * a.unitsPerKVH()
		n := len(rows.Pos) * per
		most := a.tokensPerGroup()
		grouped := most > 1
		if grouped {
			s.attn.groups = tokenGroups(s.attn.groups[:0], rows.Tables, most)
			per = p.NHeadKV
			n = (len(s.attn.groups) - 1) * per
		}
		s.attn.errs = grow(s.attn.errs, n)
		errs := s.attn.errs
		clear(errs)
		s.attn.units = attnUnits{s: s, per: per, grouped: grouped}
		s.dev.pool.RunTask(n, &s.attn.units)
		for _, err := range errs {
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// attnJob is one Attention call's validated views.
type attnJob struct {
	p              backends.Attn
	kv             backends.PagedKV
	rows           backends.AttnRows
	qs, ys         []float32
	kb, vb         []byte
	kRow, vRow     int        // bytes between the starts of consecutive rows
	vCols          int        // elements between the starts of consecutive V rows
	qType          quant.Type // q converted to this for q·k
	roundP         quant.Type // probabilities rounded to this (F32: not rounded)
	qRowBytes      int
	nSlots, perKVH int
	unit           int // query heads per unit of work (kvGroup)
	// Typed views of the cache for the vector loops (F16/F32 caches).
	k16, v16 []uint16
	k32, v32 []float32
	vec      kernels.VecOps
}

func (s *Stream) newAttnJob(dst, q backends.Tensor, kv backends.PagedKV, rows backends.AttnRows, p backends.Attn) (*attnJob, error) {
	if err := checkKV(kv); err != nil {
		return nil, err
	}
	n := len(rows.Pos)
	if (rows.Lo != nil && len(rows.Lo) != n) || len(rows.Tables) != n || p.NHead <= 0 || p.NHeadKV != kv.NHeadKV || p.NHead%p.NHeadKV != 0 ||
		kv.K.Cols != p.HeadDimK || kv.V.Cols != p.HeadDimV {
		return nil, fmt.Errorf("%d heads over %d KV heads (%dx%d) for %d tokens with %d tables, cache %s/%s: %w",
			p.NHead, p.NHeadKV, p.HeadDimK, p.HeadDimV, n, len(rows.Tables), kv.K.Shape(), kv.V.Shape(), backends.ErrShape)
	}
	if err := sameShape(n, p.NHead*p.HeadDimK, q); err != nil {
		return nil, err
	}
	if err := sameShape(n, p.NHead*p.HeadDimV, dst); err != nil {
		return nil, err
	}
	a := &s.attn.job
	*a = attnJob{p: p, kv: kv, rows: rows, nSlots: kv.NumSlots(), perKVH: p.NHead / p.NHeadKV, vec: s.dev.pool.VecOps()}
	// Four heads share a pass over their rows (the F16 kernels' width),
	// unless that leaves a thread without a unit: then fewer heads a
	// unit, down to one. Each unit reads its KV head's rows again, so
	// no more units than the threads need: a decode step of Gemma 3 1B
	// (four heads over one KV head, two threads) read its cache four
	// times in units of one head, and now twice in two units of two,
	// its attention at depth 3000 18-26 % faster (the heads' bits are
	// the same however they are grouped).
	a.unit = min(4, a.perKVH)
	for a.unit > 1 && n*p.NHeadKV*((a.perKVH+a.unit-1)/a.unit) < s.dev.pool.Threads() {
		a.unit /= 2
	}
	var err error
	if a.qs, err = q.HostF32s(); err != nil {
		return nil, err
	}
	if a.ys, err = dst.HostF32s(); err != nil {
		return nil, err
	}
	if a.kb, err = kv.K.HostBytes(); err != nil {
		return nil, err
	}
	vt, vCols := kv.VStorage()
	if a.vb, err = vt.HostBytes(); err != nil {
		return nil, err
	}
	a.k16, a.k32 = typedView(kv.K.Type, a.kb)
	a.v16, a.v32 = typedView(kv.V.Type, a.vb)
	a.kRow, _ = kv.K.RowBytes()
	a.vRow, _ = vt.RowBytes()
	a.vCols = vCols
	a.qType = quant.VecDotType(kv.K.Type)
	if a.qRowBytes, err = a.qType.RowBytes(p.HeadDimK); err != nil {
		return nil, err
	}
	a.roundP = quant.F32
	if vt := quant.VecDotType(kv.V.Type); vt == quant.F16 || vt == quant.BF16 {
		a.roundP = vt
	}
	return a, nil
}

// attnWorker holds one worker's scratch buffers.
type attnWorker struct {
	a      *attnJob
	qConv  []byte    // q as Q8_0 blocks (Q8_0 cache)
	qq     []byte    // their quants, contiguous
	qd     []float32 // and block scales
	qf     []float32 // q rounded to the cache's vec-dot type (F16/F32 caches)
	scores []float32
	acc    []float32
	// The query heads of one KV head together (F16 and Q8_0 caches):
	// their rounded (F16) or quantized (Q8_0: quants, block scales) q
	// vectors, their score rows and their weighted sums, perKVH of each.
	qfs, groupScores, groupAcc []float32
	qqs                        []byte
	qds                        []float32
	list                       []span // the current KV head's spans
	// The query heads quantized for a cache of another block type, and
	// its dequantized V rows (kernels.QuantCacheType); the query vectors
	// of a group of tokens before they are quantized (quantTokenGroup).
	qc      kernels.QueryScratch
	groupQs []float32
}

// attnScratch is what Attention keeps between calls so that a call
// allocates nothing: the job, the per-unit errors, and the workers' buffers
// (decode calls it once a layer per step; a fresh allocation per call and
// worker cost ~50 µs a call in llama-1b decode, most of its attention time
// at short contexts).
type attnScratch struct {
	job     attnJob
	errs    []error
	units   attnUnits
	groups  []int32 // grouped tokens: each group's first token, then the end
	split   attnSplitTask
	noSplit bool      // tests: never split (attnSplit's reference)
	workers sync.Pool // *attnWorker
}

// attnUnits is the pool task of an Attention call: units lo..hi-1 of the
// job in s.attn, unit i being kvGroup(i / per, i % per), or with grouped
// tokens, tokenGroup(group i / per, KV head i % per).
type attnUnits struct {
	s       *Stream
	per     int
	grouped bool
}

func (u *attnUnits) Run(lo, hi int) {
	sa := &u.s.attn
	w := u.s.attnWorker(&sa.job)
	for i := lo; i < hi; i++ {
		if u.grouped {
			g := i / u.per
			sa.errs[i] = w.tokenGroup(int(sa.groups[g]), int(sa.groups[g+1]), i%u.per)
			continue
		}
		sa.errs[i] = w.kvGroup(i/u.per, i%u.per)
	}
	sa.workers.Put(w)
}

// tokensPerGroup is how many tokens of one sequence a unit of the call
// takes together (tokenGroup; 1: none are grouped). An F16 cache groups
// them where there are one or two query heads a KV head (four fill the
// four-head loops already) and the multi-head loops have their four-head
// form, four query vectors a pass. A cache with a side of the other block
// types (kernels.QuantCacheType) groups up to 16 query vectors, whatever
// the heads: its rows are transcoded or dequantized before the loops read
// them, once for all the tokens (quantTokenGroup).
func (a *attnJob) tokensPerGroup() int {
	switch {
	case len(a.rows.Pos) < 2:
		return 1
	case a.quantGroups():
		return max(1, quantGroupVectors/a.perKVH)
	case a.perKVH <= 2 && a.kv.K.Type == quant.F16 && a.kv.V.Type == quant.F16 && a.vec.FourHeads():
		return 4 / a.perKVH
	}
	return 1
}

// quantGroups says whether a prefill's tokens share passes in
// quantTokenGroup: one side at least of a block type of
// kernels.QuantCacheType, whose rows are then transcoded or dequantized
// once for all of them, and the other of such a type, Q8_0 or F16 (K and
// V apart: -ctk q8_0 -ctv q4_0).
func (a *attnJob) quantGroups() bool {
	grouped := func(t quant.Type) bool { return kernels.QuantCacheType(t) || t == quant.Q8_0 || t == quant.F16 }
	k, v := a.kv.K.Type, a.kv.V.Type
	return (kernels.QuantCacheType(k) || kernels.QuantCacheType(v)) && grouped(k) && grouped(v)
}

// quantGroupVectors is how many query vectors (tokens × query heads of a
// KV head) share a pass over a quantized cache's rows in quantTokenGroup:
// four four-head passes over each transcoded chunk.
const quantGroupVectors = 16

// tokenGroups appends to groups the first token of each run of up to
// most consecutive tokens with the same block table (one sequence's),
// then the number of tokens.
func tokenGroups(groups []int32, tables [][]int32, most int) []int32 {
	same := func(a, b []int32) bool { return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0]) }
	for t := 0; t < len(tables); {
		groups = append(groups, int32(t))
		start := t
		for t++; t < len(tables) && t-start < most && same(tables[t], tables[start]); t++ {
		}
	}
	return append(groups, int32(len(tables)))
}

// tokenGroup computes the query heads of KV head kvh (one or two) for
// tokens t0..t1-1 of one sequence (four q vectors at most) as the
// four-head loops compute four heads: the q vectors against one pass over
// the K rows of all their positions, then one pass over the V rows. A
// token's scores outside its own positions are dropped and its
// probabilities there are zero, which adds nothing to its sums (p·v + acc
// with p = 0 is acc exactly), so each (token, head) gets the bits of a
// pass of its own (head). In a prefill or an encoder's pass of n tokens
// the K and V rows of a KV head were read n·heads times; now a quarter as
// often: BGE-M3's 2048-token input embeds 2.4× as fast
// (docs/performance.md, round 36).
func (w *attnWorker) tokenGroup(t0, t1, kvh int) error {
	a, p := w.a, w.a.p
	g := a.perKVH
	h0 := kvh * g
	if t1-t0 == 1 { // one token: its head group's units as they are
		upk := a.unitsPerKVH()
		for u := kvh * upk; u < (kvh+1)*upk; u++ {
			if err := w.kvGroup(t0, u); err != nil {
				return err
			}
		}
		return nil
	}
	if a.quantGroups() {
		return w.quantTokenGroup(t0, t1, kvh)
	}
	nq, hd, hdv := (t1-t0)*g, p.HeadDimK, p.HeadDimV
	var los, poss [4]int
	lo, n, err := w.groupSpans(t0, t1, kvh, los[:], poss[:])
	if err != nil {
		return err
	}
	list := w.list
	// q vector i is token t0 + i/g's head h0 + i%g; padding repeats the
	// last one.
	const gk = 4
	qfs := w.qfs[:gk*hd]
	for i := range gk {
		k := min(i, nq-1)
		q := ((t0+k/g)*p.NHead + h0 + k%g) * hd
		a.vec.RoundF16(qfs[i*hd:(i+1)*hd], a.qs[q:q+hd])
	}
	w.groupScores = growRoom(w.groupScores, gk*n)
	sc := w.groupScores
	kStride := a.kv.NHeadKV * hd
	for i, sp := range list {
		a.prefetchSpan(list, i+1, a.kb, a.kRow)
		a.vec.DotF16RowsHeads(sc[sp.first-lo:], n, sp.n, qfs, hd, hd, gk, a.k16[sp.row*hd:], kStride)
	}
	for i := range gk {
		row := sc[i*n : (i+1)*n]
		if i >= nq {
			clear(row)
			continue
		}
		a.softmaxWithin(row, los[i/g]-lo, poss[i/g]-lo)
	}
	acc := w.groupAcc[:gk*hdv]
	clear(acc)
	for i, sp := range list {
		a.prefetchSpan(list, i+1, a.vb, a.vRow)
		a.vec.AxpyF16RowsHeads(acc, hdv, hdv, sc[sp.first-lo:], n, sp.n, gk, a.v16[sp.row*a.vCols:], a.kv.NHeadKV*a.vCols)
	}
	for i := range nq {
		y := ((t0+i/g)*p.NHead + h0 + i%g) * hdv
		copy(a.ys[y:y+hdv], acc[i*hdv:(i+1)*hdv])
	}
	return nil
}

// quantTokenGroup is tokenGroup for a cache with a side of the block types
// of kernels.QuantCacheType (quantGroups; the other side may be Q8_0 or
// F16, read by its own multi-head loops): the query heads of KV head kvh for tokens
// t0..t1-1 of one sequence (up to quantGroupVectors query vectors) against
// one pass over the K rows of all their positions, then one over the V
// rows, so that each chunk of rows is transcoded or dequantized once for
// all of them. A token's scores outside its own positions are dropped and
// its probabilities there are zero, which adds nothing to its sums (the
// sums start at +0 and never become -0), so each (token, head) gets the
// bits of a pass of its own. A 512-token prefill at depth 3072 (llama-1b)
// went from 174 to 183 t/s with a q4_0 cache, 135 to 156 with q5_1; what
// is left is the Q8_0 loops' arithmetic (the transcoding took 3 % of the
// time), against f16's 244-259.
func (w *attnWorker) quantTokenGroup(t0, t1, kvh int) error {
	a, p := w.a, w.a.p
	g := a.perKVH
	h0 := kvh * g
	nq, hd, hdv := (t1-t0)*g, p.HeadDimK, p.HeadDimV
	var los, poss [quantGroupVectors]int
	lo, n, err := w.groupSpans(t0, t1, kvh, los[:], poss[:])
	if err != nil {
		return err
	}
	list := w.list
	// Query vector i is token t0 + i/g's head h0 + i%g.
	w.groupQs = grow(w.groupQs, nq*hd)
	for i := range t1 - t0 {
		q := ((t0+i)*p.NHead + h0) * hd
		copy(w.groupQs[i*g*hd:(i+1)*g*hd], a.qs[q:q+g*hd])
	}
	w.groupScores = growRoom(w.groupScores, nq*n)
	sc := w.groupScores
	if err := w.groupScoresOf(w.groupQs[:nq*hd], nq, sc, lo, n, list); err != nil {
		return err
	}
	for i := range nq {
		a.softmaxWithin(sc[i*n:(i+1)*n], los[i/g]-lo, poss[i/g]-lo)
	}
	w.groupAcc = grow(w.groupAcc, nq*hdv)
	acc := w.groupAcc[:nq*hdv]
	if err := w.groupSums(acc, nq, sc, lo, n, list); err != nil {
		return err
	}
	for i := range t1 - t0 {
		y := ((t0+i)*p.NHead + h0) * hdv
		copy(a.ys[y:y+g*hdv], acc[i*g*hdv:(i+1)*g*hdv])
	}
	return nil
}

// groupScoresOf sets sc's nq rows (n scores from position lo each) to the
// scores of the nq query vectors qs against the K rows of list's runs:
// the vectors quantized to a kernels.QuantCacheType K's vec-dot type or to
// Q8_0, or rounded to fp16, then scoreRows.
func (w *attnWorker) groupScoresOf(qs []float32, nq int, sc []float32, lo, n int, list []span) error {
	a, hd := w.a, w.a.p.HeadDimK
	switch a.kv.K.Type {
	case quant.Q8_0:
		nb := hd / 32
		w.qqs, w.qds = grow(w.qqs, nq*hd), grow(w.qds, nq*nb)
		for i := range nq {
			if err := w.quantizeQ8_0(qs[i*hd:(i+1)*hd], w.qqs[i*hd:(i+1)*hd], w.qds[i*nb:(i+1)*nb]); err != nil {
				return err
			}
		}
	case quant.F16:
		w.qfs = grow(w.qfs, nq*hd)
		a.vec.RoundF16(w.qfs[:nq*hd], qs)
	default: // kernels.QuantCacheType
		if err := a.vec.QuantizeQuery(a.kv.K.Type, qs, nq, &w.qc); err != nil {
			return err
		}
	}
	w.scoreRows(nq, sc, lo, n, list)
	return nil
}

// scoreRows sets sc's heads rows (n scores from position lo each) to the
// scores of the heads query vectors the worker holds (groupQ,
// groupScoresOf: qfs for an F16 K, qqs and qds for Q8_0, qc for a
// kernels.QuantCacheType K) against the K rows of list's runs, with K's
// multi-head loops; each head gets the bits of a loop of its own.
func (w *attnWorker) scoreRows(heads int, sc []float32, lo, n int, list []span) {
	a, hd := w.a, w.a.p.HeadDimK
	for i, sp := range list {
		a.prefetchSpan(list, i+1, a.kb, a.kRow)
		switch a.kv.K.Type {
		case quant.F16:
			a.vec.DotF16RowsHeads(sc[sp.first-lo:], n, sp.n, w.qfs[:heads*hd], hd, hd, heads, a.k16[sp.row*hd:], a.kv.NHeadKV*hd)
		case quant.Q8_0:
			a.vec.DotQ8_0RowsHeads(sc[sp.first-lo:], n, sp.n, w.qqs[:heads*hd], w.qds[:heads*hd/32], heads, a.kb[sp.row*a.kRow:], a.kv.NHeadKV*a.kRow)
		default: // kernels.QuantCacheType
			a.vec.DotQuantRowsHeads(sc[sp.first-lo:], n, sp.n, &w.qc, a.kb[sp.row*a.kRow:], a.kv.NHeadKV*a.kRow)
		}
	}
}

// groupSums sets acc's heads rows (HeadDimV sums each) to the weighted sums
// of the V rows of list's runs with the probabilities in sc's heads rows (n
// from position lo each), with V's multi-head loops: F16's, Q8_0's or a
// kernels.QuantCacheType V's. Each head gets the bits of a loop of its own.
func (w *attnWorker) groupSums(acc []float32, heads int, sc []float32, lo, n int, list []span) error {
	a, hdv := w.a, w.a.p.HeadDimV
	clear(acc)
	for i, sp := range list {
		a.prefetchSpan(list, i+1, a.vb, a.vRow)
		switch a.kv.V.Type {
		case quant.F16:
			a.vec.AxpyF16RowsHeads(acc, hdv, hdv, sc[sp.first-lo:], n, sp.n, heads, a.v16[sp.row*a.vCols:], a.kv.NHeadKV*a.vCols)
		case quant.Q8_0:
			a.vec.AxpyQ8_0RowsHeads(acc, hdv, hdv, sc[sp.first-lo:], n, sp.n, heads, a.vb[sp.row*a.vRow:], a.kv.NHeadKV*a.vRow)
		default: // kernels.QuantCacheType
			if err := a.vec.AxpyQuantRowsHeads(a.kv.V.Type, acc, hdv, hdv, sc[sp.first-lo:], n, sp.n, heads, a.vb[sp.row*a.vRow:], a.kv.NHeadKV*a.vRow, &w.qc); err != nil {
				return err
			}
		}
	}
	return nil
}

// groupSpans finds the positions tokens t0..t1-1 attend to (token
// t0+i's first and last in los[i], poss[i]) and their union, from lo, n
// of them, and lists the union's runs in KV head kvh's rows (w.list),
// prefetching the first run's K and V rows.
func (w *attnWorker) groupSpans(t0, t1, kvh int, los, poss []int) (lo, n int, err error) {
	a := w.a
	lo, pos := math.MaxInt, -1
	for i := range t1 - t0 {
		l, ps, err := a.window(t0 + i)
		if err != nil {
			return 0, 0, err
		}
		los[i], poss[i] = l, ps
		lo, pos = min(lo, l), max(pos, ps)
	}
	if w.list, err = a.spans(w.list[:0], a.rows.Tables[t0], lo, pos, kvh); err != nil {
		return 0, 0, err
	}
	a.prefetchSpan(w.list, 0, a.kb, a.kRow)
	a.prefetchSpan(w.list, 0, a.vb, a.vRow)
	return lo, pos - lo + 1, nil
}

// softmaxWithin turns the scores row[l..ps] of a grouped token into its
// probabilities and zeroes the rest of its row (the other tokens'
// positions), which then add nothing to its sums.
func (a *attnJob) softmaxWithin(row []float32, l, ps int) {
	a.softmax(row[l : ps+1])
	clear(row[:l])
	clear(row[ps+1:])
}

// attnWorker returns a worker for job a with buffers of a's sizes, reusing
// one a finished chunk gave back.
func (s *Stream) attnWorker(a *attnJob) *attnWorker {
	w, _ := s.attn.workers.Get().(*attnWorker)
	if w == nil {
		w = new(attnWorker)
	}
	w.a = a
	w.qConv = grow(w.qConv, a.qRowBytes)
	w.qq = grow(w.qq, a.p.HeadDimK)
	w.qd = grow(w.qd, a.p.HeadDimK/32)
	w.qf = grow(w.qf, a.p.HeadDimK)
	w.acc = grow(w.acc, a.p.HeadDimV)
	// Room for four heads at least: kvGroup pads two or three to four.
	heads := max(a.perKVH, 4)
	switch a.kv.K.Type {
	case quant.F16:
		w.qfs = grow(w.qfs, heads*a.p.HeadDimK)
	case quant.Q8_0:
		w.qqs = grow(w.qqs, heads*a.p.HeadDimK)
		w.qds = grow(w.qds, heads*a.p.HeadDimK/32)
	}
	w.groupAcc = grow(w.groupAcc, heads*a.p.HeadDimV)
	return w
}

// grow returns b resized to n elements, reallocated only when too small.
func grow[T any](b []T, n int) []T {
	if cap(b) < n {
		return make([]T, n)
	}
	return b[:n]
}

// growRoom is grow for sizes that creep up (the score rows grow by a
// position every decode step): a reallocation leaves half as much again
// to spare, so they are reallocated a few times per context, not every
// step.
func growRoom[T any](b []T, n int) []T {
	if cap(b) < n {
		return make([]T, n, n+n/2+16)
	}
	return b[:n]
}

// span is a run of consecutive positions stored one after another in the
// cache: in one block, or in blocks that follow each other.
type span struct{ first, n, row int } // first position, count, cache row of the first

// spans appends to list the contiguous runs of positions lo..pos of KV
// head kvh, in position order, and returns it (kept in the worker, so a
// call allocates nothing; the passes over K and V, and the prefetches a
// run ahead, walk the same list).
func (a *attnJob) spans(list []span, table []int32, lo, pos, kvh int) ([]span, error) {
	bs := a.kv.BlockSize
	for j := lo; j <= pos; {
		blk := int(table[j/bs])
		off := j % bs
		if blk < 0 || (blk+1)*bs > a.nSlots {
			return list, fmt.Errorf("block %d outside the cache's %d blocks: %w", blk, a.nSlots/bs, backends.ErrShape)
		}
		n := min(bs-off, pos+1-j)
		// Blocks stored right after this one (a sequence's blocks usually
		// are) extend the run: one kernel call instead of one a block,
		// whose fixed cost is a sixth to a quarter of a 16-row call's time.
		for last := blk; j+n <= pos; {
			next := int(table[(j+n)/bs])
			if next != last+1 || (next+1)*bs > a.nSlots {
				break
			}
			last = next
			n += min(bs, pos+1-(j+n))
		}
		list = append(list, span{first: j, n: n, row: (blk*bs+off)*a.kv.NHeadKV + kvh})
		j += n
	}
	return list, nil
}

// prefetchSpan prefetches the first cache rows (rowBytes each, in buf) of
// list[i], if there is one: a block's worth at most, as the kernels
// prefetch a few rows ahead within a run themselves.
func (a *attnJob) prefetchSpan(list []span, i int, buf []byte, rowBytes int) {
	if i < len(list) {
		sp := list[i]
		a.vec.PrefetchRows(buf[sp.row*rowBytes:], min(sp.n, a.kv.BlockSize), a.kv.NHeadKV*rowBytes, rowBytes)
	}
}

// window returns the positions lo..pos token t attends to, checked
// against its block table.
func (a *attnJob) window(t int) (lo, pos int, err error) {
	pos = int(a.rows.Pos[t])
	if a.p.Window > 0 {
		lo = max(0, pos-a.p.Window+1)
	}
	if a.rows.Lo != nil {
		lo = max(lo, int(a.rows.Lo[t]))
		if lo > pos {
			return 0, 0, fmt.Errorf("token %d's first key %d is past its last %d: %w", t, lo, pos, backends.ErrShape)
		}
	}
	if pos < 0 || (pos/a.kv.BlockSize) >= len(a.rows.Tables[t]) {
		return 0, 0, fmt.Errorf("position %d not covered by a block table of %d blocks: %w", pos, len(a.rows.Tables[t]), backends.ErrShape)
	}
	return lo, pos, nil
}

// unitsPerKVH is the units of work one KV head's query heads make.
func (a *attnJob) unitsPerKVH() int { return (a.perKVH + a.unit - 1) / a.unit }

// kvGroup computes unit u of token t: the query heads u·unit.. (at most
// unit of them, within one KV head's) that read KV head u / unitsPerKVH. With
// an F16, Q8_0 or kernels.QuantCacheType cache their scores come from one
// pass over the K rows and their weighted sums from one pass over the V
// rows (DotF16RowsHeads, DotQ8_0RowsHeads, DotQuantRowsHeads and the Axpy
// forms: bit-identical to a pass per head); each head's softmax is its own.
func (w *attnWorker) kvGroup(t, u int) error {
	a, p := w.a, w.a.p
	upk := a.unitsPerKVH()
	kvh := u / upk
	h0 := kvh*a.perKVH + (u%upk)*a.unit
	g := min(a.unit, (kvh+1)*a.perKVH-h0)
	if !a.groupsHeads() || g == 1 {
		for h := h0; h < h0+g; h++ {
			if err := w.head(t, h); err != nil {
				return err
			}
		}
		return nil
	}
	lo, pos, err := a.window(t)
	if err != nil {
		return err
	}
	hd, n := p.HeadDimK, pos-lo+1
	qh := a.qs[(t*p.NHead+h0)*hd : (t*p.NHead+h0+g)*hd]
	// Three heads, and two where the F16 loops have no two-head form (a
	// Q8_0 cache, heads of other sizes), run the four-head loops as four:
	// the missing heads repeat the last one's q, their scores are dropped
	// and their probabilities zeroed. Every real head keeps its bits (the
	// multi-head loops give each head what a loop of its own gives), and
	// the K and V rows are read and widened once instead of once a head:
	// an hcx-seed-0.5b step (two query heads a KV head) at depth 4000
	// spent three quarters of its time here with a loop per head. Where
	// the multi-head loops run a loop a head anyway, or are bound by their
	// arithmetic rather than by reading the rows (FourHeads false: no
	// AVX-512; the AVX2 F16 loops run two heads, and four for scores, of
	// 64 or 128 elements), padding would only add heads.
	gk := a.groupWidth(g)
	w.groupScores = growRoom(w.groupScores, gk*n)
	sc := w.groupScores
	if w.list, err = a.spans(w.list[:0], a.rows.Tables[t], lo, pos, kvh); err != nil {
		return err
	}
	list := w.list
	// The first K and V rows are fetched while q is prepared and the
	// scores computed; after that each pass fetches the block after the
	// one it works on.
	a.prefetchSpan(list, 0, a.kb, a.kRow)
	a.prefetchSpan(list, 0, a.vb, a.vRow)
	if err := w.groupQ(qh, g, gk); err != nil {
		return err
	}
	w.scoreRows(gk, sc, lo, n, list)
	if a.kv.V.Type != quant.F16 && a.kv.V.Type != quant.Q8_0 && !kernels.QuantCacheType(a.kv.V.Type) {
		for i := range g {
			if err := w.finish(t, h0+i, lo, list, sc[i*n:(i+1)*n]); err != nil {
				return err
			}
		}
		return nil
	}
	for i := range g {
		a.softmax(sc[i*n : (i+1)*n])
	}
	clear(sc[g*n : gk*n])
	hdv := p.HeadDimV
	acc := w.groupAcc[:gk*hdv]
	if err := w.groupSums(acc, gk, sc, lo, n, list); err != nil {
		return err
	}
	copy(a.ys[(t*p.NHead+h0)*hdv:(t*p.NHead+h0+g)*hdv], acc[:g*hdv])
	return nil
}

// groupsHeads says whether kvGroup runs a unit's query heads in one pass
// over the K rows and one over the V rows: with an F16, Q8_0 or
// kernels.QuantCacheType K cache (V of any type; one without multi-head
// loops is summed a head at a time).
func (a *attnJob) groupsHeads() bool {
	return a.kv.K.Type == quant.F16 || a.kv.K.Type == quant.Q8_0 || kernels.QuantCacheType(a.kv.K.Type)
}

// groupWidth is how many heads the multi-head loops run for g query heads
// of one KV head: three, and two where the F16 loops have no two-head
// form, padded to four on the four-head loops (see kvGroup). The quantized
// caches' loops take any number of heads, unpadded.
func (a *attnJob) groupWidth(g int) int {
	if kernels.QuantCacheType(a.kv.K.Type) {
		return g
	}
	pair := a.kv.K.Type == quant.F16 && a.kv.V.Type == quant.F16 && a.vec.PairF16Heads(a.p.HeadDimK) && a.vec.PairF16Heads(a.p.HeadDimV)
	if a.vec.FourHeads() && (g == 3 || (g == 2 && !pair)) {
		return 4
	}
	return g
}

// groupQ prepares g query heads' q vectors qh for the multi-head loops, in
// the worker's buffers: rounded to fp16 (qfs) or quantized to Q8_0 (qqs,
// qds), heads g..gk-1 repeating the last; for a kernels.QuantCacheType
// cache quantized to its vec-dot type (qc, gk = g).
func (w *attnWorker) groupQ(qh []float32, g, gk int) error {
	a, hd := w.a, w.a.p.HeadDimK
	if kernels.QuantCacheType(a.kv.K.Type) {
		return a.vec.QuantizeQuery(a.kv.K.Type, qh, g, &w.qc)
	}
	if a.kv.K.Type == quant.F16 {
		qfs := w.qfs[:gk*hd]
		a.vec.RoundF16(qfs[:g*hd], qh)
		for i := g; i < gk; i++ {
			copy(qfs[i*hd:(i+1)*hd], qfs[(g-1)*hd:g*hd])
		}
		return nil
	}
	nb := hd / 32
	qqs, qds := w.qqs[:gk*hd], w.qds[:gk*nb]
	for i := range g {
		if err := w.quantizeQ8_0(qh[i*hd:(i+1)*hd], qqs[i*hd:(i+1)*hd], qds[i*nb:(i+1)*nb]); err != nil {
			return err
		}
	}
	for i := g; i < gk; i++ {
		copy(qqs[i*hd:(i+1)*hd], qqs[(g-1)*hd:g*hd])
		copy(qds[i*nb:(i+1)*nb], qds[(g-1)*nb:g*nb])
	}
	return nil
}

// quantizeQ8_0 quantizes one head's q as the Q8_0 vec-dot does and splits
// the blocks into quants qq and scales qd, the layout of the Q8_0 row loops.
func (w *attnWorker) quantizeQ8_0(q []float32, qq []byte, qd []float32) error {
	if err := quant.QuantizeActivations(quant.Q8_0, q, w.qConv); err != nil {
		return err
	}
	bb := quant.Q8_0.BlockBytes()
	for b := range qd {
		blk := w.qConv[b*bb : (b+1)*bb]
		qd[b] = quant.FP16ToFP32(uint16(blk[0]) | uint16(blk[1])<<8)
		copy(qq[32*b:32*b+32], blk[2:])
	}
	return nil
}

// head computes one query head of token t.
func (w *attnWorker) head(t, h int) error {
	a, p := w.a, w.a.p
	lo, pos, err := a.window(t)
	if err != nil {
		return err
	}
	kvh := h / a.perKVH
	qh := a.qs[(t*p.NHead+h)*p.HeadDimK : (t*p.NHead+h+1)*p.HeadDimK]
	switch {
	case kernels.QuantCacheType(a.kv.K.Type):
		if err := a.vec.QuantizeQuery(a.kv.K.Type, qh, 1, &w.qc); err != nil {
			return err
		}
	case a.qType == quant.F16:
		a.vec.RoundF16(w.qf, qh)
	case a.qType == quant.F32:
		copy(w.qf, qh)
	default: // Q8_0: quants and block scales apart, for the vector loop
		if err := w.quantizeQ8_0(qh, w.qq, w.qd); err != nil {
			return err
		}
	}
	if w.list, err = a.spans(w.list[:0], a.rows.Tables[t], lo, pos, kvh); err != nil {
		return err
	}
	w.scores = growRoom(w.scores, pos-lo+1)
	sc := w.scores
	kStride := a.kv.NHeadKV * p.HeadDimK
	for _, sp := range w.list {
		out := sc[sp.first-lo : sp.first-lo+sp.n]
		switch a.kv.K.Type {
		case quant.Q4_0, quant.Q4_1, quant.Q5_0, quant.Q5_1, quant.IQ4_NL: // kernels.QuantCacheType
			a.vec.DotQuantRowsHeads(out, sp.n, sp.n, &w.qc, a.kb[sp.row*a.kRow:], a.kv.NHeadKV*a.kRow)
		case quant.F16:
			a.vec.DotF16Rows(out, w.qf, a.k16[sp.row*p.HeadDimK:], kStride)
		case quant.F32:
			a.vec.DotF32Rows(out, w.qf, a.k32[sp.row*p.HeadDimK:], kStride)
		default: // Q8_0
			a.vec.DotQ8_0Rows(out, w.qq, w.qd, a.kb[sp.row*a.kRow:], a.kv.NHeadKV*a.kRow)
		}
	}
	return w.finish(t, h, lo, w.list, sc)
}

// finish turns head h's scores over positions lo.. (the runs of list)
// into its output: the softmax, then the probability-weighted sum of the
// V rows.
func (w *attnWorker) finish(t, h, lo int, list []span, sc []float32) error {
	a, p := w.a, w.a.p
	vStride := a.kv.NHeadKV * a.vCols
	a.softmax(sc)
	clear(w.acc)
	for _, sp := range list {
		pr := sc[sp.first-lo : sp.first-lo+sp.n]
		switch a.kv.V.Type {
		case quant.F16:
			a.vec.AxpyF16Rows(w.acc, pr, a.v16[sp.row*a.vCols:], vStride)
		case quant.F32:
			a.vec.AxpyF32Rows(w.acc, pr, a.v32[sp.row*a.vCols:], vStride)
		case quant.Q8_0:
			a.vec.AxpyQ8_0Rows(w.acc, pr, a.vb[sp.row*a.vRow:], a.kv.NHeadKV*a.vRow)
		default: // the other block types (kernels.QuantCacheType)
			if err := a.vec.AxpyQuantRowsHeads(a.kv.V.Type, w.acc, p.HeadDimV, p.HeadDimV, pr, sp.n, sp.n, 1, a.vb[sp.row*a.vRow:], a.kv.NHeadKV*a.vRow, &w.qc); err != nil {
				return err
			}
		}
	}
	copy(a.ys[(t*p.NHead+h)*p.HeadDimV:(t*p.NHead+h+1)*p.HeadDimV], w.acc)
	return nil
}

// softmax turns one head's scores into the probabilities its weighted sum
// uses, in place.
func (a *attnJob) softmax(sc []float32) {
	// ggml multiplies the finished dot product by the scale (soft_max_ext).
	// The maximum skips NaNs; a NaN score still poisons the sum below.
	scale := a.p.Scale
	if c := a.p.SoftCap; c > 0 {
		// Gemma 2: the scaled score capped first (llama.cpp scales kq by
		// 1/c, takes tanh and scales by c; its kq_scale is then 1).
		if scale != 1 {
			a.vec.Scale(sc, scale)
		}
		a.vec.SoftCap(sc, c)
		scale = 1
	}
	maxv := a.vec.ScaleMax(sc, scale)
	sum := a.vec.ExpSumF64(sc, maxv) // ggml sums in float64 too (soft_max)
	inv := float32(1 / sum)
	switch a.roundP {
	case quant.F16:
		a.vec.ScaleRoundF16(sc, inv)
	case quant.BF16:
		a.vec.Scale(sc, inv)
		for i, v := range sc {
			sc[i] = quant.BF16ToFP32(quant.FP32ToBF16(v))
		}
	default:
		a.vec.Scale(sc, inv)
	}
}

// typedView views cache bytes as fp16 or f32 elements (nil for other types).
func typedView(t quant.Type, b []byte) ([]uint16, []float32) {
	if len(b) == 0 {
		return nil, nil
	}
	switch t {
	case quant.F16:
		return unsafe.Slice((*uint16)(unsafe.Pointer(&b[0])), len(b)/2), nil
	case quant.F32:
		return nil, unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), len(b)/4)
	}
	return nil, nil
}
