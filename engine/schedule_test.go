package engine

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/nuri-ai/nuri/sample"
)

func TestGreedyMatchesReference(t *testing.T) {
	e, f := newFakeEngine(t, Config{NumBlocks: 64}, 256)
	var seqs []*Sequence
	var want [][]int32
	for i, n := range []int{1, 5, 16, 17, 40} {
		p := prompt(i, n)
		seqs = append(seqs, submit(t, e, Request{ID: fmt.Sprint("r", i), Prompt: p, MaxTokens: 30, Sampling: greedyParams()}))
		want = append(want, reference(p, greedyParams(), 30, 256, false))
	}
	outs := drive(t, e, seqs, 1000)
	for i, o := range outs {
		if !slices.Equal(o.tokens, want[i]) {
			t.Errorf("request %d: tokens %v, want %v", i, o.tokens, want[i])
		}
		if o.text != fakeText(want[i], false) {
			t.Errorf("request %d: text %q, want %q", i, o.text, fakeText(want[i], false))
		}
		wantFinish := FinishLength
		if want[i][len(want[i])-1] == fakeEOS {
			wantFinish = FinishStop
		}
		if o.finish != wantFinish || o.usage.CompletionTokens != len(want[i]) || o.usage.PromptTokens != len(seqs[i].req.Prompt) {
			t.Errorf("request %d: finish %q usage %+v", i, o.finish, o.usage)
		}
		if o.ttft <= 0 {
			t.Errorf("request %d: no TTFT", i)
		}
	}
	if f.bad != nil {
		t.Fatal(f.bad)
	}
	assertAllFree(t, e)
}

func TestSampledRequestsAreSeeded(t *testing.T) {
	e, _ := newFakeEngine(t, Config{NumBlocks: 64}, 256)
	var seqs []*Sequence
	var want [][]int32
	for i := range 6 {
		p := sample.DefaultParams()
		p.Temperature, p.Seed, p.HasSeed = 1.2, uint64(i%3), true
		p.RepeatPenalty = 1.3
		pr := prompt(i, 3+i*7)
		seqs = append(seqs, submit(t, e, Request{Prompt: pr, MaxTokens: 25, Sampling: p, IgnoreEOS: true}))
		want = append(want, reference(pr, p, 25, 256, true))
	}
	for i, o := range drive(t, e, seqs, 1000) {
		if !slices.Equal(o.tokens, want[i]) {
			t.Errorf("request %d: %v, want %v", i, o.tokens, want[i])
		}
	}
}

func TestAdmissionOrder(t *testing.T) {
	t.Run("fcfs under the sequence cap", func(t *testing.T) {
		e, _ := newFakeEngine(t, Config{NumBlocks: 64, MaxNumSeqs: 2}, 256)
		var seqs []*Sequence
		for i := range 5 {
			seqs = append(seqs, submit(t, e, Request{ID: fmt.Sprint(i), Prompt: prompt(i, 4), MaxTokens: 3 + i, Sampling: greedyParams(), IgnoreEOS: true}))
		}
		var order []string
		seen := map[string]bool{}
		for range 100 {
			e.step()
			checkInvariants(t, e)
			for _, s := range e.running {
				if !seen[s.id] {
					seen[s.id] = true
					order = append(order, s.id)
				}
			}
		}
		if !slices.Equal(order, []string{"0", "1", "2", "3", "4"}) {
			t.Fatalf("admission order %v", order)
		}
		drive(t, e, seqs, 10)
		assertAllFree(t, e)
	})
	t.Run("a large head request is not overtaken", func(t *testing.T) {
		// 8 blocks of 16: A holds 4 blocks, B needs 5 and must wait; C
		// needs 1 and would fit, but FCFS keeps it behind B.
		e, _ := newFakeEngine(t, Config{NumBlocks: 8, DisablePrefixCaching: true}, 128)
		a := submit(t, e, Request{ID: "A", Prompt: prompt(1, 60), MaxTokens: 3, Sampling: greedyParams(), IgnoreEOS: true})
		e.step()
		b := submit(t, e, Request{ID: "B", Prompt: prompt(2, 70), MaxTokens: 2, Sampling: greedyParams(), IgnoreEOS: true})
		c := submit(t, e, Request{ID: "C", Prompt: prompt(3, 5), MaxTokens: 2, Sampling: greedyParams(), IgnoreEOS: true})
		e.step()
		if len(e.running) != 1 || e.running[0] != a {
			t.Fatalf("running %d sequences, want only A", len(e.running))
		}
		outs := drive(t, e, []*Sequence{a, b, c}, 100)
		for i, o := range outs {
			if o.finish != FinishLength {
				t.Errorf("request %d finished %q (%v)", i, o.finish, o.err)
			}
		}
		assertAllFree(t, e)
	})
}

func TestChunkedPrefillBudget(t *testing.T) {
	const budget = 32
	e, f := newFakeEngine(t, Config{NumBlocks: 64, MaxNumBatchedTokens: budget}, 512)
	var seqs []*Sequence
	var want [][]int32
	for i, n := range []int{100, 7, 64, 33} {
		p := prompt(10+i, n)
		seqs = append(seqs, submit(t, e, Request{Prompt: p, MaxTokens: 12, Sampling: greedyParams(), IgnoreEOS: true}))
		want = append(want, reference(p, greedyParams(), 12, 512, true))
	}
	// The first step is the first chunk of the 100-token prompt only.
	e.step()
	if f.maxRows != budget || seqs[0].nComputed != budget || len(e.running) != 1 {
		t.Fatalf("first step: %d rows, %d computed, %d running", f.maxRows, seqs[0].nComputed, len(e.running))
	}
	outs := drive(t, e, seqs, 1000)
	if f.maxRows > budget {
		t.Fatalf("a step ran %d tokens, budget %d", f.maxRows, budget)
	}
	for i, o := range outs {
		if !slices.Equal(o.tokens, want[i]) {
			t.Errorf("request %d: %v, want %v", i, o.tokens, want[i])
		}
	}
	if f.bad != nil {
		t.Fatal(f.bad)
	}
	// Every prompt token was prefilled once and nothing else was.
	st := e.Stats()
	if st.PrefillTokens != 100+7+64+33 || st.GenerationTokens != 4*12 || st.PromptTokens != 204 {
		t.Fatalf("stats %+v", st)
	}
}

func TestDecodesPlannedFirst(t *testing.T) {
	e, _ := newFakeEngine(t, Config{NumBlocks: 64, MaxNumBatchedTokens: 16}, 512)
	a := submit(t, e, Request{Prompt: prompt(1, 3), MaxTokens: 50, Sampling: greedyParams(), IgnoreEOS: true})
	e.step() // A prefilled, first token sampled
	b := submit(t, e, Request{Prompt: prompt(2, 100), MaxTokens: 1, Sampling: greedyParams(), IgnoreEOS: true})
	for range 5 {
		e.intake()
		plan := e.plan()
		if len(plan) != 2 || plan[0].seq != a || plan[0].n != 1 || plan[1].seq != b || plan[1].n != 15 {
			t.Fatalf("plan %+v: want A's decode then 15 tokens of B", plan)
		}
		e.step() // replans the same work and runs it
	}
	drive(t, e, []*Sequence{a, b}, 1000)
	assertAllFree(t, e)
}

func TestPreemptionResumesSeamlessly(t *testing.T) {
	for _, prefix := range []bool{true, false} {
		t.Run(fmt.Sprint("prefix caching ", prefix), func(t *testing.T) {
			// 12 blocks of 16 tokens; 4 sequences each growing to 50 tokens
			// need 16: the newest must be preempted and recomputed.
			e, f := newFakeEngine(t, Config{NumBlocks: 12, DisablePrefixCaching: !prefix}, 256)
			var seqs []*Sequence
			var want [][]int32
			for i := range 4 {
				p := prompt(20+i, 10)
				seqs = append(seqs, submit(t, e, Request{Prompt: p, MaxTokens: 40, Sampling: greedyParams(), IgnoreEOS: true}))
				want = append(want, reference(p, greedyParams(), 40, 256, true))
			}
			outs := drive(t, e, seqs, 2000)
			for i, o := range outs {
				if !slices.Equal(o.tokens, want[i]) || o.text != fakeText(want[i], true) {
					t.Errorf("request %d: %v, want %v", i, o.tokens, want[i])
				}
			}
			if f.bad != nil {
				t.Fatal(f.bad)
			}
			st := e.Stats()
			if st.Preemptions == 0 {
				t.Fatal("no preemption happened; the test does not exercise it")
			}
			t.Logf("preemptions %d, prefill tokens %d, prefix hits %d", st.Preemptions, st.PrefillTokens, st.PrefixHits)
			assertAllFree(t, e)
		})
	}
}

func TestPreemptedSampledSequenceKeepsItsStream(t *testing.T) {
	e, _ := newFakeEngine(t, Config{NumBlocks: 10}, 256)
	var seqs []*Sequence
	var want [][]int32
	for i := range 3 {
		p := sample.DefaultParams()
		p.Seed, p.HasSeed, p.Temperature = uint64(7+i), true, 1.5
		pr := prompt(30+i, 20)
		seqs = append(seqs, submit(t, e, Request{Prompt: pr, MaxTokens: 45, Sampling: p, IgnoreEOS: true}))
		want = append(want, reference(pr, p, 45, 256, true))
	}
	for i, o := range drive(t, e, seqs, 2000) {
		if !slices.Equal(o.tokens, want[i]) {
			t.Errorf("request %d: %v, want %v", i, o.tokens, want[i])
		}
	}
	if e.Stats().Preemptions == 0 {
		t.Fatal("no preemption happened")
	}
}

func TestCancellation(t *testing.T) {
	e, _ := newFakeEngine(t, Config{NumBlocks: 32, MaxNumSeqs: 2}, 256)
	keep := submit(t, e, Request{Prompt: prompt(1, 20), MaxTokens: 30, Sampling: greedyParams(), IgnoreEOS: true})
	victim := submit(t, e, Request{Prompt: prompt(2, 40), MaxTokens: 30, Sampling: greedyParams(), IgnoreEOS: true})
	queued := submit(t, e, Request{Prompt: prompt(3, 5), MaxTokens: 30, Sampling: greedyParams(), IgnoreEOS: true})
	for range 3 {
		e.step()
	}
	held := len(victim.blocks)
	used := e.pool.numUsed()
	if held == 0 {
		t.Fatal("victim holds no blocks")
	}
	victim.Cancel()
	queued.Cancel()
	e.step()
	checkInvariants(t, e)
	if !victim.finished || !queued.finished {
		t.Fatal("cancelled sequences still alive after one step")
	}
	if got := e.pool.numUsed(); got > used-held+1 {
		t.Fatalf("blocks used %d after cancel, was %d with %d held by the victim", got, used, held)
	}
	outs := drive(t, e, []*Sequence{keep, victim, queued}, 200)
	if outs[1].finish != FinishCancelled || outs[2].finish != FinishCancelled || outs[0].finish != FinishLength {
		t.Fatalf("finishes %q %q %q", outs[0].finish, outs[1].finish, outs[2].finish)
	}
	if len(outs[2].tokens) != 0 || outs[2].usage.CompletionTokens != 0 {
		t.Fatalf("queued request produced %v", outs[2].tokens)
	}
	assertAllFree(t, e)
	if st := e.Stats(); st.FinishedCancelled != 2 || st.Waiting != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestContextCancellation(t *testing.T) {
	e, _ := newFakeEngine(t, Config{NumBlocks: 32}, 256)
	ctx, cancel := contextWithCancel(t)
	s, err := e.Submit(ctx, Request{Prompt: prompt(1, 20), Sampling: greedyParams(), IgnoreEOS: true})
	if err != nil {
		t.Fatal(err)
	}
	e.step()
	cancel()
	waitFor(t, func() bool { return s.cancelled.Load() })
	e.step()
	if !s.finished {
		t.Fatal("not finished one step after its context was cancelled")
	}
	o := drive(t, e, []*Sequence{s}, 5)[0]
	if o.finish != FinishCancelled {
		t.Fatalf("finish %q", o.finish)
	}
	assertAllFree(t, e)
}

func TestQueueFull(t *testing.T) {
	e, _ := newFakeEngine(t, Config{NumBlocks: 32, MaxQueuedRequests: 2, MaxNumSeqs: 1}, 256)
	r := Request{Prompt: prompt(1, 4), MaxTokens: 2, Sampling: greedyParams(), IgnoreEOS: true}
	a, b := submit(t, e, r), submit(t, e, r)
	if _, err := e.Submit(t.Context(), r); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("third submit: %v, want ErrQueueFull", err)
	}
	e.step() // a admitted: one queue slot frees
	c := submit(t, e, r)
	if _, err := e.Submit(t.Context(), r); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("submit over the bound: %v", err)
	}
	drive(t, e, []*Sequence{a, b, c}, 100)
	assertAllFree(t, e)
	if got := e.Stats().Waiting; got != 0 {
		t.Fatalf("waiting %d", got)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.queued != 0 {
		t.Fatalf("queue count leaked: %d", e.queued)
	}
}

func TestSubmitValidation(t *testing.T) {
	e, _ := newFakeEngine(t, Config{NumBlocks: 8}, 64) // 8 blocks of 16 = 128 ≥ 64
	bad := sample.DefaultParams()
	bad.LogitBias = map[int32]float32{fakeVocab: 1}
	tests := []struct {
		name string
		r    Request
		want error
	}{
		{"empty", Request{}, ErrEmptyPrompt},
		{"too long", Request{Prompt: prompt(1, 64)}, ErrPromptTooLong},
		{"token out of range", Request{Prompt: []int32{1, fakeVocab}}, ErrInvalidRequest},
		{"negative token", Request{Prompt: []int32{-1}}, ErrInvalidRequest},
		{"bad sampling", Request{Prompt: []int32{1}, Sampling: bad}, ErrInvalidRequest},
		{"empty stop", Request{Prompt: []int32{1}, Sampling: greedyParams(), Stop: []string{""}}, ErrInvalidRequest},
		{"invalid UTF-8 stop", Request{Prompt: []int32{1}, Sampling: greedyParams(), Stop: []string{"\xed\x95"}}, ErrInvalidRequest},
		{"negative max tokens", Request{Prompt: []int32{1}, Sampling: greedyParams(), MaxTokens: -1}, ErrInvalidRequest},
	}
	for _, tc := range tests {
		if _, err := e.Submit(t.Context(), tc.r); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, err := e.Submit(t.Context(), Request{Prompt: prompt(1, 63), Sampling: greedyParams()}); err != nil {
		t.Errorf("prompt of n_ctx-1 tokens: %v", err)
	}
}

func TestContextCapFromCache(t *testing.T) {
	// 4 blocks of 16 hold 64 positions: the context is capped there even
	// though the model was trained on 512.
	e, _ := newFakeEngine(t, Config{NumBlocks: 4}, 512)
	if e.NCtx() != 64 {
		t.Fatalf("n_ctx %d, want 64", e.NCtx())
	}
	p := prompt(5, 50)
	s := submit(t, e, Request{Prompt: p, Sampling: greedyParams(), IgnoreEOS: true})
	o := drive(t, e, []*Sequence{s}, 100)[0]
	want := reference(p, greedyParams(), 0, 64, true)
	if o.finish != FinishLength || !strings.Contains(o.reason, "context full") || !slices.Equal(o.tokens, want) || len(p)+len(o.tokens) != 64 {
		t.Fatalf("finish %q (%s), %d tokens", o.finish, o.reason, len(o.tokens))
	}
	assertAllFree(t, e)
}

func TestStopConditions(t *testing.T) {
	e, _ := newFakeEngine(t, Config{NumBlocks: 64}, 512)
	// find a prompt whose greedy continuation reaches EOS
	var eosPrompt []int32
	for seed := 0; eosPrompt == nil; seed++ {
		p := prompt(seed, 6)
		if w := reference(p, greedyParams(), 200, 512, false); w[len(w)-1] == fakeEOS && len(w) > 3 {
			eosPrompt = p
		}
	}
	long := prompt(99, 6)
	longRef := reference(long, greedyParams(), 60, 512, true)
	longText := fakeText(longRef, true)
	// a stop string from the middle of the text
	var stop string
	for i := len(longText) / 2; stop == ""; i++ {
		if c := longText[i : i+3]; utf8.ValidString(c) && !strings.ContainsRune(c, utf8.RuneError) {
			stop = c
		}
	}
	cut := strings.Index(longText, stop)
	tests := []struct {
		name       string
		r          Request
		wantFinish FinishReason
		wantText   string
		reason     string
	}{
		{"eos", Request{Prompt: eosPrompt, MaxTokens: 200, Sampling: greedyParams()}, FinishStop,
			fakeText(reference(eosPrompt, greedyParams(), 200, 512, false), false), "end-of-generation"},
		{"eos ignored", Request{Prompt: eosPrompt, MaxTokens: 200, Sampling: greedyParams(), IgnoreEOS: true}, FinishLength,
			fakeText(reference(eosPrompt, greedyParams(), 200, 512, true), true), "max tokens"},
		{"max tokens", Request{Prompt: long, MaxTokens: 60, Sampling: greedyParams(), IgnoreEOS: true}, FinishLength, longText, "max tokens (60)"},
		{"stop string", Request{Prompt: long, MaxTokens: 60, Sampling: greedyParams(), IgnoreEOS: true, Stop: []string{"zzzzzz", stop}},
			FinishStop, longText[:cut], "stop string"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := drive(t, e, []*Sequence{submit(t, e, tc.r)}, 1000)[0]
			if o.finish != tc.wantFinish || o.text != tc.wantText || !strings.Contains(o.reason, tc.reason) {
				t.Fatalf("finish %q (%s) text %q\nwant %q (%s) text %q", o.finish, o.reason, o.text, tc.wantFinish, tc.reason, tc.wantText)
			}
		})
	}
	assertAllFree(t, e)
}

func TestLogprobEvents(t *testing.T) {
	e, _ := newFakeEngine(t, Config{NumBlocks: 16}, 256)
	p := prompt(3, 9)
	s := submit(t, e, Request{Prompt: p, MaxTokens: 5, Sampling: greedyParams(), IgnoreEOS: true, Logprobs: true, TopLogprobs: 3})
	o := drive(t, e, []*Sequence{s}, 100)[0]
	if len(o.logprobs) != 5 || len(o.tops) != 5 {
		t.Fatalf("%d logprobs, %d top lists", len(o.logprobs), len(o.tops))
	}
	h := fakeRoot
	for _, tok := range p {
		h = mix(h, tok)
	}
	row := make([]float32, fakeVocab)
	for i, tok := range o.tokens {
		fakeLogits(h, row)
		lse := 0.0
		for _, v := range row {
			lse += math.Exp(float64(v))
		}
		lse = math.Log(lse)
		lp := o.logprobs[i]
		if lp.Token != tok || math.Abs(float64(lp.Logprob)-(float64(row[tok])-lse)) > 1e-5 {
			t.Fatalf("token %d: logprob %+v, want %v", i, lp, float64(row[tok])-lse)
		}
		top := o.tops[i]
		if len(top) != 3 || top[0].Token != tok || top[0].Logprob < top[1].Logprob || top[1].Logprob < top[2].Logprob {
			t.Fatalf("token %d: top %+v", i, top)
		}
		if piece, _ := (fakeTokenizer{}).Piece(tok, true); string(lp.Text) != string(piece) {
			t.Fatalf("token %d text %q, want %q", i, lp.Text, piece)
		}
		h = mix(h, tok)
	}
}

func TestForwardErrorFailsOnlyItsBatch(t *testing.T) {
	e, f := newFakeEngine(t, Config{NumBlocks: 16}, 256)
	a := submit(t, e, Request{Prompt: prompt(1, 4), MaxTokens: 5, Sampling: greedyParams(), IgnoreEOS: true})
	f.failNext = errors.New("device lost")
	e.step()
	b := submit(t, e, Request{Prompt: prompt(2, 4), MaxTokens: 5, Sampling: greedyParams(), IgnoreEOS: true})
	outs := drive(t, e, []*Sequence{a, b}, 100)
	if outs[0].finish != FinishError || !errors.Is(outs[0].err, errStep) || !strings.Contains(outs[0].err.Error(), "device lost") {
		t.Fatalf("a: %q %v", outs[0].finish, outs[0].err)
	}
	if outs[1].finish != FinishLength || len(outs[1].tokens) != 5 {
		t.Fatalf("b: %q %v", outs[1].finish, outs[1].tokens)
	}
	assertAllFree(t, e)
}

func TestSlowReaderGetsMergedEvents(t *testing.T) {
	e, _ := newFakeEngine(t, Config{NumBlocks: 16, EventBuffer: 1}, 256)
	p := prompt(4, 5)
	s := submit(t, e, Request{Prompt: p, MaxTokens: 20, Sampling: greedyParams(), IgnoreEOS: true})
	for range 40 {
		e.step() // nobody reads
	}
	if !s.finished || len(e.draining) != 1 {
		t.Fatalf("finished %v, draining %d", s.finished, len(e.draining))
	}
	o := &outcome{}
	for ev := range s.Events() {
		o.add(ev)
		e.step() // the engine retries delivery each step
	}
	want := reference(p, greedyParams(), 20, 256, true)
	if !slices.Equal(o.tokens, want) || o.events != 2 || o.finish != FinishLength {
		t.Fatalf("%d events, tokens %v, finish %q", o.events, o.tokens, o.finish)
	}
	if len(e.draining) != 0 {
		t.Fatal("draining list not emptied")
	}
}

// checkPromptScores compares a sequence's prompt scores with the fake
// model's log-softmax at each prefix: one score per prompt token after the
// first, each with its top alternatives (best first).
func checkPromptScores(t *testing.T, p []int32, o *outcome, top int) {
	t.Helper()
	if o.err != nil {
		t.Fatal(o.err)
	}
	if len(o.promptLP) != len(p)-1 || (top > 0 && len(o.promptTo) != len(p)-1) {
		t.Fatalf("%d prompt scores and %d top lists for a prompt of %d", len(o.promptLP), len(o.promptTo), len(p))
	}
	if o.promptAt != 1 {
		t.Fatalf("prompt scores came on event %d, want the first", o.promptAt)
	}
	h := fakeRoot
	row := make([]float32, fakeVocab)
	for i := range len(p) - 1 {
		h = mix(h, p[i])
		fakeLogits(h, row)
		lse := 0.0
		for _, v := range row {
			lse += math.Exp(float64(v))
		}
		want := float64(row[p[i+1]]) - math.Log(lse)
		lp := o.promptLP[i]
		if lp.Token != p[i+1] || math.Abs(float64(lp.Logprob)-want) > 1e-5 {
			t.Fatalf("prompt token %d: %+v, want token %d logprob %v", i+1, lp, p[i+1], want)
		}
		if top == 0 {
			continue
		}
		alt := o.promptTo[i]
		if len(alt) != top || alt[0].Logprob < alt[len(alt)-1].Logprob || alt[0].Logprob < lp.Logprob {
			t.Fatalf("prompt token %d: alternatives %+v", i+1, alt)
		}
	}
}

// TestPromptLogprobs: a scored prompt gets every token's score once, on
// its first event, computed in full even when its prefix is cached and
// when it is preempted and recomputed; its generation is unchanged, and a
// prompt-only request ends with the scores and no tokens.
func TestPromptLogprobs(t *testing.T) {
	e, _ := newFakeEngine(t, Config{NumBlocks: 16, MaxNumBatchedTokens: 8}, 256)
	p := prompt(5, 37)
	want := reference(p, greedyParams(), 4, 256, true)
	// Cache the prompt's blocks first: the scored request must not use them.
	drive(t, e, []*Sequence{submit(t, e, Request{Prompt: p, MaxTokens: 1, Sampling: greedyParams(), IgnoreEOS: true})}, 100)
	s := submit(t, e, Request{Prompt: p, MaxTokens: 4, Sampling: greedyParams(), IgnoreEOS: true, PromptLogprobs: true, TopLogprobs: 2})
	o := drive(t, e, []*Sequence{s}, 100)[0]
	checkPromptScores(t, p, o, 2)
	if !slices.Equal(o.tokens, want) || o.usage.CachedTokens != 0 {
		t.Fatalf("tokens %v (cached %d), want %v uncached", o.tokens, o.usage.CachedTokens, want)
	}

	only := submit(t, e, Request{Prompt: p, Sampling: greedyParams(), PromptLogprobs: true, PromptOnly: true})
	o = drive(t, e, []*Sequence{only}, 100)[0]
	checkPromptScores(t, p, o, 0)
	if len(o.tokens) != 0 || o.finish != FinishLength || o.usage.CompletionTokens != 0 || o.usage.PromptTokens != len(p) {
		t.Fatalf("prompt only: tokens %v finish %q usage %+v", o.tokens, o.finish, o.usage)
	}
	assertAllFree(t, e)

	// Two scored prompts of 44 tokens and 8 generated in 6 blocks of 16:
	// one is preempted and recomputes its prompt without scoring it twice.
	e, _ = newFakeEngine(t, Config{NumBlocks: 6, MaxNumBatchedTokens: 8}, 256)
	a, b := prompt(6, 44), prompt(7, 44)
	sa := submit(t, e, Request{Prompt: a, MaxTokens: 8, Sampling: greedyParams(), IgnoreEOS: true, PromptLogprobs: true})
	sb := submit(t, e, Request{Prompt: b, MaxTokens: 8, Sampling: greedyParams(), IgnoreEOS: true, PromptLogprobs: true})
	outs := drive(t, e, []*Sequence{sa, sb}, 1000)
	checkPromptScores(t, a, outs[0], 0)
	checkPromptScores(t, b, outs[1], 0)
	if !slices.Equal(outs[0].tokens, reference(a, greedyParams(), 8, 256, true)) || !slices.Equal(outs[1].tokens, reference(b, greedyParams(), 8, 256, true)) {
		t.Fatalf("generation changed under scoring: %v %v", outs[0].tokens, outs[1].tokens)
	}
	if e.counters.preemptions == 0 {
		t.Fatal("no preemption happened: the recompute path went untested")
	}
	assertAllFree(t, e)
}

// ShowTokens emits a control token's text; without it the token renders
// empty. The fake's EOS is the control token here, generated past with
// IgnoreEOS.
func TestShowTokens(t *testing.T) {
	p := sample.DefaultParams()
	var pr, want []int32
	for seed := range 200 {
		p.Temperature, p.Seed, p.HasSeed = 1.5, uint64(seed), true
		pr = prompt(seed, 5)
		if want = reference(pr, p, 40, 256, true); slices.Contains(want, fakeEOS) {
			break
		}
	}
	if !slices.Contains(want, fakeEOS) {
		t.Fatal("no seed samples EOS within 40 tokens")
	}
	e, _ := newFakeEngine(t, Config{NumBlocks: 64}, 256)
	hidden := submit(t, e, Request{Prompt: pr, MaxTokens: 40, Sampling: p, IgnoreEOS: true})
	shown := submit(t, e, Request{Prompt: pr, MaxTokens: 40, Sampling: p, IgnoreEOS: true, ShowTokens: []int32{fakeEOS}})
	outs := drive(t, e, []*Sequence{hidden, shown}, 1000)
	var wantShown strings.Builder
	for _, tok := range want {
		piece, _ := fakeTokenizer{}.Piece(tok, tok == fakeEOS)
		wantShown.Write(piece)
	}
	if outs[0].text != fakeText(want, true) || strings.Contains(outs[0].text, "</s>") {
		t.Errorf("hidden: %q, want %q", outs[0].text, fakeText(want, true))
	}
	if outs[1].text != sanitize([]byte(wantShown.String())) || !strings.Contains(outs[1].text, "</s>") {
		t.Errorf("shown: %q, want %q", outs[1].text, wantShown.String())
	}
}

// A constrained sequence samples only what its constraint allows and
// stops when the output is whole. Over the fake's letters, JSON can only
// be a literal: true, false or null.
func TestConstraintEndsSequence(t *testing.T) {
	pieces := make([][]byte, fakeVocab)
	for id := range pieces {
		pieces[id], _ = fakeTokenizer{}.Piece(int32(id), false)
	}
	vocab := sample.NewVocab(pieces)
	e, _ := newFakeEngine(t, Config{NumBlocks: 64}, 256)
	var seqs []*Sequence
	for i := range 4 {
		p := greedyParams()
		if i > 0 {
			p.Temperature, p.Seed, p.HasSeed = 1, uint64(i), true
		}
		seqs = append(seqs, submit(t, e, Request{Prompt: prompt(i, 5), MaxTokens: 50, Sampling: p,
			Constraint: func() sample.Constraint { return sample.NewJSON(vocab, false) }}))
	}
	for i, o := range drive(t, e, seqs, 1000) {
		if !slices.Contains([]string{"true", "false", "null"}, strings.TrimLeft(o.text, " \n\t")) || o.finish != FinishStop || o.reason != "output constraint complete" {
			t.Errorf("sequence %d: %q, %s (%s)", i, o.text, o.finish, o.reason)
		}
	}
}

// Code-completion stops: MinIndent ends the reply before the first line
// indented less than it (the first line free), PredictTimeLimit at the
// first newline once the time is up; both FinishLength.
func TestCompletionLineStops(t *testing.T) {
	pieces := make([][]byte, fakeVocab)
	for id := range pieces {
		pieces[id], _ = fakeTokenizer{}.Piece(int32(id), false)
	}
	vocab := sample.NewVocab(pieces)
	const text = "ab\n\t\tcd\n\tef\ngh"
	e, _ := newFakeEngine(t, Config{NumBlocks: 64}, 256)
	for _, tc := range []struct {
		name string
		req  Request
		want string
	}{
		{"min indent 2", Request{MinIndent: 2}, "ab\n\t\tcd\n\t"},
		{"min indent 1", Request{MinIndent: 1}, "ab\n\t\tcd\n\tef\n"},
		{"time limit", Request{PredictTimeLimit: time.Nanosecond}, "ab\n"},
		{"neither", Request{}, text},
	} {
		r := tc.req
		r.Prompt, r.MaxTokens, r.Sampling = prompt(3, 5), 50, greedyParams()
		r.Constraint = func() sample.Constraint {
			c, err := sample.NewChoice(vocab, []string{text})
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		o := drive(t, e, []*Sequence{submit(t, e, r)}, 1000)[0]
		wantFinish := FinishLength
		if tc.name == "neither" {
			wantFinish = FinishStop
		}
		if o.text != tc.want || o.finish != wantFinish {
			t.Errorf("%s: %q, %s (%s); want %q, %s", tc.name, o.text, o.finish, o.reason, tc.want, wantFinish)
		}
	}
}

// Slots: each admitted sequence holds the lowest free slot until it
// finishes (or is preempted), and a slot freed is taken by the next
// admitted; the snapshot follows the prompt and the generation.
func TestSlots(t *testing.T) {
	e, _ := newFakeEngine(t, Config{NumBlocks: 64, MaxNumSeqs: 2}, 256)
	if got := e.Slots(); len(got) != 2 || got[0].Busy || got[1].Busy {
		t.Fatalf("before any request: %+v", got)
	}
	short := submit(t, e, Request{ID: "short", Prompt: prompt(1, 5), MaxTokens: 2, Sampling: greedyParams(), IgnoreEOS: true})
	long := submit(t, e, Request{ID: "long", Prompt: prompt(2, 7), MaxTokens: 20, Sampling: greedyParams(), IgnoreEOS: true})
	third := submit(t, e, Request{ID: "third", Prompt: prompt(3, 9), MaxTokens: 3, Sampling: greedyParams(), IgnoreEOS: true})
	e.step()
	checkInvariants(t, e)
	got := e.Slots()
	if got[0].ID != "short" || got[1].ID != "long" || got[0].Task != 1 || got[1].Task != 2 {
		t.Fatalf("after the first step: %+v", got)
	}
	if got[0].PromptTokens != 5 || got[0].PromptDone != 5 || got[0].Generated != 1 || got[0].Request.MaxTokens != 2 {
		t.Errorf("short after its prompt: %+v", got[0])
	}
	// Step until all end, noting where "third" first runs: the slot
	// "short" gave back, while "long" keeps slot 1 throughout.
	thirdAt, thirdStep, shortGone := -1, -1, -1
	for step := 1; step < 200 && len(e.running)+len(e.waiting)+len(e.incoming) > 0; step++ {
		for _, s := range []*Sequence{short, long, third} {
			collect(s, &outcome{})
		}
		e.step()
		checkInvariants(t, e)
		got := e.Slots()
		ids := map[string]int{}
		for _, st := range got {
			if st.Busy {
				ids[st.ID] = st.Slot
			}
		}
		if at, ok := ids["long"]; ok && at != 1 {
			t.Fatalf("step %d: long moved to slot %d", step, at)
		}
		if _, ok := ids["short"]; !ok && shortGone < 0 {
			shortGone = step
		}
		if at, ok := ids["third"]; ok && thirdAt < 0 {
			thirdAt, thirdStep = at, step
		}
	}
	if thirdAt != 0 || thirdStep < shortGone {
		t.Errorf("third first held slot %d at step %d; short gave slot 0 back at step %d", thirdAt, thirdStep, shortGone)
	}
	for _, st := range e.Slots() {
		if st.Busy {
			t.Errorf("slot %d still held by %s after every sequence ended", st.Slot, st.ID)
		}
	}
}
