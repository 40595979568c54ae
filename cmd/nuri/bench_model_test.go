package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nuri-ai/nuri/bench"
	"github.com/nuri-ai/nuri/bench/benchtest"
	"github.com/nuri-ai/nuri/internal/synth"
)

// synthTinyModel writes the tiny synthetic llama (2 layers, 256 wide) as
// Q4_0 into a temporary directory.
func synthTinyModel(t *testing.T) string {
	t.Helper()
	shape, err := synth.Lookup("tiny")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tiny-q4_0.gguf")
	if err := synth.Write(path, synth.Options{Shape: shape, Type: "Q4_0", Seed: 7}); err != nil {
		t.Fatal(err)
	}
	return path
}

// tableRows returns the cells of the markdown table rows of out whose
// header starts with first (header and separator excluded).
func tableRows(t *testing.T, out, first string) (header []string, rows [][]string) {
	t.Helper()
	cells := func(line string) []string {
		parts := strings.Split(strings.Trim(strings.TrimSpace(line), "|"), "|")
		for i := range parts {
			parts[i] = strings.TrimSpace(parts[i])
		}
		return parts
	}
	in := false
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "|") {
			in = false
			continue
		}
		c := cells(line)
		switch {
		case !in && c[0] == first:
			in, header = true, c
		case in && strings.HasPrefix(c[0], "-"):
		case in:
			rows = append(rows, c)
		}
	}
	if header == nil {
		t.Fatalf("no table starting with %q in:\n%s", first, out)
	}
	return header, rows
}

// meanOf parses llama-bench's "mean ± std" cell.
func meanOf(t *testing.T, cell string) float64 {
	t.Helper()
	mean, _, ok := strings.Cut(cell, " ± ")
	v, err := strconv.ParseFloat(mean, 64)
	if !ok || err != nil {
		t.Fatalf("cell %q is not \"mean ± std\"", cell)
	}
	return v
}

var rooflineRE = regexp.MustCompile(`(?m)^roofline: tg8 ([0-9.]+) t/s = ([0-9.]+)% of ([0-9.]+) t/s \(read bandwidth ([0-9.]+) GB/s`)

func TestBenchModelTiny(t *testing.T) {
	path := synthTinyModel(t)
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	args := []string{"model", "--model", path, "-p", "32", "-n", "8", "-r", "2", "--batch", "1,3",
		"--batch-prompt", "20", "--ubatch", "16", "--bw-mib", "128", "--out", out}
	if err := runBench(args, &stdout, &stderr); err != nil {
		t.Fatalf("bench model: %v\nstderr:\n%s", err, stderr.String())
	}
	text := stdout.String()
	header, rows := tableRows(t, text, "model")
	want := []string{"model", "size", "params", "backend", "threads", "test", "t/s"}
	if strings.Join(header, ",") != strings.Join(want, ",") {
		t.Errorf("columns %q, want llama-bench's %q", header, want)
	}
	if len(rows) != 2 || rows[0][5] != "pp32" || rows[1][5] != "tg8" {
		t.Fatalf("test rows %q, want pp32 and tg8", rows)
	}
	if !regexp.MustCompile(`(?m)^kernels: Q4_0 → \S+.*; vector loops (avx512|avx2|generic); single-row prefetch (measured|near|far) \(.+\)$`).MatchString(text) {
		t.Errorf("no kernels line naming the vector loops and the prefetch distances in:\n%s", text)
	}
	for _, r := range rows {
		if r[0] != "llama 1.4M Q4_0" || r[3] != "CPU" || r[1] != "0.81 MiB" || r[2] != "1.44 M" {
			t.Errorf("row %q: wrong model, size, params or backend", r)
		}
		if v := meanOf(t, r[6]); !(v > 0) {
			t.Errorf("%s: t/s %v", r[5], v)
		}
	}
	m := rooflineRE.FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no roofline line in:\n%s", text)
	}
	ratio, _ := strconv.ParseFloat(m[2], 64)
	if ratio <= 0 || ratio > 150 {
		t.Errorf("roofline ratio %v%%, want in (0, 150]", ratio)
	}
	if tg := meanOf(t, rows[1][6]); m[1] != strconv.FormatFloat(tg, 'f', 2, 64) {
		t.Errorf("roofline line t/s %s differs from the table's %v", m[1], tg)
	}
	if !strings.Contains(text, "prefill: pp32 ") || !strings.Contains(text, "GOP/s") {
		t.Errorf("no prefill line in:\n%s", text)
	}
	bh, brows := tableRows(t, text, "B")
	if len(bh) != 12 || len(brows) != 2 || brows[0][0] != "1" || brows[1][0] != "3" || bh[10] != "waited for a CPU" || bh[11] != "host steal" {
		t.Fatalf("batched table %q %q", bh, brows)
	}
	for _, r := range brows {
		if v := meanOf(t, r[3]); !(v > 0) {
			t.Errorf("batch %s: aggregate t/s %v", r[0], v)
		}
		if runtime.GOOS == "linux" && !strings.HasSuffix(r[10], "%") {
			t.Errorf("batch %s: waited for a CPU %q", r[0], r[10])
		}
	}
	if !strings.Contains(text, "batched prefill: 3 sequences × 20 tokens = 60 tokens") {
		t.Errorf("no batched prefill line in:\n%s", text)
	}

	// The reports: results.json with the figures, report.md with the table,
	// a self-contained report.html.
	r, err := bench.ReadReport(filepath.Join(out, bench.ResultsFile))
	if err != nil {
		t.Fatal(err)
	}
	if r.Kind != "model" || r.Env.GoVersion == "" {
		t.Errorf("report kind %q, environment %+v", r.Kind, r.Env)
	}
	metric := func(group, name string) float64 {
		for _, mt := range r.Metrics {
			if mt.Group == group && mt.Name == name {
				return mt.Value
			}
		}
		t.Errorf("results.json lacks metric %s/%s", group, name)
		return 0
	}
	if v := metric("tg8", "roofline_ratio"); v <= 0 || v > 1.5 {
		t.Errorf("tg8 roofline_ratio %v", v)
	}
	if v := metric("tg8", "paired_roofline_ratio"); v <= 0 || v > 1.5 {
		t.Errorf("tg8 paired_roofline_ratio %v", v)
	}
	if !regexp.MustCompile(`paired with a bandwidth probe before each repetition \([0-9.]+-[0-9.]+ GB/s; up to 16 untimed steps after it\): median [0-9.]+%`).MatchString(text) {
		t.Errorf("no paired roofline note in:\n%s", text)
	}
	for _, g := range []string{"pp32", "tg8", "batch 1", "batch 3"} {
		name := "t/s"
		if strings.HasPrefix(g, "batch") {
			name = "aggregate_t/s"
		}
		if v := metric(g, name); !(v > 0) {
			t.Errorf("%s %s = %v", g, name, v)
		}
	}
	md, err := os.ReadFile(filepath.Join(out, bench.MarkdownFile))
	if err != nil || !strings.Contains(string(md), "tg8") || !strings.Contains(string(md), "roofline:") {
		t.Errorf("report.md: %v\n%s", err, md)
	}
	html, err := os.ReadFile(filepath.Join(out, bench.HTMLFile))
	if err != nil {
		t.Fatal(err)
	}
	if info, err := benchtest.CheckHTML(html); err != nil || info.Elements["svg"] == 0 {
		t.Errorf("report.html: %v (%+v)", err, info)
	}
}

func TestBenchModelJSON(t *testing.T) {
	path := synthTinyModel(t)
	var stdout, stderr bytes.Buffer
	args := []string{"model", "--model", path, "-p", "16", "-n", "4", "-r", "1", "--bw-mib", "64", "--json", "--progress=false", "--op-profile"}
	if err := runBench(args, &stdout, &stderr); err != nil {
		t.Fatalf("bench model --json: %v\n%s", err, stderr.String())
	}
	var doc struct {
		Schema  string `json:"schema"`
		Kind    string `json:"kind"`
		Results struct {
			Threads int `json:"threads"`
			Tests   []struct {
				Name      string    `json:"name"`
				AvgTS     float64   `json:"avg_ts"`
				TPS       []float64 `json:"tps"`
				ProbeGBs  []float64 `json:"probe_gbs"`
				OpProfile []struct {
					Name  string  `json:"name"`
					Calls float64 `json:"calls_per_step"`
					US    float64 `json:"us_per_step"`
					Share float64 `json:"share"`
					GBs   float64 `json:"weight_gb_per_s"`
				} `json:"op_profile"`
				Roofline *struct {
					Ratio        float64 `json:"ratio"`
					PairedRatio  float64 `json:"paired_ratio"`
					BytesPerStep float64 `json:"bytes_per_step"`
				} `json:"roofline"`
			} `json:"tests"`
			Memory struct {
				BestGBs float64 `json:"best_gbs"`
			} `json:"read_bandwidth"`
		} `json:"results"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil {
		t.Fatalf("--json output does not parse: %v\n%s", err, stdout.String())
	}
	if doc.Schema != bench.SchemaVersion || doc.Kind != "model" || doc.Results.Threads < 1 || doc.Results.Memory.BestGBs <= 0 {
		t.Errorf("document: %+v", doc)
	}
	if len(doc.Results.Tests) != 2 || doc.Results.Tests[0].Name != "pp16" || doc.Results.Tests[1].Name != "tg4" {
		t.Fatalf("tests %+v", doc.Results.Tests)
	}
	tg := doc.Results.Tests[1]
	if tg.AvgTS <= 0 || len(tg.TPS) != 1 || tg.Roofline == nil || tg.Roofline.Ratio <= 0 || tg.Roofline.Ratio > 1.5 ||
		tg.Roofline.BytesPerStep <= 0 {
		t.Errorf("tg4: %+v roofline %+v", tg, tg.Roofline)
	}
	// --op-profile: the decode step's ops, per step. The tiny llama runs
	// one attention, two RoPEs and four matmul kinds per layer (the CPU
	// stream folds the norms into the matmuls after them) and the output
	// once.
	calls := map[string]float64{}
	share, normed, matmulBytes := 0.0, 0.0, 0.0
	for _, op := range tg.OpProfile {
		calls[op.Name] = op.Calls
		share += op.Share
		// Matmuls read weights and report the rate; nothing else does.
		if isMatMul := strings.HasPrefix(op.Name, "mul_mat "); isMatMul != (op.GBs > 0) {
			t.Errorf("op %s: weight rate %v GB/s", op.Name, op.GBs)
		}
		matmulBytes += op.GBs * 1e9 * op.US * 1e-6
		if strings.HasSuffix(op.Name, " after rms_norm") {
			normed += op.Calls
		}
		if op.US <= 0 {
			t.Errorf("op %s: %v µs per step", op.Name, op.US)
		}
	}
	if len(tg.OpProfile) == 0 || calls["attention"] < 1 || calls["rope"] < 2 || normed < 3 || share <= 0 || share > 1.0001 {
		t.Errorf("tg4 op profile %+v (shares sum to %v)", tg.OpProfile, share)
	}
	// The matmuls read most of a step's bytes, never more than the
	// roofline counts (which adds the norms, the embedding row and the KV).
	if tg.Roofline != nil && (matmulBytes <= 0.5*tg.Roofline.BytesPerStep || matmulBytes > 1.0001*tg.Roofline.BytesPerStep) {
		t.Errorf("matmuls read %.0f bytes a step, the roofline counts %.0f", matmulBytes, tg.Roofline.BytesPerStep)
	}
	if doc.Results.Tests[0].OpProfile != nil {
		t.Errorf("pp16 has an op profile: %+v", doc.Results.Tests[0].OpProfile)
	}
	// One probe per repetition; the paired ratio is that repetition's t/s
	// against its probe's roofline.
	if len(tg.ProbeGBs) != 1 || tg.ProbeGBs[0] <= 0 || tg.Roofline == nil {
		t.Fatalf("tg4 probes %v", tg.ProbeGBs)
	}
	want := tg.TPS[0] * tg.Roofline.BytesPerStep / (tg.ProbeGBs[0] * 1e9)
	if math.Abs(tg.Roofline.PairedRatio-want) > 1e-9*want {
		t.Errorf("tg4 paired ratio %v, want %v from its probe", tg.Roofline.PairedRatio, want)
	}
	if strings.Contains(stderr.String(), "bench model") {
		t.Errorf("--progress=false still reported progress: %s", stderr.String())
	}
}

// TestBenchModelDepth: -d runs the tests after that many tokens in the
// cache, names them as llama-bench does and counts the prefix in the
// bytes a decode step reads.
// TestBenchModelDepth: -p, -n and -d take lists as llama-bench does; at
// each depth the pp tests run before the tg tests, a test given twice runs
// once, and each test's roofline counts the KV it reads at its own depth.
func TestBenchModelDepth(t *testing.T) {
	path := synthTinyModel(t)
	var stdout, stderr bytes.Buffer
	args := []string{"model", "--model", path, "-p", "8", "-n", "4,2", "-d", "40", "-d", "0,40", "-r", "1", "--bw-mib", "8", "--json", "--progress=false"}
	if err := runBench(args, &stdout, &stderr); err != nil {
		t.Fatalf("bench model -d: %v\n%s", err, stderr.String())
	}
	var doc struct {
		Config struct {
			Depths []int `json:"n_depth"`
			Gens   []int `json:"n_gen"`
		} `json:"config"`
		Results struct {
			KVBytes int `json:"kv_bytes_per_position"`
			Tests   []struct {
				Name     string  `json:"name"`
				Depth    int     `json:"n_depth"`
				AvgTS    float64 `json:"avg_ts"`
				Roofline *struct {
					KVBytes float64 `json:"kv_bytes_per_step"`
				} `json:"roofline"`
			} `json:"tests"`
		} `json:"results"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil {
		t.Fatalf("--json output does not parse: %v\n%s", err, stdout.String())
	}
	if !slices.Equal(doc.Config.Depths, []int{40, 0, 40}) || !slices.Equal(doc.Config.Gens, []int{4, 2}) {
		t.Errorf("config n_depth %v n_gen %v, want [40 0 40] and [4 2]", doc.Config.Depths, doc.Config.Gens)
	}
	var names []string
	for _, tc := range doc.Results.Tests {
		names = append(names, tc.Name)
	}
	want := []string{"pp8 @ d40", "tg4 @ d40", "tg2 @ d40", "pp8", "tg4", "tg2"}
	if !slices.Equal(names, want) {
		t.Fatalf("tests %q, want %q", names, want)
	}
	// Step i of tgN @ dD reads positions 0..D+i: D + (N+1)/2 on average.
	for i, wantDepth := range []int{40, 40, 40, 0, 0, 0} {
		tc := doc.Results.Tests[i]
		if tc.Depth != wantDepth || tc.AvgTS <= 0 {
			t.Errorf("%s: depth %d, %v t/s", tc.Name, tc.Depth, tc.AvgTS)
		}
		if n, ok := strings.CutPrefix(strings.Fields(tc.Name)[0], "tg"); ok {
			gen, _ := strconv.Atoi(n)
			kv := float64(doc.Results.KVBytes) * (float64(wantDepth) + float64(gen+1)/2)
			if tc.Roofline == nil || math.Abs(tc.Roofline.KVBytes-kv) > 1e-9*kv {
				t.Errorf("%s: roofline %+v, want %v KV bytes a step", tc.Name, tc.Roofline, kv)
			}
		}
	}
}

// TestBenchModelLlamaBenchOutput: -o csv and -o jsonl print llama-bench's
// per-test records: a pp row with n_gen 0, a tg row with n_prompt 0 and the
// roofline ratio, the mean over the repetitions' samples, in test order.
func TestBenchModelLlamaBenchOutput(t *testing.T) {
	path := synthTinyModel(t)
	base := []string{"model", "--model", path, "-p", "8", "-n", "4", "-r", "3", "--bw-mib", "8", "--progress=false"}
	var stdout, stderr bytes.Buffer
	if err := runBench(append(slices.Clone(base), "-d", "0,16", "-o", "csv"), &stdout, &stderr); err != nil {
		t.Fatalf("-o csv: %v\n%s", err, stderr.String())
	}
	rows, err := csv.NewReader(&stdout).ReadAll()
	if err != nil || len(rows) != 5 {
		t.Fatalf("-o csv: %d rows, %v\n%s", len(rows), err, stdout.String())
	}
	col := map[string]int{}
	for i, name := range rows[0] {
		col[name] = i
	}
	for _, name := range []string{"model_filename", "n_threads", "n_prompt", "n_gen", "n_depth", "avg_ns", "avg_ts", "stddev_ts", "roofline_ratio"} {
		if _, ok := col[name]; !ok {
			t.Fatalf("-o csv header %q lacks %s", rows[0], name)
		}
	}
	for i, want := range [][3]string{{"8", "0", "0"}, {"0", "4", "0"}, {"8", "0", "16"}, {"0", "4", "16"}} {
		r := rows[i+1]
		if got := [3]string{r[col["n_prompt"]], r[col["n_gen"]], r[col["n_depth"]]}; got != want || r[col["model_filename"]] != path {
			t.Errorf("row %d: n_prompt, n_gen, n_depth %v, file %q; want %v", i+1, got, r[col["model_filename"]], want)
		}
		ts, err1 := strconv.ParseFloat(r[col["avg_ts"]], 64)
		ns, err2 := strconv.ParseFloat(r[col["avg_ns"]], 64)
		if err1 != nil || err2 != nil || ts <= 0 || ns <= 0 {
			t.Errorf("row %d: avg_ts %q avg_ns %q", i+1, r[col["avg_ts"]], r[col["avg_ns"]])
		}
		if hasRatio := r[col["roofline_ratio"]] != ""; hasRatio != (want[1] != "0") {
			t.Errorf("row %d: roofline_ratio %q", i+1, r[col["roofline_ratio"]])
		}
	}

	stdout.Reset()
	if err := runBench(append(slices.Clone(base), "-o", "jsonl"), &stdout, &stderr); err != nil {
		t.Fatalf("-o jsonl: %v\n%s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("-o jsonl: %d lines\n%s", len(lines), stdout.String())
	}
	for _, line := range lines {
		var rec struct {
			NGen      int       `json:"n_gen"`
			AvgNs     float64   `json:"avg_ns"`
			SamplesNs []float64 `json:"samples_ns"`
			AvgTs     float64   `json:"avg_ts"`
			SamplesTs []float64 `json:"samples_ts"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("-o jsonl line %q: %v", line, err)
		}
		mean := func(xs []float64) float64 {
			var s float64
			for _, x := range xs {
				s += x
			}
			return s / float64(len(xs))
		}
		if len(rec.SamplesNs) != 3 || len(rec.SamplesTs) != 3 || math.Abs(mean(rec.SamplesTs)-rec.AvgTs) > 1e-9*rec.AvgTs ||
			math.Abs(mean(rec.SamplesNs)-rec.AvgNs) > 1 {
			t.Errorf("-o jsonl record %+v: avg not the samples' mean", rec)
		}
	}
}

// TestBenchModelThreadsList: -t 1,2 runs every test once a thread count,
// as llama-bench does; -o jsonl gives each run's records in turn.
func TestBenchModelThreadsList(t *testing.T) {
	path := synthTinyModel(t)
	var stdout, stderr bytes.Buffer
	args := []string{"model", "--model", path, "-p", "8", "-n", "4", "-r", "1", "--bw-mib", "8", "--progress=false", "-t", "1,2", "-o", "jsonl"}
	if err := runBench(args, &stdout, &stderr); err != nil {
		t.Fatalf("-t 1,2: %v\n%s", err, stderr.String())
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		var rec struct {
			Threads int `json:"n_threads"`
			Prompt  int `json:"n_prompt"`
			Gen     int `json:"n_gen"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		got = append(got, fmt.Sprintf("t%d p%d n%d", rec.Threads, rec.Prompt, rec.Gen))
	}
	if want := []string{"t1 p8 n0", "t1 p0 n4", "t2 p8 n0", "t2 p0 n4"}; !slices.Equal(got, want) {
		t.Errorf("records %q, want %q", got, want)
	}
}

func TestParseTokenCounts(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []int
	}{
		{"512", []int{512}},
		{"0", []int{0}},
		{"128, 512", []int{128, 512}},
		{"64-256+64", []int{64, 128, 192, 256}},
		{"128-1024*2", []int{128, 256, 512, 1024}},
		{"1-3,16", []int{1, 2, 3, 16}},
		{"100-300*2", []int{100, 200}},
		{"8-8", []int{8}},
	} {
		got, err := parseTokenCounts(tc.in)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%q: %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "-1", "x", "5-1", "1-8+0", "0-8*2", "1-8*1", "1-1000", "1-2-3", "1,,2"} {
		if got, err := parseTokenCounts(bad); err == nil {
			t.Errorf("%q: accepted as %v", bad, got)
		}
	}
}

func TestBenchModelUsage(t *testing.T) {
	bad := [][]string{
		{"--model", "m.gguf", "-d", "-1"},
		{"--model", "m.gguf", "-p", "128,-5"},
		{"--model", "m.gguf", "-n", "64-8"},
		{"--model", "m.gguf", "-o", "xml"},
		{"--model", "m.gguf", "-t", "0"},
		{"--model", "m.gguf", "-t", "1,2", "--json"},
		{"--model", "m.gguf", "-t", "1,2", "--out", "dir"},
		{"--model", "m.gguf", "-t", "-2"},
		{"--model", "m.gguf", "-o", "csv", "--json"},
		{},                               // no model
		{"--model", "m.gguf", "-r", "0"}, // no repetitions
		{"--model", "m.gguf", "--batch", "0"},
		{"--model", "m.gguf", "--batch", "2", "-n", "0"},
		{"--model", "m.gguf", "-p", "0", "-n", "0"},
		{"--model", "m.gguf", "--kv-type", "q4_k"}, // not a cache type
		{"--model", "m.gguf", "extra"},
	}
	for _, args := range bad {
		var stdout, stderr bytes.Buffer
		if err := runBench(append([]string{"model"}, args...), &stdout, &stderr); err != errUsage {
			t.Errorf("%q: %v, want a usage error", args, err)
		}
	}
	var stdout, stderr bytes.Buffer
	if err := runBench([]string{"model", "--model", filepath.Join(t.TempDir(), "missing.gguf")}, &stdout, &stderr); err == nil ||
		err == errUsage || !strings.Contains(err.Error(), "missing.gguf") {
		t.Errorf("missing model: %v", err)
	}
}

// TestBenchModelOtherDevice runs the benchmark on a device other than the
// CPU: the simulated NPU, which cannot measure its memory, so the run
// reports its rates without a roofline and says why, plus its rates in the
// simulator's device time. Unknown devices and
// an op profile the device cannot take fail before any work.
func TestBenchModelOtherDevice(t *testing.T) {
	path := synthTinyModel(t)
	var stdout, stderr bytes.Buffer
	args := []string{"model", "--model", path, "--device", "npu:atom", "-p", "16", "-n", "4", "-r", "1", "--batch", "1,3", "--batch-prompt", "8", "--bw-mib", "8", "--progress=false"}
	if err := runBench(args, &stdout, &stderr); err != nil {
		t.Fatalf("bench model --device npu:atom: %v\n%s", err, stderr.String())
	}
	text := stdout.String()
	_, rows := tableRows(t, text, "model")
	if len(rows) != 2 || rows[0][3] != "NPU" || rows[1][5] != "tg4" {
		t.Errorf("llama-bench table rows %q in:\n%s", rows, text)
	}
	for _, want := range []string{
		"generation: tg4 ", "no roofline: npu:atom:0 cannot measure its memory bandwidth",
		"read bandwidth: not measured (npu:atom:0", "device: npu:atom:0: simulated ATOM-class",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("no %q in:\n%s", want, text)
		}
	}
	if strings.Contains(text, "roofline: tg4") {
		t.Errorf("a roofline without a bandwidth measurement:\n%s", text)
	}
	// The simulator's own clock gives each test a device-time rate.
	sim := regexp.MustCompile(`simulated on npu:atom:0: ([0-9.]+) t/s of device time`).FindAllStringSubmatch(text, -1)
	if len(sim) != 2 {
		t.Errorf("want a simulated rate for pp16 and tg4 in:\n%s", text)
	}
	for _, m := range sim {
		if v, err := strconv.ParseFloat(m[1], 64); err != nil || v <= 0 {
			t.Errorf("simulated rate %q", m[1])
		}
	}
	header, brows := tableRows(t, text, "B")
	if len(brows) != 2 || header[len(header)-1] != "simulated t/s (all sequences)" {
		t.Fatalf("batched table %q %q", header, brows)
	}
	for _, r := range brows {
		if v, err := strconv.ParseFloat(r[len(r)-1], 64); err != nil || v <= 0 {
			t.Errorf("batch %s: simulated aggregate rate %q", r[0], r[len(r)-1])
		}
	}

	for _, bad := range [][]string{
		{"--device", "tpu:0"},
		{"--device", "npu:atom", "--op-profile"},
	} {
		stdout.Reset()
		stderr.Reset()
		args := append([]string{"model", "--model", path, "-p", "0", "-n", "2", "-r", "1", "--bw-mib", "8", "--progress=false"}, bad...)
		err := runBench(args, &stdout, &stderr)
		if err == nil || err == errUsage || !strings.Contains(err.Error(), strings.Split(bad[1], ":")[0]) {
			t.Errorf("%q: %v, want an error naming the device", bad, err)
		}
	}
}

// TestBenchModelKVTypesApart: -ctk and -ctv (llama-bench's) give the
// cache's K and V types apart; the records carry each as type_k and
// type_v, and --kv-type gives both. A type given both ways must agree.
func TestBenchModelKVTypesApart(t *testing.T) {
	path := synthTinyModel(t)
	for _, tc := range []struct {
		flags        []string
		typeK, typeV string
	}{
		{[]string{"-ctk", "q8_0", "-ctv", "q4_0"}, "q8_0", "q4_0"},
		{[]string{"--cache-type-v", "Q5_1"}, "f16", "q5_1"},
		{[]string{"--kv-type", "q8_0"}, "q8_0", "q8_0"},
	} {
		args := append([]string{"model", "--model", path, "-p", "8", "-n", "2", "-r", "1", "--bw-mib", "8", "--progress=false", "-o", "jsonl"}, tc.flags...)
		var stdout, stderr bytes.Buffer
		if err := runBench(args, &stdout, &stderr); err != nil {
			t.Fatalf("%v: %v\n%s", tc.flags, err, stderr.String())
		}
		for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
			var rec struct {
				TypeK string `json:"type_k"`
				TypeV string `json:"type_v"`
			}
			if err := json.Unmarshal([]byte(line), &rec); err != nil || rec.TypeK != tc.typeK || rec.TypeV != tc.typeV {
				t.Errorf("%v: record %q (%v); want type_k %s, type_v %s", tc.flags, line, err, tc.typeK, tc.typeV)
			}
		}
	}
	// The markdown table shows type_k and type_v after threads where either
	// is not f16, as llama-bench does, and not otherwise.
	for _, tc := range []struct {
		flags []string
		want  string // "": no type columns
	}{{[]string{"-ctk", "q8_0", "-ctv", "q4_0"}, "| q8_0   | q4_0   |"}, {nil, ""}} {
		var stdout, stderr bytes.Buffer
		args := append([]string{"model", "--model", path, "-p", "8", "-n", "2", "-r", "1", "--bw-mib", "8", "--progress=false"}, tc.flags...)
		if err := runBench(args, &stdout, &stderr); err != nil {
			t.Fatalf("%v: %v\n%s", tc.flags, err, stderr.String())
		}
		header := strings.Contains(stdout.String(), "| threads | type_k | type_v | test |")
		if header != (tc.want != "") || !strings.Contains(stdout.String(), tc.want) {
			t.Errorf("%v: the table's type columns: %v, want %q:\n%s", tc.flags, header, tc.want, stdout.String())
		}
	}
	var stdout, stderr bytes.Buffer
	if err := runBench([]string{"model", "--model", path, "--kv-type", "q8_0", "-ctk", "q4_0"}, &stdout, &stderr); err != errUsage ||
		!strings.Contains(stderr.String(), "disagree") {
		t.Errorf("--kv-type q8_0 -ctk q4_0: %v, %q; want a usage error", err, firstLine(stderr.String()))
	}
}
