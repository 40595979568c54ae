package model

import (
	"math"
	"slices"
	"testing"
)

// route keeps each token's k most probable experts, best first (the lower
// index on ties), with weights that are their softmax probabilities
// rescaled to sum to 1, and lays out the slots expert by expert.
func TestRoute(t *testing.T) {
	var r routing
	// Token 0 prefers 2, then 0; token 1 scores all alike; token 2 prefers 3, then 2.
	r.scores = []float32{
		1, 0, 3, -1,
		0.5, 0.5, 0.5, 0.5,
		0, -2, 1, 4,
	}
	r.route(3, 4, 2, gating{normalize: true})
	if want := []int32{2, 0, 0, 1, 3, 2}; !slices.Equal(r.chosen[:6], want) {
		t.Fatalf("chosen %v, want %v", r.chosen[:6], want)
	}
	w0 := 1 / (1 + math.Exp(1-3)) // e^3/(e^3+e^1)
	w2 := 1 / (1 + math.Exp(1-4))
	for i, want := range []float64{w0, 1 - w0, 0.5, 0.5, w2, 1 - w2} {
		if math.Abs(float64(r.weight[i])-want) > 1e-6 {
			t.Errorf("weight %d = %v, want %v", i, r.weight[i], want)
		}
	}
	// Slots, expert by expert: expert 0 (tokens 0, 1), 1 (token 1),
	// 2 (tokens 0, 2), 3 (token 2).
	if want := []int{2, 1, 2, 1}; !slices.Equal(r.count[:4], want) {
		t.Errorf("count %v, want %v", r.count[:4], want)
	}
	if want := []int32{0, 1, 1, 0, 2, 2}; !slices.Equal(r.slotTok[:6], want) {
		t.Errorf("slot tokens %v, want %v", r.slotTok[:6], want)
	}
	// perm[j*n+t] is the slot of token t's j-th choice.
	if want := []int32{3, 1, 5, 0, 2, 4}; !slices.Equal(r.perm[:6], want) {
		t.Errorf("perm %v, want %v", r.perm[:6], want)
	}
	for s, tok := range r.slotTok[:6] {
		// The slot's weight is its token's weight for that expert.
		var e int32 = -1
		for ex := range 4 {
			if s >= r.start[ex] && s < r.start[ex]+r.count[ex] {
				e = int32(ex)
			}
		}
		j := slices.Index(r.chosen[int(tok)*2:int(tok)*2+2], e)
		if j < 0 || r.slotW[s] != r.weight[int(tok)*2+j] || r.perm[j*3+int(tok)] != int32(s) {
			t.Errorf("slot %d: token %d expert %d weight %v", s, tok, e, r.slotW[s])
		}
	}
}

// qwen2moe keeps the chosen experts' probabilities as they are.
func TestRouteRawWeights(t *testing.T) {
	r := routing{scores: []float32{1, 0, 3, -1}}
	r.route(1, 4, 2, gating{})
	sum := math.Exp(1) + 1 + math.Exp(3) + math.Exp(-1)
	for j, want := range []float64{math.Exp(3) / sum, math.Exp(1) / sum} {
		if math.Abs(float64(r.weight[j])-want) > 1e-6 {
			t.Errorf("weight %d = %v, want %v", j, r.weight[j], want)
		}
	}
}

// K-EXAONE's routing: sigmoid probabilities, chosen with a selection bias
// that does not enter the weights, normalised, then scaled.
func TestRouteSigmoidBias(t *testing.T) {
	sig := func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
	scores := []float32{2, 1, 0.5, -1}
	for _, c := range []struct {
		name   string
		g      gating
		chosen []int32
		weight []float64
	}{
		{"sigmoid", gating{sigmoid: true}, []int32{0, 1}, []float64{sig(2), sig(1)}},
		// The bias moves expert 3 (sigmoid 0.27 + 0.7 = 0.97) past expert 0
		// (0.88 + 0), 1 (0.73 + 0) and 2 (0.62 + 0.2): chosen 3, 0,
		// weighted by their unbiased probabilities.
		{"bias", gating{sigmoid: true, bias: []float32{0, 0, 0.2, 0.7}}, []int32{3, 0}, []float64{sig(-1), sig(2)}},
		{"bias, normalised, scaled", gating{sigmoid: true, normalize: true, scale: 2.5, bias: []float32{0, 0, 0.2, 0.7}}, []int32{3, 0},
			[]float64{2.5 * sig(-1) / (sig(2) + sig(-1)), 2.5 * sig(2) / (sig(2) + sig(-1))}},
		// Softmax gating with a scale and no normalisation.
		{"softmax scaled", gating{scale: 0.5}, []int32{0, 1}, []float64{0.5 * math.Exp(2) / (math.Exp(2) + math.E + math.Exp(0.5) + math.Exp(-1)),
			0.5 * math.E / (math.Exp(2) + math.E + math.Exp(0.5) + math.Exp(-1))}},
	} {
		r := routing{scores: slices.Clone(scores)}
		r.route(1, 4, 2, c.g)
		if !slices.Equal(r.chosen[:2], c.chosen) {
			t.Errorf("%s: chosen %v, want %v", c.name, r.chosen[:2], c.chosen)
			continue
		}
		for j, want := range c.weight {
			if math.Abs(float64(r.weight[j])-want) > 1e-6 { // float32 arithmetic
				t.Errorf("%s: weight %d = %v, want %v", c.name, j, r.weight[j], want)
			}
		}
	}
	// A vanishing sum is clamped, not divided by: the weights stay finite.
	r := routing{scores: []float32{-20, -20, -30, -30}}
	r.route(1, 4, 2, gating{sigmoid: true, normalize: true})
	for j, w := range r.weight[:2] {
		if want := sig(-20) / minWeightSum; math.Abs(float64(w)-want) > 1e-6*want {
			t.Errorf("clamped weight %d = %v, want %v", j, w, want)
		}
	}
}

// DeepSeek-V3's groups: 8 experts in 4 groups of 2, the 2 best groups
// (by the sum of their two best scores) searched for 3 experts.
func TestRouteGroups(t *testing.T) {
	probs := []float64{0.9, 0.1, 0.5, 0.5, 0.8, 0.3, 0.2, 0.2}
	scores := make([]float32, len(probs))
	for i, p := range probs {
		scores[i] = float32(math.Log(p / (1 - p))) // sigmoid(score) = p
	}
	// Group sums 1.0, 1.0, 1.1, 0.4: groups 2 and 0 (the tie with 1 goes
	// to the lower), so experts 0, 4, 5; without groups 0, 4 and 2.
	for _, c := range []struct {
		g    gating
		want []int32
	}{
		{gating{sigmoid: true, groups: 4, groupsUsed: 2}, []int32{0, 4, 5}},
		{gating{sigmoid: true}, []int32{0, 4, 2}},
		// A bias that lifts group 3 (0.2+0.5 twice = 1.4) past the others:
		// groups 3 and 2, experts 4 (0.8), 6 and 7 (0.7 biased).
		{gating{sigmoid: true, groups: 4, groupsUsed: 2, bias: []float32{0, 0, 0, 0, 0, 0, 0.5, 0.5}}, []int32{4, 6, 7}},
	} {
		r := routing{scores: slices.Clone(scores)}
		r.route(1, 8, 3, c.g)
		if !slices.Equal(r.chosen[:3], c.want) {
			t.Errorf("%+v: chosen %v, want %v", c.g, r.chosen[:3], c.want)
		}
		for j, e := range r.chosen[:3] {
			if math.Abs(float64(r.weight[j])-probs[e]) > 1e-6 { // unbiased, unnormalised
				t.Errorf("%+v: weight %d = %v, want %v", c.g, j, r.weight[j], probs[e])
			}
		}
	}
}

func TestTopK(t *testing.T) {
	for _, c := range []struct {
		p    []float32
		k    int
		want []int32
	}{
		{[]float32{0.1, 0.4, 0.2, 0.3}, 2, []int32{1, 3}},
		{[]float32{0.25, 0.25, 0.25, 0.25}, 3, []int32{0, 1, 2}},
		{[]float32{0.5, 0.1, 0.5}, 2, []int32{0, 2}},
		{[]float32{1}, 1, []int32{0}},
	} {
		dst := make([]int32, c.k)
		topK(dst, c.p)
		if !slices.Equal(dst, c.want) {
			t.Errorf("topK(%v, %d) = %v, want %v", c.p, c.k, dst, c.want)
		}
	}
}
