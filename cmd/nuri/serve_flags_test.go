package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/nuri-ai/nuri/chat"
	"github.com/nuri-ai/nuri/engine"
	"github.com/nuri-ai/nuri/server"
	"github.com/nuri-ai/nuri/tokenizer"
)

func TestParseServeFlags(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "keys")
	if err := os.WriteFile(keyFile, []byte("# comment\nkey-one\n\n  key-two  \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("# nothing\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		args  []string
		ok    bool
		check func(t *testing.T, c *serveConfig)
	}{
		{"defaults", []string{"--model", "/m/stories260K.gguf"}, true, func(t *testing.T, c *serveConfig) {
			if c.normalization != tokenizer.NormNone {
				t.Errorf("default normalization %v", c.normalization)
			}
			if c.addr != ":8080" || c.alias != "stories260K" || len(c.apiKeys) != 0 || c.maxBody != 4<<20 || c.corsOrigins != nil {
				t.Errorf("defaults %+v", c)
			}
		}},
		{"key file", []string{"--model", "m.gguf", "--api-key-file", keyFile, "--cors-origins", "https://a, https://b", "--model-alias", "x"}, true, func(t *testing.T, c *serveConfig) {
			if !slices.Equal(c.apiKeys, []string{"key-one", "key-two"}) || len(c.corsOrigins) != 2 || c.alias != "x" {
				t.Errorf("parsed %+v", c)
			}
		}},
		{"llama-server short flags", []string{"-m", "/m/x.gguf", "-t", "3", "-c", "512", "-np", "6"}, true, func(t *testing.T, c *serveConfig) {
			if c.model != "/m/x.gguf" || c.threads != 3 || c.nCtx != 512 || c.eng.MaxNumSeqs != 6 {
				t.Errorf("model %q threads %d ctx %d parallel %d", c.model, c.threads, c.nCtx, c.eng.MaxNumSeqs)
			}
		}},
		{"parallel", []string{"-m", "x.gguf", "--parallel", "3"}, true, func(t *testing.T, c *serveConfig) {
			if c.eng.MaxNumSeqs != 3 {
				t.Errorf("--parallel 3: max-num-seqs %d", c.eng.MaxNumSeqs)
			}
		}},
		{"unicode normalization", []string{"-m", "x.gguf", "--unicode-normalization", "NFC"}, true, func(t *testing.T, c *serveConfig) {
			if c.normalization != tokenizer.NormNFC {
				t.Errorf("--unicode-normalization NFC: %v", c.normalization)
			}
		}},
		{"bad unicode normalization", []string{"-m", "x.gguf", "--unicode-normalization", "nfx"}, false, nil},
		{"compact json", []string{"-m", "x.gguf", "--disable-any-whitespace"}, true, func(t *testing.T, c *serveConfig) {
			if !c.compactJSON {
				t.Error("--disable-any-whitespace not set")
			}
		}},
		{"no model", nil, false, nil},
		{"key and key file", []string{"--model", "m", "--api-key", "a", "--api-key-file", keyFile}, false, nil},
		{"empty key file", []string{"--model", "m", "--api-key-file", empty}, false, nil},
		{"missing key file", []string{"--model", "m", "--api-key-file", filepath.Join(dir, "nope")}, false, nil},
		{"template and format", []string{"--model", "m", "--chat-template-file", "t", "--chat-format", "chatml"}, false, nil},
		{"bad body limit", []string{"--model", "m", "--max-body-bytes", "0"}, false, nil},
		{"stray argument", []string{"--model", "m", "extra"}, false, nil},
		{"bad kernel set", []string{"--model", "m", "--kernels", "sse4"}, false, nil},
		{"pooling without embeddings", []string{"--model", "m", "--pooling", "mean"}, false, nil},
		{"bad pooling", []string{"--model", "m", "--embeddings", "--pooling", "max"}, false, nil},
		{"draft model", []string{"--model", "m", "-model-draft", "d.gguf", "--draft-max", "8", "--draft-p-min", "0"}, true, func(t *testing.T, c *serveConfig) {
			if c.draft != (draftFlags{path: "d.gguf", max: 8, pMin: 0}) {
				t.Errorf("draft %+v", c.draft)
			}
		}},
		{"draft model defaults", []string{"--model", "m", "--draft-model", "d.gguf"}, true, func(t *testing.T, c *serveConfig) {
			if c.draft.max != engine.DefaultDraftTokens || c.draft.pMin != engine.DefaultDraftPMin {
				t.Errorf("draft %+v", c.draft)
			}
		}},
		{"lora modules", []string{"--model", "m", "--lora", "g.gguf", "--lora-modules", "a=a.gguf, b=b.gguf", "--lora-modules", "c=c.gguf"}, true, func(t *testing.T, c *serveConfig) {
			mods := loraModules(c.lora)
			if len(c.lora) != 4 || c.lora[0].Name != "" || len(mods) != 3 || mods[1] != (server.LoRAModule{Name: "b", Path: "b.gguf"}) {
				t.Errorf("lora %+v, modules %+v", c.lora, mods)
			}
		}},
		{"lora module without a file", []string{"--model", "m", "--lora-modules", "a"}, false, nil},
		{"draft model and n-grams", []string{"--model", "m", "--draft-model", "d", "--spec-ngram", "4"}, false, nil},
		{"draft max 0", []string{"--model", "m", "--draft-model", "d", "--draft-max", "0"}, false, nil},
		{"draft p-min 1", []string{"--model", "m", "--draft-model", "d", "--draft-p-min", "1"}, false, nil},
		{"embeddings", []string{"--model", "m", "--embeddings", "--pooling", "cls"}, true, func(t *testing.T, c *serveConfig) {
			if !c.embeddings || c.pooling != "cls" {
				t.Errorf("embeddings %v pooling %q", c.embeddings, c.pooling)
			}
		}},
		{"bad reasoning parser", []string{"--model", "m", "--reasoning-parser", "deepseek"}, false, nil},
		{"reasoning parser", []string{"--model", "m", "--reasoning-parser", "none"}, true, func(t *testing.T, c *serveConfig) {
			if c.reasoning != server.ReasoningNone {
				t.Errorf("reasoning %q", c.reasoning)
			}
		}},
		{"bad tool parser", []string{"--model", "m", "--tool-parser", "qwen3-xml"}, false, nil},
		{"tool parser", []string{"--model", "m", "--tool-parser", "Hermes"}, true, func(t *testing.T, c *serveConfig) {
			if c.toolParser != chat.ToolsHermes {
				t.Errorf("tool parser %q", c.toolParser)
			}
		}},
		{"tool parser from the template", []string{"--model", "m"}, true, func(t *testing.T, c *serveConfig) {
			if c.toolParser != "" {
				t.Errorf("tool parser %q", c.toolParser)
			}
		}},
		{"avx2 kernels", []string{"--model", "m", "--kernels", "avx2"}, true, func(t *testing.T, c *serveConfig) {
			if c.device.kernels != "avx2" {
				t.Errorf("kernels %q", c.device.kernels)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			c, err := parseServe(tc.args, &stderr)
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v, stderr %s", err, stderr.String())
			}
			if tc.check != nil {
				tc.check(t, c)
			}
		})
	}
}

func TestParseServeEnvFallback(t *testing.T) {
	t.Setenv("NURI_API_KEY", "from-env")
	t.Setenv("NURI_ADDR", "127.0.0.1:9999")
	var stderr bytes.Buffer
	c, err := parseServe([]string{"--model", "m", "--addr", "127.0.0.1:1"}, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.apiKeys, []string{"from-env"}) || c.addr != "127.0.0.1:1" {
		t.Errorf("env fallback: keys %v addr %s (the flag must win over NURI_ADDR)", c.apiKeys, c.addr)
	}
}
