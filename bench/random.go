package bench

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
)

// randomWords are short, common English words. Byte-level BPE vocabularies
// (Llama 3, Qwen, EXAONE) encode each of them with its leading space as a
// single token, so a prompt of N words is close to N tokens without the
// client needing the server's tokenizer.
const randomWords = "the of and to in is it you that he was for on are as with his they at be this " +
	"have from or one had by word but not what all were we when your can said there use an each " +
	"which she do how their if will up other about out many then them these so some her would make " +
	"like him into time has look two more write go see number no way could people my than first water " +
	"been call who oil its now find long down day did get come made may part over new sound take only " +
	"little work know place year live me back give most very after thing our just name good sentence man " +
	"think say great where help through much before line right too mean old any same tell boy follow came " +
	"want show also around form three small set put end does another well large must big even such because"

// RandomPrompts makes n prompts of spec.InputLen words and max_tokens of
// spec.OutputLen, each length drawn uniformly from ±RangeRatio around it.
func RandomPrompts(spec RandomSpec, n int, seed uint64) ([]Prompt, error) {
	if spec.InputLen < 1 || spec.OutputLen < 1 {
		return nil, fmt.Errorf("random dataset: input and output lengths must be ≥ 1 (got %d, %d)", spec.InputLen, spec.OutputLen)
	}
	if spec.RangeRatio < 0 || spec.RangeRatio >= 1 {
		return nil, fmt.Errorf("random dataset: range ratio %g outside [0, 1)", spec.RangeRatio)
	}
	if n < 1 {
		return nil, fmt.Errorf("random dataset: need at least one prompt")
	}
	words := strings.Fields(randomWords)
	rng := rand.New(rand.NewPCG(seed, 0x72616e64)) // "rand"
	out := make([]Prompt, n)
	for i := range out {
		in := drawLen(rng, spec.InputLen, spec.RangeRatio)
		var sb strings.Builder
		for j := 0; j < in; j++ {
			if j > 0 {
				sb.WriteByte(' ')
			}
			sb.WriteString(words[rng.IntN(len(words))])
		}
		text := sb.String()
		out[i] = Prompt{
			ID:             fmt.Sprintf("random-%04d", i+1),
			Kind:           "random",
			Messages:       []Message{{Role: "user", Content: text}},
			Text:           text,
			MaxTokens:      drawLen(rng, spec.OutputLen, spec.RangeRatio),
			EstInputTokens: in,
		}
	}
	return out, nil
}

func drawLen(rng *rand.Rand, l int, ratio float64) int {
	lo := int(math.Floor(float64(l) * (1 - ratio)))
	hi := int(math.Ceil(float64(l) * (1 + ratio)))
	lo = max(lo, 1)
	if hi <= lo {
		return lo
	}
	return lo + rng.IntN(hi-lo+1)
}
