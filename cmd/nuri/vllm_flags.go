package main

import (
	"flag"
	"fmt"
	"strings"

	"github.com/nuri-ai/nuri/chat"
	"github.com/nuri-ai/nuri/server"
)

// vllmFlags are vllm serve's flags that have no Nuri spelling of their
// own, so that a vLLM command line for a GGUF model starts nuri serve
// unchanged, or stops it with a reason where Nuri cannot do what it asks.
type vllmFlags struct {
	toolCallParser   string
	kvCacheDtype     string
	tokenizer, dtype string
	quantization     string
	tensorParallel   int
	gpuMemory        float64
	prefixCaching    bool
	noOp             bool // --enable-auto-tool-choice, --trust-remote-code, --enable-lora, --enable-chunked-prefill
}

func addVLLMFlags(fs *flag.FlagSet) *vllmFlags {
	v := &vllmFlags{}
	fs.StringVar(&v.toolCallParser, "tool-call-parser", "", "vLLM's flag: as --tool-parser, with vLLM's names (hermes, llama3_json, llama4_json, mistral)")
	fs.StringVar(&v.kvCacheDtype, "kv-cache-dtype", "", "vLLM's flag: auto (the default cache type); Nuri's 8-bit cache is --kv-cache-type q8_0, not fp8")
	fs.StringVar(&v.tokenizer, "tokenizer", "", "vLLM's flag, accepted: Nuri reads the tokenizer from the GGUF")
	fs.StringVar(&v.dtype, "dtype", "", "vLLM's flag, accepted: weights keep the GGUF's types")
	fs.StringVar(&v.quantization, "quantization", "", "vLLM's flag: gguf, or left out")
	for _, n := range []string{"tensor-parallel-size", "tp"} {
		fs.IntVar(&v.tensorParallel, n, 1, "vLLM's flag: 1; Nuri runs a model on one device")
	}
	fs.Float64Var(&v.gpuMemory, "gpu-memory-utilization", 0, "vLLM's flag, accepted: Nuri's KV cache takes --kv-cache-mib, by default a share of the device's free memory")
	fs.BoolVar(&v.prefixCaching, "enable-prefix-caching", true, "vLLM's flag: on by default; =false as --no-prefix-caching")
	for _, n := range []string{"enable-auto-tool-choice", "trust-remote-code", "enable-lora", "enable-chunked-prefill"} {
		fs.BoolVar(&v.noOp, n, false, "vLLM's flag, accepted: what Nuri always does (tool_choice auto, LoRA adapters, chunked prefill) or has no need of (remote code)")
	}
	return v
}

// settle turns the vLLM flags given into serve's settings; notes are what
// to log at start about flags taken without effect.
func (v *vllmFlags) settle(c *serveConfig, set map[string]bool) (notes []string, err error) {
	if v.toolCallParser != "" {
		f, err := vllmToolParser(v.toolCallParser)
		if err != nil {
			return nil, fmt.Errorf("--tool-call-parser: %w", err)
		}
		if set["tool-parser"] && c.toolParser != f {
			return nil, fmt.Errorf("--tool-call-parser %s and --tool-parser disagree; give one", v.toolCallParser)
		}
		c.toolParser = f
	}
	switch d := strings.ToLower(v.kvCacheDtype); d {
	case "", "auto":
	default:
		return nil, fmt.Errorf("--kv-cache-dtype %s: Nuri's KV cache is f16 (auto), q8_0, f32 or a 4- or 5-bit block type (--kv-cache-type); it has no fp8 form", v.kvCacheDtype)
	}
	switch q := strings.ToLower(v.quantization); q {
	case "", "gguf":
	default:
		return nil, fmt.Errorf("--quantization %s: Nuri serves GGUF files, whose tensors carry their own types", v.quantization)
	}
	if v.tensorParallel != 1 {
		return nil, fmt.Errorf("--tensor-parallel-size %d: Nuri runs a model on one device", v.tensorParallel)
	}
	if v.gpuMemory < 0 || v.gpuMemory > 1 {
		return nil, fmt.Errorf("--gpu-memory-utilization %v: want a share in (0, 1]", v.gpuMemory)
	}
	if !v.prefixCaching {
		c.eng.DisablePrefixCaching = true
	}
	if v.tokenizer != "" {
		notes = append(notes, "--tokenizer "+v.tokenizer+": Nuri reads the tokenizer from the GGUF")
	}
	if v.dtype != "" {
		notes = append(notes, "--dtype "+v.dtype+": weights keep the GGUF's types")
	}
	if v.gpuMemory != 0 {
		notes = append(notes, "--gpu-memory-utilization: the KV cache takes --kv-cache-mib, by default a share of the device's free memory")
	}
	return notes, nil
}

// vllmToolParser maps vLLM's tool-call parser names to Nuri's formats.
func vllmToolParser(name string) (chat.ToolFormat, error) {
	switch strings.ToLower(name) {
	case "llama3_json", "llama4_json":
		return chat.ToolsLlama3, nil
	}
	if f, err := chat.ParseToolFormat(name); err == nil {
		return f, nil
	}
	return "", fmt.Errorf("%q reads a format Nuri does not parse; Nuri's are %s (vLLM's hermes, llama3_json and mistral among them), or auto, the chat template's own", name, strings.Join(chat.ToolFormatNames(), ", "))
}

// vllmThinkParsers are vLLM's reasoning parsers for models that think
// between tags the chat template writes (<think>…</think>, Mistral's
// [THINK]…[/THINK]): Nuri splits those with --reasoning-parser think.
var vllmThinkParsers = map[string]bool{
	"deepseek_r1": true, "deepseek_v3": true, "qwen3": true, "glm45": true, "ernie45": true,
	"olmo3": true, "minimax_m2": true, "mistral": true,
}

// parseReasoningParser reads --reasoning-parser: Nuri's auto, think and
// none, or a vLLM parser name for a model that thinks in its template's
// tags (as think).
func parseReasoningParser(v string) (server.Reasoning, error) {
	switch v {
	case "auto":
		return server.ReasoningAuto, nil
	case "think", "none":
		return server.Reasoning(v), nil
	}
	if vllmThinkParsers[strings.ToLower(v)] {
		return server.ReasoningThink, nil
	}
	return "", fmt.Errorf("--reasoning-parser must be auto, think or none (or vLLM's deepseek_r1, qwen3, glm45, mistral and the like, for models that think between their template's tags), got %q", v)
}
