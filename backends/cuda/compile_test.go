package cuda

import (
	"bytes"
	"regexp"
	"slices"
	"testing"
)

// TestCompileKernels compiles the embedded kernels with NVRTC to
// PTX for Ampere and to a CUBIN for Hopper (no GPU needed) and checks each
// entry point is in both. Without NVRTC on the
// machine it checks the not-found path: a reasoned error.
func TestCompileKernels(t *testing.T) {
	rtc, err := loadNVRTC("")
	if err != nil {
		if !regexp.MustCompile(`NVRTC .*not found`).MatchString(err.Error()) {
			t.Fatalf("NVRTC missing, but the error gives no reason: %v", err)
		}
		t.Logf("NVRTC not installed here (checked the not-found path): %v", err)
		return
	}
	src, err := kernelSource()
	if err != nil {
		t.Fatal(err)
	}
	archs := rtc.archs()
	t.Logf("NVRTC %s, architectures %v", rtc.version(), archs)
	if !slices.Contains(archs, 80) || !slices.Contains(archs, 90) {
		t.Fatalf("NVRTC %s cannot target sm_80 and sm_90 (%v)", rtc.version(), archs)
	}
	ptx, log, err := rtc.compile(src, "nuri_kernels.cu", nvrtcOptions("compute_80"), false)
	if err != nil {
		t.Fatalf("compute_80: %v", err)
	}
	if log != "" {
		t.Logf("compute_80 log:\n%s", log)
	}
	cubin, _, err := rtc.compile(src, "nuri_kernels.cu", nvrtcOptions("sm_90"), true)
	if err != nil {
		t.Fatalf("sm_90: %v", err)
	}
	for _, n := range kernelNames() {
		if !regexp.MustCompile(`\.entry ` + n + `\(`).Match(ptx) {
			t.Errorf("compute_80: entry %s missing from the PTX", n)
		}
		if !bytes.Contains(cubin, []byte(n+"\x00")) {
			t.Errorf("sm_90: entry %s missing from the CUBIN", n)
		}
	}
}
