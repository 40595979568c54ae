package sample

import (
	"strings"
	"testing"
)

// ThinkingBudget over a small vocabulary, driven greedily by a "model"
// that always wants one token and otherwise prefers the ones it lists:
// thinking within the budget is left alone; past it the closing (and the
// message) is forced, spelled as the model prefers; a reply that does not
// think is free; an inner constraint holds throughout.
func TestThinkingBudget(t *testing.T) {
	pieces := []string{"", "<think>", "<th", "ink>", "생각", "</think>", "</", "think>", "답", "\n", "시간 끝.", "true", "</think>\n\n"}
	raw := make([][]byte, len(pieces))
	id := map[string]int32{}
	for i, p := range pieces {
		raw[i] = []byte(p)
		id[p] = int32(i)
	}
	v := NewVocab(raw, 0)
	for _, tc := range []struct {
		name    string
		budget  int
		message string
		open    bool
		inner   func() Constraint
		wants   []string // what the model wants at each step (the last repeats)
		prefer  []string // its fallbacks, best first
		want    string
		steps   int
	}{
		{"within budget", 5, "", false, nil, []string{"<think>", "생각", "</think>", "답"}, nil, "<think>생각</think>답답답", 6},
		{"spent", 2, "", false, nil, []string{"<th", "ink>", "생각"}, []string{"</", "think>"}, "<think>생각생각</think>생각생각", 8},
		{"whole closer token", 1, "", false, nil, []string{"<think>", "생각"}, []string{"</think>\n\n"}, "<think>생각</think>\n\n생각", 4},
		{"opened by the prompt", 1, "", true, nil, []string{"생각"}, []string{"</", "think>"}, "생각</think>생각", 4},
		{"budget zero", 0, "", true, nil, []string{"생각"}, []string{"</think>"}, "</think>생각", 2},
		{"message", 1, "시간 끝.", true, nil, []string{"생각"}, []string{"시간 끝.", "</think>"}, "생각시간 끝.</think>생각", 4},
		{"no thinking", 0, "", false, nil, []string{"답"}, nil, "답답답", 3},
		{"model closes on the last token", 2, "", true, nil, []string{"생각", "</think>", "답"}, nil, "생각</think>답", 3},
		{"inner after thinking", 1, "", true, func() Constraint { return AfterThinking(v, NewJSON(v, false), DefaultThinkTags, true) },
			[]string{"생각"}, []string{"</think>", "true"}, "생각</think>true", 10},
	} {
		// Without logprobs the sampler asks about its pick; with them it
		// masks through eachAllowed.
		for _, topN := range []int{NoLogprob, 1} {
			var inner Constraint
			if tc.inner != nil {
				inner = tc.inner()
			}
			c := ThinkingBudget(v, tc.budget, tc.message, DefaultThinkTags, tc.open, inner)
			s := New(greedy())
			s.Constrain(c)
			var out strings.Builder
			for step := 0; step < tc.steps && !c.Complete(); step++ {
				logits := make([]float32, len(pieces))
				logits[id[tc.wants[min(step, len(tc.wants)-1)]]] = 20
				for rank, p := range tc.prefer {
					logits[id[p]] = float32(10 - rank)
				}
				r, err := s.Sample(logits, nil, topN)
				if err != nil {
					t.Fatalf("%s: step %d after %q: %v", tc.name, step, out.String(), err)
				}
				out.WriteString(pieces[r.Token])
			}
			if out.String() != tc.want {
				t.Errorf("%s (top %d): %q, want %q", tc.name, topN, out.String(), tc.want)
			}
		}
	}
}
