package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nuri-ai/nuri/chat"
	"github.com/nuri-ai/nuri/kernels"
	"github.com/nuri-ai/nuri/server"
)

// TestLlamaServerFlags parses llama-server's and vLLM's spellings: what
// Nuri can do is taken, what it cannot is refused with a reason.
func TestLlamaServerFlags(t *testing.T) {
	dir := t.TempDir()
	tmplFile := filepath.Join(dir, "t.jinja")
	if err := os.WriteFile(tmplFile, []byte("{% for m in messages %}{{ m.content }}{% endfor %}"), 0o600); err != nil {
		t.Fatal(err)
	}
	runServeParseCases(t, []serveParseCase{
		{"a llama-server command line", []string{"-m", "/m/kanana.gguf", "-c", "4096", "-ngl", "99", "-fa", "on", "-ctk", "q8_0", "-ctv", "q8_0",
			"--jinja", "-a", "kanana", "-n", "256", "--temp", "0.6", "--top-p", "0.95", "--top-k", "20", "--min-p", "0", "-s", "42",
			"--metrics", "-cb", "--no-webui", "--host", "0.0.0.0", "--port", "8081", "--reasoning-format", "none"}, "", func(t *testing.T, c *serveConfig) {
			if c.eng.KVCacheType != "q8_0" || !c.device.preferGPU || c.device.gpuLayers == nil || *c.device.gpuLayers != 99 ||
				c.alias != "kanana" || c.maxReplyTokens != 256 || c.nCtx != 4096 || c.addr != "0.0.0.0:8081" || c.reasoning != server.ReasoningNone {
				t.Errorf("parsed kv %s preferGPU %v layers %v alias %s max reply %d ctx %d addr %s reasoning %q",
					c.eng.KVCacheType, c.device.preferGPU, c.device.gpuLayers, c.alias, c.maxReplyTokens, c.nCtx, c.addr, c.reasoning)
			}
			for _, f := range []string{"temp", "top-p", "top-k", "min-p", "s"} {
				if !c.given[f] {
					t.Errorf("--%s not recorded as given", f)
				}
			}
		}},
		{"physical batch", []string{"-m", "x.gguf", "-b", "4096", "-ub", "1024"}, "", func(t *testing.T, c *serveConfig) {
			if c.eng.MaxNumBatchedTokens != 1024 {
				t.Errorf("-b 4096 -ub 1024: %d tokens a step", c.eng.MaxNumBatchedTokens)
			}
		}},
		{"logical batch alone", []string{"-m", "x.gguf", "--batch-size", "256"}, "", func(t *testing.T, c *serveConfig) {
			if c.eng.MaxNumBatchedTokens != 256 {
				t.Errorf("-b 256: %d tokens a step", c.eng.MaxNumBatchedTokens)
			}
		}},
		{"batch against the step budget", []string{"-m", "x.gguf", "-ub", "1024", "--max-num-batched-tokens", "512"}, "disagree", nil},
		{"several API keys", []string{"-m", "x.gguf", "--api-key", "k1, k2,,k3"}, "", func(t *testing.T, c *serveConfig) {
			if !slices.Equal(c.apiKeys, []string{"k1", "k2", "k3"}) {
				t.Errorf("keys %q", c.apiKeys)
			}
		}},
		{"no GPU layers", []string{"-m", "x.gguf", "-ngl", "0"}, "", func(t *testing.T, c *serveConfig) {
			if c.device.name != "cpu" || c.device.preferGPU {
				t.Errorf("-ngl 0: device %q, preferGPU %v", c.device.name, c.device.preferGPU)
			}
		}},
		{"all layers", []string{"-m", "x.gguf", "--n-gpu-layers", "all"}, "", func(t *testing.T, c *serveConfig) {
			if !c.device.preferGPU || *c.device.gpuLayers != -1 {
				t.Errorf("-ngl all: preferGPU %v, layers %d", c.device.preferGPU, *c.device.gpuLayers)
			}
		}},
		{"the device named wins", []string{"-m", "x.gguf", "--device", "cpu", "--gpu-layers", "99"}, "", func(t *testing.T, c *serveConfig) {
			if c.device.name != "cpu" || c.device.preferGPU {
				t.Errorf("--device cpu -ngl 99: device %q, preferGPU %v", c.device.name, c.device.preferGPU)
			}
		}},
		{"no flags, no GPU asked", []string{"-m", "x.gguf"}, "", func(t *testing.T, c *serveConfig) {
			if c.device.preferGPU || c.device.gpuLayers != nil || c.maxReplyTokens != 0 || len(c.given) != 1 {
				t.Errorf("defaults: preferGPU %v, layers %v, max reply %d, given %v", c.device.preferGPU, c.device.gpuLayers, c.maxReplyTokens, c.given)
			}
		}},
		{"slots open by default", []string{"-m", "x.gguf"}, "", func(t *testing.T, c *serveConfig) {
			if c.noSlots {
				t.Error("/slots closed without --no-slots")
			}
		}},
		{"no slots", []string{"-m", "x.gguf", "--no-slots"}, "", func(t *testing.T, c *serveConfig) {
			if !c.noSlots {
				t.Error("--no-slots left /slots open")
			}
		}},
		{"slots false", []string{"-m", "x.gguf", "--slots=false"}, "", func(t *testing.T, c *serveConfig) {
			if !c.noSlots {
				t.Error("--slots=false left /slots open")
			}
		}},
		{"timeout", []string{"-m", "x.gguf", "-to", "900"}, "", func(t *testing.T, c *serveConfig) {
			if c.readTimeout != 900*time.Second || c.idleTimeout != 900*time.Second {
				t.Errorf("-to 900: read %v, idle %v", c.readTimeout, c.idleTimeout)
			}
		}},
		{"timeouts by default", []string{"-m", "x.gguf"}, "", func(t *testing.T, c *serveConfig) {
			if c.readTimeout != time.Minute || c.idleTimeout != 2*time.Minute {
				t.Errorf("read %v, idle %v", c.readTimeout, c.idleTimeout)
			}
		}},
		{"bad timeout", []string{"-m", "x.gguf", "--timeout", "0"}, "at least 1", nil},
		{"bad read timeout", []string{"-m", "x.gguf", "--read-timeout", "0s"}, "must be positive", nil},
		{"files folder without files", []string{"-m", "x.gguf", "--files-store-dir", "d", "--files-store-mib", "0"}, "give one or the other", nil},
		{"files folder", []string{"-m", "x.gguf", "--files-store-dir", "d"}, "", func(t *testing.T, c *serveConfig) {
			if c.filesDir != "d" || c.filesMiB != 512 {
				t.Errorf("files in %q within %d MiB", c.filesDir, c.filesMiB)
			}
		}},
		{"template kwargs", []string{"-m", "x.gguf", "--chat-template-kwargs", `{"enable_thinking": false, "x": 1}`}, "", func(t *testing.T, c *serveConfig) {
			if c.templateKwargs["enable_thinking"] != false || c.templateKwargs["x"] != 1.0 {
				t.Errorf("kwargs %v", c.templateKwargs)
			}
		}},
		{"reasoning off", []string{"-m", "x.gguf", "-rea", "off"}, "", func(t *testing.T, c *serveConfig) {
			if c.templateKwargs["enable_thinking"] != false {
				t.Errorf("-rea off: kwargs %v", c.templateKwargs)
			}
		}},
		{"reasoning without its value", []string{"-m", "x.gguf", "-rea", "--port", "8081"}, "", func(t *testing.T, c *serveConfig) {
			if c.templateKwargs["enable_thinking"] != true || c.addr != ":8081" {
				t.Errorf("bare -rea: kwargs %v, addr %s", c.templateKwargs, c.addr)
			}
		}},
		{"reasoning auto", []string{"-m", "x.gguf", "--reasoning", "auto"}, "", func(t *testing.T, c *serveConfig) {
			if c.templateKwargs != nil {
				t.Errorf("--reasoning auto: kwargs %v", c.templateKwargs)
			}
		}},
		{"reasoning against the kwargs", []string{"-m", "x.gguf", "--reasoning", "on", "--chat-template-kwargs", `{"enable_thinking": false}`}, "disagree", nil},
		{"bad template kwargs", []string{"-m", "x.gguf", "--chat-template-kwargs", `[1]`}, "JSON object", nil},
		{"bad reasoning", []string{"-m", "x.gguf", "--reasoning", "maybe"}, "on, off or auto", nil},
		{"bad layer count", []string{"-m", "x.gguf", "-ngl", "lots"}, "want a number of layers", nil},
		{"flash attention off", []string{"-m", "x.gguf", "--flash-attn", "off"}, "", nil},
		{"flash attention without its value (older llama.cpp)", []string{"-m", "x.gguf", "-fa", "-c", "4096"}, "", func(t *testing.T, c *serveConfig) {
			if c.nCtx != 4096 {
				t.Errorf("-fa -c 4096: ctx %d", c.nCtx)
			}
		}},
		{"flash attention last", []string{"-m", "x.gguf", "--flash-attn"}, "", nil},
		{"flash attention -1", []string{"-m", "x.gguf", "-fa", "-1"}, "", nil},
		{"bad flash attention", []string{"-m", "x.gguf", "-fa", "maybe"}, "want on, off or auto", nil},
		{"a K cache type Nuri lacks", []string{"-m", "x.gguf", "-ctk", "bf16", "-ctv", "bf16"}, "takes f16, q8_0, f32, q4_0, q4_1, q5_0, q5_1 or iq4_nl", nil},
		{"4-bit K and V", []string{"-m", "x.gguf", "-ctk", "q4_0", "-ctv", "q4_0"}, "", func(t *testing.T, c *serveConfig) {
			if c.eng.KVCacheType != "q4_0" {
				t.Errorf("kv type %q", c.eng.KVCacheType)
			}
		}},
		{"IQ4_NL K and V", []string{"-m", "x.gguf", "--cache-type-k", "iq4_nl", "--cache-type-v", "IQ4_NL"}, "", nil},
		// llama.cpp's f16 for the one not given.
		{"K alone", []string{"-m", "x.gguf", "-ctk", "q8_0"}, "", func(t *testing.T, c *serveConfig) {
			if c.eng.KVCacheType != "q8_0" || c.eng.KVCacheTypeV != "f16" {
				t.Errorf("kv types %q/%q", c.eng.KVCacheType, c.eng.KVCacheTypeV)
			}
		}},
		{"K and V apart", []string{"-m", "x.gguf", "-ctk", "Q8_0", "-ctv", "q4_0"}, "", func(t *testing.T, c *serveConfig) {
			if c.eng.KVCacheType != "q8_0" || c.eng.KVCacheTypeV != "q4_0" {
				t.Errorf("kv types %q/%q", c.eng.KVCacheType, c.eng.KVCacheTypeV)
			}
		}},
		// --kv-cache-type gives both; one side's agreeing is no split.
		{"V against --kv-cache-type", []string{"-m", "x.gguf", "--kv-cache-type", "q8_0", "-ctv", "q5_1"}, "--kv-cache-type q8_0 and --cache-type-v q5_1 disagree", nil},
		{"V agreeing with --kv-cache-type", []string{"-m", "x.gguf", "--kv-cache-type", "q8_0", "-ctv", "Q8_0"}, "", func(t *testing.T, c *serveConfig) {
			if c.eng.KVCacheType != "q8_0" || c.eng.KVCacheTypeV != "q8_0" {
				t.Errorf("kv types %q/%q", c.eng.KVCacheType, c.eng.KVCacheTypeV)
			}
		}},
		{"K cache against --kv-cache-type", []string{"-m", "x.gguf", "--kv-cache-type", "f32", "-ctk", "q8_0", "-ctv", "q8_0"}, "disagree", nil},
		{"a V cache type Nuri lacks", []string{"-m", "x.gguf", "-ctk", "q8_0", "-ctv", "q4_k"}, "--cache-type-v q4_k: Nuri's KV cache takes", nil},
		{"cache types in capitals", []string{"-m", "x.gguf", "--cache-type-k", "Q8_0", "--cache-type-v", "q8_0"}, "", func(t *testing.T, c *serveConfig) {
			if c.eng.KVCacheType != "q8_0" {
				t.Errorf("kv type %q", c.eng.KVCacheType)
			}
		}},
		{"built-in template by name", []string{"-m", "x.gguf", "--chat-template", "ChatML"}, "", func(t *testing.T, c *serveConfig) {
			if c.chatFmt != "chatml" || c.chatTemplate != "" || c.chatTemplateText != "" {
				t.Errorf("format %q file %q text %q", c.chatFmt, c.chatTemplate, c.chatTemplateText)
			}
		}},
		{"template text", []string{"-m", "x.gguf", "--chat-template", "{{ messages[0].content }}"}, "", func(t *testing.T, c *serveConfig) {
			if c.chatTemplateText != "{{ messages[0].content }}" || c.chatFmt != "" {
				t.Errorf("text %q format %q", c.chatTemplateText, c.chatFmt)
			}
		}},
		{"template file (vLLM)", []string{"-m", "x.gguf", "--chat-template", tmplFile}, "", func(t *testing.T, c *serveConfig) {
			if c.chatTemplate != tmplFile {
				t.Errorf("file %q", c.chatTemplate)
			}
		}},
		{"a built-in Nuri lacks", []string{"-m", "x.gguf", "--chat-template", "gemma"}, "none of Nuri's built-in formats", nil},
		{"two templates", []string{"-m", "x.gguf", "--chat-template", "chatml", "--chat-format", "llama3"}, "give one of", nil},
		{"reasoning format Nuri lacks", []string{"-m", "x.gguf", "--reasoning-format", "deepseek-legacy"}, "not supported", nil},
		{"reasoning format against the parser", []string{"-m", "x.gguf", "--reasoning-format", "none", "--reasoning-parser", "think"}, "disagree", nil},
		{"deepseek reasoning format", []string{"-m", "x.gguf", "--reasoning-format", "deepseek"}, "", func(t *testing.T, c *serveConfig) {
			if c.reasoning != server.ReasoningAuto {
				t.Errorf("reasoning %q", c.reasoning)
			}
		}},
		{"n-predict 0", []string{"-m", "x.gguf", "-n", "0"}, "must be positive", nil},
		{"n-predict -2 (llama.cpp's until the context is full)", []string{"-m", "x.gguf", "--n-predict", "-2"}, "", func(t *testing.T, c *serveConfig) {
			if c.maxReplyTokens != 0 {
				t.Errorf("max reply %d", c.maxReplyTokens)
			}
		}},
		{"bad sampling default", []string{"-m", "x.gguf", "--min-p", "2"}, "min_p", nil},
		{"vLLM's generation config override", []string{"-m", "x.gguf", "--override-generation-config", `{"temperature": 0.6, "top_k": 20, "max_new_tokens": 512, "do_sample": true}`}, "", func(t *testing.T, c *serveConfig) {
			if !c.given["temp"] || !c.given["top-k"] || c.maxReplyTokens != 512 || !slices.Equal(c.genConfigUnused, []string{"do_sample"}) ||
				c.sampling.temp != 0.6 || c.sampling.topK != 20 {
				t.Errorf("given %v, max reply %d, unused %v, temp %v, top-k %d", c.given, c.maxReplyTokens, c.genConfigUnused, c.sampling.temp, c.sampling.topK)
			}
		}},
		{"override against a flag", []string{"-m", "x.gguf", "--temp", "0.7", "--override-generation-config", `{"temperature": 0.6}`}, "both set it", nil},
		{"override against -n", []string{"-m", "x.gguf", "-n", "64", "--override-generation-config", `{"max_new_tokens": 512}`}, "disagree", nil},
		{"override not an object", []string{"-m", "x.gguf", "--override-generation-config", `[1]`}, "want a JSON object", nil},
		{"override with a fractional top_k", []string{"-m", "x.gguf", "--override-generation-config", `{"top_k": 1.5}`}, "whole number", nil},
		{"override with a string", []string{"-m", "x.gguf", "--override-generation-config", `{"temperature": "hot"}`}, "want a number", nil},
		{"generation config vllm", []string{"-m", "x.gguf", "--generation-config", "vllm"}, "", func(t *testing.T, c *serveConfig) {
			if c.modelSampling {
				t.Error("--generation-config vllm kept the model's sampling")
			}
		}},
		{"generation config folder", []string{"-m", "x.gguf", "--generation-config", dir}, "reads no generation_config.json", nil},
		{"generation config against model sampling", []string{"-m", "x.gguf", "--generation-config", "vllm", "--model-sampling=true"}, "disagree", nil},
	})
}

// serveParseCase is a serve command line and what parsing it gives.
type serveParseCase struct {
	name    string
	args    []string
	wantErr string // "" : parses
	check   func(t *testing.T, c *serveConfig)
}

// runServeParseCases parses each case's command line and checks it.
func runServeParseCases(t *testing.T, cases []serveParseCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			c, err := parseServe(tc.args, &stderr)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(stderr.String(), tc.wantErr) {
					t.Fatalf("err %v, stderr %q; want an error saying %q", err, firstLine(stderr.String()), tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("err %v: %s", err, firstLine(stderr.String()))
			}
			if tc.check != nil {
				tc.check(t, c)
			}
		})
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// TestLlamaArgEnv: llama.cpp's LLAMA_ARG_* variables set serve's flags
// under NURI_* and the command line; the ones Nuri has no setting for are
// listed to be logged.
func TestLlamaArgEnv(t *testing.T) {
	t.Setenv("LLAMA_ARG_MODEL", "/models/from-env.gguf")
	t.Setenv("LLAMA_ARG_CTX_SIZE", "2048")
	t.Setenv("LLAMA_ARG_N_PARALLEL", "3")
	t.Setenv("LLAMA_ARG_THREADS", "-1") // llama.cpp's auto: Nuri's default
	t.Setenv("LLAMA_ARG_CACHE_TYPE_K", "q8_0")
	t.Setenv("LLAMA_ARG_CACHE_TYPE_V", "q8_0")
	t.Setenv("LLAMA_API_KEY", "llama-key")
	t.Setenv("LLAMA_ARG_ENDPOINT_METRICS", "1")
	t.Setenv("LLAMA_ARG_RERANKING", "0") // a flag variable that is not true: left off, as llama.cpp does
	t.Setenv("LLAMA_ARG_EMBEDDINGS", "enabled")
	t.Setenv("LLAMA_ARG_MLOCK", "1")     // taken, and noted as not done
	t.Setenv("LLAMA_ARG_RPC", "h:50052") // no setting in Nuri: warned of
	t.Setenv("LLAMA_ARG_NO_WEBUI", "1")  // nothing to turn off: no warning
	t.Setenv("LLAMA_ARG_TOP_K", "7")
	t.Setenv("LLAMA_ARG_ENDPOINT_SLOTS", "disabled") // a switch: false closes /slots
	t.Setenv("NURI_CTX_SIZE", "1024")
	var stderr bytes.Buffer
	c, err := parseServe([]string{"-np", "5"}, &stderr)
	if err != nil {
		t.Fatalf("%v: %s", err, firstLine(stderr.String()))
	}
	if c.threads != kernels.DefaultThreads() {
		t.Errorf("LLAMA_ARG_THREADS=-1: threads %d, want the default %d", c.threads, kernels.DefaultThreads())
	}
	if c.model != "/models/from-env.gguf" || c.nCtx != 1024 || c.eng.MaxNumSeqs != 5 || c.eng.KVCacheType != "q8_0" ||
		!slices.Equal(c.apiKeys, []string{"llama-key"}) || c.reranking || !c.embeddings || c.sampling.topK != 7 || !c.given["top-k"] {
		t.Errorf("model %q ctx %d (NURI_CTX_SIZE wins) seqs %d (the command line wins) kv %s keys %v reranking %v embeddings %v top-k %d",
			c.model, c.nCtx, c.eng.MaxNumSeqs, c.eng.KVCacheType, c.apiKeys, c.reranking, c.embeddings, c.sampling.topK)
	}
	if !c.noSlots {
		t.Error("LLAMA_ARG_ENDPOINT_SLOTS=disabled left /slots open")
	}
	if !slices.Equal(c.llamaEnvIgnored, []string{"LLAMA_ARG_RPC"}) {
		t.Errorf("ignored %v, want [LLAMA_ARG_RPC]", c.llamaEnvIgnored)
	}
	if !c.mlock {
		t.Error("LLAMA_ARG_MLOCK left --mlock off")
	}
	// A model on the command line wins over the environment's.
	if c, err = parseServe([]string{"/m/cli.gguf"}, &stderr); err != nil || c.model != "/m/cli.gguf" {
		t.Errorf("positional model under LLAMA_ARG_MODEL: %v, model %q", err, c.model)
	}
	if c, err = parseServe([]string{"--model", "/m/flag.gguf"}, &stderr); err != nil || c.model != "/m/flag.gguf" {
		t.Errorf("--model under LLAMA_ARG_MODEL: %v, model %q", err, c.model)
	}
	t.Setenv("LLAMA_ARG_PORT", "http")
	stderr.Reset()
	if _, err := parseServe(nil, &stderr); err == nil || !strings.Contains(stderr.String(), "LLAMA_ARG_PORT") {
		t.Errorf("a bad LLAMA_ARG_PORT: %v, %q", err, stderr.String())
	}
}

// TestRunLlamaFlags: nuri run takes llama-cli's spellings of the cache
// types, -ngl, -fa and --jinja, as serve does.
func TestRunLlamaFlags(t *testing.T) {
	var stderr bytes.Buffer
	c, err := parseRun([]string{"-m", "x.gguf", "-p", "hi", "-ngl", "0", "-fa", "--jinja", "-ctk", "q8_0", "-ctv", "q8_0", "-cnv"}, &stderr)
	if err != nil {
		t.Fatalf("%v: %s", err, firstLine(stderr.String()))
	}
	if c.kvType != "q8_0" || c.device.name != "cpu" || c.device.preferGPU || !c.interactive {
		t.Errorf("kv %q device %q preferGPU %v interactive %v", c.kvType, c.device.name, c.device.preferGPU, c.interactive)
	}
	stderr.Reset()
	if c, err = parseRun([]string{"-m", "x.gguf", "-p", "hi", "-ctv", "f32"}, &stderr); err != nil {
		t.Errorf("-ctv f32 alone: %v, %q", err, firstLine(stderr.String()))
	} else if c.kvType != "f16" || c.kvTypeV != "f32" {
		t.Errorf("-ctv f32 alone: kv %q/%q; want f16/f32", c.kvType, c.kvTypeV)
	}
	// llama-cli's flags with nothing to do here are taken and noted;
	// --mlock is done; a server's flag is not run's.
	c, err = parseRun([]string{"-m", "x.gguf", "-p", "hi", "--mlock", "--no-mmap", "-tb", "2", "--color", "--prompt-cache", "p.bin", "--simple-io"}, &stderr)
	if err != nil {
		t.Fatalf("%v: %s", err, firstLine(stderr.String()))
	}
	if len(c.warnings) != 0 || len(c.notes) != 3 || !c.mlock {
		t.Errorf("warnings %q, notes %q, mlock %v", c.warnings, c.notes, c.mlock)
	}
	if _, err := parseRun([]string{"-m", "x.gguf", "-p", "hi", "--threads-http", "4"}, &stderr); err == nil {
		t.Error("run took llama-server's --threads-http")
	}
}

// TestVLLMFlags parses a vllm serve command line for a GGUF model.
func TestVLLMFlags(t *testing.T) {
	runServeParseCases(t, []serveParseCase{
		{"a vLLM command line", []string{"/m/exaone.gguf", "--tokenizer", "LGAI-EXAONE/EXAONE-4.0-1.2B", "--max-model-len", "8192",
			"--enable-auto-tool-choice", "--tool-call-parser", "hermes", "--reasoning-parser", "deepseek_r1", "--served-model-name", "exaone",
			"--dtype", "half", "--trust-remote-code", "--tensor-parallel-size", "1", "--gpu-memory-utilization", "0.9", "--enable-prefix-caching",
			"--kv-cache-dtype", "auto", "--quantization", "gguf", "--port", "8000"}, "", func(t *testing.T, c *serveConfig) {
			if c.toolParser != chat.ToolsHermes || c.reasoning != server.ReasoningThink || c.alias != "exaone" || c.nCtx != 8192 ||
				c.eng.DisablePrefixCaching || c.addr != ":8000" || len(c.startNotes) != 3 || c.model != "/m/exaone.gguf" {
				t.Errorf("tools %q reasoning %q alias %q ctx %d no prefix caching %v addr %s notes %q",
					c.toolParser, c.reasoning, c.alias, c.nCtx, c.eng.DisablePrefixCaching, c.addr, c.startNotes)
			}
		}},
		{"default template kwargs", []string{"-m", "x.gguf", "--default-chat-template-kwargs", `{"enable_thinking": true}`}, "", func(t *testing.T, c *serveConfig) {
			if c.templateKwargs["enable_thinking"] != true {
				t.Errorf("kwargs %v", c.templateKwargs)
			}
		}},
		{"keep-alive timeout", []string{"-m", "x.gguf", "--timeout-keep-alive", "5"}, "", func(t *testing.T, c *serveConfig) {
			if c.idleTimeout != 5*time.Second || c.readTimeout != time.Minute {
				t.Errorf("--timeout-keep-alive 5: idle %v, read %v", c.idleTimeout, c.readTimeout)
			}
		}},
		{"llama3_json", []string{"-m", "x.gguf", "--tool-call-parser", "llama3_json"}, "", func(t *testing.T, c *serveConfig) {
			if c.toolParser != chat.ToolsLlama3 {
				t.Errorf("tools %q", c.toolParser)
			}
		}},
		{"a parser Nuri lacks", []string{"-m", "x.gguf", "--tool-call-parser", "qwen3_coder"}, "does not parse", nil},
		{"two tool parsers", []string{"-m", "x.gguf", "--tool-parser", "mistral", "--tool-call-parser", "hermes"}, "disagree", nil},
		{"fp8 cache", []string{"-m", "x.gguf", "--kv-cache-dtype", "fp8"}, "no fp8 form", nil},
		{"two devices", []string{"-m", "x.gguf", "-tp", "2"}, "one device", nil},
		{"another quantization", []string{"-m", "x.gguf", "--quantization", "awq"}, "GGUF files", nil},
		{"memory share over 1", []string{"-m", "x.gguf", "--gpu-memory-utilization", "1.5"}, "want a share", nil},
		{"prefix caching off", []string{"-m", "x.gguf", "--enable-prefix-caching=false"}, "", func(t *testing.T, c *serveConfig) {
			if !c.eng.DisablePrefixCaching {
				t.Error("--enable-prefix-caching=false left prefix caching on")
			}
		}},
		{"a reasoning parser for another format", []string{"-m", "x.gguf", "--reasoning-parser", "granite"}, "must be auto, think or none", nil},
		{"Mistral's reasoning parser", []string{"-m", "x.gguf", "--reasoning-parser", "mistral"}, "", func(t *testing.T, c *serveConfig) {
			if c.reasoning != server.ReasoningThink {
				t.Errorf("reasoning %q", c.reasoning)
			}
		}},
	})
}

// TestServeChatTemplateFlag: --chat-template's forms reach the renderer:
// a template's text, and a built-in format's name.
func TestServeChatTemplateFlag(t *testing.T) {
	body := `{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}`
	for _, tc := range []struct{ flag, want string }{
		{"{% for m in messages %}[{{ m.role }}:{{ m.content }}]{% endfor %}", "[user:hi][assistant:yo]"},
		{"chatml", "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nyo<|im_end|>\n<|im_start|>assistant\n"}, // with the generation prompt, as llama-server's /apply-template
	} {
		base := startServe(t, "--chat-template", tc.flag)
		var r struct {
			Prompt string `json:"prompt"`
		}
		b := postOK(t, base+"/apply-template", body)
		if err := json.Unmarshal(b, &r); err != nil || r.Prompt != tc.want {
			t.Errorf("--chat-template %q: %v, prompt %q, want %q", tc.flag, err, r.Prompt, tc.want)
		}
	}
}

// TestCompatFlags: llama-server's and vLLM's flags that Nuri keeps for
// their command lines are accepted (noted at start), mapped onto serve's
// flags, or refused with the reason.
func TestCompatFlags(t *testing.T) {
	logFile := filepath.Join(t.TempDir(), "nuri.log")
	runServeParseCases(t, []serveParseCase{
		{"a llama-server command line", []string{"-hf", "org/repo:Q4_K_M", "-ngl", "99", "-mg", "1", "--threads-http", "8", "--no-mmap", "--mlock", "-tb", "2",
			"--cache-reuse", "256", "-kvu", "--no-context-shift", "-v", "--log-file", logFile, "--swa-full", "--no-warmup", "--offline"}, "", func(t *testing.T, c *serveConfig) {
			if c.model != "org/repo:Q4_K_M" || c.device.mainGPU != 1 || c.logLevel != "debug" || c.logFile != logFile || !c.eng.DisableWindowPool {
				t.Errorf("model %q main GPU %d log %s %q window pool off %v", c.model, c.device.mainGPU, c.logLevel, c.logFile, c.eng.DisableWindowPool)
			}
			for _, want := range []string{"--threads-http", "--no-mmap", "--tb", "--cache-reuse"} {
				if !slices.ContainsFunc(c.startNotes, func(n string) bool { return strings.HasPrefix(n, want+": ") }) {
					t.Errorf("%s not noted: %q", want, c.startNotes)
				}
			}
			if len(c.startWarnings) != 0 || !c.mlock {
				t.Errorf("warnings %q, mlock %v: want --mlock done", c.startWarnings, c.mlock)
			}
		}},
		{"a vLLM command line", []string{"/m/x.gguf", "--disable-log-requests", "--enforce-eager", "--swap-space", "4", "--uvicorn-log-level", "warning",
			"--load-format", "gguf", "--allowed-origins", `["https://a.example", "https://b.example"]`, "--kv-cache-memory", "1073741824", "--no-enable-prefix-caching", "-pp", "1"}, "", func(t *testing.T, c *serveConfig) {
			if c.logLevel != "warn" || !slices.Equal(c.corsOrigins, []string{"https://a.example", "https://b.example"}) || c.eng.KVCacheMemory != 1<<30 || !c.eng.DisablePrefixCaching {
				t.Errorf("log %s cors %q kv %d no prefix caching %v", c.logLevel, c.corsOrigins, c.eng.KVCacheMemory, c.eng.DisablePrefixCaching)
			}
		}},
		{"log verbosity", []string{"-m", "x.gguf", "-lv", "2"}, "", func(t *testing.T, c *serveConfig) {
			if c.logLevel != "warn" {
				t.Errorf("-lv 2: log level %s", c.logLevel)
			}
		}},
		{"context shift", []string{"-m", "x.gguf", "--context-shift"}, "does not shift the context", nil},
		{"rope scaling", []string{"-m", "x.gguf", "--rope-scaling", "yarn"}, "GGUF's metadata", nil},
		{"projector", []string{"-m", "x.gguf", "--mmproj", "p.gguf"}, "text models", nil},
		{"a download", []string{"-m", "x.gguf", "-hff", "x-Q4_K_M.gguf"}, "downloads nothing", nil},
		{"another load format", []string{"-m", "x.gguf", "--load-format", "safetensors"}, "GGUF files", nil},
		{"pipeline parallel", []string{"-m", "x.gguf", "-pp", "2"}, "one device", nil},
		{"tensor split", []string{"-m", "x.gguf", "-ts", "3,1"}, "one device", nil},
		{"uvicorn level", []string{"-m", "x.gguf", "--uvicorn-log-level", "loud"}, "want trace", nil},
		{"origins", []string{"-m", "x.gguf", "--allowed-origins", "*"}, "JSON list", nil},
	})
	c, err := parseServe([]string{"-m", "x.gguf", "--log-file", logFile, "--log-level", "info"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	log, closeLog, err := c.logger(&stderr)
	if err != nil {
		t.Fatal(err)
	}
	log.Info("to both")
	closeLog()
	if b, err := os.ReadFile(logFile); err != nil || !strings.Contains(string(b), "to both") || !strings.Contains(stderr.String(), "to both") {
		t.Errorf("--log-file %q (%v), stderr %q", b, err, stderr.String())
	}
}
