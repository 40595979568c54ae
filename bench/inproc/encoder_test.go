package inproc

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/nuri-ai/nuri/internal/testgguf"
)

// TestRunModelEncoder: on an encoder, ppP runs (one whole-input pass a
// repetition, hidden states out) and the report says what it measured;
// generation is skipped, and -d or --batch is refused.
func TestRunModelEncoder(t *testing.T) {
	path := testgguf.Synth(t, "bert-tiny", "Q8_0", 1)
	cfg := DefaultModelConfig()
	cfg.Model, cfg.Prompts, cfg.Gens, cfg.Reps, cfg.Threads, cfg.BandwidthMiB = path, []int{64}, []int{16}, 2, 2, 8
	res, err := RunModel(context.Background(), cfg, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Encoder || len(res.Tests) != 1 || res.Tests[0].Name != "pp64" || res.Tests[0].AvgTPS <= 0 {
		t.Fatalf("encoder %v, tests %+v", res.Encoder, res.Tests)
	}
	var out bytes.Buffer
	if err := WriteModelText(&out, res); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "encoder: each ppP repetition embeds") || strings.Contains(out.String(), "decode reads") {
		t.Errorf("report:\n%s", out.String())
	}
	for _, bad := range []func(*ModelConfig){
		func(c *ModelConfig) { c.Depths = []int{8} },
		func(c *ModelConfig) { c.Batch = []int{2} },
		func(c *ModelConfig) { c.Prompts = []int{129} },
	} {
		c := cfg
		bad(&c)
		if _, err := RunModel(context.Background(), c, RunOptions{}); err == nil || !strings.Contains(err.Error(), "encoder") {
			t.Errorf("%+v: %v, want an encoder's refusal", c, err)
		}
	}
}
