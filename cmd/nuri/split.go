package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/nuri-ai/nuri/gguf"
)

func init() {
	register(command{name: "split", summary: "write a GGUF model as llama.cpp-style parts (PREFIX-00001-of-0000N.gguf), or --merge them", run: runSplit})
}

// mergeSplit writes the split model in (its first part) as the single
// file out.
func mergeSplit(in, out string, stdout io.Writer) error {
	f, err := gguf.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := gguf.WriteMerged(f, out); err != nil {
		return fmt.Errorf("merge %s: %w", in, err)
	}
	st, err := os.Stat(out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s\t%s (%d parts, %d tensors)\n", out, humanBytes(uint64(st.Size())), f.Parts(), len(f.Tensors))
	return nil
}

// runSplit writes a model as n parts that nuri and llama.cpp load from the
// first one, as llama.cpp's gguf-split --split-max-tensors would; a split
// model given as input is read whole (from its first part).
func runSplit(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("split", flag.ContinueOnError)
	fs.SetOutput(stderr)
	parts := fs.Int("parts", 0, "number of parts (the tensors are divided evenly, in file order)")
	maxSize := fs.String("max-size", "", "largest part's tensor data, e.g. 50G or 500M (decimal units, as gguf-split's --split-max-size)")
	merge := fs.Bool("merge", false, "write a split model (given by its first part) as one file: nuri split --merge IN-00001-of-0000N.gguf OUT.gguf")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: nuri split (--parts N | --max-size SIZE) IN.gguf [OUT_PREFIX]")
		fmt.Fprintln(stderr, "       nuri split --merge IN-00001-of-0000N.gguf OUT.gguf")
		fmt.Fprintln(stderr, "writes OUT_PREFIX-00001-of-0000N.gguf ... (OUT_PREFIX: IN without .gguf or its part suffix)")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return flagsError(err)
	}
	if *merge {
		if fs.NArg() != 2 || *parts > 0 || *maxSize != "" {
			return usageError(fs, stderr, "--merge takes IN and OUT, and neither --parts nor --max-size")
		}
		return mergeSplit(fs.Arg(0), fs.Arg(1), stdout)
	}
	if fs.NArg() < 1 || fs.NArg() > 2 {
		fs.Usage()
		return errUsage
	}
	if (*parts > 0) == (*maxSize != "") {
		fmt.Fprintln(stderr, "nuri split: give one of --parts and --max-size")
		return errUsage
	}
	var maxBytes uint64
	if *maxSize != "" {
		n, err := parseDecimalSize(*maxSize)
		if err != nil {
			return fmt.Errorf("--max-size: %w", err)
		}
		maxBytes = n
	}
	in := fs.Arg(0)
	// By default the parts go beside the input, named as it is without
	// ".gguf" (and without its own part suffix when it is split already).
	prefix := filepath.Join(filepath.Dir(in), gguf.ModelName(in))
	if fs.NArg() == 2 {
		prefix = fs.Arg(1)
	}
	f, err := gguf.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	var paths []string
	if maxBytes > 0 {
		paths, err = gguf.WriteSplitMax(f, prefix, maxBytes)
	} else {
		paths, err = gguf.WriteSplit(f, prefix, *parts)
	}
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

// parseDecimalSize reads a byte count with an optional K, M, G or T suffix
// (powers of 1000, as gguf-split reads them).
func parseDecimalSize(s string) (uint64, error) {
	mult := uint64(1)
	switch strings.ToUpper(s[len(s)-1:]) {
	case "K":
		mult = 1e3
	case "M":
		mult = 1e6
	case "G":
		mult = 1e9
	case "T":
		mult = 1e12
	}
	num := s
	if mult > 1 {
		num = s[:len(s)-1]
	}
	n, err := strconv.ParseUint(num, 10, 64)
	if err != nil || n == 0 || n > math.MaxUint64/mult {
		return 0, fmt.Errorf("%q is not a positive size like 50G, 500M or 1000000", s)
	}
	return n * mult, nil
}
