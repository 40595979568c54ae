package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nuri-ai/nuri/bench"
)

func TestBenchKernels(t *testing.T) {
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	args := []string{"kernels", "--types", "q4_0,Q8_0,Q4_K,F16", "--rows", "96", "--cols", "512", "--batch", "1,5",
		"--min-time", "0", "--min-reps", "2", "--bw-mib", "64", "--out", out}
	if err := runBench(args, &stdout, &stderr); err != nil {
		t.Fatalf("bench kernels: %v\n%s", err, stderr.String())
	}
	header, rows := tableRows(t, stdout.String(), "type")
	want := "type,kernel,rows × cols,nx,weights,ms/call,GB/s,GOP/s,of bandwidth,best GB/s,best GOP/s,best of bandwidth"
	if strings.Join(header, ",") != want {
		t.Errorf("columns %q, want %q", header, want)
	}
	if len(rows) != 8 {
		t.Fatalf("%d rows, want 4 types × 2 batches:\n%s", len(rows), stdout.String())
	}
	for i, r := range rows {
		wantType := []string{"Q4_0", "Q8_0", "Q4_K", "F16"}[i/2]
		wantNX := []string{"1", "5"}[i%2]
		if r[0] != wantType || r[3] != wantNX || r[2] != "96 × 512" || r[1] == "" {
			t.Errorf("row %d: %q, want %s nx=%s", i, r, wantType, wantNX)
		}
		for _, col := range []int{6, 7, 9, 10} {
			if v, err := strconv.ParseFloat(r[col], 64); err != nil || v <= 0 {
				t.Errorf("row %d %s = %q", i, header[col], r[col])
			}
		}
		if (r[8] == "-") != (wantNX != "1") || (r[11] == "-") != (wantNX != "1") {
			t.Errorf("row %d: bandwidth ratio %q (only GEMV rows have one)", i, r[8])
		}
	}
	if !strings.Contains(stdout.String(), "read bandwidth: ") {
		t.Errorf("no bandwidth line:\n%s", stdout.String())
	}
	r, err := bench.ReadReport(filepath.Join(out, bench.ResultsFile))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, m := range r.Metrics {
		if m.Group == "Q4_0 nx=1" && m.Name == "bandwidth_ratio" && m.Value > 0 {
			found = true
		}
	}
	if r.Kind != "kernels" || !found {
		t.Errorf("results.json: kind %q, metrics %+v", r.Kind, r.Metrics)
	}

	// --json prints the same document on stdout.
	stdout.Reset()
	args = []string{"kernels", "--types", "Q6_K", "--rows", "8", "--cols", "256", "--batch", "2",
		"--min-time", "0", "--min-reps", "1", "--bw-mib", "16", "--json", "--progress=false"}
	if err := runBench(args, &stdout, &stderr); err != nil {
		t.Fatalf("bench kernels --json: %v", err)
	}
	var doc struct {
		Kind    string `json:"kind"`
		Results struct {
			Cases []struct {
				Type string  `json:"type"`
				NX   int     `json:"nx"`
				GOPS float64 `json:"gops"`
			} `json:"cases"`
		} `json:"results"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil {
		t.Fatalf("--json: %v\n%s", err, stdout.String())
	}
	if doc.Kind != "kernels" || len(doc.Results.Cases) != 1 || doc.Results.Cases[0].Type != "Q6_K" ||
		doc.Results.Cases[0].NX != 2 || doc.Results.Cases[0].GOPS <= 0 {
		t.Errorf("document %+v", doc)
	}
}

func TestBenchKernelsUsage(t *testing.T) {
	bad := [][]string{
		{"--types", "Q9_9"},
		{"--types", "Q4_K", "--cols", "128"}, // not a multiple of 256
		{"--types", "Q8_1"},                  // an activation type: no matmul
		{"--batch", "0"},
		{"--min-reps", "0"},
		{"extra"},
	}
	for _, args := range bad {
		var stdout, stderr bytes.Buffer
		if err := runBench(append([]string{"kernels"}, args...), &stdout, &stderr); err != errUsage {
			t.Errorf("%q: %v, want a usage error", args, err)
		}
	}
}
