package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"

	"github.com/nuri-ai/nuri/bench"
	"github.com/nuri-ai/nuri/bench/inproc"
	"github.com/nuri-ai/nuri/kernels"
	"github.com/nuri-ai/nuri/model"
)

func init() {
	registerBench(command{name: "model", summary: "prompt-processing and generation t/s with the roofline (llama-bench columns)", run: runBenchModel})
}

// benchOutput is what the in-process benchmarks share on the command line:
// where results go and how progress is shown.
type benchOutput struct {
	json       bool
	out        string
	progress   bool
	cpuprofile string
}

func (o *benchOutput) flags(fs *flag.FlagSet) {
	fs.BoolVar(&o.json, "json", false, "print results.json to stdout instead of the tables")
	fs.StringVar(&o.out, "out", "", "directory for results.json, report.md and report.html")
	fs.BoolVar(&o.progress, "progress", true, "report progress on stderr")
	fs.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of the run to this file")
}

type benchModelFlags struct {
	cfg inproc.ModelConfig
	dev deviceFlags
	benchOutput
	// format is llama-bench's -o: md (the tables), or json, jsonl or csv
	// (its per-test records on stdout instead).
	format string
	// threads are -t's values when it lists more than one: a run each.
	threads []int
}

func parseBenchModel(args []string, stderr io.Writer) (*benchModelFlags, error) {
	fs := flag.NewFlagSet("bench model", flag.ContinueOnError)
	fs.SetOutput(stderr)
	f := &benchModelFlags{cfg: inproc.DefaultModelConfig()}
	c := &f.cfg
	fs.StringVar(&c.Model, "model", "", "GGUF model file (required)")
	fs.StringVar(&c.Model, "m", "", "alias of --model (llama-bench)")
	prompts, gens, depths := &tokenCounts{list: &c.Prompts}, &tokenCounts{list: &c.Gens}, &tokenCounts{list: &c.Depths}
	fs.Var(prompts, "p", "`list` of prompt tokens, a ppP test each (0: none), as llama-bench takes them: 128,512 or 128-512*2 or 64-256+64, or -p again")
	fs.Var(prompts, "n-prompt", "alias of -p")
	fs.Var(gens, "n", "`list` of generated tokens, a tgN test each (0: none), as -p; the first above 0 is also each batched run's")
	fs.Var(gens, "n-gen", "alias of -n")
	fs.Var(depths, "d", "`list` of depths, as -p: run the pp and tg tests after this many tokens already in the KV cache (llama-bench's -d; not the batched runs)")
	fs.Var(depths, "n-depth", "alias of -d")
	fs.IntVar(&c.Reps, "r", c.Reps, "repetitions of each test")
	fs.IntVar(&c.Reps, "repetitions", c.Reps, "alias of -r")
	threads := &tokenCounts{list: &f.threads}
	fs.Var(threads, "threads", "`list` of CPU thread counts, a run of every test each, as llama-bench's -t (default: one per physical core this process may use)")
	fs.Var(threads, "t", "alias of --threads")
	batch := fs.String("batch", "", "batched decode: sequence counts, e.g. 1,4,8,16 (each after a --batch-prompt prefill)")
	fs.IntVar(&c.BatchPrompt, "batch-prompt", c.BatchPrompt, "prompt tokens of each sequence in batched runs")
	fs.IntVar(&c.UBatch, "ubatch", c.UBatch, "most tokens per forward pass while prefilling (llama.cpp's n_ubatch)")
	fs.StringVar(&c.KVType, "kv-type", "f16", "KV cache type of K and V: "+model.KVCacheTypeNames()+" (-ctk and -ctv give them apart)")
	kvf := addKVTypeFlags(fs, "kv-type")
	fs.IntVar(&c.BlockSize, "kv-block", c.BlockSize, "KV cache block size (positions)")
	fs.IntVar(&c.BandwidthMiB, "bw-mib", c.BandwidthMiB, "buffer for the read-bandwidth measurement (MiB: 1024, or twice the last-level cache where that is larger)")
	fs.Uint64Var(&c.Seed, "seed", c.Seed, "seed for the random tokens")
	fs.BoolVar(&c.OpProfile, "op-profile", false, "time every backend op of the tg test and print where a decode step goes (a CPU matmul also the part that streams its weights)")
	fs.StringVar(&f.format, "o", "md", "stdout in llama-bench's form: md (the tables), json, jsonl or csv (its per-test records, for scripts that read llama-bench's; no batched runs)")
	fs.StringVar(&f.format, "output", "md", "alias of -o")
	addDeviceFlags(fs, &f.dev)
	f.benchOutput.flags(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: nuri bench model --model M [-p 512[,…]] [-n 128[,…]] [-d 0[,…]] [-r 5] [-t T[,…]]")
		fmt.Fprintln(stderr, "         [--batch 1,4,8,16] [--op-profile] [--device D] [-o md|json|jsonl|csv | --json] [--out DIR]")
		fmt.Fprintln(stderr, "\nllama-bench's pp/tg tests plus the memory roofline measured in the same run")
		fmt.Fprintln(stderr, "(host memory for the CPU, the device's own memory for a GPU such as cuda:0);")
		fmt.Fprintln(stderr, "--batch adds llama-batched-bench-style aggregate decode. NURI_KERNELS=avx2")
		fmt.Fprintln(stderr, "keeps to AVX2's kernels, NURI_KERNELS=generic forces the pure-Go ones.")
		fmt.Fprintln(stderr, "NURI_PACING=off or on fixes the single-row stream kernels' form (default auto:")
		fmt.Fprintln(stderr, "measured while the model runs; the report says what was chosen).")
		fmt.Fprintln(stderr, "NURI_PREFETCH=near or far fixes how far ahead they prefetch (default auto:")
		fmt.Fprintln(stderr, "measured too, starting near on AMD CPUs and far on the others).")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, flagsError(err)
	}
	usageErr := func(format string, a ...any) (*benchModelFlags, error) {
		return nil, usageError(fs, stderr, format, a...)
	}
	if fs.NArg() != 0 {
		return usageErr("unexpected argument %q", fs.Arg(0))
	}
	switch {
	case f.format != "md" && !slices.Contains(inproc.LlamaBenchFormats, f.format):
		return usageErr("-o %q: want md, %s", f.format, strings.Join(inproc.LlamaBenchFormats, ", "))
	case f.format != "md" && f.json:
		return usageErr("give --json (Nuri's results.json) or -o %s (llama-bench's records), not both", f.format)
	}
	if *batch != "" {
		bs, err := parseIntList(*batch)
		if err != nil {
			return usageErr("--batch: %v", err)
		}
		c.Batch = bs
	}
	switch {
	case slices.Contains(f.threads, 0):
		return usageErr("--threads %v: thread counts must be positive", f.threads)
	case len(f.threads) == 1:
		c.Threads, f.threads = f.threads[0], nil
	case len(f.threads) > 1 && (f.json || f.out != ""):
		return usageErr("--threads %v runs the model once a count: give one count with --json or --out (-o json keeps every run's records)", f.threads)
	case len(f.threads) > 1 && !inproc.IsCPU(f.dev.name):
		return usageErr("--threads %v: thread counts apply to the CPU only", f.threads)
	}
	c.Device = f.dev.name
	if inproc.IsCPU(c.Device) {
		c.Device = "cpu"
	}
	k, v, err := kvf.names(fs, "kv-type")
	if err != nil {
		return usageErr("%v", err)
	}
	c.KVType, c.KVTypeV = strings.ToUpper(k), ""
	if v != k {
		c.KVTypeV = strings.ToUpper(v)
	}
	if c.Kernels, err = envKernelSet(); err != nil { // the library never reads the environment
		return usageErr("%v", err)
	}
	if c.Pacing, err = envPacing(); err != nil {
		return usageErr("%v", err)
	}
	if c.Prefetch, err = envPrefetch(); err != nil {
		return usageErr("%v", err)
	}
	if c.Model == "" {
		return usageErr("--model is required")
	}
	if err := c.Validate(); err != nil {
		return usageErr("%v", err)
	}
	return f, nil
}

func runBenchModel(args []string, stdout, stderr io.Writer) error {
	f, err := parseBenchModel(args, stderr)
	if err != nil {
		return err
	}
	if f.cfg.Model, err = modelFile(f.cfg.Model); err != nil {
		return err
	}
	return f.measure("model", args, &f.cfg.Threads, stdout, stderr, func(ctx context.Context, env bench.Environment, opts inproc.RunOptions) (_ *bench.Report, _ func(io.Writer) error, err error) {
		if !inproc.IsCPU(f.cfg.Device) {
			dev, oerr := openDevice(f.cfg.Device, deviceOptions{threads: f.cfg.Threads, nvrtc: f.dev.nvrtc, cudaCache: f.dev.cudaCache})
			if oerr != nil {
				return nil, nil, oerr // the registry names the device and the reason
			}
			defer func() { err = errors.Join(err, closeDevice(dev)) }()
			opts.Device = dev
		}
		// One run a thread count (llama-bench's -t 1,2,4), each with its
		// own bandwidth probe on that many threads; one count is one run.
		counts := f.threads
		if len(counts) == 0 {
			counts = []int{f.cfg.Threads}
		}
		var runs []*inproc.ModelResults
		var records []inproc.LlamaBenchRecord
		for _, n := range counts {
			cfg := f.cfg
			cfg.Threads = n
			res, err := inproc.RunModel(ctx, cfg, opts)
			if err != nil {
				return nil, nil, err
			}
			runs = append(runs, res)
			records = append(records, inproc.LlamaBenchRecords(env, cfg, res)...)
		}
		text := func(w io.Writer) error {
			for i, res := range runs {
				if i > 0 {
					fmt.Fprintln(w)
				}
				if err := inproc.WriteModelText(w, res); err != nil {
					return err
				}
			}
			return nil
		}
		if f.format != "md" {
			text = func(w io.Writer) error { return inproc.WriteLlamaBench(w, f.format, records) }
		}
		return inproc.BuildModelReport(env, f.cfg, runs[0]), text, nil
	})
}

// measure is the body the in-process benchmarks share: Ctrl-C handling,
// the environment record, the default thread count, the CPU profile around
// the run, then the report in the chosen forms.
func (o *benchOutput) measure(name string, args []string, threads *int, stdout, stderr io.Writer,
	run func(context.Context, bench.Environment, inproc.RunOptions) (*bench.Report, func(io.Writer) error, error)) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	env := bench.CaptureEnvironment(ctx, append([]string{"nuri", "bench", name}, args...))
	if *threads == 0 {
		*threads = kernels.DefaultThreads()
	}
	stopProfile, err := startCPUProfile(o.cpuprofile)
	if err != nil {
		return err
	}
	r, text, err := run(ctx, env, o.runOptions(stderr))
	if perr := stopProfile(); err == nil {
		err = perr
	}
	if err != nil {
		return err
	}
	return o.emit(r, stdout, stderr, text)
}

func (o *benchOutput) runOptions(stderr io.Writer) inproc.RunOptions {
	if !o.progress {
		return inproc.RunOptions{}
	}
	return inproc.RunOptions{Progress: stderr, Interactive: bench.IsTerminal(stderr)}
}

// emit writes the reports (--out), then either the JSON (--json) or the
// text tables to stdout.
func (o *benchOutput) emit(r *bench.Report, stdout, stderr io.Writer, text func(io.Writer) error) error {
	if o.out != "" {
		if err := bench.WriteReports(o.out, r); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "reports written to %s\n", o.out)
	}
	if o.json {
		return bench.WriteJSON(stdout, r)
	}
	return text(stdout)
}

// startCPUProfile starts a CPU profile into path ("" : none) and returns
// the function that stops it and closes the file.
func startCPUProfile(path string) (func() error, error) {
	if path == "" {
		return func() error { return nil }, nil
	}
	fh, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(fh); err != nil {
		_ = fh.Close() // the start error is the one to report
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() error {
		pprof.StopCPUProfile()
		if err := fh.Close(); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		return nil
	}, nil
}

// tokenCounts is a flag of token counts given as llama-bench gives them:
// comma-separated values, each a number or a range first-last (every
// value), first-last+step or first-last*factor, and the flag given again
// adds to the list. The first use replaces the default.
type tokenCounts struct {
	list *[]int
	set  bool
}

func (f *tokenCounts) String() string {
	if f == nil || f.list == nil {
		return ""
	}
	s := make([]string, len(*f.list))
	for i, v := range *f.list {
		s[i] = strconv.Itoa(v)
	}
	return strings.Join(s, ",")
}

func (f *tokenCounts) Set(s string) error {
	vs, err := parseTokenCounts(s)
	if err != nil {
		return err
	}
	if !f.set {
		*f.list, f.set = nil, true
	}
	*f.list = append(*f.list, vs...)
	return nil
}

// maxRangeValues caps what one range expands to: a typo such as 1-100000
// should not start a hundred thousand tests.
const maxRangeValues = 64

// parseTokenCounts parses one flag value of tokenCounts.
func parseTokenCounts(s string) ([]int, error) {
	var out []int
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		first, rest, isRange := strings.Cut(item, "-")
		if !isRange {
			n, err := strconv.Atoi(item)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("%q is not a token count (a whole number ≥ 0)", item)
			}
			out = append(out, n)
			continue
		}
		last, step, op := rest, "1", byte('+')
		if i := strings.IndexAny(rest, "+*"); i >= 0 {
			last, step, op = rest[:i], rest[i+1:], rest[i]
		}
		lo, err1 := strconv.Atoi(first)
		hi, err2 := strconv.Atoi(last)
		by, err3 := strconv.Atoi(step)
		switch {
		case err1 != nil || err2 != nil || err3 != nil || lo < 0 || hi < lo:
			return nil, fmt.Errorf("%q is not a range first-last[+step|*factor] of token counts, first ≤ last", item)
		case op == '+' && by < 1, op == '*' && (by < 2 || lo < 1):
			return nil, fmt.Errorf("%q: the step must be ≥ 1, the factor ≥ 2 from a first ≥ 1", item)
		}
		for v, n := lo, 0; v <= hi; n++ {
			if n == maxRangeValues {
				return nil, fmt.Errorf("%q gives more than %d values", item, maxRangeValues)
			}
			out = append(out, v)
			if op == '+' {
				v += by
			} else {
				v *= by
			}
		}
	}
	return out, nil
}
