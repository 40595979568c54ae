package cuda

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"github.com/nuri-ai/nuri/quant"
)

//go:embed kernels/*.cu
var kernelFS embed.FS

// kernelFiles returns the embedded .cu files in compile order (by name).
func kernelFiles() ([]string, error) {
	names, err := fs.Glob(kernelFS, "kernels/*.cu")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	return names, nil
}

// kernelSource concatenates the .cu files into the one program NVRTC
// compiles, each preceded by a #line so compiler messages name the file.
func kernelSource() (string, error) {
	names, err := kernelFiles()
	if err != nil {
		return "", err
	}
	if len(names) == 0 {
		return "", fmt.Errorf("no embedded CUDA kernels")
	}
	var b strings.Builder
	for _, n := range names {
		src, err := kernelFS.ReadFile(n)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "#line 1 %q\n", n)
		b.Write(src)
		b.WriteString("\n")
		if n == "kernels/00_common.cu" {
			b.WriteString(iqGridSource())
		}
	}
	return b.String(), nil
}

// iqGridTypes are the i-quants whose codebooks the kernels read, by the
// array each one's is written to (IQ1_M shares IQ1_S's).
var iqGridTypes = []struct {
	name string
	t    quant.Type
}{
	{"iq2_xxs", quant.IQ2_XXS}, {"iq2_xs", quant.IQ2_XS}, {"iq2_s", quant.IQ2_S},
	{"iq3_xxs", quant.IQ3_XXS}, {"iq3_s", quant.IQ3_S}, {"iq1_s", quant.IQ1_S},
}

// iqGridSource writes the i-quants' codebooks (quant.IQGrid) as arrays of
// the program, an entry's levels as the bytes of a u64 (8 levels) or a u32
// (4), little-endian as the kernels read them: nuri_grid_iq2_xxs and on.
func iqGridSource() string {
	var b strings.Builder
	b.WriteString("// The i-quants' codebooks, written by kernels.go from quant.IQGrid.\n")
	for _, g := range iqGridTypes {
		grid, width, ok := quant.IQGrid(g.t)
		if !ok {
			panic("cuda: no codebook for " + g.t.String())
		}
		ctype := map[int]string{4: "u32", 8: "u64"}[width]
		fmt.Fprintf(&b, "__device__ const %s nuri_grid_%s[%d] = {", ctype, g.name, len(grid)/width)
		for i := 0; i < len(grid); i += width {
			var v uint64
			for j := width - 1; j >= 0; j-- {
				v = v<<8 | uint64(grid[i+j])
			}
			if i%(8*width) == 0 {
				b.WriteString("\n   ")
			}
			if width == 8 {
				fmt.Fprintf(&b, " 0x%016xull,", v)
			} else {
				fmt.Fprintf(&b, " 0x%08xu,", v)
			}
		}
		b.WriteString("\n};\n")
	}
	return b.String()
}

// kernelNames lists every entry point the backend launches.
func kernelNames() []string {
	var n []string
	n = append(n, "nuri_quantize_q8_0", "nuri_quantize_q8_1", "nuri_quantize_q8_k", "nuri_convert_f16", "nuri_convert_bf16")
	for _, t := range []string{"f32", "f16", "bf16", "q4_0", "q4_1", "q5_0", "q5_1", "q8_0", "q2_k", "q3_k", "q4_k", "q5_k", "q6_k", "iq4_nl", "iq4_xs",
		"iq2_xxs", "iq2_xs", "iq2_s", "iq3_xxs", "iq3_s", "iq1_s", "iq1_m"} {
		n = append(n, "nuri_mul_mat_"+t, "nuri_get_rows_"+t)
	}
	n = append(n, "nuri_rms_norm", "nuri_add", "nuri_scale", "nuri_scale_rows", "nuri_silu_mul", "nuri_gelu_mul", "nuri_rope", "nuri_layer_norm", "nuri_gelu")
	kv := []string{"f32", "f16", "q8_0"}
	for _, k := range kv {
		n = append(n, "nuri_store_kv_"+k)
		for _, v := range kv {
			n = append(n, attnKernel(k, v))
		}
	}
	n = append(n, "nuri_read_probe")
	return n
}

// cacheKey names a compiled image: the source, the options and the
// compiler version, hashed, plus the architecture.
func cacheKey(src string, opts []string, compiler, arch string) string {
	h := sha256.New()
	h.Write([]byte(src))
	h.Write([]byte{0})
	h.Write([]byte(strings.Join(opts, "\x00")))
	h.Write([]byte{0})
	h.Write([]byte(compiler))
	return hex.EncodeToString(h.Sum(nil))[:24] + "-" + arch
}
