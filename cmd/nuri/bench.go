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

// benchPlanned names benchmarks whose files are still being written, so that
// asking for one gives a clear answer instead of "unknown". A name leaves
// this list when its file registers it.
// Every planned benchmark has landed (model and kernels register in
// bench_model.go and bench_kernels.go), so none is listed at present.
func benchPlanned(string) (string, bool) {
	return "", false
}

func benchUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: nuri bench <benchmark> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "benchmarks:")
	names := make([]string, 0, len(benchCommands))
	for n := range benchCommands {
		names = append(names, n)
	}
	for _, n := range []string{"model", "kernels"} {
		if _, ok := benchCommands[n]; !ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		if c, ok := benchCommands[n]; ok {
			fmt.Fprintf(w, "  %-10s %s\n", n, c.summary)
		} else {
			s, _ := benchPlanned(n)
			fmt.Fprintf(w, "  %-10s %s (not available yet)\n", n, s)
		}
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
		if _, planned := benchPlanned(args[0]); planned {
			return fmt.Errorf("%s: not available yet in this build", args[0])
		}
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
