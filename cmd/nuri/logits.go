package main

import (
	"bufio"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/nuri-ai/nuri/kernels"
	"github.com/nuri-ai/nuri/model"
)

func init() {
	register(command{name: "logits", summary: "write a model's logits for a token sequence (teacher forcing)", run: runLogits})
}

// logitsConfig is every logits flag, validated.
type logitsConfig struct {
	model, out string
	tokens     []int32
	threads    int
	batch      int
	kvType     model.KVTypes
	kernels    kernels.KernelSet
	lora       []model.LoRA
}

func parseLogits(args []string, stderr io.Writer) (*logitsConfig, error) {
	fs := flag.NewFlagSet("logits", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: nuri logits --model M --tokens 1,2,3 --out FILE [flags]")
		fmt.Fprintln(stderr, "\nWrites float32 little-endian logits, one row of n_vocab per input token")
		fmt.Fprintln(stderr, "(the format of the golden files under testdata/golden).")
		fs.PrintDefaults()
	}
	c := &logitsConfig{}
	var toks, kv string
	fs.StringVar(&c.model, "model", "", "GGUF model file (required)")
	fs.StringVar(&toks, "tokens", "", "comma-separated token ids (required)")
	fs.StringVar(&c.out, "out", "", "output file (required; - for stdout)")
	fs.IntVar(&c.threads, "threads", kernels.DefaultThreads(), "CPU threads, by default one per physical core this process may use")
	fs.IntVar(&c.batch, "batch", 512, "tokens per forward pass")
	fs.StringVar(&kv, "kv-type", "f16", "KV cache type of K and V: "+model.KVCacheTypeNames()+" (-ctk and -ctv give them apart)")
	fs.StringVar(&kv, "kv-cache-type", "f16", "alias of --kv-type (as nuri run spells it)")
	kvf := addKVTypeFlags(fs, "kv-type")
	addLoRAFlags(fs, &c.lora)
	if err := fs.Parse(args); err != nil {
		return nil, flagsError(err)
	}
	fail := func(format string, a ...any) (*logitsConfig, error) {
		return nil, usageError(fs, stderr, format, a...)
	}
	if fs.NArg() > 0 {
		return fail("unexpected arguments %q", fs.Args())
	}
	if c.model == "" || toks == "" || c.out == "" {
		return fail("--model, --tokens and --out are required")
	}
	if c.threads <= 0 || c.batch <= 0 {
		return fail("--threads and --batch must be positive")
	}
	var err error
	if c.tokens, err = parseTokenList(toks); err != nil {
		return fail("--tokens: %v", err)
	}
	if c.kvType, err = kvf.types(fs, "kv-type", "kv-cache-type"); err != nil {
		return fail("%v", err)
	}
	// The library never reads the environment; the command does.
	if c.kernels, err = envKernelSet(); err != nil {
		return fail("%v", err)
	}
	return c, nil
}

// parseTokenList parses "1,2, 3" into ids.
func parseTokenList(s string) ([]int32, error) {
	var ids []int32
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		v, err := strconv.ParseInt(f, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("token %q is not an integer", f)
		}
		ids = append(ids, int32(v))
	}
	return ids, nil
}

func runLogits(args []string, stdout, stderr io.Writer) error {
	c, err := parseLogits(args, stderr)
	if err != nil {
		return err
	}
	t0 := time.Now()
	m, err := model.Load(c.model, model.LoadOptions{Threads: c.threads, Kernels: c.kernels, LoRA: c.lora})
	if err != nil {
		return err
	}
	defer m.Close()
	t1 := time.Now()
	logits, err := logitsForward(m, c.tokens, c.batch, c.kvType)
	if err != nil {
		return err
	}
	t2 := time.Now()
	if err := writeLogits(c.out, logits, stdout); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "%d tokens × %d logits → %s (load %v, forward %v)\n",
		len(c.tokens), m.Config().NVocab, c.out, t1.Sub(t0).Round(time.Millisecond), t2.Sub(t1).Round(time.Millisecond))
	return nil
}

// logitsForward runs tokens as one sequence at positions 0.. in chunks of
// batch and returns every position's logits.
func logitsForward(m model.Model, tokens []int32, batch int, kvType model.KVTypes) ([]float32, error) {
	cfg := m.Config()
	kv, err := model.NewSequenceView(cfg, len(tokens), 16, kvType)
	if err != nil {
		return nil, err
	}
	out := make([]float32, len(tokens)*cfg.NVocab)
	for lo := 0; lo < len(tokens); lo += batch {
		hi := min(lo+batch, len(tokens))
		b := &model.Batch{Tokens: tokens[lo:hi], Pos: make([]int32, hi-lo), Seq: make([]int32, hi-lo), Logits: make([]bool, hi-lo)}
		for i := range b.Pos {
			b.Pos[i] = int32(lo + i)
			b.Logits[i] = true
		}
		if err := m.Forward(b, kv, out[lo*cfg.NVocab:hi*cfg.NVocab]); err != nil {
			return nil, fmt.Errorf("tokens %d..%d: %w", lo, hi-1, err)
		}
	}
	return out, nil
}

// writeLogits writes v as float32 little-endian to path ("-": stdout).
func writeLogits(path string, v []float32, stdout io.Writer) (err error) {
	var w io.Writer = stdout
	if path != "-" {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		defer func() {
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}()
		w = f
	}
	bw := bufio.NewWriter(w)
	var b [4]byte
	for _, x := range v {
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(x))
		if _, err := bw.Write(b[:]); err != nil {
			return err
		}
	}
	return bw.Flush()
}
