package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/backends/npu"
	"github.com/nuri-ai/nuri/gguf"
	"github.com/nuri-ai/nuri/model"
	"github.com/nuri-ai/nuri/quant"
)

func init() {
	register(command{name: "plan", summary: "estimate the NPU cards a workload needs (roofline model)", run: runPlan})
}

func runPlan(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("plan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("model", "", "GGUF model file (required)")
	device := fs.String("device", "npu:rngd", "device profile: npu:rngd or npu:atom")
	qps := fs.Float64("qps", 0, "requests per second (required)")
	prompt := fs.Int("prompt", 0, "prompt tokens per request (required)")
	output := fs.Int("output", 0, "output tokens per request (required)")
	kvType := fs.String("kv-cache-type", "f16", "KV cache type: f16 or f32")
	block := fs.Int("block-size", 16, "positions per KV block")
	load := fs.Float64("target-load", 0.8, "highest load per replica, in (0, 1]")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: nuri plan --model M --device npu:rngd --qps Q --prompt P --output O")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return flagsError(err)
	}
	if fs.NArg() > 0 || *path == "" || *qps <= 0 || *prompt <= 0 || *output <= 0 || *block <= 0 || *load <= 0 || *load > 1 {
		return usageError(fs, stderr, "--model, and positive --qps, --prompt, --output are required")
	}
	kind, cfg, err := backends.ParseName(*device)
	if err != nil || kind != "npu" {
		fmt.Fprintf(stderr, "nuri plan: --device %q: plan models the NPU profiles (npu:rngd, npu:atom)\n", *device)
		return errUsage
	}
	prof, _, err := npu.ParseConfig(cfg)
	if err != nil {
		return err
	}
	kt, err := quant.ParseType(*kvType)
	if err != nil || (kt != quant.F16 && kt != quant.F32) {
		fmt.Fprintf(stderr, "nuri plan: --kv-cache-type %q: the NPU keeps KV in f16 or f32\n", *kvType)
		return errUsage
	}
	f, err := gguf.Open(*path)
	if err != nil {
		return err
	}
	defer f.Close()
	shape, err := planShape(f)
	if err != nil {
		return fmt.Errorf("%s: %w", *path, err)
	}
	// An architecture Nuri runs gives each layer's cache, windows apart.
	if cfg, err := model.ReadConfig(f); err == nil {
		if full, win, err := model.KVBytesPerPositionWindowed(cfg, model.SameKV(kt), nil); err == nil {
			shape.KVFullBytes, shape.KVWindowBytes, shape.Window = float64(full), float64(win), model.SlidingWindow(cfg)
		}
	}
	w := npu.Workload{QPS: *qps, PromptTokens: *prompt, OutputTokens: *output, KVBytesPerElem: float64(kt.BlockBytes()),
		BlockSize: *block, TargetLoad: *load}
	e, err := npu.Plan(prof, shape, w)
	if err != nil {
		return err
	}
	writePlan(stdout, *path, shape, w, e)
	return nil
}

// planShape reads what the planner needs from the file: the hyper-
// parameters and, tensor by tensor, the parameters multiplied per token
// and the bytes each takes on the chip (int8 plus a scale per row).
func planShape(f *gguf.File) (npu.ModelShape, error) {
	arch := f.Arch()
	get := func(key string) int { return metaInt(f, arch+"."+key) }
	s := npu.ModelShape{NLayer: get("block_count"), NEmbd: get("embedding_length"), NFF: get("feed_forward_length"),
		NHead: get("attention.head_count")}
	s.NHeadKV = get("attention.head_count_kv")
	if s.NHeadKV == 0 {
		s.NHeadKV = s.NHead
	}
	if s.NLayer <= 0 || s.NEmbd <= 0 || s.NHead <= 0 {
		return s, fmt.Errorf("architecture %q: block_count, embedding_length and attention.head_count are required", arch)
	}
	s.HeadDimK, s.HeadDimV = get("attention.key_length"), get("attention.value_length")
	if s.HeadDimK == 0 {
		s.HeadDimK = s.NEmbd / s.NHead
	}
	if s.HeadDimV == 0 {
		s.HeadDimV = s.HeadDimK
	}
	s.VInK = get("attention.kv_lora_rank") > 0 // latent attention caches V inside K
	tied := true
	for _, ti := range f.Tensors {
		cols, rows := int(ti.Dims[0]), 1
		for _, d := range ti.Dims[1:] {
			rows *= int(d)
		}
		s.WeightBytes += float64(npu.DeviceBytes(rows, cols))
		switch {
		case ti.Name == "token_embd.weight":
			s.NVocab = rows
		case ti.Name == "per_layer_token_embd.weight": // a lookup (Gemma 4)
		case ti.Name == "output.weight":
			tied = false
			s.MatrixParams += float64(rows) * float64(cols)
		case rows > 1 && strings.HasSuffix(ti.Name, ".weight"):
			s.MatrixParams += float64(rows) * float64(cols)
		}
	}
	if tied { // the lm_head multiplies by token_embd
		s.MatrixParams += float64(s.NVocab) * float64(s.NEmbd)
	}
	return s, nil
}

func writePlan(w io.Writer, path string, s npu.ModelShape, wl npu.Workload, e npu.Estimate) {
	p := e.Profile
	fmt.Fprintf(w, "model      %s: %d layers, embedding %d, %d/%d heads of %d, vocabulary %d\n",
		path, s.NLayer, s.NEmbd, s.NHead, s.NHeadKV, s.HeadDimK, s.NVocab)
	fmt.Fprintf(w, "           %s parameters multiplied per token, %s on the chip (int8 + per-row scales)\n",
		humanCount(uint64(s.MatrixParams)), humanBytes(uint64(s.WeightBytes)))
	fmt.Fprintf(w, "device     %s\n", p)
	fmt.Fprintf(w, "workload   %g req/s, %d prompt + %d output tokens, KV blocks of %d\n", wl.QPS, wl.PromptTokens, wl.OutputTokens, wl.BlockSize)
	fmt.Fprintln(w)
	fmt.Fprintf(w, "cards      %d  (%d replica(s) × %d card(s); one replica serves up to %.3g req/s at load %.2f)\n",
		e.Cards, e.Replicas, e.CardsPerReplica, e.MaxQPSPerReplica, wl.TargetLoad)
	fmt.Fprintf(w, "KV         %d blocks per card (%s each), %d sequences of %d tokens per replica\n",
		e.KVBlocksPerCard, humanBytes(uint64(e.KVBytesPerBlock)), e.MaxSeqs, wl.PromptTokens+wl.OutputTokens)
	if s.KVWindowBytes > 0 {
		fmt.Fprintf(w, "           sliding-window layers (%s of a position's %s) hold %d positions a sequence\n",
			humanBytes(uint64(s.KVWindowBytes)), humanBytes(uint64(s.KVFullBytes+s.KVWindowBytes)), s.Window)
	}
	fmt.Fprintf(w, "prefill    %v per prompt (%s-bound, padded to %d tokens)\n", e.Prefill, e.PrefillBound, p.Buckets.Pad(wl.PromptTokens))
	fmt.Fprintf(w, "decode     %v per step at batch %.1f (%s-bound)\n", e.Step, e.Batch, e.DecodeBound)
	fmt.Fprintf(w, "TTFT       %v\n", e.TTFT)
	fmt.Fprintf(w, "TPOT       %v  (%.0f output tokens/s over all cards)\n", e.TPOT, e.OutputTokS)
	fmt.Fprintf(w, "load       %.2f per replica\n", e.Load)
}
