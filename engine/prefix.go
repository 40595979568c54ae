package engine

import (
	"encoding/binary"
	"hash/maphash"
	"strconv"
)

// blockHasher hashes a full block by (parent hash, token ids), so equal
// hashes mean equal whole prefixes, not just equal blocks. The seed is per
// engine: hashes are never persisted or compared across processes.
type blockHasher struct {
	seed maphash.Seed
	buf  []byte
}

func newBlockHasher() *blockHasher { return &blockHasher{seed: maphash.MakeSeed()} }

// rootHash is the parent of a sequence's first block.
const rootHash uint64 = 0

// root is the parent of s's first block: rootHash, or for a request with
// a per-request adapter one of its own (its K/V differ from the base
// model's for the same tokens). Lookups compare parents, so a small
// number never matches a real hash's block. A salted request's chain
// starts from the hash of its salt and adapter (saltRoot).
func (s *Sequence) root() uint64 {
	if s.req.CacheSalt != "" {
		return s.saltRoot
	}
	return rootHash + uint64(s.req.LoRA)
}

// saltRoot is the root of the chains of requests with salt and adapter
// lora. maphash with the engine's seed is safe from any goroutine.
func (h *blockHasher) saltRoot(salt string, lora int32) uint64 {
	return maphash.String(h.seed, "cache_salt\x00"+salt+"\x00"+strconv.Itoa(int(lora)))
}

func (h *blockHasher) hash(parent uint64, toks []int32) uint64 {
	b := binary.LittleEndian.AppendUint64(h.buf[:0], parent)
	for _, t := range toks {
		b = binary.LittleEndian.AppendUint32(b, uint32(t))
	}
	h.buf = b
	return maphash.Bytes(h.seed, b)
}

// matchPrefix looks up s's leading full blocks in the cache and takes a
// reference on each hit, stopping at the first miss. At least one token is
// always left to compute, because the last prompt token's logits are
// needed. With a windowed pool the hit also needs the windowed layers'
// blocks of its last window, so it may end earlier (matchWindow). It
// records the hits in s (blocks, hashes, computed count) and returns the
// number of tokens served from the cache.
func (e *Engine) matchPrefix(s *Sequence) int {
	bs := e.cfg.BlockSize
	maxBlocks := (len(s.tokens) - 1) / bs
	parent := s.root()
	for i := range maxBlocks {
		toks := s.tokens[i*bs : (i+1)*bs]
		h := e.hasher.hash(parent, toks)
		b, ok := e.pool.lookup(h, parent, toks)
		if !ok {
			break
		}
		s.blocks = append(s.blocks, b)
		s.hashes = append(s.hashes, h)
		parent = h
	}
	if e.win != nil {
		n, lo := e.matchWindow(s)
		s.blocks, s.hashes = s.blocks[:n], s.hashes[:n]
		for i := range n {
			if i < lo {
				s.wblocks[i] = -1
				continue
			}
			e.win.acquire(s.wblocks[i])
		}
		s.wblocks, s.wLo = s.wblocks[:n], lo
	}
	for _, b := range s.blocks {
		e.pool.acquire(b)
	}
	s.nComputed = len(s.blocks) * bs
	return s.nComputed
}

// matchWindow finds the longest of s's hit blocks (s.blocks, s.hashes) a
// hit can end after: n blocks, where the windowed pool still caches the
// blocks lo..n-1 that the next position's window reaches. It leaves
// those blocks' ids in s.wblocks[lo:n], without references.
func (e *Engine) matchWindow(s *Sequence) (n, lo int) {
	bs := e.cfg.BlockSize
	s.wblocks = s.wblocks[:0]
	for range s.blocks {
		s.wblocks = append(s.wblocks, -2) // not looked up yet
	}
	for n = len(s.blocks); n > 0; n-- {
		lo = max(0, n*bs-e.window+1) / bs
		miss := -1
		for j := lo; j < n && miss < 0; j++ {
			if s.wblocks[j] == -2 {
				parent := s.root()
				if j > 0 {
					parent = s.hashes[j-1]
				}
				s.wblocks[j] = -1
				if b, ok := e.win.lookup(s.hashes[j], parent, s.tokens[j*bs:(j+1)*bs]); ok {
					s.wblocks[j] = b
				}
			}
			if s.wblocks[j] < 0 {
				miss = j
			}
		}
		if miss < 0 {
			return n, lo
		}
		n = miss + 1 // every hit longer than miss blocks needs block miss: try miss next
	}
	return 0, 0
}

// registerFull hashes and registers the blocks of s that became full with
// computed tokens, so later requests can share them.
func (e *Engine) registerFull(s *Sequence) {
	bs := e.cfg.BlockSize
	for i := len(s.hashes); (i+1)*bs <= s.nComputed; i++ {
		parent := s.root()
		if i > 0 {
			parent = s.hashes[i-1]
		}
		toks := s.tokens[i*bs : (i+1)*bs]
		h := e.hasher.hash(parent, toks)
		s.hashes = append(s.hashes, h)
		e.pool.register(s.blocks[i], h, parent, toks)
		if e.win != nil && s.wblocks[i] >= 0 {
			e.win.register(s.wblocks[i], h, parent, toks)
		}
	}
}
