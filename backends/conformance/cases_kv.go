package conformance

import (
	"fmt"
	"math"
	"slices"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/quant"
)

// KVTypes are the cache types the kit stores and attends over: every type
// a model's cache takes (model.KVCacheTypes), so that a device declaring
// one of them proves it.
func KVTypes() []quant.Type {
	return []quant.Type{quant.F32, quant.F16, quant.Q8_0, quant.Q4_0, quant.Q4_1, quant.Q5_0, quant.Q5_1, quant.IQ4_NL}
}

// kvShape is a paged cache and the sequences in it.
type kvShape struct {
	name                    string
	nHead, nHeadKV, headDim int
	headDimV                int // the values' head size when it differs (0: headDim)
	blockSize, nBlocks      int
	window                  int
	seqLens                 []int
	// vInK: the device side's V lives in K (backends.PagedKV.VInK; the
	// reference stores the same values apart).
	vInK bool
	// softCap: Attn.SoftCap (Gemma 2), for devices that apply it.
	softCap float32
	// rowStarts: each query row's own first key (AttnRows.Lo, a
	// symmetric window's), for devices that take them.
	rowStarts bool
}

// dimV is the values' head size.
func (sh kvShape) dimV() int {
	if sh.headDimV > 0 {
		return sh.headDimV
	}
	return sh.headDim
}

func kvShapes() []kvShape {
	return []kvShape{
		// GQA, three sequences in scattered blocks, one shorter than a block.
		{name: "gqa", nHead: 4, nHeadKV: 2, headDim: 64, blockSize: 16, nBlocks: 8, seqLens: []int{37, 5, 20}},
		// MQA with one-position blocks and a sliding window.
		{name: "mqa-window", nHead: 3, nHeadKV: 1, headDim: 32, blockSize: 1, nBlocks: 64, window: 5, seqLens: []int{17, 30}},
		// Wide heads, one long sequence.
		{name: "mha-long", nHead: 4, nHeadKV: 4, headDim: 128, blockSize: 32, nBlocks: 4, seqLens: []int{100}},
		// Multi-head latent attention as an MQA: keys of latent + rotated
		// part, values of the latent (DeepSeek's 576 and 512, scaled down).
		{name: "mla", nHead: 4, nHeadKV: 1, headDim: 160, headDimV: 128, blockSize: 16, nBlocks: 4, seqLens: []int{21, 9}},
		// The same with the values read from the keys' latent part, for
		// devices that cache it once; two KV heads so the stride between
		// a slot's heads is checked too.
		{name: "mla-v-in-k", nHead: 4, nHeadKV: 2, headDim: 160, headDimV: 128, blockSize: 16, nBlocks: 4, seqLens: []int{21, 9}, vInK: true},
		// Soft-capped scores (Gemma 2's form; a cap of 1.5 bends the
		// kit's scores, of about unit size, well away from linear) with a
		// window.
		{name: "softcap", nHead: 4, nHeadKV: 2, headDim: 64, blockSize: 16, nBlocks: 8, window: 20, seqLens: []int{37, 5}, softCap: 1.5},
		// Each row's own first key (EmbeddingGemma's symmetric windows).
		{name: "row-starts", nHead: 2, nHeadKV: 1, headDim: 64, blockSize: 16, nBlocks: 8, seqLens: []int{37, 5}, rowStarts: true},
	}
}

// kvLayout is a filled cache: the tables and what was stored.
type kvLayout struct {
	sh     kvShape
	tables [][]int32
	kv     [2]backends.PagedKV // per side
	caches [2]twin             // K, V
}

// layout assigns each sequence blocks from a random permutation.
func (e *env) layout(sh kvShape) ([][]int32, error) {
	perm := e.rng.Perm(sh.nBlocks)
	var tables [][]int32
	next := 0
	for _, n := range sh.seqLens {
		nb := (n + sh.blockSize - 1) / sh.blockSize
		if next+nb > sh.nBlocks {
			return nil, fmt.Errorf("kit: %s needs more than %d blocks", sh.name, sh.nBlocks)
		}
		t := make([]int32, nb)
		for i := range t {
			t[i] = int32(perm[next+i])
		}
		next += nb
		tables = append(tables, t)
	}
	return tables, nil
}

// fill allocates the caches and stores every position of every sequence,
// in two batches that mix sequences (a prefill, then the last tokens).
func (e *env) fill(sh kvShape, t kvPair) (*kvLayout, error) {
	tables, err := e.layout(sh)
	if err != nil {
		return nil, err
	}
	L := &kvLayout{sh: sh, tables: tables}
	rows := sh.nBlocks * sh.blockSize * sh.nHeadKV
	for c, name := range []string{"cache_k", "cache_v"} {
		if L.caches[c], err = e.outT(name, []quant.Type{t.k, t.v}[c], rows, []int{sh.headDim, sh.dimV()}[c], backends.UsageKV); err != nil {
			return nil, err
		}
	}
	for i := range 2 {
		L.kv[i] = backends.PagedKV{K: L.caches[0].on(i), V: L.caches[1].on(i), NHeadKV: sh.nHeadKV, BlockSize: sh.blockSize}
	}
	if sh.vInK {
		dv := &L.kv[1]
		dv.V = backends.Tensor{Name: "cache_v_in_k", Type: t.k, Rows: rows, Cols: sh.dimV()}
		dv.VInK = true
	}
	var first, last []int32 // slots
	for s, n := range sh.seqLens {
		for p := 0; p < n; p++ {
			slot := tables[s][p/sh.blockSize]*int32(sh.blockSize) + int32(p%sh.blockSize)
			if p < n-2 {
				first = append(first, slot)
			} else {
				last = append(last, slot)
			}
		}
	}
	w, wv := sh.nHeadKV*sh.headDim, sh.nHeadKV*sh.dimV()
	for b, slots := range [][]int32{first, last} {
		kVals := randRows(e.rng, len(slots), w)
		k, err := e.in(fmt.Sprintf("k%d", b), len(slots), w, kVals)
		if err != nil {
			return nil, err
		}
		vVals := randRows(e.rng, len(slots), wv)
		if sh.vInK {
			vVals = latentPart(kVals, len(slots)*sh.nHeadKV, sh.headDim, sh.dimV())
		}
		v, err := e.in(fmt.Sprintf("v%d", b), len(slots), wv, vVals)
		if err != nil {
			return nil, err
		}
		if err := e.op("store_kv", func(s backends.Stream, i int) {
			vi := v.on(i)
			if L.kv[i].VInK {
				vi = backends.Tensor{}
			}
			s.StoreKV(L.kv[i], k.on(i), vi, slots)
		}); err != nil {
			return nil, err
		}
	}
	return L, nil
}

// latentPart returns the first d of every hd values of rows×hd values: the
// values a VInK cache reads from its keys.
func latentPart(vals []float32, rows, hd, d int) []float32 {
	out := make([]float32, 0, rows*d)
	for r := range rows {
		out = append(out, vals[r*hd:r*hd+d]...)
	}
	return out
}

func kvCases() []testCase {
	var cs []testCase
	for _, t := range KVTypes() {
		for _, sh := range kvShapes() {
			p := kvPair{t, t}
			store := testCase{op: backends.OpStoreKV, typ: t, name: fmt.Sprintf("%v/%v/%s", backends.OpStoreKV, t, sh.name), run: storeKVCase(sh, p)}
			attn := testCase{op: backends.OpAttention, typ: t, name: fmt.Sprintf("%v/%v/%s", backends.OpAttention, t, sh.name), run: attentionCase(sh, p)}
			if sh.vInK {
				store.needsDevice, attn.needsDevice = backends.CachesVInK, backends.CachesVInK
			}
			if sh.softCap > 0 {
				store.needsDevice, attn.needsDevice = backends.SoftCapsAttention, backends.SoftCapsAttention
			}
			if sh.rowStarts {
				store.needsDevice, attn.needsDevice = backends.StartsAttentionRows, backends.StartsAttentionRows
			}
			cs = append(cs, store, attn)
		}
	}
	// K and V of different types (llama.cpp's -ctk/-ctv), for devices that
	// take such caches and both types. A case counts under the coarser of
	// its two types and is held to that type's limits: its error is at
	// most what a cache of that type alone makes.
	for _, p := range mixedKVPairs() {
		t := p.coarser()
		for _, sh := range kvShapes() {
			if sh.vInK {
				continue // V in K has K's type
			}
			for _, op := range []backends.Op{backends.OpStoreKV, backends.OpAttention} {
				run := storeKVCase(sh, p)
				if op == backends.OpAttention {
					run = attentionCase(sh, p)
				}
				c := testCase{op: op, typ: t, name: fmt.Sprintf("%v/%v+%v/%s", op, p.k, p.v, sh.name), run: run}
				c.needsDevice = func(d backends.Device) bool {
					return backends.MixesKVTypes(d) && d.Supports(op, p.k) && d.Supports(op, p.v) &&
						(sh.softCap == 0 || backends.SoftCapsAttention(d)) && (!sh.rowStarts || backends.StartsAttentionRows(d))
				}
				cs = append(cs, c)
			}
		}
	}
	return cs
}

// kvPair is a cache's K and V types.
type kvPair struct{ k, v quant.Type }

// mixedKVPairs are the K/V pairs of different types the kit checks: the
// float and Q8_0 types with each other, the common "K finer than V" pairs,
// and the block types' other loops (Q4_1's and Q5_1's) on either side.
func mixedKVPairs() []kvPair {
	return []kvPair{
		{quant.F16, quant.Q8_0}, {quant.Q8_0, quant.F16}, {quant.F32, quant.F16},
		{quant.Q8_0, quant.Q4_0}, {quant.F16, quant.Q5_0}, {quant.Q8_0, quant.IQ4_NL},
		{quant.Q4_1, quant.Q8_0}, {quant.Q5_1, quant.Q4_1}, {quant.Q4_0, quant.F16},
	}
}

// coarser is the pair's type with the looser attention limits (the larger
// step between stored values).
func (p kvPair) coarser() quant.Type {
	if ExactLimits(backends.OpAttention, p.v).RelRMS > ExactLimits(backends.OpAttention, p.k).RelRMS {
		return p.v
	}
	return p.k
}

// storeKVCase stores and reads the whole cache back through get_rows.
func storeKVCase(sh kvShape, t kvPair) func(e *env) (Metric, error) {
	return func(e *env) (Metric, error) {
		L, err := e.fill(sh, t)
		if err != nil {
			return Metric{}, err
		}
		var worst Metric
		rows := sh.nBlocks * sh.blockSize * sh.nHeadKV
		ids := make([]int32, rows)
		for i := range ids {
			ids[i] = int32(i)
		}
		for c, name := range []string{"K", "V"} {
			if c == 1 && sh.vInK {
				break // the device's V is K's first columns, read back with K
			}
			y, err := e.out("cache_"+name+"_f32", rows, []int{sh.headDim, sh.dimV()}[c])
			if err != nil {
				return worst, err
			}
			if err := e.op("get_rows of the cache", func(s backends.Stream, i int) { s.GetRows(y.on(i), L.caches[c].on(i), ids) }); err != nil {
				return worst, err
			}
			m, err := e.check(y)
			if err != nil {
				return worst, fmt.Errorf("cache %s: %w", name, err)
			}
			worst = worst.worse(m)
		}
		return worst, nil
	}
}

// attentionCase attends, in one batch, the last three positions of the
// first sequence (a prefill chunk), the last position of the others
// (decodes) and position 0 of the first (a one-key context). With a
// window, each row's table has -1 for the blocks wholly before its
// window, as a windowed pool's tables do (model.KVView.WinTables): a
// device must read nothing outside [pos-Window+1, pos].
func attentionCase(sh kvShape, t kvPair) func(e *env) (Metric, error) {
	return func(e *env) (Metric, error) {
		L, err := e.fill(sh, t)
		if err != nil {
			return Metric{}, err
		}
		var rows backends.AttnRows
		add := func(s, p int) {
			rows.Pos = append(rows.Pos, int32(p))
			table := L.tables[s]
			if sh.window > 0 && !sh.rowStarts {
				table = slices.Clone(table)
				for i := range max(0, p-sh.window+1) / sh.blockSize {
					table[i] = -1
				}
			}
			rows.Tables = append(rows.Tables, table)
		}
		n0 := sh.seqLens[0]
		for p := max(0, n0-3); p < n0; p++ {
			add(0, p)
		}
		for s := 1; s < len(sh.seqLens); s++ {
			add(s, sh.seqLens[s]-1)
		}
		add(0, 0)
		n := len(rows.Pos)
		if sh.rowStarts {
			for _, p := range rows.Pos {
				rows.Lo = append(rows.Lo, p/2) // each row its own start
			}
		}
		wq := sh.nHead * sh.headDim
		q, err := e.in("q", n, wq, randRows(e.rng, n, wq))
		if err != nil {
			return Metric{}, err
		}
		y, err := e.out("attn", n, sh.nHead*sh.dimV())
		if err != nil {
			return Metric{}, err
		}
		p := backends.Attn{NHead: sh.nHead, NHeadKV: sh.nHeadKV, HeadDimK: sh.headDim, HeadDimV: sh.dimV(),
			Scale: float32(1 / math.Sqrt(float64(sh.headDim))), Window: sh.window, SoftCap: sh.softCap}
		if err := e.op("attention", func(s backends.Stream, i int) { s.Attention(y.on(i), q.on(i), L.kv[i], rows, p) }); err != nil {
			return Metric{}, err
		}
		return e.check(y)
	}
}
