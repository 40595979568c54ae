package engine

import (
	"fmt"
	"slices"
	"testing"

	"github.com/nuri-ai/nuri/sample"
)

func TestLookupDrafts(t *testing.T) {
	for _, tc := range []struct {
		name       string
		toks       []int32
		nMin, nMax int
		k          int
		want       []int32
	}{
		{"the latest occurrence wins", []int32{1, 2, 3, 9, 1, 2, 4, 5, 1, 2}, 2, 2, 3, []int32{4, 5, 1}},
		{"the longest n first", []int32{7, 2, 3, 8, 1, 2, 3, 9, 7, 2, 3}, 1, 3, 2, []int32{8, 1}},
		{"falls back to a shorter n", []int32{5, 3, 6, 1, 4, 3}, 1, 3, 4, []int32{6, 1, 4, 3}},
		{"runs into the suffix itself", []int32{4, 4, 4}, 1, 2, 3, []int32{4}},
		{"no match", []int32{1, 2, 3, 4}, 1, 3, 4, nil},
		{"below nMin", []int32{1, 2, 9, 2}, 2, 3, 4, nil},
		{"too short", []int32{1}, 1, 2, 4, nil},
	} {
		if got := lookupDrafts(nil, tc.toks, tc.nMin, tc.nMax, tc.k); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// specRequests are requests of every kind that reaches the sampler:
// greedy, seeded sampling with penalties and truncation, logprobs, stop
// strings, EOS, max_tokens short of a draft.
func specRequests() []Request {
	var reqs []Request
	for i := range 7 {
		p := greedyParams()
		if i%2 == 1 {
			p = sample.DefaultParams()
			p.Temperature, p.Seed, p.HasSeed, p.RepeatPenalty, p.TopK = 0.9, uint64(i), true, 1.1, 20
		}
		r := Request{ID: fmt.Sprint("r", i), Prompt: prompt(40+i, 5+9*i), MaxTokens: 60 - 7*i, Sampling: p, IgnoreEOS: i%3 != 2}
		switch i {
		case 3:
			r.Logprobs, r.TopLogprobs = true, 3
		case 4:
			r.Stop = []string{"w40", "q"}
		case 6:
			r.MaxTokens = 3
		}
		reqs = append(reqs, r)
	}
	return reqs
}

// Speculative decoding changes how many tokens a step emits, never which:
// every request streams the same tokens, text, logprobs and finish with
// drafts as without, on a model whose output never repeats (drafts
// refused) and on one whose output does (drafts kept), with the cache
// ample and with it so short that sequences are preempted.
func TestSpeculativeDecodingMatchesPlain(t *testing.T) {
	for _, markov := range []bool{false, true} {
		for _, blocks := range []int{64, 14} {
			t.Run(fmt.Sprintf("markov %v, %d blocks", markov, blocks), func(t *testing.T) {
				run := func(spec int) ([]*outcome, Stats) {
					return runSpecRequests(t, Config{NumBlocks: blocks, SpecTokens: spec}, markov, nil)
				}
				plain, ps := run(0)
				spec, ss := run(4)
				for i := range plain {
					p, s := plain[i], spec[i]
					if !sameReply(p, s) || s.usage.AcceptedPredictionTokens+s.usage.RejectedPredictionTokens != 0 {
						t.Errorf("request %d: speculative %v %q (%s, %+v), plain %v %q (%s, %+v)", i, s.tokens, s.text, s.reason, s.usage, p.tokens, p.text, p.reason, p.usage)
					}
				}
				t.Logf("steps %d plain, %d speculative; drafts %d, kept %d; preemptions %d", ps.Steps, ss.Steps, ss.SpecDraftTokens, ss.SpecAcceptedTokens, ss.Preemptions)
				if ss.SpecDraftTokens == 0 || ps.SpecDraftTokens != 0 {
					t.Fatalf("drafts %d speculative, %d plain: the test does not exercise drafting", ss.SpecDraftTokens, ps.SpecDraftTokens)
				}
				if ss.GenerationTokens != ps.GenerationTokens {
					t.Errorf("generation tokens %d speculative, %d plain", ss.GenerationTokens, ps.GenerationTokens)
				}
				if markov && (ss.SpecAcceptedTokens == 0 || ss.Steps >= ps.Steps) {
					t.Errorf("repeating output: %d drafts kept, %d steps against %d", ss.SpecAcceptedTokens, ss.Steps, ps.Steps)
				}
				if blocks == 14 && ss.Preemptions == 0 {
					t.Errorf("no preemption with %d blocks", blocks)
				}
				// Drafts take what a step leaves: never a preemption more.
				if ss.Preemptions > ps.Preemptions {
					t.Errorf("%d preemptions with drafts, %d without", ss.Preemptions, ps.Preemptions)
				}
			})
		}
	}
}

// runSpecRequests runs specRequests, each changed by edit when given, to
// their end on a fake engine with cfg (SpecMaxSeqs 16: drafting in every
// step), whose model repeats itself when markov, and returns their
// outcomes and the engine's stats.
func runSpecRequests(t *testing.T, cfg Config, markov bool, edit func(i int, r *Request)) ([]*outcome, Stats) {
	t.Helper()
	cfg.SpecMaxSeqs = 16
	e, f := newFakeEngine(t, cfg, 512)
	f.markov = markov
	var seqs []*Sequence
	for i, r := range specRequests() {
		if edit != nil {
			edit(i, &r)
		}
		seqs = append(seqs, submit(t, e, r))
	}
	outs := drive(t, e, seqs, 5000)
	if f.bad != nil {
		t.Fatal(f.bad)
	}
	assertAllFree(t, e)
	return outs, e.Stats()
}

// sameReply reports whether s is p's reply: the same tokens, text,
// finish, usage (a prediction's counts aside) and logprobs.
func sameReply(p, s *outcome) bool {
	pu, su := p.usage, s.usage
	pu.AcceptedPredictionTokens, pu.RejectedPredictionTokens = 0, 0
	su.AcceptedPredictionTokens, su.RejectedPredictionTokens = 0, 0
	return slices.Equal(p.tokens, s.tokens) && p.text == s.text && p.finish == s.finish && p.reason == s.reason && pu == su &&
		slices.EqualFunc(p.logprobs, s.logprobs, tokenLogprobEqual) && len(p.tops) == len(s.tops)
}

func tokenLogprobEqual(a, b TokenLogprob) bool {
	return a.Token == b.Token && a.Logprob == b.Logprob && string(a.Text) == string(b.Text)
}

// Drafting stops above SpecMaxSeqs running sequences and never makes a
// sequence overrun its max_tokens or the context.
func TestSpeculativeDraftBounds(t *testing.T) {
	e, f := newFakeEngine(t, Config{NumBlocks: 64, SpecTokens: 8, SpecMaxSeqs: 1}, 40)
	f.markov = true
	a := submit(t, e, Request{Prompt: prompt(1, 6), MaxTokens: 100, Sampling: greedyParams(), IgnoreEOS: true})
	outs := drive(t, e, []*Sequence{a}, 1000)
	if n := len(outs[0].tokens); n != 40-6 || outs[0].reason != "context full (40 tokens)" {
		t.Fatalf("%d tokens, %q", n, outs[0].reason)
	}
	if e.Stats().SpecAcceptedTokens == 0 {
		t.Fatal("no draft kept for a lone repeating sequence")
	}
	before := e.Stats().SpecDraftTokens
	var seqs []*Sequence
	for i := range 2 {
		seqs = append(seqs, submit(t, e, Request{Prompt: prompt(2+i, 6), MaxTokens: 20, Sampling: greedyParams(), IgnoreEOS: true}))
	}
	drive(t, e, seqs, 1000)
	// Both run side by side until the end: two sequences, above the cap.
	if d := e.Stats().SpecDraftTokens - before; d != 0 {
		t.Fatalf("%d drafts with two sequences running and SpecMaxSeqs 1", d)
	}
	assertAllFree(t, e)
}

// Draft lengths keep the rows (drafts and the last token) a power of two:
// doubling after a step whose drafts were all kept, the fewest holding one
// more than were kept otherwise, never past SpecTokens.
func TestAdaptDrafts(t *testing.T) {
	for _, tc := range []struct{ spec, drafted, kept, want int }{
		{8, 1, 1, 3}, {8, 3, 3, 7}, {8, 7, 7, 8}, {5, 3, 3, 5},
		{8, 7, 0, 1}, {8, 7, 1, 3}, {8, 7, 2, 3}, {8, 7, 3, 7}, {8, 3, 2, 3}, {1, 1, 1, 1},
	} {
		e := &Engine{cfg: Config{SpecTokens: tc.spec}}
		s := &Sequence{}
		e.adaptDrafts(s, tc.drafted, tc.kept)
		if s.draftLen != tc.want {
			t.Errorf("SpecTokens %d, kept %d of %d: next %d, want %d", tc.spec, tc.kept, tc.drafted, s.draftLen, tc.want)
		}
	}
}

func TestPredictDrafts(t *testing.T) {
	pred := []int32{10, 11, 12, 13, 14, 11, 12, 15, 16}
	for _, tc := range []struct {
		name     string
		out      []int32
		from, k  int
		want     []int32
		wantFrom int
	}{
		{"no output yet: the start", nil, 0, 3, []int32{10, 11, 12}, 0},
		{"following along", []int32{10, 11}, 0, 3, []int32{12, 13, 14}, 2},
		{"the longest tail decides", []int32{14, 11, 12}, 2, 2, []int32{15, 16}, 7},
		{"at or after where the last drafts began", []int32{9, 11, 12}, 4, 2, []int32{15, 16}, 7},
		{"else the last one before", []int32{9, 11, 12}, 8, 2, []int32{15, 16}, 7},
		{"back in line after an edit", []int32{10, 11, 99, 13}, 2, 3, []int32{14, 11, 12}, 4},
		{"the prediction's end", []int32{15, 16}, 7, 3, nil, 7},
		{"nothing in common", []int32{98, 99}, 3, 3, nil, 3},
		{"k caps", []int32{10}, 0, 1, []int32{11}, 1},
	} {
		got, from := predictDrafts(nil, tc.out, pred, tc.from, tc.k)
		if !slices.Equal(got, tc.want) || (len(got) > 0 && from != tc.wantFrom) {
			t.Errorf("%s: %v from %d, want %v from %d", tc.name, got, from, tc.want, tc.wantFrom)
		}
	}
}

// A prediction changes how many steps a reply takes, never the reply: the
// same tokens, text, logprobs and finish with a prediction that is the
// reply itself, one with edits in it, and one unrelated to it, with the
// n-gram drafting off (a prediction drafts on its own).
func TestPredictionMatchesPlain(t *testing.T) {
	run := func(pred func(i int, plain []int32) []int32, plain []*outcome) ([]*outcome, Stats) {
		return runSpecRequests(t, Config{NumBlocks: 64}, false, func(i int, r *Request) {
			if pred != nil {
				r.Prediction = pred(i, plain[i].tokens)
			}
		})
	}
	plain, ps := run(nil, nil)
	for _, tc := range []struct {
		name string
		pred func(i int, out []int32) []int32
	}{
		{"the reply itself", func(_ int, out []int32) []int32 { return out }},
		{"the reply with edits", func(_ int, out []int32) []int32 {
			p := slices.Clone(out)
			if len(p) > 12 {
				p = slices.Concat(p[:4], []int32{1, 2, 3}, p[6:len(p)/2], p[len(p)/2+3:])
			}
			return p
		}},
		{"something else", func(i int, _ []int32) []int32 { return prompt(900+i, 30) }},
	} {
		outs, ss := run(tc.pred, plain)
		accepted, drafted := 0, 0
		for i := range plain {
			p, s := plain[i], outs[i]
			accepted += s.usage.AcceptedPredictionTokens
			drafted += s.usage.AcceptedPredictionTokens + s.usage.RejectedPredictionTokens
			if !sameReply(p, s) {
				t.Errorf("%s, request %d: %v %q (%+v), plain %v %q (%+v)", tc.name, i, s.tokens, s.text, s.usage, p.tokens, p.text, p.usage)
			}
		}
		t.Logf("%s: steps %d against %d plain; drafts %d, kept %d", tc.name, ss.Steps, ps.Steps, ss.SpecDraftTokens, ss.SpecAcceptedTokens)
		// Usage also counts a draft picked as a reply's last token, whose
		// K/V the engine does not keep: one a request at most.
		if int64(drafted) != ss.SpecDraftTokens || int64(accepted) < ss.SpecAcceptedTokens || int64(accepted) > ss.SpecAcceptedTokens+int64(len(plain)) {
			t.Errorf("%s: usage counts %d of %d prediction tokens accepted, the engine kept %d of %d", tc.name, accepted, drafted, ss.SpecAcceptedTokens, ss.SpecDraftTokens)
		}
		if tc.name != "something else" && (accepted == 0 || ss.Steps >= ps.Steps) {
			t.Errorf("%s: %d prediction tokens kept, %d steps against %d", tc.name, accepted, ss.Steps, ps.Steps)
		}
	}
}
