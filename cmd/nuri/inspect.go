package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/nuri-ai/nuri/gguf"
	"github.com/nuri-ai/nuri/kernels"
	"github.com/nuri-ai/nuri/model"
	"github.com/nuri-ai/nuri/quant"
)

func init() {
	register(command{name: "inspect", summary: "show a GGUF file's metadata, tokenizer and tensors", run: runInspect})
}

func runInspect(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("inspect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print one JSON object instead of text")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: nuri inspect [--json] FILE.gguf")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return flagsError(err)
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errUsage
	}
	path, err := modelFile(fs.Arg(0))
	if err != nil {
		return err
	}
	f, err := gguf.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := buildInspectReport(path, f)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	return r.writeText(stdout)
}

// inspectReport is everything inspect shows; it is also the --json schema.
type inspectReport struct {
	File         string `json:"file"`
	Size         int64  `json:"size_bytes"`
	Version      uint32 `json:"gguf_version"`
	Alignment    uint64 `json:"alignment"`
	DataOffset   uint64 `json:"data_offset"`
	Parts        int    `json:"parts"` // files of a split model (1: one file)
	Architecture string `json:"architecture"`
	Name         string `json:"name,omitempty"`
	FileType     *int   `json:"file_type,omitempty"`
	// Imatrix describes an importance matrix (general.type "imatrix")
	// instead of a model.
	Imatrix *imatrixSum `json:"imatrix,omitempty"`
	// LoRA summarises a LoRA adapter file (general.type "adapter").
	LoRA         *loraSum     `json:"lora,omitempty"`
	Summary      modelSummary `json:"summary"`
	Hyper        []inspectKV  `json:"hyperparameters"`
	Tokenizer    tokenizerSum `json:"tokenizer"`
	ChatTemplate templateSum  `json:"chat_template"`
	// Sampling is what the model recommends (general.sampling.*), as
	// nuri serve and run apply it; omitted when it says nothing.
	Sampling *samplingSum    `json:"sampling,omitempty"`
	Metadata []inspectKV     `json:"metadata"`
	Tensors  []inspectTensor `json:"tensors"`
	Totals   inspectTotals   `json:"totals"`
}

type imatrixSum struct {
	Matrices  int      `json:"weight_matrices"`
	Chunks    int      `json:"chunks"`
	ChunkSize int      `json:"chunk_size"`
	Datasets  []string `json:"datasets,omitempty"`
}

type loraSum struct {
	Matrices int     `json:"matrices"`
	Ranks    []int   `json:"ranks"` // the distinct ranks, ascending
	Alpha    float32 `json:"alpha"`
}

type modelSummary struct {
	Layers    int `json:"layers"`
	Embedding int `json:"embedding"`
	Heads     int `json:"heads"`
	KVHeads   int `json:"kv_heads"`
	FF        int `json:"feed_forward"`
	Context   int `json:"context"`
	Vocab     int `json:"vocab"`
	// A mixture of experts: ExpertsUsed of Experts, each of ExpertFF.
	Experts     int `json:"experts,omitempty"`
	ExpertsUsed int `json:"experts_used,omitempty"`
	ExpertFF    int `json:"expert_feed_forward,omitempty"`
	// Besides (K-EXAONE, DeepSeek-style): a shared expert of SharedFF, the
	// first DenseLead blocks dense, and NextN trailing multi-token
	// prediction blocks (counted in Layers, never run).
	SharedFF  int `json:"shared_expert_feed_forward,omitempty"`
	DenseLead int `json:"leading_dense_blocks,omitempty"`
	NextN     int `json:"nextn_predict_layers,omitempty"`
	// KV is the KV cache a position takes (F16, host memory) and its
	// windowed layers' part, nil when the file's architecture is not one
	// Nuri runs.
	KV *kvSum `json:"kv_cache,omitempty"`
	// Multi-head latent attention (deepseek2): the KV and query latents'
	// widths and each head's key and value sizes (0: not MLA).
	KVLoRA  int `json:"kv_lora_rank,omitempty"`
	QLoRA   int `json:"q_lora_rank,omitempty"`
	HeadK   int `json:"key_length_mla,omitempty"`
	HeadV   int `json:"value_length_mla,omitempty"`
	RopeDim int `json:"rope_dimension_count,omitempty"`
}

// kvSum is the KV cache of one position: F16 in host memory, across
// every layer with a cache of its own, and of that the sliding-window
// layers' part, which a sequence holds only for its last Window positions.
type kvSum struct {
	BytesPerPosition int `json:"f16_bytes_per_position"`
	WindowedBytes    int `json:"windowed_f16_bytes_per_position,omitempty"`
	WindowedLayers   int `json:"windowed_layers,omitempty"`
	Window           int `json:"sliding_window,omitempty"`
	// ContextBytes: one sequence of the training context, windows held
	// apart (the engine's default) and in one pool.
	ContextBytes        int64 `json:"context_bytes"`
	OnePoolContextBytes int64 `json:"one_pool_context_bytes"`
}

// kvSummary is kvSum for cfg, nil when it cannot be said.
func kvSummary(cfg model.Config) *kvSum {
	full, windowed, err := model.KVBytesPerPositionWindowed(cfg, model.SameKV(quant.F16), nil)
	if err != nil || cfg.Encoder {
		return nil
	}
	k := &kvSum{BytesPerPosition: full + windowed, WindowedBytes: windowed, Window: model.SlidingWindow(cfg)}
	for il := range cfg.NLayer {
		if cfg.Window(il) > 0 && cfg.LayerAttn(il).KVFrom == il {
			k.WindowedLayers++
		}
	}
	k.OnePoolContextBytes = int64(cfg.NCtxTrain) * int64(full+windowed)
	if k.ContextBytes, err = model.KVBytesRead(cfg, model.SameKV(quant.F16), nil, cfg.NCtxTrain-1); err != nil {
		return nil
	}
	return k
}

type inspectKV struct {
	Key   string `json:"key"`
	Type  string `json:"type"`
	Value any    `json:"value"`
	text  string
}

type tokenizerSum struct {
	Model  string `json:"model,omitempty"`
	Pre    string `json:"pre,omitempty"`
	Tokens int    `json:"tokens"`
	Merges int    `json:"merges"`
	BOS    *int   `json:"bos_id,omitempty"`
	EOS    *int   `json:"eos_id,omitempty"`
	EOT    *int   `json:"eot_id,omitempty"`
}

type templateSum struct {
	Present bool `json:"present"`
	Length  int  `json:"length"`
}

type inspectTensor struct {
	Name   string   `json:"name"`
	Type   string   `json:"type"`
	Shape  []uint64 `json:"shape"`
	Bytes  uint64   `json:"bytes"`
	Offset uint64   `json:"offset"`
}

type inspectTotals struct {
	Tensors       int     `json:"tensors"`
	Parameters    uint64  `json:"parameters"`
	ParametersFmt string  `json:"parameters_human"`
	Bytes         uint64  `json:"bytes"`
	BitsPerWeight float64 `json:"bits_per_weight"`
	// TranscodedBytes is what the i-quants below 4 bits take in memory
	// beyond their file bytes once the CPU backend transcodes them at load
	// (kernels.PackedBytes; 0 where this CPU does not).
	TranscodedBytes uint64 `json:"transcoded_bytes,omitempty"`
}

// bigArray is how arrays longer than inlineArray elements are summarised.
type bigArray struct {
	ElemType string `json:"elem_type"`
	Len      int    `json:"len"`
}

const inlineArray = 16

func describeValue(v gguf.Value) (any, string) {
	if v.Type() == gguf.TypeArray && v.Len() > inlineArray {
		return bigArray{ElemType: v.ElemType().String(), Len: v.Len()}, v.String()
	}
	return v.Interface(), v.String()
}

func buildInspectReport(path string, f *gguf.File) *inspectReport {
	arch := f.Arch()
	r := &inspectReport{
		File: path, Size: f.Size(), Version: f.Version, Alignment: f.Alignment,
		DataOffset: f.DataOffset, Parts: f.Parts(), Architecture: arch,
	}
	r.Name, _ = f.String("general.name")
	if kind, _ := f.String("general.type"); kind == "imatrix" {
		im := &imatrixSum{}
		for _, ti := range f.Tensors {
			if strings.HasSuffix(ti.Name, ".in_sum2") {
				im.Matrices++
			}
		}
		if n, ok := f.Uint32("imatrix.chunk_count"); ok {
			im.Chunks = int(n)
		}
		if n, ok := f.Uint32("imatrix.chunk_size"); ok {
			im.ChunkSize = int(n)
		}
		im.Datasets, _ = f.Strings("imatrix.datasets")
		r.Imatrix = im
	}
	if kind, _ := f.String("general.type"); kind == "adapter" {
		r.LoRA = &loraSum{Ranks: []int{}}
		r.LoRA.Alpha, _ = f.Float32("adapter.lora.alpha")
		for _, ti := range f.Tensors {
			if strings.HasSuffix(ti.Name, ".lora_a") && len(ti.Dims) == 2 {
				r.LoRA.Matrices++
				if rank := int(ti.Dims[1]); !slices.Contains(r.LoRA.Ranks, rank) {
					r.LoRA.Ranks = append(r.LoRA.Ranks, rank)
				}
			}
		}
		slices.Sort(r.LoRA.Ranks)
	}
	if ft, ok := f.Int("general.file_type"); ok {
		r.FileType = &ft
	}
	for _, kv := range f.KV {
		val, text := describeValue(kv.Value)
		e := inspectKV{Key: kv.Key, Type: kv.Value.Type().String(), Value: val, text: text}
		switch {
		case arch != "" && strings.HasPrefix(kv.Key, arch+"."):
			r.Hyper = append(r.Hyper, e)
		case strings.HasPrefix(kv.Key, "tokenizer."):
			// summarised below
		default:
			r.Metadata = append(r.Metadata, e)
		}
	}
	geti := func(k string) int { return metaInt(f, arch+"."+k) }
	s := modelSummary{
		Layers: geti("block_count"), Embedding: geti("embedding_length"), Heads: geti("attention.head_count"),
		KVHeads: geti("attention.head_count_kv"), FF: geti("feed_forward_length"), Context: geti("context_length"),
		Vocab: geti("vocab_size"), Experts: geti("expert_count"), ExpertsUsed: geti("expert_used_count"),
		ExpertFF: geti("expert_feed_forward_length"), SharedFF: geti("expert_shared_feed_forward_length"),
		DenseLead: geti("leading_dense_block_count"), NextN: geti("nextn_predict_layers"),
		KVLoRA: geti("attention.kv_lora_rank"), QLoRA: geti("attention.q_lora_rank"),
		HeadK: geti("attention.key_length_mla"), HeadV: geti("attention.value_length_mla"),
	}
	if s.KVLoRA > 0 {
		s.RopeDim = geti("rope.dimension_count")
		if s.SharedFF == 0 { // deepseek2 counts its shared experts instead
			s.SharedFF = s.ExpertFF * geti("expert_shared_count")
		}
	}
	toks, _ := f.Strings("tokenizer.ggml.tokens")
	if s.Vocab == 0 {
		s.Vocab = len(toks)
	}
	if emb, ok := f.Tensor("token_embd.weight"); s.Vocab == 0 && ok && len(emb.Dims) == 2 {
		s.Vocab = int(emb.Dims[1])
	}
	if cfg, err := model.ReadConfig(f); err == nil {
		s.KV = kvSummary(cfg)
	}
	r.Summary = s

	ts := &r.Tokenizer
	ts.Model, _ = f.String("tokenizer.ggml.model")
	ts.Pre, _ = f.String("tokenizer.ggml.pre")
	ts.Tokens = len(toks)
	if m, ok := f.Get("tokenizer.ggml.merges"); ok {
		ts.Merges = m.Len()
	}
	idOf := func(k string) *int {
		if n, ok := f.Int("tokenizer.ggml." + k); ok {
			return &n
		}
		return nil
	}
	ts.BOS, ts.EOS, ts.EOT = idOf("bos_token_id"), idOf("eos_token_id"), idOf("eot_token_id")
	if tpl, ok := f.String("tokenizer.chat_template"); ok {
		r.ChatTemplate = templateSum{Present: true, Length: len(tpl)}
	}
	if d := f.SamplingDefaults(); d.Any() || len(d.Unused) > 0 || len(d.Invalid) > 0 {
		r.Sampling = &samplingSum{Temp: d.Temp, TopK: d.TopK, TopP: d.TopP, MinP: d.MinP, RepeatPenalty: d.PenaltyRepeat,
			RepeatLastN: d.PenaltyLastN, FrequencyPenalty: d.PenaltyFreq, PresencePenalty: d.PenaltyPresent, Unused: d.Unused, Invalid: d.Invalid}
	}

	tot := &r.Totals
	for i := range f.Tensors {
		ti := &f.Tensors[i]
		r.Tensors = append(r.Tensors, inspectTensor{Name: ti.Name, Type: ti.Type.String(), Shape: ti.Dims, Bytes: ti.Bytes(), Offset: ti.Offset})
		tot.Parameters += ti.Elements()
		tot.Bytes += ti.Bytes()
		if quant.IQTranscodable(ti.Type) && len(ti.Dims) == 2 && ti.Dims[1] > 1 {
			if pb := kernels.PackedBytes(ti.Type, int(ti.Dims[1]), int(ti.Dims[0])); pb > ti.Bytes() {
				tot.TranscodedBytes += pb - ti.Bytes()
			}
		}
	}
	tot.Tensors = len(f.Tensors)
	tot.ParametersFmt = humanCount(tot.Parameters)
	if tot.Parameters > 0 {
		tot.BitsPerWeight = 8 * float64(tot.Bytes) / float64(tot.Parameters)
	}
	return r
}

// humanCount formats a parameter count the way model cards do: "1.24 B".
func humanCount(n uint64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2f B", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.2f M", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.2f K", float64(n)/1e3)
	}
	return fmt.Sprintf("%d", n)
}

// humanBytes formats a byte count in binary units.
func humanBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, suffix := float64(n), "KMGTPE"
	i := -1
	for v >= unit && i+1 < len(suffix) {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.2f %ciB", v, suffix[i])
}

func shapeString(d []uint64) string {
	parts := make([]string, len(d))
	for i, x := range d {
		parts[i] = fmt.Sprint(x)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func optInt(p *int) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprint(*p)
}

func (r *inspectReport) writeText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	p := func(format string, args ...any) { fmt.Fprintf(tw, format, args...) }
	if r.Parts > 1 {
		p("file:\t%s (first of %d parts, %s in all, GGUF v%d, alignment %d, data at byte %d)\n", r.File, r.Parts, humanBytes(uint64(r.Size)), r.Version, r.Alignment, r.DataOffset)
	} else {
		p("file:\t%s (%s, GGUF v%d, alignment %d, data at byte %d)\n", r.File, humanBytes(uint64(r.Size)), r.Version, r.Alignment, r.DataOffset)
	}
	arch := r.Architecture
	if arch == "" {
		arch = "(none)"
	}
	p("arch:\t%s\n", arch)
	if r.Name != "" {
		p("name:\t%s\n", r.Name)
	}
	if r.FileType != nil {
		if name, ok := quant.FileTypeName(uint32(*r.FileType)); ok {
			p("file type:\t%d (%s)\n", *r.FileType, name)
		} else {
			p("file type:\t%d\n", *r.FileType)
		}
	}
	switch {
	case r.Imatrix != nil:
		im := r.Imatrix
		p("importance matrix:\t%d weight matrices, %d chunks of %d tokens, datasets %s\n", im.Matrices, im.Chunks, im.ChunkSize, strings.Join(im.Datasets, ", "))
	case r.LoRA != nil:
		l := r.LoRA
		p("lora adapter:\t%d matrices, ranks %v, alpha %g (nuri serve --lora or --lora-modules, nuri quantize --lora)\n", l.Matrices, l.Ranks, l.Alpha)
	default:
		r.writeModel(p)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return r.writeRest(tw, p)
}

// writeModel writes the lines that describe a model.
func (r *inspectReport) writeModel(p func(string, ...any)) {
	s := r.Summary
	layers := fmt.Sprintf("%d layers", s.Layers)
	if s.NextN > 0 {
		layers = fmt.Sprintf("%d layers (+%d multi-token prediction, not run)", s.Layers-s.NextN, s.NextN)
	}
	p("model:\t%s, embedding %d, %d heads, %d KV heads, feed-forward %d, context %d, vocab %d\n",
		layers, s.Embedding, s.Heads, s.KVHeads, s.FF, s.Context, s.Vocab)
	if s.KVLoRA > 0 {
		q := "queries from the stream"
		if s.QLoRA > 0 {
			q = fmt.Sprintf("query latent %d", s.QLoRA)
		}
		p("attention:\tmulti-head latent: KV latent %d, heads of %d (%d rotated) with values of %d, %s\n",
			s.KVLoRA, s.HeadK, s.RopeDim, s.HeadV, q)
	}
	if k := s.KV; k != nil {
		line := fmt.Sprintf("%s a position (f16)", humanBytes(uint64(k.BytesPerPosition)))
		if k.WindowedBytes > 0 {
			line += fmt.Sprintf(", %s of it in %d windowed layers (window %d): a %d-token sequence takes %s (%s in one pool)",
				humanBytes(uint64(k.WindowedBytes)), k.WindowedLayers, k.Window, s.Context, humanBytes(uint64(k.ContextBytes)), humanBytes(uint64(k.OnePoolContextBytes)))
		} else {
			line += fmt.Sprintf(": a %d-token sequence takes %s", s.Context, humanBytes(uint64(k.ContextBytes)))
		}
		p("kv cache:\t%s\n", line)
	}
	if s.Experts > 0 {
		line := fmt.Sprintf("%d of %d a token, feed-forward %d each", s.ExpertsUsed, s.Experts, s.ExpertFF)
		if s.SharedFF > 0 {
			line += fmt.Sprintf(", a shared expert of %d", s.SharedFF)
		}
		if s.DenseLead > 0 {
			line += fmt.Sprintf("; dense layers first: %d", s.DenseLead)
		}
		p("experts:\t%s\n", line)
	}
	t := r.Tokenizer
	p("tokenizer:\tmodel %s, pre %s, %d tokens, %d merges, bos %s, eos %s, eot %s\n",
		orDash(t.Model), orDash(t.Pre), t.Tokens, t.Merges, optInt(t.BOS), optInt(t.EOS), optInt(t.EOT))
	if r.ChatTemplate.Present {
		p("chat template:\tpresent (%d bytes)\n", r.ChatTemplate.Length)
	} else {
		p("chat template:\tnone\n")
	}
	if r.Sampling != nil {
		p("sampling:\t%s\n", r.Sampling)
	}
}

// samplingSum is the model's recommended sampling (gguf.SamplingDefaults).
type samplingSum struct {
	Temp             *float32 `json:"temp,omitempty"`
	TopK             *int     `json:"top_k,omitempty"`
	TopP             *float32 `json:"top_p,omitempty"`
	MinP             *float32 `json:"min_p,omitempty"`
	RepeatPenalty    *float32 `json:"penalty_repeat,omitempty"`
	RepeatLastN      *int     `json:"penalty_last_n,omitempty"`
	FrequencyPenalty *float32 `json:"penalty_freq,omitempty"`
	PresencePenalty  *float32 `json:"penalty_present,omitempty"`
	Unused           []string `json:"unused,omitempty"`  // keys of samplers Nuri lacks
	Invalid          []string `json:"invalid,omitempty"` // keys left out, with why
}

// String is the one-line form: "temp 0.6, top_k 20 (unused: ...)".
func (s *samplingSum) String() string {
	var parts []string
	f := func(name string, v *float32) {
		if v != nil {
			parts = append(parts, fmt.Sprintf("%s %g", name, *v))
		}
	}
	i := func(name string, v *int) {
		if v != nil {
			parts = append(parts, fmt.Sprintf("%s %d", name, *v))
		}
	}
	f("temp", s.Temp)
	i("top_k", s.TopK)
	f("top_p", s.TopP)
	f("min_p", s.MinP)
	f("penalty_repeat", s.RepeatPenalty)
	i("penalty_last_n", s.RepeatLastN)
	f("penalty_freq", s.FrequencyPenalty)
	f("penalty_present", s.PresencePenalty)
	out := strings.Join(parts, ", ")
	if out == "" {
		out = "none Nuri applies"
	}
	if len(s.Unused) > 0 {
		out += " (not applied: " + strings.Join(s.Unused, ", ") + ")"
	}
	if len(s.Invalid) > 0 {
		out += " (invalid: " + strings.Join(s.Invalid, "; ") + ")"
	}
	return out
}

// writeRest writes the metadata sections, the tensors and the totals.
func (r *inspectReport) writeRest(tw *tabwriter.Writer, p func(string, ...any)) error {
	section := func(title string, kvs []inspectKV) {
		if len(kvs) == 0 {
			return
		}
		p("\n%s:\n", title)
		for _, kv := range kvs {
			p("  %s\t%s\t%s\n", kv.Key, kv.Type, kv.text)
		}
	}
	section("hyper-parameters", r.Hyper)
	section("other metadata", r.Metadata)
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.Tensors) > 0 {
		p("\ntensors:\n  name\ttype\tshape\tbytes\n")
		for _, x := range r.Tensors {
			p("  %s\t%s\t%s\t%d\n", x.Name, x.Type, shapeString(x.Shape), x.Bytes)
		}
	}
	tot := r.Totals
	p("\ntotals:\t%d tensors, %s parameters (%d), %s (%d bytes)", tot.Tensors, tot.ParametersFmt, tot.Parameters, humanBytes(tot.Bytes), tot.Bytes)
	if tot.Parameters > 0 {
		p(", %.2f bits per weight (%.3f bytes per weight)", tot.BitsPerWeight, tot.BitsPerWeight/8)
	}
	if tot.TranscodedBytes > 0 {
		p("; on this CPU the i-quants are transcoded at load and take %s more (%s in memory)",
			humanBytes(tot.TranscodedBytes), humanBytes(tot.Bytes+tot.TranscodedBytes))
	}
	p("\n")
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// metaInt reads an integer hyper-parameter, 0 when absent; of one value a
// layer (Gemma 4's KV heads and feed-forward widths), the largest, which
// bounds what any layer needs.
func metaInt(f *gguf.File, key string) int {
	if v, ok := f.Int(key); ok {
		return v
	}
	vs, _ := f.Int32s(key)
	m := 0
	for _, v := range vs {
		m = max(m, int(v))
	}
	return m
}
