package inproc

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/nuri-ai/nuri/gguf"
	"github.com/nuri-ai/nuri/kernels"
	"github.com/nuri-ai/nuri/quant"
)

// ModelInfo is what the model benchmark knows about a GGUF file before
// running it: llama-bench's model, size and params columns, and the bytes a
// single-token decode step must read from memory.
type ModelInfo struct {
	Path      string `json:"path"`
	Name      string `json:"name"` // llama-bench's "model" column: "llama 1.2B Q4_0"
	Arch      string `json:"arch"`
	FileType  string `json:"file_type"`
	SizeBytes uint64 `json:"size_bytes"` // all tensor data, as llama-bench's size
	Params    uint64 `json:"params"`     // all tensor elements, as llama-bench's params
	// ActiveParams are the elements a token computes with: Params, less
	// the experts a mixture of experts does not route it to.
	ActiveParams uint64 `json:"active_params"`
	// DecodeWeightBytes is the weight data one decode step reads: every
	// tensor once, except that the token embedding contributes one row
	// when a separate output matrix exists (a lookup, not a matmul). With
	// tied embeddings the embedding matrix is the output matrix and is read
	// whole. Of a mixture of experts' expert tensors (*_exps), a token
	// reads the experts it is routed to: expert_used_count of
	// expert_count. Gemma 4's per-layer token embeddings are a lookup
	// too (one row), and its shared-KV layers' K/V weights are never read.
	DecodeWeightBytes uint64 `json:"decode_weight_bytes"`
	// OutputBytes is the part of DecodeWeightBytes that is the output
	// (lm_head) matrix.
	OutputBytes uint64 `json:"output_bytes"`
	// DecodeTranscodedBytes is what a decode step reads beyond
	// DecodeWeightBytes when the packed kernels run: the i-quants below 4
	// bits are transcoded at load into larger records
	// (kernels.PackedBytes).
	DecodeTranscodedBytes uint64 `json:"decode_transcoded_bytes,omitempty"`
	// TypeBytes is the tensor data by storage type, for the kernels used.
	TypeBytes map[string]uint64 `json:"type_bytes"`
	Tied      bool              `json:"tied_embeddings"`
}

// InspectModel reads the GGUF header of path (no tensor data).
func InspectModel(path string) (ModelInfo, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return ModelInfo{}, fmt.Errorf("inspect %s: %w", path, err)
	}
	defer f.Close()
	return inspectFile(f, path)
}

func inspectFile(f *gguf.File, path string) (ModelInfo, error) {
	info := ModelInfo{Path: path, Arch: f.Arch(), TypeBytes: map[string]uint64{}}
	_, hasOutput := f.Tensor("output.weight")
	info.Tied = !hasOutput
	experts, _ := f.Uint32(info.Arch + ".expert_count")
	used, _ := f.Uint32(info.Arch + ".expert_used_count")
	// Trailing multi-token prediction blocks are stored but never run.
	blocks, _ := f.Int(info.Arch + ".block_count")
	nextn, _ := f.Int(info.Arch + ".nextn_predict_layers")
	sharedKV, _ := f.Int(info.Arch + ".attention.shared_kv_layers")
	matrixBytes := map[quant.Type]uint64{} // 2-D weights, for naming the file type
	for i := range f.Tensors {
		ti := &f.Tensors[i]
		n := ti.Bytes()
		if n == 0 && ti.Elements() != 0 {
			return ModelInfo{}, fmt.Errorf("inspect %s: tensor %s: unknown size for type %v", path, ti.Name, ti.Type)
		}
		info.SizeBytes += n
		info.Params += ti.Elements()
		info.TypeBytes[ti.Type.String()] += n
		if len(ti.Dims) >= 2 {
			matrixBytes[ti.Type] += n
		}
		var il int
		_, err := fmt.Sscanf(ti.Name, "blk.%d.", &il)
		if err == nil && nextn > 0 && il >= blocks-nextn {
			continue
		}
		if err == nil && sharedKV > 0 && il >= blocks-sharedKV && unreadInSharedKV(ti.Name) {
			continue
		}
		info.ActiveParams += ti.Elements()
		var extra uint64 // the transcoded records' bytes beyond the file's
		if quant.IQTranscodable(ti.Type) && len(ti.Dims) == 2 {
			if pb := kernels.PackedBytes(ti.Type, int(ti.Dims[1]), int(ti.Dims[0])); pb > n {
				extra = pb - n
			}
		}
		switch {
		case ti.Name == "per_layer_token_embd.weight":
			if r := ti.Rows(); r > 0 {
				info.DecodeWeightBytes += n / r
				info.ActiveParams -= ti.Elements() / r * (r - 1)
			}
		case ti.Name == "token_embd.weight" && hasOutput:
			if r := ti.Rows(); r > 0 {
				info.DecodeWeightBytes += n / r
			}
		case ti.Name == "token_embd.weight" || ti.Name == "output.weight":
			info.DecodeWeightBytes += n
			info.OutputBytes += n
			info.DecodeTranscodedBytes += extra
		case strings.HasSuffix(ti.Name, "_exps.weight") && experts > 0 && used <= experts:
			info.DecodeWeightBytes += n / uint64(experts) * uint64(used)
			info.ActiveParams -= ti.Elements() / uint64(experts) * uint64(experts-used)
			info.DecodeTranscodedBytes += extra / uint64(experts) * uint64(used)
		default:
			info.DecodeWeightBytes += n
			info.DecodeTranscodedBytes += extra
		}
	}
	info.FileType = fileTypeName(f, matrixBytes)
	label, ok := f.String("general.size_label")
	if !ok || label == "" {
		label = sizeLabel(info.Params)
	}
	info.Name = fmt.Sprintf("%s %s %s", info.Arch, label, info.FileType)
	return info, nil
}

// unreadInSharedKV reports whether a block tensor is one a Gemma 4
// shared-KV layer carries but never reads (its own K/V projections).
func unreadInSharedKV(name string) bool {
	for _, suffix := range []string{".attn_k.weight", ".attn_v.weight", ".attn_k_norm.weight"} {
		if strings.HasSuffix(name, suffix) {
			return true
		}
	}
	return false
}

// fileTypeName names general.file_type as llama-quantize does, or, for a
// file without one, the storage type holding the most matrix bytes.
func fileTypeName(f *gguf.File, matrixBytes map[quant.Type]uint64) string {
	if ft, ok := f.Uint32("general.file_type"); ok {
		if name, ok := quant.FileTypeName(ft); ok {
			return name
		}
	}
	types := make([]quant.Type, 0, len(matrixBytes))
	for t := range matrixBytes {
		types = append(types, t)
	}
	sort.Slice(types, func(i, j int) bool {
		if matrixBytes[types[i]] != matrixBytes[types[j]] {
			return matrixBytes[types[i]] > matrixBytes[types[j]]
		}
		return types[i] < types[j]
	})
	if len(types) == 0 {
		return "?"
	}
	return types[0].String()
}

// sizeLabel writes a parameter count the way model names do: 1.2B, 260K.
func sizeLabel(n uint64) string {
	v := float64(n)
	for _, u := range []struct {
		div    float64
		suffix string
	}{{1e12, "T"}, {1e9, "B"}, {1e6, "M"}, {1e3, "K"}} {
		if v >= u.div {
			s := strconv.FormatFloat(v/u.div, 'f', 1, 64)
			return strings.TrimSuffix(s, ".0") + u.suffix
		}
	}
	return strconv.FormatUint(n, 10)
}
