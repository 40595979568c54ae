package tokenizer

import (
	"errors"
	"fmt"

	"github.com/nuri-ai/nuri/gguf"
)

// idKeys are the tokenizer.ggml.* special-token id keys llama.cpp reads
// ("seperator" is the real, misspelt key).
var idKeys = []string{
	"bos_token_id", "eos_token_id", "eot_token_id", "eom_token_id", "unknown_token_id",
	"seperator_token_id", "padding_token_id", "mask_token_id",
	"fim_pre_token_id", "fim_suf_token_id", "fim_mid_token_id", "fim_pad_token_id",
	"fim_rep_token_id", "fim_sep_token_id",
	"prefix_token_id", "suffix_token_id", "middle_token_id",
}

// SpecFromGGUF reads the tokenizer metadata of f.
func SpecFromGGUF(f *gguf.File) (Spec, error) {
	const p = "tokenizer.ggml."
	var s Spec
	var ok bool
	if s.Model, ok = f.String(p + "model"); !ok {
		return s, errors.New("missing " + p + "model")
	}
	s.Pre, _ = f.String(p + "pre")
	if s.Tokens, ok = f.Strings(p + "tokens"); !ok {
		return s, errors.New("missing or non-string " + p + "tokens")
	}
	if _, present := f.Get(p + "scores"); present {
		if s.Scores, ok = f.Float32s(p + "scores"); !ok {
			ints, iok := f.Int32s(p + "scores")
			if !iok {
				return s, errors.New(p + "scores is neither float32 nor int32")
			}
			s.Scores = make([]float32, len(ints))
			for i, v := range ints {
				s.Scores[i] = float32(v)
			}
		}
	}
	if _, present := f.Get(p + "token_type"); present {
		if s.Types, ok = f.Int32s(p + "token_type"); !ok {
			return s, errors.New(p + "token_type is not an int32 array")
		}
	}
	if _, present := f.Get(p + "merges"); present {
		if s.Merges, ok = f.Strings(p + "merges"); !ok {
			return s, errors.New(p + "merges is not a string array")
		}
	} else if s.Model == "gpt2" {
		return s, errors.New("missing " + p + "merges")
	}
	s.IDs = map[string]uint32{}
	for _, k := range idKeys {
		if v, ok := f.Uint32(p + k); ok {
			s.IDs[k] = v
		}
	}
	boolKey := func(k string) *bool {
		if v, ok := f.Bool(p + k); ok {
			return &v
		}
		return nil
	}
	s.AddBOS = boolKey("add_bos_token")
	s.AddEOS = boolKey("add_eos_token")
	s.AddSEP = boolKey("add_sep_token")
	s.AddSpacePrefix = boolKey("add_space_prefix")
	s.Lowercase = boolKey("normalizer.lowercase")
	s.StripAccents = boolKey("normalizer.strip_accents")
	s.RemoveExtraWhitespace = boolKey("remove_extra_whitespaces")
	if v, present := f.Get(p + "precompiled_charsmap"); present {
		if s.Charsmap, ok = v.AsBytes(); !ok {
			return s, errors.New(p + "precompiled_charsmap is not an array of bytes")
		}
	}
	s.ChatTemplate, _ = f.String("tokenizer.chat_template")
	s.Name, _ = f.String("general.name")
	return s, nil
}

// Load builds the tokenizer described by a GGUF file's metadata. The
// Tokenizer keeps no reference to f, which may be closed afterwards.
func Load(f *gguf.File) (*Tokenizer, error) {
	s, err := SpecFromGGUF(f)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: load: %w", err)
	}
	t, err := New(s)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	return t, nil
}

// LoadFile opens a GGUF file, loads its tokenizer and closes the file.
func LoadFile(path string) (*Tokenizer, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, err
	}
	t, err := Load(f)
	if cerr := f.Close(); err == nil && cerr != nil {
		return nil, cerr
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}
