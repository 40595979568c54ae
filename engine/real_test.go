package engine

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/nuri-ai/nuri/gguf"
	"github.com/nuri-ai/nuri/internal/synth"
	"github.com/nuri-ai/nuri/internal/testshared"
	"github.com/nuri-ai/nuri/model"
	"github.com/nuri-ai/nuri/quant"
	"github.com/nuri-ai/nuri/sample"
	"github.com/nuri-ai/nuri/tokenizer"
)

// realModel is a loaded model with its tokenizer.
type realModel struct {
	name string
	m    model.Model
	tok  *tokenizer.Tokenizer
}

func loadReal(t testing.TB, name, path string) realModel {
	t.Helper()
	m, err := model.Load(path, model.LoadOptions{Threads: 2})
	if err != nil {
		t.Fatalf("load %s: %v", path, err)
	}
	t.Cleanup(func() { m.Close() })
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tok, err := tokenizer.Load(f)
	if err != nil {
		t.Fatalf("tokenizer of %s: %v", path, err)
	}
	return realModel{name: name, m: m, tok: tok}
}

func storiesModel(t testing.TB) realModel {
	return loadReal(t, "stories260K", testshared.Path(t, "models", "stories260K.gguf"))
}

// tinyModel writes the synth "tiny" shape (llama, 2 layers, Q8_0) into a
// temporary directory and loads it.
func tinyModel(t testing.TB) realModel {
	shape, err := synth.Lookup("tiny")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tiny-q8_0.gguf")
	if err := synth.Write(path, synth.Options{Shape: shape, Type: "Q8_0", Seed: 7}); err != nil {
		t.Fatalf("synth tiny: %v", err)
	}
	return loadReal(t, "tiny", path)
}

func (rm realModel) engine(t testing.TB, cfg Config) *Engine {
	t.Helper()
	e, err := New(cfg, rm.m, rm.tok, zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// randomPrompts returns n prompts of varied lengths over [lo, vocab).
func randomPrompts(seed uint64, n, maxLen, lo, vocab int) [][]int32 {
	r := rand.New(rand.NewPCG(seed, 1))
	out := make([][]int32, n)
	for i := range out {
		p := make([]int32, 1+r.IntN(maxLen))
		for j := range p {
			p[j] = int32(lo + r.IntN(vocab-lo))
		}
		out[i] = p
	}
	return out
}

// runAlone generates for each prompt on an engine of its own, one request
// at a time, prefix caching off: the reference the batched run must match.
func runAlone(t *testing.T, rm realModel, prompts [][]int32, maxTokens func(i int) int) [][]int32 {
	out := make([][]int32, len(prompts))
	for i, p := range prompts {
		e := rm.engine(t, Config{NumBlocks: 64, DisablePrefixCaching: true})
		s := submit(t, e, Request{Prompt: p, MaxTokens: maxTokens(i), Sampling: greedyParams(), IgnoreEOS: true})
		o := drive(t, e, []*Sequence{s}, 10000)[0]
		if o.finish != FinishLength {
			t.Fatalf("%s prompt %d alone: finish %q %v", rm.name, i, o.finish, o.err)
		}
		out[i] = o.tokens
		e.Close()
	}
	return out
}

// TestBatchInvarianceRealModels: 16 concurrent greedy requests with
// different prompts and lengths produce exactly the tokens each produces
// alone, with prompts chunked and batched with decodes of the others.
func TestBatchInvarianceRealModels(t *testing.T) {
	for _, load := range []func(testing.TB) realModel{storiesModel, tinyModel} {
		rm := load(t)
		t.Run(rm.name, func(t *testing.T) {
			nv := rm.m.Config().NVocab
			maxLen, maxTokens := 60, func(i int) int { return 6 + 2*i }
			if raceEnabled {
				maxLen, maxTokens = 20, func(i int) int { return 2 + i/3 }
			}
			prompts := randomPrompts(42, 16, maxLen, 3, nv)
			want := runAlone(t, rm, prompts, maxTokens)
			for _, budget := range []int{512, 37} {
				t.Run(fmt.Sprint("budget ", budget), func(t *testing.T) {
					e := rm.engine(t, Config{NumBlocks: 256, MaxNumBatchedTokens: budget})
					var seqs []*Sequence
					for i, p := range prompts {
						seqs = append(seqs, submit(t, e, Request{Prompt: p, MaxTokens: maxTokens(i), Sampling: greedyParams(), IgnoreEOS: true}))
					}
					outs := drive(t, e, seqs, 10000)
					for i, o := range outs {
						if !slices.Equal(o.tokens, want[i]) {
							t.Errorf("prompt %d (%d tokens): batched %v\nalone %v", i, len(prompts[i]), o.tokens, want[i])
						}
					}
					assertAllFree(t, e)
				})
			}
		})
	}
}

// TestPrefixCacheRealModel: a request sharing a 256-token prefix with an
// earlier one prefills only the remainder and still produces the uncached
// output.
func TestPrefixCacheRealModel(t *testing.T) {
	rm := storiesModel(t)
	ps := randomPrompts(7, 3, 40, 3, rm.m.Config().NVocab)
	shared := make([]int32, 0, 256)
	for len(shared) < 256 {
		shared = append(shared, ps[0]...)
	}
	shared = shared[:256]
	first := append(slices.Clone(shared), ps[1]...)
	second := append(slices.Clone(shared), ps[2]...)
	want := runAlone(t, rm, [][]int32{second}, func(int) int { return 20 })[0]

	e := rm.engine(t, Config{NumBlocks: 64})
	drive(t, e, []*Sequence{submit(t, e, Request{Prompt: first, MaxTokens: 5, Sampling: greedyParams(), IgnoreEOS: true})}, 1000)
	before := e.Stats()
	o := drive(t, e, []*Sequence{submit(t, e, Request{Prompt: second, MaxTokens: 20, Sampling: greedyParams(), IgnoreEOS: true})}, 1000)[0]
	after := e.Stats()
	if got := after.PrefillTokens - before.PrefillTokens; got != int64(len(ps[2])) {
		t.Fatalf("second request prefilled %d tokens, want the %d after the shared prefix", got, len(ps[2]))
	}
	if o.usage.CachedTokens != 256 {
		t.Fatalf("cached tokens %d, want 256", o.usage.CachedTokens)
	}
	if !slices.Equal(o.tokens, want) {
		t.Fatalf("cached run %v\nuncached %v", o.tokens, want)
	}
	assertAllFree(t, e)
}

// TestTextMatchesStreamDecoder: the engine's text assembly (pieces through
// textOut) streams exactly what the tokenizer's own StreamDecoder does,
// over random ids of Korean-capable byte-level vocabularies, where
// Hangul syllables are routinely split across tokens.
func TestTextMatchesStreamDecoder(t *testing.T) {
	for _, name := range []string{"ggml-vocab-qwen3.gguf", "ggml-vocab-exaone.gguf", "ggml-vocab-llama3.gguf"} {
		t.Run(name, func(t *testing.T) {
			tok, err := tokenizer.LoadFile(testshared.Path(t, "testdata", "tokenizer", name))
			if err != nil {
				t.Fatal(err)
			}
			korean, err := tok.Encode("한국어 토큰화는 어렵습니다. 안녕하세요! 날씨가 좋네요 😀", false, false)
			if err != nil {
				t.Fatal(err)
			}
			r := rand.New(rand.NewPCG(5, 5))
			for trial := range 50 {
				ids := slices.Clone(korean)
				for range r.IntN(20) { // random ids, byte tokens among them
					ids = slices.Insert(ids, r.IntN(len(ids)+1), int32(r.IntN(tok.NVocab())))
				}
				dec := tok.NewStreamDecoder(false)
				o := textOut{}
				var got, want string
				for _, id := range ids {
					piece, err := tok.Piece(id, false)
					if err != nil {
						t.Fatal(err)
					}
					s, _, _ := o.push(piece, true)
					got += s
					w, err := dec.Push(id)
					if err != nil {
						t.Fatal(err)
					}
					want += w
				}
				got += o.flush()
				want += dec.Flush()
				if got != want {
					t.Fatalf("trial %d: engine text %q\nstream decoder %q", trial, got, want)
				}
			}
		})
	}
}

// TestSpeculativeRealModel: on stories260K, with its own stories as
// prompts, n-gram drafts are kept often, and every token, greedy or
// sampled, is the one plain decoding gives (batch invariance makes a
// draft's row the row plain decoding computes).
func TestSpeculativeRealModel(t *testing.T) {
	rm := storiesModel(t)
	reqs := storiesRequests(t, rm)
	run := func(spec int) ([]*outcome, Stats) {
		return runReal(t, rm, Config{NumBlocks: 64, SpecTokens: spec, SpecMaxSeqs: len(reqs)}, reqs)
	}
	plain, ps := run(0)
	spec, ss := run(5)
	for i := range plain {
		if !slices.Equal(plain[i].tokens, spec[i].tokens) || plain[i].text != spec[i].text {
			t.Errorf("request %d: speculative %q\nplain %q", i, spec[i].text, plain[i].text)
		}
	}
	t.Logf("steps %d plain, %d speculative; drafts %d, kept %d (%.0f %%)", ps.Steps, ss.Steps, ss.SpecDraftTokens, ss.SpecAcceptedTokens,
		100*float64(ss.SpecAcceptedTokens)/float64(max(1, ss.SpecDraftTokens)))
	if ss.SpecAcceptedTokens == 0 {
		t.Error("no draft kept on repetitive stories")
	}
}

// TestDraftModelRealModel: stories260K drafting for itself (a second
// instance, its own cache). Every token is the one plain decoding gives,
// and a greedy request keeps every draft but at most one at its end: the
// draft model's logits for a token are the target's (batch invariance),
// so a lost draft means the draft cache lost track of a sequence.
func TestDraftModelRealModel(t *testing.T) {
	rm := storiesModel(t)
	draft := storiesModel(t)
	reqs := storiesRequests(t, rm)
	plain, ps := runReal(t, rm, Config{NumBlocks: 64}, reqs)
	for _, greedyOnly := range []bool{false, true} {
		rs := slices.Clone(reqs)
		if greedyOnly {
			rs[2].Sampling = greedyParams()
			plain, ps = runReal(t, rm, Config{NumBlocks: 64}, rs)
		}
		outs, ss := runReal(t, rm, Config{NumBlocks: 64, Draft: draft.m, SpecMaxSeqs: len(rs)}, rs)
		for i := range plain {
			if !slices.Equal(plain[i].tokens, outs[i].tokens) || plain[i].text != outs[i].text {
				t.Errorf("request %d: with a draft model %q\nplain %q", i, outs[i].text, plain[i].text)
			}
		}
		t.Logf("greedy only %v: steps %d plain, %d with the draft model; drafts %d, kept %d (%.0f %%); draft passes %d, tokens %d",
			greedyOnly, ps.Steps, ss.Steps, ss.SpecDraftTokens, ss.SpecAcceptedTokens,
			100*float64(ss.SpecAcceptedTokens)/float64(max(1, ss.SpecDraftTokens)), ss.DraftPasses, ss.DraftTokens)
		if ss.SpecAcceptedTokens == 0 || ss.Steps >= ps.Steps {
			t.Errorf("%d drafts kept, %d steps against %d", ss.SpecAcceptedTokens, ss.Steps, ps.Steps)
		}
		if lost := ss.SpecDraftTokens - ss.SpecAcceptedTokens; greedyOnly && lost > int64(len(rs)) {
			t.Errorf("greedy requests drafted for by their own model: %d of %d drafts not kept", lost, ss.SpecDraftTokens)
		}
	}
}

// storiesRequests are three stories260K requests on repetitive story
// openings: two greedy, one sampled.
func storiesRequests(t *testing.T, rm realModel) []Request {
	texts := []string{
		"Once upon a time, there was a little girl named Lily. Lily loved to play with her ball. One day, Lily",
		"Tom had a red car. Tom liked his red car very much. Every day Tom",
		"The cat sat on the mat. The dog sat on the mat too. Then the cat",
	}
	var reqs []Request
	for i, text := range texts {
		ids, err := rm.tok.Encode(text, true, false)
		if err != nil {
			t.Fatal(err)
		}
		p := greedyParams()
		if i == 2 {
			p = sample.DefaultParams()
			p.Temperature, p.Seed, p.HasSeed = 0.8, 11, true
		}
		n := 80
		if raceEnabled {
			n = 24
		}
		reqs = append(reqs, Request{Prompt: ids, MaxTokens: n, Sampling: p, IgnoreEOS: true})
	}
	return reqs
}

// runReal runs reqs to their end on an engine over rm with cfg.
func runReal(t *testing.T, rm realModel, cfg Config, reqs []Request) ([]*outcome, Stats) {
	e := rm.engine(t, cfg)
	defer e.Close()
	var seqs []*Sequence
	for _, r := range reqs {
		seqs = append(seqs, submit(t, e, r))
	}
	outs := drive(t, e, seqs, 10000)
	assertAllFree(t, e)
	return outs, e.Stats()
}

// TestMixedKVTypesRealModel: an engine whose cache holds K and V in
// different types (-ctk q8_0 -ctv q4_0) plans its blocks at the two row
// sizes and generates, batched with other requests, the tokens a plain
// greedy decode over a cache of the same types gives. A V type outside
// the cache types is refused at start.
func TestMixedKVTypesRealModel(t *testing.T) {
	rm := tinyModel(t)
	want := model.KVTypes{K: quant.Q8_0, V: quant.Q4_0}
	cfg := Config{NumBlocks: 64, KVCacheType: "q8_0", KVCacheTypeV: "q4_0"}
	e := rm.engine(t, cfg)
	defer e.Close()
	if got := e.KVCacheTypes(); got != want {
		t.Fatalf("cache types %v, want %v", got, want)
	}
	perPos, err := model.KVBytesPerPosition(rm.m.Config(), want, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := e.kv.BytesPerBlock(); got != perPos*DefaultBlockSize {
		t.Errorf("%d bytes a block, want %d", got, perPos*DefaultBlockSize)
	}
	prompts := randomPrompts(9, 4, 40, 3, rm.m.Config().NVocab)
	var seqs []*Sequence
	for _, p := range prompts {
		seqs = append(seqs, submit(t, e, Request{Prompt: p, MaxTokens: 6, Sampling: greedyParams(), IgnoreEOS: true}))
	}
	for i, o := range drive(t, e, seqs, 10000) {
		if ref := greedyDecode(t, rm.m, prompts[i], 6, want); !slices.Equal(o.tokens, ref) {
			t.Errorf("prompt %d: engine %v, greedy decode %v", i, o.tokens, ref)
		}
	}
	if _, err := New(Config{NumBlocks: 64, KVCacheTypeV: "q4_k"}, rm.m, rm.tok, nil); err == nil || !strings.Contains(err.Error(), "the V cache type") {
		t.Errorf("V cache type q4_k: %v; want refused", err)
	}
}

// greedyDecode runs prompt through m over a fresh cache of types kvt and
// then n greedy steps, a token a pass.
func greedyDecode(t *testing.T, m model.Model, prompt []int32, n int, kvt model.KVTypes) []int32 {
	t.Helper()
	kv, err := model.NewSequenceView(m.Config(), len(prompt)+n, 16, kvt)
	if err != nil {
		t.Fatal(err)
	}
	logits := make([]float32, m.Config().NVocab)
	next, pos := prompt, 0
	var out []int32
	for len(out) < n {
		b := &model.Batch{Tokens: next, Pos: make([]int32, len(next)), Seq: make([]int32, len(next))}
		for i := range next {
			b.Pos[i] = int32(pos + i)
		}
		if err := m.Forward(b, kv, logits); err != nil {
			t.Fatal(err)
		}
		pos += len(next)
		best := 0
		for i, v := range logits {
			if v > logits[best] {
				best = i
			}
		}
		out = append(out, int32(best))
		next = []int32{int32(best)}
	}
	return out
}
