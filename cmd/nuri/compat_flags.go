package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"strconv"
	"strings"
)

// compatFlag is a flag of llama-server's, llama-cli's or vLLM's that Nuri takes only
// to keep their command lines working: it does what Nuri always does (or
// what has no counterpart here), maps onto one of serve's flags, or is
// refused with the reason. Without it such a command line would stop at
// "flag provided but not defined", which says nothing of why.
type compatFlag struct {
	names []string
	from  string // "llama-server", "llama-cli" or "vLLM"
	value bool   // takes a value
	note  string // logged at start when given ("": nothing to say)
	warn  bool   // the note is a warning: what the flag asks for is not done
	// cli: llama-cli takes it too, and nuri run accepts it (only flags
	// without a set); runOnly: nuri run's alone.
	cli, runOnly bool
	// set, when not nil, applies the flag (v is "true" for a flag without
	// a value); an error refuses it.
	set func(c *serveConfig, fs *flag.FlagSet, v string) error
}

// refuse is a set that refuses the flag with why.
func refuse(why string) func(*serveConfig, *flag.FlagSet, string) error {
	return func(*serveConfig, *flag.FlagSet, string) error { return fmt.Errorf("%s", why) }
}

// setFlag is a set that gives serve's flag name the value (or, for a
// flag without one, value).
func setFlag(name, value string) func(*serveConfig, *flag.FlagSet, string) error {
	return func(_ *serveConfig, fs *flag.FlagSet, v string) error {
		if value != "" {
			v = value
		}
		return fs.Set(name, v)
	}
}

// onlyValue accepts the values ok (a single device, no offload) and
// refuses any other with why.
func onlyValue(ok []string, why string) func(*serveConfig, *flag.FlagSet, string) error {
	return func(_ *serveConfig, _ *flag.FlagSet, v string) error {
		for _, o := range ok {
			if strings.EqualFold(v, o) {
				return nil
			}
		}
		return fmt.Errorf("%q: %s", v, why)
	}
}

var compatFlags = []compatFlag{
	// llama-server's.
	{names: []string{"threads-http"}, from: "llama-server", value: true, note: "HTTP connections are served on goroutines of their own; there is no pool to size"},
	{names: []string{"threads-batch", "tb"}, from: "llama-server", cli: true, value: true, note: "--threads serves prompt processing and generation alike"},
	{names: []string{"no-mmap"}, from: "llama-server", cli: true, note: "the GGUF is memory-mapped to load it, and its weights are repacked into Nuri's layout in memory of their own"},
	{names: []string{"numa"}, from: "llama-server", cli: true, value: true, note: "threads are placed by the operating system"},
	{names: []string{"prio", "prio-batch", "poll", "poll-batch", "cpu-mask", "C", "cpu-range", "Cr", "cpu-strict", "cpu-mask-batch", "Cb", "cpu-range-batch", "Crb", "cpu-strict-batch"}, from: "llama-server", cli: true, value: true, note: "threads are placed and scheduled by the operating system"},
	{names: []string{"cache-reuse"}, from: "llama-server", value: true, note: "prompts reuse cached K/V by prefix (prefix caching), not by shifting chunks"},
	{names: []string{"ctx-checkpoints", "swa-checkpoints"}, from: "llama-server", value: true, note: "the windowed layers keep their own pool; there are no checkpoints to take"},
	{names: []string{"cache-ram", "cram"}, from: "llama-server", value: true, note: "the prompt cache is the KV cache's unreferenced blocks (prefix caching)"},
	{names: []string{"kv-unified", "kvu"}, from: "llama-server", cli: true},
	{names: []string{"keep"}, from: "llama-server", value: true, note: "the context is not shifted: a reply stops at its end (finish_reason length)"},
	{names: []string{"no-context-shift"}, from: "llama-server"},
	{names: []string{"context-shift"}, from: "llama-server", set: refuse("Nuri does not shift the context: a reply stops at the context's end (finish_reason length); give a larger --ctx-size")},
	{names: []string{"no-cont-batching", "nocb"}, from: "llama-server", note: "requests are always batched; a greedy reply is the same either way"},
	{names: []string{"no-warmup", "offline", "no-perf", "perf", "escape", "no-escape", "no-mmproj", "log-colors", "log-prefix", "no-log-prefix", "log-timestamps", "no-log-timestamps", "check-tensors", "no-op-offload", "op-offload", "defrag-thold", "dt", "fit", "fit-target", "fitt", "fit-ctx", "fitc", "split-mode", "sm", "webui-config", "webui-config-file", "no-slots-save"}, from: "llama-server", cli: true},
	{names: []string{"log-disable"}, from: "llama-server", set: setFlag("log-level", "error")},
	{names: []string{"verbose", "v", "log-verbose"}, from: "llama-server", set: setFlag("log-level", "debug")},
	{names: []string{"log-verbosity", "lv", "verbosity"}, from: "llama-server", value: true, set: func(_ *serveConfig, fs *flag.FlagSet, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("want a number, got %q", v)
		}
		// llama.cpp's 0 generic, 1 error, 2 warning, 3 info, 4 and up trace and debug.
		levels := []string{"error", "error", "warn", "info"}
		if n >= len(levels) {
			return fs.Set("log-level", "debug")
		}
		return fs.Set("log-level", levels[max(n, 0)])
	}},
	{names: []string{"log-file"}, from: "llama-server", value: true, set: func(c *serveConfig, _ *flag.FlagSet, v string) error { c.logFile = v; return nil }},
	{names: []string{"log-jsonl"}, from: "llama-server", set: setFlag("log-format", "json")},
	{names: []string{"props"}, from: "llama-server", note: "POST /props has nothing to change: Nuri's settings are its flags"},
	{names: []string{"sleep-idle-seconds"}, from: "llama-server", value: true, note: "the model stays loaded"},
	{names: []string{"slot-save-path"}, from: "llama-server", value: true, note: "slots are not saved to files; the prefix cache keeps prompts while it has room"},
	{names: []string{"media-path"}, from: "llama-server", value: true, note: "Nuri serves text models"},
	{names: []string{"mmproj", "mm"}, from: "llama-server", value: true, set: refuse("Nuri serves text models: a multimodal projector cannot be loaded")},
	{names: []string{"swa-full"}, from: "llama-server", set: setFlag("no-window-pool", "true")},
	{names: []string{"no-repack", "nr"}, from: "llama-server", cli: true, note: "weights are always repacked into Nuri's layout"},
	{names: []string{"no-kv-offload", "nkvo"}, from: "llama-server", cli: true, note: "the KV cache lives on the model's device"},
	{names: []string{"cpu-moe", "cmoe"}, from: "llama-server", cli: true, note: "the model runs whole on one device (--device)"},
	{names: []string{"n-cpu-moe", "ncmoe", "n-cpu-ffn", "ncffn", "moe-cache-mib"}, from: "llama-server", cli: true, value: true, note: "the model runs whole on one device (--device)"},
	{names: []string{"main-gpu", "mg"}, from: "llama-server", value: true, set: func(c *serveConfig, fs *flag.FlagSet, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fmt.Errorf("want a GPU's index, got %q", v)
		}
		c.device.mainGPU = n
		return nil
	}},
	{names: []string{"tensor-split", "ts"}, from: "llama-server", value: true, set: func(_ *serveConfig, _ *flag.FlagSet, v string) error {
		if strings.Contains(v, ",") || strings.Contains(v, "/") {
			return fmt.Errorf("%q: Nuri runs a model on one device", v)
		}
		return nil
	}},
	{names: []string{"override-tensor", "ot", "override-kv"}, from: "llama-server", value: true, set: refuse("Nuri places and reads tensors as the GGUF has them; overrides are not supported")},
	{names: []string{"control-vector", "control-vector-scaled", "control-vector-layer-range"}, from: "llama-server", value: true, set: refuse("control vectors are not supported")},
	{names: []string{"rope-scaling", "rope-scale", "rope-freq-base", "rope-freq-scale", "yarn-orig-ctx", "yarn-ext-factor", "yarn-attn-factor", "yarn-beta-slow", "yarn-beta-fast"}, from: "llama-server", value: true,
		set: refuse("RoPE's settings come from the GGUF's metadata, which Nuri does not override: convert or edit the GGUF (nuri inspect shows them)")},
	{names: []string{"hf-repo", "hfr", "hf"}, from: "llama-server", value: true, set: func(c *serveConfig, fs *flag.FlagSet, v string) error {
		// A repository in the Hugging Face cache, by the name --model
		// takes (nothing is downloaded).
		return fs.Set("model", v)
	}},
	{names: []string{"hf-file", "hff", "model-url", "mu", "hf-token", "hft", "docker-repo", "dr"}, from: "llama-server", value: true,
		set: refuse("Nuri downloads nothing: give --model a file, or a model Ollama or the Hugging Face cache already holds (-hf ORG/REPO[:QUANT] names one in the cache; nuri models lists them)")},
	{names: []string{"api-prefix"}, from: "llama-server", value: true, set: refuse("the routes have no prefix here: serve behind a proxy that strips it")},
	// llama-cli's, for nuri run.
	{names: []string{"color", "co", "simple-io", "verbose-prompt", "no-display-prompt", "display-prompt", "prompt-cache-all", "prompt-cache-ro", "no-show-timings"}, from: "llama-cli", runOnly: true},
	{names: []string{"prompt-cache"}, from: "llama-cli", value: true, runOnly: true, note: "no prompt cache file: the run computes its prompt"},
	// vLLM's.
	{names: []string{"disable-log-requests", "enable-log-requests", "disable-log-stats", "enforce-eager", "disable-fastapi-docs", "async-scheduling",
		"disable-custom-all-reduce", "enable-server-load-tracking", "enable-prompt-tokens-details", "enable-request-id-headers", "allow-credentials",
		"enable-force-include-usage", "disable-uvicorn-access-log", "enable-log-outputs"}, from: "vLLM"},
	{names: []string{"max-log-len", "max-seq-len-to-capture", "config-format", "distributed-executor-backend", "max-num-partial-prefills",
		"scheduler-delay-factor", "num-scheduler-steps", "compilation-config", "O", "allowed-methods", "allowed-headers", "hf-config-path",
		"download-dir", "revision", "code-revision", "tokenizer-revision", "tokenizer-mode"}, from: "vLLM", value: true},
	{names: []string{"swap-space"}, from: "vLLM", value: true, note: "a preempted sequence is recomputed (from the prefix cache where it can be), not swapped"},
	{names: []string{"enable-sleep-mode"}, from: "vLLM", note: "the model stays loaded"},
	{names: []string{"root-path"}, from: "vLLM", value: true, note: "the routes are served at the root; a proxy in front may add the prefix"},
	{names: []string{"uvicorn-log-level"}, from: "vLLM", value: true, set: func(_ *serveConfig, fs *flag.FlagSet, v string) error {
		switch strings.ToLower(v) {
		case "trace", "debug":
			return fs.Set("log-level", "debug")
		case "info":
			return fs.Set("log-level", "info")
		case "warning":
			return fs.Set("log-level", "warn")
		case "error", "critical":
			return fs.Set("log-level", "error")
		}
		return fmt.Errorf("want trace, debug, info, warning, error or critical, got %q", v)
	}},
	{names: []string{"load-format"}, from: "vLLM", value: true, set: onlyValue([]string{"auto", "gguf"}, "Nuri loads GGUF files (auto or gguf)")},
	{names: []string{"cpu-offload-gb"}, from: "vLLM", value: true, set: onlyValue([]string{"0"}, "the model runs whole on one device")},
	{names: []string{"pipeline-parallel-size", "pp", "data-parallel-size", "dp"}, from: "vLLM", value: true, set: onlyValue([]string{"1"}, "Nuri runs a model on one device")},
	{names: []string{"no-enable-prefix-caching"}, from: "vLLM", set: setFlag("no-prefix-caching", "true")},
	{names: []string{"kv-cache-memory", "kv-cache-memory-bytes"}, from: "vLLM", value: true, set: func(_ *serveConfig, fs *flag.FlagSet, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1<<20 {
			return fmt.Errorf("want a number of bytes, 1 MiB or more, got %q", v)
		}
		return fs.Set("kv-cache-mib", strconv.FormatInt(n>>20, 10))
	}},
	{names: []string{"allowed-origins"}, from: "vLLM", value: true, set: func(_ *serveConfig, fs *flag.FlagSet, v string) error {
		var origins []string
		if err := json.Unmarshal([]byte(v), &origins); err != nil {
			return fmt.Errorf("want a JSON list of origins such as '[\"*\"]', got %q", v)
		}
		return fs.Set("cors-origins", strings.Join(origins, ","))
	}},
	{names: []string{"limit-mm-per-prompt", "mm-processor-kwargs"}, from: "vLLM", value: true, note: "Nuri serves text models"},
}

// addCompatFlags registers compatFlags on serve's flag set: each flag
// given is applied at once and its note kept for the start-up log.
func addCompatFlags(fs *flag.FlagSet, c *serveConfig) {
	registerCompat(fs, func(cf *compatFlag) bool { return !cf.runOnly }, func(cf *compatFlag, name, v string) error {
		keepNote(cf, name, &c.startNotes, &c.startWarnings)
		if cf.set != nil {
			return cf.set(c, fs, v)
		}
		return nil
	})
}

// addRunCompatFlags registers the flags llama-cli shares with nuri run
// (those that only note what Nuri does instead) on run's flag set.
func addRunCompatFlags(fs *flag.FlagSet, notes, warnings *[]string) {
	registerCompat(fs, func(cf *compatFlag) bool { return (cf.cli || cf.runOnly) && cf.set == nil }, func(cf *compatFlag, name, _ string) error {
		keepNote(cf, name, notes, warnings)
		return nil
	})
}

// keepNote files cf's note, given as --name, among the notes or the
// warnings.
func keepNote(cf *compatFlag, name string, notes, warnings *[]string) {
	switch {
	case cf.warn:
		*warnings = append(*warnings, "--"+name+": "+cf.note)
	case cf.note != "":
		*notes = append(*notes, "--"+name+": "+cf.note)
	}
}

// registerCompat defines each flag of compatFlags that keep takes; apply
// runs when one is given (v "true" for a flag without a value).
func registerCompat(fs *flag.FlagSet, keep func(*compatFlag) bool, apply func(cf *compatFlag, name, v string) error) {
	for i := range compatFlags {
		cf := &compatFlags[i]
		if !keep(cf) {
			continue
		}
		usage := cf.from + "'s flag, accepted: " + cf.note
		switch {
		case cf.note == "" && cf.set == nil:
			usage = cf.from + "'s flag, accepted: nothing to do in Nuri"
		case cf.note == "":
			usage = cf.from + "'s flag"
		}
		for _, name := range cf.names {
			if cf.value {
				fs.Func(name, usage, func(v string) error { return apply(cf, name, v) })
				continue
			}
			fs.BoolFunc(name, usage, func(v string) error {
				if v != "true" {
					return nil // -flag=false: not given
				}
				return apply(cf, name, v)
			})
		}
	}
}
