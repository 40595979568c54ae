package main

import (
	"flag"

	"github.com/nuri-ai/nuri/kernels"
	"github.com/nuri-ai/nuri/model"
	"github.com/nuri-ai/nuri/tokenizer"
)

// textRunFlags are the flags of the commands that run a model over a text
// in chunks (perplexity, imatrix), with llama.cpp's short names.
type textRunFlags struct {
	model, file        string
	ctx, batch, chunks int
	threads            int
	lora               []model.LoRA
	normalization      tokenizer.Normalization // of the text (--unicode-normalization)
}

// add registers the flags; fileHelp says what the text is for.
func (t *textRunFlags) add(fs *flag.FlagSet, fileHelp string) {
	fs.StringVar(&t.model, "model", "", "GGUF model file (required)")
	fs.StringVar(&t.model, "m", "", "alias of --model")
	fs.StringVar(&t.file, "file", "", fileHelp+" (- for standard input)")
	fs.StringVar(&t.file, "f", "", "alias of --file")
	fs.IntVar(&t.ctx, "ctx-size", 512, "tokens of each chunk")
	fs.IntVar(&t.ctx, "c", 512, "alias of --ctx-size")
	fs.IntVar(&t.batch, "batch-size", 512, "tokens of each forward pass (at most --ctx-size)")
	fs.IntVar(&t.batch, "b", 512, "alias of --batch-size")
	fs.IntVar(&t.chunks, "chunks", 0, "use at most this many chunks (0: all)")
	fs.IntVar(&t.threads, "threads", kernels.DefaultThreads(), "CPU threads, by default one per physical core this process may use")
	fs.IntVar(&t.threads, "t", kernels.DefaultThreads(), "alias of --threads")
	addLoRAFlags(fs, &t.lora)
	addNormalizationFlag(fs, &t.normalization)
}
