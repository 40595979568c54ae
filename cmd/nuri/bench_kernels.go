package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/nuri-ai/nuri/bench"
	"github.com/nuri-ai/nuri/bench/inproc"
)

func init() {
	registerBench(command{name: "kernels", summary: "GB/s and GOP/s per kernel and type against the measured roofline", run: runBenchKernels})
}

type benchKernelsFlags struct {
	cfg inproc.KernelsConfig
	benchOutput
}

func parseBenchKernels(args []string, stderr io.Writer) (*benchKernelsFlags, error) {
	fs := flag.NewFlagSet("bench kernels", flag.ContinueOnError)
	fs.SetOutput(stderr)
	f := &benchKernelsFlags{cfg: inproc.DefaultKernelsConfig()}
	c := &f.cfg
	types := fs.String("types", strings.Join(c.Types, ","), "weight types, comma-separated")
	batch := fs.String("batch", "1,4,16,64", "activation rows per MatMul, comma-separated")
	fs.IntVar(&c.Rows, "rows", 0, "weight rows (default: a --matrix-mib matrix for GEMV, --batch-rows for batches)")
	fs.IntVar(&c.Cols, "cols", c.Cols, "weight columns (a multiple of the types' block sizes)")
	fs.IntVar(&c.MatrixMiB, "matrix-mib", c.MatrixMiB, "size of the GEMV matrix when --rows is not given (MiB: 256, or twice the last-level cache where that is larger)")
	fs.IntVar(&c.BatchRows, "batch-rows", c.BatchRows, "rows of the batched cases when --rows is not given")
	fs.IntVar(&c.Threads, "threads", 0, "worker threads (default: one per physical core this process may use)")
	fs.Float64Var(&c.MinTime, "min-time", c.MinTime, "seconds to time each case at least")
	fs.IntVar(&c.MinReps, "min-reps", c.MinReps, "calls to time each case at least")
	fs.IntVar(&c.BandwidthMiB, "bw-mib", c.BandwidthMiB, "buffer for the read-bandwidth measurement (MiB: 1024, or twice the last-level cache where that is larger)")
	f.benchOutput.flags(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: nuri bench kernels [--types Q4_0,Q8_0,...] [--rows R --cols C] [--batch 1,8,...]")
		fmt.Fprintln(stderr, "         [--threads T] [--json] [--out DIR]")
		fmt.Fprintln(stderr, "\nTimes each weight type's matmul as a model runs it (the packed kernels where the")
		fmt.Fprintln(stderr, "CPU backend repacks) per batch; GEMV is set against the read bandwidth measured in")
		fmt.Fprintln(stderr, "the same run. NURI_KERNELS=avx2 keeps to AVX2's kernels, NURI_KERNELS=generic forces the pure-Go ones.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, flagsError(err)
	}
	usageErr := func(format string, a ...any) (*benchKernelsFlags, error) {
		return nil, usageError(fs, stderr, format, a...)
	}
	if fs.NArg() != 0 {
		return usageErr("unexpected argument %q", fs.Arg(0))
	}
	c.Types = nil
	for _, t := range strings.Split(*types, ",") {
		if t = strings.TrimSpace(t); t != "" {
			c.Types = append(c.Types, strings.ToUpper(t))
		}
	}
	bs, err := parseIntList(*batch)
	if err != nil {
		return usageErr("--batch: %v", err)
	}
	c.Batch = bs
	if c.Threads < 0 {
		return usageErr("--threads %d must not be negative", c.Threads)
	}
	if c.Kernels, err = envKernelSet(); err != nil {
		return usageErr("%v", err)
	}
	if err := c.Validate(); err != nil {
		return usageErr("%v", err)
	}
	return f, nil
}

func runBenchKernels(args []string, stdout, stderr io.Writer) error {
	f, err := parseBenchKernels(args, stderr)
	if err != nil {
		return err
	}
	return f.measure("kernels", args, &f.cfg.Threads, stdout, stderr, func(ctx context.Context, env bench.Environment, opts inproc.RunOptions) (*bench.Report, func(io.Writer) error, error) {
		res, err := inproc.RunKernels(ctx, f.cfg, opts)
		if err != nil {
			return nil, nil, err
		}
		return inproc.BuildKernelsReport(env, f.cfg, res), func(w io.Writer) error { return inproc.WriteKernelsText(w, res) }, nil
	})
}
