package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nuri-ai/nuri/bench"
)

func init() {
	registerBench(command{name: "serve", summary: "load an OpenAI-compatible server; TTFT, TPOT, ITL, E2EL, throughput", run: runBenchServe})
}

// benchServeFlags are the parsed command line of `nuri bench serve`.
type benchServeFlags struct {
	cfg      bench.ServeConfig
	apiKey   string
	out      string
	label    string
	progress bool
}

func parseBenchServe(args []string, stderr io.Writer) (*benchServeFlags, error) {
	fs := flag.NewFlagSet("bench serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	f := &benchServeFlags{}
	c := &f.cfg
	fs.StringVar(&c.BaseURL, "base-url", "http://127.0.0.1:8080", "server base URL (with or without /v1)")
	fs.StringVar(&c.Model, "model", "", "model name to request (default: the first id of GET /v1/models)")
	fs.StringVar(&f.apiKey, "api-key", "", "bearer token (default: $OPENAI_API_KEY)")
	endpoint := fs.String("endpoint", "chat", "chat (/v1/chat/completions), completions (/v1/completions), responses (/v1/responses), messages (Anthropic's /v1/messages) or embeddings (/v1/embeddings: each prompt's text, latency and input tokens/s)")
	fs.StringVar(&c.Dataset, "dataset", "korean", "korean (built in), random, or a JSONL file")
	fs.IntVar(&c.NumPrompts, "num-prompts", 100, "requests per load level")
	conc := fs.String("concurrency", "", "closed-loop levels, comma-separated (e.g. 1,4,8,16); default 1")
	rates := fs.String("request-rate", "", "open-loop levels in requests/s, comma-separated (instead of --concurrency)")
	fs.Float64Var(&c.Burstiness, "burstiness", 1, "gamma shape of arrival gaps with --request-rate (1: Poisson)")
	fs.IntVar(&c.MaxConcurrency, "max-concurrency", 0, "cap on requests in flight with --request-rate (0: none)")
	fs.IntVar(&c.MaxTokens, "max-tokens", 0, "max_tokens for every request (0: each prompt's own)")
	fs.Float64Var(&c.Temperature, "temperature", 0, "sampling temperature sent with each request")
	fs.BoolVar(&c.IgnoreEOS, "ignore-eos", false, "send ignore_eos so servers that support it generate max_tokens")
	goodput := fs.String("goodput", "", "service-level objectives in ms, e.g. ttft:500,tpot:50,e2el:5000")
	fs.StringVar(&f.out, "out", "", "directory for results.json, report.md and report.html")
	fs.StringVar(&f.label, "label", "", "name of this run in reports and comparisons (default: model@host)")
	fs.Uint64Var(&c.Seed, "seed", 0, "seed for prompt order, random prompts and arrivals")
	timeout := fs.Duration("timeout", 5*time.Minute, "per-request timeout")
	fs.IntVar(&c.Warmup, "warmup", 0, "requests sent (and not measured) before the first level")
	fs.IntVar(&c.Random.InputLen, "random-input-len", 256, "random dataset: words per prompt (≈ tokens)")
	fs.IntVar(&c.Random.OutputLen, "random-output-len", 128, "random dataset: max_tokens per request")
	fs.Float64Var(&c.Random.RangeRatio, "random-range-ratio", 0, "random dataset: lengths vary by ± this fraction")
	fs.BoolVar(&f.progress, "progress", true, "report progress on stderr")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: nuri bench serve --base-url URL [--model NAME] --dataset korean|random|FILE.jsonl")
		fmt.Fprintln(stderr, "         --num-prompts N (--concurrency 1,4,8,16 | --request-rate R[,R…] [--burstiness B])")
		fmt.Fprintln(stderr, "         [--max-tokens M] [--goodput ttft:MS,tpot:MS] [--out DIR]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, flagsError(err)
	}
	usageErr := func(format string, a ...any) (*benchServeFlags, error) {
		return nil, usageError(fs, stderr, format, a...)
	}
	if fs.NArg() != 0 {
		return usageErr("unexpected argument %q", fs.Arg(0))
	}
	c.Endpoint = bench.Endpoint(*endpoint)
	c.Timeout = bench.Duration(*timeout)
	if err := setLoad(c, *conc, *rates, *goodput); err != nil {
		return usageErr("%v", err)
	}
	if _, err := bench.APIRoot(c.BaseURL); err != nil {
		return usageErr("%v", err)
	}
	switch c.Endpoint {
	case bench.EndpointChat, bench.EndpointCompletions, bench.EndpointResponses, bench.EndpointMessages, bench.EndpointEmbeddings:
	default:
		return usageErr("--endpoint %q: want chat, completions, responses, messages or embeddings", *endpoint)
	}
	if err := c.Validate(); err != nil {
		return usageErr("%v", err)
	}
	if f.apiKey == "" {
		f.apiKey = os.Getenv("OPENAI_API_KEY")
	}
	return f, nil
}

// setLoad reads the load-shape flags: concurrency levels or request rates
// (one or the other; concurrency 1 when neither) and goodput objectives.
func setLoad(c *bench.ServeConfig, conc, rates, goodput string) error {
	var err error
	if c.Goodput, err = bench.ParseGoodput(goodput); err != nil {
		return err
	}
	if rates != "" {
		if conc != "" {
			return fmt.Errorf("give --concurrency or --request-rate, not both (use --max-concurrency to cap a rate)")
		}
		if c.RequestRates, err = parseFloatList(rates); err != nil {
			return fmt.Errorf("--request-rate: %w", err)
		}
		return nil
	}
	if c.MaxConcurrency != 0 {
		return fmt.Errorf("--max-concurrency caps --request-rate; with --concurrency the level is the cap")
	}
	c.Burstiness = 0 // closed loop: no arrival process
	if conc == "" {
		conc = "1"
	}
	if c.Concurrency, err = parseIntList(conc); err != nil {
		return fmt.Errorf("--concurrency: %w", err)
	}
	return nil
}

func parseIntList(s string) ([]int, error) {
	var out []int
	for _, p := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive integer", p)
		}
		out = append(out, n)
	}
	return out, nil
}

func parseFloatList(s string) ([]float64, error) {
	var out []float64
	for _, p := range strings.Split(s, ",") {
		x, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || !(x > 0) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("%q is not a positive finite number", p)
		}
		out = append(out, x)
	}
	return out, nil
}

func runBenchServe(args []string, stdout, stderr io.Writer) error {
	f, err := parseBenchServe(args, stderr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return benchServe(ctx, f, args, stdout, stderr)
}

func benchServe(ctx context.Context, f *benchServeFlags, args []string, stdout, stderr io.Writer) error {
	cfg := f.cfg
	ds, err := bench.LoadDataset(cfg.Dataset, cfg.Random, cfg.NumPrompts, cfg.Seed)
	if err != nil {
		return err
	}
	prompts := bench.SamplePrompts(ds, cfg.NumPrompts, cfg.Seed)
	maxConns := cfg.MaxConcurrency
	for _, c := range cfg.Concurrency {
		maxConns = max(maxConns, c)
	}
	if maxConns == 0 {
		maxConns = 64 // open loop without a cap: a pool this size covers most runs
	}
	client, err := bench.NewClient(bench.ClientConfig{BaseURL: cfg.BaseURL, APIKey: f.apiKey, Model: cfg.Model,
		Endpoint: cfg.Endpoint, Temperature: cfg.Temperature, IgnoreEOS: cfg.IgnoreEOS, MaxConns: maxConns})
	if err != nil {
		return err
	}
	defer client.Close()

	env := bench.CaptureEnvironment(ctx, append([]string{"nuri", "bench", "serve"}, args...))
	env.Server = probeServer(ctx, client, cfg.BaseURL)
	if cfg.Model == "" && len(env.Server.ModelIDs) == 0 {
		// Carry on: llama-server ignores the name, and an unreachable server
		// still deserves a report of its failures.
		fmt.Fprintln(stderr, "warning: no --model given and the server listed none; requesting model \"\"")
	}
	if cfg.Model == "" && len(env.Server.ModelIDs) > 0 {
		cfg.Model = env.Server.ModelIDs[0]
		client, err = bench.NewClient(bench.ClientConfig{BaseURL: cfg.BaseURL, APIKey: f.apiKey, Model: cfg.Model,
			Endpoint: cfg.Endpoint, Temperature: cfg.Temperature, IgnoreEOS: cfg.IgnoreEOS, MaxConns: maxConns})
		if err != nil {
			return err
		}
		defer client.Close()
	}
	if env.Server.ModelsError != "" {
		fmt.Fprintf(stderr, "warning: %s\n", env.Server.ModelsError)
	}
	fmt.Fprintf(stdout, "nuri bench serve: %s, model %q, %s endpoint, %d prompts from %s per level\n",
		cfg.BaseURL, cfg.Model, cfg.Endpoint, cfg.NumPrompts, cfg.Dataset)

	var progressW io.Writer
	if f.progress {
		progressW = stderr
	}
	res, runErr := bench.RunServe(ctx, client, cfg, prompts, bench.ServeOptions{
		Progress:    progressW,
		Interactive: bench.IsTerminal(stderr),
		OnLevel: func(l bench.LevelResult) {
			fmt.Fprintln(stdout)
			_ = bench.WriteServeSummary(stdout, l) // stdout errors surface nowhere useful
		},
	})
	if res == nil {
		return runErr
	}
	rep := bench.BuildServeReport(env, cfg, res)
	rep.Label = f.label
	if rep.Label == "" {
		rep.Label = cfg.Model + "@" + hostOf(cfg.BaseURL)
	}
	if f.out != "" {
		if err := bench.WriteReports(f.out, rep); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "\nreports: %s/{%s,%s,%s}\n", f.out, bench.ResultsFile, bench.MarkdownFile, bench.HTMLFile)
	}
	if runErr != nil {
		return runErr
	}
	return allFailed(res)
}

// probeServer records GET /v1/models; failure is noted, not fatal, because
// the requests themselves will show what is wrong with the server.
func probeServer(ctx context.Context, c *bench.Client, base string) *bench.ServerInfo {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	info := &bench.ServerInfo{BaseURL: base}
	raw, ids, err := c.Models(ctx)
	if err != nil {
		info.ModelsError = err.Error()
		return info
	}
	info.Models, info.ModelIDs = raw, ids
	return info
}

// allFailed turns a run in which nothing succeeded into an error, after the
// reports are written, so scripts notice a dead server.
func allFailed(res *bench.ServeResults) error {
	failures := map[string]int{}
	for _, l := range res.Levels {
		if l.Summary.Completed > 0 {
			return nil
		}
		for k, n := range l.Summary.Failures {
			failures[k] += n
		}
	}
	keys := make([]string, 0, len(failures))
	for k := range failures {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s ×%d", k, failures[k])
	}
	return fmt.Errorf("every request failed (%s)", strings.Join(parts, ", "))
}

func hostOf(base string) string {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return base
	}
	return u.Host
}
