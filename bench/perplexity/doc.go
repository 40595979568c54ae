// Package perplexity measures how well a model predicts a text, and how far
// a model (a quantized one, typically) strays from a base model's
// predictions on the same tokens: llama-perplexity's two measures, with
// its method, so figures are comparable with llama.cpp's.
//
// Perplexity: the tokenized text (with the BOS the vocabulary asks for) is
// cut into chunks of Ctx tokens; every chunk is evaluated on its own from
// position 0, its first token replaced by BOS where the vocabulary adds
// one, and only the second half of the chunk is scored (positions Ctx/2 ..
// Ctx-2 predicting the token after them), so every scored token has at
// least Ctx/2 tokens of context. PPL = exp(mean negative log-likelihood),
// with the standard error of that mean carried through the exponential.
//
// KL divergence: a base run writes, for every scored position, the whole
// log-probability row quantized to 16 bits (a base file, in llama.cpp's
// --kl-divergence-base layout, so either program can read the other's);
// a second run of another model over the same tokens reports the KL
// divergence from the base distribution, the change in the probability of
// the right token (Δp), how often the two agree on the most likely token,
// and both perplexities with the uncertainty of their ratio.
package perplexity
