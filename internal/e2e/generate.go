package e2e

import (
	"fmt"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/backends/conformance"
	"github.com/nuri-ai/nuri/model"
	"github.com/nuri-ai/nuri/quant"
)

// Greedy prefills prompt on m (its KV cache on dev) and then decodes n
// tokens one at a time, taking the argmax each step (lowest id on ties).
func Greedy(m model.Model, dev backends.Device, prompt []int32, n int) ([]int32, error) {
	cfg := m.Config()
	const blockSize = 16
	nb := (len(prompt) + n + blockSize - 1) / blockSize
	kv, err := model.NewKVCacheOn(dev, cfg, nb, blockSize, model.SameKV(quant.F16))
	if err != nil {
		return nil, err
	}
	table := make([]int32, nb)
	for i := range table {
		table[i] = int32(i)
	}
	view := model.KVView{Cache: kv, Tables: [][]int32{table}}
	logits := make([]float32, cfg.NVocab)
	toks := append([]int32(nil), prompt...)
	batch := prompt
	for len(toks) < len(prompt)+n {
		b := &model.Batch{Tokens: batch, Pos: make([]int32, len(batch)), Seq: make([]int32, len(batch))}
		for i := range batch {
			b.Pos[i] = int32(len(toks) - len(batch) + i)
		}
		if err := m.Forward(b, view, logits); err != nil {
			return nil, fmt.Errorf("step %d: %w", len(toks)-len(prompt), err)
		}
		next := int32(conformance.Argmax(logits))
		toks = append(toks, next)
		batch = []int32{next}
	}
	return toks[len(prompt):], nil
}
