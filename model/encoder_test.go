package model_test

import (
	"errors"
	"math"
	"path/filepath"
	"testing"

	"github.com/nuri-ai/nuri/internal/testgguf"
	"github.com/nuri-ai/nuri/internal/testshared"
	"github.com/nuri-ai/nuri/model"
	"github.com/nuri-ai/nuri/quant"
)

// encode runs whole sequences through an encoder in one pass, sequence k
// on blocks of its own, and returns every token's hidden state, sequence
// by sequence.
func encode(t *testing.T, m model.Model, seqs [][]int32, kvType quant.Type) []float32 {
	t.Helper()
	const bs = 16
	var tables [][]int32
	next := int32(0)
	b := &model.Batch{Hidden: true}
	for k, sq := range seqs {
		nb := (len(sq) + bs - 1) / bs
		tb := make([]int32, nb)
		for i := range tb {
			tb[i] = next
			next++
		}
		tables = append(tables, tb)
		for i, tok := range sq {
			b.Tokens = append(b.Tokens, tok)
			b.Pos = append(b.Pos, int32(i))
			b.Seq = append(b.Seq, int32(k))
			b.Logits = append(b.Logits, true)
		}
	}
	cache, err := model.NewKVCache(m.Config(), int(next), bs, model.SameKV(kvType))
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, len(b.Tokens)*m.Config().NEmbd)
	if err := m.Forward(b, model.KVView{Cache: cache, Tables: tables}, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestEncoderGoldens holds synth's encoders to llama.cpp's hidden states
// of every token of a 32-token input (testdata/synth-golden/README.md),
// over an F32 cache as llama.cpp's encoder attention runs in F32:
// bert-tiny (an XLM-RoBERTa-style encoder: learned positions, token
// types, LayerNorms with biases, GELU), jina-bert-v3-tiny (RoPE instead
// of positions, q/k/v fused), nomic-bert-tiny (RoPE, fused q/k/v, a
// SwiGLU block, no biases) and nomic-bert-moe-tiny (jina's form with 8
// GELU experts, 2 a token, in its middle layer). Tolerances: rel-RMS 1e-4 for F32 weights
// (measured 1e-6 or so: only the order of float sums differs) and 2e-3
// for Q8_0 (the activations' 8-bit rounding, which llama.cpp shares,
// lands differently by a few ulps), 1e-2 for the rotating ones, whose
// eight-times-larger attention weights amplify such a rounding (measured
// 2.6e-8 to 5.6e-3 by kernel set; without RoPE 0.53); each row's cosine
// similarity at least 0.9999, what an embedding is used for.
func TestEncoderGoldens(t *testing.T) {
	for _, c := range []struct {
		shape, typ, sha256 string
		maxRel             float64
	}{
		{"bert-tiny", "F32", "5d63e8e30169ca63752a898a70ffcf19e4e59079bfcbafa21ae65861df989f3f", 1e-4},
		{"bert-tiny", "Q8_0", "701c9466116f213d1cc5775744b4155e424a1e4bf4244c58e169a3ce8864a553", 2e-3},
		{"jina-bert-v3-tiny", "F32", "d5821e3c8ee52f82ded0befef79ffbd8bb51d87eabf8767f3fc949356e68cafd", 1e-4},
		{"jina-bert-v3-tiny", "Q8_0", "3c58ec051128b78e6cd4f6b721987951be2c37ab2ae470a3f5bc3ad047d685b7", 1e-2},
		{"nomic-bert-tiny", "F32", "bc12d08293f3b43a5395cafc254cfd1c7b540ab08f6bdad614d8fc05bff17454", 1e-4},
		{"nomic-bert-tiny", "Q8_0", "268e2cea10c114805215099e3a97d4eff699d8b5acada42aecc3630934d30ecf", 1e-2},
		{"nomic-bert-moe-tiny", "F32", "68dcdbf64a0d6ccde3630695544c19948067d944d769a90d6710d88c94656dd7", 1e-4},
		{"nomic-bert-moe-tiny", "Q8_0", "c996d4c60416b67054c077e3c9d04b70fd96deab7bdf390e539f79b9accc85ef", 1e-2},
		{"modern-bert-tiny", "F32", "af60c000dd6d06dcbfd63ea042008af97ac2e9bb257559d06d25b73ab6b3bb87", 1e-4},
		{"modern-bert-tiny", "Q8_0", "5a2e08a1f306f5bb8502853620683b41cc82f7d44c698d08e4fd12e3a6ea426e", 1e-2},
	} {
		t.Run(c.shape+"-"+c.typ, func(t *testing.T) {
			path := testgguf.Synth(t, c.shape, c.typ, 1)
			checkFixture(t, path, c.sha256, "testdata/synth-golden/README.md")
			ref := testshared.ReadF32(t, filepath.Join("testdata", "synth-golden", c.shape+"-"+c.typ+".hidden.f32"))
			m := loadModel(t, path)
			cfg := m.Config()
			if !cfg.Encoder || !cfg.NoLMHead || cfg.NEmbd != 256 {
				t.Fatalf("config %+v", cfg)
			}
			prompt := synthGoldenPrompt[:32]
			got := encode(t, m, [][]int32{prompt}, quant.F32)
			if len(got) != len(ref) {
				t.Fatalf("%d values, reference %d", len(got), len(ref))
			}
			r := testshared.RelRMS(got, ref)
			worst := 1.0
			for i := range prompt {
				worst = min(worst, cosine(got[i*256:(i+1)*256], ref[i*256:(i+1)*256]))
			}
			t.Logf("rel-RMS %.2g, worst cosine %.8f", r, worst)
			if r > c.maxRel || worst < 0.9999 {
				t.Errorf("rel-RMS %.3g (max %g), worst cosine %.6f (min 0.9999)", r, c.maxRel, worst)
			}
		})
	}
}

func cosine(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	return ab / math.Sqrt(aa*bb)
}

// TestEncoderBatch: sequences packed in one pass give each the bits it
// has alone (attention stays inside a sequence), and a pass that holds
// only part of a sequence, or starts it past 0, is refused.
func TestEncoderBatch(t *testing.T) {
	m := loadModel(t, testgguf.Synth(t, "bert-tiny", "Q8_0", 2))
	a, b := synthGoldenPrompt[:21], synthGoldenPrompt[30:37]
	both := encode(t, m, [][]int32{a, b}, quant.F16)
	alone := append(encode(t, m, [][]int32{a}, quant.F16), encode(t, m, [][]int32{b}, quant.F16)...)
	for i := range both {
		if math.Float32bits(both[i]) != math.Float32bits(alone[i]) {
			t.Fatalf("value %d: %g packed, %g alone", i, both[i], alone[i])
		}
	}
	// A later token changes an earlier one's state: attention runs both ways.
	short := encode(t, m, [][]int32{a[:20]}, quant.F16)
	if math.Float32bits(short[0]) == math.Float32bits(alone[0]) {
		t.Error("the first token's state does not depend on the last token")
	}

	kv, err := model.NewSequenceView(m.Config(), 32, 16, model.SameKV(quant.F16))
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, 4*256)
	for _, pos := range [][]int32{{1, 2, 3, 4}, {0, 1, 3, 4}} {
		bt := &model.Batch{Tokens: a[:4], Pos: pos, Seq: make([]int32, 4), Hidden: true}
		if err := m.Forward(bt, kv, out); !errors.Is(err, model.ErrBadBatch) {
			t.Errorf("positions %v: %v, want ErrBadBatch", pos, err)
		}
	}
	bt := &model.Batch{Tokens: a[:4], Pos: []int32{0, 1, 2, 3}, Seq: make([]int32, 4)}
	if err := m.Forward(bt, kv, make([]float32, 512)); !errors.Is(err, model.ErrNoLMHead) {
		t.Errorf("logits from an encoder: %v, want ErrNoLMHead", err)
	}
}
