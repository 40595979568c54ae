package cuda

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unsafe"
)

// nvrtcLibraries are the names NVRTC is searched under, newest first
// (pip's nvidia-cuda-nvrtc wheels and the toolkit install the versioned
// names; the unversioned one is a development symlink).

// nvrtc holds the runtime compiler's functions.
type nvrtc struct {
	name string

	nvrtcVersion              func(major, minor *int32) int32
	nvrtcGetNumSupportedArchs func(n *int32) int32
	nvrtcGetSupportedArchs    func(archs *int32) int32
	nvrtcCreateProgram        func(prog *uintptr, src string, name string, nHeaders int32, headers unsafe.Pointer, includes unsafe.Pointer) int32
	nvrtcCompileProgram       func(prog uintptr, nOpts int32, opts unsafe.Pointer) int32
	nvrtcGetProgramLogSize    func(prog uintptr, n *uint64) int32
	nvrtcGetProgramLog        func(prog uintptr, log *byte) int32
	nvrtcGetCUBINSize         func(prog uintptr, n *uint64) int32
	nvrtcGetCUBIN             func(prog uintptr, out *byte) int32
	nvrtcGetPTXSize           func(prog uintptr, n *uint64) int32
	nvrtcGetPTX               func(prog uintptr, out *byte) int32
	nvrtcDestroyProgram       func(prog *uintptr) int32
	nvrtcGetErrorString       func(r int32) *byte
}

// loadNVRTC opens NVRTC at path, or searches the usual names when path is
// "".
func loadNVRTC(path string) (*nvrtc, error) {
	names := nvrtcLibraries()
	if path != "" {
		names = []string{path}
	}
	var errs []string
	for _, n := range names {
		lib, err := openLibrary(n)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		r := &nvrtc{name: n}
		if err := bind(lib, r.symbols()); err != nil {
			return nil, fmt.Errorf("NVRTC %s: %w", n, err)
		}
		return r, nil
	}
	return nil, fmt.Errorf("NVRTC (the CUDA runtime compiler) not found as %s: %s", strings.Join(names, ", "), strings.Join(errs, "; "))
}

func (r *nvrtc) symbols() []struct {
	fn   any
	name string
} {
	return []struct {
		fn   any
		name string
	}{
		{&r.nvrtcVersion, "nvrtcVersion"},
		{&r.nvrtcGetNumSupportedArchs, "nvrtcGetNumSupportedArchs"},
		{&r.nvrtcGetSupportedArchs, "nvrtcGetSupportedArchs"},
		{&r.nvrtcCreateProgram, "nvrtcCreateProgram"},
		{&r.nvrtcCompileProgram, "nvrtcCompileProgram"},
		{&r.nvrtcGetProgramLogSize, "nvrtcGetProgramLogSize"},
		{&r.nvrtcGetProgramLog, "nvrtcGetProgramLog"},
		{&r.nvrtcGetCUBINSize, "nvrtcGetCUBINSize"},
		{&r.nvrtcGetCUBIN, "nvrtcGetCUBIN"},
		{&r.nvrtcGetPTXSize, "nvrtcGetPTXSize"},
		{&r.nvrtcGetPTX, "nvrtcGetPTX"},
		{&r.nvrtcDestroyProgram, "nvrtcDestroyProgram"},
		{&r.nvrtcGetErrorString, "nvrtcGetErrorString"},
	}
}

// version returns NVRTC's "major.minor".
func (r *nvrtc) version() string {
	var ma, mi int32
	if r.nvrtcVersion(&ma, &mi) != 0 {
		return "unknown"
	}
	return fmt.Sprintf("%d.%d", ma, mi)
}

// archs returns the SM versions NVRTC can emit machine code for (90 for
// sm_90), ascending.
func (r *nvrtc) archs() []int {
	var n int32
	if r.nvrtcGetNumSupportedArchs(&n) != 0 || n <= 0 {
		return nil
	}
	a := make([]int32, n)
	if r.nvrtcGetSupportedArchs(&a[0]) != 0 {
		return nil
	}
	out := make([]int, n)
	for i, v := range a {
		out[i] = int(v)
	}
	sort.Ints(out)
	return out
}

func (r *nvrtc) check(what string, res int32) error {
	if res == 0 {
		return nil
	}
	return fmt.Errorf("%s: NVRTC error %d (%s)", what, res, cString(r.nvrtcGetErrorString(res)))
}

// compile builds src with opts; it returns a CUBIN (cubin true) or PTX
// image, NUL-terminated as cuModuleLoadData wants for PTX.
func (r *nvrtc) compile(src, name string, opts []string, cubin bool) (img []byte, log string, err error) {
	var prog uintptr
	if err := r.check("create program", r.nvrtcCreateProgram(&prog, src, name, 0, nil, nil)); err != nil {
		return nil, "", err
	}
	defer r.nvrtcDestroyProgram(&prog)
	cOpts := make([][]byte, len(opts))
	ptrs := make([]*byte, len(opts))
	for i, o := range opts {
		cOpts[i] = append([]byte(o), 0)
		ptrs[i] = &cOpts[i][0]
	}
	var optp unsafe.Pointer
	if len(ptrs) > 0 {
		optp = unsafe.Pointer(&ptrs[0])
	}
	res := r.nvrtcCompileProgram(prog, int32(len(opts)), optp)
	log = r.programLog(prog)
	if err := r.check("compile "+name+" with "+strings.Join(opts, " "), res); err != nil {
		return nil, log, fmt.Errorf("%w\n%s", err, log)
	}
	size, get := r.nvrtcGetPTXSize, r.nvrtcGetPTX
	if cubin {
		size, get = r.nvrtcGetCUBINSize, r.nvrtcGetCUBIN
	}
	var n uint64
	if err := r.check("image size", size(prog, &n)); err != nil {
		return nil, log, err
	}
	img = make([]byte, n+1)
	if n > 0 {
		if err := r.check("image", get(prog, &img[0])); err != nil {
			return nil, log, err
		}
	}
	return img, log, nil
}

func (r *nvrtc) programLog(prog uintptr) string {
	var n uint64
	if r.nvrtcGetProgramLogSize(prog, &n) != 0 || n <= 1 {
		return ""
	}
	b := make([]byte, n)
	if r.nvrtcGetProgramLog(prog, &b[0]) != 0 {
		return ""
	}
	return strings.TrimRight(string(b), "\x00\n ")
}

// target chooses what to compile for a device of compute capability
// major.minor given the SM versions NVRTC supports: machine code (CUBIN)
// for the device's own sm_XY when NVRTC knows it, else PTX for the newest
// virtual architecture not above it (the driver compiles that PTX for the
// device). ok is false when NVRTC supports nothing the device can run.
func target(major, minor int, supported []int) (arch string, cubin, ok bool) {
	want := major*10 + minor
	best := -1
	for _, a := range supported {
		if a == want {
			return "sm_" + strconv.Itoa(want), true, true
		}
		if a < want && a > best {
			best = a
		}
	}
	if len(supported) == 0 { // an NVRTC that cannot list: try the device's own
		return "sm_" + strconv.Itoa(want), true, true
	}
	if best < 0 {
		return "", false, false
	}
	return "compute_" + strconv.Itoa(best), false, true
}

// nvrtcOptions are the compile options for an architecture ("sm_90" or
// "compute_89"). No fast math, and --fmad=false so that a*b+c rounds twice
// as in the Go reference.
func nvrtcOptions(arch string) []string {
	return []string{
		"--gpu-architecture=" + arch,
		"--std=c++17",
		"--fmad=false",
		"--prec-div=true",
		"--prec-sqrt=true",
		"--ftz=false",
		"-default-device",
	}
}
