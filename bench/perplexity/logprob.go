package perplexity

import (
	"math"
)

// baseRange is how far below the row's largest logit a base row keeps
// log-probabilities: lower ones are stored as the floor and left out of
// the KL sum, where their probability (below e^-16 of the top one's) adds
// less than the 16-bit rounding of the kept ones.
const baseRange = 16

// rowWords is the uint16 words of one base row: two float32 (the scale
// and the floor's log-probability), then one word per vocabulary entry,
// padded to an even count (llama.cpp's layout).
func rowWords(nVocab int) int { return 2*((nVocab+1)/2) + 4 }

// maxLogSumExp returns the row's largest logit (the first one where
// several are equal), its index, and log Σ exp(l - max).
func maxLogSumExp(logits []float32) (maxL float32, argmax int, lse float64) {
	maxL = logits[0]
	for i, l := range logits {
		if l > maxL {
			maxL, argmax = l, i
		}
	}
	sum := 0.0
	for _, l := range logits {
		sum += math.Exp(float64(l) - float64(maxL))
	}
	return maxL, argmax, math.Log(sum)
}

// NLL is the negative log-likelihood of tok under softmax(logits), summed
// in float64 (for tools that score tokens as this package does).
func NLL(logits []float32, tok int32) float64 {
	nll, _ := rowNLL(logits, tok)
	return nll
}

// rowNLL is the negative log-likelihood of tok under softmax(logits), and
// the row's most likely token.
func rowNLL(logits []float32, tok int32) (nll float64, argmax int) {
	maxL, argmax, lse := maxLogSumExp(logits)
	return float64(maxL) + lse - float64(logits[tok]), argmax
}

// encodeRow writes the log-probabilities of softmax(logits) into dst
// (rowWords(len(logits)) words) and returns tok's negative log-likelihood.
// The words hold (l - floor) / scale rounded to the nearest integer, floor
// being the smallest logit but no lower than max - baseRange and scale
// (max - floor)/65535, so a stored log-probability is off by at most half
// a scale (2^-13 at the full range). The words come from llama.cpp's
// float32 arithmetic, so the two programs write the same words for the
// same logits (the floor, from a float64 sum here, may differ in its last
// bit).
func encodeRow(dst []uint16, logits []float32, tok int32) float64 {
	maxL, _, lse := maxLogSumExp(logits)
	minL := logits[0]
	for _, l := range logits {
		minL = min(minL, l)
	}
	minL = max(minL, maxL-baseRange)
	lse32 := float32(lse)
	scale := (maxL - minL) / 65535
	floor := minL - maxL - lse32
	putFloat32(dst[0:2], scale)
	putFloat32(dst[2:4], floor)
	words := dst[4:]
	if scale == 0 {
		clear(words)
	} else {
		inv := 1 / scale
		for i, l := range logits {
			if l > minL {
				words[i] = uint16(math.RoundToEven(float64(inv * (l - minL))))
			} else {
				words[i] = 0
			}
		}
	}
	clear(words[len(logits):])
	return float64(maxL) + lse - float64(logits[tok])
}

// putFloat32 stores f in two little-endian words, as the float's bytes
// lie in memory on the little-endian machines both programs run on.
func putFloat32(w []uint16, f float32) {
	b := math.Float32bits(f)
	w[0], w[1] = uint16(b), uint16(b>>16)
}

func getFloat32(w []uint16) float32 {
	return math.Float32frombits(uint32(w[0]) | uint32(w[1])<<16)
}

// baseLogProb is entry i of an encoded row.
func baseLogProb(row []uint16, i int) float32 {
	scale, floor := getFloat32(row[0:2]), getFloat32(row[2:4])
	return scale*float32(row[4+i]) + floor
}

// rowKL is one scored position of a KL run.
type rowKL struct {
	nll, nllBase float64 // -log p(tok) under the model and under the base
	kld          float64 // KL(base ‖ model) over the base's kept entries
	pDiff        float64 // p(tok) - p_base(tok)
	sameTop      bool    // the two rows' most likely tokens agree
}

// compareRow sets logits against an encoded base row for the token that
// followed.
func compareRow(logits []float32, base []uint16, tok int32) rowKL {
	maxL, argmax, lse := maxLogSumExp(logits)
	var r rowKL
	r.nll = float64(maxL) + lse - float64(logits[tok])
	r.nllBase = -float64(baseLogProb(base, int(tok)))
	norm := float64(maxL) + lse // log-probability of entry i: l_i - norm
	scale, floor := getFloat32(base[0:2]), getFloat32(base[2:4])
	words := base[4 : 4+len(logits)]
	baseTop, baseTopLP := 0, float32(0)
	kld := 0.0
	for i, w := range words {
		lpb := scale*float32(w) + floor
		if i == 0 || lpb > baseTopLP {
			baseTop, baseTopLP = i, lpb
		}
		if lpb > -baseRange {
			kld += math.Exp(float64(lpb)) * (float64(lpb) - (float64(logits[i]) - norm))
		}
	}
	r.kld = kld
	r.sameTop = argmax == baseTop
	r.pDiff = math.Exp(-r.nll) - math.Exp(-r.nllBase)
	return r
}
