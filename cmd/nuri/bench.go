package main

import (
	"errors"
	"fmt"
	"io"
	"sort"
)

// `nuri bench` groups the benchmarks. Each one lives in its own file
// (bench_serve.go, bench_compare.go, bench_model.go, bench_kernels.go) and
// adds itself with registerBench in that file's init, the way top-level
// subcommands use register.

func init() {
	register(command{name: "bench", summary: "benchmark servers, models and kernels; compare reports", run: runBench})
}

var benchCommands = map[string]command{}

func registerBench(c command) {
	if _, dup := benchCommands[c.name]; dup {
		panic("nuri: duplicate bench subcommand " + c.name)
	}
	benchCommands[c.name] = c
}

func benchUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: nuri bench <benchmark> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "benchmarks:")
	names := make([]string, 0, len(benchCommands))
	for n := range benchCommands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, benchCommands[n].summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "run 'nuri bench <benchmark> -h' for its flags")
}

func runBench(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		benchUsage(stderr)
		return errUsage
	}
	switch args[0] {
	case "-h", "--help", "help":
		benchUsage(stdout)
		return nil
	}
	c, ok := benchCommands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "nuri bench: unknown benchmark %q\n\n", args[0])
		benchUsage(stderr)
		return errUsage
	}
	if err := c.run(args[1:], stdout, stderr); err != nil {
		if errors.Is(err, errUsage) {
			return errUsage
		}
		return fmt.Errorf("%s: %w", c.name, err)
	}
	return nil
}
