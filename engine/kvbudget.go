package engine

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"os"
	"strconv"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/model"
)

// kvBytesPerBlock is the memory one block of bs positions takes in dev's
// memory (nil: host memory).
func kvBytesPerBlock(c model.Config, bs int, t model.KVTypes, dev backends.Device) (int64, error) {
	n, err := model.KVBytesPerPosition(c, t, dev)
	if err != nil {
		return 0, err
	}
	return int64(n) * int64(bs), nil
}

// blockPlan is how the number of KV blocks was chosen, for the start-up log.
type blockPlan struct {
	nBlocks  int
	perBlock int64
	source   string // "blocks", "memory", "ram-fraction" or "device-fraction"
	availRAM int64  // bytes, when source is a fraction (host RAM or device memory)
	// winBlocks is the windowed layers' own pool (0: none) and
	// onePoolBytes what a cache of one pool would have taken.
	winBlocks    int
	onePoolBytes int64
}

// planKV sizes the cache: one pool as planBlocks does, or, for a model
// with sliding-window layers (unless cfg.DisableWindowPool), a pool for
// the other layers out of the same budget and one for the windowed layers
// that holds what the running sequences' windows can ever reference
// (windowBlocks). The windowed pool is kept only when it is the smaller
// one: otherwise it would save nothing.
func planKV(cfg Config, mc model.Config, t model.KVTypes, nCtx int) (blockPlan, error) {
	perBlock, err := kvBytesPerBlock(mc, cfg.BlockSize, t, cfg.Device)
	if err != nil {
		return blockPlan{}, err
	}
	one, err := planBlocks(cfg, perBlock, nCtx)
	if err != nil {
		return one, err
	}
	one.onePoolBytes = int64(one.nBlocks) * perBlock
	W := model.SlidingWindow(mc)
	if cfg.DisableWindowPool || W == 0 {
		return one, nil
	}
	full, windowed, err := model.KVBytesPerPositionWindowed(mc, t, cfg.Device)
	if err != nil {
		return one, err
	}
	perFull, perWin := int64(full)*int64(cfg.BlockSize), int64(windowed)*int64(cfg.BlockSize)
	nWin := windowBlocks(cfg, W)
	p := one
	if perFull == 0 && one.source != "blocks" { // every layer windowed: the tables cost no memory
		p.nBlocks = cfg.MaxNumSeqs * ((nCtx + cfg.BlockSize - 1) / cfg.BlockSize)
	} else {
		p.nBlocks = p.blocksFor(cfg, perFull, int64(nWin)*perWin, nCtx)
	}
	if p.nBlocks <= nWin {
		return one, nil
	}
	p.perBlock, p.winBlocks = perFull, nWin
	return p, nil
}

// windowBlocks is the windowed pool for window W: what the running
// sequences can reference at once, plus a reserve for the prefix cache.
// After a step a sequence holds the blocks of its last W-1 positions
// (ceil((W-1)/bs)+1); a step adds the blocks of its tokens (a block more
// a sequence where they start mid-block), and drafts a sequence was
// given room for and did not keep can hold as many again into the next
// step. The reserve keeps the windows of a quarter of MaxNumSeqs cached
// prefixes (a hit needs its prefix's last window in the windowed layers
// too).
func windowBlocks(cfg Config, W int) int {
	bs := cfg.BlockSize
	window := (W-1+bs-1)/bs + 1
	step := (cfg.MaxNumBatchedTokens + bs - 1) / bs
	return cfg.MaxNumSeqs*(window+1) + 2*step + max(1, cfg.MaxNumSeqs/4)*window
}

// planBlocks turns the configured budget into a number of blocks. Without an
// explicit budget it takes KVCacheFraction of the available memory (the
// device's, else the host's RAM), capped at
// what MaxNumSeqs full-context sequences can use (more could never be
// referenced at once; the surplus would only hold cached prefixes).
func planBlocks(cfg Config, perBlock int64, nCtx int) (blockPlan, error) {
	p := blockPlan{perBlock: perBlock}
	switch {
	case cfg.NumBlocks > 0:
		p.source = "blocks"
	case cfg.KVCacheMemory > 0:
		p.source = "memory"
	default:
		avail, source, err := availableMemory(cfg.Device)
		if err != nil {
			return p, fmt.Errorf("kv cache budget: %w (set the KV cache memory explicitly)", err)
		}
		p.availRAM, p.source = avail, source
	}
	if p.nBlocks = p.blocksFor(cfg, perBlock, 0, nCtx); p.nBlocks < 1 {
		return p, fmt.Errorf("kv cache budget holds no block of %d bytes", perBlock)
	}
	return p, nil
}

// blocksFor is how many blocks of perBlock bytes p's budget holds once
// reserve bytes are set aside: the configured count, the configured
// memory's share, or KVCacheFraction of the available memory capped at
// MaxNumSeqs full contexts.
func (p blockPlan) blocksFor(cfg Config, perBlock, reserve int64, nCtx int) int {
	switch p.source {
	case "blocks":
		return cfg.NumBlocks
	case "memory":
		return int((cfg.KVCacheMemory - reserve) / perBlock)
	}
	perSeq := (nCtx + cfg.BlockSize - 1) / cfg.BlockSize
	return min(int((float64(p.availRAM)*cfg.KVCacheFraction-float64(reserve))/float64(perBlock)), cfg.MaxNumSeqs*perSeq)
}

// availableMemory is the free memory the default budget takes its share
// of: the device's when it reports it (an accelerator holds the cache in
// its own memory), else the host's available RAM.
func availableMemory(dev backends.Device) (int64, string, error) {
	if dev != nil {
		if free, _ := dev.Memory(); free > 0 {
			return int64(min(free, math.MaxInt64)), "device-fraction", nil
		}
	}
	avail, err := availableRAM()
	return avail, "ram-fraction", err
}

// availableRAM reads MemAvailable from /proc/meminfo.
func availableRAM() (int64, error) {
	raw, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, fmt.Errorf("read available memory: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		f := bytes.Fields(sc.Bytes())
		if len(f) >= 2 && string(f[0]) == "MemAvailable:" {
			kb, err := strconv.ParseInt(string(f[1]), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("parse MemAvailable %q: %w", f[1], err)
			}
			return kb * 1024, nil
		}
	}
	return 0, fmt.Errorf("no MemAvailable in /proc/meminfo")
}
