package tokenizer

import (
	"fmt"
	"slices"
)

// cpText is one raw-text fragment decoded into code points, the unit
// llama.cpp's unicode_regex_split works on. Pieces are ranges of code point
// indices; off maps an index to its byte offset so words can be cut out of
// the fragment without re-encoding.
type cpText struct {
	r   []rune
	f   []cpFlags
	off []int32 // len(r)+1 entries
}

// load decodes s (already normalized, see normalizeUTF8) into c, reusing
// c's buffers.
func (c *cpText) load(tab []cpFlags, s string) {
	// At most one code point per byte: size the buffers once.
	c.r = slices.Grow(c.r[:0], len(s))
	c.f = slices.Grow(c.f[:0], len(s))
	c.off = slices.Grow(c.off[:0], len(s)+1)
	for i := 0; i < len(s); {
		b := s[i]
		if b < 0x80 {
			c.r = append(c.r, rune(b))
			c.f = append(c.f, tab[b])
			c.off = append(c.off, int32(i))
			i++
			continue
		}
		r, n, _ := decodeLenient(s[i:])
		c.r = append(c.r, r)
		c.f = append(c.f, flagsOf(tab, r))
		c.off = append(c.off, int32(i))
		i += n
	}
	c.off = append(c.off, int32(len(s)))
}

// splitter is one pre-tokenizer regex: it partitions the code point range
// [lo, hi) and appends the end index of every piece to out, in order.
type splitter interface {
	split(c *cpText, lo, hi int, out []int32) []int32
}

// preTokenizer applies its regexes in order; regex k+1 runs separately
// inside every piece regex k produced (llama.cpp's bpe_offsets chain).
type preTokenizer struct {
	name   string
	stages []splitter
}

// split partitions the whole of c and returns the piece ends. The two
// scratch buffers are reused (and grown) across calls.
func (p *preTokenizer) split(c *cpText, bufs *[2][]int32) []int32 {
	cur := append(slices.Grow(bufs[0][:0], len(c.r)+1), int32(len(c.r)))
	next := slices.Grow(bufs[1][:0], len(c.r)+1)
	for _, st := range p.stages {
		next = next[:0]
		lo := 0
		for _, end := range cur {
			next = st.split(c, lo, int(end), next)
			lo = int(end)
		}
		cur, next = next, cur
	}
	bufs[0], bufs[1] = cur, next
	return cur
}

// preFlags are the per-pre-type tokenizer flags llama.cpp sets next to the
// regex list (llama_vocab::impl::load).
type preFlags struct {
	ignoreMerges bool
	addBOS       bool
	addSEP       bool // RoBERTa-style encoders end the text with their separator
	cleanSpaces  bool
	// SentencePiece-style BPE over raw UTF-8 (tokenizer.rawUTF8 and the
	// fields beside it); forceBOS: a BOS even where the file says none
	// (llama.cpp's Gemma 4 override).
	rawUTF8, escapeSpaces, wholeNewlines, forceBOS bool
}

// Regex lists, named after llama.cpp's pre-types. Each is documented with
// the regexes it implements.
var (
	// 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)
	stagesGPT2 = []splitter{gpt2Scanner{}}
	// (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
	stagesLlama3 = []splitter{llama3Scanner{maxDigits: 3}}
	// The same with \p{N} instead of \p{N}{1,3}.
	stagesQwen2 = []splitter{llama3Scanner{maxDigits: 1}}
	// Qwen3.5: (?i:...)|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
	stagesQwen35 = []splitter{llama3Scanner{maxDigits: 1, marks: true}}
	// Seed-Coder: Qwen2's with ' ?[^\s\p{L}\p{N}\r\n]+' (no trailing newlines).
	stagesSeedCoder = []splitter{llama3Scanner{maxDigits: 1, bareSymbols: true}}
	// o200k (GPT-4o, Llama 4, Kanana-2, MiniMax-M2); see gpt4oScanner.
	stagesGPT4o = []splitter{gpt4oScanner{contractions: true, maxDigits: 3}}
	// Mistral's tekken: o200k without contractions, single digits.
	stagesTekken = []splitter{gpt4oScanner{maxDigits: 1}}
	// DeepSeek-V3: \p{N}{1,3}, then [一-龥぀-ゟ゠-ヿ]+, then deepseek3Scanner.
	stagesDeepseek3 = []splitter{
		runMatcher{body: isNumber, min: 1, max: 3},
		runMatcher{body: isCJKKana, min: 1},
		deepseek3Scanner{},
	}
	// Youtu (Tencent's, a deepseek2 model): runs of Hangul, CJK
	// punctuation, bopomofo and CJK/kana
	// ([가-힣ㄱ-ㆎ]+|[！…“”‘’—：；，、-〿︰-﹏]+|[ㄅ-ㄯ]+|[一-龥぀-ゟ゠-ヿ]+, disjoint
	// classes, so one stage each), then o200k with single digits.
	stagesYoutu = []splitter{
		runMatcher{body: isHangulYoutu, min: 1},
		runMatcher{body: isCJKPunctYoutu, min: 1},
		runMatcher{body: isBopomofo, min: 1},
		runMatcher{body: isCJKKana, min: 1},
		gpt4oScanner{contractions: true, maxDigits: 1},
	}
	// MiniCPM 5: \p{N}{1,3}, then Llama 3's regex with \p{N}+.
	stagesMiniCPM5 = []splitter{
		runMatcher{body: isNumber, min: 1, max: 3},
		llama3Scanner{},
	}
	// K-EXAONE (exaone-moe); see exaoneMoEScanner.
	stagesExaoneMoE = []splitter{exaoneMoEScanner{}}
	// BLOOM, Poro, GPT-3-Finnish: ' ?[^(\s|.,!?…。，、।۔،)]+'.
	stagesBloom = []splitter{runMatcher{literalSpace: true, body: isBloomWord, min: 1}}
	// Viking: the same, then \p{N}.
	stagesViking = []splitter{
		runMatcher{literalSpace: true, body: isBloomWord, min: 1},
		runMatcher{body: isNumber, min: 1, max: 1},
	}
	// Jais-2: Llama-3's regex with its two whitespace alternatives
	// replaced by \s{512}(?!\S)|\s{256}(?!\S)|…|\s{4}(?!\S)|\s{1,2}(?!\S)|\s{1}.
	stagesJais2 = []splitter{llama3Scanner{maxDigits: 3, cascade: true}}
	// Laguna: [^\n]+|[\n]+ (lines apart from their newline runs), then
	// Qwen2's regex inside each.
	stagesLaguna = []splitter{runMatcher{body: isLF, min: 1}, llama3Scanner{maxDigits: 1}}
	// Gemma 4 and Sarvam: [^\n]+|[\n]+ alone. Their BPE merges whole lines,
	// spaces written ▁, over raw UTF-8.
	stagesLines = []splitter{runMatcher{body: isLF, min: 1}}
	// SuperBPE: \p{N}+, then (?=(\d{3})+(?!\d)), which cuts each number
	// piece before every group of three ASCII digits counted from the right.
	stagesSuperBPE = []splitter{runMatcher{body: isNumber, min: 1}, thousandsSplitter{}}
	// Tiny Aya and Cohere2-MoE: \d{1,3}(?=(?:\d{3})*\b) (see
	// digitGroupScanner), then o200k's regex.
	stagesTinyAya = []splitter{digitGroupScanner{}, gpt4oScanner{contractions: true, maxDigits: 3}}
	// granite-embed-multi-97m: o200k's shape written with look-aheads,
	// ((?=[\p{L}\p{M}])([^a-z]))*((?=[\p{L}\p{M}])([^A-Z]))+…, so only ASCII
	// letters have a case (see gpt4oScanner.asciiCase).
	stagesGraniteEmbMulti = []splitter{gpt4oScanner{contractions: true, maxDigits: 3, asciiCase: true}}
	// \p{N}, then the GPT-2 regex inside each piece.
	stagesExaone = []splitter{runMatcher{body: isNumber, min: 1, max: 1}, gpt2Scanner{}}
	// [\p{P}\$\+<=>\^~\|]+, GPT-2, \p{N}+, [0-9][0-9][0-9]
	stagesDefault = []splitter{
		runMatcher{body: isDefaultPunct, min: 1},
		gpt2Scanner{},
		runMatcher{body: isNumber, min: 1},
		runMatcher{body: isASCIIDigit, min: 3, max: 3},
	}
	// [\p{P}\$\+<=>\^~\|`]+, GPT-2, [0-9][0-9][0-9]
	stagesFalcon = []splitter{
		runMatcher{body: isFalconPunct, min: 1},
		gpt2Scanner{},
		runMatcher{body: isASCIIDigit, min: 3, max: 3},
	}
	// [\r\n], \s?[A-Za-zµÀ-Ö...]+, \s?[!-/:-~！-／：-～‘-‟　-。]+, \s+$, [一-龥ࠀ-一가-퟿]+, \p{N}+
	stagesDeepseekLLM = []splitter{
		runMatcher{body: isCRLF, min: 1, max: 1},
		runMatcher{prefixSpace: true, body: isDeepseekLetter, min: 1},
		runMatcher{prefixSpace: true, body: isDeepseekPunct, min: 1},
		trailingSpace{},
		runMatcher{body: isCJKHangul, min: 1},
		runMatcher{body: isNumber, min: 1},
	}
	// [\r\n], \s?\p{L}+, \s?\p{P}+, [一-龥ࠀ-一가-퟿]+, \p{N}
	stagesDeepseekCoder = []splitter{
		runMatcher{body: isCRLF, min: 1, max: 1},
		runMatcher{prefixSpace: true, body: isLetter, min: 1},
		runMatcher{prefixSpace: true, body: isCollapsedPunct, min: 1},
		runMatcher{body: isCJKHangul, min: 1},
		runMatcher{body: isNumber, min: 1, max: 1},
	}
)

// lookupPre maps tokenizer.ggml.pre to its regex list and flags, as
// llama_vocab::impl::load does. An empty name means "default" (llama.cpp
// warns that quality will suffer). Unknown names are an error, as there.
func lookupPre(name string) (*preTokenizer, preFlags, error) {
	fl := preFlags{cleanSpaces: true} // every BPE pre-type starts here
	var st []splitter
	switch name {
	case "", "default":
		st = stagesDefault
	case "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano":
		st = stagesLlama3
		fl.ignoreMerges, fl.addBOS = true, true
	case "dbrx", "smaug-bpe", "glm4", "chatglm-bpe":
		st = stagesLlama3
	case "qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "hunyuan", "solar-open", "grok-2",
		"bailingmoe", "bailingmoe2", "llada-moe":
		// Ling's (bailingmoe) \s*[\r\n] ends where \s*[\r\n]+ does: at the
		// run's last newline.
		st = stagesQwen2
		fl.cleanSpaces = false
	case "qwen35":
		st = stagesQwen35
		fl.cleanSpaces = false
	case "seed-coder":
		st = stagesSeedCoder
		fl.cleanSpaces = false
	case "gpt-4o", "llama4", "kanana2", "talkie", "minimax-m2":
		st = stagesGPT4o
		fl.cleanSpaces = false
	case "youtu":
		st = stagesYoutu
		fl.ignoreMerges, fl.cleanSpaces = true, false
	case "minicpm5":
		st = stagesMiniCPM5
		fl.ignoreMerges = true
	case "tekken":
		st = stagesTekken
		fl.ignoreMerges, fl.addBOS, fl.cleanSpaces = true, true, false
	case "deepseek-v3", "hunyuan-dense", "joyai-llm", "hy_v4":
		st = stagesDeepseek3
		fl.cleanSpaces = false
	case "jais-2":
		st = stagesJais2
	case "laguna":
		st = stagesLaguna
		fl.cleanSpaces = false
	case "superbpe":
		st = stagesSuperBPE
		fl.cleanSpaces = false
	case "tiny_aya", "cohere2moe":
		st = stagesTinyAya
		fl.cleanSpaces = false
	case "granite-embed-multi-97m":
		st = stagesGraniteEmbMulti
		fl.ignoreMerges, fl.cleanSpaces = true, false
	case "exaone-moe":
		st = stagesExaoneMoE
	case "bloom", "gpt3-finnish":
		st = stagesBloom
	case "poro-chat":
		st = stagesBloom
		fl.cleanSpaces = false
	case "viking":
		st = stagesViking
		fl.cleanSpaces = false
	case "roberta-bpe", "jina-v1-en", "jina-v2-code":
		st = stagesGPT2
		fl.addSEP = true
	case "megrez", "stablelm2":
		st = stagesQwen2
	case "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de",
		"a.x-4.0", "mellum", "modern-bert", "exaone4", "mpt", "olmo", "jais":
		st = stagesGPT2
	case "trillion", "granite-docling":
		st = stagesGPT2
		fl.cleanSpaces = false
	case "exaone", "starcoder", "refact", "codeshell", "minerva-7b", "mellum2":
		st = stagesExaone
	case "command-r", "smollm":
		st = stagesExaone
		fl.cleanSpaces = false
	case "falcon":
		st = stagesFalcon
	case "deepseek-llm":
		st = stagesDeepseekLLM
		fl.cleanSpaces = false
	case "deepseek-coder":
		st = stagesDeepseekCoder
		fl.cleanSpaces = false
	case "gemma4", "granite-embed-multi-311m":
		st = stagesLines
		fl.rawUTF8, fl.escapeSpaces, fl.wholeNewlines, fl.forceBOS = true, true, true, true
	case "sarvam-moe":
		st = stagesLines
		fl.rawUTF8, fl.escapeSpaces, fl.cleanSpaces = true, true, false
	case "whitespace", "chameleon", "afmoe", "kimi-k2":
		// A whitespace-splitting BPE, image sentinels, and custom digit and
		// Han splitting in llama.cpp.
		return nil, fl, fmt.Errorf("pre-tokenizer type %q is not supported yet", name)
	default:
		return nil, fl, fmt.Errorf("unknown pre-tokenizer type %q", name)
	}
	if name == "" {
		name = "default"
	}
	return &preTokenizer{name: name, stages: st}, fl, nil
}
