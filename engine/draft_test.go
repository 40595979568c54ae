package engine

import (
	"fmt"
	"math"
	"testing"

	"go.uber.org/zap/zaptest"
)

// A draft model changes how many steps a reply takes, never the reply:
// every request streams what it streams without drafts, whether the draft
// model is the target itself (its picks are the greedy replies, so a
// greedy request keeps every draft but one at its end, which only holds
// if the draft cache follows each sequence exactly through rejections,
// catching up and preemption) or a model that mostly disagrees, with the
// cache ample, so short that sequences are preempted and draft blocks
// run out, and with steps so small that catching up takes several passes.
func TestDraftModelMatchesPlain(t *testing.T) {
	for _, tc := range []struct {
		name                string
		targetMarkov, draft bool // draft: the draft model repeats itself (markov)
		same                bool // the draft model computes the target's function
	}{
		{"draft is the target", false, false, true},
		{"draft is the repeating target", true, true, true},
		{"draft disagrees", false, true, false},
		{"draft disagrees with a repeating target", true, false, false},
	} {
		for _, c := range []struct{ blocks, budget int }{{64, 0}, {14, 0}, {64, 24}} {
			t.Run(fmt.Sprintf("%s, %d blocks, %d tokens a step", tc.name, c.blocks, c.budget), func(t *testing.T) {
				for _, greedy := range []bool{false, true} {
					edit := func(i int, r *Request) {
						if greedy {
							r.Sampling = greedyParams()
						}
					}
					base := Config{NumBlocks: c.blocks, MaxNumBatchedTokens: c.budget}
					plain, ps := runSpecRequests(t, base, tc.targetMarkov, edit)
					d := newFakeModel(512)
					d.markov = tc.draft
					cfg := base
					cfg.SpecTokens, cfg.Draft, cfg.DraftPMin = 6, d, -1
					outs, ss := runSpecRequests(t, cfg, tc.targetMarkov, edit)
					if d.bad != nil {
						t.Fatalf("draft model: %v", d.bad)
					}
					for i := range plain {
						if p, s := plain[i], outs[i]; !sameReply(p, s) {
							t.Errorf("greedy %v, request %d: with drafts %v %q (%s, %+v), plain %v %q (%s, %+v)",
								greedy, i, s.tokens, s.text, s.reason, s.usage, p.tokens, p.text, p.reason, p.usage)
						}
					}
					t.Logf("greedy %v: steps %d against %d plain; drafts %d, kept %d; draft passes %d, tokens %d; preemptions %d",
						greedy, ss.Steps, ps.Steps, ss.SpecDraftTokens, ss.SpecAcceptedTokens, ss.DraftPasses, ss.DraftTokens, ss.Preemptions)
					if ss.SpecDraftTokens == 0 || ss.DraftPasses == 0 || ss.DraftTokens < ss.SpecDraftTokens {
						t.Fatalf("drafts %d from %d passes of %d tokens: the test does not exercise the draft model", ss.SpecDraftTokens, ss.DraftPasses, ss.DraftTokens)
					}
					if ss.GenerationTokens != ps.GenerationTokens || ss.Preemptions > ps.Preemptions {
						t.Errorf("generation tokens %d, preemptions %d with drafts; %d, %d without", ss.GenerationTokens, ss.Preemptions, ps.GenerationTokens, ps.Preemptions)
					}
					if tc.same && greedy {
						// A reply's last token may be a draft the engine drops
						// (it ends the reply): one a request.
						if lost := ss.SpecDraftTokens - ss.SpecAcceptedTokens; lost > int64(len(plain)) {
							t.Errorf("the target's own greedy picks: %d of %d drafts not kept", lost, ss.SpecDraftTokens)
						}
						if ss.Steps >= ps.Steps {
							t.Errorf("%d steps with drafts all kept, %d without", ss.Steps, ps.Steps)
						}
					}
				}
			})
		}
	}
}

// The draft model's cache is given back with each sequence, and between
// steps every draft block is either free or in exactly one live table.
func checkDraftInvariants(t testing.TB, e *Engine) {
	t.Helper()
	d := e.draft
	owner := map[int32]string{}
	for _, b := range d.free {
		owner[b] = "free"
	}
	held := 0
	for _, s := range d.holders {
		if s.finished {
			t.Fatalf("finished %s holds %d draft blocks", s.id, len(s.dBlocks))
		}
		if s.dComputed > len(s.dBlocks)*d.bs || s.dComputed > len(s.tokens)+len(s.dFed) {
			t.Fatalf("%s: draft cache claims %d positions with %d blocks, %d tokens", s.id, s.dComputed, len(s.dBlocks), len(s.tokens))
		}
		if fm, ok := d.m.(*fakeModel); ok {
			checkDraftCache(t, fm, s)
		}
		for _, b := range s.dBlocks {
			if o, ok := owner[b]; ok {
				t.Fatalf("draft block %d of %s also %s", b, s.id, o)
			}
			owner[b] = s.id
			held++
		}
	}
	if n := d.kv.NumBlocks(); len(d.free)+held != n || len(owner) != n {
		t.Fatalf("draft blocks: %d free + %d held, %d distinct, of %d", len(d.free), held, len(owner), n)
	}
}

// checkDraftCache verifies that the fake draft model's cache holds s's
// history: each position below dComputed the token the sequence has there
// (or the draft fed there), chained from the start.
func checkDraftCache(t testing.TB, fm *fakeModel, s *Sequence) {
	t.Helper()
	h := fakeRoot
	for p := range s.dComputed {
		want := int32(-1)
		switch {
		case p < s.dBase && p < len(s.tokens):
			want = s.tokens[p]
		case p >= s.dBase && p-s.dBase < len(s.dFed):
			want = s.dFed[p-s.dBase]
		}
		sl := fm.slot(s.dBlocks, int32(p))
		h = mix(h, want)
		if !sl.valid || sl.pos != int32(p) || sl.tok != want || sl.h != h {
			t.Fatalf("%s: draft cache position %d of %d holds %+v, want token %d (base %d, fed %v)", s.id, p, s.dComputed, *sl, want, s.dBase, s.dFed)
		}
	}
}

func TestDraftPick(t *testing.T) {
	peaked := []float32{0, 10, 1, 2}
	flat := []float32{1, 1.1, 1, 1}
	for _, tc := range []struct {
		name  string
		row   []float32
		n     int
		pMin  float64
		want  int32
		wantK bool
	}{
		{"peaked", peaked, 4, 0.75, 1, true},
		{"flat", flat, 4, 0.75, 1, false},
		{"flat, no minimum", flat, 4, -1, 1, true},
		{"flat, low minimum", flat, 4, 0.2, 1, true},
		{"only ids both models have", []float32{0, 1, 2, 9}, 3, -1, 2, true},
		{"the draft's own ids count in the probability", []float32{0, 9, 0, 9}, 3, 0.75, 1, false},
		{"far below the best: skipped, not summed into a NaN", []float32{-1e30, 5, float32(math.Inf(-1))}, 3, 0.99, 1, true},
	} {
		got, ok := draftPick(tc.row, tc.n, tc.pMin)
		if got != tc.want || ok != tc.wantK {
			t.Errorf("%s: %d, %v; want %d, %v", tc.name, got, ok, tc.want, tc.wantK)
		}
	}
}

// A probability threshold the fake's flat logits never reach: the draft
// model runs but no draft is fed, and the sequences back off (1, 2, 4,
// then 8 steps between attempts: in 60 steps some ten attempts, batched
// across the sequences, where no back-off would take 60 passes).
func TestDraftPMinStopsDrafting(t *testing.T) {
	d := newFakeModel(512)
	_, ss := runSpecRequests(t, Config{NumBlocks: 64, SpecTokens: 4, Draft: d, DraftPMin: 0.999}, false, nil)
	t.Logf("%d steps, %d draft passes of %d tokens", ss.Steps, ss.DraftPasses, ss.DraftTokens)
	if ss.DraftPasses == 0 || ss.SpecDraftTokens != 0 || ss.DraftPasses*4 > ss.Steps {
		t.Fatalf("%d draft passes in %d steps, %d drafts fed", ss.DraftPasses, ss.Steps, ss.SpecDraftTokens)
	}
}

// The back-off: refusals skip at once, unsure attempts from the fourth
// in a row, skips doubling to 8; a kept draft starts over.
func TestDraftBackOff(t *testing.T) {
	for _, tc := range []struct {
		name   string
		events string // r: refused, u: nothing fed, k: kept
		skips  []int  // s.skip after each
	}{
		{"unsure", "uuuuuuuu", []int{0, 0, 0, 1, 2, 4, 8, 8}},
		{"refused", "rrrrr", []int{1, 2, 4, 8, 8}},
		{"unsure, then refused", "uur", []int{0, 0, 1}},
		{"kept starts over", "rrkuuuu", []int{1, 2, 2, 2, 2, 2, 1}},
	} {
		s := &Sequence{}
		for i, ev := range tc.events {
			switch ev {
			case 'k':
				noteDraftKept(s)
			default:
				noteDraftMiss(s, ev == 'r')
			}
			if s.skip != tc.skips[i] {
				t.Errorf("%s: after %q skip %d, want %d", tc.name, tc.events[:i+1], s.skip, tc.skips[i])
				break
			}
		}
	}
}

// A failing draft pass costs that step's drafts, nothing else.
func TestDraftModelFailure(t *testing.T) {
	plain, _ := runSpecRequests(t, Config{NumBlocks: 64}, true, nil)
	d := newFakeModel(512)
	d.markov = true
	d.failNext = fmt.Errorf("draft device lost")
	outs, ss := runSpecRequests(t, Config{NumBlocks: 64, Draft: d, DraftPMin: -1}, true, nil)
	for i := range plain {
		if !sameReply(plain[i], outs[i]) {
			t.Errorf("request %d: %v, plain %v", i, outs[i].tokens, plain[i].tokens)
		}
	}
	if d.failNext != nil || ss.SpecAcceptedTokens == 0 || ss.FinishedError != 0 {
		t.Fatalf("failure not reached (%v), or drafting stopped for good (%d kept), or requests failed (%d)", d.failNext, ss.SpecAcceptedTokens, ss.FinishedError)
	}
}

func TestDraftModelConfigErrors(t *testing.T) {
	other := newFakeModel(512)
	other.cfg.NVocab = fakeVocab + maxDraftVocabDiff + 1
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"vocabulary", Config{NumBlocks: 8, Draft: other}},
		{"p_min of 1", Config{NumBlocks: 8, Draft: newFakeModel(512), DraftPMin: 1}},
	} {
		if _, err := New(tc.cfg, newFakeModel(64), fakeTokenizer{}, zaptest.NewLogger(t)); err == nil {
			t.Errorf("%s: no error", tc.name)
		} else {
			t.Logf("%s: %v", tc.name, err)
		}
	}
	// Defaults: the draft's own token cap and probability.
	e, err := New(Config{NumBlocks: 8, Draft: newFakeModel(512)}, newFakeModel(64), fakeTokenizer{}, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if e.cfg.SpecTokens != DefaultDraftTokens || e.cfg.DraftPMin != DefaultDraftPMin || e.draft.kv.NumBlocks() != 8 {
		t.Fatalf("draft max %d, p_min %v, %d draft blocks", e.cfg.SpecTokens, e.cfg.DraftPMin, e.draft.kv.NumBlocks())
	}
}
