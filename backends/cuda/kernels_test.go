package cuda

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/quant"
)

// TestKernelSources: every .cu file is embedded and non-empty, every entry
// point the Go side launches is defined exactly once with C linkage, and
// the source defines no entry point the Go side does not know.
func TestKernelSources(t *testing.T) {
	files, err := kernelFiles()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"kernels/00_common.cu", "kernels/10_quantize.cu", "kernels/20_matmul.cu", "kernels/30_get_rows.cu",
		"kernels/35_iquants.cu", "kernels/40_elementwise.cu", "kernels/50_rope.cu", "kernels/60_kv.cu", "kernels/70_attention.cu", "kernels/80_probe.cu"}
	if !slices.Equal(files, want) {
		t.Errorf("embedded %v, want %v", files, want)
	}
	for _, f := range files {
		b, err := kernelFS.ReadFile(f)
		if err != nil || len(strings.TrimSpace(string(b))) == 0 {
			t.Errorf("%s: empty or unreadable (%v)", f, err)
		}
	}
	src, err := kernelSource()
	if err != nil {
		t.Fatal(err)
	}
	defined := map[string]int{}
	for _, m := range regexp.MustCompile(`extern "C" __global__ void (\w+)\(`).FindAllStringSubmatch(src, -1) {
		defined[m[1]]++
	}
	for _, n := range kernelNames() {
		if defined[n] != 1 {
			t.Errorf("entry point %s defined %d times", n, defined[n])
		}
		delete(defined, n)
	}
	for n := range defined {
		t.Errorf("entry point %s is not in kernelNames", n)
	}
	if o, c := strings.Count(src, "{"), strings.Count(src, "}"); o != c {
		t.Errorf("unbalanced braces: %d { and %d }", o, c)
	}
	// The codebooks are written in after the common definitions, every
	// entry of each.
	for _, g := range iqGridTypes {
		grid, width, _ := quant.IQGrid(g.t)
		decl := fmt.Sprintf("nuri_grid_%s[%d] = {", g.name, len(grid)/width)
		i := strings.Index(src, decl)
		if i < 0 || i > strings.Index(src, "kernels/10_quantize.cu") {
			t.Errorf("codebook %s missing or after the kernels", decl)
			continue
		}
		body := src[i+len(decl) : i+strings.Index(src[i:], "};")]
		if n := strings.Count(body, ","); n != len(grid)/width {
			t.Errorf("%s: %d entries", decl, n)
		}
	}
	if strings.Contains(src, "#include") {
		t.Error("kernels include headers; NVRTC may run without the toolkit's include folder")
	}
	// Every type the device claims has both kernels.
	for _, t2 := range []quant.Type{quant.F32, quant.F16, quant.BF16, quant.Q4_0, quant.Q4_1, quant.Q5_0, quant.Q5_1,
		quant.Q8_0, quant.Q2_K, quant.Q3_K, quant.Q4_K, quant.Q5_K, quant.Q6_K, quant.IQ4_NL, quant.IQ4_XS, quant.IQ2_XXS, quant.IQ2_XS, quant.IQ2_S,
		quant.IQ3_XXS, quant.IQ3_S, quant.IQ1_S, quant.IQ1_M} {
		if !matmulType(t2) || !slices.Contains(kernelNames(), "nuri_mul_mat_"+kname(t2)) || !slices.Contains(kernelNames(), "nuri_get_rows_"+kname(t2)) {
			t.Errorf("%v: kernels or support missing", t2)
		}
	}
	for _, t2 := range []quant.Type{quant.Q8_0, quant.Q8_1, quant.Q8_K, quant.F16, quant.BF16} {
		prefix := "nuri_quantize_"
		if t2 == quant.F16 || t2 == quant.BF16 {
			prefix = "nuri_convert_"
		}
		if !slices.Contains(kernelNames(), prefix+kname(t2)) {
			t.Errorf("no activation kernel for %v", t2)
		}
	}
}

func TestNVRTCOptions(t *testing.T) {
	o := nvrtcOptions("sm_90")
	for _, want := range []string{"--gpu-architecture=sm_90", "--fmad=false", "--prec-div=true", "--prec-sqrt=true", "--ftz=false"} {
		if !slices.Contains(o, want) {
			t.Errorf("options %v lack %s", o, want)
		}
	}
	for _, bad := range []string{"--use_fast_math", "-use_fast_math", "--fmad=true"} {
		if slices.Contains(o, bad) {
			t.Errorf("options contain %s", bad)
		}
	}
	for _, tc := range []struct {
		major, minor int
		archs        []int
		arch         string
		cubin, ok    bool
	}{
		{9, 0, []int{75, 80, 86, 89, 90}, "sm_90", true, true},
		{8, 9, []int{75, 80, 86}, "compute_86", false, true}, // NVRTC older than the GPU: PTX, JIT by the driver
		{12, 0, []int{80, 90, 100}, "compute_100", false, true},
		{9, 0, nil, "sm_90", true, true}, // cannot list: try the device's own
		{5, 0, []int{75, 80}, "", false, false},
	} {
		arch, cubin, ok := target(tc.major, tc.minor, tc.archs)
		if arch != tc.arch || cubin != tc.cubin || ok != tc.ok {
			t.Errorf("target(%d.%d, %v) = %s %v %v, want %s %v %v", tc.major, tc.minor, tc.archs, arch, cubin, ok, tc.arch, tc.cubin, tc.ok)
		}
	}
}

func TestKernelCache(t *testing.T) {
	dir := t.TempDir()
	k := cacheKey("src", []string{"a"}, "NVRTC 12.4", "sm_90")
	for _, other := range []string{
		cacheKey("src2", []string{"a"}, "NVRTC 12.4", "sm_90"),
		cacheKey("src", []string{"b"}, "NVRTC 12.4", "sm_90"),
		cacheKey("src", []string{"a"}, "NVRTC 12.6", "sm_90"),
		cacheKey("src", []string{"a"}, "NVRTC 12.4", "sm_89"),
	} {
		if other == k {
			t.Errorf("cache key %s does not change with its inputs", k)
		}
	}
	if !strings.HasSuffix(k, "-sm_90") {
		t.Errorf("key %s does not name the architecture", k)
	}
	if loadCached(dir, k, true) != nil {
		t.Fatal("empty cache returned an image")
	}
	if err := storeCached(dir, k, true, []byte("image")); err != nil {
		t.Fatal(err)
	}
	if got := loadCached(dir, k, true); string(got) != "image" {
		t.Errorf("cached %q", got)
	}
	if loadCached(dir, k, false) != nil {
		t.Error("a CUBIN was returned for a PTX lookup")
	}
	if (Options{CacheDir: "off"}).cacheDir() != "" || (Options{}).cacheDir() == "" && defaultCacheDir() != "" {
		t.Error("cache dir options")
	}
}

func TestPackArgs(t *testing.T) {
	v, err := packArgs([]arg{uint64(0x1122334455667788), 7, int32(-2), float32(1.5)})
	if err != nil {
		t.Fatal(err)
	}
	if v[0] != 0x1122334455667788 || v[1] != 7 || uint32(v[2]) != 0xfffffffe || math.Float32frombits(uint32(v[3])) != 1.5 {
		t.Errorf("packed %x", v)
	}
	if _, err := packArgs([]arg{1 << 40}); err == nil {
		t.Error("int overflowing int32 accepted")
	}
	if _, err := packArgs([]arg{"x"}); err == nil {
		t.Error("string argument accepted")
	}
}

// TestUnavailableDriver: a missing driver library is reported as
// backends.ErrUnavailable with the reason, by Open and by List.
func TestUnavailableDriver(t *testing.T) {
	opts := Options{DriverPath: "/nonexistent/libcuda.so.1"}
	_, err := New(0, opts)
	if !errors.Is(err, backends.ErrUnavailable) || !strings.Contains(err.Error(), "/nonexistent/libcuda.so.1") {
		t.Errorf("New: %v, want ErrUnavailable naming the library", err)
	}
	l := List(opts)
	if len(l) != 1 || l[0].Available || l[0].Reason == "" || l[0].Name != "cuda" {
		t.Errorf("List: %+v", l)
	}
	if _, err := Open("x", opts); !errors.Is(err, backends.ErrUnknownDevice) {
		t.Errorf("Open(x): %v, want ErrUnknownDevice", err)
	}
	if _, err := loadNVRTC("/nonexistent/libnvrtc.so"); err == nil || !strings.Contains(err.Error(), "NVRTC") {
		t.Errorf("loadNVRTC: %v", err)
	}
}

func TestAttnMeta(t *testing.T) {
	kv := backends.PagedKV{K: backends.Tensor{Type: quant.F16, Rows: 8 * 4 * 2, Cols: 64}, NHeadKV: 2, BlockSize: 4}
	a, b := []int32{3, 1}, []int32{7}
	meta, maxCtx, err := attnMeta(backends.AttnRows{Pos: []int32{5, 6, 2}, Tables: [][]int32{a, a, b}}, kv, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []int32{5, 6, 2, 0, 0, 2, 3, 1, 7}
	if !slices.Equal(meta, want) || maxCtx != 7 {
		t.Errorf("meta %v max %d, want %v 7", meta, maxCtx, want)
	}
	if _, m, _ := attnMeta(backends.AttnRows{Pos: []int32{6}, Tables: [][]int32{a}}, kv, 3); m != 3 {
		t.Errorf("window 3: max context %d", m)
	}
	for _, bad := range []backends.AttnRows{
		{Pos: []int32{8}, Tables: [][]int32{a}},           // beyond the table
		{Pos: []int32{0}, Tables: [][]int32{{8}}},         // block outside the cache
		{Pos: []int32{-1}, Tables: [][]int32{a}},          // negative position
		{Pos: []int32{1}, Tables: [][]int32{{int32(-1)}}}, // negative block
	} {
		if _, _, err := attnMeta(bad, kv, 0); !errors.Is(err, backends.ErrShape) {
			t.Errorf("%+v: %v, want ErrShape", bad, err)
		}
	}
}

// TestRopeConsts checks the host-side constants against their formulas.
func TestRopeConsts(t *testing.T) {
	ts, _, _, ym := ropeConsts(backends.RoPE{NDims: 64, Base: 10000, FreqScale: 1})
	if want := float32(math.Pow(10000, -2.0/64)); math.Abs(float64(ts-want)) > 1e-7 || ym != 1 {
		t.Errorf("theta scale %v (want %v), yarn factor %v", ts, want, ym)
	}
	_, c0, c1, ym := ropeConsts(backends.RoPE{NDims: 64, Base: 10000, FreqScale: 0.25, ExtFactor: 1, BetaFast: 32, BetaSlow: 1, NCtxOrig: 2048})
	if c0 < 0 || c1 > 63 || c0 >= c1 || math.Abs(float64(ym)-(1+0.1*math.Log(4))) > 1e-6 {
		t.Errorf("YaRN constants %v %v %v", c0, c1, ym)
	}
}

// TestMatMulTile: the launch code's tile constants are the kernels'.
func TestMatMulTile(t *testing.T) {
	src, err := kernelFS.ReadFile("kernels/20_matmul.cu")
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]int{"MM_ROWS": mmRows, "MM_NX": mmNX} {
		m := regexp.MustCompile(`(?m)^#define ` + name + ` (\d+)`).FindSubmatch(src)
		if m == nil {
			t.Errorf("kernels/20_matmul.cu defines no %s", name)
		} else if got, _ := strconv.Atoi(string(m[1])); got != want {
			t.Errorf("%s is %d in the kernels, %d in ops.go", name, got, want)
		}
	}
}
