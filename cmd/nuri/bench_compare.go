package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/nuri-ai/nuri/bench"
)

func init() {
	registerBench(command{name: "compare", summary: "print two results.json side by side with B/A ratios", run: runBenchCompare})
}

func runBenchCompare(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench compare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: nuri bench compare A/results.json B/results.json")
		fmt.Fprintln(stderr, "(a report directory stands for the results.json inside it)")
	}
	if err := fs.Parse(args); err != nil {
		return flagsError(err)
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return errUsage
	}
	paths := [2]string{resultsPath(fs.Arg(0)), resultsPath(fs.Arg(1))}
	var reports [2]*bench.Report
	for i, p := range paths {
		r, err := bench.ReadReport(p)
		if err != nil {
			return err
		}
		reports[i] = r
	}
	return bench.WriteComparison(stdout, paths[0], paths[1], reports[0], reports[1])
}

// resultsPath lets a report directory stand for its results.json.
func resultsPath(p string) string {
	if st, err := os.Stat(p); err == nil && st.IsDir() {
		return filepath.Join(p, bench.ResultsFile)
	}
	return p
}
