package engine

import (
	"errors"
	"slices"
	"testing"
)

// Under the priority policy requests are admitted by priority, then
// arrival, whatever order they came in.
func TestPriorityAdmission(t *testing.T) {
	e, _ := newFakeEngine(t, Config{NumBlocks: 64, MaxNumSeqs: 1, SchedulingPolicy: PolicyPriority}, 256)
	prios := []int{5, 0, 5, -1, 0}
	var seqs []*Sequence
	for i, pr := range prios {
		seqs = append(seqs, submit(t, e, Request{Prompt: prompt(40+i, 6), MaxTokens: 3, Sampling: greedyParams(), IgnoreEOS: true, Priority: pr}))
	}
	var order []int
	for step := 0; len(order) < len(seqs) && step < 200; step++ {
		e.step()
		if len(e.running) == 1 {
			if i := slices.Index(seqs, e.running[0]); !slices.Contains(order, i) {
				order = append(order, i)
			}
		}
	}
	if want := []int{3, 1, 4, 0, 2}; !slices.Equal(order, want) {
		t.Fatalf("admitted %v, want %v (priorities %v)", order, want, prios)
	}
	drive(t, e, seqs, 200)
	assertAllFree(t, e)
}

// Short of KV blocks, the priority policy preempts the lowest-priority
// running sequence (the latest arrival among equals) and never a
// higher-priority one for it; every reply stays what it is alone.
func TestPriorityPreemption(t *testing.T) {
	// 10 blocks of 16 tokens; three sequences each growing to 70 tokens
	// need 15.
	e, f := newFakeEngine(t, Config{NumBlocks: 10, SchedulingPolicy: PolicyPriority}, 256)
	prios := []int{2, 0, 1}
	var seqs []*Sequence
	var want [][]int32
	for i, pr := range prios {
		p := prompt(60+i, 10)
		seqs = append(seqs, submit(t, e, Request{Prompt: p, MaxTokens: 60, Sampling: greedyParams(), IgnoreEOS: true, Priority: pr}))
		want = append(want, reference(p, greedyParams(), 60, 256, true))
	}
	preempted := make([]int, len(seqs))
	outs := make([]*outcome, len(seqs))
	for i := range outs {
		outs[i] = &outcome{}
	}
	for step := 0; ; step++ {
		if step > 2000 {
			t.Fatal("not finished after 2000 steps")
		}
		done := true
		for i, s := range seqs {
			collect(s, outs[i])
			done = done && outs[i].closed
		}
		if done {
			break
		}
		before := slices.Clone(e.running)
		e.step()
		checkInvariants(t, e)
		for _, s := range before {
			if slices.Contains(e.waiting, s) {
				preempted[slices.Index(seqs, s)]++
			}
		}
	}
	for i, o := range outs {
		if !slices.Equal(o.tokens, want[i]) {
			t.Errorf("request %d: %v, want %v", i, o.tokens, want[i])
		}
	}
	if f.bad != nil {
		t.Fatal(f.bad)
	}
	t.Logf("preemptions by request (priorities %v): %v", prios, preempted)
	if preempted[0] == 0 || preempted[1] != 0 {
		t.Fatalf("preemptions by request %v (priorities %v): the lowest must give way, the highest never", preempted, prios)
	}
	assertAllFree(t, e)
}

func TestPriorityNeedsThePolicy(t *testing.T) {
	e, _ := newFakeEngine(t, Config{NumBlocks: 16}, 256)
	if _, err := e.Submit(t.Context(), Request{Prompt: prompt(1, 4), Sampling: greedyParams(), Priority: 1}); !errors.Is(err, ErrInvalidRequest) {
		t.Fatalf("a priority under fcfs: %v", err)
	}
	if _, err := New(Config{SchedulingPolicy: "lifo"}, newFakeModel(64), fakeTokenizer{}, nil); err == nil {
		t.Fatal("an unknown policy accepted")
	}
}
