package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// TestSplitCommand: `nuri split` writes parts that inspect reads as one
// model from the first, and the other parts point back to the first.
func TestSplitCommand(t *testing.T) {
	path := synthTinyModel(t)
	prefix := strings.TrimSuffix(path, ".gguf")
	var out, errb bytes.Buffer
	if code := realMain([]string{"split", "--parts", "3", path}, &out, &errb); code != 0 {
		t.Fatalf("split: exit %d: %s", code, errb.String())
	}
	for i, want := range []string{"-00001-of-00003.gguf", "-00002-of-00003.gguf", "-00003-of-00003.gguf"} {
		if !strings.Contains(out.String(), prefix+want) {
			t.Errorf("output lacks part %d (%s): %s", i+1, want, out.String())
		}
	}
	type report struct {
		Parts   int               `json:"parts"`
		Tensors []json.RawMessage `json:"tensors"`
	}
	var whole, first report
	for _, c := range []struct {
		file string
		dst  *report
	}{{path, &whole}, {prefix + "-00001-of-00003.gguf", &first}} {
		out.Reset()
		if code := realMain([]string{"inspect", "--json", c.file}, &out, &errb); code != 0 {
			t.Fatalf("inspect %s: exit %d: %s", c.file, code, errb.String())
		}
		if err := json.Unmarshal(out.Bytes(), c.dst); err != nil {
			t.Fatal(err)
		}
	}
	if whole.Parts != 1 || first.Parts != 3 || len(first.Tensors) != len(whole.Tensors) {
		t.Errorf("parts %d and %d, tensors %d and %d; want 1, 3 and equal counts", whole.Parts, first.Parts, len(whole.Tensors), len(first.Tensors))
	}
	errb.Reset()
	if code := realMain([]string{"inspect", prefix + "-00002-of-00003.gguf"}, &out, &errb); code == 0 || !strings.Contains(errb.String(), "open the first part") {
		t.Errorf("inspect of part 2: exit %d, %q; want an error naming the first part", code, errb.String())
	}
	// Merged back, the parts give the original file, byte for byte (the
	// split keys go; the order of keys and tensors is the original's).
	merged := prefix + "-merged.gguf"
	out.Reset()
	if code := realMain([]string{"split", "--merge", prefix + "-00001-of-00003.gguf", merged}, &out, &errb); code != 0 {
		t.Fatalf("merge: exit %d: %s", code, errb.String())
	}
	a, errA := os.ReadFile(path)
	b, errB := os.ReadFile(merged)
	if errA != nil || errB != nil || !bytes.Equal(a, b) {
		t.Errorf("merged file differs from the original (%d vs %d bytes; %v %v)", len(b), len(a), errA, errB)
	}
	errb.Reset()
	if code := realMain([]string{"split", "--merge", prefix + "-00001-of-00003.gguf", prefix + "-00002-of-00003.gguf"}, &out, &errb); code == 0 || !strings.Contains(errb.String(), "a file of the model") {
		t.Errorf("merge onto a part: exit %d, %q", code, errb.String())
	}
	if code := realMain([]string{"split", "--merge", "--parts", "2", path, merged}, &out, &errb); code != 2 {
		t.Errorf("--merge with --parts: exit %d, want 2", code)
	}
	// Splitting a split model again, without a prefix, names the new parts
	// after the model, not after its first part.
	out.Reset()
	if code := realMain([]string{"split", "--parts", "2", prefix + "-00001-of-00003.gguf"}, &out, &errb); code != 0 {
		t.Fatalf("re-split: exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), prefix+"-00001-of-00002.gguf") {
		t.Errorf("re-split wrote %q, want %s-00001-of-00002.gguf", out.String(), prefix)
	}
}

func TestSplitMaxSizeAndErrors(t *testing.T) {
	path := synthTinyModel(t)
	prefix := strings.TrimSuffix(path, ".gguf") + "-m"
	var out, errb bytes.Buffer
	if code := realMain([]string{"split", "--max-size", "300K", path, prefix}, &out, &errb); code != 0 {
		t.Fatalf("split --max-size: exit %d: %s", code, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) < 2 || !strings.Contains(lines[0], "-00001-of-") {
		t.Fatalf("want several parts: %q", out.String())
	}
	for _, args := range [][]string{
		{"split", path}, // neither
		{"split", "--parts", "2", "--max-size", "1M", path}, // both
		{"split", "--max-size", "0", path},
		{"split", "--max-size", "12X", path},
	} {
		errb.Reset()
		if code := realMain(args, &out, &errb); code == 0 {
			t.Errorf("%v: exit 0", args)
		}
	}
	for s, want := range map[string]uint64{"50G": 50e9, "500m": 500e6, "1000": 1000, "2T": 2e12} {
		if got, err := parseDecimalSize(s); err != nil || got != want {
			t.Errorf("parseDecimalSize(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
}
