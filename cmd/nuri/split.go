package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/nuri-ai/nuri/gguf"
)

func init() {
	register(command{name: "split", summary: "write a GGUF model as llama.cpp-style parts (PREFIX-00001-of-0000N.gguf)", run: runSplit})
}

// runSplit writes a model as n parts that nuri and llama.cpp load from the
// first one, as llama.cpp's gguf-split --split-max-tensors would; a split
// model given as input is read whole (from its first part).
func runSplit(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("split", flag.ContinueOnError)
	fs.SetOutput(stderr)
	parts := fs.Int("parts", 2, "number of parts (the tensors are divided evenly, in file order)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: nuri split [--parts N] IN.gguf [OUT_PREFIX]")
		fmt.Fprintln(stderr, "writes OUT_PREFIX-00001-of-0000N.gguf ... (OUT_PREFIX: IN without .gguf)")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() < 1 || fs.NArg() > 2 {
		fs.Usage()
		return errUsage
	}
	in := fs.Arg(0)
	prefix := strings.TrimSuffix(in, ".gguf")
	if fs.NArg() == 2 {
		prefix = fs.Arg(1)
	}
	f, err := gguf.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	paths, err := gguf.WriteSplit(f, prefix, *parts)
	if err != nil {
		return fmt.Errorf("split %s: %w", in, err)
	}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s\t%s\n", p, humanBytes(uint64(st.Size())))
	}
	return nil
}
