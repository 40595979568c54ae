package model_test

import (
	"math"
	"testing"

	"github.com/nuri-ai/nuri/kernels"
	"github.com/nuri-ai/nuri/model"
	"github.com/nuri-ai/nuri/quant"
)

// TestNEONMatchesGeneric: on arm64 every part of a quantized model's
// forward pass on the NEON path keeps the Go reference's bits: the
// quantized kernels (exact block dots, the reference's float steps), the
// activation quantizers, attention over each KV cache type, and the
// softmax, norm and fp16 passes. So the tiny llama's logits, prefill and
// each decode step, are those of NURI_KERNELS=generic bit for bit, which
// also makes them amd64's generic logits (quant fuses no multiply-add on
// either). A NEON loop that sums in another order, rounds differently or
// mishandles a tail fails it.
func TestNEONMatchesGeneric(t *testing.T) {
	// Forty positions, so that the softmax passes take their vector loops
	// (sixteen scores a pass) as well as their tails.
	prompt := make([]int32, 40)
	for i := range prompt {
		prompt[i] = int32(1 + (i*37)%250)
	}
	for _, c := range []struct {
		typ string
		kv  quant.Type
	}{
		{"Q4_0", quant.F16}, {"Q8_0", quant.Q8_0}, {"Q5_1", quant.F32}, {"Q4_K_M", quant.F16},
		{"Q6_K", quant.Q8_0}, {"IQ4_XS", quant.F16}, {"IQ3_S", quant.F32},
	} {
		path := writeTiny(t, c.typ, false, 21)
		run := func(ks kernels.KernelSet) []float32 {
			m, err := model.Load(path, model.LoadOptions{Threads: testThreads, Kernels: ks})
			if err != nil {
				t.Fatalf("%s: load: %v", c.typ, err)
			}
			defer m.Close()
			s, err := newSession(m, len(prompt)+4, c.kv)
			if err != nil {
				t.Fatal(err)
			}
			logits, err := s.feed(prompt, true)
			if err != nil {
				t.Fatalf("%s: prefill: %v", c.typ, err)
			}
			nv := m.Config().NVocab
			last := logits[len(logits)-nv:]
			for range 4 {
				if last, err = s.feed([]int32{argmax(last)}, false); err != nil {
					t.Fatalf("%s: decode: %v", c.typ, err)
				}
				logits = append(logits, last...)
			}
			return logits
		}
		fast, ref := run(kernels.KernelsBest), run(kernels.KernelsGeneric)
		if len(fast) != len(ref) {
			t.Fatalf("%s: %d logits, reference %d", c.typ, len(fast), len(ref))
		}
		for i := range ref {
			if math.Float32bits(fast[i]) != math.Float32bits(ref[i]) {
				t.Fatalf("%s, %v cache: logit %d = %v on NEON, %v on the reference", c.typ, c.kv, i, fast[i], ref[i])
			}
		}
	}
}
