package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"go.uber.org/zap"

	"github.com/nuri-ai/nuri/engine"
	"github.com/nuri-ai/nuri/kernels"
	"github.com/nuri-ai/nuri/model"
	"github.com/nuri-ai/nuri/tokenizer"
)

func init() {
	register(command{name: "embed", summary: "print the embeddings of texts (an embedding model's pooled states, llama-embedding)", run: runEmbed})
}

func runEmbed(args []string, stdout, stderr io.Writer) error {
	return embedCmd(args, os.Stdin, stdout, stderr)
}

// embedCmd embeds each text (each line of stdin for "-") in one batch,
// as /v1/embeddings does, and prints one JSON array a line.
func embedCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("embed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("model", "", "GGUF embedding model (required): an encoder such as BGE-M3, or a decoder such as Qwen3-Embedding")
	pooling := fs.String("pooling", "", "last, mean or cls (default: the GGUF's pooling_type, else last)")
	raw := fs.Bool("no-normalize", false, "print the pooled states as they are, not scaled to length 1")
	var normalization tokenizer.Normalization
	addNormalizationFlag(fs, &normalization)
	threads := fs.Int("threads", kernels.DefaultThreads(), "CPU threads")
	fs.String("kv-cache-type", engine.DefaultKVCacheType, "KV cache type of K and V: "+model.KVCacheTypeNames()+" (f32 matches llama.cpp's encoders; -ctk and -ctv give them apart)")
	kvf := addKVTypeFlags(fs, "kv-cache-type")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: nuri embed --model M [--pooling P] [--no-normalize] TEXT...   (TEXT - reads stdin, a text a line)")
		fmt.Fprintln(stderr, "\nPrints one JSON array of floats a line, in the order of the texts.")
		fs.PrintDefaults()
	}
	texts, err := parseInterleaved(fs, args)
	if err != nil {
		return flagsError(err)
	}
	if *path == "" || len(texts) == 0 {
		fs.Usage()
		return errUsage
	}
	kvK, kvV, err := kvf.names(fs, "kv-cache-type")
	if err != nil {
		return fmt.Errorf("embed: %w", err)
	}
	file, err := modelFile(*path)
	if err != nil {
		return err
	}
	*path = file
	if len(texts) == 1 && texts[0] == "-" {
		texts = texts[:0]
		sc := bufio.NewScanner(stdin)
		sc.Buffer(nil, 1<<24)
		for sc.Scan() {
			if line := strings.TrimRight(sc.Text(), "\r"); line != "" {
				texts = append(texts, line)
			}
		}
		if err := sc.Err(); err != nil {
			return fmt.Errorf("read stdin: %w", err)
		}
		if len(texts) == 0 {
			return fmt.Errorf("embed: no text on stdin")
		}
	}
	pool, err := poolingFor(*path, *pooling, zap.NewNop())
	if err != nil {
		return fmt.Errorf("embed: %w", err)
	}
	tok, err := loadTokenizer(*path, normalization)
	if err != nil {
		return fmt.Errorf("embed: %w", err)
	}
	m, err := model.Load(*path, model.LoadOptions{Threads: *threads})
	if err != nil {
		return fmt.Errorf("embed: %w", err)
	}
	defer m.Close()
	e, err := engine.NewEmbedder(m, engine.EmbedderConfig{Pooling: pool, KVCacheType: kvK, KVCacheTypeV: kvV})
	if err != nil {
		return fmt.Errorf("embed: %w", err)
	}
	defer e.Close()
	inputs := make([][]int32, len(texts))
	for i, t := range texts {
		if inputs[i], err = tok.Encode(t, true, false); err != nil {
			return fmt.Errorf("embed: text %d: %w", i, err)
		}
	}
	vs, err := e.EmbedBatch(context.Background(), inputs)
	if err != nil {
		return fmt.Errorf("embed: %w", err)
	}
	w := bufio.NewWriter(stdout)
	enc := json.NewEncoder(w)
	for _, v := range vs {
		if !*raw {
			engine.Normalize(v)
		}
		if err := enc.Encode(v); err != nil {
			return err
		}
	}
	return w.Flush()
}
