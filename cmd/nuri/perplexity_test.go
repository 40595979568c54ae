package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nuri-ai/nuri/bench/perplexity"
	"github.com/nuri-ai/nuri/internal/testshared"
	"github.com/nuri-ai/nuri/model"
	"github.com/nuri-ai/nuri/quant"
	"github.com/nuri-ai/nuri/tokenizer"
)

// storyFile is the perplexity package's test text (a short children's
// story that stories260K predicts well).
const storyFile = "../../bench/perplexity/testdata/story.txt"

// TestPerplexityCommand runs a perplexity pass that writes a KL base, the
// same pass as JSON, and a KL run of the model against its own base.
func TestPerplexityCommand(t *testing.T) {
	model := testshared.Path(t, "models", "stories260K.gguf")
	dir := t.TempDir()
	base := filepath.Join(dir, "stories.kld")
	run := func(args ...string) (string, string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		if code := realMain(append([]string{"perplexity", "-m", model, "--threads", "2"}, args...), &stdout, &stderr); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr.String())
		}
		return stdout.String(), stderr.String()
	}

	out, errOut := run("-f", storyFile, "-c", "128", "-b", "50", "--kl-divergence-base", base)
	m := regexp.MustCompile(`Final estimate: PPL = ([0-9.]+) \+/- ([0-9.]+)`).FindStringSubmatch(out)
	if m == nil || !strings.HasPrefix(out, "[1]") {
		t.Fatalf("no running estimates or final line:\n%s", out)
	}
	ppl, _ := strconv.ParseFloat(m[1], 64)
	// stories260K reads its own kind of text: a perplexity of a few
	// units, where random predictions over 512 tokens would give 512.
	if ppl < 1 || ppl > 20 {
		t.Errorf("PPL %v on a children's story", ppl)
	}
	if !strings.Contains(errOut, "s a chunk, ETA") || !strings.Contains(errOut, "KL base written to") {
		t.Errorf("progress on stderr:\n%s", errOut)
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 1 {
		t.Fatalf("the output folder holds %v (%v), want the base alone", entries, err)
	}

	// Standard input and --json give the same figure.
	story, err := os.ReadFile(storyFile)
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	c, err := parsePerplexity([]string{"-m", model, "-f", "-", "-c", "128", "--json", "--progress=false"}, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if err := perplexityCmd(t.Context(), c, bytes.NewReader(story), &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	var res struct {
		PPL     struct{ Value, Err float64 } `json:"ppl"`
		Scored  int                          `json:"scored_tokens"`
		Running []float64                    `json:"running"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("JSON: %v\n%s", err, stdout.String())
	}
	if math.Abs(res.PPL.Value-ppl) > 1e-4 || len(res.Running) < 2 || stderr.Len() != 0 {
		t.Errorf("JSON PPL %v (%d chunks), the table's %v; stderr %q", res.PPL.Value, len(res.Running), ppl, stderr.String())
	}

	// The model against its own base: nothing between them but the base's
	// 16-bit rounding.
	out, _ = run("--kl-divergence", "--kl-divergence-base", base, "--json")
	var kl struct {
		KLD     struct{ Value float64 } `json:"kld"`
		SameTop struct{ Value float64 } `json:"same_top"`
		PPL     struct{ Value float64 } `json:"ppl"`
		Scored  int                     `json:"scored_tokens"`
	}
	if err := json.Unmarshal([]byte(out), &kl); err != nil {
		t.Fatalf("JSON: %v\n%s", err, out)
	}
	if math.Abs(kl.KLD.Value) > 1e-4 || kl.SameTop.Value != 1 || math.Abs(kl.PPL.Value/ppl-1) > 1e-4 || kl.Scored != res.Scored {
		t.Errorf("KL against itself: %+v (PPL %v, %d scored)", kl, ppl, res.Scored)
	}
	out, _ = run("--kl-divergence", "--kl-divergence-base", base)
	for _, want := range []string{"====== KL divergence statistics ======", "Median  KLD:", "99.9%   Δp:", "Same top p: 100.000"} {
		if !strings.Contains(out, want) {
			t.Errorf("KL report lacks %q:\n%s", want, out)
		}
	}
}

// TestHellaSwagCommand scores a task file: llama-perplexity's table, its
// final line, --hellaswag-tasks and --json.
func TestHellaSwagCommand(t *testing.T) {
	model := testshared.Path(t, "models", "stories260K.gguf")
	tasks := filepath.Join(t.TempDir(), "tasks.txt")
	const text = "Once upon a time, there was a little girl named Lily.\n1\nShe big loved the to sun play.\n" +
		"She loved to play outside in the sun.\nplay sun she outside.\nThe in loved she.\n" +
		"She ran to the ball.\n0\nShe ran to the ball and kicked it.\nkicked ball the ran she to it.\nit and to ran.\nball ball ball she.\n"
	if err := os.WriteFile(tasks, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := realMain([]string{"perplexity", "-m", model, "--hellaswag", "-f", tasks}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	out := stdout.String()
	if !strings.HasPrefix(out, "task\tacc_norm\t95% confidence interval\n1\t100.00000000%\t[20.6549%, 100.0000%]\n2\t") ||
		!strings.Contains(out, "Final: acc_norm = 100.0000% [34.2380%, 100.0000%], 2 of 2 tasks") {
		t.Errorf("output:\n%s", out)
	}
	stdout.Reset()
	if code := realMain([]string{"perplexity", "-m", model, "--hellaswag", "-f", tasks, "--hellaswag-tasks", "1", "--json", "--progress=false"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var r struct {
		Tasks, Correct int
		Picked         []int
	}
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil || r.Tasks != 1 || r.Correct != 1 || len(r.Picked) != 1 || r.Picked[0] != 1 {
		t.Errorf("--json: %+v (%v)\n%s", r, err, stdout.String())
	}
}

// TestWinograndeCommand scores a CSV task file: the per-task table, the
// final line, --winogrande-tasks and --json.
func TestWinograndeCommand(t *testing.T) {
	model := testshared.Path(t, "models", "stories260K.gguf")
	tasks := filepath.Join(t.TempDir(), "winogrande.csv")
	const text = "index,sentence,option1,option2,answer\n" +
		"0,\"Once upon a time, there was a little _ named Lily. She loved to play outside.\",girl,sky,1\n" +
		"1,She was very _ because she could not find her toy.,tree,sad,2\n"
	if err := os.WriteFile(tasks, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := realMain([]string{"perplexity", "-m", model, "--winogrande", "-f", tasks}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	out := stdout.String()
	if !strings.HasPrefix(out, "task\tacc\tscore 1\tscore 2\tpicked\tanswer\n1\t100.0000\t") ||
		!strings.Contains(out, "\t1\t1\n2\t100.0000\t") || !strings.Contains(out, "Final Winogrande score (2 tasks): 100.0000 +/- 0.0000") {
		t.Errorf("output:\n%s", out)
	}
	stdout.Reset()
	if code := realMain([]string{"perplexity", "-m", model, "--winogrande", "-f", tasks, "--winogrande-tasks", "1", "--json", "--progress=false"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var r struct {
		Tasks, Correct int
		Picked         []int
		Scores         [][2]float64
	}
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil || r.Tasks != 1 || r.Correct != 1 || len(r.Picked) != 1 || r.Picked[0] != 1 || r.Scores[0][0] <= r.Scores[0][1] {
		t.Errorf("--json: %+v (%v)\n%s", r, err, stdout.String())
	}
}

// TestMultipleChoiceCommand scores a binary task file written by
// perplexity.WriteChoiceTasks: the table, the final lines, the task cap
// and --json.
func TestMultipleChoiceCommand(t *testing.T) {
	model := testshared.Path(t, "models", "stories260K.gguf")
	path := filepath.Join(t.TempDir(), "tasks.bin")
	var buf bytes.Buffer
	if err := perplexity.WriteChoiceTasks(&buf, []perplexity.ChoiceTask{
		{Question: "Once upon a time, there was a little girl named Lily.", Answers: []string{"loved She to play outside.", "She loved to play outside."}, Labels: []int32{0, 1}},
		{Question: "One day, she saw a big red ball in the park.", Answers: []string{"She ran to the ball.", "ball the ran She to.", "to She ball ran the."}, Labels: []int32{1, 0, 0}},
	}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := realMain([]string{"perplexity", "-m", model, "--multiple-choice", "-f", path}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if out := stdout.String(); out != "task\tacc_norm\n1\t100.00000000\n2\t100.00000000\n\nFinal result: 100.0000 +/- 0.0000\nRandom chance: 40.0000 +/- 48.9898\n" {
		t.Errorf("output:\n%s", out)
	}
	stdout.Reset()
	if code := realMain([]string{"perplexity", "-m", model, "--multiple-choice", "-f", path, "--multiple-choice-tasks", "1", "--json", "--progress=false"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var r struct {
		Tasks, Correct int
		Picked         []int
		Chance         float64 `json:"random_chance"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil || r.Tasks != 1 || r.Correct != 1 || r.Picked[0] != 1 || r.Chance != 0.5 {
		t.Errorf("--json: %+v (%v)\n%s", r, err, stdout.String())
	}

	// Part of a file: the tasks llama-perplexity draws. Task i has i+2
	// answers, so the scores tell which tasks ran.
	var many []perplexity.ChoiceTask
	for i := range 5 {
		task := perplexity.ChoiceTask{Question: "Lily saw a big red ball.", Labels: make([]int32, i+2)}
		for a := range i + 2 {
			task.Answers = append(task.Answers, strings.Repeat("ball ", a+1))
		}
		task.Labels[0] = 1
		many = append(many, task)
	}
	buf.Reset()
	if err := perplexity.WriteChoiceTasks(&buf, many); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout.Reset()
	if code := realMain([]string{"perplexity", "-m", model, "--multiple-choice", "-f", path, "--multiple-choice-tasks", "3", "--json", "--progress=false"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var part struct{ Scores [][]float64 }
	if err := json.Unmarshal(stdout.Bytes(), &part); err != nil {
		t.Fatal(err)
	}
	order := perplexity.SampleOrder(5, 3)
	for k, i := range order {
		if k >= len(part.Scores) || len(part.Scores[k]) != i+2 {
			t.Fatalf("drawn tasks %v, scores %v", order, part.Scores)
		}
	}
	if slices.Equal(order, []int{0, 1, 2}) {
		t.Fatal("the draw is the file's first tasks: the check says nothing")
	}
}

func TestPerplexityCommandErrors(t *testing.T) {
	model := testshared.Path(t, "models", "stories260K.gguf")
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.kld")
	if err := os.WriteFile(junk, []byte("not a base file at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no text", []string{"-m", model}, 2, "--file is required"},
		{"kl without base", []string{"-m", model, "--kl-divergence"}, 2, "needs --kl-divergence-base"},
		{"kl with a text", []string{"-m", model, "--kl-divergence", "--kl-divergence-base", junk, "-f", storyFile}, 2, "drop --file"},
		{"tiny context", []string{"-m", model, "-f", storyFile, "-c", "3"}, 2, "at least 4"},
		{"bad kv type", []string{"-m", model, "-f", storyFile, "--kv-cache-type", "q6_k"}, 2, "want f16, q8_0, f32, q4_0, q4_1, q5_0, q5_1 or iq4_nl"},
		{"bad V cache type", []string{"-m", model, "-f", storyFile, "-ctv", "q6_k"}, 2, "--cache-type-v q6_k: Nuri's KV cache takes"},
		{"base onto the model", []string{"-m", model, "-f", storyFile, "--kl-divergence-base", model}, 2, "is the model file"},
		{"base onto the text", []string{"-m", model, "-f", storyFile, "--kl-divergence-base", storyFile}, 2, "is the text file"},
		{"text too short", []string{"-m", model, "-f", storyFile, "-c", "2048"}, 1, "need at least 4096"},
		{"missing text", []string{"-m", model, "-f", filepath.Join(dir, "none.txt")}, 1, "none.txt"},
		{"not a base file", []string{"-m", model, "--kl-divergence", "--kl-divergence-base", junk}, 1, "bad KL base file"},
		{"hellaswag and kl", []string{"-m", model, "--hellaswag", "-f", storyFile, "--kl-divergence-base", junk}, 2, "drop --kl-divergence"},
		{"tasks without hellaswag", []string{"-m", model, "-f", storyFile, "--hellaswag-tasks", "3"}, 2, "with --hellaswag"},
		{"not a task file", []string{"-m", model, "--hellaswag", "-f", storyFile}, 1, "not a HellaSwag task file"},
		{"winogrande and hellaswag", []string{"-m", model, "--winogrande", "--hellaswag", "-f", storyFile}, 2, "drop --kl-divergence, --kl-divergence-base and --hellaswag"},
		{"tasks without winogrande", []string{"-m", model, "-f", storyFile, "--winogrande-tasks", "3"}, 2, "with --winogrande"},
		{"not a winogrande file", []string{"-m", model, "--winogrande", "-f", storyFile}, 1, "not a Winogrande task file: line 1"},
		{"multiple choice and winogrande", []string{"-m", model, "--multiple-choice", "--winogrande", "-f", storyFile}, 2, "--hellaswag and --winogrande"},
		{"tasks without multiple choice", []string{"-m", model, "-f", storyFile, "--multiple-choice-tasks", "3"}, 2, "with --multiple-choice"},
		{"not a multiple-choice file", []string{"-m", model, "--multiple-choice", "-f", storyFile}, 1, "not a multiple-choice task file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := realMain(append([]string{"perplexity"}, tc.args...), &stdout, &stderr)
			if code != tc.code || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("exit %d, want %d; stderr lacks %q:\n%s", code, tc.code, tc.want, stderr.String())
			}
		})
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("failed runs left files: %v", entries)
	}
}

// The text commands take --unicode-normalization, as serve and run do.
func TestTextRunNormalizationFlag(t *testing.T) {
	var stderr bytes.Buffer
	p, err := parsePerplexity([]string{"-m", "m.gguf", "-f", "t.txt", "--unicode-normalization", "nfc"}, &stderr)
	if err != nil {
		t.Fatalf("%v: %s", err, stderr.String())
	}
	i, err := parseImatrix([]string{"-m", "m.gguf", "-f", "t.txt", "--unicode-normalization", "NFKC"}, &stderr)
	if err != nil {
		t.Fatalf("%v: %s", err, stderr.String())
	}
	if p.normalization != tokenizer.NormNFC || i.normalization != tokenizer.NormNFKC {
		t.Errorf("perplexity %v, imatrix %v", p.normalization, i.normalization)
	}
	if _, err := parsePerplexity([]string{"-m", "m.gguf", "-f", "t.txt", "--unicode-normalization", "nfx"}, &stderr); err == nil {
		t.Error("--unicode-normalization nfx accepted")
	}
}

// TestTextRunKVTypesApart: perplexity and logits take llama.cpp's -ctk
// and -ctv beside their flag for both types.
func TestTextRunKVTypesApart(t *testing.T) {
	var stderr bytes.Buffer
	want := model.KVTypes{K: quant.Q8_0, V: quant.Q4_0}
	p, err := parsePerplexity([]string{"-m", "m.gguf", "-f", "t.txt", "-ctk", "q8_0", "-ctv", "q4_0"}, &stderr)
	if err != nil {
		t.Errorf("perplexity -ctk q8_0 -ctv q4_0: %v (%s)", err, stderr.String())
	} else if p.kvType != want {
		t.Errorf("perplexity -ctk q8_0 -ctv q4_0: types %v, want %v", p.kvType, want)
	}
	l, err := parseLogits([]string{"--model", "m.gguf", "--tokens", "1,2", "--out", "-", "--kv-cache-type", "q8_0", "--cache-type-v", "q8_0"}, &stderr)
	if err != nil {
		t.Errorf("logits --kv-cache-type q8_0 --cache-type-v q8_0: %v (%s)", err, stderr.String())
	} else if l.kvType != model.SameKV(quant.Q8_0) {
		t.Errorf("logits --kv-cache-type q8_0 --cache-type-v q8_0: types %v", l.kvType)
	}
	if _, err := parseLogits([]string{"--model", "m.gguf", "--tokens", "1", "--out", "-", "--kv-type", "f32", "-ctk", "f16"}, &stderr); err == nil ||
		!strings.Contains(stderr.String(), "--kv-type f32 and --cache-type-k f16 disagree") {
		t.Errorf("logits --kv-type f32 -ctk f16: %v, %q", err, stderr.String())
	}
}
