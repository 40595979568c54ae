package model

import (
	"slices"
	"strings"
	"testing"

	"github.com/nuri-ai/nuri/gguf"
	"github.com/nuri-ai/nuri/internal/testgguf"
)

// TestReadSWA checks the sliding-window rules of EXAONE 4 and K-EXAONE
// (llama.cpp's loaders) and the multi-token prediction blocks left out of
// NLayer, on metadata alone.
func TestReadSWA(t *testing.T) {
	type want struct {
		nLayer int
		layers string // per layer: "w" windowed with RoPE, "g" global NoPE, "." global with RoPE
		window int
		err    string
	}
	for _, c := range []struct {
		name   string
		arch   string
		blocks int
		extra  []gguf.KV
		want   want
	}{
		{"exaone4 plain", "exaone4", 6, []gguf.KV{{Key: "exaone4.attention.sliding_window", Value: gguf.Uint32(8)}},
			want{nLayer: 6, layers: "......"}},
		{"exaone4 64 layers", "exaone4", 64, nil, want{nLayer: 64, layers: strings.Repeat("wwwg", 16), window: 4096}},
		{"exaone4 64 layers, window and period", "exaone4", 64, []gguf.KV{
			{Key: "exaone4.attention.sliding_window", Value: gguf.Uint32(8)},
			{Key: "exaone4.attention.sliding_window_pattern", Value: gguf.Uint32(2)}},
			want{nLayer: 64, layers: strings.Repeat("wg", 32), window: 8}},
		// The converter's per-layer array is not read: the period stays 4.
		{"exaone4 64 layers, pattern array", "exaone4", 64, []gguf.KV{
			{Key: "exaone4.attention.sliding_window_pattern", Value: gguf.Bools(make([]bool, 64))}},
			want{nLayer: 64, layers: strings.Repeat("wwwg", 16), window: 4096}},
		// 65 blocks, one of them a prediction block: 64 run, so hybrid.
		{"exaone4 prediction block", "exaone4", 65, []gguf.KV{{Key: "exaone4.nextn_predict_layers", Value: gguf.Uint32(1)}},
			want{nLayer: 64, layers: strings.Repeat("wwwg", 16), window: 4096}},
		{"exaone-moe", "exaone-moe", 9, []gguf.KV{
			{Key: "exaone-moe.attention.sliding_window", Value: gguf.Uint32(128)},
			{Key: "exaone-moe.nextn_predict_layers", Value: gguf.Uint32(1)}},
			want{nLayer: 8, layers: "wwwgwwwg", window: 128}},
		{"exaone-moe period 0", "exaone-moe", 3, []gguf.KV{
			{Key: "exaone-moe.attention.sliding_window", Value: gguf.Uint32(64)},
			{Key: "exaone-moe.attention.sliding_window_pattern", Value: gguf.Uint32(0)}},
			want{nLayer: 3, layers: "www", window: 64}},
		{"exaone-moe no window", "exaone-moe", 4, nil, want{err: "sliding_window is missing"}},
		{"exaone-moe window 0", "exaone-moe", 4, []gguf.KV{{Key: "exaone-moe.attention.sliding_window", Value: gguf.Uint32(0)}},
			want{err: "must be positive"}},
		{"all prediction blocks", "exaone4", 2, []gguf.KV{{Key: "exaone4.nextn_predict_layers", Value: gguf.Uint32(2)}},
			want{err: "at least one block must remain"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := c.arch + "."
			kvs := []gguf.KV{
				{Key: "general.architecture", Value: gguf.String(c.arch)},
				{Key: a + "context_length", Value: gguf.Uint32(256)},
				{Key: a + "embedding_length", Value: gguf.Uint32(64)},
				{Key: a + "block_count", Value: gguf.Uint32(uint32(c.blocks))},
				{Key: a + "feed_forward_length", Value: gguf.Uint32(128)},
				{Key: a + "attention.head_count", Value: gguf.Uint32(2)},
				{Key: a + "attention.layer_norm_rms_epsilon", Value: gguf.Float32(1e-5)},
			}
			if c.arch == "exaone-moe" {
				kvs = append(kvs,
					gguf.KV{Key: a + "expert_count", Value: gguf.Uint32(4)},
					gguf.KV{Key: a + "expert_used_count", Value: gguf.Uint32(2)},
					gguf.KV{Key: a + "expert_feed_forward_length", Value: gguf.Uint32(32)},
					gguf.KV{Key: a + "expert_gating_func", Value: gguf.Uint32(2)})
			}
			f, err := gguf.Open(testgguf.WriteGGUF(t, "hp.gguf", append(kvs, c.extra...), nil))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			spec, _ := lookupArch(c.arch)
			hp, err := readHParams(f, spec)
			if c.want.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.want.err) {
					t.Fatalf("error %v, want one saying %q", err, c.want.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if hp.NLayer != c.want.nLayer || hp.nLayerAll != c.blocks {
				t.Fatalf("layers %d of %d, want %d of %d", hp.NLayer, hp.nLayerAll, c.want.nLayer, c.blocks)
			}
			var got []byte
			for il := range hp.NLayer {
				switch {
				case hp.swa[il] > 0 && !hp.noRoPE[il]:
					got = append(got, 'w')
					if hp.swa[il] != c.want.window {
						t.Errorf("layer %d window %d, want %d", il, hp.swa[il], c.want.window)
					}
				case hp.swa[il] == 0 && hp.noRoPE[il]:
					got = append(got, 'g')
				case hp.swa[il] == 0:
					got = append(got, '.')
				default:
					got = append(got, '?')
				}
			}
			if string(got) != c.want.layers {
				t.Errorf("layers %s, want %s", got, c.want.layers)
			}
		})
	}
	if !slices.Contains(SupportedArchs(), "exaone-moe") {
		t.Error("exaone-moe is not listed as supported")
	}
}
