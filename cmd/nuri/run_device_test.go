package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/openai/openai-go"

	"github.com/nuri-ai/nuri/internal/testshared"
	"github.com/nuri-ai/nuri/tokenizer"
)

// runOnDevice runs `nuri run` in process (through realMain, so the exit
// code is checked too) and returns stdout and stderr.
func runOnDevice(t *testing.T, device string, args ...string) (string, string, int) {
	t.Helper()
	modelPath := testshared.Path(t, "models", "stories260K.gguf")
	var stdout, stderr bytes.Buffer
	full := append([]string{"run", "--model", modelPath, "--threads", "2", "--device", device}, args...)
	code := realMain(full, &stdout, &stderr)
	return stdout.String(), stderr.String(), code
}

// TestRunDeviceNPU is the acceptance run of issue 8: stories260K on the
// simulated NPU (int8 weights) continues "Once upon a time" greedily for 60
// tokens. Its tokens must agree with the CPU's on at least 54 of 60 (90%)
// leading tokens; at the time of writing all 60 agree (int8
// requantization costs 0.60% RMS on this model, too little to flip a
// greedy choice here). The simulated device time is reported.
func TestRunDeviceNPU(t *testing.T) {
	args := []string{"--prompt", "Once upon a time", "-n", "60", "--temp", "0"}
	cpuOut, cpuErr, code := runOnDevice(t, "cpu", args...)
	if code != 0 {
		t.Fatalf("cpu: exit %d: %s", code, cpuErr)
	}
	npuOut, npuErr, code := runOnDevice(t, "npu:0", args...)
	if code != 0 {
		t.Fatalf("npu:0: exit %d: %s", code, npuErr)
	}
	tok, err := tokenizer.LoadFile(testshared.Path(t, "models", "stories260K.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	enc := func(s string) []int32 {
		ids, err := tok.Encode(strings.TrimPrefix(strings.TrimSuffix(s, "\n"), "Once upon a time"), false, false)
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	c, n := enc(cpuOut), enc(npuOut)
	same := 0
	for same < min(len(c), len(n)) && c[same] == n[same] {
		same++
	}
	t.Logf("npu:0 agrees with cpu on %d of %d leading tokens (re-encoded output)\nnpu:0: %q\n  cpu: %q", same, len(c), npuOut, cpuOut)
	if !strings.HasPrefix(npuOut, "Once upon a time") || len(c) < 55 || same < len(c)*9/10 {
		t.Errorf("npu:0 output agrees with cpu on %d of %d tokens, want ≥ 90%%", same, len(c))
	}
	if !strings.Contains(npuErr, "simulated:") || !strings.Contains(npuErr, "on npu:0") {
		t.Errorf("npu:0 run does not report simulated time:\n%s", npuErr)
	}
	if strings.Contains(cpuErr, "simulated:") {
		t.Errorf("cpu run reports simulated time:\n%s", cpuErr)
	}
}

// TestRunDeviceErrors: a device that cannot be opened ends the run with a
// non-zero exit and the reason. cuda:0 is judged against what the registry
// lists for this machine, so the test holds with and without a GPU.
func TestRunDeviceErrors(t *testing.T) {
	_, stderr, code := runOnDevice(t, "tpu:0", "--prompt", "x", "-n", "1")
	if code == 0 || !strings.Contains(stderr, `device "tpu:0"`) || !strings.Contains(stderr, "unknown device") {
		t.Errorf("tpu:0: exit %d, stderr:\n%s", code, stderr)
	}
	reg, err := newDeviceRegistry(deviceOptions{threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range reg.List() {
		if a.Name != "cuda" && !strings.HasPrefix(a.Name, "cuda:") {
			continue
		}
		_, stderr, code := runOnDevice(t, "cuda:0", "--prompt", "x", "-n", "1", "--cuda-cache", "off")
		switch {
		case a.Available && code != 0:
			t.Errorf("cuda listed as available, but the run failed (exit %d):\n%s", code, stderr)
		case !a.Available && (code == 0 || !strings.Contains(stderr, "unavailable")):
			t.Errorf("cuda unavailable (%s): exit %d, stderr:\n%s", a.Reason, code, stderr)
		}
		t.Logf("cuda:0 (available %v): exit %d", a.Available, code)
		return
	}
	t.Error("the registry lists no cuda device")
}

// TestDeviceFlagEnv: NURI_DEVICE is the default of --device for run and
// serve; the flag wins.
func TestDeviceFlagEnv(t *testing.T) {
	t.Setenv("NURI_DEVICE", "npu:atom")
	var stderr bytes.Buffer
	rc, err := parseRun([]string{"--model", "m"}, &stderr)
	if err != nil || rc.device.name != "npu:atom" {
		t.Fatalf("run: %v, device %+v: %s", err, rc, stderr.String())
	}
	rc, err = parseRun([]string{"--model", "m", "--device", "cpu"}, &stderr)
	if err != nil || rc.device.name != "cpu" {
		t.Fatalf("run --device cpu: %v: %s", err, stderr.String())
	}
	sc, err := parseServe([]string{"--model", "m"}, &stderr)
	if err != nil || sc.device.name != "npu:atom" {
		t.Fatalf("serve: %v: %s", err, stderr.String())
	}
	sc, err = parseServe([]string{"--model", "m", "--device", "cuda:1"}, &stderr)
	if err != nil || sc.device.name != "cuda:1" {
		t.Fatalf("serve --device cuda:1: %v: %s", err, stderr.String())
	}
	if _, err := parseRun([]string{"--model", "m", "--device", ""}, &stderr); err == nil {
		t.Error("run accepted an empty --device")
	}
}

// TestServeDevice: the server on the simulated NPU answers a greedy
// completion exactly as `nuri run --device npu:0` does (same model, same
// device, same engine).
func TestServeDevice(t *testing.T) {
	base := startServe(t, "--device", "npu:0")
	client := openaiClient(base)
	comp, err := client.Completions.New(t.Context(), openai.CompletionNewParams{
		Model:       "stories260K",
		Prompt:      openai.CompletionNewParamsPromptUnion{OfString: openai.String("Once upon a time")},
		MaxTokens:   openai.Int(40),
		Temperature: openai.Float(0),
	})
	if err != nil {
		t.Fatal(err)
	}
	run, stderr, code := runOnDevice(t, "npu:0", "--prompt", "Once upon a time", "-n", "40", "--temp", "0")
	if code != 0 {
		t.Fatalf("run: exit %d: %s", code, stderr)
	}
	if got := "Once upon a time" + comp.Choices[0].Text + "\n"; got != run {
		t.Errorf("serve on npu:0 differs from run on npu:0:\nserve: %q\n  run: %q", got, run)
	}
}
