package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/nuri-ai/nuri/engine"
	"github.com/nuri-ai/nuri/gguf"
	"github.com/nuri-ai/nuri/internal/testshared"
	"github.com/nuri-ai/nuri/quant"
	"github.com/nuri-ai/nuri/sample"
	"github.com/nuri-ai/nuri/tokenizer"
)

// readmeBlocks returns the fenced code blocks of the shared models README:
// [0] the greedy continuation of "Once upon a time", [1] llama2.c's
// 200 greedy steps from BOS.
func readmeBlocks(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile(testshared.Path(t, "models", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(string(raw), "```")
	var blocks []string
	for i := 1; i < len(parts); i += 2 {
		blocks = append(blocks, strings.TrimPrefix(parts[i], "\n"))
	}
	if len(blocks) < 2 {
		t.Fatalf("README has %d code blocks, want 2", len(blocks))
	}
	return blocks
}

func runCmd(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := runRun(args, &out, &errb)
	return out.String(), errb.String(), err
}

// TestRunStoriesGreedy: `nuri run` prints the prompt and then the greedy
// continuation, byte for byte as llama.cpp and llama2.c print it.
//
// The README's text ends after 127 generated tokens, though it says
// "-n 120": 120 tokens stop at `but I can'`. Both are checked: 127 tokens
// give exactly the README text, 120 a strict prefix of it.
func TestRunStoriesGreedy(t *testing.T) {
	model := testshared.Path(t, "models", "stories260K.gguf")
	blocks := readmeBlocks(t)
	tests := []struct {
		name, prompt, n string
		want            string
		prefixOnly      bool
		kernels         string
	}{
		{"README continuation", "Once upon a time", "127", blocks[0], false, ""},
		{"-n 120", "Once upon a time", "120", blocks[0], true, ""},
		{"200 steps from BOS", "", "200", blocks[1], false, ""},
		// The same text on the kernels of a CPU without AVX-512, and in Go.
		{"README continuation, AVX2 kernels", "Once upon a time", "127", blocks[0], false, "avx2"},
		{"README continuation, generic kernels", "Once upon a time", "127", blocks[0], false, "generic"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, stderr, err := runCmd(t, "--model", model, "--prompt", tc.prompt, "-n", tc.n, "--temp", "0", "--threads", "2", "--kernels", tc.kernels)
			if err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			if tc.prefixOnly {
				got := strings.TrimSuffix(out, "\n")
				if !strings.HasPrefix(tc.want, got) || len(got) >= len(strings.TrimSuffix(tc.want, "\n")) {
					t.Fatalf("output is not a strict prefix of the README text:\n%q", out)
				}
			} else if out != tc.want {
				t.Fatalf("output:\n%q\nwant:\n%q", out, tc.want)
			}
			for _, w := range []string{"load time:", "prompt:", "generation:", "finish:     length (max tokens (" + tc.n + "))"} {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
		})
	}
}

func TestRunErrors(t *testing.T) {
	model := testshared.Path(t, "models", "stories260K.gguf")
	badSchema := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(badSchema, []byte(`{"type": "integer", "multipleOf": 0.1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("Once upon a time ", 40)
	tests := []struct {
		name string
		args []string
		want error
	}{
		{"no model", []string{"--prompt", "x"}, errUsage},
		{"bad -n", []string{"--model", model, "-n", "-5"}, errUsage},
		{"system without chat", []string{"--model", model, "--system", "x"}, errUsage},
		{"prompt longer than the context", []string{"--model", model, "--prompt", long, "--ctx-size", "64"}, engine.ErrPromptTooLong},
		{"bad sampling", []string{"--model", model, "--prompt", "x", "--min-p", "3"}, errUsage}, // refused with the flags, before the model loads
		{"bad kernel set", []string{"--model", model, "--kernels", "avx512"}, errUsage},
		{"json and a schema", []string{"--model", model, "--json", "--json-schema", "s.json"}, errUsage},
		{"grammar and a regex", []string{"--model", model, "--grammar", "root ::= \"a\"", "--regex", "a"}, errUsage},
		{"bad grammar", []string{"--model", model, "--prompt", "x", "--grammar", "root ::= undefined"}, sample.ErrGrammar},
		{"bad regex", []string{"--model", model, "--prompt", "x", "--regex", "a\\bb"}, sample.ErrGrammar},
		{"missing grammar file", []string{"--model", model, "--prompt", "x", "--grammar-file", "/nonexistent.gbnf"}, fs.ErrNotExist},
		{"unsupported schema", []string{"--model", model, "--prompt", "x", "--json-schema", badSchema}, sample.ErrSchema},
		{"draft model and n-grams", []string{"--model", model, "--draft-model", model, "--spec-ngram", "3"}, errUsage},
		{"draft p-min 1", []string{"--model", model, "--draft-model", model, "--draft-p-min", "1"}, errUsage},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, err := runCmd(t, tc.args...)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v\n%s", err, tc.want, stderr)
			}
		})
	}
	if _, _, err := runCmd(t, "--model", "/nonexistent.gguf", "--prompt", "x"); err == nil {
		t.Fatal("missing model file accepted")
	}
}

// TestRunChatPrompt: with --chat the prompt is rendered by the model's chat
// template (here Qwen3's ChatML-style one) and its special tokens parsed.
func TestRunChatPrompt(t *testing.T) {
	tok, err := tokenizer.LoadFile(testshared.Path(t, "testdata", "tokenizer", "ggml-vocab-qwen3.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	if tok.ChatTemplate() == "" {
		t.Fatal("qwen3 vocab has no chat template")
	}
	ids, err := runPrompt(&runConfig{prompt: "안녕하세요", chat: true, system: "You are helpful."}, tok)
	if err != nil {
		t.Fatal(err)
	}
	text, err := tok.Decode(ids, true)
	if err != nil {
		t.Fatal(err)
	}
	s := string(text)
	for _, w := range []string{"<|im_start|>system\nYou are helpful.<|im_end|>", "<|im_start|>user\n안녕하세요<|im_end|>", "<|im_start|>assistant\n"} {
		if !strings.Contains(s, w) {
			t.Errorf("rendered prompt lacks %q:\n%q", w, s)
		}
	}
	imStart, ok := tok.TokenID("<|im_start|>")
	if !ok || ids[0] != imStart && ids[1] != imStart {
		t.Errorf("special tokens not parsed: first ids %v", ids[:min(3, len(ids))])
	}
}

// TestRunCancelledContext: an interrupted run stops early and still
// reports its statistics.
func TestRunCancelledContext(t *testing.T) {
	c, err := parseRun([]string{"--model", testshared.Path(t, "models", "stories260K.gguf"), "--prompt", "Once", "--temp", "0", "--threads", "2"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errb bytes.Buffer
	if err := generate(ctx, c, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errb.String(), "finish:     cancelled") {
		t.Fatalf("stderr:\n%s", errb.String())
	}
}

// TestRunJSONSchema: --json-schema holds the reply to the schema (and
// ends it when the object closes); --json to one object.
func TestRunJSONSchema(t *testing.T) {
	model := testshared.Path(t, "models", "stories260K.gguf")
	schema := filepath.Join(t.TempDir(), "s.json")
	if err := os.WriteFile(schema, []byte(`{"type": "object", "properties": {"hero": {"type": "string", "maxLength": 10}, "brave": {"type": "boolean"}}, "required": ["hero", "brave"]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for seed := range 3 {
		out, stderr, err := runCmd(t, "--model", model, "--prompt", "Once upon a time", "--json-schema", schema, "-n", "300", "--seed", strconv.Itoa(seed))
		if err != nil {
			t.Fatalf("%v\n%s", err, stderr)
		}
		reply := strings.TrimSuffix(strings.TrimPrefix(out, "Once upon a time"), "\n")
		var got struct {
			Hero  *string `json:"hero"`
			Brave *bool   `json:"brave"`
		}
		if err := json.Unmarshal([]byte(reply), &got); err != nil || got.Hero == nil || got.Brave == nil || utf8.RuneCountInString(*got.Hero) > 10 {
			t.Fatalf("seed %d: %q breaks the schema (%v)", seed, reply, err)
		}
	}
	// Patterns and formats hold the strings' text.
	if err := os.WriteFile(schema, []byte(`{"type": "object", "properties": {"day": {"type": "string", "format": "date"}, "code": {"type": "string", "pattern": "^[A-Z]{2}-[0-9]{3}$"}}, "required": ["day", "code"]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	day, code := regexp.MustCompile(`^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$`), regexp.MustCompile(`^[A-Z]{2}-[0-9]{3}$`)
	for seed := range 3 {
		out, stderr, err := runCmd(t, "--model", model, "--prompt", "Once upon a time", "--json-schema", schema, "-n", "300", "--seed", strconv.Itoa(seed), "--temp", "1.5")
		if err != nil {
			t.Fatalf("%v\n%s", err, stderr)
		}
		reply := strings.TrimSuffix(strings.TrimPrefix(out, "Once upon a time"), "\n")
		var got struct{ Day, Code string }
		if err := json.Unmarshal([]byte(reply), &got); err != nil || !day.MatchString(got.Day) || !code.MatchString(got.Code) {
			t.Fatalf("seed %d: %q breaks the schema (%v)", seed, reply, err)
		}
	}
	out, stderr, err := runCmd(t, "--model", model, "--prompt", "Once upon a time", "--json", "-n", "20", "--seed", "1")
	if err != nil || !strings.HasPrefix(out, "Once upon a time{") {
		t.Fatalf("--json: %q, %v\n%s", out, err, stderr)
	}
}

// A real model's sampled replies under --grammar, --grammar-file and
// --regex match the grammar whole (Go's regexp is the referee), however
// unlike the model's own text that is.
func TestRunGrammar(t *testing.T) {
	model := testshared.Path(t, "models", "stories260K.gguf")
	const gbnf = "root ::= name (\", \" name){1,3} \".\"\nname ::= [A-Z] [a-z]{1,8}"
	file := filepath.Join(t.TempDir(), "list.gbnf")
	if err := os.WriteFile(file, []byte(gbnf), 0o600); err != nil {
		t.Fatal(err)
	}
	listRe := regexp.MustCompile(`^[A-Z][a-z]{1,8}(, [A-Z][a-z]{1,8}){1,3}\.$`)
	dateRe := `20[0-9]{2}-(0[1-9]|1[0-2])-[0-3][0-9]`
	for _, tc := range []struct {
		args []string
		re   *regexp.Regexp
	}{
		{[]string{"--grammar", gbnf}, listRe},
		{[]string{"--grammar-file", file}, listRe},
		{[]string{"--regex", dateRe}, regexp.MustCompile(`^` + dateRe + `$`)},
	} {
		for seed := range 3 {
			args := append([]string{"--model", model, "--prompt", "Once upon a time", "-n", "60", "--seed", strconv.Itoa(seed), "--temp", "1.5"}, tc.args...)
			out, stderr, err := runCmd(t, args...)
			if err != nil {
				t.Fatalf("%v: %v\n%s", tc.args, err, stderr)
			}
			reply := strings.TrimSuffix(strings.TrimPrefix(out, "Once upon a time"), "\n")
			if !tc.re.MatchString(reply) {
				t.Errorf("%v, seed %d: %q does not match", tc.args, seed, reply)
			}
		}
	}
}

// nuri run --draft-model: stories260K drafting for itself leaves the
// reply unchanged and keeps every draft (its picks are the greedy ones);
// a draft of another vocabulary is refused before anything runs.
func TestRunDraftModel(t *testing.T) {
	model := testshared.Path(t, "models", "stories260K.gguf")
	want := readmeBlocks(t)[0]
	out, stderr, err := runCmd(t, "--model", model, "--prompt", "Once upon a time", "-n", "127", "--temp", "0", "--threads", "2", "--draft-model", model)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if out != want {
		t.Errorf("output changed:\n%q", out)
	}
	var fed, kept int
	line := stderr[strings.Index(stderr, "drafts:"):]
	if _, err := fmt.Sscanf(line, "drafts: %d fed, %d kept", &fed, &kept); err != nil || fed == 0 || kept != fed || !strings.Contains(stderr, "draft model:") {
		t.Errorf("%v: %d of %d drafts kept:\n%s", err, kept, fed, stderr)
	}
	other := testshared.Path(t, "testdata", "tokenizer", "ggml-vocab-qwen3.gguf")
	if _, stderr, err := runCmd(t, "--model", model, "--prompt", "x", "-n", "4", "--draft-model", other); err == nil || !strings.Contains(err.Error(), "draft") {
		t.Errorf("a draft of another vocabulary: %v %s", err, stderr)
	}
}

// storiesAdapter writes a rank-2 LoRA adapter for stories260K on its
// first layer's q and v projections: A all ones, B all b.
func storiesAdapter(t *testing.T, b float32) string {
	t.Helper()
	f, err := gguf.Open(testshared.Path(t, "models", "stories260K.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	path := filepath.Join(t.TempDir(), "adapter.gguf")
	w, err := gguf.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	fill := func(n uint64, v float32) []byte {
		out := make([]byte, 4*n)
		for i := range n {
			binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(v))
		}
		return out
	}
	var data [][]byte
	errs := []error{w.Set("general.architecture", gguf.String(f.Arch())), w.Set("general.type", gguf.String("adapter")),
		w.Set("adapter.type", gguf.String("lora")), w.Set("adapter.lora.alpha", gguf.Float32(2))}
	names := []string{"blk.0.attn_q.weight", "blk.0.attn_v.weight"}
	for _, name := range names {
		ti, ok := f.Tensor(name)
		if !ok {
			t.Fatalf("stories260K has no %s", name)
		}
		in, out := ti.Dims[0], ti.Dims[1]
		errs = append(errs, w.AddTensor(name+".lora_a", quant.F32, in, 2), w.AddTensor(name+".lora_b", quant.F32, 2, out))
		data = append(data, fill(2*in, 1), fill(2*out, b))
	}
	for i, name := range names {
		errs = append(errs, w.WriteTensor(name+".lora_a", data[2*i]), w.WriteTensor(name+".lora_b", data[2*i+1]))
	}
	if err := errors.Join(append(errs, w.Close())...); err != nil {
		t.Fatal(err)
	}
	return path
}

// nuri run --lora: an adapter whose B is zero leaves the reply as it is,
// one that is not changes it, and a file that is no adapter is refused.
func TestRunLoRA(t *testing.T) {
	model := testshared.Path(t, "models", "stories260K.gguf")
	want := readmeBlocks(t)[0]
	run := func(args ...string) string {
		t.Helper()
		out, stderr, err := runCmd(t, append([]string{"--model", model, "--prompt", "Once upon a time", "-n", "127", "--temp", "0", "--threads", "2"}, args...)...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, stderr)
		}
		return out
	}
	if out := run("--lora", storiesAdapter(t, 0)); out != want {
		t.Errorf("a zero adapter changed the reply:\n%q", out)
	}
	strong := storiesAdapter(t, 0.05)
	changed := run("--lora", strong)
	if changed == want {
		t.Error("an adapter left the reply unchanged")
	}
	if out := run("--lora-scaled", strong+":0"); out != want {
		t.Errorf("an adapter at scale 0 changed the reply:\n%q", out)
	}
	if out := run("--lora-scaled", strong+":0.5", "--lora-scaled", strong+":0.5"); out != changed {
		t.Errorf("two halves of an adapter are not the adapter:\n%q\n%q", out, changed)
	}
	for _, args := range [][]string{{"--lora", model}, {"--lora-scaled", strong}, {"--lora-scaled", strong + ":x"}} {
		if _, stderr, err := runCmd(t, append([]string{"--model", model, "--prompt", "x", "-n", "2"}, args...)...); err == nil {
			t.Errorf("%v accepted", args)
		} else {
			t.Logf("%v: %v %s", args, err, strings.SplitN(stderr, "\n", 2)[0])
		}
	}
}

// nuri run --prediction: a prediction of the reply leaves it unchanged,
// and most of it is kept as drafts; one with an edit in it too.
func TestRunPrediction(t *testing.T) {
	model := testshared.Path(t, "models", "stories260K.gguf")
	want := readmeBlocks(t)[0]
	reply := strings.TrimSuffix(strings.TrimPrefix(want, "Once upon a time"), "\n")
	for _, tc := range []struct {
		name, text string
		minKept    int
	}{
		{"the reply", reply, 100},
		{"an edited reply", strings.Replace(reply, "a big, red ball", "a small blue kite", 1), 60},
	} {
		file := filepath.Join(t.TempDir(), "prediction.txt")
		if err := os.WriteFile(file, []byte(tc.text), 0o644); err != nil {
			t.Fatal(err)
		}
		out, stderr, err := runCmd(t, "--model", model, "--prompt", "Once upon a time", "-n", "127", "--temp", "0", "--threads", "2", "--prediction", file)
		if err != nil {
			t.Fatalf("%s: %v\n%s", tc.name, err, stderr)
		}
		if out != want {
			t.Errorf("%s: output changed:\n%q", tc.name, out)
		}
		var n, kept, not int
		line := stderr[strings.Index(stderr, "prediction:"):]
		if _, err := fmt.Sscanf(line, "prediction: %d tokens, %d of its drafts kept, %d not", &n, &kept, &not); err != nil || kept < tc.minKept {
			t.Errorf("%s: %v: %d of %d kept, want %d at least:\n%s", tc.name, err, kept, n, tc.minKept, stderr)
		}
	}
	if _, stderr, err := runCmd(t, "--model", model, "--prompt", "x", "-n", "4", "--prediction", filepath.Join(t.TempDir(), "absent")); err == nil || !strings.Contains(stderr+err.Error(), "prediction") {
		t.Errorf("a missing prediction file: %v %s", err, stderr)
	}
}

// nuri run --reasoning-budget: a prompt that opens the thinking gets
// </think> (after the budget's message) once the reply has thought that
// many tokens; without a budget stories260K never writes it.
func TestRunReasoningBudget(t *testing.T) {
	model := testshared.Path(t, "models", "stories260K.gguf")
	const prompt = "Once upon a time<think>\n"
	free, stderr, err := runCmd(t, "--model", model, "--prompt", prompt, "-n", "30", "--temp", "0")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if strings.Contains(strings.TrimPrefix(free, prompt), "</think>") {
		t.Fatalf("without a budget the model closed the thinking: %q", free)
	}
	out, stderr, err := runCmd(t, "--model", model, "--prompt", prompt, "-n", "30", "--temp", "0", "--reasoning-budget", "4", "--reasoning-budget-message", " Done.")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	reply := strings.TrimPrefix(out, prompt)
	thought, answer, ok := strings.Cut(reply, " Done.</think>")
	if !ok || thought == "" || !strings.HasPrefix(strings.TrimPrefix(free, prompt), thought) || strings.TrimSpace(answer) == "" {
		t.Fatalf("budget 4: %q (unbounded: %q)", reply, free)
	}
	if _, _, err := runCmd(t, "--model", model, "--prompt", "x", "--reasoning-budget", "-2"); err == nil {
		t.Error("--reasoning-budget -2 accepted")
	}
}

// TestParseRunShortFlags: llama-cli's short flags and --file give the same
// configuration as the long ones; a prompt file loses one trailing newline
// only, and --file with --prompt is refused.
func TestParseRunShortFlags(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	lf := write("lf.txt", "옛날 옛적에\n\n")
	crlf := write("crlf.txt", "Once upon\r\n")
	bare := write("bare.txt", "Once upon a time")
	for _, tc := range []struct {
		name         string
		args         []string
		prompt       string
		threads, ctx int
		wantErr      error
		check        func(c *runConfig) bool
	}{
		{"short flags", []string{"-m", "x.gguf", "-p", "Once", "-t", "3", "-c", "256"}, "Once", 3, 256, nil, nil},
		{"llama-cli's long forms", []string{"-m", "x.gguf", "-p", "Once", "--n-predict", "7", "-s", "42", "-sys", "be brief", "--chat"}, "Once", 0, 0, nil,
			func(c *runConfig) bool {
				return c.nPredict == 7 && c.sampling.HasSeed && c.sampling.Seed == 42 && c.system == "be brief"
			}},
		{"file keeps all but the last newline", []string{"-m", "x.gguf", "-f", lf}, "옛날 옛적에\n", 0, 0, nil, nil},
		{"file with CRLF", []string{"-m", "x.gguf", "--file", crlf}, "Once upon", 0, 0, nil, nil},
		{"file without a newline", []string{"-m", "x.gguf", "--file", bare}, "Once upon a time", 0, 0, nil, nil},
		{"file and prompt", []string{"-m", "x.gguf", "-f", bare, "-p", "x"}, "", 0, 0, errUsage, nil},
		{"missing file", []string{"-m", "x.gguf", "-f", filepath.Join(dir, "none.txt")}, "", 0, 0, fs.ErrNotExist, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			c, err := parseRun(tc.args, &stderr)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err %v, want %v\n%s", err, tc.wantErr, stderr.String())
				}
				return
			}
			if err != nil {
				t.Fatalf("%v\n%s", err, stderr.String())
			}
			if c.model != "x.gguf" || c.prompt != tc.prompt {
				t.Errorf("model %q prompt %q, want x.gguf and %q", c.model, c.prompt, tc.prompt)
			}
			if tc.threads != 0 && (c.threads != tc.threads || c.nCtx != tc.ctx) {
				t.Errorf("threads %d ctx %d, want %d and %d", c.threads, c.nCtx, tc.threads, tc.ctx)
			}
			if tc.check != nil && !tc.check(c) {
				t.Errorf("parsed %+v", c)
			}
		})
	}
}
