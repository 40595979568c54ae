package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/model"
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
	Pooling     Pooling
	BatchTokens int             // tokens a forward pass (0: DefaultMaxNumBatchedTokens)
	Device      backends.Device // where the model runs (nil: host)
	// KVCacheType and KVCacheTypeV are the cache's K and V types, as
	// Config's.
	KVCacheType, KVCacheTypeV string
	// MaxQueued is how many inputs may wait for the embedder before Embed
	// answers ErrQueueFull (0: DefaultMaxQueuedRequests).
	MaxQueued int
}

// Embedder turns token sequences into embedding vectors: the final
// normalised hidden states (model.Batch.Hidden), pooled. It runs one
// request at a time over a KV cache of its own, grown to the largest pass
// seen, so it shares the model with an Engine (Forward serialises the
// two) but not the engine's blocks or queue.
type Embedder struct {
	m       model.Model
	cfg     EmbedderConfig
	kvT     model.KVTypes
	turn    chan struct{} // held by the request running the queued ones
	waiting atomic.Int64  // requests queued or running
	qmu     sync.Mutex    // guards queue
	queue   []*embedJob   // requests waiting for a run
	runs    atomic.Int64  // runs so far (tests)
	mu      sync.Mutex    // guards the cache (Close against Embed)
	kv      model.KVView
	nBlocks int       // blocks kv's cache holds
	tables  [][]int32 // this pass's block tables
	out     []float32
	batch   model.Batch
	// dense are the model's projections of a pooled embedding
	// (model.DenseOut; EmbeddingGemma's), each a row per output value.
	dense [][][]float32
}

// NewEmbedder checks cfg against m and returns an embedder. An encoder
// (model.Config.Encoder) sees each input whole in one pass, so its passes
// hold at least its context.
func NewEmbedder(m model.Model, cfg EmbedderConfig) (*Embedder, error) {
	mc := m.Config()
	if cfg.NCtx <= 0 || (mc.Encoder && cfg.NCtx > mc.NCtxTrain) {
		cfg.NCtx = mc.NCtxTrain // an encoder has no positions past it
	}
	if cfg.BatchTokens <= 0 {
		cfg.BatchTokens = DefaultMaxNumBatchedTokens
	}
	if mc.Encoder {
		cfg.BatchTokens = max(cfg.BatchTokens, cfg.NCtx)
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
	t, err := model.ParseKVTypes(cfg.KVCacheType, cfg.KVCacheTypeV)
	if err != nil {
		return nil, err
	}
	if cfg.Device != nil {
		if _, static := backends.As[backends.ShapeBucketer](cfg.Device); static {
			return nil, fmt.Errorf("embeddings on %s: the device runs static shapes only, which the embedder does not pad to", cfg.Device.Name())
		}
	}
	e := &Embedder{m: m, cfg: cfg, kvT: t, turn: make(chan struct{}, 1)}
	if d, ok := m.(model.DenseOut); ok {
		if e.dense, err = d.DenseLayers(); err != nil {
			return nil, fmt.Errorf("embedder: %w", err)
		}
	}
	return e, nil
}

// MaxTokens is the longest input EmbedBatch takes (its context).
func (e *Embedder) MaxTokens() int { return e.cfg.NCtx }

// Pooling is the embedder's pooling.
func (e *Embedder) Pooling() Pooling { return e.cfg.Pooling }

// Dim is the embeddings' length: the model's width, or its last dense
// projection's.
func (e *Embedder) Dim() int {
	if n := len(e.dense); n > 0 {
		return len(e.dense[n-1])
	}
	return e.m.Config().NEmbd
}

// project applies the model's dense projections to a pooled embedding
// (float64 sums, as the pooling), in order.
func (e *Embedder) project(v []float32) []float32 {
	for _, rows := range e.dense {
		out := make([]float32, len(rows))
		for i, row := range rows {
			var s float64
			for j, w := range row {
				s += float64(w) * float64(v[j])
			}
			out[i] = float32(s)
		}
		v = out
	}
	return v
}

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
	e.kv, e.nBlocks = model.KVView{}, 0
	if err != nil {
		return fmt.Errorf("free the embedder's cache: %w", err)
	}
	return nil
}

// Embed returns the pooled embedding of tokens (not normalised); see
// EmbedBatch.
func (e *Embedder) Embed(ctx context.Context, tokens []int32) ([]float32, error) {
	out, err := e.EmbedBatch(ctx, [][]int32{tokens})
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// maxPackedInputs bounds the inputs one forward pass carries.
const maxPackedInputs = 64

// EmbedBatch returns each input's pooled embedding (not normalised).
// Short inputs are packed, as sequences of their own, into forward passes
// of up to BatchTokens tokens, so the weights are read once for many of
// them; batch invariance keeps each result the bits it has alone. An
// input longer than a pass runs alone, in chunks. Requests that arrive
// while a run is under way queue, and the next run takes all of them at
// once (their inputs packed together, as one request's are): many small
// requests cost about what one request of all their inputs does. Past
// MaxQueued requests queued or running it answers ErrQueueFull; a wait
// ends with ctx, and a request cancelled before its run starts is left
// out of it.
func (e *Embedder) EmbedBatch(ctx context.Context, inputs [][]int32) ([][]float32, error) {
	for i, in := range inputs {
		if len(in) == 0 {
			return nil, fmt.Errorf("%w: input %d has no tokens", ErrEmbedInput, i)
		}
		if len(in) > e.cfg.NCtx {
			return nil, fmt.Errorf("%w: input %d has %d tokens, more than the context of %d", ErrEmbedInput, i, len(in), e.cfg.NCtx)
		}
	}
	if e.waiting.Add(1) > int64(e.cfg.MaxQueued) {
		e.waiting.Add(-1)
		return nil, fmt.Errorf("embeddings: %w (%d waiting)", ErrQueueFull, e.cfg.MaxQueued)
	}
	defer e.waiting.Add(-1)
	j := &embedJob{ctx: ctx, inputs: inputs, done: make(chan struct{})}
	e.qmu.Lock()
	e.queue = append(e.queue, j)
	e.qmu.Unlock()
	for {
		select {
		case e.turn <- struct{}{}:
			e.lead()
		case <-j.done:
		case <-ctx.Done():
			e.qmu.Lock()
			queued := slices.Contains(e.queue, j)
			e.queue = slices.DeleteFunc(e.queue, func(q *embedJob) bool { return q == j })
			e.qmu.Unlock()
			if queued {
				return nil, ctx.Err()
			}
			<-j.done // a run has it: it ends soon, and it says what happened
		}
		select {
		case <-j.done:
			return j.out, j.err
		default:
		}
	}
}

// embedJob is one EmbedBatch request: its inputs, and once done is
// closed, its embeddings or its error.
type embedJob struct {
	ctx    context.Context
	inputs [][]int32
	out    [][]float32
	err    error
	done   chan struct{}
}

// lead runs every queued request (the caller's own, unless an earlier run
// took it) while holding the turn, and gives the turn back however the
// run ends.
func (e *Embedder) lead() {
	defer func() { <-e.turn }()
	e.qmu.Lock()
	jobs := e.queue
	e.queue = nil
	e.qmu.Unlock()
	if len(jobs) > 0 {
		e.runJobs(jobs)
	}
}

// runJobs embeds the inputs of every job not cancelled yet in one run
// and hands each job its own. Should the run panic, every job it took
// gets an error (the panic goes on up the leader's own call).
func (e *Embedder) runJobs(jobs []*embedJob) {
	e.runs.Add(1)
	finished := false
	defer func() {
		if finished {
			return
		}
		r := recover()
		for _, j := range jobs {
			select {
			case <-j.done:
			default:
				j.err = fmt.Errorf("embed: internal error: %v", r)
				close(j.done)
			}
		}
		panic(r)
	}()
	var all [][]int32
	live := jobs[:0:0]
	for _, j := range jobs {
		if err := j.ctx.Err(); err != nil {
			j.err = err
			close(j.done)
			continue
		}
		live = append(live, j)
		all = append(all, j.inputs...)
	}
	if len(live) > 0 {
		out, err := e.run(live, all)
		for _, j := range live {
			if err != nil {
				j.err = err
			} else {
				j.out, out = out[:len(j.inputs)], out[len(j.inputs):]
			}
			close(j.done)
		}
	}
	finished = true
}

// run embeds inputs, packing short ones into passes; it stops early once
// every job's context is done.
func (e *Embedder) run(jobs []*embedJob, inputs [][]int32) ([][]float32, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	cancelled := func() error {
		for _, j := range jobs {
			if j.ctx.Err() == nil {
				return nil
			}
		}
		return jobs[0].ctx.Err()
	}
	out := make([][]float32, len(inputs))
	for i := 0; i < len(inputs); {
		if err := cancelled(); err != nil {
			return nil, err
		}
		if len(inputs[i]) > e.cfg.BatchTokens {
			v, err := e.embedLong(inputs[i], cancelled)
			if err != nil {
				return nil, err
			}
			out[i] = v
			i++
			continue
		}
		j, tokens := i, 0
		for j < len(inputs) && j-i < maxPackedInputs && len(inputs[j]) <= e.cfg.BatchTokens && tokens+len(inputs[j]) <= e.cfg.BatchTokens {
			tokens += len(inputs[j])
			j++
		}
		if err := e.embedPacked(inputs[i:j], out[i:j]); err != nil {
			return nil, err
		}
		i = j
	}
	for k, v := range out {
		out[k] = e.project(v)
	}
	return out, nil
}

// embedLong runs one input in chunks of BatchTokens over the cache's
// first blocks, checking cancelled before each.
func (e *Embedder) embedLong(tokens []int32, cancelled func() error) ([]float32, error) {
	n := len(tokens)
	if err := e.reserve(blocksFor(n)); err != nil {
		return nil, err
	}
	e.tables = append(e.tables[:0], e.blockRange(0, blocksFor(n)))
	emb := make([]float64, e.m.Config().NEmbd)
	for start := 0; start < n; start += e.cfg.BatchTokens {
		if err := cancelled(); err != nil {
			return nil, err
		}
		end := min(n, start+e.cfg.BatchTokens)
		seg := []segment{{tokens: tokens[start:end], start: start, n: n}}
		rows, err := e.forward(seg)
		if err != nil {
			return nil, err
		}
		e.pool(emb, rows, start, end, n)
	}
	return toFloat32(emb), nil
}

// embedPacked runs whole inputs, each a sequence with blocks of its own,
// in one forward pass, and writes their embeddings to out. With last-token
// pooling, the whole blocks of a prefix every input starts with (a
// reranker's prompt up to its query, an instruction) are computed once:
// a sequence of their own fills them, and every input's table starts with
// them, its own tokens after. A token's result does not depend on what
// else is in the pass, so the embeddings are the bits they are unshared.
func (e *Embedder) embedPacked(inputs [][]int32, out [][]float32) error {
	shared := e.sharedPrefix(inputs)
	sb := shared / DefaultBlockSize
	nb := sb
	for _, in := range inputs {
		nb += blocksFor(len(in)) - sb
	}
	if err := e.reserve(nb); err != nil {
		return err
	}
	e.tables = e.tables[:0]
	segs := make([]segment, 0, len(inputs)+1)
	prefix := e.blockRange(0, sb)
	first := sb
	if sb > 0 {
		e.tables = append(e.tables, prefix)
		segs = append(segs, segment{tokens: inputs[0][:shared], n: shared, unpooled: true})
	}
	for _, in := range inputs {
		own := blocksFor(len(in)) - sb
		e.tables = append(e.tables, append(slices.Clip(prefix), e.blockRange(first, own)...))
		first += own
		segs = append(segs, segment{tokens: in[shared:], start: shared, n: len(in)})
	}
	rows, err := e.forward(segs)
	if err != nil {
		return err
	}
	d := e.m.Config().NEmbd
	for k, in := range inputs {
		emb := make([]float64, d)
		per := 1
		if e.cfg.Pooling == PoolMean {
			per = len(in)
		}
		e.pool(emb, rows[:per*d], 0, len(in), len(in))
		rows = rows[per*d:]
		out[k] = toFloat32(emb)
	}
	return nil
}

// segment is one sequence's tokens in a forward pass: positions start..,
// of an input of n tokens. An unpooled segment (a shared prefix) only
// fills the cache.
type segment struct {
	tokens   []int32
	start, n int
	unpooled bool
}

// sharedPrefix is how many leading tokens, in whole cache blocks, every
// input of a pass starts with, when last-token pooling can share them:
// each input keeps at least its last token to itself. An encoder's
// tokens see the whole input, so its inputs share nothing.
func (e *Embedder) sharedPrefix(inputs [][]int32) int {
	if e.cfg.Pooling != PoolLast || len(inputs) < 2 || e.m.Config().Encoder {
		return 0
	}
	n := len(inputs[0]) - 1
	for _, in := range inputs[1:] {
		n = min(n, len(in)-1)
		for i := range n {
			if in[i] != inputs[0][i] {
				n = i
				break
			}
		}
	}
	return n / DefaultBlockSize * DefaultBlockSize
}

func blocksFor(n int) int { return (n + DefaultBlockSize - 1) / DefaultBlockSize }

// blockRange is the table of blocks first..first+n-1.
func (e *Embedder) blockRange(first, n int) []int32 {
	t := make([]int32, n)
	for i := range t {
		t[i] = int32(first + i)
	}
	return t
}

// reserve grows the cache to at least nBlocks blocks.
func (e *Embedder) reserve(nBlocks int) error {
	if nBlocks <= e.nBlocks {
		return nil
	}
	if err := e.freeKV(); err != nil {
		return err
	}
	size := max(nBlocks, 2*e.nBlocks, blocksFor(512))
	var c *model.KVCache
	var err error
	if e.cfg.Device != nil {
		c, err = model.NewKVCacheOn(e.cfg.Device, e.m.Config(), size, DefaultBlockSize, e.kvT)
	} else {
		c, err = model.NewKVCache(e.m.Config(), size, DefaultBlockSize, e.kvT)
	}
	if err != nil {
		return fmt.Errorf("embedder cache of %d blocks: %w", size, err)
	}
	e.kv, e.nBlocks = model.KVView{Cache: c}, size
	return nil
}

// forward runs the segments, sequence k on table k, and returns the
// hidden rows pooling needs, in order: every row for mean, else each
// segment's first (cls) or last.
func (e *Embedder) forward(segs []segment) ([]float32, error) {
	b := &e.batch
	b.Tokens, b.Pos, b.Seq, b.Logits = b.Tokens[:0], b.Pos[:0], b.Seq[:0], b.Logits[:0]
	b.Hidden = true
	for k, sg := range segs {
		for i, tok := range sg.tokens {
			b.Tokens = append(b.Tokens, tok)
			b.Pos = append(b.Pos, int32(sg.start+i))
			b.Seq = append(b.Seq, int32(k))
			var want bool
			switch {
			case sg.unpooled:
			case e.cfg.Pooling == PoolMean:
				want = true
			case e.cfg.Pooling == PoolCLS:
				want = i == 0
			default:
				want = i == len(sg.tokens)-1
			}
			b.Logits = append(b.Logits, want)
		}
	}
	e.kv.Tables = e.tables
	e.out = grow(e.out, b.NumLogits()*e.m.Config().NEmbd)
	if err := e.m.Forward(b, e.kv, e.out); err != nil {
		return nil, fmt.Errorf("embed: %w", err)
	}
	return e.out, nil
}

func toFloat32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
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
