package bench

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestKoreanDataset(t *testing.T) {
	ps, err := LoadDataset("korean", RandomSpec{}, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) < 200 {
		t.Fatalf("%d prompts, want at least 200", len(ps))
	}
	ids := map[string]bool{}
	kinds := map[string]int{}
	minLen, maxLen := 1<<30, 0
	for _, p := range ps {
		if ids[p.ID] {
			t.Errorf("duplicate id %s", p.ID)
		}
		ids[p.ID] = true
		kinds[p.Kind]++
		if p.MaxTokens <= 0 {
			t.Errorf("%s: max_tokens %d", p.ID, p.MaxTokens)
		}
		if last := p.Messages[len(p.Messages)-1]; last.Role != "user" {
			t.Errorf("%s: last turn is %s, want user", p.ID, last.Role)
		}
		if p.Kind == "multi_turn" && len(p.Messages) < 3 {
			t.Errorf("%s: multi-turn with %d messages", p.ID, len(p.Messages))
		}
		n, hangul := 0, 0
		for _, m := range p.Messages {
			n += utf8.RuneCountInString(m.Content)
			for _, r := range m.Content {
				if unicode.Is(unicode.Hangul, r) {
					hangul++
				}
			}
		}
		if hangul < 5 {
			t.Errorf("%s: only %d Hangul characters", p.ID, hangul)
		}
		minLen, maxLen = min(minLen, n), max(maxLen, n)
		if p.Text == "" || p.EstInputTokens <= 0 {
			t.Errorf("%s: completion text %q, estimate %d", p.ID, p.Text, p.EstInputTokens)
		}
	}
	for _, k := range []string{"question", "summary", "translation", "code", "multi_turn", "writing"} {
		if kinds[k] < 15 {
			t.Errorf("kind %s: %d prompts, want at least 15", k, kinds[k])
		}
	}
	// Varied length: short questions to passages of several hundred
	// characters, all short enough for a 2048-token context even when every
	// Hangul syllable costs three byte tokens.
	if minLen > 40 || maxLen < 300 || maxLen > 600 {
		t.Errorf("prompt lengths %d..%d characters, want ≤40 .. 300-600", minLen, maxLen)
	}
}

func TestParseJSONL(t *testing.T) {
	good := `{"id":"a","kind":"q","messages":[{"role":"system","content":"s"},{"role":"user","content":"안녕"}],"max_tokens":9}

{"prompt":"plain text"}
`
	ps, err := ParseJSONL(strings.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 || ps[0].ID != "a" || ps[0].MaxTokens != 9 || ps[0].Text != "시스템: s\n\n사용자: 안녕\n\n어시스턴트:" {
		t.Errorf("first prompt %+v", ps[0])
	}
	if ps[1].ID != "line-3" || len(ps[1].Messages) != 1 || ps[1].Messages[0].Content != "plain text" || ps[1].Text != "plain text" {
		t.Errorf("second prompt %+v", ps[1])
	}
	bad := []struct{ in, want string }{
		{"", "no prompts"},
		{"{\n", "line 1"},
		{`{"messages":[{"role":"robot","content":"x"}]}`, "unknown role"},
		{`{"messages":[{"role":"user","content":"  "}]}`, "empty content"},
		{`{"id":"x"}`, "neither messages nor prompt"},
		{`{"prompt":"x","max_tokens":-1}`, "negative"},
		{"{\"prompt\":\"ok\"}\n[1,2]", "line 2"},
	}
	for _, tc := range bad {
		if _, err := ParseJSONL(strings.NewReader(tc.in)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseJSONL(%q) error %v, want it to mention %q", tc.in, err, tc.want)
		}
	}
	if _, err := LoadDataset("/nonexistent/prompts.jsonl", RandomSpec{}, 1, 0); err == nil {
		t.Error("missing dataset file: no error")
	}
}

func TestRandomPrompts(t *testing.T) {
	spec := RandomSpec{InputLen: 100, OutputLen: 50, RangeRatio: 0.2}
	a, err := RandomPrompts(spec, 200, 3)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := RandomPrompts(spec, 200, 3)
	sumIn := 0
	for i, p := range a {
		words := len(strings.Fields(p.Text))
		if words < 80 || words > 120 || p.MaxTokens < 40 || p.MaxTokens > 60 {
			t.Errorf("prompt %d: %d words, max_tokens %d; want 80..120 and 40..60", i, words, p.MaxTokens)
		}
		if p.EstInputTokens != words || p.Messages[0].Content != p.Text || p.Text != b[i].Text {
			t.Errorf("prompt %d: estimate %d for %d words, or not deterministic", i, p.EstInputTokens, words)
		}
		sumIn += words
	}
	if mean := float64(sumIn) / 200; mean < 95 || mean > 105 {
		t.Errorf("mean input length %g words, want about 100", mean)
	}
	exact, _ := RandomPrompts(RandomSpec{InputLen: 7, OutputLen: 3}, 5, 1)
	for _, p := range exact {
		if len(strings.Fields(p.Text)) != 7 || p.MaxTokens != 3 {
			t.Errorf("range ratio 0: %q max %d", p.Text, p.MaxTokens)
		}
	}
	for _, bad := range []RandomSpec{{InputLen: 0, OutputLen: 1}, {InputLen: 1, OutputLen: 0}, {InputLen: 1, OutputLen: 1, RangeRatio: 1}} {
		if _, err := RandomPrompts(bad, 1, 0); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}

func TestSamplePrompts(t *testing.T) {
	ds := make([]Prompt, 5)
	for i := range ds {
		ds[i].ID = string(rune('a' + i))
	}
	got := SamplePrompts(ds, 12, 9)
	if len(got) != 12 {
		t.Fatalf("%d prompts", len(got))
	}
	// Every prompt appears once in each full pass before any repeats.
	for pass := 0; pass < 2; pass++ {
		seen := map[string]bool{}
		for _, p := range got[pass*5 : pass*5+5] {
			if seen[p.ID] {
				t.Errorf("pass %d repeats %s", pass, p.ID)
			}
			seen[p.ID] = true
		}
	}
	again := SamplePrompts(ds, 12, 9)
	for i := range got {
		if got[i].ID != again[i].ID {
			t.Fatal("sampling is not deterministic for a seed")
		}
	}
	if SamplePrompts(nil, 3, 0) != nil || SamplePrompts(ds, 0, 0) != nil {
		t.Error("empty input or n=0 should give nil")
	}
}

func TestEstimateTokens(t *testing.T) {
	cases := []struct {
		in   string
		want int
	}{
		{"", 0},
		{"안녕하세요", 5},
		{"hello world", 4}, // 5 letters → 2, 5 letters → 2
		{"a, b.", 4},       // a , b .
		{"GPU가 빠르다", 5},    // GPU → 1, 가 빠 르 다 → 4
		{"x := 10 + 2", 6}, // x : = 10 + 2
		{"   \n\t ", 0},
	}
	for _, tc := range cases {
		if got := EstimateTokens(tc.in); got != tc.want {
			t.Errorf("EstimateTokens(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}
