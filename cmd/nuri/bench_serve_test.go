package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nuri-ai/nuri/bench"
	"github.com/nuri-ai/nuri/bench/benchtest"
)

// benchArgs is the acceptance command line: the Korean dataset, 20 prompts,
// concurrency 1 and 4. The model name is left to /v1/models discovery.
func benchArgs(url, out string, extra ...string) []string {
	return append([]string{"serve", "--base-url", url, "--dataset", "korean", "--num-prompts", "20",
		"--concurrency", "1,4", "--out", out}, extra...)
}

// jsonPath walks a decoded JSON document along keys and array indexes.
func jsonPath(t *testing.T, doc any, path ...any) any {
	t.Helper()
	cur := doc
	for i, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := cur.(map[string]any)
			if !ok {
				t.Fatalf("%v: not an object at %v", path, path[:i])
			}
			v, ok := m[k]
			if !ok {
				t.Fatalf("results.json lacks %v", path[:i+1])
			}
			cur = v
		case int:
			a, ok := cur.([]any)
			if !ok || k >= len(a) {
				t.Fatalf("%v: no element %d at %v", path, k, path[:i])
			}
			cur = a[k]
		}
	}
	return cur
}

func num(t *testing.T, doc any, path ...any) float64 {
	t.Helper()
	v, ok := jsonPath(t, doc, path...).(float64)
	if !ok {
		t.Fatalf("%v is not a number", path)
	}
	return v
}

// checkServeReport verifies a report directory written by `nuri bench serve`
// with the acceptance flags: every field present, values plausible.
func checkServeReport(t *testing.T, dir, wantModel, wantTokens string, wantFailures map[string]float64) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if jsonPath(t, doc, "schema") != bench.SchemaVersion || jsonPath(t, doc, "kind") != "serve" {
		t.Errorf("schema %v kind %v", doc["schema"], doc["kind"])
	}
	for _, k := range []string{"timestamp", "go_version", "os", "arch", "cpu_model"} {
		if s, _ := jsonPath(t, doc, "environment", k).(string); s == "" {
			t.Errorf("environment.%s empty", k)
		}
	}
	jsonPath(t, doc, "environment", "commit") // present even when unknown
	if out, err := exec.Command("git", "rev-parse", "HEAD").Output(); err == nil {
		if got := jsonPath(t, doc, "environment", "commit"); got != strings.TrimSpace(string(out)) {
			t.Errorf("commit %v, git says %s", got, out)
		}
	}
	if num(t, doc, "environment", "logical_cpus") < 1 || len(jsonPath(t, doc, "environment", "command_line").([]any)) < 5 {
		t.Error("environment: cores or command line missing")
	}
	if wantFailures == nil || wantFailures["connection_refused"] == 0 {
		if id := jsonPath(t, doc, "environment", "server", "models", "data", 0, "id"); id != wantModel {
			t.Errorf("server /v1/models id %v, want %s", id, wantModel)
		}
	}
	if jsonPath(t, doc, "config", "model") != wantModel || num(t, doc, "config", "num_prompts") != 20 {
		t.Errorf("config %v", doc["config"])
	}
	if len(jsonPath(t, doc, "metrics").([]any)) < 20 {
		t.Error("too few headline metrics")
	}
	levels := jsonPath(t, doc, "results", "levels").([]any)
	if len(levels) != 2 {
		t.Fatalf("%d levels", len(levels))
	}
	for li, conc := range []float64{1, 4} {
		l := levels[li]
		if num(t, l, "level", "concurrency") != conc {
			t.Errorf("level %d concurrency %v", li, num(t, l, "level", "concurrency"))
		}
		s := jsonPath(t, l, "summary")
		failed := 0.0
		for status, n := range wantFailures {
			failed += n
			if got := num(t, s, "failures", status); got != n {
				t.Errorf("level %v: %v %s failures, want %v", conc, got, status, n)
			}
		}
		if num(t, s, "completed") != 20-failed || num(t, s, "failed") != failed {
			t.Errorf("level %v: completed %v failed %v", conc, num(t, s, "completed"), num(t, s, "failed"))
		}
		for _, k := range []string{"duration_s", "total_input_tokens", "total_output_tokens", "request_throughput",
			"output_throughput", "total_token_throughput", "peak_output_throughput", "peak_concurrency",
			"output_tokens_from_usage", "output_tokens_from_chunks"} {
			if v := num(t, s, k); v < 0 || (failed < 20 && k != "output_tokens_from_chunks" && k != "output_tokens_from_usage" && v == 0) {
				t.Errorf("level %v: %s = %v", conc, k, v)
			}
		}
		if pc := num(t, s, "peak_concurrency"); pc > conc || (failed < 20 && pc < 1) {
			t.Errorf("level %v: peak concurrency %v", conc, pc)
		}
		for _, m := range []string{"ttft_ms", "tpot_ms", "itl_ms", "e2el_ms"} {
			for _, st := range []string{"n", "mean", "median", "p90", "p99", "min", "max", "std"} {
				num(t, s, m, st)
			}
		}
		if failed < 20 && num(t, s, "ttft_ms", "mean") > num(t, s, "e2el_ms", "mean") {
			t.Errorf("level %v: mean TTFT above mean E2EL", conc)
		}
		reqs := jsonPath(t, l, "requests").([]any)
		if len(reqs) != 20 {
			t.Fatalf("level %v: %d request records", conc, len(reqs))
		}
		for _, r := range reqs {
			if jsonPath(t, r, "ok") != true {
				if _, bad := wantFailures[jsonPath(t, r, "status").(string)]; !bad {
					t.Errorf("unexpected failure %v: %v", jsonPath(t, r, "status"), jsonPath(t, r, "error"))
				}
				continue
			}
			ttft, e2el, out := num(t, r, "ttft_ms"), num(t, r, "e2el_ms"), num(t, r, "output_tokens")
			if !(ttft > 0 && ttft <= e2el) || out < 1 || num(t, r, "input_tokens") < 1 {
				t.Errorf("request %v: ttft %v e2el %v tokens %v", jsonPath(t, r, "prompt_id"), ttft, e2el, out)
			}
			if src := jsonPath(t, r, "output_tokens_source"); src != wantTokens {
				t.Errorf("request %v: tokens from %v, want %s", jsonPath(t, r, "prompt_id"), src, wantTokens)
			}
		}
	}
	html, err := os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	info, err := benchtest.CheckHTML(html)
	if err != nil {
		t.Fatalf("report.html: %v", err)
	}
	if info.Elements["svg"] < 4 || info.Elements["path"] < 4 {
		t.Errorf("report.html: %d svg charts, %d paths", info.Elements["svg"], info.Elements["path"])
	}
	md, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil || !bytes.Contains(md, []byte("| concurrency 4 |")) {
		t.Errorf("report.md: %v", err)
	}
}

func TestBenchServeAgainstServerVariants(t *testing.T) {
	// The same command line against every stream shape we know.
	for _, v := range []struct {
		variant benchtest.Variant
		tokens  string
	}{
		{benchtest.Nuri, "usage"},
		{benchtest.VLLM, "usage"},
		{benchtest.LlamaCpp, "usage"},
		{benchtest.LlamaCppLegacy, "usage"},
		{benchtest.Ollama, "usage"},
		{benchtest.NoUsage, "chunks"},
	} {
		t.Run(string(v.variant), func(t *testing.T) {
			srv := benchtest.New(benchtest.Config{Variant: v.variant, Model: "m-" + string(v.variant), Tokens: 6, TokenDelay: 200 * time.Microsecond})
			defer srv.Close()
			out := t.TempDir()
			var stdout, stderr bytes.Buffer
			if err := runBench(benchArgs(srv.URL, out), &stdout, &stderr); err != nil {
				t.Fatalf("%v\n%s", err, stderr.String())
			}
			if n := strings.Count(stdout.String(), "Serving Benchmark Result"); n != 2 {
				t.Errorf("%d result blocks in stdout:\n%s", n, stdout.String())
			}
			// stderr is not a terminal here: a handful of plain progress lines.
			if strings.Contains(stderr.String(), "\r") || strings.Count(stderr.String(), "\n") > 10 {
				t.Errorf("progress output:\n%q", stderr.String())
			}
			checkServeReport(t, out, "m-"+string(v.variant), v.tokens, nil)
			reqs := srv.Requests()
			if len(reqs) != 40 || reqs[0].Model != "m-"+string(v.variant) || !reqs[0].IncludeUsage {
				t.Fatalf("server saw %d requests, first %+v", len(reqs), reqs[0])
			}
			// Token totals must be the server's own counts: every response
			// has 6 tokens, and prompt tokens add up to what it reported.
			serverIn := 0
			for _, r := range reqs {
				serverIn += benchtest.PromptTokens(r)
			}
			res := serveResults(t, out)
			gotIn := 0
			for _, l := range res.Levels {
				gotIn += l.Summary.TotalInputTokens
				if l.Summary.TotalOutputTokens != 120 {
					t.Errorf("%s: %d output tokens, server generated 120", l.Name, l.Summary.TotalOutputTokens)
				}
			}
			if v.tokens == "usage" && gotIn != serverIn {
				t.Errorf("%d input tokens, server reported %d", gotIn, serverIn)
			}
			// llama-server's timings (Nuri sends them too) are summarised
			// per level; other servers send none.
			for _, l := range res.Levels {
				st := l.Summary.ServerTimings
				timed := v.variant == benchtest.LlamaCpp || v.variant == benchtest.LlamaCppLegacy || v.variant == benchtest.Nuri
				if timed != (st != nil) || timed && (st.Requests != 20 || st.PredictedPerSecond.Median != 100 || st.PromptMS.Median != 5) {
					t.Errorf("%s: server timings %+v", l.Name, st)
				}
			}
			md, err := os.ReadFile(filepath.Join(out, "report.md"))
			if err != nil {
				t.Fatal(err)
			}
			if has := bytes.Contains(md, []byte("Server-reported timings")); has != (v.variant == benchtest.LlamaCpp || v.variant == benchtest.LlamaCppLegacy || v.variant == benchtest.Nuri) {
				t.Errorf("report.md has the server timings section: %v", has)
			}
		})
	}
}

func TestBenchServeFailures(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadURL := "http://" + l.Addr().String()
	l.Close()
	cases := []struct {
		name     string
		url      func() (string, func())
		failures map[string]float64
		allFail  bool
	}{
		{"bad URL", func() (string, func()) { return deadURL, func() {} },
			map[string]float64{"connection_refused": 20}, true},
		{"500s", func() (string, func()) {
			s := benchtest.New(benchtest.Config{Model: "m", FailEvery: 1, Failure: benchtest.Fail500})
			return s.URL, s.Close
		}, map[string]float64{"http_500": 20}, true},
		{"streams closed early", func() (string, func()) {
			s := benchtest.New(benchtest.Config{Model: "m", FailEvery: 2, Failure: benchtest.FailAbort})
			return s.URL, s.Close
		}, map[string]float64{"stream_truncated": 10}, false},
		{"streams ended without finish", func() (string, func()) {
			s := benchtest.New(benchtest.Config{Variant: benchtest.LlamaCpp, Model: "m", FailEvery: 4, Failure: benchtest.FailCleanEOF})
			return s.URL, s.Close
		}, map[string]float64{"stream_truncated": 5}, false},
		{"in-stream errors", func() (string, func()) {
			s := benchtest.New(benchtest.Config{Variant: benchtest.LlamaCppLegacy, Model: "m", FailEvery: 5, Failure: benchtest.FailStreamError})
			return s.URL, s.Close
		}, map[string]float64{"stream_error": 4}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			url, closeSrv := tc.url()
			defer closeSrv()
			out := t.TempDir()
			var stdout, stderr bytes.Buffer
			err := runBench(benchArgs(url, out, "--model", "m"), &stdout, &stderr)
			if tc.allFail != (err != nil) || (err != nil && !strings.Contains(err.Error(), "every request failed")) {
				t.Fatalf("err %v (all fail %v)\n%s", err, tc.allFail, stderr.String())
			}
			if !strings.Contains(stdout.String(), "Failed requests:") {
				t.Errorf("stdout:\n%s", stdout.String())
			}
			checkServeReport(t, out, "m", "usage", tc.failures)
		})
	}
}

func TestBenchServeRequestRateAndCompare(t *testing.T) {
	srv := benchtest.New(benchtest.Config{Variant: benchtest.VLLM, Model: "m", Tokens: 4})
	defer srv.Close()
	dirs := []string{t.TempDir(), t.TempDir()}
	for i, extra := range [][]string{
		{"--concurrency", "2"},
		{"--request-rate", "400", "--burstiness", "0.5", "--max-concurrency", "3", "--goodput", "ttft:5000", "--seed", "3"},
	} {
		args := append([]string{"serve", "--base-url", srv.URL + "/v1/", "--dataset", "random", "--random-input-len", "16",
			"--random-output-len", "4", "--num-prompts", "12", "--endpoint", "completions", "--out", dirs[i], "--label", "run" + string(rune('A'+i))}, extra...)
		var stdout, stderr bytes.Buffer
		if err := runBench(args, &stdout, &stderr); err != nil {
			t.Fatalf("%v\n%s", err, stderr.String())
		}
	}
	if reqs := srv.Requests(); len(reqs) != 24 || reqs[0].Path != "/v1/completions" || reqs[0].Prompt == "" {
		t.Fatalf("server saw %d requests, first %+v", len(reqs), reqs[0])
	}
	rep, err := bench.ReadReport(filepath.Join(dirs[1], "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Label != "runB" || rep.Metrics[0].Group != "rate 400 max 3" {
		t.Errorf("label %q, first metric %+v", rep.Label, rep.Metrics[0])
	}
	var stdout, stderr bytes.Buffer
	if err := runBench([]string{"compare", dirs[0], filepath.Join(dirs[1], "results.json")}, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	for _, want := range []string{"runA: serve", "runB: serve", "concurrency 2", "rate 400 max 3", "output_throughput", "B/A"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("compare output lacks %q:\n%s", want, stdout.String())
		}
	}
	if err := runBench([]string{"compare", dirs[0], filepath.Join(dirs[0], "results.json")}, &stdout, &stderr); err != nil ||
		!strings.Contains(stdout.String(), "1.000x") {
		t.Errorf("self-comparison: %v", err)
	}
	if err := runBench([]string{"compare", dirs[0], "/nonexistent"}, &stdout, &stderr); err == nil {
		t.Error("missing report accepted")
	}
}

func TestBenchDispatchAndUsage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := runBench(nil, &stdout, &stderr); err != errUsage || !strings.Contains(stderr.String(), "serve") {
		t.Errorf("no args: %v", err)
	}
	if err := runBench([]string{"-h"}, &stdout, &stderr); err != nil || !strings.Contains(stdout.String(), "compare") {
		t.Errorf("-h: %v", err)
	}
	for _, name := range []string{"serve", "compare", "model", "kernels"} {
		if _, registered := benchCommands.byName[name]; !registered {
			t.Errorf("bench %s is not registered", name)
		}
		if !strings.Contains(stdout.String(), "  "+name+" ") {
			t.Errorf("bench -h does not list %s:\n%s", name, stdout.String())
		}
	}
	if err := runBench([]string{"nope"}, &stdout, &stderr); err != errUsage {
		t.Errorf("unknown benchmark: %v", err)
	}
	if code := realMain([]string{"bench", "nope"}, &stdout, &stderr); code != 2 {
		t.Errorf("exit code %d for an unknown benchmark", code)
	}
	if err := runBench([]string{"serve", "-h"}, &stdout, &stderr); err != nil {
		t.Errorf("serve -h: %v", err)
	}
	bad := [][]string{
		{"--concurrency", "0"},
		{"--concurrency", "1,x"},
		{"--concurrency", "1", "--request-rate", "2"},
		{"--concurrency", "1", "--max-concurrency", "2"},
		{"--request-rate", "0"},
		{"--request-rate", "inf"},
		{"--goodput", "ttft"},
		{"--goodput", "itl:3"},
		{"--base-url", "localhost:8080"},
		{"--endpoint", "images"},
		{"--num-prompts", "0"},
		{"--timeout", "0s"},
		{"--bogus-flag"},
		{"extra"},
	}
	for _, args := range bad {
		stderr.Reset()
		err := runBench(append([]string{"serve"}, args...), &stdout, &stderr)
		if !errors.Is(err, errUsage) || stderr.Len() == 0 {
			t.Errorf("serve %q: err %v, stderr %q", args, err, stderr.String())
		}
	}
	if err := runBench([]string{"serve", "--dataset", "/nonexistent.jsonl", "--base-url", "http://127.0.0.1:1"}, &stdout, &stderr); err == nil ||
		!strings.Contains(err.Error(), "dataset") {
		t.Errorf("missing dataset file: %v", err)
	}
}

// TestBenchServeNuriStories is the acceptance run: the real `nuri serve`
// wiring on stories260K (started in-process by serve_test.go's startServe),
// loaded with the Korean dataset at concurrency 1 and 4. max_tokens is capped
// to keep the test short; everything else is the documented command line.
func TestBenchServeNuriStories(t *testing.T) {
	base := startServe(t)
	for _, ep := range []string{"chat", "responses", "messages"} {
		out := t.TempDir()
		var stdout, stderr bytes.Buffer
		if err := runBench(benchArgs(base, out, "--max-tokens", "16", "--endpoint", ep), &stdout, &stderr); err != nil {
			t.Fatalf("%s: %v\n%s\n%s", ep, err, stdout.String(), stderr.String())
		}
		checkServeReport(t, out, "stories260K", "usage", nil)
		res := serveResults(t, out)
		for _, l := range res.Levels {
			for _, r := range l.Requests {
				// Korean text costs stories260K's byte-fallback vocabulary about
				// three tokens per syllable, so every prompt is long in tokens.
				if r.OutputTokens < 1 || r.OutputTokens > 16 || r.InputTokens < 10 || r.TTFTMS > r.E2ELMS || !r.OK {
					t.Errorf("%s %s %s: in %d out %d ttft %.1f e2el %.1f status %s", ep, l.Name, r.PromptID, r.InputTokens, r.OutputTokens, r.TTFTMS, r.E2ELMS, r.Status)
				}
			}
		}
	}
}

// serveResults reads the serve results of the report in folder out.
func serveResults(t *testing.T, out string) bench.ServeResults {
	t.Helper()
	rep, err := bench.ReadReport(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var res bench.ServeResults
	if err := json.Unmarshal(rep.Results.(json.RawMessage), &res); err != nil {
		t.Fatal(err)
	}
	return res
}
