package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/nuri-ai/nuri/gguf"
	"github.com/nuri-ai/nuri/kernels"
	"github.com/nuri-ai/nuri/model"
	"github.com/nuri-ai/nuri/quant"
)

func init() {
	register(command{name: "quantize", summary: "convert an F32/F16/BF16 GGUF to a quantized type or mix", run: runQuantize})
}

// quantizeOptions are the flags of `nuri quantize`.
type quantizeOptions struct {
	plan    quant.PlanOptions
	threads int
	// requant lets quantized tensors be converted (dequantized first), as
	// llama-quantize's --allow-requantize does.
	requant bool
	// imatrix is the importance matrix file (--imatrix), read into im.
	imatrix string
	im      *gguf.Imatrix
	// include and exclude narrow the tensors the matrix is used for
	// (llama-quantize's --include-weights/--exclude-weights: substrings of
	// the names).
	include, exclude []string
	// dryRun prints the plan and the output's size instead of writing it
	// (llama-quantize --dry-run).
	dryRun bool
	// lora are adapters merged into the weights they adapt (--lora,
	// --lora-scaled), as llama-export-lora does, before quantizing.
	lora []model.LoRA
	// fits are the scale searches in assembly where the CPU (and
	// NURI_KERNELS) allows, with the Go loops' bits.
	fits quant.Fits
	// leaveOutput keeps output.weight in its own type
	// (--leave-output-tensor).
	leaveOutput bool
	// overrides are metadata pairs set in the output (--override-kv).
	overrides []gguf.KV
	// keepSplit writes a split input as parts of the same tensors
	// (--keep-split).
	keepSplit bool
}

func runQuantize(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("quantize", flag.ContinueOnError)
	fs.SetOutput(stderr)
	pure := fs.Bool("pure", false, "give every quantizable 2-D weight TYPE (no llama-quantize per-tensor choices)")
	fallback := fs.String("fallback", "", "type for tensors whose row length does not fit TYPE's blocks ('auto': llama.cpp's choice); without it such tensors are an error")
	threads := fs.Int("threads", runtime.GOMAXPROCS(0), "worker goroutines")
	requant := fs.Bool("allow-requantize", false, "convert tensors that are already quantized too (dequantized first; the errors of both quantizations add up)")
	imatrix := fs.String("imatrix", "", "importance matrix from nuri imatrix or llama-imatrix (GGUF or the older .dat): the quantizers weigh each column by it, as llama-quantize --imatrix does")
	var rules []quant.TensorTypeRule
	fs.Func("tensor-type", "PATTERN=TYPE: tensors whose name matches the regular expression get TYPE (repeatable, the last match wins; not with --pure), as llama-quantize's", func(v string) error {
		r, err := quant.ParseTensorTypeRule(v)
		if err == nil {
			rules = append(rules, r)
		}
		return err
	})
	var include, exclude []string
	fs.Func("include-weights", "use the importance matrix only for tensors whose name contains this (repeatable)", func(v string) error {
		include = append(include, v)
		return nil
	})
	fs.Func("exclude-weights", "do not use the importance matrix for tensors whose name contains this (repeatable)", func(v string) error {
		exclude = append(exclude, v)
		return nil
	})
	var lora []model.LoRA
	addLoRAFlags(fs, &lora)
	dryRun := fs.Bool("dry-run", false, "print each tensor's new type, the output's size and whether an importance matrix is needed, without quantizing (llama-quantize --dry-run); OUT.gguf may be left out")
	outType := fs.String("output-tensor-type", "", "type of output.weight (with tied embeddings, of token_embd.weight as the recipe sees it)")
	leaveOutput := fs.Bool("leave-output-tensor", false, "keep output.weight in its own type, not (re)quantized (llama-quantize's flag): a larger file, sometimes a better one, above all when requantizing")
	var overrides []gguf.KV
	fs.Func("override-kv", "KEY=TYPE:VALUE: set a metadata key in the output, TYPE int, float, bool or str (repeatable; int is stored as the uint32 of its absolute value and float as float32, as llama-quantize stores them)", func(v string) error {
		kv, err := parseKVOverride(v)
		if err == nil {
			overrides = append(overrides, kv)
		}
		return err
	})
	keepSplit := fs.Bool("keep-split", false, "write a split model's quantized tensors into as many parts as it came in, each tensor in the part of its input's, named OUT-0000i-of-0000N.gguf (llama-quantize's flag)")
	embType := fs.String("token-embedding-type", "", "type of token_embd.weight")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: nuri quantize [--pure] [--fallback TYPE|auto] [--allow-requantize] [--imatrix FILE [--include-weights S|--exclude-weights S]...]")
		fmt.Fprintln(stderr, "       [--lora FILE | --lora-scaled FILE:SCALE]... (merged into the weights first)")
		fmt.Fprintln(stderr, "       [--tensor-type PATTERN=TYPE]... [--output-tensor-type TYPE | --leave-output-tensor] [--token-embedding-type TYPE]")
		fmt.Fprintln(stderr, "       [--override-kv KEY=TYPE:VALUE]... [--keep-split] [--threads N] [--dry-run] IN.gguf OUT.gguf TYPE [THREADS]")
		fmt.Fprintln(stderr, "TYPE: F32 F16 BF16 Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q8_1 Q2_K Q3_K Q4_K Q5_K Q6_K Q8_K IQ4_NL IQ4_XS,")
		fmt.Fprintln(stderr, "      or a mix: Q2_K_S Q3_K_S Q3_K_M Q3_K_L Q4_K_S Q4_K_M Q5_K_S Q5_K_M (Q3_K/Q4_K/Q5_K without --pure mean the _M mixes, as in llama-quantize),")
		fmt.Fprintln(stderr, "      IQ3_XXS IQ3_XS IQ3_S IQ3_M IQ2_XXS IQ2_XS IQ2_S IQ2_M IQ1_S IQ1_M (all but IQ3_S and IQ3_M need --imatrix, as in llama-quantize)")
		fs.PrintDefaults()
	}
	pos, err := quantizeParseArgs(fs, args)
	if err != nil {
		return flagsError(err)
	}
	if *dryRun && len(pos) == 2 {
		pos = []string{pos[0], "", pos[1]}
	}
	if len(pos) == 4 { // llama-quantize's [nthreads]
		n, err := strconv.Atoi(pos[3])
		if err != nil || n <= 0 {
			return usageError(fs, stderr, "the fourth argument is the thread count, got %q", pos[3])
		}
		*threads, pos = n, pos[:3]
	}
	if len(pos) != 3 {
		return usageError(fs, stderr, "want 3 arguments, got %d", len(pos))
	}
	mix, err := quant.ParseMix(pos[2])
	if err != nil {
		fmt.Fprintf(stderr, "nuri quantize: %v\n", err)
		return errUsage
	}
	opt := quantizeOptions{plan: quant.PlanOptions{Pure: *pure, TensorTypes: rules, Importance: *imatrix != ""},
		threads: max(1, *threads), requant: *requant, imatrix: *imatrix, dryRun: *dryRun, leaveOutput: *leaveOutput, overrides: overrides, keepSplit: *keepSplit}
	if *leaveOutput && *outType != "" {
		fmt.Fprintln(stderr, "nuri quantize: give --leave-output-tensor or --output-tensor-type, not both")
		return errUsage
	}
	for _, o := range []struct {
		flag, v string
		t       *quant.Type
		set     *bool
	}{
		{"--output-tensor-type", *outType, &opt.plan.OutputType, &opt.plan.HasOutputType},
		{"--token-embedding-type", *embType, &opt.plan.TokenEmbdType, &opt.plan.HasTokenEmbdType},
	} {
		if o.v == "" {
			continue
		}
		t, err := quant.ParseType(o.v)
		if err != nil || !quant.Supported(t) {
			fmt.Fprintf(stderr, "nuri quantize: %s %q is not a supported type\n", o.flag, o.v)
			return errUsage
		}
		*o.t, *o.set = t, true
	}
	opt.include, opt.exclude, opt.lora = include, exclude, lora
	switch {
	case len(include) > 0 && len(exclude) > 0:
		fmt.Fprintln(stderr, "nuri quantize: give --include-weights or --exclude-weights, not both (as in llama-quantize)")
		return errUsage
	case (len(include) > 0 || len(exclude) > 0) && opt.imatrix == "":
		fmt.Fprintln(stderr, "nuri quantize: --include-weights and --exclude-weights need --imatrix")
		return errUsage
	}
	if *pure && len(rules) > 0 {
		fmt.Fprintln(stderr, "nuri quantize: --tensor-type does nothing with --pure (as in llama-quantize)")
		return errUsage
	}
	switch {
	case *fallback == "":
	case strings.EqualFold(*fallback, "auto"):
		opt.plan.Fallback = quant.FallbackAuto
	default:
		t, err := quant.ParseType(*fallback)
		if err != nil || !quant.Supported(t) {
			fmt.Fprintf(stderr, "nuri quantize: --fallback %q is not a supported type\n", *fallback)
			return errUsage
		}
		opt.plan.Fallback, opt.plan.FallbackTo = quant.FallbackType, t
	}
	if opt.imatrix != "" {
		if opt.im, err = gguf.ReadImatrix(opt.imatrix); err != nil {
			return err
		}
	}
	ks, err := envKernelSet()
	if err != nil {
		return err
	}
	opt.fits = kernels.VecOpsFor(ks).Fits()
	return quantizeFile(pos[0], pos[1], mix, opt, stdout, stderr)
}

// quantizeParseArgs lets flags appear before, between or after the
// positional arguments (flag.Parse stops at the first positional one).
func quantizeParseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// quantizeModelInfo reads the hyper-parameters llama-quantize's type choice
// looks at. Head counts may be per-layer arrays; layer 0 counts, as in
// llama.cpp's n_gqa().
func quantizeModelInfo(f *gguf.File) quant.MixModel {
	arch := f.Arch()
	num := func(key string) int {
		if v, ok := f.Uint32(key); ok {
			return int(v)
		}
		if a, ok := f.Int32s(key); ok && len(a) > 0 {
			return int(a[0])
		}
		return 0
	}
	m := quant.MixModel{
		Arch:    arch,
		NLayer:  num(arch + ".block_count"),
		NHead:   num(arch + ".attention.head_count"),
		NHeadKV: num(arch + ".attention.head_count_kv"),
		NExpert: num(arch + ".expert_count"),
	}
	if m.NHeadKV == 0 {
		m.NHeadKV = m.NHead // llama.cpp's default when the key is absent
	}
	return m
}

// quantizeFile writes out: in's metadata and tensors, retyped by mix, in
// llama-quantize's tensor order. Tensor data is streamed a chunk of rows at
// a time, so memory stays small whatever the model size.
func quantizeFile(in, out string, mix quant.Mix, opt quantizeOptions, stdout, stderr io.Writer) (err error) {
	f, err := gguf.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	if out != "" && f.Reads(out) {
		return fmt.Errorf("output %s is a file of the input model", out)
	}

	specs := make([]quant.TensorSpec, len(f.Tensors))
	for i, ti := range f.Tensors {
		specs[i] = quant.TensorSpec{Name: ti.Name, Dims: ti.Dims, Type: ti.Type}
	}
	merges, err := loraMerges(f, opt.lora)
	if err != nil {
		return err
	}
	types, err := mix.PlanTypes(quantizeModelInfo(f), specs, opt.plan)
	if err != nil {
		var rs *quant.RowSizeError
		if errors.As(err, &rs) {
			return fmt.Errorf("%w; pass --fallback TYPE (or --fallback auto) to store such tensors in another type", err)
		}
		return err
	}
	if opt.leaveOutput {
		for i, ti := range f.Tensors {
			if ti.Name == "output.weight" {
				types[i] = ti.Type
			}
		}
	}
	requantized := 0
	for i, ti := range f.Tensors {
		if types[i] == ti.Type && len(merges[ti.Name]) == 0 {
			continue
		}
		if ti.Type != quant.F32 && ti.Type != quant.F16 && ti.Type != quant.BF16 {
			if !opt.requant {
				return fmt.Errorf("tensor %s is %v: converting quantized tensors to %v needs --allow-requantize (quality suffers: both quantizations' errors add up)", ti.Name, ti.Type, types[i])
			}
			if !quant.CanDequantize(ti.Type) {
				return fmt.Errorf("tensor %s: cannot convert %v to %v: Nuri cannot dequantize %v", ti.Name, ti.Type, types[i], ti.Type)
			}
			requantized++
		}
		if cols := ti.Dims[0]; cols%uint64(mix.Default.BlockSize()) != 0 {
			fmt.Fprintf(stderr, "nuri quantize: tensor %s: row length %d is not a multiple of %v's block size, stored as %v\n", ti.Name, cols, mix.Default, types[i])
		}
	}
	if requantized > 0 {
		fmt.Fprintf(stderr, "nuri quantize: requantizing %d tensors that are already quantized; the result is worse than quantizing from F16/BF16/F32\n", requantized)
	}
	importance, err := quantizeImportance(f, types, opt.im, opt.include, opt.exclude, stderr)
	if err != nil {
		return err
	}
	order := llamaOrder(f)
	parts := quantizeParts(f, out, order, opt.keepSplit)
	if opt.dryRun {
		if err := quantizePlanReport(stdout, f, mix, types, importance, order); err != nil {
			return err
		}
		if len(parts) > 1 {
			for i, p := range parts {
				fmt.Fprintf(stdout, "part %d of %d: %d tensors", i+1, len(parts), len(p.tensors))
				if out != "" {
					fmt.Fprintf(stdout, " -> %s", p.path)
				}
				fmt.Fprintln(stdout)
			}
		}
		return nil
	}
	if needs := missingImportance(f, mix, types, importance, order); len(needs) > 0 {
		i := needs[0]
		how := "pass --imatrix FILE (nuri imatrix computes one from a calibration text)"
		if opt.im != nil {
			how = "the importance matrix has no entry for it, or --include-weights/--exclude-weights left it out"
		}
		return fmt.Errorf("tensor %s: %v needs an importance matrix, as in llama-quantize: %s", f.Tensors[i].Name, types[i], how)
	}

	for _, p := range parts {
		if f.Reads(p.path) {
			return fmt.Errorf("output %s is a file of the input model", p.path)
		}
	}
	if opt.keepSplit && len(parts) == 1 {
		fmt.Fprintf(stderr, "nuri quantize: --keep-split: %s is one file, so %s is too\n", in, out)
	}
	var written []string
	defer func() {
		if err != nil {
			for _, p := range written {
				os.Remove(p) // never leave a truncated model behind
			}
		}
	}()
	var total, inBytes, outBytes uint64
	for _, ti := range f.Tensors {
		total += ti.Elements()
	}
	prog := newQuantizeProgress(stderr, total)
	for pi, part := range parts {
		written = append(written, part.path)
		ib, ob, err := quantizePart(f, part, pi, len(parts), mix, types, importance, merges, opt, prog)
		if err != nil {
			prog.finish(false)
			return err
		}
		inBytes += ib
		outBytes += ob
	}
	prog.finish(true)
	if len(parts) > 1 {
		out = fmt.Sprintf("%s (%d parts)", strings.Join(written, ", "), len(parts))
	}
	fmt.Fprintf(stdout, "%s: %d tensors, %s, %.2f MiB -> %.2f MiB\n", out, len(order), mix.Name,
		float64(inBytes)/(1<<20), float64(outBytes)/(1<<20))
	if len(merges) > 0 {
		fmt.Fprintf(stdout, "merged %d LoRA adapters into %d tensors\n", len(opt.lora), len(merges))
	}
	return nil
}

// quantizePartOut is one file nuri quantize writes: its path and its
// tensors (indices into the input's), in the order they are written.
type quantizePartOut struct {
	path    string
	tensors []int
}

// quantizeParts divides the tensors, in order, among the files to write:
// all into out, or with keepSplit (llama-quantize's --keep-split) each
// into the part of the output that matches the input's part holding it,
// named as gguf-split names parts, with out less its ".gguf" (and any
// "-0000i-of-0000N") as the prefix.
func quantizeParts(f *gguf.File, out string, order []int, keepSplit bool) []quantizePartOut {
	n := f.Parts()
	if !keepSplit || n == 1 {
		return []quantizePartOut{{path: out, tensors: order}}
	}
	prefix := filepath.Join(filepath.Dir(out), gguf.ModelName(out))
	parts := make([]quantizePartOut, n)
	for p := range parts {
		parts[p].path = gguf.SplitPath(prefix, p, n)
	}
	for _, i := range order {
		p := f.Tensors[i].Part()
		parts[p].tensors = append(parts[p].tensors, i)
	}
	return parts
}

// quantizePart writes part pi of n (n 1: the whole model in one file):
// the first carries the metadata, every part of several the split keys.
// It returns the bytes of tensor data read and written.
func quantizePart(f *gguf.File, part quantizePartOut, pi, n int, mix quant.Mix, types []quant.Type, importance [][]float32, merges map[string][]loraMerge, opt quantizeOptions, prog *quantizeProgress) (inBytes, outBytes uint64, err error) {
	w, err := gguf.Create(part.path)
	if err != nil {
		return 0, 0, err
	}
	defer func() {
		if cerr := w.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}()
	if pi == 0 {
		if err := quantizeHeader(w, f, mix); err != nil {
			return 0, 0, err
		}
		for _, kv := range opt.overrides { // after the file type, as llama-quantize sets them
			if err := w.Set(kv.Key, kv.Value); err != nil {
				return 0, 0, err
			}
		}
		if opt.im != nil {
			if err := imatrixKeys(w, opt.imatrix, opt.im); err != nil {
				return 0, 0, err
			}
		}
	} else if a, ok := f.Get("general.alignment"); ok {
		if err := w.Set("general.alignment", a); err != nil {
			return 0, 0, err
		}
	}
	if n > 1 {
		if err := w.SetSplitKeys(pi, n, len(f.Tensors)); err != nil {
			return 0, 0, err
		}
	}
	for _, i := range part.tensors {
		ti := &f.Tensors[i]
		if err := w.AddTensor(ti.Name, types[i], ggmlDims(ti.Dims)...); err != nil {
			return 0, 0, err
		}
	}
	for _, i := range part.tensors {
		ti := &f.Tensors[i]
		prog.tensor(ti.Name, types[i])
		nb, err := quantizeTensor(w, f.TensorData(ti), ti, types[i], importance[i], merges[ti.Name], opt, prog)
		if err != nil {
			return 0, 0, fmt.Errorf("%s: tensor %s: %w", part.path, ti.Name, err)
		}
		inBytes += ti.Bytes()
		outBytes += nb
	}
	return inBytes, outBytes, nil
}

// llamaOrder returns f's tensor indices in llama-quantize's order.
func llamaOrder(f *gguf.File) []int {
	order := make([]int, len(f.Tensors))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		return quant.LlamaTensorLess(f.Tensors[order[a]].Name, f.Tensors[order[b]].Name)
	})
	return order
}

// missingImportance returns, in order, the tensors whose new type needs an
// importance matrix that they have none of (llama-quantize's
// tensor_requires_imatrix).
func missingImportance(f *gguf.File, mix quant.Mix, types []quant.Type, importance [][]float32, order []int) []int {
	var needs []int
	for _, i := range order {
		ti := &f.Tensors[i]
		if types[i] != ti.Type && importance[i] == nil && mix.RequiresImportance(ti.Name, types[i]) {
			needs = append(needs, i)
		}
	}
	return needs
}

// quantizePlanReport is --dry-run's output: each tensor's type before and
// after with its new size, in llama-quantize's order, the totals, and the
// tensors that would stop the run for want of an importance matrix.
func quantizePlanReport(w io.Writer, f *gguf.File, mix quant.Mix, types []quant.Type, importance [][]float32, order []int) error {
	var inBytes, outBytes, elems uint64
	for _, i := range order {
		ti := &f.Tensors[i]
		n := ti.Bytes()
		if types[i] != ti.Type {
			rb, err := types[i].RowBytes(int(ti.Dims[0]))
			if err != nil {
				return fmt.Errorf("tensor %s: %w", ti.Name, err)
			}
			n = uint64(rb) * (ti.Elements() / ti.Dims[0])
		}
		fmt.Fprintf(w, "%-40s %-18s %7s -> %-7s %10.2f MiB\n", ti.Name, fmt.Sprint(ti.Dims), ti.Type, types[i], float64(n)/(1<<20))
		inBytes += ti.Bytes()
		outBytes += n
		elems += ti.Elements()
	}
	fmt.Fprintf(w, "%d tensors, %s: %.2f MiB -> %.2f MiB (%.2f bits a weight)\n", len(order), mix.Name,
		float64(inBytes)/(1<<20), float64(outBytes)/(1<<20), 8*float64(outBytes)/float64(max(elems, 1)))
	if needs := missingImportance(f, mix, types, importance, order); len(needs) > 0 {
		fmt.Fprintf(w, "an importance matrix is needed for %d tensors (the first: %s): pass --imatrix FILE\n", len(needs), f.Tensors[needs[0]].Name)
	}
	return nil
}

// loraMerge is one adapter's term on one tensor: scale·B·A, A (rank×in)
// and B (out×rank) as float32.
type loraMerge struct {
	a, b  []float32
	rank  int
	scale float32
}

// loraMerges reads the adapters' pairs for merging into f's tensors, by
// tensor name, checking each against the tensor it adapts.
func loraMerges(f *gguf.File, adapters []model.LoRA) (map[string][]loraMerge, error) {
	out := map[string][]loraMerge{}
	for _, ad := range adapters {
		if err := addLoRAMerges(out, f, ad); err != nil {
			return nil, fmt.Errorf("lora adapter %s: %w", ad.Path, err)
		}
	}
	return out, nil
}

func addLoRAMerges(out map[string][]loraMerge, f *gguf.File, ad model.LoRA) error {
	l, err := gguf.OpenLoRA(ad.Path)
	if err != nil {
		return err
	}
	defer l.Close()
	if l.Arch() != f.Arch() {
		return fmt.Errorf("adapter for %q, the model is %q", l.Arch(), f.Arch())
	}
	for _, name := range l.Names() {
		p := l.Pairs[name]
		ti, ok := f.Tensor(name)
		switch {
		case !ok:
			return fmt.Errorf("adapts %s, which the model does not have", name)
		case name == "token_embd.weight":
			return fmt.Errorf("adapts the token embedding, which Nuri does not merge")
		case len(ti.Dims) != 2 || ti.Dims[0] != uint64(p.In) || ti.Dims[1] != uint64(p.Out):
			return fmt.Errorf("%s's pair makes [%d, %d], the tensor is %v", name, p.In, p.Out, ti.Dims)
		}
		m := loraMerge{a: make([]float32, p.Rank*p.In), b: make([]float32, p.Out*p.Rank), rank: p.Rank, scale: l.Scale(ad.Scale, p.Rank)}
		if err := quant.Dequantize(p.A.Type, l.TensorData(p.A), m.a); err != nil {
			return fmt.Errorf("%s.lora_a: %w", name, err)
		}
		if err := quant.Dequantize(p.B.Type, l.TensorData(p.B), m.b); err != nil {
			return fmt.Errorf("%s.lora_b: %w", name, err)
		}
		out[name] = append(out[name], m)
	}
	return nil
}

// addLoRARow adds the merges' row r to x (a row of the tensor they adapt).
func addLoRARow(x []float32, r int, merges []loraMerge) {
	for _, m := range merges {
		for k := range m.rank {
			c := m.scale * m.b[r*m.rank+k]
			if c == 0 {
				continue
			}
			a := m.a[k*len(x) : (k+1)*len(x)]
			for i := range x {
				x[i] += float32(c * a[i])
			}
		}
	}
}

// quantizeHeader declares the output's metadata and tensor infos. Like
// llama-quantize it copies every key but the split ones, then sets
// general.quantization_version and general.file_type (removed and appended,
// as gguf_set_val does, so the key order matches llama.cpp's files).
func quantizeHeader(w *gguf.Writer, f *gguf.File, mix quant.Mix) error {
	if err := w.CopyKVs(f, gguf.IsSplitKey); err != nil {
		return err
	}
	const qv, ft = "general.quantization_version", "general.file_type"
	if err := w.Delete(qv); err != nil {
		return err
	}
	if err := w.Set(qv, gguf.Uint32(2)); err != nil { // GGML_QNT_VERSION
		return err
	}
	if err := w.Delete(ft); err != nil {
		return err
	}
	if mix.HasFileType {
		if err := w.Set(ft, gguf.Uint32(mix.FileType)); err != nil {
			return err
		}
	}
	return nil
}

// ggmlDims drops trailing dimensions of 1, as llama-quantize writes every
// tensor (ggml_n_dims: a converter's [256, 1] classifier output becomes
// [256]), keeping at least one.
func ggmlDims(d []uint64) []uint64 {
	n := len(d)
	for n > 1 && d[n-1] == 1 {
		n--
	}
	return d[:n]
}

// quantizeTensor streams one tensor's data in type to: a copy when the type
// does not change and no adapter is merged, else rows converted to
// float32, the merges added, and quantized by
// opt.threads workers, a chunk of rows at a time. It returns the bytes
// written.
func quantizeTensor(w io.Writer, src []byte, ti *gguf.TensorInfo, to quant.Type, importance []float32, merges []loraMerge, opt quantizeOptions, prog *quantizeProgress) (uint64, error) {
	threads := opt.threads
	cols := 1
	if len(ti.Dims) > 0 {
		cols = int(ti.Dims[0])
	}
	rows := int(ti.Rows())
	// Rows of one expert: an expert tensor's importance has a row of
	// columns per expert.
	expertRows := rows
	if len(ti.Dims) > 2 {
		expertRows = int(ti.Dims[1])
	}
	if (to == ti.Type && len(merges) == 0) || rows == 0 || cols == 0 {
		const piece = 4 << 20
		for off := 0; off < len(src); off += piece {
			end := min(len(src), off+piece)
			if _, err := w.Write(src[off:end]); err != nil {
				return 0, err
			}
			prog.add(uint64(end-off) * ti.Elements() / uint64(max(1, len(src))))
		}
		return uint64(len(src)), nil
	}
	inRow, err := ti.Type.RowBytes(cols)
	if err != nil {
		return 0, err
	}
	outRow, err := to.RowBytes(cols)
	if err != nil {
		return 0, err
	}
	// About 4 MiB of output per chunk, and at least one row per worker.
	chunk := max(threads, (4<<20)/max(1, outRow))
	buf := make([]byte, min(chunk, rows)*outRow)
	scratch := make([][]float32, threads)
	for i := range scratch {
		scratch[i] = make([]float32, cols)
	}
	var written uint64
	for r0 := 0; r0 < rows; r0 += chunk {
		n := min(chunk, rows-r0)
		errs := make([]error, threads)
		var wg sync.WaitGroup
		per := (n + threads - 1) / threads
		for t := 0; t < threads; t++ {
			lo, hi := t*per, min(n, (t+1)*per)
			if lo >= hi {
				break
			}
			wg.Add(1)
			go func(t, lo, hi int) {
				defer wg.Done()
				x := scratch[t]
				q := quant.Quantizer{Fits: opt.fits}
				for r := lo; r < hi; r++ {
					row := src[(r0+r)*inRow : (r0+r+1)*inRow]
					if err := quant.Dequantize(ti.Type, row, x); err != nil {
						errs[t] = err
						return
					}
					addLoRARow(x, r0+r, merges)
					var imp []float32
					if importance != nil {
						e := (r0 + r) / max(1, expertRows)
						imp = importance[e*cols : (e+1)*cols]
					}
					if err := q.QuantizeRow(to, x, buf[r*outRow:(r+1)*outRow], imp); err != nil {
						errs[t] = err
						return
					}
				}
			}(t, lo, hi)
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return written, err
		}
		if _, err := w.Write(buf[:n*outRow]); err != nil {
			return written, err
		}
		written += uint64(n * outRow)
		prog.add(uint64(n * cols))
	}
	return written, nil
}

// quantizeImportance finds each tensor's importance in im (nil where there
// is no matrix, the type takes none or the tensor keeps its type), as
// llama-quantize does: by the tensor's name, one value per column and
// expert, a size that does not fit being an error. It reports on stderr
// how many tensors have one and which do not.
func quantizeImportance(f *gguf.File, types []quant.Type, im *gguf.Imatrix, include, exclude []string, stderr io.Writer) ([][]float32, error) {
	out := make([][]float32, len(f.Tensors))
	if im == nil {
		return out, nil
	}
	contains := func(name string, subs []string) bool {
		for _, s := range subs {
			if strings.Contains(name, s) {
				return true
			}
		}
		return false
	}
	var missing []string
	used, left := 0, 0
	for i, ti := range f.Tensors {
		if types[i] == ti.Type || !quant.TakesImportance(types[i]) || len(ti.Dims) < 2 {
			continue
		}
		if (len(include) > 0 && !contains(ti.Name, include)) || contains(ti.Name, exclude) {
			left++
			continue
		}
		v, ok := im.Entries[ti.Name]
		if !ok {
			missing = append(missing, ti.Name)
			continue
		}
		experts := uint64(1)
		if len(ti.Dims) > 2 {
			experts = ti.Dims[2]
		}
		if want := ti.Dims[0] * experts; uint64(len(v)) != want {
			if ti.Name == "token_embd.weight" {
				// llama-quantize lets this one pass: an entry for the
				// embedding describes its lookups, not its columns.
				missing = append(missing, ti.Name)
				continue
			}
			return nil, fmt.Errorf("tensor %s: the importance matrix has %d values, the tensor %d columns × %d experts (an imatrix of another model?)",
				ti.Name, len(v), ti.Dims[0], experts)
		}
		out[i] = v
		used++
	}
	fmt.Fprintf(stderr, "nuri quantize: importance matrix (%d entries, %d chunks) used for %d tensors", len(im.Entries), im.Chunks, used)
	if left > 0 {
		fmt.Fprintf(stderr, "; %d left out by --include-weights/--exclude-weights", left)
	}
	if len(missing) > 0 {
		shown := missing[:min(len(missing), 4)]
		more := ""
		if len(missing) > len(shown) {
			more = fmt.Sprintf(" and %d more", len(missing)-len(shown))
		}
		fmt.Fprintf(stderr, "; none for %d (%s%s), quantized without", len(missing), strings.Join(shown, ", "), more)
	}
	fmt.Fprintln(stderr)
	switch {
	case used == 0 && left > 0:
		return nil, fmt.Errorf("--include-weights/--exclude-weights leave no tensor for the importance matrix")
	case used == 0:
		return nil, fmt.Errorf("the importance matrix names none of the tensors being quantized (an imatrix of another model?)")
	}
	return out, nil
}

// imatrixKeys records the importance matrix in the output's metadata
// under llama-quantize's keys, which model pages and tools read.
func imatrixKeys(w *gguf.Writer, path string, im *gguf.Imatrix) error {
	set := func(key string, v gguf.Value) error {
		if err := w.Delete(key); err != nil { // a requantized input may carry them
			return err
		}
		return w.Set(key, v)
	}
	if err := set("quantize.imatrix.file", gguf.String(path)); err != nil {
		return err
	}
	if len(im.Datasets) > 0 {
		if err := set("quantize.imatrix.dataset", gguf.String(im.Datasets[0])); err != nil {
			return err
		}
	}
	if err := set("quantize.imatrix.entries_count", gguf.Int32(int32(len(im.Entries)))); err != nil {
		return err
	}
	if im.Chunks > 0 {
		return set("quantize.imatrix.chunks_count", gguf.Int32(int32(im.Chunks)))
	}
	return nil
}

// quantizeProgress is the progress bar of nuri quantize (progress: a bar
// on a terminal, a line every 10 % in a log), with the tensor being
// written after it.
type quantizeProgress struct {
	bar         *progress
	total, done uint64
}

func newQuantizeProgress(w io.Writer, total uint64) *quantizeProgress {
	return &quantizeProgress{bar: newProgress(w, "quantize"), total: max(1, total)}
}

func (p *quantizeProgress) tensor(name string, t quant.Type) {
	p.bar.detail = fmt.Sprintf("%s -> %v", name, t)
	p.bar.update(p.done, p.total)
}

func (p *quantizeProgress) add(n uint64) {
	p.done = min(p.total, p.done+n)
	p.bar.update(p.done, p.total)
}

// finish ends the bar: at 100 % when the file was written.
func (p *quantizeProgress) finish(ok bool) {
	if ok {
		p.bar.detail = "done"
		p.bar.update(p.total, p.total)
	}
	p.bar.finish(ok)
}

// parseKVOverride reads llama-quantize's --override-kv KEY=TYPE:VALUE
// (TYPE int, float, bool or str) as the pair llama-quantize writes: an
// int as the uint32 of its absolute value, a float as float32.
func parseKVOverride(v string) (gguf.KV, error) {
	key, rest, ok := strings.Cut(v, "=")
	typ, val, ok2 := strings.Cut(rest, ":")
	if !ok || !ok2 || key == "" {
		return gguf.KV{}, fmt.Errorf("want KEY=TYPE:VALUE, got %q", v)
	}
	var value gguf.Value
	switch typ {
	case "int":
		n, err := strconv.ParseInt(val, 10, 64)
		if err != nil || n > math.MaxUint32 || n < -math.MaxUint32 {
			return gguf.KV{}, fmt.Errorf("%s: %q is not an integer of 32 bits", key, val)
		}
		value = gguf.Uint32(uint32(max(n, -n)))
	case "float":
		x, err := strconv.ParseFloat(val, 64)
		if err != nil {
			return gguf.KV{}, fmt.Errorf("%s: %q is not a number", key, val)
		}
		value = gguf.Float32(float32(x))
	case "bool":
		if val != "true" && val != "false" {
			return gguf.KV{}, fmt.Errorf("%s: %q is not true or false", key, val)
		}
		value = gguf.Bool(val == "true")
	case "str":
		value = gguf.String(val)
	default:
		return gguf.KV{}, fmt.Errorf("%s: type %q is not int, float, bool or str", key, typ)
	}
	return gguf.KV{Key: key, Value: value}, nil
}
