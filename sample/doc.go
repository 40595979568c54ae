// Package sample turns a row of logits into a token: logit bias, penalties,
// top-k, top-p, min-p, temperature and a seeded draw, in llama.cpp's order,
// reporting log-probabilities and top-N alternatives, and, when a
// Constraint is set (NewJSON), only tokens it allows.
package sample
