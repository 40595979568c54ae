package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/model"
	"github.com/nuri-ai/nuri/quant"
)

// Pooling is how an embedding is made from a text's final hidden states.
type Pooling string

const (
	PoolLast Pooling = "last" // the last token's (Qwen3-Embedding, most decoder embedders)
	PoolMean Pooling = "mean" // the mean over the tokens
	PoolCLS  Pooling = "cls"  // the first token's
)

// ParsePooling reads a pooling name; llama.cpp's GGUF pooling_type numbers
// map to the same names (1 mean, 2 cls, 3 last).
func ParsePooling(s string) (Pooling, error) {
	switch p := Pooling(s); p {
	case PoolLast, PoolMean, PoolCLS:
		return p, nil
	}
	return "", fmt.Errorf("unknown pooling %q (want last, mean or cls)", s)
}

// ErrEmbedInput is returned for an input the embedder cannot take: empty,
// or longer than its context.
var ErrEmbedInput = errors.New("bad embedding input")

// EmbedderConfig configures an Embedder.
type EmbedderConfig struct {
	NCtx        int // the longest input, in tokens
	KVCacheType string
	Pooling     Pooling
	BatchTokens int             // tokens a forward pass (0: DefaultMaxNumBatchedTokens)
	Device      backends.Device // where the model runs (nil: host)
	// MaxQueued is how many inputs may wait for the embedder before Embed
	// answers ErrQueueFull (0: DefaultMaxQueuedRequests).
	MaxQueued int
}

// Embedder turns token sequences into embedding vectors: the final
// normalised hidden states (model.Batch.Hidden), pooled. It runs one input
// at a time over a KV cache of its own, grown to the longest input seen,
// so it shares the model with an Engine (Forward serialises the two) but
// not the engine's blocks or queue.
type Embedder struct {
	m       model.Model
	cfg     EmbedderConfig
	kvT     quant.Type
	turn    chan struct{} // held by the input being embedded
	waiting atomic.Int64  // inputs waiting for the turn
	mu      sync.Mutex    // guards the cache (Close against Embed)
	kv      model.KVView
	nKV     int // positions kv holds
	out     []float32
	batch   model.Batch
}

// NewEmbedder checks cfg against m and returns an embedder.
func NewEmbedder(m model.Model, cfg EmbedderConfig) (*Embedder, error) {
	if cfg.NCtx <= 0 {
		cfg.NCtx = m.Config().NCtxTrain
	}
	if cfg.BatchTokens <= 0 {
		cfg.BatchTokens = DefaultMaxNumBatchedTokens
	}
	if cfg.KVCacheType == "" {
		cfg.KVCacheType = DefaultKVCacheType
	}
	if cfg.MaxQueued <= 0 {
		cfg.MaxQueued = DefaultMaxQueuedRequests
	}
	if _, err := ParsePooling(string(cfg.Pooling)); err != nil {
		return nil, err
	}
	t, err := quant.ParseType(cfg.KVCacheType)
	if err != nil {
		return nil, fmt.Errorf("kv cache type: %w", err)
	}
	if cfg.Device != nil {
		if _, static := backends.As[backends.ShapeBucketer](cfg.Device); static {
			return nil, fmt.Errorf("embeddings on %s: the device runs static shapes only, which the embedder does not pad to", cfg.Device.Name())
		}
	}
	return &Embedder{m: m, cfg: cfg, kvT: t, turn: make(chan struct{}, 1)}, nil
}

// Pooling is the embedder's pooling.
func (e *Embedder) Pooling() Pooling { return e.cfg.Pooling }

// Dim is the embeddings' length.
func (e *Embedder) Dim() int { return e.m.Config().NEmbd }

// Close frees the embedder's cache.
func (e *Embedder) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.freeKV()
}

func (e *Embedder) freeKV() error {
	if e.kv.Cache == nil {
		return nil
	}
	err := e.kv.Cache.Free()
	e.kv, e.nKV = model.KVView{}, 0
	if err != nil {
		return fmt.Errorf("free the embedder's cache: %w", err)
	}
	return nil
}

// Embed returns the pooled embedding of tokens (not normalised). Inputs
// run one at a time, in turn: past MaxQueued waiting it answers
// ErrQueueFull, and a wait or a run ends with ctx.
func (e *Embedder) Embed(ctx context.Context, tokens []int32) ([]float32, error) {
	n := len(tokens)
	if n == 0 {
		return nil, fmt.Errorf("%w: no tokens", ErrEmbedInput)
	}
	if n > e.cfg.NCtx {
		return nil, fmt.Errorf("%w: %d tokens, more than the context of %d", ErrEmbedInput, n, e.cfg.NCtx)
	}
	if e.waiting.Add(1) > int64(e.cfg.MaxQueued) {
		e.waiting.Add(-1)
		return nil, fmt.Errorf("embeddings: %w (%d waiting)", ErrQueueFull, e.cfg.MaxQueued)
	}
	select {
	case e.turn <- struct{}{}:
		e.waiting.Add(-1)
	case <-ctx.Done():
		e.waiting.Add(-1)
		return nil, ctx.Err()
	}
	defer func() { <-e.turn }()
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.reserve(n); err != nil {
		return nil, err
	}
	d := e.Dim()
	emb := make([]float64, d)
	for start := 0; start < n; start += e.cfg.BatchTokens {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		end := min(n, start+e.cfg.BatchTokens)
		rows, err := e.forward(tokens[start:end], start)
		if err != nil {
			return nil, err
		}
		e.pool(emb, rows, start, end, n)
	}
	out := make([]float32, d)
	for i, v := range emb {
		out[i] = float32(v)
	}
	return out, nil
}

// reserve grows the cache to hold n positions.
func (e *Embedder) reserve(n int) error {
	if n <= e.nKV {
		return nil
	}
	if err := e.freeKV(); err != nil {
		return err
	}
	size := min(e.cfg.NCtx, max(n, 2*e.nKV, 512))
	var kv model.KVView
	var err error
	if e.cfg.Device != nil {
		kv, err = model.NewSequenceViewOn(e.cfg.Device, e.m.Config(), size, DefaultBlockSize, e.kvT)
	} else {
		kv, err = model.NewSequenceView(e.m.Config(), size, DefaultBlockSize, e.kvT)
	}
	if err != nil {
		return fmt.Errorf("embedder cache for %d positions: %w", size, err)
	}
	e.kv, e.nKV = kv, size
	return nil
}

// forward runs tokens at positions from start and returns the hidden
// rows pooling needs: every row for mean, else the chunk's first or last.
func (e *Embedder) forward(tokens []int32, start int) ([]float32, error) {
	k := len(tokens)
	b := &e.batch
	b.Tokens, b.Hidden = tokens, true
	b.Pos, b.Seq, b.Logits = grow(b.Pos, k), grow(b.Seq, k), grow(b.Logits, k)
	for i := range k {
		b.Pos[i], b.Seq[i] = int32(start+i), 0
		switch e.cfg.Pooling {
		case PoolMean:
			b.Logits[i] = true
		case PoolCLS:
			b.Logits[i] = i == 0
		default:
			b.Logits[i] = i == k-1
		}
	}
	e.out = grow(e.out, b.NumLogits()*e.Dim())
	if err := e.m.Forward(b, e.kv, e.out); err != nil {
		return nil, fmt.Errorf("embed: %w", err)
	}
	return e.out, nil
}

// pool adds the rows of tokens [start, end) of an n-token input to emb.
func (e *Embedder) pool(emb []float64, rows []float32, start, end, n int) {
	d := len(emb)
	switch e.cfg.Pooling {
	case PoolMean:
		for r := range end - start {
			for i, v := range rows[r*d : (r+1)*d] {
				emb[i] += float64(v) / float64(n)
			}
		}
	case PoolCLS:
		if start == 0 {
			for i, v := range rows[:d] {
				emb[i] = float64(v)
			}
		}
	default:
		if end == n {
			for i, v := range rows[:d] {
				emb[i] = float64(v)
			}
		}
	}
}

// Normalize scales v to unit length (L2), as embedding APIs return them;
// a zero vector stays zero.
func Normalize(v []float32) {
	s := 0.0
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	if s == 0 {
		return
	}
	inv := 1 / math.Sqrt(s)
	for i, x := range v {
		v[i] = float32(float64(x) * inv)
	}
}

// grow returns b resized to n, reusing its array when it is large enough.
func grow[T any](b []T, n int) []T {
	if cap(b) < n {
		return make([]T, n)
	}
	return b[:n]
}
