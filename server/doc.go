// Package server is Nuri's OpenAI-compatible HTTP front end on fasthttp:
// /v1/chat/completions, /v1/completions (both with SSE streaming),
// /v1/models, /tokenize, /detokenize, /health and /metrics; beside them
// the Responses API, embeddings, Ollama's native API and Anthropic's
// Messages API, each translated onto the same chat and completion jobs.
//
// It validates requests, renders chat templates (package chat), tokenizes,
// submits to the scheduler through the small Engine interface, and turns
// the scheduler's events into OpenAI's response and chunk shapes. It owns
// the one mapping from errors to HTTP statuses (errors.go), API-key auth,
// the CORS allow-list, response compression, access logs and the
// Prometheus metrics with vLLM's names.
//
// fasthttp reuses its request contexts: nothing here keeps a
// *fasthttp.RequestCtx or its byte slices after a handler returns; the
// streaming writer works only on copies.
package server
