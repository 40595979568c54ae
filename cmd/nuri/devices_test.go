package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/internal/testshared"
)

// TestDevicesList: every backend is listed, CUDA with a reason when it
// cannot run, and the command exits 0.
func TestDevicesList(t *testing.T) {
	var out, errb bytes.Buffer
	if code := realMain([]string{"devices", "--threads", "2"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	s := out.String()
	for _, want := range []string{"cpu        available", "logical CPUs", "ISA:", "matmul kernels:", "npu:rngd   available",
		"npu:atom   available", "RNGD-class: 48.0 GiB HBM3 at 1.5 TB/s, 512 TOPS int8", "ATOM-class: 16.0 GiB GDDR6 at 256 GB/s, 128 TOPS int8"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	if !strings.Contains(s, "\ncuda") || (!strings.Contains(s, "cuda       unavailable: ") && !strings.Contains(s, "cuda:0     available")) {
		t.Errorf("no cuda line with a state:\n%s", s)
	}
}

// TestDevicesConformance prints the ATOM profile's matrix: KV caches of
// block types (Q8_0, the five 4- and 5-bit ones) are refused, everything
// else passes.
func TestDevicesConformance(t *testing.T) {
	var out, errb bytes.Buffer
	if code := realMain([]string{"devices", "--conformance", "--details", "--device", "npu:atom", "--threads", "2"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, errb.String(), out.String())
	}
	s := out.String()
	for _, want := range []string{"conformance of npu:atom:0", "| mul_mat | ✔ | ✔ | ✔ | ✔ |", "| attention | ✔ | ✔ |", "| gelu_mul | ✔ |", "| layer_norm | ✔ |", "58 pass, 0 fail, 12 unsupported", "rel-RMS"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "conformance of cpu") {
		t.Error("--device npu:atom also ran the CPU")
	}
}

func TestOpenDevice(t *testing.T) {
	d, err := openDevice("npu:0", deviceOptions{threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, ok := d.(*backends.Fallback); !ok {
		t.Errorf("npu:0 opened as %T, want the CPU fallback wrapper", d)
	}
	if _, ok := backends.As[backends.ShapeBucketer](d); !ok {
		t.Error("the NPU's shape buckets are not reachable through the wrapper")
	}
	c, err := openDevice("cpu", deviceOptions{threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, ok := c.(*backends.Fallback); ok {
		t.Error("the CPU is wrapped in a fallback to itself")
	}
	for _, bad := range []string{"tpu:0", "cpu:1", "npu:nosuch"} {
		if d, err := openDevice(bad, deviceOptions{threads: 1}); err == nil {
			d.Close()
			t.Errorf("%s opened", bad)
		}
	}
}

func TestPlan(t *testing.T) {
	var out, errb bytes.Buffer
	model := testshared.Path(t, "models", "stories260K.gguf")
	if err := runPlan([]string{"--model", model, "--device", "npu:atom", "--qps", "20", "--prompt", "200", "--output", "50"}, &out, &errb); err != nil {
		t.Fatalf("%v: %s", err, errb.String())
	}
	s := out.String()
	for _, want := range []string{"5 layers, embedding 64, 8/4 heads of 8, vocabulary 512", "ATOM-class", "cards      1 ",
		"KV         ", "TTFT", "TPOT", "padded to 256 tokens"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	for _, args := range [][]string{
		{"--model", model, "--device", "cuda:0", "--qps", "1", "--prompt", "1", "--output", "1"},
		{"--model", model, "--qps", "0", "--prompt", "1", "--output", "1"},
		{"--device", "npu:rngd", "--qps", "1", "--prompt", "1", "--output", "1"},
	} {
		errb.Reset()
		if err := runPlan(args, &out, &errb); err != errUsage {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
}
