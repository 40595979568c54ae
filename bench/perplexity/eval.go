package perplexity

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/model"
)

// Options are a run's settings.
type Options struct {
	// Ctx is the tokens of one chunk (llama-perplexity's -c; 512 there).
	Ctx int
	// Batch is the tokens of one forward pass, at most Ctx (0: Ctx).
	Batch int
	// Chunks caps the chunks evaluated (0: every whole chunk of the text).
	Chunks int
	// KVType is the KV cache's element types (model.KVCacheTypes; the zero
	// value is F32's).
	KVType model.KVTypes
	// BOS replaces each chunk's first token where the vocabulary adds a
	// BOS to a text (-1: it does not).
	BOS int32
	// Device holds the KV cache (nil: host memory): the model's device.
	Device backends.Device
	// Workers compute the log-softmax rows of a batch side by side (0:
	// GOMAXPROCS).
	Workers int
	// Progress, if set, is called after every chunk.
	Progress func(Progress)
}

// Progress is a run's state after a chunk.
type Progress struct {
	Chunk, Chunks int
	Elapsed       time.Duration
	PPL           float64    // the running estimate
	KL            *KLSummary // KL runs: the running figures
}

// Result is a perplexity run's outcome.
type Result struct {
	Ctx        int `json:"ctx"`
	TextTokens int `json:"text_tokens"`
	Chunks     int `json:"chunks"`
	Scored     int `json:"scored_tokens"`
	// PPL is exp(mean NLL), its error the standard error of the mean NLL
	// carried through the exponential.
	PPL     Estimate `json:"ppl"`
	MeanNLL Estimate `json:"mean_nll"`
	// Running is the estimate after each chunk (llama-perplexity's
	// "[1]…,[2]…" line).
	Running []float64 `json:"running"`
	Seconds float64   `json:"seconds"`
	// TokensPerSecond counts every token evaluated, scored or not.
	TokensPerSecond float64 `json:"tokens_per_second"`
}

// KLResult is a KL-divergence run's outcome.
type KLResult struct {
	Ctx    int `json:"ctx"`
	Chunks int `json:"chunks"`
	Scored int `json:"scored_tokens"`
	KLSummary
	// KLDQuantiles and DeltaPQuantiles describe the per-token values,
	// maximum first.
	KLDQuantiles    []Quantile `json:"kld_quantiles"`
	DeltaPQuantiles []Quantile `json:"delta_p_quantiles"`
	Seconds         float64    `json:"seconds"`
	TokensPerSecond float64    `json:"tokens_per_second"`
}

// ErrTooFewTokens reports a text shorter than two chunks.
var ErrTooFewTokens = errors.New("text too short")

// Chunks is how many chunks of ctx tokens a run over n text tokens
// evaluates, at most limit (0: no limit). Like llama-perplexity it asks
// for at least two chunks' worth of tokens.
func Chunks(n, ctx, limit int) (int, error) {
	if ctx < 4 {
		return 0, fmt.Errorf("chunks of %d tokens: at least 4", ctx)
	}
	if n < 2*ctx {
		return 0, fmt.Errorf("%w: %d tokens, and chunks of %d need at least %d (use a longer text or a smaller context)",
			ErrTooFewTokens, n, ctx, 2*ctx)
	}
	c := n / ctx
	if limit > 0 {
		c = min(c, limit)
	}
	return c, nil
}

// Perplexity evaluates m over tokens (the text's tokens, BOS included
// where the vocabulary adds one). With base non-nil it also writes the
// base file of a later KL run: its header must already be written, for
// the same chunks.
func Perplexity(ctx context.Context, m model.Model, tokens []int32, o Options, base *BaseWriter) (*Result, error) {
	nChunks, err := Chunks(len(tokens), o.Ctx, o.Chunks)
	if err != nil {
		return nil, err
	}
	r, err := newRunner(m, o)
	if err != nil {
		return nil, err
	}
	defer r.close()
	res := &Result{Ctx: o.Ctx, TextTokens: len(tokens), Chunks: nChunks}
	var nll moments
	nlls := make([]float64, r.scored)
	var rows []uint16
	if base != nil {
		rows = make([]uint16, r.scored*r.words)
	}
	start := time.Now()
	for c := range nChunks {
		chunk := tokens[c*o.Ctx : (c+1)*o.Ctx]
		err := r.chunk(ctx, chunk, func(i int, logits []float32) {
			tok := chunk[r.first+i+1]
			if base != nil {
				nlls[i] = encodeRow(rows[i*r.words:(i+1)*r.words], logits, tok)
			} else {
				nlls[i], _ = rowNLL(logits, tok)
			}
		})
		if err != nil {
			return nil, fmt.Errorf("chunk %d of %d: %w", c+1, nChunks, err)
		}
		if base != nil {
			if err := base.WriteRows(rows); err != nil {
				return nil, err
			}
		}
		for _, v := range nlls {
			nll.add(v)
		}
		ppl := expEstimate(nll.estimate()).Value
		res.Running = append(res.Running, ppl)
		if o.Progress != nil {
			o.Progress(Progress{Chunk: c + 1, Chunks: nChunks, Elapsed: time.Since(start), PPL: ppl})
		}
	}
	res.Scored = nll.n
	res.MeanNLL = nll.estimate()
	res.PPL = expEstimate(res.MeanNLL)
	res.Seconds = time.Since(start).Seconds()
	res.TokensPerSecond = float64(nChunks*o.Ctx) / res.Seconds
	return res, nil
}

// KLDivergence evaluates m over the tokens of a base file and compares
// each scored position with the base's distribution. o.Ctx is taken from
// the file.
func KLDivergence(ctx context.Context, m model.Model, base *BaseReader, o Options) (*KLResult, error) {
	if nv := m.Config().NVocab; nv != base.NVocab {
		return nil, fmt.Errorf("%w: its vocabulary has %d entries, the model's %d", ErrBadBase, base.NVocab, nv)
	}
	o.Ctx = base.Ctx
	nChunks := base.Chunks
	if o.Chunks > 0 {
		nChunks = min(nChunks, o.Chunks)
	}
	r, err := newRunner(m, o)
	if err != nil {
		return nil, err
	}
	defer r.close()
	rows := make([]uint16, r.scored*r.words)
	out := make([]rowKL, r.scored)
	var st klStats
	start := time.Now()
	for c := range nChunks {
		if err := base.ReadRows(rows); err != nil {
			return nil, fmt.Errorf("chunk %d of %d: %w", c+1, nChunks, err)
		}
		chunk := base.Tokens[c*o.Ctx : (c+1)*o.Ctx]
		err := r.chunk(ctx, chunk, func(i int, logits []float32) {
			out[i] = compareRow(logits, rows[i*r.words:(i+1)*r.words], chunk[r.first+i+1])
		})
		if err != nil {
			return nil, fmt.Errorf("chunk %d of %d: %w", c+1, nChunks, err)
		}
		for _, v := range out {
			st.add(v)
		}
		if o.Progress != nil {
			sum := st.summary()
			o.Progress(Progress{Chunk: c + 1, Chunks: nChunks, Elapsed: time.Since(start), PPL: sum.PPL.Value, KL: &sum})
		}
	}
	res := &KLResult{Ctx: o.Ctx, Chunks: nChunks, Scored: st.kld.n, KLSummary: st.summary()}
	res.KLDQuantiles, res.DeltaPQuantiles = st.distributions()
	res.Seconds = time.Since(start).Seconds()
	res.TokensPerSecond = float64(nChunks*o.Ctx) / res.Seconds
	return res, nil
}

// runner evaluates chunks of one size with one KV cache.
type runner struct {
	m             model.Model
	o             Options
	kv            model.KVView
	nVocab        int
	first, scored int // the first scored position, and how many are
	words         int // a base row's uint16 words
	batch         model.Batch
	out           []float32
	toks          []int32 // the chunk with its BOS
}

func newRunner(m model.Model, o Options) (*runner, error) {
	if o.Ctx < 4 {
		return nil, fmt.Errorf("chunks of %d tokens: at least 4", o.Ctx)
	}
	if o.Batch <= 0 || o.Batch > o.Ctx {
		o.Batch = o.Ctx
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	cfg := m.Config()
	if o.BOS >= int32(cfg.NVocab) {
		return nil, fmt.Errorf("BOS %d outside the vocabulary of %d", o.BOS, cfg.NVocab)
	}
	kv, err := sequenceKV(m, o)
	if err != nil {
		return nil, err
	}
	r := &runner{m: m, o: o, kv: kv, nVocab: cfg.NVocab, first: o.Ctx / 2, scored: scoredPerChunk(o.Ctx),
		words: rowWords(cfg.NVocab), toks: make([]int32, o.Ctx)}
	r.batch = model.Batch{Pos: make([]int32, 0, o.Batch), Seq: make([]int32, 0, o.Batch), Logits: make([]bool, 0, o.Batch)}
	r.out = make([]float32, min(o.Batch, r.scored)*cfg.NVocab)
	return r, nil
}

func (r *runner) close() { freeKV(r.o, r.kv) }

// sequenceKV is a KV cache for one sequence of o.Ctx tokens, on o.Device
// (host memory where it is nil).
func sequenceKV(m model.Model, o Options) (model.KVView, error) {
	cfg := m.Config()
	var kv model.KVView
	var err error
	// Chunks go forward in passes of o.Batch: windowed layers keep a ring
	// of their window's blocks.
	kv, err = model.NewWindowedSequenceView(o.Device, cfg, o.Ctx, o.Batch, 16, o.KVType)
	if err != nil {
		return kv, fmt.Errorf("KV cache for %d tokens: %w", o.Ctx, err)
	}
	return kv, nil
}

// freeKV releases a sequenceKV cache's device memory.
func freeKV(o Options, kv model.KVView) {
	if o.Device != nil && kv.Cache != nil {
		_ = kv.Cache.Free() // nothing to report it to once the run has its result
	}
}

// chunk runs one chunk from position 0 and calls row(i, logits) for each
// scored position first+i (in parallel within a forward pass; each i
// once).
func (r *runner) chunk(ctx context.Context, chunk []int32, row func(i int, logits []float32)) error {
	copy(r.toks, chunk)
	if r.o.BOS >= 0 {
		r.toks[0] = r.o.BOS
	}
	last := r.first + r.scored // one past the last scored position
	for lo := 0; lo < len(r.toks); lo += r.o.Batch {
		if err := ctx.Err(); err != nil {
			return err
		}
		hi := min(lo+r.o.Batch, len(r.toks))
		b := &r.batch
		b.Tokens = r.toks[lo:hi]
		b.Pos, b.Seq, b.Logits = b.Pos[:0], b.Seq[:0], b.Logits[:0]
		n := 0
		for p := lo; p < hi; p++ {
			want := p >= r.first && p < last
			b.Pos, b.Seq, b.Logits = append(b.Pos, int32(p)), append(b.Seq, 0), append(b.Logits, want)
			if want {
				n++
			}
		}
		if err := r.m.Forward(b, r.kv, r.out[:n*r.nVocab]); err != nil {
			return fmt.Errorf("positions %d..%d: %w", lo, hi-1, err)
		}
		r.rows(max(lo, r.first)-r.first, n, row)
	}
	return nil
}

// rows hands the n logits rows of a batch, scored positions i0.., to row
// on the workers.
func (r *runner) rows(i0, n int, row func(i int, logits []float32)) {
	workers := min(r.o.Workers, n)
	if workers <= 1 {
		for k := range n {
			row(i0+k, r.out[k*r.nVocab:(k+1)*r.nVocab])
		}
		return
	}
	var next atomic.Int32
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				k := int(next.Add(1)) - 1
				if k >= n {
					return
				}
				row(i0+k, r.out[k*r.nVocab:(k+1)*r.nVocab])
			}
		})
	}
	wg.Wait()
}
