package tokenizer

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"sync"
)

// Spec is a vocabulary as a GGUF file describes it under tokenizer.ggml.*.
// Load fills one from a file; tests and tools can build one directly.
type Spec struct {
	Model  string    // tokenizer.ggml.model: "llama" (SPM), "gpt2" (byte-level BPE), "bert" (WordPiece) or "t5" (Unigram)
	Pre    string    // tokenizer.ggml.pre (BPE only; empty means "default")
	Tokens []string  // tokenizer.ggml.tokens
	Scores []float32 // tokenizer.ggml.scores (optional; SPM merge priorities)
	Types  []int32   // tokenizer.ggml.token_type (optional; all NORMAL when absent)
	Merges []string  // tokenizer.ggml.merges (BPE; rank = index)

	// IDs holds the special-token ids present in the file, keyed by the key
	// name after "tokenizer.ggml." ("bos_token_id", "eos_token_id",
	// "eot_token_id", "unknown_token_id", "padding_token_id", ...).
	IDs map[string]uint32

	AddBOS, AddEOS, AddSEP, AddSpacePrefix *bool // tokenizer.ggml.add_* overrides

	// WordPiece normalizer (tokenizer.ggml.normalizer.*; nil means true,
	// and StripAccents follows Lowercase).
	Lowercase, StripAccents *bool

	// Unigram: tokenizer.ggml.precompiled_charsmap (optional) and
	// tokenizer.ggml.remove_extra_whitespaces.
	Charsmap              []byte
	RemoveExtraWhitespace *bool

	ChatTemplate string // tokenizer.chat_template
	Name         string // general.name (a few models get per-token attributes by name)
}

// Tokenizer encodes text to token ids and decodes ids to bytes. It is safe
// for concurrent use.
type Tokenizer struct {
	kind   vocabKind
	pre    *preTokenizer
	cpTab  []cpFlags
	nVocab int

	texts  []string
	attrs  []tokenAttr
	scores []float32
	byText map[string]int32

	// Byte-level BPE. Symbols are token ids for tokens whose text is made of
	// byte-table runes, plus "pseudo" ids >= nVocab for merge operands that
	// are not tokens. Keying merges by symbol pairs keeps string building
	// and hashing out of the merge loop.
	bt           *byteTable
	byRaw        map[string]int32 // raw bytes -> token id
	merges       *pairTable       // left<<32|right -> rank<<32|result
	byteSym      [256]int32       // symbol of each single raw byte, or -1
	pseudoRaw    []string         // raw bytes of pseudo symbol nVocab+i
	ignoreMerges bool
	// SentencePiece-style BPE (Gemma 4): merges over raw UTF-8, one
	// character a starting symbol, spaces written ▁ (escapeSpaces), bytes
	// no token spells as <0xXX> tokens, and (wholeNewlines) a run of
	// newlines that is a token taken whole.
	rawUTF8, escapeSpaces, wholeNewlines bool
	pseudoSym                            map[string]int32 // raw UTF-8: pseudo symbols by text
	byteFallback                         [256]int32       // raw UTF-8: <0xXX> token ids, or -1

	wpm         wpmOptions // WordPiece
	maxTokenLen int        // WordPiece: the longest token text, in bytes
	ugm         *ugm       // Unigram

	bos, eos, eot, eom, unk, sep int32    // -1 when absent
	fim                          [5]int32 // fill-in-the-middle prefix, suffix, middle, repository and file-separator tokens, -1 when absent
	addBOS, addEOS, addSEP       bool
	addSpacePrefix               bool
	cleanSpaces                  bool

	specialAll  []int32 // CONTROL/USER_DEFINED/UNKNOWN tokens, longest text first
	specialText []int32 // the subset split out even when parse_special is false
	eog         []bool

	pieces   []byte   // token_to_piece(id, special=true) of every token
	pieceOff []uint32 // len nVocab+1

	chatTemplate string

	norm Normalization // applied to the text between special tokens (SetNormalization)

	cache *wordCache
	pool  sync.Pool // *scratch
}

// vocabKind is the tokenization algorithm (llama_vocab_type).
type vocabKind uint8

const (
	kindSPM vocabKind = iota // "llama": SentencePiece-style BPE over scores
	kindBPE                  // "gpt2": byte-level BPE over merges
	kindWPM                  // "bert": WordPiece, greedy longest match
	kindUGM                  // "t5": Unigram, best-scoring segmentation
)

func (k vocabKind) String() string {
	return [...]string{"SentencePiece", "byte-level BPE", "WordPiece", "Unigram"}[k]
}

// New builds a tokenizer from a vocabulary description, applying
// llama.cpp's defaults, overrides and special-token detection.
func New(s Spec) (*Tokenizer, error) {
	n := len(s.Tokens)
	if n == 0 {
		return nil, errors.New("tokenizer: vocabulary has no tokens")
	}
	if n >= math.MaxInt32 {
		return nil, fmt.Errorf("tokenizer: %d tokens is too many", n)
	}
	if s.Scores != nil && len(s.Scores) < n {
		return nil, fmt.Errorf("tokenizer: %d scores for %d tokens", len(s.Scores), n)
	}
	if s.Types != nil && len(s.Types) < n {
		return nil, fmt.Errorf("tokenizer: %d token types for %d tokens", len(s.Types), n)
	}
	t := &Tokenizer{
		nVocab:       n,
		cpTab:        cpTable(),
		texts:        make([]string, n),
		attrs:        make([]tokenAttr, n),
		scores:       make([]float32, n),
		byText:       make(map[string]int32, n),
		bos:          -1,
		eos:          -1,
		eot:          -1,
		eom:          -1,
		unk:          -1,
		sep:          -1,
		chatTemplate: s.ChatTemplate,
	}
	for i, w := range s.Tokens {
		if w == "" {
			w = fmt.Sprintf("[EMPTY_%d]", i)
		}
		if j, dup := t.byText[w]; dup {
			return nil, fmt.Errorf("tokenizer: duplicate token %q has ids %d and %d", w, j, i)
		}
		t.byText[w] = int32(i)
		t.texts[i] = w
		if s.Scores != nil {
			t.scores[i] = s.Scores[i]
		}
		t.attrs[i] = attrNormal
		if s.Types != nil {
			t.attrs[i] = attrFromType(s.Types[i])
		}
	}

	forceBOS := false
	switch s.Model {
	case "llama":
		t.kind = kindSPM
		t.bos, t.eos, t.unk = 1, 2, 0
		t.addSpacePrefix, t.addBOS = true, true
	case "bert":
		// BERT's [CLS] text [SEP]: llama.cpp's defaults are bert-base's ids.
		t.kind = kindWPM
		t.bos, t.unk, t.sep = 101, 100, 102
		t.addBOS, t.addSEP, t.cleanSpaces = true, true, true
		t.wpm = wpmOptions{lowercase: true, stripAccents: true}
		if s.Lowercase != nil {
			t.wpm = wpmOptions{lowercase: *s.Lowercase, stripAccents: *s.Lowercase}
		}
		if s.StripAccents != nil {
			t.wpm.stripAccents = *s.StripAccents
		}
		for _, w := range t.texts {
			t.maxTokenLen = max(t.maxTokenLen, len(w))
		}
	case "t5":
		// T5's text </s>; no BOS.
		t.kind = kindUGM
		t.eos, t.unk = 1, 2
		t.addEOS = true
	case "gpt2", "gemma4":
		t.kind = kindBPE
		pre := s.Pre
		if s.Model == "gemma4" {
			pre = "gemma4" // whatever tokenizer.ggml.pre says, as llama.cpp
		}
		p, fl, err := lookupPre(pre)
		if err != nil {
			return nil, fmt.Errorf("tokenizer: %w", err)
		}
		t.pre, forceBOS = p, fl.forceBOS
		t.ignoreMerges, t.addBOS, t.addSEP, t.cleanSpaces = fl.ignoreMerges, fl.addBOS, fl.addSEP, fl.cleanSpaces
		t.rawUTF8, t.escapeSpaces, t.wholeNewlines = fl.rawUTF8, fl.escapeSpaces, fl.wholeNewlines
		// llama.cpp defaults BPE's BOS and EOS to id 11 when the file names
		// none, a GPT-NeoX leftover that would make "," a BOS/EOS for
		// Qwen; an absent id is simply absent here.
	default:
		return nil, fmt.Errorf("tokenizer: unsupported tokenizer model %q", s.Model)
	}
	if s.AddSpacePrefix != nil {
		t.addSpacePrefix = *s.AddSpacePrefix
	}
	if err := t.setSpecialIDs(s, forceBOS); err != nil {
		return nil, err
	}
	if (t.kind == kindWPM || t.kind == kindUGM) && t.unk < 0 {
		return nil, fmt.Errorf("tokenizer: %s vocabulary has no unknown token", s.Model)
	}
	t.buildSpecialCache()
	applyNameAttrs(s.Name, t.attrs, t.byText, t.specialAll)
	t.buildSpecialLists()
	switch t.kind {
	case kindBPE:
		if err := t.buildBPE(s.Merges); err != nil {
			return nil, err
		}
	case kindUGM:
		if err := t.buildUGM(s.Charsmap, s.RemoveExtraWhitespace != nil && *s.RemoveExtraWhitespace); err != nil {
			return nil, err
		}
	}
	t.buildPieces()
	t.cache = newWordCache(defaultCacheEntries)
	return t, nil
}

// setSpecialIDs applies the id keys, add_* flags and text-based special
// token detection (including the EOG set) in llama.cpp's order.
func (t *Tokenizer) setSpecialIDs(s Spec, forceBOS bool) error {
	n := int32(t.nVocab)
	get := func(key string, dst *int32) {
		if *dst >= n {
			*dst = -1 // a default outside the vocabulary is disabled
		}
		if v, ok := s.IDs[key]; ok && v < uint32(n) {
			*dst = int32(v)
		}
	}
	fimPre, fimSuf, fimMid, fimPad, fimRep, fimSep := int32(-1), int32(-1), int32(-1), int32(-1), int32(-1), int32(-1)
	pad, mask := int32(-1), int32(-1)
	get("bos_token_id", &t.bos)
	get("eos_token_id", &t.eos)
	get("eot_token_id", &t.eot)
	get("eom_token_id", &t.eom)
	get("unknown_token_id", &t.unk)
	get("seperator_token_id", &t.sep)
	get("padding_token_id", &pad)
	get("mask_token_id", &mask)
	get("fim_pre_token_id", &fimPre)
	get("fim_suf_token_id", &fimSuf)
	get("fim_mid_token_id", &fimMid)
	get("fim_pad_token_id", &fimPad)
	get("fim_rep_token_id", &fimRep)
	get("fim_sep_token_id", &fimSep)
	get("prefix_token_id", &fimPre)
	get("suffix_token_id", &fimSuf)
	get("middle_token_id", &fimMid)

	if s.AddBOS != nil {
		t.addBOS = *s.AddBOS
	}
	t.addBOS = t.addBOS || forceBOS
	if s.AddEOS != nil {
		t.addEOS = *s.AddEOS
	}
	if t.addBOS && t.bos < 0 {
		return errors.New("tokenizer: add_bos_token is true, but bos_token_id is not set")
	}
	if t.addEOS && t.eos < 0 {
		return errors.New("tokenizer: add_eos_token is true, but eos_token_id is not set")
	}
	switch {
	case s.AddSEP != nil:
		if t.addSEP = *s.AddSEP; t.addSEP && t.sep < 0 {
			return errors.New("tokenizer: add_sep_token is true, but seperator_token_id is not set")
		}
	case t.sep < 0:
		t.addSEP = false // a default for the vocabulary kind, with nothing to add
	}

	detect := func(dst *int32, texts []string) {
		if *dst >= 0 {
			return
		}
		if id := findByText(t.byText, texts); id >= 0 {
			*dst = id
			t.attrs[id] |= attrControl
		}
	}
	detect(&t.eot, eotTexts)
	detect(&t.eom, eomTexts)
	detect(&fimPre, fimPreTexts)
	detect(&fimSuf, fimSufTexts)
	detect(&fimMid, fimMidTexts)
	detect(&fimPad, fimPadTexts)
	detect(&fimRep, fimRepTexts)
	detect(&fimSep, fimSepTexts)
	t.fim = [5]int32{fimPre, fimSuf, fimMid, fimRep, fimSep}

	t.eog = make([]bool, n)
	for _, id := range []int32{fimPad, fimRep, fimSep, t.eos, t.eot, t.eom} {
		if id >= 0 {
			t.eog[id] = true
		}
	}
	for _, txt := range eogTexts {
		if id, ok := t.byText[txt]; ok {
			t.eog[id] = true
			t.attrs[id] |= attrControl
		}
	}
	for _, txt := range koreanEOGTexts {
		if id, ok := t.byText[txt]; ok {
			t.eog[id] = true
		}
	}
	for _, txt := range renderedTexts {
		if id, ok := t.byText[txt]; ok {
			t.attrs[id] = attrUserDefined
		}
	}
	// gpt-oss (<|return|>, <|call|>) and Solar Open (<|calls|>,
	// <|flush|>): <|end|> separates messages instead of ending generation;
	// Gemma 4 (<|tool_response>): "</s>" is plain text. llama.cpp's
	// workarounds, applied to the EOG set as it stands.
	isEOG := func(text string) (int32, bool) {
		id, ok := t.byText[text]
		return id, ok && t.eog[id]
	}
	_, ret := isEOG("<|return|>")
	_, call := isEOG("<|call|>")
	_, calls := isEOG("<|calls|>")
	_, flush := isEOG("<|flush|>")
	if end, ok := isEOG("<|end|>"); ok && (call || calls) && (ret || flush) {
		t.eog[end] = false
		t.attrs[end] = attrUserDefined
	}
	if _, ok := isEOG("<|tool_response>"); ok {
		if s, ok := isEOG("</s>"); ok {
			t.eog[s] = false
			t.attrs[s] = attrNormal
		}
	}
	return nil
}

// buildSpecialCache lists the tokens the partition step looks for, longest
// text first (ties by id, where llama.cpp's unstable sort is arbitrary).
func (t *Tokenizer) buildSpecialCache() {
	for id, a := range t.attrs {
		if a&(attrControl|attrUserDefined|attrUnknown) != 0 {
			t.specialAll = append(t.specialAll, int32(id))
		}
	}
	sort.SliceStable(t.specialAll, func(i, j int) bool {
		return len(t.texts[t.specialAll[i]]) > len(t.texts[t.specialAll[j]])
	})
}

// buildSpecialLists derives the list used when parse_special is false:
// CONTROL and UNKNOWN tokens are then left in the text, USER_DEFINED ones
// are still split out (as Hugging Face does).
func (t *Tokenizer) buildSpecialLists() {
	for _, id := range t.specialAll {
		if t.attrs[id]&(attrControl|attrUnknown) == 0 {
			t.specialText = append(t.specialText, id)
		}
	}
}

// NVocab returns the number of tokens.
func (t *Tokenizer) NVocab() int { return t.nVocab }

// BOS returns the beginning-of-sequence id, if the vocabulary has one.
func (t *Tokenizer) BOS() (int32, bool) { return t.bos, t.bos >= 0 }

// FIM returns the fill-in-the-middle tokens, prefix, suffix and middle
// (from the file, or found by their texts as llama.cpp does: Qwen's
// <|fim_prefix|>, CodeLlama's <PRE>, ...), if the vocabulary has all three.
func (t *Tokenizer) FIM() (pre, suf, mid int32, ok bool) {
	return t.fim[0], t.fim[1], t.fim[2], t.fim[0] >= 0 && t.fim[1] >= 0 && t.fim[2] >= 0
}

// FIMRepo returns the tokens of repository-level fill-in-the-middle
// (Qwen2.5-Coder's <|repo_name|> and <|file_sep|>), each -1 when the
// vocabulary lacks it.
func (t *Tokenizer) FIMRepo() (repo, fileSep int32) { return t.fim[3], t.fim[4] }

// EOS returns the end-of-sequence id, if the vocabulary has one.
func (t *Tokenizer) EOS() (int32, bool) { return t.eos, t.eos >= 0 }

// EOT returns the end-of-turn id (from the file or detected by text).
func (t *Tokenizer) EOT() (int32, bool) { return t.eot, t.eot >= 0 }

// AddBOS reports whether Encode with addSpecial prepends BOS.
func (t *Tokenizer) AddBOS() bool { return t.addBOS }

// AddEOS reports whether Encode with addSpecial appends EOS.
func (t *Tokenizer) AddEOS() bool { return t.addEOS }

// SEP returns the separator id, if the vocabulary has one.
func (t *Tokenizer) SEP() (int32, bool) { return t.sep, t.sep >= 0 }

// AddSEP reports whether Encode with addSpecial appends SEP (BERT's, and
// RoBERTa's between a pair's texts).
func (t *Tokenizer) AddSEP() bool { return t.addSEP }

// ChatTemplate returns tokenizer.chat_template ("" when absent).
func (t *Tokenizer) ChatTemplate() string { return t.chatTemplate }

// PreType returns the pre-tokenizer name ("" for SPM).
func (t *Tokenizer) PreType() string {
	if t.pre == nil {
		return ""
	}
	return t.pre.name
}

// IsEOG reports whether generating id ends the turn: EOS, EOT, EOM, the FIM
// pad/repo/file-separator tokens, the tokens llama.cpp recognises by text
// (<|im_end|>, <|eot_id|>, <|endoftext|>, ...) and the Korean models'
// end-of-turn markers ([|endofturn|], <|endofturn|>, <|stop|>).
func (t *Tokenizer) IsEOG(id int32) bool {
	return id >= 0 && int(id) < t.nVocab && t.eog[id]
}

// EOGs returns every end-of-generation id in increasing order.
func (t *Tokenizer) EOGs() []int32 {
	var ids []int32
	for id, e := range t.eog {
		if e {
			ids = append(ids, int32(id))
		}
	}
	return ids
}

// TokenText returns the token's text as stored in the vocabulary ("" for an
// id out of range).
func (t *Tokenizer) TokenText(id int32) string {
	if id < 0 || int(id) >= t.nVocab {
		return ""
	}
	return t.texts[id]
}

// TokenID returns the id of the token whose stored text is exactly text.
func (t *Tokenizer) TokenID(text string) (int32, bool) {
	id, ok := t.byText[text]
	return id, ok
}

// IsControl reports whether id is a control token (rendered only when
// decoding with special=true).
func (t *Tokenizer) IsControl(id int32) bool {
	return id >= 0 && int(id) < t.nVocab && t.attrs[id]&attrControl != 0
}
