package model

import (
	"errors"
	"fmt"
	"slices"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/gguf"
	"github.com/nuri-ai/nuri/quant"
)

// ErrNoLMHead is returned by Forward for logits from a file that has no
// language-model head: an encoder (BERT), or a reranker converted by
// llama.cpp, which keeps only the rows of its answer tokens (cls.output)
// when its lm_head is not tied to the embedding.
var ErrNoLMHead = errors.New("the model has no language-model head")

// ClassHead is a classification head: one row of NEmbd weights per label,
// applied to the final normalised hidden state (Batch.Hidden).
type ClassHead struct {
	Labels []string    // {arch}.classifier.output_labels (may be empty)
	Rows   [][]float32 // one per output
	Bias   []float32   // cls.output.bias, nil when absent
	// Pooler is an encoder's dense layer before the outputs (cls.weight,
	// one row per output value, and cls.bias, nil when absent): the
	// hidden state h becomes tanh(Pooler·h + PoolerBias) first, as
	// RoBERTa's classification head (llama.cpp's rank pooling). Nil for
	// none.
	Pooler     [][]float32
	PoolerBias []float32
}

// Heads is implemented by models that hand over their output layers'
// rows, which turn a hidden state into scores without a vocabulary-wide
// matmul (a reranker's two answers).
type Heads interface {
	// ClassifierHead returns the file's classification head (cls.output,
	// which llama.cpp's converter writes for rerankers); ok is false when
	// the file has none.
	ClassifierHead() (h ClassHead, ok bool, err error)
	// OutputRows returns rows ids of the lm_head matrix, dequantized: a
	// token's logit is its row's dot product with the hidden state.
	OutputRows(ids []int32) ([][]float32, error)
}

// bindClassifier binds the optional cls.output head and decides whether
// the file still has a language-model head: an output.weight, or the
// embedding when the head is tied. A file with cls.output and no
// output.weight was either tied (the head's rows are the embedding's rows
// of its labels' tokens) or had its lm_head replaced by the head; only the
// first keeps the logits.
func (m *transformer) bindClassifier(b *binder) error {
	m.lmHead = true
	ti, ok := b.f.Tensor("cls.output.weight")
	if !ok {
		return nil
	}
	n := 1
	if len(ti.Dims) > 1 {
		n = int(ti.Dims[1])
	}
	if n < 1 || n > 1024 {
		return fmt.Errorf("tensor %q has shape %v, want [%d, n_labels]: %w", ti.Name, ti.Dims, m.hp.NEmbd, ErrBadShape)
	}
	var err error
	if m.cls, _, err = b.bind(ti.Name, true, m.hp.NEmbd, n); err != nil {
		return err
	}
	if m.clsBias, _, err = b.optVector("cls.output.bias", n); err != nil {
		return err
	}
	m.clsLabels, _ = b.f.Strings(b.f.Arch() + ".classifier.output_labels")
	m.clsLabels = slices.Clone(m.clsLabels)
	if _, untied := b.f.Tensor("output.weight"); !untied {
		m.lmHead = headIsEmbedding(b.f, ti, m.clsLabels)
	}
	m.hp.NoLMHead = !m.lmHead
	return nil
}

// headIsEmbedding reports whether each row of the head is, value for
// value, the embedding row of the token spelled as its label (a tied
// reranker: llama.cpp's converter copied those rows).
func headIsEmbedding(f *gguf.File, head *gguf.TensorInfo, labels []string) bool {
	emb, ok := f.Tensor("token_embd.weight")
	if !ok || len(labels) == 0 {
		return false
	}
	tokens, _ := f.Strings("tokenizer.ggml.tokens")
	cols := int(head.Dims[0])
	hd, ed := f.TensorData(head), f.TensorData(emb)
	hrb, err1 := head.Type.RowBytes(cols)
	erb, err2 := emb.Type.RowBytes(cols)
	if err1 != nil || err2 != nil || hd == nil || ed == nil {
		return false
	}
	a, b := make([]float32, cols), make([]float32, cols)
	for i, label := range labels {
		id := slices.Index(tokens, label)
		if id < 0 || (i+1)*hrb > len(hd) || (id+1)*erb > len(ed) {
			return false
		}
		if quant.Dequantize(head.Type, hd[i*hrb:(i+1)*hrb], a) != nil ||
			quant.Dequantize(emb.Type, ed[id*erb:(id+1)*erb], b) != nil ||
			!slices.Equal(a, b) {
			return false
		}
	}
	return true
}

// ClassifierHead implements Heads.
func (m *transformer) ClassifierHead() (ClassHead, bool, error) {
	if !m.cls.Valid() {
		return ClassHead{}, false, nil
	}
	ids := make([]int32, m.cls.Rows)
	for i := range ids {
		ids[i] = int32(i)
	}
	rows, err := m.rowsOf(m.cls, ids)
	if err != nil {
		return ClassHead{}, false, fmt.Errorf("classification head: %w", err)
	}
	h := ClassHead{Labels: slices.Clone(m.clsLabels), Rows: rows}
	if h.Bias, err = m.vectorOf(m.clsBias); err != nil {
		return ClassHead{}, false, fmt.Errorf("classification head bias: %w", err)
	}
	if m.pooler.Valid() {
		all := make([]int32, m.pooler.Rows)
		for i := range all {
			all[i] = int32(i)
		}
		if h.Pooler, err = m.rowsOf(m.pooler, all); err != nil {
			return ClassHead{}, false, fmt.Errorf("classification head pooler: %w", err)
		}
		if h.PoolerBias, err = m.vectorOf(m.poolerBias); err != nil {
			return ClassHead{}, false, fmt.Errorf("classification head pooler bias: %w", err)
		}
	}
	return h, true, nil
}

// vectorOf reads a one-row tensor (nil for the zero Tensor).
func (m *transformer) vectorOf(t backends.Tensor) ([]float32, error) {
	if !t.Valid() {
		return nil, nil
	}
	rows, err := m.rowsOf(t, []int32{0})
	if err != nil {
		return nil, err
	}
	return rows[0], nil
}

// OutputRows implements Heads.
func (m *transformer) OutputRows(ids []int32) ([][]float32, error) {
	if !m.lmHead {
		return nil, ErrNoLMHead
	}
	for _, id := range ids {
		if id < 0 || int(id) >= m.hp.NVocab {
			return nil, fmt.Errorf("output row %d: %w", id, ErrBadToken)
		}
	}
	return m.rowsOf(m.output, ids)
}

// rowsOf dequantizes rows ids of t through the device (the weights may
// live in its memory, or repacked).
func (m *transformer) rowsOf(t backends.Tensor, ids []int32) ([][]float32, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, errors.New("model is closed")
	}
	buf, err := m.dev.Alloc(4*len(ids)*t.Cols, backends.UsageScratch)
	if err != nil {
		return nil, err
	}
	if f, ok := m.dev.(backends.BufferFreer); ok {
		defer func() { _ = f.Free(buf) }()
	}
	dst := backends.Tensor{Name: t.Name + ".rows", Buf: buf, Type: quant.F32, Rows: len(ids), Cols: t.Cols}
	flat := make([]float32, len(ids)*t.Cols)
	m.stream.GetRows(dst, t, ids)
	m.stream.Read(flat, dst)
	if err := m.stream.Sync(); err != nil {
		return nil, err
	}
	rows := make([][]float32, len(ids))
	for i := range rows {
		rows[i] = flat[i*t.Cols : (i+1)*t.Cols : (i+1)*t.Cols]
	}
	return rows, nil
}

// DenseOut is implemented by embedding models whose pooled embedding goes
// through dense projections (a sentence-transformers model converted with
// its Dense modules: EmbeddingGemma's dense_2 and dense_3), in order.
type DenseOut interface {
	// DenseLayers returns each projection's rows (one per output value),
	// dequantized; none when the file has none.
	DenseLayers() ([][][]float32, error)
}

// bindDense binds an optional projection matrix of ggml shape [cols,
// rows]; cols (when the previous projection fixes it) or rows (the
// embedding's width for the last) must match, 0 leaving it free.
func bindDense(b *binder, name string, cols, rows int) (backends.Tensor, error) {
	ti, ok := b.f.Tensor(name)
	if !ok {
		return backends.Tensor{}, nil
	}
	if len(ti.Dims) != 2 || (cols > 0 && int(ti.Dims[0]) != cols) || (rows > 0 && int(ti.Dims[1]) != rows) {
		return backends.Tensor{}, fmt.Errorf("tensor %q has shape %v, want [%d, %d] (0: any): %w", name, ti.Dims, cols, rows, ErrBadShape)
	}
	t, _, err := b.bind(name, true, int(ti.Dims[0]), int(ti.Dims[1]))
	return t, err
}

// DenseLayers implements DenseOut.
func (m *transformer) DenseLayers() ([][][]float32, error) {
	var out [][][]float32
	for _, t := range []backends.Tensor{m.dense2, m.dense3} {
		if !t.Valid() {
			continue
		}
		ids := make([]int32, t.Rows)
		for i := range ids {
			ids[i] = int32(i)
		}
		rows, err := m.rowsOf(t, ids)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t.Name, err)
		}
		out = append(out, rows)
	}
	return out, nil
}
