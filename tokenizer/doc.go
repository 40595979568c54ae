// Package tokenizer turns text into token ids and back for the vocabularies
// llama.cpp reads from GGUF files: SentencePiece-style BPE ("llama", SPM),
// GPT-2 byte-level BPE ("gpt2") with the pre-tokenizers Korean models use
// (qwen2, llama-bpe, exaone, exaone4, gpt-2, ...), WordPiece ("bert") and
// Unigram ("t5", with SentencePiece's precompiled character map).
//
// The goal is id-for-id agreement with llama.cpp (commit 10e97801, which in
// turn agrees with Hugging Face on every shared test vector), so every rule
// below mirrors llama.cpp's src/llama-vocab.cpp and src/unicode.cpp,
// including their quirks: the special-token partition order, the GPT-2
// and Llama-3 hand-written regex scanners, the "collapsed" std::regex
// semantics of the other pre-tokenizer regexes, the BPE/SPM merge orders,
// byte fallback, and detokenization with clean_spaces. Each pre-tokenizer
// regex is a hand-written scanner over Unicode category flags (no regexp
// engine, no backtracking), linear in the input.
//
// A Tokenizer is immutable after Load/New apart from an internal bounded
// word cache, and is safe for concurrent use. Decoding is available per
// token (Piece), for a whole sequence (Decode, with llama_detokenize's
// clean-ups) and incrementally (StreamDecoder, which only ever emits
// complete UTF-8 so a Hangul syllable split across two byte-level tokens
// never reaches a client half-formed or as U+FFFD).
package tokenizer
