package synth

import "fmt"

// Token types (llama_token_type).
const (
	tokenNormal  = 1
	tokenControl = 3
	tokenUnused  = 5
)

// vocab is a minimal byte-level BPE vocabulary of n tokens that llama.cpp
// loads: the 256 byte tokens in GPT-2's byte-to-unicode spelling (llama.cpp
// looks every byte up when it falls back to bytes), BOS and EOS control
// tokens, the results of a few merges (so BPE has something to do), and
// UNUSED fillers "<|synth_N|>" up to n.
type vocab struct {
	tokens []string
	types  []int32
	merges []string
	bos    uint32
	eos    uint32
}

// synthMerges are common English pairs in GPT-2 spelling ("Ġ" is a space).
func synthMerges() [][2]string {
	return [][2]string{{"Ġ", "t"}, {"Ġ", "a"}, {"h", "e"}, {"i", "n"}, {"t", "h"}, {"e", "r"}}
}

func newVocab(n int) (*vocab, error) {
	merges := synthMerges()
	if n < 258+len(merges) {
		return nil, fmt.Errorf("vocabulary of %d tokens is too small: 256 byte tokens, BOS, EOS and %d merged tokens are needed", n, len(merges))
	}
	v := &vocab{tokens: make([]string, 0, n), types: make([]int32, 0, n)}
	for _, r := range gpt2ByteRunes() {
		v.tokens = append(v.tokens, string(r))
		v.types = append(v.types, tokenNormal)
	}
	v.bos, v.eos = 256, 257
	v.tokens = append(v.tokens, "<|synth_bos|>", "<|synth_eos|>")
	v.types = append(v.types, tokenControl, tokenControl)
	for _, m := range merges {
		v.merges = append(v.merges, m[0]+" "+m[1])
		v.tokens = append(v.tokens, m[0]+m[1])
		v.types = append(v.types, tokenNormal)
	}
	for i := len(v.tokens); i < n; i++ {
		v.tokens = append(v.tokens, fmt.Sprintf("<|synth_%d|>", i))
		v.types = append(v.types, tokenUnused)
	}
	return v, nil
}

// gpt2ByteRunes returns, for each byte value, the character GPT-2's
// byte-level BPE spells it with: printable Latin-1 bytes stand for
// themselves, the other 68 map to U+0100 onwards in byte order.
func gpt2ByteRunes() [256]rune {
	var m [256]rune
	next := rune(256)
	for b := 0; b < 256; b++ {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			m[b] = rune(b)
		} else {
			m[b] = next
			next++
		}
	}
	return m
}
