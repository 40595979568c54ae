package main

import (
	"flag"
	"fmt"
	"maps"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/nuri-ai/nuri/chat"
	"github.com/nuri-ai/nuri/server"
)

// llamaFlags are llama.cpp's flags that have no Nuri spelling of their
// own, so that a llama-server command line (and its LLAMA_ARG_*
// environment, as llama.cpp's containers set it) starts nuri serve
// unchanged, and a llama-cli one nuri run, or stops it with a reason
// where Nuri cannot do what it asks.
type llamaFlags struct {
	kv              *kvTypeFlags // -ctk, -ctv
	gpuLayers       string       // -ngl: a count, auto or all
	flashAttn       string       // -fa: on, off or auto; Nuri's attention has one form
	chatTemplate    string       // --chat-template: a built-in name or a template's text (a file too, as vLLM's)
	reasoningFormat string       // --reasoning-format
	batch, ubatch   int          // -b, -ub: llama.cpp's logical and physical batch sizes (0: not given)
	slots, noSlots  bool         // --slots (default on), --no-slots: llama-server's GET /slots
	reasoning       string       // -rea/--reasoning on|off|auto: the template's enable_thinking
	noOp            bool         // --jinja, --metrics, -cb, --no-webui: what Nuri always does (or has no such thing)
}

// addLlamaFlags registers the llama.cpp flags nuri run (llama-cli's) and
// nuri serve (llama-server's) share: the cache types, -ngl, -fa, --jinja.
func addLlamaFlags(fs *flag.FlagSet) *llamaFlags {
	l := &llamaFlags{kv: addKVTypeFlags(fs, "kv-cache-type")}
	for _, n := range []string{"n-gpu-layers", "gpu-layers", "ngl"} {
		fs.StringVar(&l.gpuLayers, n, "", "llama.cpp's layers on the GPU (N, auto or all): unless --device is given, 0 runs on the CPU and anything else on cuda:0, or on the CPU with a warning where there is no GPU; Nuri runs a model whole on one device")
	}
	for _, n := range []string{"flash-attn", "fa"} {
		fs.StringVar(&l.flashAttn, n, "", "llama.cpp's on|off|auto: accepted and checked; Nuri's attention has one form (each query's scores over the paged cache, then their softmax), with or without a quantized cache")
	}
	fs.BoolVar(&l.noOp, "jinja", false, "llama.cpp's flag, accepted: Nuri always renders the Jinja template")
	return l
}

// addLlamaServerFlags is addLlamaFlags with llama-server's own flags and
// its spellings of serve's.
func addLlamaServerFlags(fs *flag.FlagSet, c *serveConfig) *llamaFlags {
	l := addLlamaFlags(fs)
	fs.StringVar(&c.alias, "alias", "", "alias of --model-alias (llama-server)")
	fs.StringVar(&c.alias, "a", "", "alias of --model-alias (llama-server)")
	fs.BoolVar(&c.embeddings, "embedding", false, "alias of --embeddings (llama-server)")
	fs.StringVar(&l.chatTemplate, "chat-template", "", "chat template: a built-in format's name ("+strings.Join(chat.FormatNames(), ", ")+"), a Jinja template's text (llama-server, vLLM) or its file (vLLM)")
	fs.StringVar(&l.reasoningFormat, "reasoning-format", "", "llama-server's none (thinking stays in content), auto or deepseek (split off into reasoning_content): as --reasoning-parser none or auto")
	for _, n := range []string{"batch-size", "b"} {
		fs.IntVar(&l.batch, n, 0, "llama-server's logical batch (default 2048): with --ubatch-size, the step's token budget is the smaller, as --max-num-batched-tokens")
	}
	for _, n := range []string{"ubatch-size", "ub"} {
		fs.IntVar(&l.ubatch, n, 0, "llama-server's physical batch (default 512): the tokens a step computes, as --max-num-batched-tokens")
	}
	for _, n := range []string{"reasoning", "rea"} {
		fs.StringVar(&l.reasoning, n, "", "llama-server's on|off|auto: the chat template's enable_thinking for every request (true or false; auto leaves it to the template), as --chat-template-kwargs sets it")
	}
	fs.BoolVar(&l.slots, "slots", true, "llama-server's GET /slots: each slot's request settings and progress, not its text (--slots=false or --no-slots closes it)")
	fs.BoolVar(&l.noSlots, "no-slots", false, "close llama-server's GET /slots")
	for _, n := range []string{"metrics", "cont-batching", "cb", "no-webui"} {
		fs.BoolVar(&l.noOp, n, false, "llama-server's flag, accepted: Nuri always does this (/metrics, continuous batching) or has no web UI")
	}
	return l
}

// settleCommon turns the shared llama.cpp flags given (set, by name)
// into the KV cache type and the device, refusing what Nuri cannot do.
func (l *llamaFlags) settleCommon(kvType, kvTypeV *string, d *deviceFlags, set map[string]bool) error {
	if err := l.settleKV(kvType, kvTypeV, set); err != nil {
		return err
	}
	if err := l.settleDevice(d, set); err != nil {
		return err
	}
	if l.flashAttn != "" {
		if _, err := llamaOnOffAuto(l.flashAttn); err != nil {
			return fmt.Errorf("--flash-attn: %w", err)
		}
	}
	return nil
}

// settle is settleCommon for serve, with llama-server's own flags.
func (l *llamaFlags) settle(c *serveConfig, set map[string]bool) error {
	if err := l.settleCommon(&c.eng.KVCacheType, &c.eng.KVCacheTypeV, &c.device, set); err != nil {
		return err
	}
	if l.chatTemplate != "" {
		if err := l.settleTemplate(c); err != nil {
			return err
		}
	}
	if err := l.settleBatch(c, set); err != nil {
		return err
	}
	c.noSlots = !l.slots || l.noSlots
	if l.reasoning != "" {
		on, err := llamaOnOffAuto(l.reasoning)
		if err != nil {
			return fmt.Errorf("--reasoning: %w", err)
		}
		if on != "auto" {
			think := on == "on"
			if v, set := c.templateKwargs["enable_thinking"]; set && v != think {
				return fmt.Errorf("--reasoning %s and --chat-template-kwargs' enable_thinking %v disagree; give one", l.reasoning, v)
			}
			c.templateKwargs = maps.Clone(c.templateKwargs)
			if c.templateKwargs == nil {
				c.templateKwargs = map[string]any{}
			}
			c.templateKwargs["enable_thinking"] = think
		}
	}
	if l.reasoningFormat != "" {
		var r server.Reasoning
		switch l.reasoningFormat {
		case "none":
			r = server.ReasoningNone
		case "auto", "deepseek":
			r = server.ReasoningAuto
		default:
			return fmt.Errorf("--reasoning-format %q: Nuri takes none, auto or deepseek (deepseek-legacy, which repeats the thinking in content, is not supported)", l.reasoningFormat)
		}
		if set["reasoning-parser"] && r != c.reasoning {
			return fmt.Errorf("--reasoning-format %s and --reasoning-parser disagree; give one", l.reasoningFormat)
		}
		c.reasoning = r
	}
	return nil
}

// settleBatch reads -b and -ub: llama.cpp computes at most the smaller
// of the two a pass (2048 and 512 when not given), which is what Nuri's
// --max-num-batched-tokens bounds a step to.
func (l *llamaFlags) settleBatch(c *serveConfig, set map[string]bool) error {
	if l.batch == 0 && l.ubatch == 0 {
		return nil
	}
	if l.batch < 0 || l.ubatch < 0 {
		return fmt.Errorf("--batch-size %d and --ubatch-size %d must be positive", l.batch, l.ubatch)
	}
	b, ub := l.batch, l.ubatch
	if b == 0 {
		b = 2048
	}
	if ub == 0 {
		ub = 512
	}
	n := min(b, ub)
	if set["max-num-batched-tokens"] && c.eng.MaxNumBatchedTokens != n {
		return fmt.Errorf("--batch-size/--ubatch-size (%d tokens a step) and --max-num-batched-tokens %d disagree; give one", n, c.eng.MaxNumBatchedTokens)
	}
	c.eng.MaxNumBatchedTokens = n
	return nil
}

// settleKV turns -ctk and -ctv into the K and V cache types beside
// --kv-cache-type's.
func (l *llamaFlags) settleKV(kvType, kvTypeV *string, set map[string]bool) error {
	k, v, err := l.kv.settle("kv-cache-type", *kvType, set["kv-cache-type"])
	if err != nil {
		return err
	}
	*kvType, *kvTypeV = k, v
	return nil
}

// settleDevice reads -ngl where --device (or NURI_DEVICE) does not name
// the device: 0 keeps the model on the CPU; any other count, auto or all
// asks for the GPU (loadOnDevice falls back to the CPU where none opens).
func (l *llamaFlags) settleDevice(d *deviceFlags, set map[string]bool) error {
	if l.gpuLayers == "" {
		return nil
	}
	n := -1 // auto, all
	if l.gpuLayers != "auto" && l.gpuLayers != "all" {
		v, err := strconv.Atoi(l.gpuLayers)
		if err != nil || v < -2 {
			return fmt.Errorf("--n-gpu-layers %q: want a number of layers, auto or all", l.gpuLayers)
		}
		n = v
	}
	d.gpuLayers = &n
	if set["device"] || os.Getenv("NURI_DEVICE") != "" {
		return nil // the device named wins; loadOnDevice says so where they differ
	}
	if n == 0 {
		d.name = "cpu"
		return nil
	}
	d.preferGPU = true
	return nil
}

// settleTemplate reads --chat-template: a built-in format's name, a
// template file (vLLM) or a template's text (llama-server, vLLM).
func (l *llamaFlags) settleTemplate(c *serveConfig) error {
	if c.chatTemplate != "" || c.chatFmt != "" {
		return fmt.Errorf("give one of --chat-template, --chat-template-file and --chat-format")
	}
	t := l.chatTemplate
	if slices.Contains(chat.FormatNames(), strings.ToLower(t)) {
		c.chatFmt = strings.ToLower(t)
		return nil
	}
	if strings.Contains(t, "{{") || strings.Contains(t, "{%") {
		c.chatTemplateText = t
		return nil
	}
	if st, err := os.Stat(t); err == nil && !st.IsDir() {
		c.chatTemplate = t
		return nil
	}
	return fmt.Errorf("--chat-template %q is none of Nuri's built-in formats (%s), a Jinja template or a template file; the GGUF's own template is used when the flag is left out", t, strings.Join(chat.FormatNames(), ", "))
}

// bareOnOff rewrites llama.cpp's on|off|auto flags given without their
// value to =on: -fa and --flash-attn, as llama.cpp took them before the
// flag grew one (and guides still write them), and -rea and --reasoning.
// One followed by its value is left alone.
func bareOnOff(args []string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i:]...)
		}
		name := strings.TrimLeft(a, "-")
		if a != name && (name == "fa" || name == "flash-attn" || name == "rea" || name == "reasoning") {
			if i+1 == len(args) || strings.HasPrefix(args[i+1], "-") && args[i+1] != "-1" {
				out = append(out, a+"=on")
				continue
			}
		}
		out = append(out, a)
	}
	return out
}

// llamaOnOffAuto reads llama.cpp's on|off|auto values and its words for
// them.
func llamaOnOffAuto(v string) (string, error) {
	switch v {
	case "on", "enabled", "true", "1":
		return "on", nil
	case "off", "disabled", "false", "0":
		return "off", nil
	case "auto", "-1":
		return "auto", nil
	}
	return "", fmt.Errorf("want on, off or auto, got %q", v)
}

// llamaEnvKind is how a LLAMA_ARG_* value reaches its flag.
type llamaEnvKind int

const (
	envValue  llamaEnvKind = iota // the value as the flag's argument
	envFlag                       // a flag without a value: set when the value is true (on, enabled, true, 1)
	envCount                      // a count where llama.cpp reads 0 or less as "choose for me": left to Nuri's default then
	envSwitch                     // a flag with a negative form: true or false by the value (on, enabled, true, 1 or off, disabled, false, 0)
)

// llamaEnv maps llama.cpp's environment variables to serve's flags.
var llamaEnv = []struct {
	env, flag string
	kind      llamaEnvKind
}{
	{"LLAMA_ARG_MODEL", "model", envValue},
	{"LLAMA_ARG_ALIAS", "alias", envValue},
	{"LLAMA_ARG_CTX_SIZE", "ctx-size", envValue},
	{"LLAMA_ARG_N_PARALLEL", "parallel", envCount},
	{"LLAMA_ARG_THREADS", "threads", envCount},
	{"LLAMA_ARG_HOST", "host", envValue},
	{"LLAMA_ARG_PORT", "port", envValue},
	{"LLAMA_API_KEY", "api-key", envValue},
	{"LLAMA_ARG_API_KEY_FILE", "api-key-file", envValue},
	{"LLAMA_ARG_SSL_KEY_FILE", "ssl-key-file", envValue},
	{"LLAMA_ARG_SSL_CERT_FILE", "ssl-cert-file", envValue},
	{"LLAMA_ARG_N_PREDICT", "n-predict", envValue},
	{"LLAMA_ARG_N_GPU_LAYERS", "n-gpu-layers", envValue},
	{"LLAMA_ARG_FLASH_ATTN", "flash-attn", envValue},
	{"LLAMA_ARG_CACHE_TYPE_K", "cache-type-k", envValue},
	{"LLAMA_ARG_CACHE_TYPE_V", "cache-type-v", envValue},
	{"LLAMA_ARG_CHAT_TEMPLATE", "chat-template", envValue},
	{"LLAMA_ARG_CHAT_TEMPLATE_FILE", "chat-template-file", envValue},
	{"LLAMA_ARG_MODEL_DRAFT", "model-draft", envValue},
	{"LLAMA_ARG_SPEC_DRAFT_MODEL", "model-draft", envValue},
	{"LLAMA_ARG_DRAFT_MAX", "draft-max", envValue},
	{"LLAMA_ARG_THINK", "reasoning-format", envValue},
	{"LLAMA_ARG_THINK_BUDGET", "reasoning-budget", envValue},
	{"LLAMA_ARG_THINK_BUDGET_MESSAGE", "reasoning-budget-message", envValue},
	{"LLAMA_ARG_TEMPERATURE", "temp", envValue},
	{"LLAMA_ARG_TOP_K", "top-k", envValue},
	{"LLAMA_ARG_TOP_P", "top-p", envValue},
	{"LLAMA_ARG_MIN_P", "min-p", envValue},
	{"LLAMA_ARG_REPEAT_PENALTY", "repeat-penalty", envValue},
	{"LLAMA_ARG_PRESENCE_PENALTY", "presence-penalty", envValue},
	{"LLAMA_ARG_FREQUENCY_PENALTY", "frequency-penalty", envValue},
	{"LLAMA_ARG_POOLING", "pooling", envValue},
	{"LLAMA_ARG_EMBEDDINGS", "embeddings", envFlag},
	{"LLAMA_ARG_RERANKING", "reranking", envFlag},
	{"LLAMA_ARG_ENDPOINT_METRICS", "metrics", envFlag},
	{"LLAMA_ARG_TIMEOUT", "timeout", envValue},
	{"LLAMA_CHAT_TEMPLATE_KWARGS", "chat-template-kwargs", envValue},
	{"LLAMA_ARG_CHAT_TEMPLATE_KWARGS", "chat-template-kwargs", envValue},
	{"LLAMA_ARG_REASONING", "reasoning", envValue},
	// Flags kept for their command lines (compatFlags): noted at start,
	// mapped, or refused with the reason.
	{"LLAMA_ARG_MLOCK", "mlock", envFlag},
	{"LLAMA_ARG_NO_MMAP", "no-mmap", envFlag},
	{"LLAMA_ARG_HF_REPO", "hf-repo", envValue},
	{"LLAMA_ARG_THREADS_HTTP", "threads-http", envValue},
	{"LLAMA_ARG_CACHE_REUSE", "cache-reuse", envValue},
	{"LLAMA_ARG_CACHE_RAM", "cache-ram", envValue},
	{"LLAMA_ARG_CONTEXT_SHIFT", "context-shift", envFlag},
	{"LLAMA_ARG_LOG_FILE", "log-file", envValue},
	{"LLAMA_ARG_SWA_FULL", "swa-full", envFlag},
	{"LLAMA_ARG_MAIN_GPU", "main-gpu", envValue},
	{"LLAMA_ARG_NUMA", "numa", envValue},
	{"LLAMA_ARG_NO_KV_OFFLOAD", "no-kv-offload", envFlag},
	{"LLAMA_ARG_KV_UNIFIED", "kv-unified", envFlag},
	{"LLAMA_ARG_DEFRAG_THOLD", "defrag-thold", envValue},
	{"LLAMA_ARG_CPU_MOE", "cpu-moe", envFlag},
	{"LLAMA_ARG_N_CPU_MOE", "n-cpu-moe", envValue},
	{"LLAMA_ARG_ROPE_SCALING_TYPE", "rope-scaling", envValue},
	{"LLAMA_ARG_ROPE_SCALE", "rope-scale", envValue},
	{"LLAMA_ARG_ROPE_FREQ_BASE", "rope-freq-base", envValue},
	{"LLAMA_ARG_ROPE_FREQ_SCALE", "rope-freq-scale", envValue},
	{"LLAMA_ARG_YARN_ORIG_CTX", "yarn-orig-ctx", envValue},
	{"LLAMA_ARG_JINJA", "jinja", envFlag},
	{"LLAMA_ARG_ENDPOINT_SLOTS", "slots", envSwitch},
	{"LLAMA_ARG_CONT_BATCHING", "cont-batching", envFlag},
	// No web UI either way.
	{"LLAMA_ARG_WEBUI", "", envFlag},
	{"LLAMA_ARG_NO_WEBUI", "", envFlag},
	{"LLAMA_ARG_UI", "", envFlag},
	{"LLAMA_ARG_NO_UI", "", envFlag},
}

// llamaEnvDefaults sets serve's flags from llama.cpp's environment
// variables, before NURI_* and the command line (which win over them),
// and returns the LLAMA_ARG_* variables set that Nuri has no setting for.
func llamaEnvDefaults(fs *flag.FlagSet, environ []string) (ignored []string, err error) {
	known := map[string]bool{}
	for _, e := range llamaEnv {
		known[e.env] = true
		v, ok := lookupEnv(environ, e.env)
		if !ok || e.flag == "" {
			continue
		}
		if n, err := strconv.Atoi(strings.TrimSpace(v)); e.kind == envCount && err == nil && n <= 0 {
			continue // llama.cpp's auto: Nuri's default
		}
		switch e.kind {
		case envFlag:
			on, err := llamaOnOffAuto(v)
			if err != nil || on != "on" {
				continue // llama.cpp ignores a flag variable that is not true
			}
			v = "true"
		case envSwitch:
			switch on, _ := llamaOnOffAuto(v); on {
			case "on":
				v = "true"
			case "off":
				v = "false"
			default:
				continue // neither: llama.cpp keeps the default
			}
		}
		if err := fs.Set(e.flag, v); err != nil {
			return nil, fmt.Errorf("%s=%q: %v", e.env, v, err)
		}
	}
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "LLAMA_ARG_") && !known[name] {
			ignored = append(ignored, name)
		}
	}
	sort.Strings(ignored)
	return ignored, nil
}

// lookupEnv finds name in an environment list of KEY=VALUE entries.
func lookupEnv(environ []string, name string) (string, bool) {
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			return v, true
		}
	}
	return "", false
}
