package perplexity

import (
	"math"
	"math/rand/v2"
	"testing"
)

// refLogProbs is log softmax(logits) in float64, the plain way.
func refLogProbs(logits []float32) []float64 {
	m := math.Inf(-1)
	for _, l := range logits {
		m = math.Max(m, float64(l))
	}
	s := 0.0
	for _, l := range logits {
		s += math.Exp(float64(l) - m)
	}
	out := make([]float64, len(logits))
	for i, l := range logits {
		out[i] = float64(l) - m - math.Log(s)
	}
	return out
}

func randLogits(rng *rand.Rand, n int, spread, offset float64) []float32 {
	l := make([]float32, n)
	for i := range l {
		l[i] = float32(rng.NormFloat64()*spread + offset)
	}
	return l
}

func TestRowNLL(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name           string
		n              int
		spread, offset float64
	}{
		{"one entry", 1, 1, 0},
		{"small", 7, 1, 0},
		{"odd vocab", 513, 3, 0},
		{"large logits", 1000, 5, 4000}, // exp would overflow without the max shift
		{"very negative", 300, 2, -9000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := randLogits(rng, tc.n, tc.spread, tc.offset)
			ref := refLogProbs(l)
			for _, tok := range []int32{0, int32(tc.n / 2), int32(tc.n - 1)} {
				got, top := rowNLL(l, tok)
				// float64 sums over ≤ 1000 terms: agreement to 1e-9.
				if d := math.Abs(got + ref[tok]); d > 1e-9 {
					t.Errorf("tok %d: nll %v, want %v", tok, got, -ref[tok])
				}
				for i := range l {
					if l[i] > l[top] || (l[i] == l[top] && i < top) {
						t.Fatalf("argmax %d, but entry %d is %v ≥ %v", top, i, l[i], l[top])
					}
				}
			}
		})
	}
}

// TestEncodeRow checks a base row's words against the exact
// log-probabilities: within half a step of the 16-bit grid (plus float32
// rounding of the values around it) for every entry within baseRange of
// the top, the floor for the rest, and the padding word zero.
func TestEncodeRow(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct {
		name           string
		n              int
		spread, offset float64
	}{
		{"narrow", 64, 0.5, 0},
		{"wide, floor in use", 511, 8, 0}, // odd: one padding word
		{"offset", 300, 3, 250},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := randLogits(rng, tc.n, tc.spread, tc.offset)
			row := make([]uint16, rowWords(tc.n))
			for i := range row {
				row[i] = 0xffff // every word must be written
			}
			nll := encodeRow(row, l, 5)
			ref := refLogProbs(l)
			if math.Abs(nll+ref[5]) > 1e-9 {
				t.Errorf("nll %v, want %v", nll, -ref[5])
			}
			scale := float64(getFloat32(row[0:2]))
			maxL := float64(slicesMax(l))
			floored := 0
			for i := range l {
				got := float64(baseLogProb(row, i))
				if float64(l[i]) <= maxL-baseRange {
					floored++
					if row[4+i] != 0 {
						t.Fatalf("entry %d below the range: word %d, want 0", i, row[4+i])
					}
					continue
				}
				// Half a grid step, plus float32 rounding of log-probs
				// of magnitude ≤ 16 + log n (2^-19 relative).
				if tol := scale/2 + 3e-5; math.Abs(got-ref[i]) > tol {
					t.Fatalf("entry %d: %v, want %v (±%v)", i, got, ref[i], tol)
				}
			}
			if tc.spread >= 8 && floored == 0 {
				t.Error("no entry fell below the range: the case does not test the floor")
			}
			if len(row) > 4+tc.n && row[4+tc.n] != 0 {
				t.Errorf("padding word %d, want 0", row[4+tc.n])
			}
		})
	}
	t.Run("constant row", func(t *testing.T) {
		l := []float32{2, 2, 2, 2, 2}
		row := make([]uint16, rowWords(len(l)))
		encodeRow(row, l, 0)
		for i := range l {
			if got, want := float64(baseLogProb(row, i)), -math.Log(5); math.Abs(got-want) > 1e-6 {
				t.Errorf("entry %d: %v, want %v", i, got, want)
			}
		}
	})
}

func slicesMax(l []float32) float32 {
	m := l[0]
	for _, v := range l {
		m = max(m, v)
	}
	return m
}

// TestCompareRow sets two known distributions against each other: the
// KL divergence, Δp and top agreement must be what they are, within the
// base row's 16-bit grid.
func TestCompareRow(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, tc := range []struct {
		name  string
		n     int
		noise float64 // how far the model's logits stray from the base's
	}{
		{"same", 200, 0},
		{"close", 200, 0.05},
		{"far", 200, 1},
		{"odd vocab", 77, 0.3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := randLogits(rng, tc.n, 2, 0)
			m := make([]float32, tc.n)
			for i := range m {
				m[i] = base[i] + float32(rng.NormFloat64()*tc.noise)
			}
			row := make([]uint16, rowWords(tc.n))
			const tok = 3
			encodeRow(row, base, tok)
			got := compareRow(m, row, tok)
			lp, lq := refLogProbs(base), refLogProbs(m)
			kl := 0.0
			for i := range lp {
				kl += math.Exp(lp[i]) * (lp[i] - lq[i])
			}
			// Each base log-probability is off by ≤ half a grid step
			// (≤ 2^-13 here): the sum moves by about that much.
			if math.Abs(got.kld-kl) > 2e-4 {
				t.Errorf("KL %v, want %v", got.kld, kl)
			}
			if math.Abs(got.nll+lq[tok]) > 1e-9 || math.Abs(got.nllBase+lp[tok]) > 2e-4 {
				t.Errorf("nll %v / %v, want %v / %v", got.nll, got.nllBase, -lq[tok], -lp[tok])
			}
			if want := math.Exp(lq[tok]) - math.Exp(lp[tok]); math.Abs(got.pDiff-want) > 2e-4 {
				t.Errorf("Δp %v, want %v", got.pDiff, want)
			}
			if want := argmax(m) == argmax(base); got.sameTop != want {
				t.Errorf("same top %v, want %v", got.sameTop, want)
			}
			if tc.noise == 0 && (!got.sameTop || math.Abs(got.kld) > 2e-4) {
				t.Errorf("a model against its own base: KL %v, same top %v", got.kld, got.sameTop)
			}
		})
	}
}

func argmax(l []float32) int {
	best := 0
	for i, v := range l {
		if v > l[best] {
			best = i
		}
	}
	return best
}
