package tokenizer

import (
	"strings"
)

// Token types as GGUF stores them (tokenizer.ggml.token_type).
const (
	TypeUndefined   = 0
	TypeNormal      = 1
	TypeUnknown     = 2
	TypeControl     = 3
	TypeUserDefined = 4
	TypeUnused      = 5
	TypeByte        = 6
)

// tokenAttr mirrors llama_token_attr: a bit set, because llama.cpp ORs
// attributes in (a user-defined token can be forced to CONTROL, any special
// token can gain RSTRIP).
type tokenAttr uint16

const (
	attrUnknown tokenAttr = 1 << iota
	attrUnused
	attrNormal
	attrControl
	attrUserDefined
	attrByte
	attrNormalized
	attrLStrip
	attrRStrip
	attrSingleWord

	attrUndefined tokenAttr = 0
)

func attrFromType(t int32) tokenAttr {
	switch t {
	case TypeUnknown:
		return attrUnknown
	case TypeUnused:
		return attrUnused
	case TypeNormal:
		return attrNormal
	case TypeControl:
		return attrControl
	case TypeUserDefined:
		return attrUserDefined
	case TypeByte:
		return attrByte
	}
	return attrUndefined
}

// Texts llama.cpp uses to find special tokens the converter did not name
// (llama_vocab::impl::load). A token found this way is forced to CONTROL.
var (
	eotTexts = []string{"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
		"<|end_of_text|>", "<EOT>", "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>", "<end_of_utterance>"}
	eomTexts    = []string{"<|eom_id|>"}
	fimPreTexts = []string{"<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>"}
	fimSufTexts = []string{"<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>"}
	fimMidTexts = []string{"<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>"}
	fimPadTexts = []string{"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>"}
	fimRepTexts = []string{"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"}
	fimSepTexts = []string{"<|file_sep|>"}

	// eogTexts end generation (and are forced to CONTROL) in llama.cpp.
	// Solar Open ends tool turns with <|flush|> and <|calls|>, Gemma 4 its
	// turns with <turn|>; "</s>" is PaddleOCR's.
	eogTexts = []string{"<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>",
		"<|flush|>", "<|calls|>", "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>",
		"_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>",
		"<|tool_response>", "<｜end▁of▁sentence｜>", "[e~["}

	// renderedTexts are gpt-oss's channel markers, which llama.cpp makes
	// USER_DEFINED so that they always render and its chat parser can read
	// them.
	renderedTexts = []string{"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"}

	// koreanEOGTexts are end-of-turn markers of Korean chat models
	// (EXAONE's [|endofturn|], others' <|endofturn|> and <|stop|>).
	// llama.cpp only stops on them when one is the EOS token; Nuri stops on
	// them whenever the vocabulary has them, without changing their
	// attributes (so tokenization and detokenization stay llama.cpp's).
	koreanEOGTexts = []string{"[|endofturn|]", "<|endofturn|>", "<|stop|>"}
)

// findByText returns the lowest id whose text is one of texts, or -1.
// llama.cpp walks a hash map here, so when several match its choice is
// arbitrary; the lowest id is a deterministic stand-in.
func findByText(byText map[string]int32, texts []string) int32 {
	best := int32(-1)
	for _, t := range texts {
		if id, ok := byText[t]; ok && (best < 0 || id < best) {
			best = id
		}
	}
	return best
}

// applyNameAttrs sets the per-model LSTRIP/RSTRIP attributes llama.cpp
// derives from general.name (only Phi-3 and ModernBERT among the families
// it knows; none of the Korean models).
func applyNameAttrs(name string, attrs []tokenAttr, byText map[string]int32, specials []int32) {
	lname := strings.ToLower(name)
	set := func(text string, a tokenAttr, on bool) {
		if id, ok := byText[text]; ok {
			if on {
				attrs[id] |= a
			} else {
				attrs[id] &^= a
			}
		}
	}
	switch {
	case strings.Contains(lname, "phi-3") || strings.Contains(lname, "phi3"):
		for _, id := range specials {
			attrs[id] |= attrRStrip
		}
		set("</s>", attrRStrip, true)
		for _, t := range []string{"<unk>", "<s>", "<|endoftext|>"} {
			set(t, attrRStrip, false)
		}
	case strings.Contains(lname, "modern-bert"):
		set("[MASK]", attrLStrip, true)
	}
}
