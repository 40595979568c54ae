// Package benchtest is a fake OpenAI-compatible streaming server for tests of
// serving benchmarks. It imitates how real servers shape their event streams
// (vLLM, llama.cpp's llama-server old and new, ollama, Nuri) and can fail on
// purpose (HTTP 500s, streams cut short, in-stream errors), the way
// net/http/httptest fakes an HTTP server. CheckHTML verifies that a report
// page is a complete, well-formed, self-contained document.
package benchtest
