package model_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/nuri-ai/nuri/internal/synth"
	"github.com/nuri-ai/nuri/kernels"
	"github.com/nuri-ai/nuri/model"
	"github.com/nuri-ai/nuri/quant"
)

// testThreads keeps test runs polite on the shared 2-core machine.
const testThreads = 2

// testKernels mirrors cmd/nuri: NURI_KERNELS=avx2 or generic (as `make
// test` sets for further runs) checks AVX2's kernels and the pure-Go path
// too.
func testKernels(t *testing.T) kernels.KernelSet {
	t.Helper()
	k, err := kernels.ParseKernelSet(os.Getenv("NURI_KERNELS"))
	if err != nil {
		t.Fatalf("NURI_KERNELS: %v", err)
	}
	return k
}

func loadModel(t *testing.T, path string) model.Model {
	t.Helper()
	m, err := model.Load(path, model.LoadOptions{Threads: testThreads, Kernels: testKernels(t)})
	if err != nil {
		t.Fatalf("load %s: %v", path, err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("close %s: %v", path, err)
		}
	})
	return m
}

// session is one sequence over its own cache: the minimal single-sequence
// runner the tests need (the engine owns the real scheduler).
type session struct {
	m   model.Model
	kv  model.KVView
	pos int
}

func newSession(m model.Model, nPos int, kvType quant.Type) (*session, error) {
	return newSessionKV(m, nPos, model.SameKV(kvType))
}

// newSessionKV is newSession with a cache of K and V types kvTypes.
func newSessionKV(m model.Model, nPos int, kvTypes model.KVTypes) (*session, error) {
	kv, err := model.NewSequenceView(m.Config(), nPos, 16, kvTypes)
	if err != nil {
		return nil, err
	}
	return &session{m: m, kv: kv}, nil
}

// feed runs tokens at the next positions and returns the logits of every
// row (all=true) or of the last one.
func (s *session) feed(tokens []int32, all bool) ([]float32, error) {
	n := len(tokens)
	b := &model.Batch{Tokens: tokens, Pos: make([]int32, n), Seq: make([]int32, n)}
	for i := range tokens {
		b.Pos[i] = int32(s.pos + i)
	}
	if all {
		b.Logits = make([]bool, n)
		for i := range b.Logits {
			b.Logits[i] = true
		}
	}
	out := make([]float32, b.NumLogits()*s.m.Config().NVocab)
	if err := s.m.Forward(b, s.kv, out); err != nil {
		return nil, err
	}
	s.pos += n
	return out, nil
}

// greedy prefills prompt and then decodes nSteps tokens one at a time with
// the KV cache, taking the argmax each step (lowest id on ties, like
// llama_sampler_init_greedy). It also returns the prompt's logits.
func greedy(m model.Model, prompt []int32, nSteps int, kvType quant.Type) (toks []int32, promptLogits []float32, err error) {
	return greedyKV(m, prompt, nSteps, model.SameKV(kvType))
}

// greedyKV is greedy with a cache of K and V types kvTypes.
func greedyKV(m model.Model, prompt []int32, nSteps int, kvTypes model.KVTypes) (toks []int32, promptLogits []float32, err error) {
	s, err := newSessionKV(m, len(prompt)+nSteps, kvTypes)
	if err != nil {
		return nil, nil, err
	}
	promptLogits, err = s.feed(prompt, true)
	if err != nil {
		return nil, nil, err
	}
	nv := m.Config().NVocab
	last := promptLogits[len(promptLogits)-nv:]
	for range nSteps {
		tok := argmax(last)
		toks = append(toks, tok)
		if len(toks) == nSteps {
			break
		}
		if last, err = s.feed([]int32{tok}, false); err != nil {
			return nil, nil, err
		}
	}
	return toks, promptLogits, nil
}

func argmax(x []float32) int32 {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return int32(best)
}

func sameTokens(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func fmtTokens(x []int32) string { return fmt.Sprint(x) }

// writeTiny writes synth's "tiny" shape in weight type typ (tied or not)
// into the test's temporary directory and returns the file's path.
func writeTiny(t *testing.T, typ string, tied bool, seed uint64) string {
	t.Helper()
	shape, err := synth.Lookup("tiny")
	if err != nil {
		t.Fatal(err)
	}
	shape.Tied = tied
	path := filepath.Join(t.TempDir(), "tiny.gguf")
	if err := synth.Write(path, synth.Options{Shape: shape, Type: typ, Seed: seed}); err != nil {
		t.Fatal(err)
	}
	return path
}
