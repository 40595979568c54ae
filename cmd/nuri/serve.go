package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/chat"
	"github.com/nuri-ai/nuri/engine"
	"github.com/nuri-ai/nuri/gguf"
	"github.com/nuri-ai/nuri/kernels"
	"github.com/nuri-ai/nuri/model"
	"github.com/nuri-ai/nuri/sample"
	"github.com/nuri-ai/nuri/server"
	"github.com/nuri-ai/nuri/tokenizer"
)

// The server fills in the middle (a completion's suffix) with the
// tokenizer's FIM tokens.
var _ server.FIMTokenizer = (*tokenizer.Tokenizer)(nil)

func init() {
	register(command{name: "serve", summary: "OpenAI-compatible HTTP server (chat, completions, streaming, metrics)", run: runServe})
}

// serveConfig is every serve flag, validated.
type serveConfig struct {
	normalization tokenizer.Normalization // of input text (--unicode-normalization)

	model, addr, alias    string
	aliases               []string // more names requests may give the model
	apiKeys, corsOrigins  []string
	maxBody               int
	maxUpload             int
	storedResponses       int // --responses-store (0: none)
	storedResponseMiB     int
	storedResponsesDir    string // keep them in this folder too
	noSlots               bool   // close GET /slots (llama-server's --no-slots)
	filesMiB              int    // --files-store-mib (0: no Files or Batch API)
	filesDir              string // --files-store-dir: files and batches there, not in memory
	drain                 time.Duration
	readTimeout           time.Duration // --read-timeout: a request's arrival
	idleTimeout           time.Duration // --idle-timeout: an idle keep-alive connection
	threads, nCtx         int
	chatTemplate, chatFmt string
	chatTemplateText      string          // --chat-template given as a template's text
	llamaEnvIgnored       []string        // LLAMA_ARG_* variables set that Nuri has no setting for
	startNotes            []string        // flags taken without effect, to log at start
	startWarnings         []string        // flags taken whose request is not done, to warn of at start
	logFile               string          // llama-server's --log-file: the log goes there too
	toolParser            chat.ToolFormat // "" : what the template shows
	freeToolCalls         bool            // auto calls unconstrained
	mlock                 bool            // lock the process's memory once loaded (lockMemory)
	compactJSON           bool            // --disable-any-whitespace
	embeddings            bool            // serve /v1/embeddings
	encoder               bool            // the model is an encoder: embeddings only (set at load)
	reranking             bool            // serve /v1/rerank and /score
	pooling               string          // "" : the GGUF's pooling_type, else last
	reasoning             server.Reasoning
	thinkBudget           int            // --reasoning-budget (-1: none)
	thinkBudgetMessage    string         // --reasoning-budget-message
	templateKwargs        map[string]any // --chat-template-kwargs: every request's template variables
	logLevel, logFormat   string
	eng                   engine.Config
	draft                 draftFlags
	lora                  []model.LoRA
	poolingModels         []poolingModelFlag // --embedding-model: embedding models and rerankers served beside --model
	allowLoRAUpdates      bool
	modelSampling         bool // requests' unset sampling fields take the GGUF's recommendations
	sampling              *samplingFlags
	given                 map[string]bool // the flags given (command line, environment, --override-generation-config)
	genConfigUnused       []string        // --override-generation-config keys Nuri has no sampler for
	maxReplyTokens        int             // --n-predict: the most tokens a reply may generate (≤ 0: the context)
	sslCert, sslKey       string          // serve HTTPS with this certificate and key
	device                deviceFlags
}

// parseServe reads flags, with NURI_<FLAG> environment fallbacks (for
// example NURI_API_KEY, NURI_ADDR).
func parseServe(args []string, stderr io.Writer) (*serveConfig, error) {
	return parseServeAs("serve", args, stderr, nil)
}

// parseServeAs is parseServe for a command named name that takes serve's
// flags (nuri batch): more, a hook run before the environment and the
// arguments are read, adds its own flags and may change defaults.
func parseServeAs(name string, args []string, stderr io.Writer, more func(fs *flag.FlagSet)) (*serveConfig, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: nuri %s --model M [flags]\n\n", name)
		fs.PrintDefaults()
	}
	c := &serveConfig{}
	fs.StringVar(&c.model, "model", "", "GGUF model file (required)")
	fs.StringVar(&c.model, "m", "", "alias of --model (llama-server)")
	fs.StringVar(&c.addr, "addr", ":8080", "listen address")
	host := fs.String("host", "", "listen on this host only, keeping --addr's port (vLLM's flag)")
	port := fs.Int("port", 0, "listen on this port, keeping --addr's host (vLLM's flag)")
	apiKey := fs.String("api-key", "", "require this API key (Authorization: Bearer KEY); several after commas")
	apiKeyFile := fs.String("api-key-file", "", "file with API keys, one per line")
	fs.StringVar(&c.alias, "model-alias", "", "model id served by /v1/models (default: the file name without .gguf); more names after commas are served too: listed, accepted, and answered under (e.g. the names an agent asks for)")
	fs.StringVar(&c.alias, "served-model-name", "", "alias of --model-alias (vLLM's flag)")
	cors := fs.String("cors-origins", "", "comma-separated CORS allow-list (\"*\" for any); empty: CORS off")
	fs.IntVar(&c.maxBody, "max-body-bytes", server.DefaultMaxBodyBytes, "request body limit in bytes")
	fs.IntVar(&c.maxUpload, "max-upload-bytes", server.DefaultMaxUploadBytes, "body limit in bytes of file uploads (POST /v1/files) and Anthropic Message Batches")
	fs.IntVar(&c.storedResponses, "responses-store", server.DefaultStoredResponses, "finished /v1/responses responses kept in memory for previous_response_id and GET (0: none)")
	fs.StringVar(&c.storedResponsesDir, "responses-store-dir", "", "also keep the stored /v1/responses responses in this folder (created if need be), so previous_response_id conversations outlive a restart; the same limits apply")
	fs.IntVar(&c.filesMiB, "files-store-mib", server.DefaultFilesBytes>>20, "what the Files API's files (batch inputs and results) may take, in memory or in --files-store-dir, in MiB; an upload past it is refused (0: no Files or Batch API)")
	fs.StringVar(&c.filesDir, "files-store-dir", "", "keep the Files API's files and the batches in this folder (created if need be) instead of memory: they outlive a restart, and a batch the server stopped under resumes with the lines it had not finished")
	fs.IntVar(&c.storedResponseMiB, "responses-store-mib", server.DefaultStoredResponseBytes>>20, "memory the kept responses may take, in MiB (the oldest go first)")
	fs.DurationVar(&c.drain, "shutdown-timeout", 30*time.Second, "on SIGTERM/SIGINT, how long in-flight requests may finish")
	fs.DurationVar(&c.readTimeout, "read-timeout", 60*time.Second, "how long a client may take to send a request (headers and body)")
	fs.DurationVar(&c.idleTimeout, "idle-timeout", 120*time.Second, "how long an idle keep-alive connection is kept open")
	fs.Func("timeout", "llama-server's --timeout SECONDS: --read-timeout and --idle-timeout both (a reply's stream is never cut)", func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fmt.Errorf("want a number of seconds, at least 1, got %q", v)
		}
		c.readTimeout, c.idleTimeout = time.Duration(n)*time.Second, time.Duration(n)*time.Second
		return nil
	})
	fs.Func("to", "alias of --timeout (llama-server)", func(v string) error { return fs.Set("timeout", v) })
	fs.Func("timeout-keep-alive", "vLLM's --timeout-keep-alive SECONDS: as --idle-timeout", func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fmt.Errorf("want a number of seconds, at least 1, got %q", v)
		}
		c.idleTimeout = time.Duration(n) * time.Second
		return nil
	})
	fs.IntVar(&c.threads, "threads", kernels.DefaultThreads(), "CPU threads for the model, by default one per physical core this process may use")
	fs.IntVar(&c.threads, "t", kernels.DefaultThreads(), "alias of --threads (llama-server)")
	fs.IntVar(&c.nCtx, "ctx-size", 0, "context length per sequence (0: the model's)")
	fs.IntVar(&c.nCtx, "max-model-len", 0, "alias of --ctx-size (vLLM's flag)")
	fs.IntVar(&c.nCtx, "c", 0, "alias of --ctx-size (llama-server)")
	fs.StringVar(&c.chatTemplate, "chat-template-file", "", "Jinja chat template file overriding the GGUF's")
	addNormalizationFlag(fs, &c.normalization)
	fs.StringVar(&c.chatFmt, "chat-format", "", "built-in chat format instead of the template: "+strings.Join(chat.FormatNames(), ", "))
	toolParser := fs.String("tool-parser", "auto", "how tool calls are read from replies: auto (from the chat template), "+strings.Join(chat.ToolFormatNames(), ", "))
	fs.BoolVar(&c.mlock, "mlock", false, "lock the model in memory once loaded (llama.cpp's --mlock): the repacked weights and every page in memory, and the KV cache's pages as they fill, are never paged out; a refusal (RLIMIT_MEMLOCK) is a warning")
	fs.BoolVar(&c.freeToolCalls, "free-tool-calls", false, "under tool_choice auto, leave the calls a model writes unconstrained (default: a call, once opened, is held to the tools' schemas)")
	fs.BoolVar(&c.compactJSON, "disable-any-whitespace", false, "JSON output (response_format, guided_json, structured_outputs) is compact, with no whitespace between its tokens, unless a request's structured_outputs.disable_any_whitespace says otherwise (vLLM's option; small models otherwise pad)")
	fs.BoolVar(&c.embeddings, "embeddings", false, "serve /v1/embeddings: the final hidden states, pooled and normalised")
	fs.BoolVar(&c.reranking, "reranking", false, "serve /v1/rerank (also /rerank, /v2/rerank) and /score with a reranker such as Qwen3-Reranker: its classification head, or its yes/no answer")
	fs.BoolVar(&c.reranking, "rerank", false, "alias of --reranking (llama-server's flag)")
	fs.StringVar(&c.pooling, "pooling", "", "embedding pooling: last, mean or cls (default: the GGUF's pooling_type, else last)")
	reasoning := fs.String("reasoning-parser", "auto", "split <think>…</think> off into reasoning_content: auto (when the chat template writes it), think (always), none")
	fs.IntVar(&c.thinkBudget, "reasoning-budget", -1, "tokens a reply may think before </think> is forced (llama.cpp's flag): -1 no limit, 0 close the thinking at once; a request's thinking_budget_tokens (Anthropic's budget_tokens) wins")
	for _, n := range []string{"chat-template-kwargs", "default-chat-template-kwargs"} {
		fs.Func(n, "the chat template's variables for every request, a JSON object such as '{\"enable_thinking\": false}' (llama-server's --chat-template-kwargs, vLLM's --default-chat-template-kwargs); a request's chat_template_kwargs win key by key", func(v string) error {
			var m map[string]any
			if err := json.Unmarshal([]byte(v), &m); err != nil || m == nil {
				return fmt.Errorf("want a JSON object, got %q", v)
			}
			c.templateKwargs = m
			return nil
		})
	}
	fs.StringVar(&c.thinkBudgetMessage, "reasoning-budget-message", "", "text forced before </think> when the budget is spent, e.g. \"... time is up, let me answer.\"")
	fs.IntVar(&c.eng.MaxNumSeqs, "max-num-seqs", engine.DefaultMaxNumSeqs, "sequences running at once")
	fs.IntVar(&c.eng.MaxNumSeqs, "parallel", engine.DefaultMaxNumSeqs, "alias of --max-num-seqs (llama-server's slots)")
	fs.IntVar(&c.eng.MaxNumSeqs, "np", engine.DefaultMaxNumSeqs, "alias of --max-num-seqs (llama-server)")
	fs.IntVar(&c.eng.MaxNumBatchedTokens, "max-num-batched-tokens", engine.DefaultMaxNumBatchedTokens, "token budget of one step")
	fs.IntVar(&c.eng.MaxQueuedRequests, "max-queued-requests", engine.DefaultMaxQueuedRequests, "waiting requests before 429")
	fs.StringVar(&c.eng.SchedulingPolicy, "scheduling-policy", engine.PolicyFCFS, "the order waiting requests are admitted in: fcfs (arrival) or priority (each request's \"priority\", lower first, then arrival; short of KV cache, the lowest-priority running request gives way)")
	fs.IntVar(&c.eng.BlockSize, "block-size", engine.DefaultBlockSize, "tokens per KV block")
	fs.StringVar(&c.eng.KVCacheType, "kv-cache-type", engine.DefaultKVCacheType, "KV cache type of K and V: "+model.KVCacheTypeNames()+" (-ctk and -ctv give them apart)")
	kvMiB := fs.Int64("kv-cache-mib", 0, "KV cache budget in MiB (0: a share of free RAM)")
	fs.BoolVar(&c.eng.DisablePrefixCaching, "no-prefix-caching", false, "disable prefix caching")
	fs.BoolVar(&c.eng.DisableWindowPool, "no-window-pool", false, "keep sliding-window layers' KV in the one pool (default: a pool of their own, freed as the window moves)")
	fs.IntVar(&c.eng.SpecTokens, "spec-ngram", 0, "speculative decoding by n-gram lookup: a decoding sequence feeds up to this many tokens that followed an earlier occurrence of its last few (0: off; outputs are the same either way)")
	fs.IntVar(&c.eng.SpecNgramMax, "spec-ngram-max", engine.DefaultSpecNgramMax, "longest n-gram looked up for drafts")
	fs.IntVar(&c.eng.SpecNgramMin, "spec-ngram-min", engine.DefaultSpecNgramMin, "shortest n-gram looked up for drafts")
	fs.IntVar(&c.eng.SpecMaxSeqs, "spec-max-seqs", engine.DefaultSpecMaxSeqs, "draft only while at most this many sequences run")
	fs.IntVar(&c.eng.PredictionTokens, "prediction-tokens", engine.DefaultPredictionTokens, "the most drafts a step feeds from a request's prediction (OpenAI's predicted outputs)")
	addDraftFlags(fs, &c.draft)
	addLoRAFlags(fs, &c.lora)
	fs.Func("lora-modules", "per-request LoRA adapters, NAME=FILE[,NAME=FILE...] (vLLM's flag): a request whose \"model\" is NAME runs with FILE's adapter; repeatable", func(v string) error {
		for _, kv := range strings.Split(v, ",") {
			name, path, ok := strings.Cut(strings.TrimSpace(kv), "=")
			if !ok || name == "" || path == "" {
				return fmt.Errorf("want NAME=FILE, got %q", kv)
			}
			c.lora = append(c.lora, model.LoRA{Path: path, Scale: 1, Name: name})
		}
		return nil
	})
	fs.Func("embedding-model", "serve an embedding model or a reranker beside --model, as [NAME=]MODEL (repeatable; MODEL a GGUF file or a name --model takes, NAME by default the file's name without .gguf, or that name): /v1/embeddings, /v1/rerank, /score and the other APIs' embedding routes take it by NAME, and by no name where --model serves neither", func(v string) error {
		name, path, ok := strings.Cut(v, "=")
		if !ok {
			name, path = "", v
		}
		if (ok && name == "") || path == "" {
			return fmt.Errorf("want [NAME=]MODEL, got %q", v)
		}
		c.poolingModels = append(c.poolingModels, poolingModelFlag{name: name, path: path})
		return nil
	})
	fs.BoolVar(&c.modelSampling, "model-sampling", true, "requests' unset sampling fields take the settings the model recommends (its general.sampling.* metadata, as llama-server does) before llama.cpp's defaults")
	genMode := fs.String("generation-config", "auto", "vLLM's flag: auto takes the model's recommended sampling (as --model-sampling), vllm leaves it out")
	genOverride := fs.String("override-generation-config", "", "vLLM's flag: sampling defaults as JSON, e.g. {\"temperature\": 0.6, \"top_p\": 0.95, \"max_new_tokens\": 2048} (temperature, top_k, top_p, min_p, repetition_penalty, presence_penalty, frequency_penalty; max_new_tokens as --n-predict)")
	c.sampling = addSamplingFlags(fs, sample.DefaultParams(), ", for requests that give none (llama-server's flag; over the model's recommended setting)")
	fs.IntVar(&c.maxReplyTokens, "n-predict", -1, "the most tokens a reply may generate: a request asking for more, or for no limit, gets this many (llama-server's flag; -1: up to the context)")
	fs.IntVar(&c.maxReplyTokens, "n", -1, "alias of --n-predict (llama-server)")
	fs.BoolVar(&c.allowLoRAUpdates, "allow-lora-updates", false, "open POST /v1/load_lora_adapter and /v1/unload_lora_adapter (vLLM's routes; VLLM_ALLOW_RUNTIME_LORA_UPDATING=true opens them too): clients may load any adapter file the server can read")
	for _, n := range []string{"ssl-certfile", "ssl-cert-file"} {
		fs.StringVar(&c.sslCert, n, "", "serve HTTPS with this PEM certificate (chain) file, with --ssl-keyfile; reloaded when it changes (vLLM's flag; llama.cpp's --ssl-cert-file)")
	}
	for _, n := range []string{"ssl-keyfile", "ssl-key-file"} {
		fs.StringVar(&c.sslKey, n, "", "the PEM private key of --ssl-certfile (vLLM's flag; llama.cpp's --ssl-key-file)")
	}
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&c.logFormat, "log-format", "json", "log format: json or console")
	addDeviceFlags(fs, &c.device)
	llama := addLlamaServerFlags(fs, c)
	vllm := addVLLMFlags(fs)
	addCompatFlags(fs, c)
	if more != nil {
		more(fs)
	}
	ignored, err := llamaEnvDefaults(fs, os.Environ())
	if err != nil {
		fmt.Fprintf(stderr, "nuri %s: %v\n", name, err)
		return nil, errUsage
	}
	c.llamaEnvIgnored = ignored
	if err := envDefaults(fs); err != nil {
		fmt.Fprintln(stderr, err)
		return nil, errUsage
	}
	// nuri serve MODEL.gguf [flags], as vllm serve MODEL: the flag package
	// stops at the first argument that is not a flag, so take it first.
	positional := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		positional, args = args[0], args[1:]
	}
	// A model named in the environment gives way to one on the command
	// line, positional or --model.
	envModel := c.model
	c.model = ""
	if err := fs.Parse(bareOnOff(args)); err != nil {
		return nil, flagsError(err)
	}
	if c.model == "" && positional == "" {
		c.model = envModel
	}
	c.given = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { c.given[f.Name] = true })
	if v := strings.ToLower(strings.TrimSpace(os.Getenv("VLLM_ALLOW_RUNTIME_LORA_UPDATING"))); v == "1" || v == "true" {
		c.allowLoRAUpdates = true // a vLLM deployment's setting carries over
	}
	fail := func(format string, a ...any) (*serveConfig, error) {
		return nil, usageError(fs, stderr, format, a...)
	}
	if fs.NArg() > 0 {
		return fail("unexpected arguments %q", fs.Args())
	}
	if positional != "" {
		if c.model != "" && c.model != positional {
			return fail("the model is given twice: %s and --model %s", positional, c.model)
		}
		c.model = positional
	}
	if *host != "" || *port != 0 {
		h, p, err := net.SplitHostPort(c.addr)
		if err != nil {
			return fail("--addr %q: %v", c.addr, err)
		}
		if *port < 0 || *port > 65535 {
			return fail("--port %d is not a TCP port", *port)
		}
		if *host != "" {
			h = *host
		}
		if *port != 0 {
			p = strconv.Itoa(*port)
		}
		c.addr = net.JoinHostPort(h, p)
	}
	if c.model == "" {
		return fail("--model is required")
	}
	if *apiKey != "" && *apiKeyFile != "" {
		return fail("give --api-key or --api-key-file, not both")
	}
	// Several keys after commas, as llama-server takes them (no key
	// holds a comma).
	for _, k := range strings.Split(*apiKey, ",") {
		if k = strings.TrimSpace(k); k != "" {
			c.apiKeys = append(c.apiKeys, k)
		}
	}
	if *apiKeyFile != "" {
		keys, err := readKeys(*apiKeyFile)
		if err != nil {
			return fail("%v", err)
		}
		c.apiKeys = keys
	}
	for _, o := range strings.Split(*cors, ",") {
		if o = strings.TrimSpace(o); o != "" {
			c.corsOrigins = append(c.corsOrigins, o)
		}
	}
	names := strings.Split(c.alias, ",")
	c.alias = ""
	for _, n := range names {
		switch n = strings.TrimSpace(n); {
		case n == "":
		case c.alias == "":
			c.alias = n
		default:
			c.aliases = append(c.aliases, n)
		}
	}
	if c.alias == "" {
		c.alias = gguf.ModelName(c.model)
	}
	if c.maxBody <= 0 || c.maxUpload <= 0 || c.threads <= 0 || c.nCtx < 0 || *kvMiB < 0 || c.drain < 0 || c.readTimeout <= 0 || c.idleTimeout <= 0 || c.filesMiB < 0 {
		return fail("--max-body-bytes, --max-upload-bytes, --threads, --read-timeout and --idle-timeout must be positive; --ctx-size, --kv-cache-mib, --shutdown-timeout and --files-store-mib not negative")
	}
	if c.storedResponses < 0 || c.storedResponseMiB <= 0 {
		return fail("--responses-store must not be negative and --responses-store-mib must be positive")
	}
	if c.filesDir != "" && c.filesMiB == 0 {
		return fail("--files-store-dir keeps the Files API's files, which --files-store-mib 0 turns off: give one or the other")
	}
	if c.chatTemplate != "" && c.chatFmt != "" {
		return fail("give --chat-template-file or --chat-format, not both")
	}
	if *toolParser != "auto" {
		f, err := chat.ParseToolFormat(*toolParser)
		if err != nil {
			return fail("--tool-parser: %v", err)
		}
		c.toolParser = f
	}
	if c.pooling != "" {
		if _, err := engine.ParsePooling(c.pooling); err != nil {
			return fail("--pooling: %v", err)
		}
		if !c.embeddings {
			return fail("--pooling needs --embeddings")
		}
	}
	if c.thinkBudget < -1 {
		return fail("--reasoning-budget must be -1 (no limit) or more, got %d", c.thinkBudget)
	}
	if c.reasoning, err = parseReasoningParser(*reasoning); err != nil {
		return fail("%v", err)
	}
	if c.device.name == "" {
		return fail("--device must name a device (cpu, cuda:N, npu:N)")
	}
	if (c.sslCert == "") != (c.sslKey == "") {
		return fail("give --ssl-certfile and --ssl-keyfile together")
	}
	if p := c.eng.SchedulingPolicy; p != engine.PolicyFCFS && p != engine.PolicyPriority {
		return fail("--scheduling-policy must be %s or %s, got %q", engine.PolicyFCFS, engine.PolicyPriority, p)
	}
	if _, err := c.device.kernelSet(); err != nil {
		return fail("%v", err)
	}
	if err := c.draft.check(c.eng.SpecTokens); err != nil {
		return fail("%v", err)
	}
	if err := llama.settle(c, c.given); err != nil {
		return fail("%v", err)
	}
	notes, err := vllm.settle(c, c.given)
	if err != nil {
		return fail("%v", err)
	}
	c.startNotes = append(c.startNotes, notes...)
	if err := c.requestDefaults(fs, *genMode, *genOverride); err != nil {
		return fail("%v", err)
	}
	c.eng.KVCacheMemory = *kvMiB << 20
	c.eng.NCtx = c.nCtx
	return c, nil
}

// requestDefaults settles what requests that leave a setting out get: the
// sampler flags given, vLLM's --generation-config and
// --override-generation-config, and --n-predict.
func (c *serveConfig) requestDefaults(fs *flag.FlagSet, genMode, genOverride string) error {
	if c.given["generation-config"] {
		ms, err := generationConfigMode(genMode)
		if err != nil {
			return fmt.Errorf("--generation-config: %w", err)
		}
		if c.given["model-sampling"] && ms != c.modelSampling {
			return fmt.Errorf("--generation-config %s and --model-sampling=%t disagree; give one", genMode, c.modelSampling)
		}
		c.modelSampling = ms
	}
	if genOverride != "" {
		g, unused, err := parseGenerationConfig(genOverride)
		if err != nil {
			return fmt.Errorf("--override-generation-config: %w", err)
		}
		if err := g.apply(fs, c.given); err != nil {
			return fmt.Errorf("--override-generation-config: %w", err)
		}
		if g.maxNew > 0 {
			if c.maxReplyTokens > 0 && c.maxReplyTokens != g.maxNew {
				return fmt.Errorf("--n-predict %d and --override-generation-config's max_new_tokens %d disagree; give one", c.maxReplyTokens, g.maxNew)
			}
			c.maxReplyTokens = g.maxNew
		}
		c.genConfigUnused = unused
	}
	switch {
	case c.maxReplyTokens == 0 || c.maxReplyTokens < -2:
		return fmt.Errorf("--n-predict must be positive, or -1 (up to the context), got %d", c.maxReplyTokens)
	case c.maxReplyTokens < 0:
		c.maxReplyTokens = 0
	}
	p := sample.DefaultParams()
	if _, err := c.sampling.overlay(&p, flagSet(c.given)); err != nil {
		return fmt.Errorf("sampling flags: %w", err)
	}
	return nil
}

// loraModules lists the named adapters of lora in the model's order of
// their ids, for the server to route "model" names to.
func loraModules(lora []model.LoRA) []server.LoRAModule {
	var mods []server.LoRAModule
	for _, l := range lora {
		if l.Name != "" {
			mods = append(mods, server.LoRAModule{Name: l.Name, Path: l.Path})
		}
	}
	return mods
}

// loraAdapters lists the adapters of lora applied to every request (the
// unnamed ones, --lora and --lora-scaled), in order.
func loraAdapters(lora []model.LoRA) []server.LoRAAdapter {
	var out []server.LoRAAdapter
	for _, l := range lora {
		if l.Name == "" {
			out = append(out, server.LoRAAdapter{Path: l.Path, Scale: l.Scale})
		}
	}
	return out
}

// envDefaults sets each flag from NURI_<NAME> (dashes as underscores)
// when that variable is set; command-line flags still win.
func envDefaults(fs *flag.FlagSet) error {
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		key := "NURI_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(key); ok && err == nil {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("nuri serve: %s=%q: %v", key, v, e)
			}
		}
	})
	return err
}

func readKeys(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read API key file: %w", err)
	}
	var keys []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			keys = append(keys, l)
		}
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("API key file %s holds no key", path)
	}
	return keys, nil
}

func serveLogger(level, format string, w io.Writer) (*zap.Logger, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, fmt.Errorf("log level: %w", err)
	}
	ec := zap.NewProductionEncoderConfig()
	ec.EncodeTime = zapcore.ISO8601TimeEncoder
	var enc zapcore.Encoder
	switch format {
	case "json":
		enc = zapcore.NewJSONEncoder(ec)
	case "console":
		enc = zapcore.NewConsoleEncoder(ec)
	default:
		return nil, fmt.Errorf("log format %q: want json or console", format)
	}
	return zap.New(zapcore.NewCore(enc, zapcore.Lock(zapcore.AddSync(w)), lvl)), nil
}

func runServe(args []string, stdout, stderr io.Writer) error {
	c, err := parseServe(args, stderr)
	if err != nil {
		return err
	}
	log, closeLog, err := c.logger(stderr)
	if err != nil {
		return err
	}
	defer closeLog()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return serveModel(ctx, c, log, stdout, nil)
}

// logger is serve's log to stderr, and to --log-file too when given
// (appended to, created if need be); closeLog flushes and closes it.
func (c *serveConfig) logger(stderr io.Writer) (log *zap.Logger, closeLog func(), err error) {
	w := stderr
	var f *os.File
	if c.logFile != "" {
		if f, err = os.OpenFile(c.logFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644); err != nil {
			return nil, nil, fmt.Errorf("--log-file: %w", err)
		}
		w = io.MultiWriter(stderr, f)
	}
	if log, err = serveLogger(c.logLevel, c.logFormat, w); err != nil {
		if f != nil {
			f.Close()
		}
		return nil, nil, err
	}
	return log, func() {
		_ = log.Sync()
		if f != nil {
			f.Close()
		}
	}, nil
}

// serveModel runs the server until ctx is cancelled (a signal), then drains
// and returns nil. ready, when not nil, receives the bound address once
// the model is loaded (tests use it).
func serveModel(ctx context.Context, c *serveConfig, log *zap.Logger, stdout io.Writer, ready chan<- string) error {
	// A model that cannot be opened fails here, before the port is bound
	// and "listening" logged: loading itself runs after listening (so
	// /health can say "loading"), and its error would follow a line that
	// looked like success.
	if err := c.resolveModel(log); err != nil {
		return err
	}
	for i, pm := range c.poolingModels {
		path, err := modelFile(pm.path)
		if err != nil {
			return fmt.Errorf("--embedding-model: %w", err)
		}
		if pm.name == "" {
			pm.name = pm.path // a name Ollama or Hugging Face's cache knows it by
			if path == pm.path {
				pm.name = gguf.ModelName(path)
			}
		}
		pm.path = path
		c.poolingModels[i] = pm
	}
	f, err := os.Open(c.model)
	if err != nil {
		return fmt.Errorf("model: %w", err)
	}
	_ = f.Close() // only opened to check it can be read
	srv, err := newServer(c, log)
	if err != nil {
		return err
	}
	var certs *certReloader
	if c.sslCert != "" {
		if certs, err = newCertReloader(c.sslCert, c.sslKey, log); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", c.addr, err)
	}
	serveErr := make(chan error, 1)
	go func() { // /health says "loading" meanwhile
		if certs != nil {
			serveErr <- srv.ServeTLS(ln, certs.tlsConfig())
			return
		}
		serveErr <- srv.Serve(ln)
	}()
	addr := ln.Addr().String()
	log.Info("listening", zap.String("addr", addr), zap.String("model", c.model), zap.Bool("tls", certs != nil))
	if c.allowLoRAUpdates {
		log.Warn("LoRA adapters may be loaded and unloaded over HTTP (POST /v1/load_lora_adapter, /v1/unload_lora_adapter): any client with access may make the server read a file it names")
	}

	for _, pm := range c.poolingModels {
		pb, closePooling, err := loadPoolingBackend(c, pm, log)
		if err == nil {
			if err = srv.AddPoolingBackend(pm.name, pb); err != nil {
				closePooling()
			}
		}
		if err != nil {
			_ = srv.Shutdown(context.Background())
			return fmt.Errorf("--embedding-model %s: %w", pm.path, err)
		}
		defer closePooling()
	}
	be, closeBackend, err := loadBackend(ctx, c, srv.Metrics(), log)
	if err != nil {
		_ = srv.Shutdown(context.Background())
		return err
	}
	defer closeBackend()
	if err := srv.SetBackend(be); err != nil {
		_ = srv.Shutdown(context.Background())
		return err
	}
	printWelcome(stdout, addr, c)
	if ready != nil {
		ready <- addr
	}
	select {
	case <-ctx.Done():
		log.Info("shutting down", zap.Duration("timeout", c.drain))
	case err := <-serveErr:
		if err != nil {
			return fmt.Errorf("serve: %w", err)
		}
	}
	dctx, cancel := context.WithTimeout(context.Background(), c.drain)
	defer cancel()
	if err := srv.Shutdown(dctx); err != nil {
		log.Warn("drain cut short; remaining streams were cancelled", zap.Error(err))
	}
	log.Info("stopped")
	return nil
}

// filesBytes is server.Config.FilesBytes for --files-store-mib.
func filesBytes(mib int) int {
	if mib == 0 {
		return -1
	}
	return mib << 20
}

// newServer is the server the flags in c describe, without a backend.
func newServer(c *serveConfig, log *zap.Logger) (*server.Server, error) {
	return server.New(server.Config{
		ModelName: c.alias, AcceptModels: []string{filepath.Base(c.model), c.model}, Aliases: c.aliases, Version: buildVersion(),
		APIKeys: c.apiKeys, CORSOrigins: c.corsOrigins, MaxBodyBytes: c.maxBody, MaxUploadBytes: c.maxUpload, Logger: log,
		StoredResponses: storedCount(c.storedResponses), StoredResponseBytes: c.storedResponseMiB << 20, StoredResponsesDir: c.storedResponsesDir,
		LoRAModules: loraModules(c.lora), LoRAAdapters: loraAdapters(c.lora), AllowLoRAUpdates: c.allowLoRAUpdates, MaxReplyTokens: c.maxReplyTokens,
		NoSlots: c.noSlots, ReadTimeout: c.readTimeout, IdleTimeout: c.idleTimeout, FilesBytes: filesBytes(c.filesMiB), FilesDir: c.filesDir,
	})
}

// loadBackend loads the model and tokenizer, picks the chat renderer and
// starts the scheduler loop. The returned func stops and frees all of it.
func loadBackend(ctx context.Context, c *serveConfig, obs engine.Observer, log *zap.Logger) (*server.Backend, func(), error) {
	tok, err := loadTokenizer(c.model, c.normalization)
	if err != nil {
		return nil, nil, err
	}
	renderer, err := chatRenderer(c, tok.ChatTemplate(), log)
	if err != nil {
		return nil, nil, err
	}
	// One look at the file's metadata for the listings and the sampling
	// defaults (the model and tokenizer loads map it on their own).
	f, err := gguf.Open(c.model)
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", c.model, err)
	}
	mi := modelInfo(c.model, f)
	rerankTemplate, _ := f.String("tokenizer.chat_template.rerank")
	var sampling *sample.Params
	p := sample.DefaultParams()
	if c.modelSampling {
		if applied := applySampling(&p, modelSampling(f, log), flagSet(c.given)); len(applied) > 0 {
			log.Info("request defaults: sampling the model recommends", applied...)
			sampling = &p
		}
	}
	for _, n := range c.startNotes {
		log.Info("flag taken as Nuri has it", zap.String("note", n))
	}
	for _, n := range c.startWarnings {
		log.Warn("flag taken, but what it asks for is not done", zap.String("note", n))
	}
	if len(c.llamaEnvIgnored) > 0 {
		log.Warn("llama.cpp's environment variables that Nuri has no setting for; left out", zap.Strings("variables", c.llamaEnvIgnored))
	}
	if len(c.genConfigUnused) > 0 {
		log.Info("--override-generation-config: keys Nuri has no sampler for; left out", zap.Strings("keys", c.genConfigUnused))
	}
	given, err := c.sampling.overlay(&p, flagSet(c.given))
	if err != nil {
		return nil, nil, errors.Join(fmt.Errorf("sampling flags: %w", err), f.Close())
	}
	if len(given) > 0 {
		log.Info("request defaults: sampling flags", given...)
		sampling = &p
	}
	if err := f.Close(); err != nil {
		return nil, nil, fmt.Errorf("close %s: %w", c.model, err)
	}
	m, dev, closeTarget, err := loadOnDevice(c.model, c.device, c.threads, c.nCtx, c.lora, log)
	if err != nil {
		return nil, nil, err
	}
	ec := c.eng
	ec.Observer = obs
	ec.Device = dev
	closeDraft, err := c.draft.apply(&ec, tok, dev, c.threads, targetCtx(m, c.nCtx), log)
	if err != nil {
		return nil, nil, errors.Join(err, closeTarget())
	}
	closeModel := func() error { return errors.Join(closeDraft(), closeTarget()) }
	eng, err := engine.New(ec, m, tok, log)
	if err != nil {
		return nil, nil, errors.Join(err, closeModel())
	}
	if c.mlock {
		lockMemory(log)
	}
	if mt, ok := obs.(interface{ SetCacheInfo(map[string]string) }); ok {
		st := eng.Stats()
		info := map[string]string{
			"block_size": strconv.Itoa(ec.BlockSize), "num_gpu_blocks": strconv.Itoa(st.KVBlocks),
			"num_cpu_blocks": "0", "cache_dtype": eng.KVCacheTypes().String(), // "q8_0/q4_0" where K and V differ
			"enable_prefix_caching": strconv.FormatBool(!ec.DisablePrefixCaching),
		}
		if st.KVWindowBlocks > 0 {
			info["num_window_blocks"] = strconv.Itoa(st.KVWindowBlocks)
		}
		mt.SetCacheInfo(info)
	}
	loopCtx, stopLoop := context.WithCancel(context.Background())
	loopDone := make(chan struct{})
	go func() {
		defer close(loopDone)
		if err := eng.Run(loopCtx); err != nil && !errors.Is(err, context.Canceled) {
			log.Error("scheduler loop stopped", zap.Error(err))
		}
	}()
	var emb *engine.Embedder
	var rr *engine.Reranker
	closePooling := func() {
		if emb != nil {
			if err := emb.Close(); err != nil {
				log.Warn("close embedder", zap.Error(err))
			}
		}
		if rr != nil {
			if err := rr.Close(); err != nil {
				log.Warn("close reranker", zap.Error(err))
			}
		}
	}
	// An encoder serves what it is for without a flag: a cross-encoder
	// (a classification head) reranking, any other embeddings.
	if c.encoder = m.Config().Encoder; c.encoder && !c.embeddings && !c.reranking {
		if c.reranking, err = classifies(m); err != nil {
			err = fmt.Errorf("reranking: %w", err)
		}
		c.embeddings = !c.reranking
		log.Info("an encoder model", zap.String("arch", m.Config().Arch), zap.Bool("embeddings", c.embeddings), zap.Bool("reranking", c.reranking))
	}
	if err == nil && c.embeddings {
		emb, err = newEmbedder(c, c.model, c.pooling, c.eng.NCtx, m, dev, log)
	}
	if err == nil && c.reranking {
		rr, err = newReranker(c, c.eng.NCtx, m, tok, dev, log)
	}
	if err != nil {
		eng.Close()
		stopLoop()
		<-loopDone
		closePooling()
		return nil, nil, errors.Join(err, closeModel())
	}
	closeAll := func() {
		eng.Close()
		stopLoop()
		<-loopDone
		closePooling()
		if err := closeModel(); err != nil {
			log.Warn("close model", zap.Error(err))
		}
	}
	mi.Path, mi.ChatTemplate, mi.Slots = c.model, renderer.Source(), ec.MaxNumSeqs
	if mi.Slots <= 0 {
		mi.Slots = engine.DefaultMaxNumSeqs
	}
	b := &server.Backend{Engine: server.EngineAdapter{E: eng}, Tokenizer: tok, Chat: renderer,
		ToolFormat: c.toolParser, FreeToolCalls: c.freeToolCalls, CompactJSON: c.compactJSON, Reasoning: c.reasoning, Gauges: joinGauges(deviceGauges(dev, log), kernelFormGauges(dev)),
		ThinkingBudget: thinkingBudget(c.thinkBudget), ThinkingBudgetMessage: c.thinkBudgetMessage,
		TemplateKwargs: c.templateKwargs, Sampling: sampling, Model: mi}
	if emb != nil {
		b.Embedder = emb
	}
	if rr != nil {
		b.Reranker, b.RerankTemplate = rr, rerankTemplate
	}
	return b, closeAll, nil
}

// newReranker is --reranking's reranker: the file's classification head
// (a reranker converted by llama.cpp), else the language-model head's rows
// of the answers "yes" and "no" (Qwen3-Reranker shipped as a plain model).
func newReranker(c *serveConfig, nCtx int, m model.Model, tok *tokenizer.Tokenizer, dev backends.Device, log *zap.Logger) (*engine.Reranker, error) {
	var answers []int32
	yes, okYes := tok.TokenID("yes")
	no, okNo := tok.TokenID("no")
	if okYes && okNo {
		answers = []int32{yes, no}
	}
	head, fromFile, err := engine.RerankHead(m, answers)
	if err != nil {
		return nil, fmt.Errorf("reranking: %w", err)
	}
	r, err := engine.NewReranker(m, engine.EmbedderConfig{NCtx: nCtx, KVCacheType: c.eng.KVCacheType,
		KVCacheTypeV: c.eng.KVCacheTypeV, BatchTokens: c.eng.MaxNumBatchedTokens, MaxQueued: c.eng.MaxQueuedRequests, Device: dev}, head)
	if err != nil {
		return nil, fmt.Errorf("reranking: %w", err)
	}
	from := "the file's classification head"
	if !fromFile {
		from = "the answers yes and no"
	}
	log.Info("reranking", zap.String("scores_from", from), zap.Strings("labels", head.Labels), zap.Int("max_tokens", r.MaxTokens()))
	return r, nil
}

// newEmbedder is --embeddings' embedder: its pooling is --pooling, else
// the GGUF's pooling_type (llama.cpp's numbers), else the last token's.
func newEmbedder(c *serveConfig, path, poolingFlag string, nCtx int, m model.Model, dev backends.Device, log *zap.Logger) (*engine.Embedder, error) {
	pooling, err := poolingFor(path, poolingFlag, log)
	if err != nil {
		return nil, err
	}
	e, err := engine.NewEmbedder(m, engine.EmbedderConfig{NCtx: nCtx, KVCacheType: c.eng.KVCacheType,
		KVCacheTypeV: c.eng.KVCacheTypeV, Pooling: pooling, BatchTokens: c.eng.MaxNumBatchedTokens, MaxQueued: c.eng.MaxQueuedRequests, Device: dev})
	if err != nil {
		return nil, fmt.Errorf("embeddings: %w", err)
	}
	log.Info("embeddings", zap.String("pooling", string(pooling)), zap.Int("dim", e.Dim()))
	return e, nil
}

// poolingFor is an embedding's pooling: flag when set, else the GGUF's
// pooling_type (llama.cpp's numbers: 1 mean, 2 cls, 3 last; 4, a
// reranker's rank pooling, reads the first token as cls does), else the
// last token's.
func poolingFor(path, flag string, log *zap.Logger) (engine.Pooling, error) {
	if flag != "" {
		return engine.ParsePooling(flag)
	}
	f, err := gguf.Open(path)
	if err != nil {
		return "", err
	}
	pooling := engine.PoolLast
	if n, ok := f.Int(f.Arch() + ".pooling_type"); ok {
		switch n {
		case 1:
			pooling = engine.PoolMean
		case 2, ggufPoolingRank:
			pooling = engine.PoolCLS
		case 3:
			pooling = engine.PoolLast
		default:
			log.Warn("GGUF pooling_type not supported; pooling the last token", zap.Int("pooling_type", n))
		}
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("close %s: %w", path, err)
	}
	return pooling, nil
}

func chatRenderer(c *serveConfig, ggufTemplate string, log *zap.Logger) (*chat.Renderer, error) {
	switch {
	case c.chatFmt != "":
		return chat.NewBuiltin(c.chatFmt)
	case c.chatTemplateText != "":
		ggufTemplate = c.chatTemplateText
	case c.chatTemplate != "":
		b, err := os.ReadFile(c.chatTemplate)
		if err != nil {
			return nil, fmt.Errorf("read chat template: %w", err)
		}
		ggufTemplate = string(b)
	}
	r, err := chat.New(ggufTemplate)
	if err != nil {
		return nil, fmt.Errorf("chat template: %w (choose one with --chat-format)", err)
	}
	if why := r.FallbackReason(); why != nil {
		log.Warn("chat template does not parse; using a built-in format", zap.String("format", r.Kind()), zap.Error(why))
	} else {
		tools := r.ToolFormat()
		if c.toolParser != "" {
			tools = c.toolParser
		}
		log.Info("chat template", zap.String("renderer", r.Kind()), zap.Bool("renders_tools", r.RendersTools()), zap.String("tool_calls", string(tools)),
			zap.Bool("splits_thinking", c.reasoning == server.ReasoningThink || c.reasoning == server.ReasoningAuto && r.ShowsThinking()))
	}
	return r, nil
}

// printWelcome tells a person where the server is and how to call it.
func printWelcome(w io.Writer, addr string, c *serveConfig) {
	host, port, err := net.SplitHostPort(addr)
	if err == nil && (host == "" || host == "::" || host == "0.0.0.0") {
		addr = net.JoinHostPort("127.0.0.1", port)
	}
	url := "http://" + addr
	if c.sslCert != "" {
		url = "https://" + addr
	}
	auth := ""
	if len(c.apiKeys) > 0 {
		auth = ` -H "Authorization: Bearer $NURI_API_KEY"`
	}
	fmt.Fprintf(w, "누리 서버가 준비되었습니다: %s/v1 (모델: %s)\n", url, c.alias)
	fmt.Fprintf(w, "상태 확인: curl %s/health\n", url)
	if c.encoder && c.reranking {
		fmt.Fprintf(w, "리랭킹 예시:\n  curl %s/v1/rerank -H 'Content-Type: application/json'%s \\\n    -d '{\"model\": \"%s\", \"query\": \"한국의 수도는?\", \"documents\": [\"서울은 한국의 수도입니다.\", \"부산은 항구 도시입니다.\"]}'\n",
			url, auth, c.alias)
	} else if c.encoder {
		fmt.Fprintf(w, "임베딩 예시:\n  curl %s/v1/embeddings -H 'Content-Type: application/json'%s \\\n    -d '{\"model\": \"%s\", \"input\": \"안녕하세요\"}'\n",
			url, auth, c.alias)
	} else {
		fmt.Fprintf(w, "채팅 예시:\n  curl %s/v1/chat/completions -H 'Content-Type: application/json'%s \\\n    -d '{\"model\": \"%s\", \"messages\": [{\"role\": \"user\", \"content\": \"안녕하세요\"}], \"max_tokens\": 64}'\n",
			url, auth, c.alias)
	}
	for _, pm := range c.poolingModels {
		fmt.Fprintf(w, "함께 서비스하는 임베딩/리랭킹 모델: %s (%s)\n", pm.name, pm.path)
	}
	fmt.Fprintln(w, "종료하려면 Ctrl+C 를 누르세요.")
}

// storedCount is --responses-store as server.Config takes it: 0 keeps
// none (the config's -1; its 0 is the default).
func storedCount(n int) int {
	if n == 0 {
		return -1
	}
	return n
}

// thinkingBudget is --reasoning-budget for the server: nil for none (-1).
func thinkingBudget(n int) *int {
	if n < 0 {
		return nil
	}
	return &n
}

// ggufPoolingRank is llama.cpp's rank pooling_type, a reranker's.
const ggufPoolingRank = 4

// classifies reports whether m has a classification head (a cross-encoder
// converted by llama.cpp), which reranks.
func classifies(m model.Model) (bool, error) {
	h, ok := m.(model.Heads)
	if !ok {
		return false, nil
	}
	_, cls, err := h.ClassifierHead()
	return cls, err
}

// poolingModelFlag is one --embedding-model: a model served as name.
type poolingModelFlag struct{ name, path string }

// loadPoolingBackend loads an --embedding-model on --device with
// --threads: a reranker where the file has a classification head or its
// pooling_type is llama.cpp's rank (4), else an embedder pooling as its
// pooling_type says; its longest input is its own context. The returned
// func frees it.
func loadPoolingBackend(c *serveConfig, pm poolingModelFlag, log *zap.Logger) (*server.Backend, func(), error) {
	log = log.With(zap.String("embedding_model", pm.name))
	tok, err := loadTokenizer(pm.path, c.normalization)
	if err != nil {
		return nil, nil, err
	}
	f, err := gguf.Open(pm.path)
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", pm.path, err)
	}
	mi := modelInfo(pm.path, f)
	mi.Path = pm.path
	rerankTemplate, _ := f.String("tokenizer.chat_template.rerank")
	poolingType, _ := f.Int(f.Arch() + ".pooling_type")
	if err := f.Close(); err != nil {
		return nil, nil, fmt.Errorf("close %s: %w", pm.path, err)
	}
	m, dev, closeModel, err := loadOnDevice(pm.path, c.device, c.threads, 0, nil, log)
	if err != nil {
		return nil, nil, err
	}
	cls, err := classifies(m)
	if err != nil {
		return nil, nil, errors.Join(err, closeModel())
	}
	rerank := cls || poolingType == ggufPoolingRank
	b := &server.Backend{Tokenizer: tok, Model: mi}
	var closePooling func() error
	if rerank {
		r, err := newReranker(c, 0, m, tok, dev, log)
		if err != nil {
			return nil, nil, errors.Join(err, closeModel())
		}
		b.Reranker, b.RerankTemplate, closePooling = r, rerankTemplate, r.Close
	} else {
		e, err := newEmbedder(c, pm.path, "", 0, m, dev, log)
		if err != nil {
			return nil, nil, errors.Join(err, closeModel())
		}
		b.Embedder, closePooling = e, e.Close
	}
	log.Info("serving beside the model", zap.String("path", pm.path), zap.Bool("reranking", rerank))
	return b, func() {
		if err := errors.Join(closePooling(), closeModel()); err != nil {
			log.Warn("close embedding model", zap.Error(err))
		}
	}, nil
}
