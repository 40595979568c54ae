package cuda

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nuri-ai/nuri/backends/conformance"
)

// buildEmulator compiles testdata/emu/emu.cc with the embedded kernels
// into a shared library that stands in for libcuda.so.1 and NVRTC.
func buildEmulator(t *testing.T) string {
	t.Helper()
	cxx, err := exec.LookPath("g++")
	if err != nil {
		t.Fatalf("the CUDA emulator needs g++ (apt-get install g++): %v", err)
	}
	src, err := kernelSource()
	if err != nil {
		t.Fatal(err)
	}
	const ext = "extern __shared__ float smem[];"
	if !strings.Contains(src, ext) {
		t.Fatalf("kernels lost their %q (the emulator maps it)", ext)
	}
	src = strings.ReplaceAll(src, ext, "float* smem = g_smem.data();")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "kernels_gen.cu"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	emu, err := filepath.Abs(filepath.Join("testdata", "emu", "emu.cc"))
	if err != nil {
		t.Fatal(err)
	}
	so := filepath.Join(dir, "libemucuda.so")
	cmd := exec.Command(cxx, "-std=c++20", "-O1", "-ffp-contract=off", "-fPIC", "-shared", "-pthread", "-I", dir,
		"-x", "c++", emu, "-o", so)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the emulator: %v\n%s", err, out)
	}
	return so
}

// TestEmulatedConformance runs the conformance kit on the CUDA backend
// driving the CPU emulator: the Go launch code, argument packing, scratch
// management and the CUDA C of every kernel, against the CPU reference
// with ExactLimits. It cannot see what only a GPU shows (memory model,
// real warp scheduling, device math libraries) — scripts/device-check.sh
// runs the same kit on real hardware.
func TestEmulatedConformance(t *testing.T) {
	so := buildEmulator(t)
	dev, err := New(0, Options{DriverPath: so, NVRTCPath: so, CacheDir: "off"})
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	for _, l := range dev.Describe() {
		t.Log(l)
	}
	rs := conformance.Run(t, dev)
	for _, r := range rs {
		if r.Status == conformance.Unsupported && matmulType(r.Type) && kvType(r.Type) {
			t.Errorf("%v %v unsupported", r.Op, r.Type)
		}
	}
}
