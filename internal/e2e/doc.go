// Package e2e is the end-to-end half of the backend conformance kit: it
// loads a real model on a device and compares its logits with the CPU
// device's and with llama.cpp's golden logits. It lives outside backends/
// because it imports model (backends must not); device tests call it.
package e2e
