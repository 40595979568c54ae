package engine

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/nuri-ai/nuri/sample"
)

// referenceStops is reference with vLLM's min_tokens and stop_token_ids.
func referenceStops(prompt []int32, p sample.Params, maxTokens, minTokens int, stops []int32) []int32 {
	return referenceWith(prompt, p, refOpts{maxTokens: maxTokens, minTokens: minTokens, stops: stops})
}

// earlyEOS finds a prompt whose greedy reply ends with EOS within n tokens.
func earlyEOS(t *testing.T, n int) ([]int32, []int32) {
	t.Helper()
	for seed := range 2000 {
		p := prompt(seed, 6)
		if out := reference(p, greedyParams(), 40, 256, false); len(out) <= n && out[len(out)-1] == fakeEOS {
			return p, out
		}
	}
	t.Fatalf("no prompt ends within %d tokens", n)
	return nil, nil
}

// vLLM's min_tokens, stop_token_ids and include_stop_str_in_output, and
// skip_special_tokens false (Request.ShowSpecial).
func TestStopControls(t *testing.T) {
	e, f := newFakeEngine(t, Config{NumBlocks: 64}, 256)
	run := func(r Request) *outcome {
		t.Helper()
		r.Sampling = greedyParams()
		return drive(t, e, []*Sequence{submit(t, e, r)}, 500)[0]
	}

	// min_tokens: a reply that would end with EOS after k tokens goes on.
	p, short := earlyEOS(t, 8)
	k := len(short)
	out := run(Request{Prompt: p, MaxTokens: 40, MinTokens: k + 5})
	want := referenceStops(p, greedyParams(), 40, k+5, nil)
	if !slices.Equal(out.tokens, want) || len(out.tokens) < k+5 || slices.Contains(out.tokens[:k+5], fakeEOS) {
		t.Fatalf("min tokens %d: %v, want %v (alone: %v)", k+5, out.tokens, want, short)
	}
	if out.text != fakeText(want, false) {
		t.Errorf("min tokens text %q, want %q", out.text, fakeText(want, false))
	}

	// stop_token_ids: the reply ends at the first stop token, its text
	// left out, or kept with IncludeStop; the event names the token.
	long := reference(p, greedyParams(), 30, 256, true)
	stopAt := -1
	for i := 3; i < len(long); i++ {
		if long[i] != fakeEOS && !slices.Contains(long[:i], long[i]) && !slices.Contains(long[:i], fakeEOS) {
			stopAt = i
			break
		}
	}
	if stopAt < 0 {
		t.Fatalf("no token to stop at in %v", long)
	}
	stopTok := long[stopAt]
	for _, include := range []bool{false, true} {
		out := run(Request{Prompt: p, MaxTokens: 30, IgnoreEOS: true, StopTokens: []int32{stopTok}, IncludeStop: include})
		wantText := fakeText(long[:stopAt], true)
		if include {
			wantText = fakeText(long[:stopAt+1], true)
		}
		if !slices.Equal(out.tokens, long[:stopAt+1]) || out.finish != FinishStop || out.stopReason != stopTok || out.text != wantText {
			t.Errorf("stop token %d include %v: %v %q finish %s reason %v, want %v %q", stopTok, include, out.tokens, out.text, out.finish, out.stopReason, long[:stopAt+1], wantText)
		}
	}
	// ... but not before min_tokens.
	out = run(Request{Prompt: p, MaxTokens: 30, MinTokens: stopAt + 3, StopTokens: []int32{stopTok}})
	if want := referenceStops(p, greedyParams(), 30, stopAt+3, []int32{stopTok}); !slices.Equal(out.tokens, want) || len(want) < stopAt+3 {
		t.Errorf("stop token under min tokens: %v, want %v", out.tokens, want)
	}

	// A stop string: reported, kept with IncludeStop, ignored before
	// min_tokens.
	text := fakeText(long, true)
	stop := strings.TrimSpace(fakeText(long[stopAt:stopAt+1], true))
	at := strings.Index(text, stop)
	for _, include := range []bool{false, true} {
		out := run(Request{Prompt: p, MaxTokens: 30, IgnoreEOS: true, Stop: []string{stop}, IncludeStop: include})
		want := text[:at]
		if include {
			want = text[:at+len(stop)]
		}
		if out.text != want || out.stopReason != stop {
			t.Errorf("stop string %q include %v: %q reason %v, want %q", stop, include, out.text, out.stopReason, want)
		}
	}
	out = run(Request{Prompt: p, MaxTokens: 30, IgnoreEOS: true, Stop: []string{stop}, MinTokens: 30})
	if out.text != text || out.stopReason != nil || out.finish != FinishLength {
		t.Errorf("stop string under min tokens: %q reason %v finish %s, want %q", out.text, out.stopReason, out.finish, text)
	}

	// Special tokens' text: hidden by default, shown with ShowSpecial.
	ignored := reference(p, greedyParams(), 20, 256, true)
	if !slices.Contains(ignored, fakeEOS) {
		t.Fatalf("no EOS in %v to show", ignored)
	}
	for _, show := range []bool{false, true} {
		out := run(Request{Prompt: p, MaxTokens: 20, IgnoreEOS: true, ShowSpecial: show})
		if got := strings.Contains(out.text, "</s>"); got != show {
			t.Errorf("show special %v: %q", show, out.text)
		}
	}
	if f.bad != nil {
		t.Fatal(f.bad)
	}

	for _, r := range []Request{
		{Prompt: p, MaxTokens: 4, MinTokens: 5},
		{Prompt: p, MinTokens: -1},
		{Prompt: p, StopTokens: []int32{fakeVocab}},
	} {
		r.Sampling = greedyParams()
		if _, err := e.Submit(t.Context(), r); !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("%+v: %v", r, err)
		}
	}
}
