package quant

import (
	"fmt"
	"regexp"
	"strings"
)

// Quantization mixes: which type each tensor of a model gets, as llama.cpp's
// llama-quantize decides it (src/llama-quant.cpp: tensor_allows_quantization,
// llama_tensor_get_type_impl, tensor_type_fallback, and the overrides of
// --tensor-type, --output-tensor-type and --token-embedding-type). The
// model is described by plain values so the chooser does not depend on the
// GGUF package; `nuri quantize` and `nuri synth` both use it.

// fileType is llama.cpp's llama_ftype (general.file_type).
type fileType uint32

const (
	ftypeF32   fileType = 0
	ftypeF16   fileType = 1
	ftypeQ4_0  fileType = 2
	ftypeQ4_1  fileType = 3
	ftypeQ8_0  fileType = 7
	ftypeQ5_0  fileType = 8
	ftypeQ5_1  fileType = 9
	ftypeQ2_K  fileType = 10
	ftypeQ3_KS fileType = 11
	ftypeQ3_KM fileType = 12
	ftypeQ3_KL fileType = 13
	ftypeQ4_KS fileType = 14
	ftypeQ4_KM fileType = 15
	ftypeQ5_KS fileType = 16
	ftypeQ5_KM fileType = 17
	ftypeQ6_K  fileType = 18
	// The i-quant recipes and Q2_K_S.
	ftypeIQ2XXS fileType = 19
	ftypeIQ2XS  fileType = 20
	ftypeQ2_KS  fileType = 21
	ftypeIQ3XS  fileType = 22
	ftypeIQ3XXS fileType = 23
	ftypeIQ1S   fileType = 24
	ftypeIQ4NL  fileType = 25
	ftypeIQ3S   fileType = 26
	ftypeIQ3M   fileType = 27
	ftypeIQ2S   fileType = 28
	ftypeIQ2M   fileType = 29
	ftypeIQ4XS  fileType = 30
	ftypeIQ1M   fileType = 31
	ftypeBF16   fileType = 32
)

// Mix is a quantization recipe: a llama.cpp file type (its default tensor
// type plus the per-tensor adjustments of llama-quantize), or a bare type
// that has no llama.cpp file type (Q8_1, Q8_K), which is always pure.
type Mix struct {
	Name        string
	Default     Type   // the type of ordinary weight matrices
	FileType    uint32 // general.file_type to record; valid when HasFileType
	HasFileType bool
	ftype       fileType
}

// mixTable lists the supported recipes; the aliases Q3_K, Q4_K and Q5_K
// mean Q3_K_M, Q4_K_M and Q5_K_M, as in llama-quantize's command line.
func mixTable() []Mix {
	m := func(name string, def Type, ft fileType) Mix {
		return Mix{Name: name, Default: def, FileType: uint32(ft), HasFileType: true, ftype: ft}
	}
	return []Mix{
		m("F32", F32, ftypeF32), m("F16", F16, ftypeF16), m("BF16", BF16, ftypeBF16),
		m("Q4_0", Q4_0, ftypeQ4_0), m("Q4_1", Q4_1, ftypeQ4_1),
		m("Q5_0", Q5_0, ftypeQ5_0), m("Q5_1", Q5_1, ftypeQ5_1), m("Q8_0", Q8_0, ftypeQ8_0),
		m("Q2_K", Q2_K, ftypeQ2_K), m("Q2_K_S", Q2_K, ftypeQ2_KS),
		m("Q3_K_S", Q3_K, ftypeQ3_KS), m("Q3_K_M", Q3_K, ftypeQ3_KM), m("Q3_K_L", Q3_K, ftypeQ3_KL),
		m("Q4_K_S", Q4_K, ftypeQ4_KS), m("Q4_K_M", Q4_K, ftypeQ4_KM),
		m("Q5_K_S", Q5_K, ftypeQ5_KS), m("Q5_K_M", Q5_K, ftypeQ5_KM),
		m("Q6_K", Q6_K, ftypeQ6_K),
		m("IQ4_NL", IQ4_NL, ftypeIQ4NL), m("IQ4_XS", IQ4_XS, ftypeIQ4XS),
		m("IQ3_XXS", IQ3_XXS, ftypeIQ3XXS), m("IQ3_XS", IQ3_S, ftypeIQ3XS), m("IQ3_S", IQ3_S, ftypeIQ3S), m("IQ3_M", IQ3_S, ftypeIQ3M),
		m("IQ2_XXS", IQ2_XXS, ftypeIQ2XXS), m("IQ2_XS", IQ2_XS, ftypeIQ2XS), m("IQ2_S", IQ2_XS, ftypeIQ2S), m("IQ2_M", IQ2_S, ftypeIQ2M),
		m("IQ1_S", IQ1_S, ftypeIQ1S), m("IQ1_M", IQ1_M, ftypeIQ1M),
		m("Q3_K", Q3_K, ftypeQ3_KM), m("Q4_K", Q4_K, ftypeQ4_KM), m("Q5_K", Q5_K, ftypeQ5_KM),
		{Name: "Q8_1", Default: Q8_1}, {Name: "Q8_K", Default: Q8_K},
	}
}

// ParseMix maps a recipe or type name (case-insensitive) to its Mix.
func ParseMix(name string) (Mix, error) {
	var names []string
	for _, m := range mixTable() {
		if strings.EqualFold(m.Name, name) {
			return m, nil
		}
		names = append(names, m.Name)
	}
	if t, err := ParseType(name); err == nil && CanDequantize(t) && !Supported(t) {
		return Mix{}, fmt.Errorf("quantization type %v can be read but not written by Nuri (known: %s)", t, strings.Join(names, ", "))
	}
	return Mix{}, fmt.Errorf("unknown quantization type %q (known: %s)", name, strings.Join(names, ", "))
}

// FileTypeName returns the recipe name of a general.file_type value
// ("Q4_K_M" for 15, not its alias Q4_K), or false.
func FileTypeName(ft uint32) (string, bool) {
	for _, m := range mixTable() {
		if m.HasFileType && m.FileType == ft {
			return m.Name, true
		}
	}
	return "", false
}

// MixModel is what the type choice reads from the model's hyper-parameters.
type MixModel struct {
	Arch    string // general.architecture
	NLayer  int    // {arch}.block_count
	NHead   int    // {arch}.attention.head_count (of layer 0)
	NHeadKV int    // {arch}.attention.head_count_kv (of layer 0)
	NExpert int    // {arch}.expert_count, 0 for dense models
}

func (m MixModel) nGQA() int {
	if m.NHeadKV <= 0 {
		return 0
	}
	return m.NHead / m.NHeadKV
}

// is70B mirrors llama.cpp's LLM_TYPE_70B test, the only model size the
// quantizer looks at.
func (m MixModel) is70B() bool { return m.Arch == "llama" && m.NLayer == 80 && m.NHead != m.NHeadKV }

// TensorSpec describes one tensor to be (re)typed.
type TensorSpec struct {
	Name string
	Dims []uint64 // ggml ne, innermost first
	Type Type     // its current type
}

// FallbackMode says what happens to a tensor whose row length is not a
// multiple of the chosen type's block size.
type FallbackMode int

const (
	FallbackNone FallbackMode = iota // fail with a *RowSizeError
	FallbackAuto                     // llama.cpp's chain (Q4_K→Q5_0, Q6_K→Q8_0, …, then F16)
	FallbackType                     // use PlanOptions.FallbackTo
)

// PlanOptions adjusts PlanTypes.
type PlanOptions struct {
	// Pure gives every quantizable tensor the mix's default type, skipping
	// llama-quantize's per-tensor choices (llama-quantize --pure).
	Pure       bool
	Fallback   FallbackMode
	FallbackTo Type
	// TensorTypes override the recipe's choice for the tensors whose name
	// a rule's pattern matches (anywhere in it; the last matching rule
	// wins), as llama-quantize --tensor-type does: not with Pure, and not
	// for a tensor whose rows needed a fallback type.
	TensorTypes []TensorTypeRule
	// OutputType and TokenEmbdType, where Has… is set, are the types of
	// output.weight and token_embd.weight whatever the recipe or Pure says
	// (--output-tensor-type, --token-embedding-type). With tied embeddings
	// the recipe gives token_embd.weight the output type, as llama.cpp does.
	OutputType, TokenEmbdType       Type
	HasOutputType, HasTokenEmbdType bool
	// Importance says an importance matrix is given (llama-quantize
	// --imatrix): some recipes then choose other types (llama.cpp's
	// has_imatrix), whether or not it covers every tensor.
	Importance bool
}

// TensorTypeRule is one --tensor-type override: tensors whose name
// Pattern matches get Type.
type TensorTypeRule struct {
	Pattern *regexp.Regexp
	Type    Type
}

// ParseTensorTypeRule parses llama-quantize's PATTERN=TYPE (the pattern
// a regular expression, lower-cased as llama-quantize does).
func ParseTensorTypeRule(s string) (TensorTypeRule, error) {
	pat, typ, ok := strings.Cut(s, "=")
	if !ok || pat == "" || typ == "" {
		return TensorTypeRule{}, fmt.Errorf("tensor type %q: want PATTERN=TYPE (e.g. attn_v=q8_0)", s)
	}
	re, err := regexp.Compile(strings.ToLower(pat))
	if err != nil {
		return TensorTypeRule{}, fmt.Errorf("tensor type %q: %w", s, err)
	}
	t, err := ParseType(typ)
	if err != nil || !Supported(t) {
		return TensorTypeRule{}, fmt.Errorf("tensor type %q: %q is not a supported type", s, typ)
	}
	return TensorTypeRule{Pattern: re, Type: t}, nil
}

// RowSizeError reports a tensor whose rows do not fit a type's blocks.
type RowSizeError struct {
	Tensor string
	Cols   uint64
	Type   Type
}

func (e *RowSizeError) Error() string {
	return fmt.Sprintf("tensor %s: row length %d is not a multiple of %v's block size %d",
		e.Tensor, e.Cols, e.Type, e.Type.BlockSize())
}

// PlanTypes returns the type each tensor gets under mix m (same order as
// tensors). Tensors llama-quantize does not quantize (1-D, norms, names on
// its exclusion list) keep their current type. The per-tensor choices depend
// on how many attn_v/ffn_down tensors came before, so they are made in
// llama-quantize's processing order (LlamaTensorLess).
func (m Mix) PlanTypes(model MixModel, tensors []TensorSpec, opt PlanOptions) ([]Type, error) {
	st := mixState{model: model, ftype: m.ftype, nFFNDown: model.NLayer, tiedEmbd: true}
	for _, t := range tensors {
		c := categoryOf(t.Name)
		if c.isAttnV() {
			st.nAttnV++
		}
		if c == catOutput {
			st.tiedEmbd = false
		}
	}
	order := make([]int, len(tensors))
	for i := range order {
		order[i] = i
	}
	sortStable(order, func(a, b int) bool { return LlamaTensorLess(tensors[a].Name, tensors[b].Name) })

	out := make([]Type, len(tensors))
	for _, i := range order {
		t := tensors[i]
		if !allowsQuantization(t) {
			out[i] = t.Type
			continue
		}
		nt := m.Default
		if m.Default.Traits().Quantized {
			if !opt.Pure && m.HasFileType {
				nt = st.choose(nt, t, categoryOf(t.Name), opt)
			}
			fitted, err := applyFallback(t, nt, opt)
			if err != nil {
				return nil, err
			}
			if fitted == nt && !opt.Pure {
				for _, r := range opt.TensorTypes {
					if r.Pattern.MatchString(t.Name) {
						fitted = r.Type
					}
				}
			}
			nt = fitted
		}
		switch {
		case opt.HasTokenEmbdType && t.Name == "token_embd.weight":
			nt = opt.TokenEmbdType
		case opt.HasOutputType && t.Name == "output.weight":
			nt = opt.OutputType
		}
		if nt.Traits().Quantized && t.Dims[0]%uint64(nt.BlockSize()) != 0 {
			// Only an override can get here: the recipe's choices went
			// through applyFallback.
			return nil, &RowSizeError{Tensor: t.Name, Cols: t.Dims[0], Type: nt}
		}
		out[i] = nt
	}
	return out, nil
}

// LlamaTensorLess orders tensor names as llama.cpp's model loader does
// (weight_name_comparer): by the layer number of "blk.N." (-1 for tensors
// outside the blocks), then by name. llama-quantize writes in this order.
func LlamaTensorLess(a, b string) bool {
	la, lb := layerOf(a), layerOf(b)
	if la != lb {
		return la < lb
	}
	return a < b
}

// layerOf parses the N of a "blk.N" prefix like sscanf("blk.%d."), or -1.
func layerOf(name string) int {
	rest, ok := strings.CutPrefix(name, "blk.")
	if !ok {
		return -1
	}
	neg := false
	if rest != "" && (rest[0] == '-' || rest[0] == '+') {
		neg = rest[0] == '-'
		rest = rest[1:]
	}
	n, digits := 0, 0
	for digits < len(rest) && rest[digits] >= '0' && rest[digits] <= '9' && n < 1<<30 {
		n = n*10 + int(rest[digits]-'0')
		digits++
	}
	if digits == 0 {
		return -1
	}
	if neg {
		n = -n
	}
	return n
}

func sortStable(idx []int, less func(a, b int) bool) {
	// insertion sort keeps this file free of a sort import for a few
	// hundred tensors; stable, so equal names keep their file order.
	for i := 1; i < len(idx); i++ {
		for j := i; j > 0 && less(idx[j], idx[j-1]); j-- {
			idx[j], idx[j-1] = idx[j-1], idx[j]
		}
	}
}

// nDims is ggml_n_dims: trailing dimensions of size 1 do not count.
func nDims(dims []uint64) int {
	for i := len(dims) - 1; i >= 1; i-- {
		if dims[i] > 1 {
			return i + 1
		}
	}
	return 1
}

// allowsQuantization is tensor_allows_quantization: only 2-D and 3-D
// tensors named "*weight" that are not on llama.cpp's exclusion list.
func allowsQuantization(t TensorSpec) bool {
	if nDims(t.Dims) < 2 || !strings.HasSuffix(t.Name, "weight") {
		return false
	}
	if t.Name == "position_embd.weight" || t.Name == "token_types.weight" {
		return false
	}
	excluded := [...]string{
		"_norm.weight", "ffn_gate_inp.weight", "ffn_gate_tid2eid.weight", "altup", "laurel",
		"per_layer_model_proj", "ssm_conv1d", "shortconv.conv.weight",
		"indexer.k_proj.weight", "indexer.q_proj.weight",
		"time_mix_first.weight", "time_mix_w0.weight", "time_mix_w1.weight", "time_mix_w2.weight",
		"time_mix_v0.weight", "time_mix_v1.weight", "time_mix_v2.weight", "time_mix_a0.weight",
		"time_mix_a1.weight", "time_mix_a2.weight", "time_mix_g1.weight", "time_mix_g2.weight",
		"time_mix_decay_w1.weight", "time_mix_decay_w2.weight", "time_mix_lerp_fused.weight",
		"attn_rel_b.weight", ".position_embd", "sam.pos_embd", "sam.neck.", "sam.net_",
		".rel_pos", ".patch_embd", ".patch_merger", "a.rvq.codebook", "mm.a.code_embd",
	}
	for _, s := range excluded {
		if strings.Contains(t.Name, s) {
			return false
		}
	}
	return true
}

// applyFallback handles rows that do not fit nt's blocks.
func applyFallback(t TensorSpec, nt Type, opt PlanOptions) (Type, error) {
	cols := t.Dims[0]
	if cols%uint64(nt.BlockSize()) == 0 {
		return nt, nil
	}
	switch opt.Fallback {
	case FallbackType:
		if cols%uint64(opt.FallbackTo.BlockSize()) != 0 {
			return 0, &RowSizeError{Tensor: t.Name, Cols: cols, Type: opt.FallbackTo}
		}
		return opt.FallbackTo, nil
	case FallbackAuto:
		var fb Type
		switch nt {
		case Q2_K, Q3_K:
			fb = Q4_0
		case Q4_K:
			fb = Q5_0
		case Q5_K:
			fb = Q5_1
		case Q6_K:
			fb = Q8_0
		case IQ4_XS:
			fb = IQ4_NL
		default:
			return 0, fmt.Errorf("tensor %s: no fallback is defined for type %v (row length %d)", t.Name, nt, cols)
		}
		if cols%uint64(fb.BlockSize()) != 0 {
			fb = F16 // llama.cpp's last resort for unusual shapes
		}
		return fb, nil
	}
	return 0, &RowSizeError{Tensor: t.Name, Cols: cols, Type: nt}
}
