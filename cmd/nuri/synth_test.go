package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

func TestSynthCommand(t *testing.T) {
	out := filepath.Join(t.TempDir(), "tiny.gguf")
	var stdout, stderr bytes.Buffer
	if err := runSynth([]string{"--shape", "tiny", "--type", "q4_k_m", "--out", out, "--seed", "5"}, &stdout, &stderr); err != nil {
		t.Fatalf("%v: %s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "wrote "+out) || !strings.Contains(stderr.String(), "100%") {
		t.Errorf("stdout %q\nstderr %q", stdout.String(), stderr.String())
	}
	stdout.Reset()
	if err := runInspect([]string{"--json", out}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	var r inspectReport
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	if r.Architecture != "llama" || r.Summary.Layers != 2 || r.Summary.Vocab != 512 || r.FileType == nil || *r.FileType != 15 {
		t.Errorf("inspect of the synthesized file: %+v", r.Summary)
	}
	if r.Totals.Parameters != 1443072 {
		t.Errorf("%d parameters", r.Totals.Parameters)
	}
}

func TestSynthUsage(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"--shape", "tiny"},
		{"--shape", "nope", "--out", "x.gguf"},
		{"--shape", "tiny", "--out", "x.gguf", "extra"},
	} {
		var stdout, stderr bytes.Buffer
		if err := runSynth(args, &stdout, &stderr); err != errUsage {
			t.Errorf("%q: %v", args, err)
		}
	}
	var stdout, stderr bytes.Buffer
	err := runSynth([]string{"--shape", "tiny", "--type", "Q9", "--out", filepath.Join(t.TempDir(), "x.gguf")}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "Q9") {
		t.Errorf("bad type: %v", err)
	}
}
