// Package chat renders chat conversations into prompt text.
//
// It owns two paths. The first executes a model's own
// `tokenizer.chat_template` (Jinja) with a focused Jinja subset written
// here: statements if/elif/else, for (with loop.*, else, inline filter,
// break/continue), set (also on namespace attributes and as a block), macro,
// raw and generation; Python-style expressions with slicing, `in`, `is`
// tests, filters and the string/dict methods chat templates use. Whitespace
// follows transformers: trim_blocks and lstrip_blocks on, plus `-`/`+`
// modifiers.
//
// The second path is a set of built-in formatters written in Go (ChatML,
// Llama 3 / Kanana / Mi:dm, EXAONE 3 and 4, HyperCLOVA X SEED), chosen by
// llama.cpp's detection rules (MODEL_SPEC.md §5.2) when a template is
// absent (ChatML) or cannot be parsed.
//
// The package imports nothing of Nuri's.
package chat
