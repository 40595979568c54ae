package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"go.uber.org/zap"

	"github.com/nuri-ai/nuri/bench/imatrix"
	"github.com/nuri-ai/nuri/bench/perplexity"
	"github.com/nuri-ai/nuri/gguf"
	"github.com/nuri-ai/nuri/model"
	"github.com/nuri-ai/nuri/quant"
)

func init() {
	register(command{name: "imatrix", summary: "compute an importance matrix over a text for nuri quantize --imatrix (llama-imatrix)", run: runImatrix})
}

// imatrixConfig is every imatrix flag, validated.
type imatrixConfig struct {
	textRunFlags
	out        string
	withOutput bool
	progress   bool
	device     deviceFlags
}

func parseImatrix(args []string, stderr io.Writer) (*imatrixConfig, error) {
	fs := flag.NewFlagSet("imatrix", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: nuri imatrix --model M --file TEXT [-o imatrix.gguf] [-c 512] [--chunks N] [--process-output]")
		fmt.Fprintln(stderr, "\nRuns the model over the text in chunks of -c tokens and writes, for each weight")
		fmt.Fprintln(stderr, "matrix of its blocks, the mean square of every input column (llama-imatrix's GGUF")
		fmt.Fprintln(stderr, "format, which llama-quantize reads too). Use the model in F16, BF16 or F32.")
		fs.PrintDefaults()
	}
	c := &imatrixConfig{}
	c.add(fs, "calibration text (required)")
	fs.StringVar(&c.out, "output", "imatrix.gguf", "output file")
	fs.StringVar(&c.out, "o", "imatrix.gguf", "alias of --output")
	fs.BoolVar(&c.withOutput, "process-output", false, "collect the output matrix too")
	fs.BoolVar(&c.progress, "progress", true, "report each chunk on stderr")
	addDeviceFlags(fs, &c.device)
	if err := fs.Parse(args); err != nil {
		return nil, flagsError(err)
	}
	fail := func(format string, a ...any) (*imatrixConfig, error) {
		return nil, usageError(fs, stderr, format, a...)
	}
	switch {
	case fs.NArg() > 0:
		return fail("unexpected arguments %q", fs.Args())
	case c.model == "" || c.file == "":
		return fail("--model and --file are required")
	case c.ctx < 2 || c.batch < 1 || c.chunks < 0 || c.threads < 1:
		return fail("--ctx-size must be at least 2, --batch-size and --threads positive, --chunks not negative")
	case c.device.name == "":
		return fail("--device must name a device (cpu, cuda:N, npu:N)")
	}
	if _, err := c.device.kernelSet(); err != nil {
		return fail("%v", err)
	}
	for _, p := range []string{c.model, c.file} {
		if same, err := sameFile(c.out, p); err == nil && same {
			return fail("--output %s would overwrite an input", c.out)
		}
	}
	return c, nil
}

func runImatrix(args []string, stdout, stderr io.Writer) error {
	c, err := parseImatrix(args, stderr)
	if err != nil {
		return err
	}
	if c.model, err = modelFile(c.model); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	return imatrixCmd(ctx, c, os.Stdin, stdout, stderr)
}

func imatrixCmd(ctx context.Context, c *imatrixConfig, stdin io.Reader, stdout, stderr io.Writer) error {
	tok, err := loadTokenizer(c.model, c.normalization)
	if err != nil {
		return err
	}
	text, err := readText(c.file, stdin)
	if err != nil {
		return err
	}
	tokens, err := tok.Encode(text, false, false)
	if err != nil {
		return fmt.Errorf("tokenize %s: %w", c.file, err)
	}
	bos, hasBOS := tok.BOS()
	hasBOS = hasBOS && tok.AddBOS()
	if hasBOS {
		tokens = append([]int32{bos}, tokens...)
	}
	nChunks := len(tokens) / c.ctx
	if nChunks == 0 {
		return fmt.Errorf("%s: %d tokens, and a chunk of %d needs at least that many (use a longer text or a smaller -c)", c.file, len(tokens), c.ctx)
	}
	if c.chunks > 0 {
		nChunks = min(nChunks, c.chunks)
	}

	log, err := stderrLogger("warn", stderr)
	if err != nil {
		return err
	}
	ks, err := c.device.kernelSet()
	if err != nil {
		return err
	}
	base, err := openDevice(c.device.name, deviceOptions{threads: c.threads, log: log, nvrtc: c.device.nvrtc, cudaCache: c.device.cudaCache, kernels: ks})
	if err != nil {
		return err
	}
	defer func() {
		if err := closeDevice(base); err != nil {
			log.Warn("close device", zap.Error(err))
		}
	}()
	dev := imatrix.Wrap(base, imatrix.DefaultKeep(c.withOutput))
	t0 := time.Now()
	m, err := model.Load(c.model, model.LoadOptions{Device: dev, Threads: c.threads, NCtx: c.ctx, Logger: log, LoRA: c.lora})
	if err != nil {
		return err
	}
	defer m.Close()
	cfg := m.Config()
	kv, err := model.NewSequenceViewOn(dev, cfg, c.ctx, 16, model.SameKV(quant.F16))
	if err != nil {
		return err
	}
	if c.progress {
		fmt.Fprintf(stderr, "nuri imatrix: %s loaded in %v; %d tokens, %d chunks of %d\n", c.model, time.Since(t0).Round(time.Millisecond), len(tokens), nChunks, c.ctx)
	}
	batch := min(c.batch, c.ctx)
	// Every row's logits: the model then runs the last block on every
	// token too (with fewer it keeps only the rows whose logits are
	// wanted), and the output matrix sees every row for --process-output.
	out := make([]float32, batch*cfg.NVocab)
	chunk := make([]int32, c.ctx)
	start := time.Now()
	var nll float64
	scored := 0
	for ci := range nChunks {
		copy(chunk, tokens[ci*c.ctx:(ci+1)*c.ctx])
		if hasBOS {
			chunk[0] = bos
		}
		for lo := 0; lo < c.ctx; lo += batch {
			if err := ctx.Err(); err != nil {
				return err
			}
			hi := min(lo+batch, c.ctx)
			b := &model.Batch{Tokens: chunk[lo:hi], Pos: make([]int32, hi-lo), Seq: make([]int32, hi-lo), Logits: make([]bool, hi-lo)}
			for i := range b.Pos {
				b.Pos[i], b.Logits[i] = int32(lo+i), true
			}
			if err := m.Forward(b, kv, out[:(hi-lo)*cfg.NVocab]); err != nil {
				return fmt.Errorf("chunk %d, positions %d..%d: %w", ci+1, lo, hi-1, err)
			}
			// The logits are there anyway: the perplexity of the
			// chunks' second halves, as llama-imatrix prints, shows
			// whether the model reads the text sensibly.
			for p := max(lo, c.ctx/2); p < min(hi, c.ctx-1); p++ {
				nll += perplexity.NLL(out[(p-lo)*cfg.NVocab:(p-lo+1)*cfg.NVocab], chunk[p+1])
				scored++
			}
		}
		if c.progress {
			el := time.Since(start)
			fmt.Fprintf(stderr, "nuri imatrix: chunk %d/%d, PPL %.4f, %.1f s, ETA %v\n", ci+1, nChunks, math.Exp(nll/float64(max(scored, 1))), el.Seconds(),
				(el / time.Duration(ci+1) * time.Duration(nChunks-ci-1)).Round(time.Second))
		}
	}
	im, err := dev.Imatrix([]string{filepath.Base(c.file)}, nChunks, c.ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", c.model, err)
	}
	if err := gguf.WriteImatrix(c.out, im); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %d weight matrices, %d chunks of %d tokens from %s (PPL %.4f)\n", c.out, len(im.Entries), nChunks, c.ctx, c.file,
		math.Exp(nll/float64(max(scored, 1))))
	return nil
}
