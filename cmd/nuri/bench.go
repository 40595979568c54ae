package main

import (
	"errors"
	"fmt"
	"io"
)

// `nuri bench` groups the benchmarks. Each one lives in its own file
// (bench_serve.go, bench_compare.go, bench_model.go, bench_kernels.go) and
// adds itself with registerBench in that file's init, the way top-level
// subcommands use register.

func init() {
	register(command{name: "bench", summary: "benchmark servers, models and kernels; compare reports", run: runBench})
}

// benchCommands are bench's benchmarks.
var benchCommands = commandTable{prog: "nuri bench", noun: "benchmark"}

func registerBench(c command) { benchCommands.add(c) }

func runBench(args []string, stdout, stderr io.Writer) error {
	c, err := benchCommands.dispatch(args, stdout, stderr)
	if err != nil && !errors.Is(err, errUsage) {
		return fmt.Errorf("%s: %w", c.name, err)
	}
	return err
}
