package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nuri-ai/nuri/internal/testshared"
)

// fakeOllama lays out an Ollama models folder holding stories260K as
// stories:260k (with parameters, a template and a projector layer), as
// user/m and as hf.co/org/repo:Q4_K_M, and returns it.
func fakeOllama(t *testing.T, params string) string {
	t.Helper()
	dir := t.TempDir()
	model := testshared.Path(t, "models", "stories260K.gguf")
	blobs := filepath.Join(dir, "blobs")
	if err := os.MkdirAll(blobs, 0o755); err != nil {
		t.Fatal(err)
	}
	digest := func(i int, content string) string {
		d := strings.Repeat(string("0123456789abcdef"[i]), 64)
		if content != "" {
			if err := os.WriteFile(filepath.Join(blobs, "sha256-"+d), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return "sha256:" + d
	}
	modelDigest := digest(1, "")
	if err := os.Symlink(model, filepath.Join(blobs, "sha256-"+strings.TrimPrefix(modelDigest, "sha256:"))); err != nil {
		t.Fatal(err)
	}
	layers := []map[string]string{
		{"mediaType": "application/vnd.ollama.image.model", "digest": modelDigest},
		{"mediaType": "application/vnd.ollama.image.template", "digest": digest(2, "{{ .Prompt }}")},
		{"mediaType": "application/vnd.ollama.image.params", "digest": digest(3, params)},
		{"mediaType": "application/vnd.ollama.image.projector", "digest": digest(4, "x")},
	}
	manifest, _ := json.Marshal(map[string]any{"schemaVersion": 2, "layers": layers})
	for _, p := range []string{"registry.ollama.ai/library/stories/260k", "registry.ollama.ai/user/m/latest", "hf.co/org/repo/Q4_K_M"} {
		f := filepath.Join(dir, "manifests", filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, manifest, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	adapted, _ := json.Marshal(map[string]any{"layers": []map[string]string{layers[0], {"mediaType": "application/vnd.ollama.image.adapter", "digest": digest(5, "x")}}})
	f := filepath.Join(dir, "manifests", "registry.ollama.ai", "library", "adapted", "latest")
	if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f, adapted, 0o644); err != nil {
		t.Fatal(err)
	}
	bad, _ := json.Marshal(map[string]any{"layers": []map[string]string{{"mediaType": "application/vnd.ollama.image.model", "digest": "sha256:../../etc"}}})
	f = filepath.Join(dir, "manifests", "registry.ollama.ai", "library", "bad", "latest")
	if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// fakeHFCache lays out a hub cache holding org/repo's files (empty but
// for their names) at revision abc, and org/single with one file.
func fakeHFCache(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	write := func(repo string, files ...string) {
		base := filepath.Join(dir, "models--org--"+repo)
		for _, f := range append([]string{"refs/main"}, files...) {
			p := filepath.Join(base, filepath.FromSlash(f))
			if f != "refs/main" {
				p = filepath.Join(base, "snapshots", "abc", filepath.FromSlash(f))
			}
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			content := "GGUF"
			if f == "refs/main" {
				content = "abc\n"
			}
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	write("repo", "Repo-Q4_K_M.gguf", "Repo-Q8_0.gguf", "mmproj-Repo-f16.gguf", "split/Repo-Q2_K-00001-of-00002.gguf", "split/Repo-Q2_K-00002-of-00002.gguf", "README.md")
	write("single", "model-IQ4_XS.gguf")
	return dir
}

func TestResolveModel(t *testing.T) {
	ollama := fakeOllama(t, `{"temperature": 0, "top_k": 5, "stop": ["<|im_end|>"], "num_ctx": 512}`)
	hf := fakeHFCache(t)
	dirs := modelDirs{ollama: []string{filepath.Join(t.TempDir(), "none"), ollama}, hf: hf}
	snap := filepath.Join(hf, "models--org--repo", "snapshots", "abc")
	blob := filepath.Join(ollama, "blobs", "sha256-"+strings.Repeat("1", 64))
	for _, tc := range []struct {
		ref, wantPath, wantFrom, wantErr string
	}{
		{"stories:260k", blob, "ollama", ""},
		{"user/m", blob, "ollama", ""},
		{"hf.co/org/repo:Q4_K_M", snap + "/Repo-Q4_K_M.gguf", "huggingface", ""}, // the cache first
		{"org/repo:q8_0", snap + "/Repo-Q8_0.gguf", "huggingface", ""},
		{"org/repo", snap + "/Repo-Q4_K_M.gguf", "huggingface", ""},
		{"org/repo:Q2_K", snap + "/split/Repo-Q2_K-00001-of-00002.gguf", "huggingface", ""},
		{"org/single", filepath.Join(hf, "models--org--single", "snapshots", "abc", "model-IQ4_XS.gguf"), "huggingface", ""},
		{"org/repo:Q4_K", "", "", "name one of its cached files"},
		{"stories:1b", "", "", "no such file, nor in Ollama's models"},
		{"org/missing", "", "", "nor in the Hugging Face cache"},
		{"bad", "", "", "digest"},
		{"/no/such.gguf", "", "", "file does not exist"},
	} {
		t.Run(tc.ref, func(t *testing.T) {
			src, err := resolveModel(tc.ref, dirs)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want one saying %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if src.path != tc.wantPath || src.from != tc.wantFrom || src.name != tc.ref {
				t.Errorf("got %q from %q as %q, want %q from %q", src.path, src.from, src.name, tc.wantPath, tc.wantFrom)
			}
		})
	}
	src, err := resolveModel("stories:260k", dirs)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(src.skipped, []string{"projector"}) || src.params["temperature"] != 0.0 {
		t.Errorf("skipped %v, params %v", src.skipped, src.params)
	}
	sampling, unused := ollamaSampling(src.params)
	if sampling["temp"] != 0 || sampling["top-k"] != 5 || !slices.Equal(unused, []string{"num_ctx", "stop"}) {
		t.Errorf("sampling %v, unused %v", sampling, unused)
	}
	if _, err := resolveModel("org/missing", dirs); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing model: %v, want fs.ErrNotExist", err)
	}
}

func TestModelNameParts(t *testing.T) {
	for _, tc := range []struct {
		file, part string
		want       bool
	}{
		{"Qwen3-8B-Q4_K_M.gguf", "Q4_K_M", true},
		{"Qwen3-8B-Q4_K_M.gguf", "q4_k_m", true},
		{"Qwen3-8B-Q4_K_M.gguf", "Q4_K", false},
		{"Qwen3-8B-Q4_K_M.gguf", "K_M", false},
		{"qwen3-8b.Q8_0.gguf", "Q8_0", true},
		{"Q8_0.gguf", "Q8_0", true},
		{"model-IQ4_XS-00001-of-00003.gguf", "IQ4_XS", true},
		{"model-IQ4_XS.gguf", "Q4_XS", false},
	} {
		if got := hasNamePart(tc.file, tc.part); got != tc.want {
			t.Errorf("hasNamePart(%q, %q) = %v", tc.file, tc.part, got)
		}
	}
	for ref, want := range map[string][3]string{
		"qwen3":                 {"registry.ollama.ai", "library/qwen3", "latest"},
		"qwen3:8b":              {"registry.ollama.ai", "library/qwen3", "8b"},
		"user/m:v1":             {"registry.ollama.ai", "user/m", "v1"},
		"hf.co/org/repo:Q4_K_M": {"hf.co", "org/repo", "Q4_K_M"},
	} {
		h, p, tag, ok := ollamaRef(ref)
		if !ok || [3]string{h, p, tag} != want {
			t.Errorf("ollamaRef(%q) = %q %q %q %v, want %q", ref, h, p, tag, ok, want)
		}
	}
	if _, _, _, ok := ollamaRef("../x"); ok {
		t.Error("ollamaRef took a path out of the store")
	}
}

// TestServeOllamaModel serves a model by the name Ollama pulled it as:
// listed under that name, its parameters as the requests' defaults
// (temperature 0: every seed gives the greedy text).
func TestServeOllamaModel(t *testing.T) {
	t.Setenv("OLLAMA_MODELS", fakeOllama(t, `{"temperature": 0}`))
	base := startServe(t, "--model", "stories:260k")
	var models struct {
		Data []struct{ ID string } `json:"data"`
	}
	if err := json.Unmarshal(getOK(t, base+"/v1/models"), &models); err != nil || len(models.Data) == 0 || models.Data[0].ID != "stories:260k" {
		t.Fatalf("/v1/models: %v %+v", err, models)
	}
	text := func(seed string) string {
		var r struct {
			Choices []struct{ Text string } `json:"choices"`
		}
		b := postOK(t, base+"/v1/completions", `{"model": "stories:260k", "prompt": "Once upon a time", "max_tokens": 24, "seed": `+seed+`}`)
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("%v: %s", err, b)
		}
		return r.Choices[0].Text
	}
	if a, b := text("1"), text("2"); a != b {
		t.Errorf("Ollama's temperature 0 not applied: seeds 1 and 2 gave %q and %q", a, b)
	}
	run := func(args ...string) string {
		t.Helper()
		var stdout, stderr bytes.Buffer
		full := append([]string{"run", "-m", "stories:260k", "-p", "Once upon a time", "-n", "24", "-t", "2"}, args...)
		if code := realMain(full, &stdout, &stderr); code != 0 {
			t.Fatalf("nuri %v: exit %d: %s", full, code, stderr.String())
		}
		return stdout.String()
	}
	if a, b := run("-s", "1"), run("-s", "2"); a != b {
		t.Errorf("nuri run: Ollama's temperature 0 not applied: seeds 1 and 2 gave %q and %q", a, b)
	}
	if a, b := run("-s", "1", "--temp", "1.5"), run("-s", "2", "--temp", "1.5"); a == b {
		t.Errorf("nuri run: --temp 1.5 did not win over Ollama's temperature: %q twice", a)
	}
	// The commands that read a model without serving it take the name too.
	for _, args := range [][]string{{"inspect", "stories:260k"}, {"tokenize", "--model", "stories:260k", "Once"}} {
		var stdout, stderr bytes.Buffer
		if code := realMain(args, &stdout, &stderr); code != 0 || stdout.Len() == 0 {
			t.Errorf("nuri %v: exit %d: %s", args, code, stderr.String())
		}
	}
	var stdout, stderr bytes.Buffer
	if code := realMain([]string{"inspect", "adapted"}, &stdout, &stderr); code == 0 || !strings.Contains(stderr.String(), "adapter") {
		t.Errorf("nuri inspect of a model with adapters: exit %d: %s", code, stderr.String())
	}
}

// TestModelsList: nuri models lists what --model takes by name, each
// name resolving to its file; a manifest that does not resolve is left
// out, and a file is listed once.
func TestModelsList(t *testing.T) {
	t.Setenv("OLLAMA_MODELS", fakeOllama(t, `{}`))
	t.Setenv("HF_HUB_CACHE", fakeHFCache(t))
	var stdout, stderr bytes.Buffer
	if code := realMain([]string{"models", "--json"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var list []localModel
	if err := json.Unmarshal(stdout.Bytes(), &list); err != nil {
		t.Fatalf("%v: %s", err, stdout.String())
	}
	var names []string
	for _, m := range list {
		names = append(names, m.Name+" "+m.From)
		if m.File == "" || m.Size == 0 {
			t.Errorf("%s: file %q, size %d", m.Name, m.File, m.Size)
		}
	}
	want := []string{"adapted:latest ollama", "org/repo:Q2_K huggingface", "org/repo:Q4_K_M huggingface", "org/repo:Q8_0 huggingface",
		"org/single huggingface", "stories:260k ollama", "user/m:latest ollama"}
	if !slices.Equal(names, want) {
		t.Errorf("listed %q\nwant %q", names, want)
	}
	stdout.Reset()
	if code := realMain([]string{"models"}, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "stories:260k") || !strings.HasPrefix(stdout.String(), "NAME") {
		t.Errorf("table: exit %d: %s", code, stdout.String())
	}
}
