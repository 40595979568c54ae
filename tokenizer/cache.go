package tokenizer

import (
	"hash/maphash"
	"strings"
	"sync"
)

// The word cache remembers the BPE result of recently seen pre-tokenized
// words. Natural text repeats words heavily (Korean particles and endings,
// English function words), so most words skip merging entirely. The cache
// is sharded to keep lock contention low under concurrent Encode calls, and
// bounded: a full shard is simply emptied, which costs one re-merge per
// word and keeps memory at O(maxEntries) without LRU bookkeeping.

const (
	cacheShards         = 16
	defaultCacheEntries = 1 << 16
	maxCachedWord       = 64 // bytes; longer words are rare and not cached
)

type wordCache struct {
	seed     maphash.Seed
	perShard int
	shards   [cacheShards]cacheShard
}

type cacheShard struct {
	mu sync.RWMutex
	m  map[string][]int32
}

// newWordCache returns a cache holding about maxEntries words; 0 disables it.
func newWordCache(maxEntries int) *wordCache {
	c := &wordCache{seed: maphash.MakeSeed(), perShard: maxEntries / cacheShards}
	return c
}

func (c *wordCache) shard(word string) *cacheShard {
	return &c.shards[maphash.String(c.seed, word)%cacheShards]
}

func (c *wordCache) get(word string) ([]int32, bool) {
	if c.perShard == 0 {
		return nil, false
	}
	s := c.shard(word)
	s.mu.RLock()
	ids, ok := s.m[word]
	s.mu.RUnlock()
	return ids, ok
}

func (c *wordCache) put(word string, ids []int32) {
	if c.perShard == 0 {
		return
	}
	v := make([]int32, len(ids))
	copy(v, ids)
	s := c.shard(word)
	s.mu.Lock()
	if s.m == nil || len(s.m) >= c.perShard {
		s.m = make(map[string][]int32, c.perShard/4)
	}
	// Clone: word is a slice of the caller's text, which must not be pinned.
	s.m[strings.Clone(word)] = v
	s.mu.Unlock()
}
