package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/nuri-ai/nuri/engine"
	"github.com/nuri-ai/nuri/internal/testgguf"
)

// TestEmbedCommand: nuri embed prints, a line a text, the embedder's
// pooled state scaled to length 1 (the file's CLS pooling), for texts
// given as arguments and read from stdin alike.
func TestEmbedCommand(t *testing.T) {
	path := testgguf.Synth(t, "bert-tiny", "Q8_0", 1)
	texts := []string{"hello world", "안녕하세요 세계"}
	var out, errb bytes.Buffer
	if err := embedCmd(append([]string{"--model", path}, texts...), nil, &out, &errb); err != nil {
		t.Fatalf("%v: %s", err, errb.String())
	}
	var fromStdin bytes.Buffer
	if err := embedCmd([]string{"--model", path, "-"}, strings.NewReader(strings.Join(texts, "\n")+"\n"), &fromStdin, &errb); err != nil {
		t.Fatalf("%v: %s", err, errb.String())
	}
	if out.String() != fromStdin.String() {
		t.Error("stdin and arguments gave different output")
	}
	tok, m := loadTokenizerModel(t, path)
	e, err := engine.NewEmbedder(m, engine.EmbedderConfig{Pooling: engine.PoolCLS})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != len(texts) {
		t.Fatalf("%d lines for %d texts", len(lines), len(texts))
	}
	for i, line := range lines {
		var got []float32
		if err := json.Unmarshal([]byte(line), &got); err != nil {
			t.Fatal(err)
		}
		ids, _ := tok.Encode(texts[i], true, false)
		want, err := e.Embed(context.Background(), ids)
		if err != nil {
			t.Fatal(err)
		}
		engine.Normalize(want)
		var n float64
		for _, v := range got {
			n += float64(v) * float64(v)
		}
		if !slices.Equal(got, want) || math.Abs(n-1) > 1e-5 {
			t.Errorf("text %d: the line is not the normalised embedding (norm² %v)", i, n)
		}
	}
}
