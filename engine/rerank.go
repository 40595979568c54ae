package engine

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/nuri-ai/nuri/model"
)

// Reranker scores texts (a query and a document, formatted into one
// prompt by the caller) with a reranking model: the last token's final
// hidden state through a classification head, or an encoder's first
// token's (a cross-encoder such as BGE's reranker, through its pooler
// first). With two or more outputs the score is the probability of the
// first (Qwen3-Reranker's "yes" against "no", llama.cpp's rank pooling);
// with one it is the raw output, as llama.cpp reports a cross-encoder's.
type Reranker struct {
	emb  *Embedder
	head model.ClassHead
}

// RerankHead returns the head a reranker scores with: the file's own
// classification head (cls.output, as llama.cpp's converter writes
// Qwen3-Reranker), else the language-model head's rows of the answer
// tokens (yes, no) for a reranker shipped as a plain language model; an
// error when m offers neither. fromFile says which it is.
func RerankHead(m model.Model, answers []int32) (h model.ClassHead, fromFile bool, err error) {
	heads, ok := m.(model.Heads)
	if !ok {
		return h, false, errors.New("the model does not expose its output rows")
	}
	if h, ok, err := heads.ClassifierHead(); err != nil || ok {
		return h, ok, err
	}
	if len(answers) == 0 {
		return h, false, errors.New("the model has no classification head, and no answer tokens were given")
	}
	rows, err := heads.OutputRows(answers)
	if err != nil {
		return h, false, fmt.Errorf("answer tokens %v: %w", answers, err)
	}
	return model.ClassHead{Rows: rows}, false, nil
}

// NewReranker returns a reranker over m with head; cfg's pooling is the
// last token's (an encoder's: the first's).
func NewReranker(m model.Model, cfg EmbedderConfig, head model.ClassHead) (*Reranker, error) {
	if len(head.Rows) == 0 {
		return nil, errors.New("rerank: the head has no outputs")
	}
	for i, r := range head.Rows {
		if len(r) != m.Config().NEmbd {
			return nil, fmt.Errorf("rerank: head row %d has %d values, the model's states %d", i, len(r), m.Config().NEmbd)
		}
	}
	if head.Bias != nil && len(head.Bias) != len(head.Rows) {
		return nil, fmt.Errorf("rerank: %d biases for %d outputs", len(head.Bias), len(head.Rows))
	}
	if n := len(head.Pooler); n > 0 && (n != m.Config().NEmbd || (head.PoolerBias != nil && len(head.PoolerBias) != n)) {
		return nil, fmt.Errorf("rerank: a pooler of %d rows and %d biases for states of %d", n, len(head.PoolerBias), m.Config().NEmbd)
	}
	cfg.Pooling = PoolLast
	if m.Config().Encoder {
		cfg.Pooling = PoolCLS
	}
	e, err := NewEmbedder(m, cfg)
	if err != nil {
		return nil, err
	}
	return &Reranker{emb: e, head: head}, nil
}

// Score returns each input's score; inputs are token sequences, batched
// as the embedder batches them.
func (r *Reranker) Score(ctx context.Context, inputs [][]int32) ([]float32, error) {
	hs, err := r.emb.EmbedBatch(ctx, inputs)
	if err != nil {
		return nil, err
	}
	out := make([]float32, len(hs))
	for i, h := range hs {
		out[i] = r.score(h)
	}
	return out, nil
}

func (r *Reranker) score(h []float32) float32 {
	if len(r.head.Pooler) > 0 {
		pooled := make([]float32, len(r.head.Pooler))
		for k, p := range affine(r.head.Pooler, r.head.PoolerBias, h) {
			pooled[k] = float32(math.Tanh(p))
		}
		h = pooled
	}
	logits := affine(r.head.Rows, r.head.Bias, h)
	if len(logits) == 1 {
		return float32(logits[0])
	}
	top := logits[0]
	for _, l := range logits {
		top = max(top, l)
	}
	var sum float64
	for _, l := range logits {
		sum += math.Exp(l - top)
	}
	return float32(math.Exp(logits[0]-top) / sum)
}

// affine is rows·h + bias (bias nil: none), summed in float64.
func affine(rows [][]float32, bias, h []float32) []float64 {
	out := make([]float64, len(rows))
	for k, row := range rows {
		var s float64
		for j, w := range row {
			s += float64(w) * float64(h[j])
		}
		if bias != nil {
			s += float64(bias[k])
		}
		out[k] = s
	}
	return out
}

// Pairs reports whether the reranker reads a query and a document as a
// pair of texts (an encoder: [BOS] query [EOS] [SEP] document [EOS], as
// llama.cpp formats them) rather than through a prompt template.
func (r *Reranker) Pairs() bool { return r.emb.m.Config().Encoder }

// RawScores reports whether Score's scores are a head's raw output (one
// output: a cross-encoder's logit) rather than a probability.
func (r *Reranker) RawScores() bool { return len(r.head.Rows) == 1 }

// MaxTokens is the longest input Score takes.
func (r *Reranker) MaxTokens() int { return r.emb.MaxTokens() }

// Close frees the reranker's cache.
func (r *Reranker) Close() error { return r.emb.Close() }
