package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/nuri-ai/nuri/bench/perplexity"
	"github.com/nuri-ai/nuri/model"
)

func init() {
	register(command{name: "perplexity", summary: "perplexity of a model over a text, or its KL divergence from a base model's run (llama-perplexity)", run: runPerplexity})
}

// perplexityConfig is every perplexity flag, validated.
type perplexityConfig struct {
	textRunFlags
	klBase         string
	klRun          bool
	hellaswag      bool // -f holds HellaSwag tasks
	hsTasks        int  // this many, drawn as llama.cpp draws them (0: all)
	winogrande     bool // -f holds Winogrande tasks
	wgTasks        int  // this many, drawn as llama.cpp draws them (0: all)
	choice         bool // -f holds multiple-choice tasks
	mcTasks        int  // this many, drawn as llama.cpp draws them (0: all)
	kvType         model.KVTypes
	json, progress bool
	logLevel       string
	device         deviceFlags
}

func parsePerplexity(args []string, stderr io.Writer) (*perplexityConfig, error) {
	fs := flag.NewFlagSet("perplexity", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: nuri perplexity --model M --file TEXT [-c 512] [--chunks N] [--kl-divergence-base BASE]")
		fmt.Fprintln(stderr, "       nuri perplexity --model M --kl-divergence --kl-divergence-base BASE")
		fmt.Fprintln(stderr, "       nuri perplexity --model M --hellaswag --file TASKS [--hellaswag-tasks N]")
		fmt.Fprintln(stderr, "       nuri perplexity --model M --winogrande --file TASKS.csv [--winogrande-tasks N]")
		fmt.Fprintln(stderr, "       nuri perplexity --model M --multiple-choice --file TASKS.bin [--multiple-choice-tasks N]")
		fmt.Fprintln(stderr, "\nPerplexity over the second half of each chunk of the text, as llama-perplexity")
		fmt.Fprintln(stderr, "computes it. With --kl-divergence-base alone the run also writes every scored")
		fmt.Fprintln(stderr, "position's log-probabilities there (llama.cpp's base file layout); with")
		fmt.Fprintln(stderr, "--kl-divergence it reads such a file instead of a text and reports the model's")
		fmt.Fprintln(stderr, "KL divergence from it, the change in the right token's probability and the")
		fmt.Fprintln(stderr, "top-token agreement (a quantized model against its F16 or BF16 original).")
		fmt.Fprintln(stderr, "With --hellaswag the file holds multiple-choice tasks in llama.cpp's layout")
		fmt.Fprintln(stderr, "(six lines each: context, right ending 0-3, four endings) and the run reports")
		fmt.Fprintln(stderr, "how often the model's likeliest ending is the right one. With --winogrande the")
		fmt.Fprintln(stderr, "file holds two-way fill-in tasks in llama.cpp's CSV layout (index, sentence")
		fmt.Fprintln(stderr, "with a _ blank, choice 1, choice 2, answer 1 or 2). With --multiple-choice it")
		fmt.Fprintln(stderr, "holds questions with labelled answers in llama.cpp's binary layout (ARC, MMLU,")
		fmt.Fprintln(stderr, "TruthfulQA).")
		fs.PrintDefaults()
	}
	c := &perplexityConfig{}
	var kv string
	c.add(fs, "text to evaluate")
	fs.StringVar(&c.klBase, "kl-divergence-base", "", "base file: written by a perplexity run, read by a --kl-divergence run")
	fs.BoolVar(&c.klRun, "kl-divergence", false, "compare the model with the --kl-divergence-base file")
	fs.BoolVar(&c.hellaswag, "hellaswag", false, "score the HellaSwag tasks in --file (llama-perplexity --hellaswag)")
	fs.IntVar(&c.hsTasks, "hellaswag-tasks", 0, "score this many tasks, drawn as llama-perplexity draws them (0: all, in its drawn order)")
	fs.BoolVar(&c.winogrande, "winogrande", false, "score the Winogrande tasks in --file (llama-perplexity --winogrande)")
	fs.IntVar(&c.wgTasks, "winogrande-tasks", 0, "score this many tasks, drawn as llama-perplexity draws them (0: all, in file order)")
	fs.BoolVar(&c.choice, "multiple-choice", false, "score the multiple-choice tasks in --file (llama-perplexity --multiple-choice)")
	fs.IntVar(&c.mcTasks, "multiple-choice-tasks", 0, "score this many tasks, drawn as llama-perplexity draws them (0: all, in file order)")
	fs.StringVar(&kv, "kv-cache-type", "f16", "KV cache type of K and V: "+model.KVCacheTypeNames()+" (-ctk and -ctv give them apart)")
	kvf := addKVTypeFlags(fs, "kv-cache-type")
	fs.BoolVar(&c.json, "json", false, "print the result as JSON on stdout (progress stays on stderr)")
	fs.BoolVar(&c.progress, "progress", true, "report each chunk on stderr")
	fs.StringVar(&c.logLevel, "log-level", "warn", "log level on stderr: debug, info, warn, error")
	addDeviceFlags(fs, &c.device)
	if err := fs.Parse(args); err != nil {
		return nil, flagsError(err)
	}
	fail := func(format string, a ...any) (*perplexityConfig, error) {
		return nil, usageError(fs, stderr, format, a...)
	}
	var err error
	switch {
	case fs.NArg() > 0:
		return fail("unexpected arguments %q", fs.Args())
	case c.model == "":
		return fail("--model is required")
	case c.hellaswag && (c.klRun || c.klBase != ""):
		return fail("--hellaswag scores tasks: drop --kl-divergence and --kl-divergence-base")
	case c.hsTasks < 0 || (c.hsTasks > 0 && !c.hellaswag):
		return fail("--hellaswag-tasks takes a count ≥ 0, with --hellaswag")
	case c.winogrande && (c.klRun || c.klBase != "" || c.hellaswag):
		return fail("--winogrande scores tasks: drop --kl-divergence, --kl-divergence-base and --hellaswag")
	case c.wgTasks < 0 || (c.wgTasks > 0 && !c.winogrande):
		return fail("--winogrande-tasks takes a count ≥ 0, with --winogrande")
	case c.choice && (c.klRun || c.klBase != "" || c.hellaswag || c.winogrande):
		return fail("--multiple-choice scores tasks: drop --kl-divergence, --kl-divergence-base, --hellaswag and --winogrande")
	case c.mcTasks < 0 || (c.mcTasks > 0 && !c.choice):
		return fail("--multiple-choice-tasks takes a count ≥ 0, with --multiple-choice")
	case c.klRun && c.klBase == "":
		return fail("--kl-divergence needs --kl-divergence-base")
	case c.klRun && c.file != "":
		return fail("a --kl-divergence run takes its tokens from the base file: drop --file")
	case !c.klRun && c.file == "":
		return fail("--file is required")
	case c.ctx < 4 || c.batch < 1 || c.chunks < 0 || c.threads < 1:
		return fail("--ctx-size must be at least 4, --batch-size and --threads positive, --chunks not negative")
	case c.device.name == "":
		return fail("--device must name a device (cpu, cuda:N, npu:N)")
	}
	if c.kvType, err = kvf.types(fs, "kv-cache-type"); err != nil {
		return fail("%v", err)
	}
	if _, err := c.device.kernelSet(); err != nil {
		return fail("%v", err)
	}
	if !c.klRun && c.klBase != "" {
		// Writing the base onto the model or the text would destroy it.
		if same, err := sameFile(c.klBase, c.model); err == nil && same {
			return fail("--kl-divergence-base %s is the model file", c.klBase)
		}
		if c.file != "-" {
			if same, err := sameFile(c.klBase, c.file); err == nil && same {
				return fail("--kl-divergence-base %s is the text file", c.klBase)
			}
		}
	}
	return c, nil
}

// sameFile reports whether a and b name one existing file.
func sameFile(a, b string) (bool, error) {
	sa, err := os.Stat(a)
	if err != nil {
		return false, err
	}
	sb, err := os.Stat(b)
	if err != nil {
		return false, err
	}
	return os.SameFile(sa, sb), nil
}

func runPerplexity(args []string, stdout, stderr io.Writer) error {
	c, err := parsePerplexity(args, stderr)
	if err != nil {
		return err
	}
	if c.model, err = modelFile(c.model); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	return perplexityCmd(ctx, c, os.Stdin, stdout, stderr)
}

func perplexityCmd(ctx context.Context, c *perplexityConfig, stdin io.Reader, stdout, stderr io.Writer) error {
	log, err := stderrLogger(c.logLevel, stderr)
	if err != nil {
		return err
	}
	// What the run reads besides the weights comes first: a missing or
	// short text fails in a second, not after the model has loaded.
	tok, err := loadTokenizer(c.model, c.normalization)
	if err != nil {
		return err
	}
	var bos int32 = -1
	if id, ok := tok.BOS(); ok && tok.AddBOS() {
		bos = id
	}
	// Texts and tasks are tokenized as llama-perplexity does: the BOS the
	// vocabulary asks for, no EOS, special tokens' text read as plain text.
	tokenize := func(s string) ([]int32, error) {
		ids, err := tok.Encode(s, false, false)
		if bos >= 0 {
			ids = append([]int32{bos}, ids...)
		}
		return ids, err
	}
	var text string
	if !c.klRun {
		if text, err = readText(c.file, stdin); err != nil {
			return err
		}
	}
	var tokens []int32
	var base *perplexity.BaseReader
	var tasks []perplexity.HellaSwagTask
	var wgTasks []perplexity.WinograndeTask
	var mcTasks []perplexity.ChoiceTask
	switch {
	case c.choice:
		if mcTasks, err = perplexity.ReadChoiceTasks(strings.NewReader(text), int64(len(text))); err != nil {
			return fmt.Errorf("%s: %w", c.file, err)
		}
		if c.mcTasks > 0 && c.mcTasks < len(mcTasks) {
			mcTasks = pick(mcTasks, perplexity.SampleOrder(len(mcTasks), c.mcTasks))
		}
	case c.winogrande:
		if wgTasks, err = perplexity.ReadWinogrande(strings.NewReader(text)); err != nil {
			return fmt.Errorf("%s: %w", c.file, err)
		}
		if c.wgTasks > 0 && c.wgTasks < len(wgTasks) {
			wgTasks = pick(wgTasks, perplexity.SampleOrder(len(wgTasks), c.wgTasks))
		}
	case c.hellaswag:
		if tasks, err = perplexity.ReadHellaSwag(strings.NewReader(text)); err != nil {
			return fmt.Errorf("%s: %w", c.file, err)
		}
		// llama-perplexity scores them in a drawn order, all of them too.
		n := len(tasks)
		if c.hsTasks > 0 {
			n = min(n, c.hsTasks)
		}
		tasks = pick(tasks, perplexity.HellaSwagOrder(len(tasks), n))
	case c.klRun:
		f, err := os.Open(c.klBase)
		if err != nil {
			return err
		}
		defer f.Close()
		if base, err = perplexity.NewBaseReader(f); err != nil {
			return fmt.Errorf("%s: %w", c.klBase, err)
		}
		if nv := tok.NVocab(); nv != base.NVocab {
			return fmt.Errorf("%s: %w: its vocabulary has %d entries, the model's %d", c.klBase, perplexity.ErrBadBase, base.NVocab, nv)
		}
		c.ctx = base.Ctx
	default:
		if tokens, err = tokenize(text); err != nil {
			return fmt.Errorf("tokenize %s: %w", c.file, err)
		}
		if _, err := perplexity.Chunks(len(tokens), c.ctx, c.chunks); err != nil {
			return fmt.Errorf("%s: %w", c.file, err)
		}
	}
	t0 := time.Now()
	m, dev, closeModel, err := loadOnDevice(c.model, c.device, c.threads, c.ctx, c.lora, log)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := closeModel(); cerr != nil {
			log.Warn("close model", zap.Error(cerr))
		}
	}()
	if train := m.Config().NCtxTrain; train > 0 && c.ctx > train {
		fmt.Fprintf(stderr, "nuri perplexity: warning: chunks of %d tokens, but the model was trained on %d\n", c.ctx, train)
	}
	opts := perplexity.Options{Ctx: c.ctx, Batch: min(c.batch, c.ctx), Chunks: c.chunks, KVType: c.kvType, BOS: bos, Device: dev}
	if c.progress {
		fmt.Fprintf(stderr, "nuri perplexity: %s loaded in %v on %s\n", c.model, time.Since(t0).Round(time.Millisecond), dev.Name())
	}
	switch {
	case c.hellaswag:
		return hellaswagRun(ctx, c, m, tasks, tokenize, opts, stdout, stderr)
	case c.winogrande:
		return winograndeRun(ctx, c, m, wgTasks, tokenize, opts, stdout, stderr)
	case c.choice:
		return choiceRun(ctx, c, m, mcTasks, tokenize, opts, stdout, stderr)
	case c.klRun:
		return klRun(ctx, c, m, base, opts, stdout, stderr)
	}
	return pplRun(ctx, c, m, tokens, opts, stdout, stderr)
}

// hellaswagRun scores the tasks and prints llama-perplexity's table: each
// task's running accuracy and its 95 % interval.
func hellaswagRun(ctx context.Context, c *perplexityConfig, m model.Model, tasks []perplexity.HellaSwagTask, tokenize func(string) ([]int32, error), opts perplexity.Options, stdout, stderr io.Writer) error {
	if c.progress {
		fmt.Fprintf(stderr, "nuri perplexity: %d HellaSwag tasks from %s\n", len(tasks), c.file)
	}
	if !c.json {
		fmt.Fprintf(stdout, "task\tacc_norm\t95%% confidence interval\n")
	}
	res, err := perplexity.HellaSwag(ctx, m, tasks, tokenize, opts, func(p perplexity.HellaSwagProgress) {
		c.taskETA(stderr, p.Task, p.Tasks, p.Elapsed)
		if !c.json {
			fmt.Fprintf(stdout, "%d\t%3.8f%%\t[%3.4f%%, %3.4f%%]\n", p.Task, 100*p.Accuracy, 100*p.Low, 100*p.High)
		}
	})
	if err != nil {
		return fmt.Errorf("%s: %w", c.file, err)
	}
	if c.json {
		return writeJSON(stdout, struct {
			Model string `json:"model"`
			File  string `json:"file"`
			*perplexity.HellaSwagResult
		}{c.model, c.file, res})
	}
	fmt.Fprintf(stdout, "\nFinal: acc_norm = %.4f%% [%.4f%%, %.4f%%], %d of %d tasks\n", 100*res.Accuracy, 100*res.Low, 100*res.High, res.Correct, res.Tasks)
	c.tasksDone(stderr, res.Tokens, res.Seconds)
	return nil
}

// winograndeRun scores the tasks and prints llama-perplexity's table: each
// task's running accuracy, its choices' scores, the pick and the answer.
func winograndeRun(ctx context.Context, c *perplexityConfig, m model.Model, tasks []perplexity.WinograndeTask, tokenize func(string) ([]int32, error), opts perplexity.Options, stdout, stderr io.Writer) error {
	if c.progress {
		fmt.Fprintf(stderr, "nuri perplexity: %d Winogrande tasks from %s\n", len(tasks), c.file)
	}
	if !c.json {
		fmt.Fprintf(stdout, "task\tacc\tscore 1\tscore 2\tpicked\tanswer\n")
	}
	res, err := perplexity.Winogrande(ctx, m, tasks, tokenize, opts, func(p perplexity.WinograndeProgress) {
		c.taskETA(stderr, p.Task, p.Tasks, p.Elapsed)
		if !c.json {
			fmt.Fprintf(stdout, "%d\t%.4f\t%10.6f\t%10.6f\t%d\t%d\n", p.Task, 100*p.Accuracy, p.Scores[0], p.Scores[1], p.Picked, p.Answer)
		}
	})
	if err != nil {
		return fmt.Errorf("%s: %w", c.file, err)
	}
	if c.json {
		return writeJSON(stdout, struct {
			Model string `json:"model"`
			File  string `json:"file"`
			*perplexity.WinograndeResult
		}{c.model, c.file, res})
	}
	fmt.Fprintf(stdout, "\nFinal Winogrande score (%d tasks): %.4f +/- %.4f\n", res.Tasks, 100*res.Accuracy, 100*res.StdErr)
	c.tasksDone(stderr, res.Tokens, res.Seconds)
	return nil
}

// choiceRun scores the tasks and prints llama-perplexity's table: each
// task's running accuracy, then the final accuracy and random chance.
func choiceRun(ctx context.Context, c *perplexityConfig, m model.Model, tasks []perplexity.ChoiceTask, tokenize func(string) ([]int32, error), opts perplexity.Options, stdout, stderr io.Writer) error {
	if c.progress {
		fmt.Fprintf(stderr, "nuri perplexity: %d multiple-choice tasks from %s\n", len(tasks), c.file)
	}
	if !c.json {
		fmt.Fprintf(stdout, "task\tacc_norm\n")
	}
	res, err := perplexity.MultipleChoice(ctx, m, tasks, tokenize, opts, func(p perplexity.ChoiceProgress) {
		c.taskETA(stderr, p.Task, p.Tasks, p.Elapsed)
		if !c.json {
			fmt.Fprintf(stdout, "%d\t%.8f\n", p.Task, 100*p.Accuracy)
		}
	})
	if err != nil {
		return fmt.Errorf("%s: %w", c.file, err)
	}
	if c.json {
		return writeJSON(stdout, struct {
			Model string `json:"model"`
			File  string `json:"file"`
			*perplexity.ChoiceResult
		}{c.model, c.file, res})
	}
	fmt.Fprintf(stdout, "\nFinal result: %.4f +/- %.4f\nRandom chance: %.4f +/- %.4f\n", 100*res.Accuracy, 100*res.StdErr, 100*res.Chance, 100*res.ChanceStdErr)
	c.tasksDone(stderr, res.Tokens, res.Seconds)
	return nil
}

// taskETA reports, after a task run's first task, the time a task takes
// and when the run will end.
func (c *perplexityConfig) taskETA(stderr io.Writer, task, tasks int, elapsed time.Duration) {
	if task == 1 && c.progress {
		fmt.Fprintf(stderr, "nuri perplexity: %.2f s a task, ETA %v\n", elapsed.Seconds(), (elapsed * time.Duration(tasks-1)).Round(time.Second))
	}
}

// tasksDone reports a task run's work.
func (c *perplexityConfig) tasksDone(stderr io.Writer, tokens int, seconds float64) {
	if c.progress {
		fmt.Fprintf(stderr, "nuri perplexity: %d tokens evaluated in %.1f s\n", tokens, seconds)
	}
}

// pick is tasks at the given indices, in their order.
func pick[T any](tasks []T, order []int) []T {
	out := make([]T, len(order))
	for i, j := range order {
		out[i] = tasks[j]
	}
	return out
}

// readText reads the file to evaluate ("-": stdin).
func readText(path string, stdin io.Reader) (string, error) {
	var b []byte
	var err error
	if path == "-" {
		b, err = io.ReadAll(stdin)
	} else {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	return string(b), nil
}

// chunkProgress prints, after the first chunk, the time a chunk takes and
// when the run will end, as llama-perplexity does.
func chunkProgress(c *perplexityConfig, stderr io.Writer, p perplexity.Progress) {
	if !c.progress || p.Chunk != 1 {
		return
	}
	fmt.Fprintf(stderr, "nuri perplexity: %.2f s a chunk, ETA %v\n", p.Elapsed.Seconds(),
		(p.Elapsed * time.Duration(p.Chunks-1)).Round(time.Second))
}

func pplRun(ctx context.Context, c *perplexityConfig, m model.Model, tokens []int32, opts perplexity.Options, stdout, stderr io.Writer) error {
	nChunks, err := perplexity.Chunks(len(tokens), c.ctx, c.chunks)
	if err != nil {
		return err
	}
	var bw *perplexity.BaseWriter
	var out *atomicFile
	if c.klBase != "" {
		if out, err = createAtomic(c.klBase); err != nil {
			return err
		}
		defer out.abort() // a no-op once committed
		h := perplexity.BaseHeader{Ctx: c.ctx, NVocab: m.Config().NVocab, Chunks: nChunks, Tokens: tokens[:nChunks*c.ctx]}
		if bw, err = perplexity.NewBaseWriter(out, h); err != nil {
			return fmt.Errorf("%s: %w", c.klBase, err)
		}
	}
	if c.progress {
		fmt.Fprintf(stderr, "nuri perplexity: %d tokens, %d chunks of %d, each scored on its last %d\n",
			len(tokens), nChunks, c.ctx, c.ctx-1-c.ctx/2)
	}
	opts.Progress = func(p perplexity.Progress) {
		chunkProgress(c, stderr, p)
		if !c.json {
			fmt.Fprintf(stdout, "[%d]%.4f,", p.Chunk, p.PPL)
		}
	}
	res, err := perplexity.Perplexity(ctx, m, tokens, opts, bw)
	if err != nil {
		return err
	}
	if bw != nil {
		if err := bw.Close(); err != nil {
			return fmt.Errorf("%s: %w", c.klBase, err)
		}
		if err := out.commit(); err != nil {
			return err
		}
	}
	if c.json {
		return writeJSON(stdout, struct {
			Model string `json:"model"`
			File  string `json:"file"`
			Base  string `json:"kl_divergence_base,omitempty"`
			*perplexity.Result
		}{c.model, c.file, c.klBase, res})
	}
	fmt.Fprintf(stdout, "\nFinal estimate: PPL = %.4f +/- %.5f\n", res.PPL.Value, res.PPL.Err)
	if c.progress {
		fmt.Fprintf(stderr, "nuri perplexity: %d tokens scored in %.1f s (%.1f tokens/s evaluated)\n", res.Scored, res.Seconds, res.TokensPerSecond)
		if bw != nil {
			fmt.Fprintf(stderr, "nuri perplexity: KL base written to %s\n", c.klBase)
		}
	}
	return nil
}

func klRun(ctx context.Context, c *perplexityConfig, m model.Model, base *perplexity.BaseReader, opts perplexity.Options, stdout, stderr io.Writer) error {
	if c.progress {
		fmt.Fprintf(stderr, "nuri perplexity: KL divergence from %s: %d chunks of %d\n", c.klBase, base.Chunks, base.Ctx)
	}
	if !c.json {
		fmt.Fprintf(stdout, "%5s  %-22s  %-24s  %-24s  %-17s  %s\n", "chunk", "PPL", "ln(PPL(Q)/PPL(base))", "KL divergence", "Δp RMS", "same top p")
	}
	opts.Progress = func(p perplexity.Progress) {
		chunkProgress(c, stderr, p)
		if c.json {
			return
		}
		k := p.KL
		fmt.Fprintf(stdout, "%5d  %9.4f ± %-9.4f  %10.5f ± %-10.5f  %10.5f ± %-10.5f  %6.3f ± %-6.3f %%  %6.3f ± %-6.3f %%\n", p.Chunk,
			k.PPL.Value, k.PPL.Err, k.LogPPLRatio.Value, k.LogPPLRatio.Err, k.KLD.Value, k.KLD.Err,
			100*k.RMSDeltaP.Value, 100*k.RMSDeltaP.Err, 100*k.SameTop.Value, 100*k.SameTop.Err)
	}
	res, err := perplexity.KLDivergence(ctx, m, base, opts)
	if err != nil {
		return fmt.Errorf("%s: %w", c.klBase, err)
	}
	if c.json {
		return writeJSON(stdout, struct {
			Model string `json:"model"`
			Base  string `json:"kl_divergence_base"`
			*perplexity.KLResult
		}{c.model, c.klBase, res})
	}
	writeKLReport(stdout, res)
	return nil
}

// writeKLReport prints a KL run's statistics in llama-perplexity's three
// sections.
func writeKLReport(w io.Writer, r *perplexity.KLResult) {
	fmt.Fprintf(w, "\n====== Perplexity statistics (%d tokens) ======\n", r.Scored)
	fmt.Fprintf(w, "Mean PPL(Q)                   : %10.6f ± %10.6f\n", r.PPL.Value, r.PPL.Err)
	fmt.Fprintf(w, "Mean PPL(base)                : %10.6f ± %10.6f\n", r.BasePPL.Value, r.BasePPL.Err)
	fmt.Fprintf(w, "Cor(ln(PPL(Q)), ln(PPL(base))): %6.2f%%\n", 100*r.LogPPLCorrelation)
	fmt.Fprintf(w, "Mean ln(PPL(Q)/PPL(base))     : %10.6f ± %10.6f\n", r.LogPPLRatio.Value, r.LogPPLRatio.Err)
	fmt.Fprintf(w, "Mean PPL(Q)/PPL(base)         : %10.6f ± %10.6f\n", r.PPLRatio.Value, r.PPLRatio.Err)
	fmt.Fprintf(w, "Mean PPL(Q)-PPL(base)         : %10.6f ± %10.6f\n", r.PPLDiff.Value, r.PPLDiff.Err)
	fmt.Fprintf(w, "\n====== KL divergence statistics ======\n")
	fmt.Fprintf(w, "Mean    KLD: %10.6f ± %10.6f\n", r.KLD.Value, r.KLD.Err)
	for _, q := range r.KLDQuantiles {
		fmt.Fprintf(w, "%s KLD: %10.6f\n", quantileLabel(q.Fraction), q.Value)
	}
	fmt.Fprintf(w, "\n====== Token probability statistics ======\n")
	fmt.Fprintf(w, "Mean    Δp: %6.3f ± %5.3f %%\n", 100*r.DeltaP.Value, 100*r.DeltaP.Err)
	for _, q := range r.DeltaPQuantiles {
		fmt.Fprintf(w, "%s Δp: %6.3f%%\n", quantileLabel(q.Fraction), 100*q.Value)
	}
	fmt.Fprintf(w, "RMS Δp    : %6.3f ± %5.3f %%\n", 100*r.RMSDeltaP.Value, 100*r.RMSDeltaP.Err)
	fmt.Fprintf(w, "Same top p: %6.3f ± %5.3f %%\n", 100*r.SameTop.Value, 100*r.SameTop.Err)
}

// quantileLabel names a fraction as llama-perplexity's lines do.
func quantileLabel(f float64) string {
	switch f {
	case 0:
		return "Minimum"
	case 0.5:
		return "Median "
	case 1:
		return "Maximum"
	}
	return fmt.Sprintf("%4.1f%%  ", 100*f)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// atomicFile is an output written beside its path and renamed onto it
// once complete: a run that fails or is interrupted leaves no truncated
// file that a later run would read as whole.
type atomicFile struct {
	*os.File
	path string
	done bool
}

func createAtomic(path string) (*atomicFile, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.partial")
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	// CreateTemp makes the file private; the output is an ordinary one.
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	return &atomicFile{File: f, path: path}, nil
}

// commit closes the file and moves it onto its path.
func (a *atomicFile) commit() error {
	if err := a.Close(); err != nil {
		return fmt.Errorf("write %s: %w", a.path, err)
	}
	if err := os.Rename(a.Name(), a.path); err != nil {
		return fmt.Errorf("write %s: %w", a.path, err)
	}
	a.done = true
	return nil
}

// abort removes an uncommitted file.
func (a *atomicFile) abort() {
	if !a.done {
		a.Close()
		os.Remove(a.Name())
	}
}
