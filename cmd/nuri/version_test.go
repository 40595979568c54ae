package main

import (
	"bytes"
	"runtime"
	"strings"
	"testing"
)

func TestVersionCommand(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := realMain([]string{"version"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	out := stdout.String()
	if !strings.HasPrefix(out, "nuri ") || !strings.Contains(out, runtime.Version()) || !strings.Contains(out, buildVersion()) {
		t.Fatalf("%q", out)
	}
	if code := realMain([]string{"version", "x"}, &stdout, &stderr); code != 2 {
		t.Fatalf("extra argument: exit %d", code)
	}
}
