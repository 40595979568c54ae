package model

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/quant"
)

// KVCache is paged K/V storage for every layer: NumBlocks blocks of
// BlockSize positions. A sequence's block table (KVView.Tables) maps its
// logical blocks to physical ones, so sequences grow, share prefixes and
// free memory one block at a time. K is stored after RoPE.
//
// A windowed cache (NewWindowedKVCache) keeps the layers with a causal
// sliding window in a second pool of WindowBlocks blocks, addressed by
// KVView.WinTables: a sequence needs only its last Window positions'
// blocks there, so a long context costs the windowed layers a window's
// memory instead of a context's (Gemma 2-4, EXAONE 4 32B, K-EXAONE: most of
// their layers).
type KVCache struct {
	typ                KVTypes
	blockSize, nBlocks int
	attn               []LayerAttn // each layer's geometry (the model's, checked by Forward)
	layers             []backends.PagedKV
	bytesPerBlock      int
	// The windowed pool: its blocks, which layers' storage lives in it,
	// the largest of their windows and a block's bytes across them.
	winBlocks        int
	pooled           []bool
	window           int
	bytesPerWinBlock int
	// free hands a buffer back to the device that allocated it (nil: host
	// memory, garbage collected).
	free func(backends.Buffer) error
}

// KVCacheTypes are the element types a KV cache can hold: F16 (llama.cpp's
// default), Q8_0, F32, and the 4- and 5-bit block types of llama.cpp's
// -ctk/-ctv list (Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL), which take a half to a
// third of Q8_0's memory and bring their rounding into every score. The
// CPU device runs them all; another device runs the ones it supports
// (backends.OpAttention) and leaves the rest to the host.
func KVCacheTypes() []quant.Type {
	return []quant.Type{quant.F16, quant.Q8_0, quant.F32, quant.Q4_0, quant.Q4_1, quant.Q5_0, quant.Q5_1, quant.IQ4_NL}
}

// KVCacheTypeNames lists KVCacheTypes as the flags spell them: "f16, q8_0,
// f32, q4_0, q4_1, q5_0, q5_1 or iq4_nl".
func KVCacheTypeNames() string {
	ts := KVCacheTypes()
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = strings.ToLower(t.String())
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// ParseKVCacheType parses a KV cache type's name (any case), one of
// KVCacheTypes.
func ParseKVCacheType(name string) (quant.Type, error) {
	t, err := quant.ParseType(name)
	if err != nil || !slices.Contains(KVCacheTypes(), t) {
		return 0, fmt.Errorf("KV cache type %q: want %s", name, KVCacheTypeNames())
	}
	return t, nil
}

// KVTypes are the element types of a cache's K rows and of its V rows,
// each one of KVCacheTypes. They may differ, as llama.cpp's -ctk and -ctv
// may: the scores' rounding comes from K and the weighted sums' from V,
// and a cache short of memory can spend its bits on the side its model is
// more sensitive to (q8_0 with q4_0 takes 0.41 of f16's memory, either
// way round). Real models' K rows carry outlier channels, which is why
// llama.cpp users keep K the finer; measure it on the model (nuri
// perplexity --kl-divergence).
type KVTypes struct{ K, V quant.Type }

// SameKV is the cache types with K and V rows of one type t.
func SameKV(t quant.Type) KVTypes { return KVTypes{K: t, V: t} }

// ParseKVTypes parses K's and V's type names (any case); an empty v is
// k's type.
func ParseKVTypes(k, v string) (KVTypes, error) {
	if v == "" {
		v = k
	}
	var t [2]quant.Type
	for i, name := range []string{k, v} {
		var err error
		if t[i], err = quant.ParseType(name); err != nil || !slices.Contains(KVCacheTypes(), t[i]) {
			return KVTypes{}, fmt.Errorf("the %s cache type %q: want %s", []string{"K", "V"}[i], name, KVCacheTypeNames())
		}
	}
	return KVTypes{K: t[0], V: t[1]}, nil
}

// String names the types as the flags spell them: "q8_0", or "q8_0/q4_0"
// (K/V) where they differ.
func (t KVTypes) String() string {
	k := strings.ToLower(t.K.String())
	if t.V == t.K {
		return k
	}
	return k + "/" + strings.ToLower(t.V.String())
}

// check says whether both types are KV cache types.
func (t KVTypes) check() error {
	for _, e := range []struct {
		what string
		t    quant.Type
	}{{"K", t.K}, {"V", t.V}} {
		if !slices.Contains(KVCacheTypes(), e.t) {
			return fmt.Errorf("KV cache %s type %v: want %s", e.what, e.t, KVCacheTypeNames())
		}
	}
	return nil
}

// NewKVCache allocates a cache in host memory (usable by the CPU device,
// which reads a latent cache's V inside K: Config.VInK).
// t is the element types of K and V, each one of KVCacheTypes.
func NewKVCache(cfg Config, nBlocks, blockSize int, t KVTypes) (*KVCache, error) {
	return NewWindowedKVCache(nil, cfg, nBlocks, 0, blockSize, t)
}

// NewKVCacheOn allocates the cache in dev's memory; Free hands it back.
func NewKVCacheOn(dev backends.Device, cfg Config, nBlocks, blockSize int, t KVTypes) (*KVCache, error) {
	return NewWindowedKVCache(dev, cfg, nBlocks, 0, blockSize, t)
}

// NewWindowedKVCache allocates a cache whose windowed layers (those
// SlidingWindow finds) hold winBlocks blocks of their own, in dev's
// memory (nil: host memory). winBlocks 0 keeps every layer in the one
// pool of nBlocks, as NewKVCache.
func NewWindowedKVCache(dev backends.Device, cfg Config, nBlocks, winBlocks, blockSize int, t KVTypes) (*KVCache, error) {
	alloc := func(n int) (backends.Buffer, error) { return backends.NewHostBuffer(n), nil }
	if dev != nil {
		alloc = func(n int) (backends.Buffer, error) { return dev.Alloc(n, backends.UsageKV) }
	}
	c, err := newKVCache(cfg, nBlocks, winBlocks, blockSize, t, storesVInK(cfg, dev), alloc)
	if err != nil || dev == nil {
		return c, err
	}
	if fr, ok := dev.(backends.BufferFreer); ok {
		c.free = fr.Free
	}
	return c, nil
}

// Free releases the cache's device memory (a no-op for host memory). The
// cache must not be used afterwards.
func (c *KVCache) Free() error {
	if c.free == nil {
		return nil
	}
	var errs []error
	for il, l := range c.layers {
		if c.attn[il].KVFrom != il {
			continue // another layer's storage, freed with it
		}
		for _, t := range []backends.Tensor{l.K, l.V} {
			if !t.Valid() {
				continue // V inside K
			}
			if err := c.free(t.Buf); err != nil {
				errs = append(errs, fmt.Errorf("free KV cache layer %d: %w", il, err))
			}
		}
	}
	c.free, c.layers = nil, nil
	return errors.Join(errs...)
}

// blockTypeHint says what to do when a model's heads cannot be rows of a
// block type.
const blockTypeHint = "the block types need heads of a multiple of 32 elements: give this model an f16 or f32 cache"

// errVInKTypes is the error for a latent cache given two types: its V rows
// are part of its K rows, so they have K's type.
func errVInKTypes(t KVTypes) error {
	return fmt.Errorf("KV cache types %v: this model's cache keeps V inside K (multi-head latent attention), so V has K's type; give one type", t)
}

// storesVInK says whether a cache of cfg's model in dev's memory (nil: host
// memory, which the CPU reads) keeps V inside K.
func storesVInK(cfg Config, dev backends.Device) bool {
	return cfg.VInK && (dev == nil || backends.CachesVInK(dev))
}

// KVBytesPerPosition is the cache memory one position takes across all
// layers and KV heads, in dev's memory (nil: host memory) with K and V
// rows of types t, or K alone when V lives in it.
func KVBytesPerPosition(cfg Config, t KVTypes, dev backends.Device) (int, error) {
	full, win, err := kvBytesPerPosition(cfg, t, dev, false)
	return full + win, err
}

// KVBytesRead is the cache a query at position pos reads across the
// layers with a cache of their own, in dev's memory with K and V rows of
// types t: pos+1 positions, or a windowed layer's window of them. It is also
// what a sequence of pos+1 positions holds with its windowed layers kept
// to their windows.
func KVBytesRead(cfg Config, t KVTypes, dev backends.Device, pos int) (int64, error) {
	var n int64
	for il := range cfg.NLayer {
		if cfg.LayerAttn(il).KVFrom != il {
			continue
		}
		b, err := layerKVBytes(cfg, il, t, dev)
		if err != nil {
			return 0, err
		}
		read := pos + 1
		if w := cfg.Window(il); w > 0 {
			read = min(read, w)
		}
		n += int64(b) * int64(read)
	}
	return n, nil
}

// KVBytesPerPositionWindowed is KVBytesPerPosition split between the two
// pools of a windowed cache: the layers that attend to every position,
// and the windowed layers (0 when SlidingWindow finds none).
func KVBytesPerPositionWindowed(cfg Config, t KVTypes, dev backends.Device) (full, windowed int, err error) {
	return kvBytesPerPosition(cfg, t, dev, SlidingWindow(cfg) > 0)
}

// SlidingWindow returns the largest causal sliding window of cfg's layers
// when a windowed cache can keep them apart (0: no windowed layer, or a
// layer reading another's cache through a window of another kind).
func SlidingWindow(cfg Config) int {
	w := 0
	for il := range cfg.NLayer {
		la := cfg.LayerAttn(il)
		if la.KVFrom < 0 || la.KVFrom >= cfg.NLayer || (cfg.Window(il) > 0) != (cfg.Window(la.KVFrom) > 0) ||
			cfg.Window(il) > cfg.Window(la.KVFrom) {
			return 0
		}
		w = max(w, cfg.Window(il))
	}
	return w
}

func kvBytesPerPosition(cfg Config, t KVTypes, dev backends.Device, split bool) (full, windowed int, err error) {
	for il := range cfg.NLayer {
		if cfg.LayerAttn(il).KVFrom != il {
			continue // reads an earlier layer's cache
		}
		b, err := layerKVBytes(cfg, il, t, dev)
		if err != nil {
			return 0, 0, err
		}
		if split && cfg.Window(il) > 0 {
			windowed += b
		} else {
			full += b
		}
	}
	if full+windowed <= 0 || full < 0 || windowed < 0 {
		return 0, 0, fmt.Errorf("model config gives %d bytes per KV position (layers %d, KV heads %d)", full+windowed, cfg.NLayer, cfg.NHeadKV)
	}
	return full, windowed, nil
}

// layerKVBytes is the cache one position takes in layer il: its KV heads'
// K and V rows, or K alone when V lives in it.
func layerKVBytes(cfg Config, il int, t KVTypes, dev backends.Device) (int, error) {
	la := cfg.LayerAttn(il)
	k, err := t.K.RowBytes(la.HeadDimK)
	if err != nil {
		return 0, fmt.Errorf("KV cache K rows: %w (%s)", err, blockTypeHint)
	}
	v, err := t.V.RowBytes(la.HeadDimV)
	if err != nil {
		return 0, fmt.Errorf("KV cache V rows: %w (%s)", err, blockTypeHint)
	}
	if storesVInK(cfg, dev) {
		if t.V != t.K {
			return 0, errVInKTypes(t)
		}
		v = 0
	}
	return la.NHeadKV * (k + v), nil
}

// newKVCache allocates the layers' caches; vInK stores a latent cache's V
// inside K (the device reads it there).
func newKVCache(cfg Config, nBlocks, winBlocks, blockSize int, t KVTypes, vInK bool, alloc func(int) (backends.Buffer, error)) (*KVCache, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	if vInK && t.V != t.K {
		return nil, errVInKTypes(t)
	}
	if nBlocks <= 0 || blockSize <= 0 {
		return nil, fmt.Errorf("KV cache of %d blocks of %d positions", nBlocks, blockSize)
	}
	if cfg.NLayer <= 0 || cfg.NHeadKV <= 0 || cfg.HeadDimK <= 0 || cfg.HeadDimV <= 0 || (cfg.Attn != nil && len(cfg.Attn) != cfg.NLayer) {
		return nil, fmt.Errorf("KV cache for config %+v: layers, KV heads and head sizes must be positive", cfg)
	}
	if cfg.Windows != nil && len(cfg.Windows) != cfg.NLayer {
		return nil, fmt.Errorf("KV cache for %d layers with %d windows", cfg.NLayer, len(cfg.Windows))
	}
	c := &KVCache{typ: t, blockSize: blockSize, nBlocks: nBlocks, attn: make([]LayerAttn, cfg.NLayer), pooled: make([]bool, cfg.NLayer)}
	if winBlocks < 0 {
		return nil, fmt.Errorf("KV cache with %d windowed blocks", winBlocks)
	}
	if winBlocks > 0 {
		if c.window = SlidingWindow(cfg); c.window == 0 {
			return nil, fmt.Errorf("KV cache with a windowed pool for a model without windowed layers that can keep one")
		}
		c.winBlocks = winBlocks
	}
	c.layers = make([]backends.PagedKV, cfg.NLayer)
	for il := range c.layers {
		la := cfg.LayerAttn(il)
		c.attn[il] = la
		if la.KVFrom != il {
			if la.KVFrom < 0 || la.KVFrom >= il || cfg.LayerAttn(la.KVFrom) != (LayerAttn{la.NHeadKV, la.HeadDimK, la.HeadDimV, la.KVFrom}) {
				return nil, fmt.Errorf("KV cache layer %d reads layer %d's: it must be an earlier layer of the same geometry with a cache of its own", il, la.KVFrom)
			}
			c.layers[il], c.pooled[il] = c.layers[la.KVFrom], c.pooled[la.KVFrom]
			continue
		}
		c.pooled[il] = winBlocks > 0 && cfg.Window(il) > 0
		blocks := nBlocks
		if c.pooled[il] {
			blocks = winBlocks
		}
		if la.NHeadKV <= 0 || la.HeadDimK <= 0 || la.HeadDimV <= 0 {
			return nil, fmt.Errorf("KV cache layer %d: %d KV heads of %d/%d: must be positive", il, la.NHeadKV, la.HeadDimK, la.HeadDimV)
		}
		kRow, err := t.K.RowBytes(la.HeadDimK)
		if err != nil {
			return nil, fmt.Errorf("KV cache K type %v for head size %d: %w (%s)", t.K, la.HeadDimK, err, blockTypeHint)
		}
		vRow, err := t.V.RowBytes(la.HeadDimV)
		if err != nil {
			return nil, fmt.Errorf("KV cache V type %v for head size %d: %w (%s)", t.V, la.HeadDimV, err, blockTypeHint)
		}
		if vInK && la.HeadDimV > la.HeadDimK {
			return nil, fmt.Errorf("KV cache with V (%d) inside K (%d): V is wider", la.HeadDimV, la.HeadDimK)
		}
		if vInK {
			vRow = 0
		}
		if c.pooled[il] {
			c.bytesPerWinBlock += blockSize * la.NHeadKV * (kRow + vRow)
		} else {
			c.bytesPerBlock += blockSize * la.NHeadKV * (kRow + vRow)
		}
		rows := blocks * blockSize * la.NHeadKV
		kb, err := alloc(rows * kRow)
		if err != nil {
			return nil, fmt.Errorf("KV cache layer %d: %w", il, err)
		}
		var vb backends.Buffer // none: V inside K
		if !vInK {
			if vb, err = alloc(rows * vRow); err != nil {
				return nil, fmt.Errorf("KV cache layer %d: %w", il, err)
			}
		}
		c.layers[il] = backends.PagedKV{
			K:       backends.Tensor{Name: fmt.Sprintf("cache_k.%d", il), Buf: kb, Type: t.K, Rows: rows, Cols: la.HeadDimK},
			V:       backends.Tensor{Name: fmt.Sprintf("cache_v.%d", il), Buf: vb, Type: t.V, Rows: rows, Cols: la.HeadDimV},
			NHeadKV: la.NHeadKV, BlockSize: blockSize, VInK: vInK,
		}
	}
	return c, nil
}

// BlockSize returns the positions per block.
func (c *KVCache) BlockSize() int { return c.blockSize }

// NumBlocks returns the number of physical blocks (of the layers outside
// the windowed pool).
func (c *KVCache) NumBlocks() int { return c.nBlocks }

// BytesPerBlock returns the memory one block takes across all layers
// outside the windowed pool (K and V, or K alone when V lives in it), for
// sizing the cache to a memory budget.
func (c *KVCache) BytesPerBlock() int { return c.bytesPerBlock }

// WindowBlocks returns the windowed pool's blocks (0: none; every layer
// is in the one pool).
func (c *KVCache) WindowBlocks() int { return c.winBlocks }

// BytesPerWindowBlock returns the memory one block of the windowed pool
// takes across its layers.
func (c *KVCache) BytesPerWindowBlock() int { return c.bytesPerWinBlock }

// Window returns the largest window of the layers in the windowed pool
// (0: no pool). A sequence's WinTables entries for blocks wholly before
// its next query's position minus Window are never read.
func (c *KVCache) Window() int { return c.window }

// Bytes returns the memory the cache holds.
func (c *KVCache) Bytes() int64 {
	return int64(c.bytesPerBlock)*int64(c.nBlocks) + int64(c.bytesPerWinBlock)*int64(c.winBlocks)
}

// windowed reports whether layer il's storage is in the windowed pool.
func (c *KVCache) windowed(il int) bool { return c.pooled[il] }

// Types returns the element types of the K and V rows.
func (c *KVCache) Types() KVTypes { return c.typ }

// layer returns layer il's storage.
func (c *KVCache) layer(il int) backends.PagedKV { return c.layers[il] }

// NewSequenceView makes a cache holding one sequence of up to nPos
// positions, with the identity block table: the simple case of one prompt
// run start to finish (nuri logits, tests).
func NewSequenceView(cfg Config, nPos, blockSize int, t KVTypes) (KVView, error) {
	return newSequenceView(nPos, blockSize, func(nb int) (*KVCache, error) { return NewKVCache(cfg, nb, blockSize, t) })
}

// NewSequenceViewOn is NewSequenceView with the cache in dev's memory
// (free it with Cache.Free).
func NewSequenceViewOn(dev backends.Device, cfg Config, nPos, blockSize int, t KVTypes) (KVView, error) {
	return newSequenceView(nPos, blockSize, func(nb int) (*KVCache, error) { return NewKVCacheOn(dev, cfg, nb, blockSize, t) })
}

// NewWindowedSequenceView is NewSequenceViewOn (dev nil: host memory) for
// a model whose sliding-window layers a windowed cache can keep apart:
// their blocks form a ring that holds one window and one pass of up to
// maxBatch tokens, reused as the positions move on, instead of every
// position (the engine's windowed pool without the scheduler). Each
// Forward on the view must feed at most maxBatch tokens of the sequence.
// A pass starting at position a reads the windowed K/V of a-W+1..a-1 as
// the passes that last wrote them left it: true when the passes go
// forward through the sequence, and when a pass goes back to rewrite
// positions from a on that an earlier one wrote (a benchmark's
// repetitions), but not after a pass wrote positions a ring or more
// ahead of them. Without windowed layers, or when the ring would hold
// the whole sequence, it is NewSequenceViewOn.
func NewWindowedSequenceView(dev backends.Device, cfg Config, nPos, maxBatch, blockSize int, t KVTypes) (KVView, error) {
	W, nb := SlidingWindow(cfg), (nPos+blockSize-1)/max(blockSize, 1)
	ring := (W-1+max(maxBatch, 1)+blockSize-1)/max(blockSize, 1) + 1
	if W == 0 || ring >= nb || nPos <= 0 {
		if dev == nil {
			return NewSequenceView(cfg, nPos, blockSize, t)
		}
		return NewSequenceViewOn(dev, cfg, nPos, blockSize, t)
	}
	c, err := NewWindowedKVCache(dev, cfg, nb, ring, blockSize, t)
	if err != nil {
		return KVView{}, err
	}
	table, win := make([]int32, nb), make([]int32, nb)
	for i := range table {
		table[i], win[i] = int32(i), int32(i%ring)
	}
	return KVView{Cache: c, Tables: [][]int32{table}, WinTables: [][]int32{win}}, nil
}

func newSequenceView(nPos, blockSize int, alloc func(nBlocks int) (*KVCache, error)) (KVView, error) {
	if nPos <= 0 {
		return KVView{}, fmt.Errorf("sequence of %d positions", nPos)
	}
	nb := (nPos + blockSize - 1) / max(blockSize, 1)
	c, err := alloc(nb)
	if err != nil {
		return KVView{}, err
	}
	table := make([]int32, nb)
	for i := range table {
		table[i] = int32(i)
	}
	return KVView{Cache: c, Tables: [][]int32{table}}, nil
}
