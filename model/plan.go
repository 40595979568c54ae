package model

import (
	"fmt"

	"github.com/nuri-ai/nuri/backends"
)

// plan is a validated batch: what the ops need per token.
type plan struct {
	n     int
	slots []int32 // cache slot of each token's K/V
	pos   []int32 // each token's position (RoPE's; rows.Pos may differ)
	rows  backends.AttnRows
	// The windowed layers' slots and rows when the cache keeps them in a
	// pool of their own (KVView.WinTables).
	winSlots []int32
	winRows  backends.AttnRows
	// swaRows are the attention rows of a bidirectional model's windowed
	// layers (symmetric windows: each token's own first and last key).
	swaRows backends.AttnRows
	outIdx  []int32 // batch rows whose logits are wanted, in order
	// Per-request LoRA adapters (Batch.LoRA): each row's adapter id, for
	// all rows and for the output rows (nil: none in this batch).
	lora, loraOut []int32
}

// plan checks b against the model and the cache and derives cache slots
// and output rows. Nothing is written before the whole batch is valid, so
// a bad batch leaves the cache untouched.
func (m *transformer) plan(b *Batch, kv KVView, out []float32) (*plan, error) {
	n := len(b.Tokens)
	if n == 0 {
		return nil, fmt.Errorf("empty batch: %w", ErrBadBatch)
	}
	if len(b.Pos) != n || len(b.Seq) != n || (b.Logits != nil && len(b.Logits) != n) || (b.LoRA != nil && len(b.LoRA) != n) {
		return nil, fmt.Errorf("batch of %d tokens has %d positions, %d sequence ids, %d logit flags, %d adapter ids: %w",
			n, len(b.Pos), len(b.Seq), len(b.Logits), len(b.LoRA), ErrBadBatch)
	}
	if err := m.checkCache(kv.Cache); err != nil {
		return nil, err
	}
	// The plan lives in the model, reused (one Forward at a time): a
	// decode step allocates nothing.
	p := &m.pl
	*p = plan{n: n, slots: grow(p.slots, n), pos: b.Pos, outIdx: p.outIdx[:0],
		rows: backends.AttnRows{Pos: b.Pos, Tables: grow(p.rows.Tables, n)}, loraOut: p.loraOut[:0],
		winSlots: p.winSlots[:0], winRows: backends.AttnRows{Tables: p.winRows.Tables[:0]}}
	windowed := kv.Cache.WindowBlocks() > 0
	bs, nBlocks := kv.Cache.BlockSize(), kv.Cache.NumBlocks()
	if windowed {
		if len(kv.WinTables) != len(kv.Tables) {
			return nil, fmt.Errorf("windowed KV cache with %d windowed block tables for %d sequences: %w", len(kv.WinTables), len(kv.Tables), ErrBadBatch)
		}
		p.winSlots, p.winRows = grow(p.winSlots, n), backends.AttnRows{Pos: b.Pos, Tables: grow(p.winRows.Tables, n)}
	}
	for i, tok := range b.Tokens {
		if tok < 0 || int(tok) >= m.hp.NVocab {
			return nil, fmt.Errorf("token %d at batch row %d (vocabulary %d): %w", tok, i, m.hp.NVocab, ErrBadToken)
		}
		pos := int(b.Pos[i])
		if pos < 0 || pos >= m.nCtx {
			return nil, fmt.Errorf("position %d at batch row %d (context %d): %w", pos, i, m.nCtx, ErrContextFull)
		}
		s := int(b.Seq[i])
		if s < 0 || s >= len(kv.Tables) {
			return nil, fmt.Errorf("sequence %d at batch row %d has no block table (%d tables): %w", s, i, len(kv.Tables), ErrBadBatch)
		}
		table := kv.Tables[s]
		if pos/bs >= len(table) {
			return nil, fmt.Errorf("position %d of sequence %d needs block %d; its table has %d: %w", pos, s, pos/bs, len(table), ErrBadBatch)
		}
		// Attention reads every block up to pos: check them all once here.
		for _, blk := range table[:pos/bs+1] {
			if blk < 0 || int(blk) >= nBlocks {
				return nil, fmt.Errorf("sequence %d uses block %d; the cache has %d: %w", s, blk, nBlocks, ErrBadBatch)
			}
		}
		p.slots[i] = table[pos/bs]*int32(bs) + int32(pos%bs)
		p.rows.Tables[i] = table
		if windowed {
			if err := checkWindowTable(kv, s, pos); err != nil {
				return nil, err
			}
			win := kv.WinTables[s]
			p.winSlots[i] = win[pos/bs]*int32(bs) + int32(pos%bs)
			p.winRows.Tables[i] = win
		}
		if b.Logits != nil && b.Logits[i] {
			p.outIdx = append(p.outIdx, int32(i))
		}
	}
	if b.Logits == nil {
		p.outIdx = append(p.outIdx, int32(n-1))
	}
	for i, id := range b.LoRA {
		if id < 0 || int(id) > len(m.hp.LoRA) {
			return nil, fmt.Errorf("adapter %d at batch row %d (the model has %d named adapters): %w", id, i, len(m.hp.LoRA), ErrBadBatch)
		}
		if id > 0 && m.hp.LoRA[id-1] == "" {
			return nil, fmt.Errorf("adapter %d at batch row %d was unloaded: %w", id, i, ErrBadBatch)
		}
		if id != 0 {
			p.lora = b.LoRA
		}
	}
	if p.lora != nil {
		for _, i := range p.outIdx {
			p.loraOut = append(p.loraOut, p.lora[i])
		}
	}
	if m.spec.bidirectional {
		if err := m.encoderPlan(b, p, len(kv.Tables)); err != nil {
			return nil, err
		}
	}
	m.loraCalls = 0
	width := m.hp.NVocab
	if b.Hidden {
		width = m.hp.NEmbd
	}
	if need := len(p.outIdx) * width; len(out) < need {
		return nil, fmt.Errorf("output buffer holds %d values, need %d (%d rows of %d): %w", len(out), need, len(p.outIdx), width, ErrBadBatch)
	}
	return p, nil
}

// checkWindowTable checks that sequence s's windowed table holds the
// blocks a token at pos reads in the windowed layers: those of its window.
func checkWindowTable(kv KVView, s, pos int) error {
	bs, win := kv.Cache.BlockSize(), kv.WinTables[s]
	if pos/bs >= len(win) {
		return fmt.Errorf("position %d of sequence %d needs windowed block %d; its table has %d: %w", pos, s, pos/bs, len(win), ErrBadBatch)
	}
	for _, blk := range win[max(0, pos-kv.Cache.Window()+1)/bs : pos/bs+1] {
		if blk < 0 || int(blk) >= kv.Cache.WindowBlocks() {
			return fmt.Errorf("sequence %d's window at position %d uses windowed block %d; the cache has %d: %w", s, pos, blk, kv.Cache.WindowBlocks(), ErrBadBatch)
		}
	}
	return nil
}

// release drops the plan's references to the last batch and cache tables
// (its buffers stay for the next Forward).
func (p *plan) release() {
	clear(p.rows.Tables)
	clear(p.winRows.Tables)
	p.rows.Pos, p.lora, p.pos, p.swaRows = nil, nil, nil, backends.AttnRows{}
	p.winRows.Pos = nil
}

// grow returns b resized to n elements, reallocated only when too small.
func grow[T any](b []T, n int) []T {
	if cap(b) < n {
		return make([]T, n)
	}
	return b[:n]
}

// checkCache verifies the cache was made for this model's shape.
func (m *transformer) checkCache(c *KVCache) error {
	if c == nil {
		return fmt.Errorf("no KV cache: %w", ErrBadBatch)
	}
	hp := m.hp
	if len(c.attn) != hp.NLayer {
		return fmt.Errorf("KV cache for %d layers, model has %d: %w", len(c.attn), hp.NLayer, ErrBadBatch)
	}
	for il, ca := range c.attn {
		if ma := hp.LayerAttn(il); ca != ma {
			return fmt.Errorf("KV cache layer %d is %d heads × %d/%d (from layer %d), the model's %d × %d/%d (from layer %d): %w",
				il, ca.NHeadKV, ca.HeadDimK, ca.HeadDimV, ca.KVFrom, ma.NHeadKV, ma.HeadDimK, ma.HeadDimV, ma.KVFrom, ErrBadBatch)
		}
		if w := hp.Window(il); c.pooled[il] && (w <= 0 || w > c.window || m.spec.bidirectional) {
			return fmt.Errorf("KV cache keeps layer %d in its windowed pool (window %d); the model's layer has window %d: %w", il, c.window, w, ErrBadBatch)
		}
	}
	return nil
}
