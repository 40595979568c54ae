package model

import (
	"errors"
	"fmt"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/quant"
)

// KVCache is paged K/V storage for every layer: NumBlocks blocks of
// BlockSize positions. A sequence's block table (KVView.Tables) maps its
// logical blocks to physical ones, so sequences grow, share prefixes and
// free memory one block at a time. K is stored after RoPE.
type KVCache struct {
	typ                quant.Type
	blockSize, nBlocks int
	attn               []LayerAttn // each layer's geometry (the model's, checked by Forward)
	layers             []backends.PagedKV
	bytesPerBlock      int
	// free hands a buffer back to the device that allocated it (nil: host
	// memory, garbage collected).
	free func(backends.Buffer) error
}

// NewKVCache allocates a cache in host memory (usable by the CPU device,
// which reads a latent cache's V inside K: Config.VInK).
// t is the element type: F16 (llama.cpp's default), Q8_0 or F32.
func NewKVCache(cfg Config, nBlocks, blockSize int, t quant.Type) (*KVCache, error) {
	return newKVCache(cfg, nBlocks, blockSize, t, storesVInK(cfg, nil), func(n int) (backends.Buffer, error) {
		return backends.NewHostBuffer(n), nil
	})
}

// NewKVCacheOn allocates the cache in dev's memory; Free hands it back.
func NewKVCacheOn(dev backends.Device, cfg Config, nBlocks, blockSize int, t quant.Type) (*KVCache, error) {
	c, err := newKVCache(cfg, nBlocks, blockSize, t, storesVInK(cfg, dev), func(n int) (backends.Buffer, error) {
		return dev.Alloc(n, backends.UsageKV)
	})
	if err != nil {
		return nil, err
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

// storesVInK says whether a cache of cfg's model in dev's memory (nil: host
// memory, which the CPU reads) keeps V inside K.
func storesVInK(cfg Config, dev backends.Device) bool {
	return cfg.VInK && (dev == nil || backends.CachesVInK(dev))
}

// KVBytesPerPosition is the cache memory one position takes across all
// layers and KV heads, in dev's memory (nil: host memory) with elements of
// type t: K and V rows, or K alone when V lives in it.
func KVBytesPerPosition(cfg Config, t quant.Type, dev backends.Device) (int, error) {
	n := 0
	for il := range cfg.NLayer {
		la := cfg.LayerAttn(il)
		if la.KVFrom != il {
			continue // reads an earlier layer's cache
		}
		k, err := t.RowBytes(la.HeadDimK)
		if err != nil {
			return 0, fmt.Errorf("KV cache K rows: %w", err)
		}
		v, err := t.RowBytes(la.HeadDimV)
		if err != nil {
			return 0, fmt.Errorf("KV cache V rows: %w", err)
		}
		if storesVInK(cfg, dev) {
			v = 0
		}
		n += la.NHeadKV * (k + v)
	}
	if n <= 0 {
		return 0, fmt.Errorf("model config gives %d bytes per KV position (layers %d, KV heads %d)", n, cfg.NLayer, cfg.NHeadKV)
	}
	return n, nil
}

// newKVCache allocates the layers' caches; vInK stores a latent cache's V
// inside K (the device reads it there).
func newKVCache(cfg Config, nBlocks, blockSize int, t quant.Type, vInK bool, alloc func(int) (backends.Buffer, error)) (*KVCache, error) {
	if t != quant.F16 && t != quant.F32 && t != quant.Q8_0 {
		return nil, fmt.Errorf("KV cache type %v: want F16, Q8_0 or F32", t)
	}
	if nBlocks <= 0 || blockSize <= 0 {
		return nil, fmt.Errorf("KV cache of %d blocks of %d positions", nBlocks, blockSize)
	}
	if cfg.NLayer <= 0 || cfg.NHeadKV <= 0 || cfg.HeadDimK <= 0 || cfg.HeadDimV <= 0 || (cfg.Attn != nil && len(cfg.Attn) != cfg.NLayer) {
		return nil, fmt.Errorf("KV cache for config %+v: layers, KV heads and head sizes must be positive", cfg)
	}
	c := &KVCache{typ: t, blockSize: blockSize, nBlocks: nBlocks, attn: make([]LayerAttn, cfg.NLayer)}
	c.layers = make([]backends.PagedKV, cfg.NLayer)
	for il := range c.layers {
		la := cfg.LayerAttn(il)
		c.attn[il] = la
		if la.KVFrom != il {
			if la.KVFrom < 0 || la.KVFrom >= il || cfg.LayerAttn(la.KVFrom) != (LayerAttn{la.NHeadKV, la.HeadDimK, la.HeadDimV, la.KVFrom}) {
				return nil, fmt.Errorf("KV cache layer %d reads layer %d's: it must be an earlier layer of the same geometry with a cache of its own", il, la.KVFrom)
			}
			c.layers[il] = c.layers[la.KVFrom]
			continue
		}
		if la.NHeadKV <= 0 || la.HeadDimK <= 0 || la.HeadDimV <= 0 {
			return nil, fmt.Errorf("KV cache layer %d: %d KV heads of %d/%d: must be positive", il, la.NHeadKV, la.HeadDimK, la.HeadDimV)
		}
		kRow, err := t.RowBytes(la.HeadDimK)
		if err != nil {
			return nil, fmt.Errorf("KV cache type %v for head size %d: %w", t, la.HeadDimK, err)
		}
		vRow, err := t.RowBytes(la.HeadDimV)
		if err != nil {
			return nil, fmt.Errorf("KV cache type %v for head size %d: %w", t, la.HeadDimV, err)
		}
		if vInK && la.HeadDimV > la.HeadDimK {
			return nil, fmt.Errorf("KV cache with V (%d) inside K (%d): V is wider", la.HeadDimV, la.HeadDimK)
		}
		if vInK {
			vRow = 0
		}
		c.bytesPerBlock += blockSize * la.NHeadKV * (kRow + vRow)
		rows := nBlocks * blockSize * la.NHeadKV
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
			K:       backends.Tensor{Name: fmt.Sprintf("cache_k.%d", il), Buf: kb, Type: t, Rows: rows, Cols: la.HeadDimK},
			V:       backends.Tensor{Name: fmt.Sprintf("cache_v.%d", il), Buf: vb, Type: t, Rows: rows, Cols: la.HeadDimV},
			NHeadKV: la.NHeadKV, BlockSize: blockSize, VInK: vInK,
		}
	}
	return c, nil
}

// BlockSize returns the positions per block.
func (c *KVCache) BlockSize() int { return c.blockSize }

// NumBlocks returns the number of physical blocks.
func (c *KVCache) NumBlocks() int { return c.nBlocks }

// BytesPerBlock returns the memory one block takes across all layers (K
// and V, or K alone when V lives in it), for sizing the cache to a memory
// budget.
func (c *KVCache) BytesPerBlock() int { return c.bytesPerBlock }

// Type returns the element type.
func (c *KVCache) Type() quant.Type { return c.typ }

// layer returns layer il's storage.
func (c *KVCache) layer(il int) backends.PagedKV { return c.layers[il] }

// NewSequenceView makes a cache holding one sequence of up to nPos
// positions, with the identity block table: the simple case of one prompt
// run start to finish (nuri logits, tests).
func NewSequenceView(cfg Config, nPos, blockSize int, t quant.Type) (KVView, error) {
	return newSequenceView(nPos, blockSize, func(nb int) (*KVCache, error) { return NewKVCache(cfg, nb, blockSize, t) })
}

// NewSequenceViewOn is NewSequenceView with the cache in dev's memory
// (free it with Cache.Free).
func NewSequenceViewOn(dev backends.Device, cfg Config, nPos, blockSize int, t quant.Type) (KVView, error) {
	return newSequenceView(nPos, blockSize, func(nb int) (*KVCache, error) { return NewKVCacheOn(dev, cfg, nb, blockSize, t) })
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
