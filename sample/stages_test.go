package sample

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func cands(logits ...float32) []cand {
	c := make([]cand, len(logits))
	for i, v := range logits {
		c[i] = cand{id: int32(i), logit: v}
	}
	return c
}

func ids(c []cand) []int32 {
	out := make([]int32, len(c))
	for i, x := range c {
		out[i] = x.id
	}
	return out
}

func TestTopK(t *testing.T) {
	tests := []struct {
		name   string
		logits []float32
		k      int
		want   []int32
	}{
		{"keeps best sorted", []float32{1, 5, 3, 4, 2}, 3, []int32{1, 3, 2}},
		{"ties lowest id first", []float32{2, 3, 3, 1, 3}, 2, []int32{1, 2}},
		{"k=1", []float32{0, -1, 7, 7}, 1, []int32{2}},
		{"k ≥ n sorts all", []float32{1, 3, 2}, 5, []int32{1, 2, 0}},
		{"k ≤ 0 sorts all", []float32{1, 3, 2}, 0, []int32{1, 2, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ids(topK(cands(tc.logits...), tc.k))
			if !slices.Equal(got, tc.want) {
				t.Fatalf("topK = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestTopKMatchesSortOnRandomRows(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := range 200 {
		n := 1 + r.IntN(300)
		c := make([]cand, n)
		for i := range c {
			// few distinct values so ties are common
			c[i] = cand{id: int32(i), logit: float32(r.IntN(20))}
		}
		k := 1 + r.IntN(n)
		ref := slices.Clone(c)
		sortDesc(ref)
		got := topK(slices.Clone(c), k)
		if !slices.Equal(ids(got), ids(ref[:k])) {
			t.Fatalf("trial %d n=%d k=%d: %v want %v", trial, n, k, ids(got), ids(ref[:k]))
		}
	}
}

func TestTopP(t *testing.T) {
	// probabilities 0.5, 0.25, 0.125, 0.125 (sorted)
	l := []float32{0, float32(math.Log(0.5)), float32(math.Log(0.25)), float32(math.Log(0.25))}
	tests := []struct {
		p    float32
		want int
	}{
		{1, 4}, {1.5, 4}, {0.4, 1}, {0.5, 1}, {0.6, 2}, {0.75, 2}, {0.8, 3}, {0.99, 4}, {0, 1},
	}
	for _, tc := range tests {
		c := cands(l...)
		got := topP(c, tc.p, 0, expSum(c, 0))
		if len(got) != tc.want {
			t.Errorf("top_p %v kept %d, want %d", tc.p, len(got), tc.want)
		}
	}
}

func TestMinP(t *testing.T) {
	// probabilities relative to the max: 1, 0.5, 0.1, 0.01
	l := []float32{0, float32(math.Log(0.5)), float32(math.Log(0.1)), float32(math.Log(0.01))}
	tests := []struct {
		p    float32
		want []int32
	}{
		{0.05, []int32{0, 1, 2}},
		{0.2, []int32{0, 1}},
		{0.6, []int32{0}},
		{0.001, []int32{0, 1, 2, 3}},
	}
	for _, tc := range tests {
		got := ids(minP(cands(l...), tc.p, 0))
		if !slices.Equal(got, tc.want) {
			t.Errorf("min_p %v kept %v, want %v", tc.p, got, tc.want)
		}
	}
}

func TestTemperature(t *testing.T) {
	c := cands(2, -4, 0)
	temperature(c, 0.5)
	want := []float32{4, -8, 0}
	for i, x := range c {
		if x.logit != want[i] {
			t.Fatalf("logit %d = %v, want %v", i, x.logit, want[i])
		}
	}
}

func TestDist(t *testing.T) {
	// probabilities 0.5, 0.25, 0.25
	c := cands(float32(math.Log(2)), 0, 0)
	tests := []struct {
		r    float64
		want int32
	}{
		{0, 0}, {0.49, 0}, {0.5, 0}, {0.51, 1}, {0.74, 1}, {0.76, 2}, {0.9999, 2},
	}
	for _, tc := range tests {
		if got := dist(c, tc.r); got != tc.want {
			t.Errorf("dist(r=%v) = %d, want %d", tc.r, got, tc.want)
		}
	}
}

func TestPenalize(t *testing.T) {
	tests := []struct {
		name  string
		v     float32
		n     int
		p     Params
		wantV float32
	}{
		{"repeat positive divides", 4, 1, Params{RepeatPenalty: 2}, 2},
		{"repeat negative multiplies", -4, 3, Params{RepeatPenalty: 2}, -8},
		{"repeat zero multiplies", 0, 1, Params{RepeatPenalty: 2}, 0},
		{"frequency scales with count", 1, 3, Params{RepeatPenalty: 1, FrequencyPenalty: 0.5}, -0.5},
		{"presence once", 1, 3, Params{RepeatPenalty: 1, PresencePenalty: 0.25}, 0.75},
		{"repeat then both", 3, 2, Params{RepeatPenalty: 1.5, FrequencyPenalty: 0.5, PresencePenalty: 1}, 0},
	}
	for _, tc := range tests {
		if got := penalize(tc.v, tc.n, tc.p); got != tc.wantV {
			t.Errorf("%s: penalize = %v, want %v", tc.name, got, tc.wantV)
		}
	}
}

func TestPenaltyWindow(t *testing.T) {
	logits := []float32{1, 1, 1, 1}
	history := []int32{0, 0, 1, 2, 2, 2}
	tests := []struct {
		name  string
		lastN int
		want  []float32
	}{
		{"off", 0, []float32{1, 1, 1, 1}},
		{"last 3", 3, []float32{1, 1, -2, 1}},
		{"last 4", 4, []float32{1, 0, -2, 1}},
		{"whole", -1, []float32{-1, 0, -2, 1}},
		{"longer than history", 100, []float32{-1, 0, -2, 1}},
	}
	for _, tc := range tests {
		s := New(Params{RepeatPenalty: 1, FrequencyPenalty: 1, PenaltyLastN: tc.lastN, HasSeed: true})
		s.work = slices.Clone(logits)
		if err := s.applyPenalties(history); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(s.work, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, s.work, tc.want)
		}
	}
}

// naiveCandidates is the chain exactly as MODEL_SPEC.md §6 states it:
// sort everything, then top-k, top-p (softmax over what is left), min-p,
// temperature. The optimised Sampler.candidates must keep the same set.
func naiveCandidates(work []float32, p Params) []cand {
	c := cands(work...)
	c = slices.DeleteFunc(c, func(x cand) bool { return math.IsInf(float64(x.logit), -1) })
	sortDesc(c)
	if p.TopK > 0 && p.TopK < len(c) {
		c = c[:p.TopK]
	}
	c = topP(c, p.TopP, c[0].logit, expSum(c, c[0].logit))
	if p.MinP > 0 {
		c = minP(c, p.MinP, c[0].logit)
	}
	temperature(c, p.Temperature)
	return c
}

func TestCandidatesMatchNaiveChain(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for trial := range 500 {
		n := 1 + r.IntN(200)
		work := make([]float32, n)
		for i := range work {
			work[i] = float32(r.NormFloat64() * 3)
			if r.IntN(20) == 0 {
				work[i] = float32(math.Inf(-1))
			}
		}
		work[r.IntN(n)] = 1 // at least one finite logit
		p := Params{
			Temperature: 0.1 + r.Float32()*2,
			TopK:        []int{0, 1, 5, 40, 1000}[r.IntN(5)],
			TopP:        []float32{1, 0.95, 0.5, 0.1}[r.IntN(4)],
			MinP:        []float32{0, 0.05, 0.3}[r.IntN(3)],
		}
		s := New(p)
		s.work = slices.Clone(work)
		maxV, _ := argmax(work)
		got := slices.Clone(s.candidates(maxV))
		want := naiveCandidates(work, p)
		sortDesc(got)
		if !slices.Equal(got, want) {
			t.Fatalf("trial %d %+v:\n got %v\nwant %v", trial, p, got, want)
		}
	}
}
