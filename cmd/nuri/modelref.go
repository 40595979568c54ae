package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.uber.org/zap"

	"github.com/nuri-ai/nuri/model"
	"github.com/nuri-ai/nuri/sample"
)

// modelSource is a model named by a reference rather than by its file:
// one Ollama has pulled (NAME[:TAG], NS/NAME[:TAG], hf.co/ORG/REPO[:QUANT])
// or one in the local Hugging Face hub cache (ORG/REPO[:QUANT], as
// llama.cpp's -hf names it). Nothing is downloaded: a model not already
// on this machine is an error saying where it was looked for.
type modelSource struct {
	path     string         // the GGUF file
	name     string         // the reference, to serve the model under
	from     string         // "ollama", "huggingface"; "" for a file
	params   map[string]any // Ollama's params layer (its Modelfile's PARAMETERs)
	adapters []string       // Ollama's adapter layers (LoRA GGUFs)
	skipped  []string       // Ollama layers Nuri does not use (projector, ...)
}

// modelDirs are where models are looked for, from the environment.
type modelDirs struct {
	ollama []string // candidate Ollama model folders, in order
	hf     string   // the Hugging Face hub cache
}

// defaultModelDirs reads OLLAMA_MODELS, HF_HUB_CACHE, HF_HOME and
// XDG_CACHE_HOME, with the tools' defaults where they are unset.
func defaultModelDirs(getenv func(string) string) modelDirs {
	home, _ := os.UserHomeDir()
	var d modelDirs
	if v := getenv("OLLAMA_MODELS"); v != "" {
		d.ollama = []string{v}
	} else {
		d.ollama = []string{filepath.Join(home, ".ollama", "models"), "/usr/share/ollama/.ollama/models"}
	}
	switch {
	case getenv("HF_HUB_CACHE") != "":
		d.hf = getenv("HF_HUB_CACHE")
	case getenv("HF_HOME") != "":
		d.hf = filepath.Join(getenv("HF_HOME"), "hub")
	case getenv("XDG_CACHE_HOME") != "":
		d.hf = filepath.Join(getenv("XDG_CACHE_HOME"), "huggingface", "hub")
	default:
		d.hf = filepath.Join(home, ".cache", "huggingface", "hub")
	}
	return d
}

// resolveModel finds the GGUF that ref names: a file as it is, else a
// model pulled by Ollama or cached by Hugging Face's tools.
func resolveModel(ref string, dirs modelDirs) (modelSource, error) {
	if st, err := os.Stat(ref); err == nil && !st.IsDir() {
		return modelSource{path: ref}, nil
	}
	if strings.HasSuffix(strings.ToLower(ref), ".gguf") || strings.ContainsAny(ref, `\`) || filepath.IsAbs(ref) || strings.HasPrefix(ref, ".") {
		return modelSource{}, fmt.Errorf("model %s: %w", ref, fs.ErrNotExist)
	}
	var tried []string
	if org, repo, quant, ok := hfRef(ref); ok {
		src, err := hfCached(dirs.hf, org, repo, quant)
		if err == nil {
			src.name = ref
			return src, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return modelSource{}, err
		}
		tried = append(tried, fmt.Sprintf("the Hugging Face cache (%s)", dirs.hf))
	}
	host, path, tag, ok := ollamaRef(ref)
	if ok {
		for _, dir := range dirs.ollama {
			src, err := ollamaPulled(dir, host, path, tag)
			if err == nil {
				src.name = ref
				return src, nil
			}
			if !errors.Is(err, fs.ErrNotExist) {
				return modelSource{}, err
			}
		}
		tried = append(tried, fmt.Sprintf("Ollama's models (%s)", strings.Join(dirs.ollama, ", ")))
	}
	if len(tried) == 0 {
		return modelSource{}, fmt.Errorf("model %s: %w", ref, fs.ErrNotExist)
	}
	return modelSource{}, fmt.Errorf("model %s: no such file, nor in %s; Nuri downloads nothing (ollama pull, or hf download ORG/REPO --include '*QUANT*', fetch it): %w",
		ref, strings.Join(tried, " or "), fs.ErrNotExist)
}

// hfRef splits ORG/REPO[:QUANT] (or hf.co/ORG/REPO[:QUANT]).
func hfRef(ref string) (org, repo, quant string, ok bool) {
	for _, p := range []string{"hf.co/", "huggingface.co/"} {
		ref = strings.TrimPrefix(ref, p)
	}
	name, quant, _ := strings.Cut(ref, ":")
	org, repo, ok = strings.Cut(name, "/")
	if !ok || org == "" || repo == "" || strings.Contains(repo, "/") {
		return "", "", "", false
	}
	return org, repo, quant, true
}

// hfCached finds a GGUF of ORG/REPO in the hub cache: the file of the
// quantization asked for (a name part, e.g. Q4_K_M), else the only one,
// else Q4_K_M, llama.cpp's default. A split model gives its first part.
func hfCached(cache, org, repo, quant string) (modelSource, error) {
	dir := filepath.Join(cache, "models--"+org+"--"+repo)
	rev, err := os.ReadFile(filepath.Join(dir, "refs", "main"))
	if err != nil {
		return modelSource{}, err
	}
	snap := filepath.Join(dir, "snapshots", strings.TrimSpace(string(rev)))
	var files []string
	err = filepath.WalkDir(snap, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := strings.ToLower(d.Name())
		if !d.IsDir() && strings.HasSuffix(name, ".gguf") && !strings.HasPrefix(name, "mmproj") &&
			(!strings.Contains(name, "-of-") || strings.Contains(name, "-00001-of-")) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return modelSource{}, fmt.Errorf("read the cached %s/%s: %w", org, repo, err)
	}
	sort.Strings(files)
	pick := func(q string) []string {
		var out []string
		for _, f := range files {
			if hasNamePart(filepath.Base(f), q) {
				out = append(out, f)
			}
		}
		return out
	}
	var found []string
	switch {
	case quant != "":
		found = pick(quant)
	case len(files) == 1:
		found = files
	default:
		found = pick("Q4_K_M")
	}
	switch {
	case len(found) == 1:
		return modelSource{path: found[0], from: "huggingface"}, nil
	case len(files) == 0:
		return modelSource{}, fmt.Errorf("%s/%s is cached with no GGUF file: %w", org, repo, fs.ErrNotExist)
	}
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = filepath.Base(f)
	}
	return modelSource{}, fmt.Errorf("%s/%s: name one of its cached files with ORG/REPO:QUANT (%s)", org, repo, strings.Join(names, ", "))
}

// hasNamePart reports whether file's name holds part between separators
// other than letters, digits and '_' (Q4_K is no part of Q4_K_M), in any
// case.
func hasNamePart(file, part string) bool {
	f, p := strings.ToLower(file), strings.ToLower(part)
	word := func(c byte) bool { return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' }
	for i := 0; ; {
		j := strings.Index(f[i:], p)
		if j < 0 || p == "" {
			return false
		}
		j += i
		end := j + len(p)
		if (j == 0 || !word(f[j-1])) && (end == len(f) || !word(f[end])) {
			return true
		}
		i = j + 1
	}
}

// ollamaRef splits an Ollama model name: [HOST/][NAMESPACE/]NAME[:TAG],
// HOST registry.ollama.ai, NAMESPACE library and TAG latest by default.
func ollamaRef(ref string) (host, path, tag string, ok bool) {
	name, tag, _ := strings.Cut(ref, ":")
	if tag == "" {
		tag = "latest"
	}
	parts := strings.Split(name, "/")
	for _, p := range parts {
		if p == "" || p == "." || p == ".." {
			return "", "", "", false
		}
	}
	switch len(parts) {
	case 1:
		return "registry.ollama.ai", "library/" + parts[0], tag, true
	case 2:
		return "registry.ollama.ai", name, tag, true
	default:
		return parts[0], strings.Join(parts[1:], "/"), tag, true
	}
}

// ollamaManifest is the part of an Ollama manifest Nuri reads.
type ollamaManifest struct {
	Layers []struct {
		MediaType string `json:"mediaType"`
		Digest    string `json:"digest"`
	} `json:"layers"`
}

// ollamaPulled reads the manifest of host/path:tag in Ollama's models
// folder dir and finds its model blob, its adapters and its parameters.
func ollamaPulled(dir, host, path, tag string) (modelSource, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "manifests", host, filepath.FromSlash(path), tag))
	if err != nil {
		return modelSource{}, err
	}
	var m ollamaManifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return modelSource{}, fmt.Errorf("the Ollama manifest %s/%s:%s: %w", host, path, tag, err)
	}
	blob := func(digest string) (string, error) {
		hex, ok := strings.CutPrefix(digest, "sha256:")
		if !ok || len(hex) != 64 || strings.Trim(hex, "0123456789abcdef") != "" {
			return "", fmt.Errorf("the Ollama manifest %s/%s:%s: digest %q", host, path, tag, digest)
		}
		return filepath.Join(dir, "blobs", "sha256-"+hex), nil
	}
	src := modelSource{from: "ollama"}
	for _, l := range m.Layers {
		kind, _, _ := strings.Cut(l.MediaType, ";")
		p, err := blob(l.Digest)
		if err != nil {
			return modelSource{}, err
		}
		switch kind {
		case "application/vnd.ollama.image.model":
			src.path = p
		case "application/vnd.ollama.image.adapter":
			src.adapters = append(src.adapters, p)
		case "application/vnd.ollama.image.params":
			b, err := os.ReadFile(p)
			if err != nil {
				return modelSource{}, fmt.Errorf("the Ollama parameters of %s:%s: %w", path, tag, err)
			}
			if err := json.Unmarshal(b, &src.params); err != nil {
				return modelSource{}, fmt.Errorf("the Ollama parameters of %s:%s: %w", path, tag, err)
			}
		case "application/vnd.ollama.image.template", "application/vnd.ollama.image.system", "application/vnd.ollama.image.license", "application/vnd.ollama.image.messages":
			// The GGUF's own chat template is rendered; the rest is text.
		default:
			src.skipped = append(src.skipped, strings.TrimPrefix(kind, "application/vnd.ollama.image."))
		}
	}
	if src.path == "" {
		return modelSource{}, fmt.Errorf("the Ollama model %s:%s has no GGUF model layer (a model Ollama imported from safetensors is not a GGUF)", path, tag)
	}
	if _, err := os.Stat(src.path); err != nil {
		return modelSource{}, fmt.Errorf("the Ollama model %s:%s: its model blob: %w", path, tag, err)
	}
	return src, nil
}

// ollamaSampling maps Ollama's parameters to serve's sampler flags; the
// keys it has no flag for are returned to be logged.
func ollamaSampling(params map[string]any) (map[string]float64, []string) {
	names := map[string]string{
		"temperature": "temp", "top_k": "top-k", "top_p": "top-p", "min_p": "min-p",
		"repeat_penalty": "repeat-penalty", "repeat_last_n": "repeat-last-n",
		"presence_penalty": "presence-penalty", "frequency_penalty": "frequency-penalty",
	}
	out := map[string]float64{}
	var unused []string
	for k, v := range params {
		x, isNum := v.(float64)
		if flag, ok := names[k]; ok && isNum {
			out[flag] = x
			continue
		}
		unused = append(unused, k)
	}
	sort.Strings(unused)
	return out, unused
}

// adopt points a command at src: model becomes its file, its adapters
// join lora, and the log says where it was found.
func (src modelSource) adopt(modelPath *string, lora *[]model.LoRA, log *zap.Logger) {
	*modelPath = src.path
	fields := []zap.Field{zap.String("model", src.name), zap.String("from", src.from), zap.String("file", src.path)}
	for _, a := range src.adapters {
		*lora = append(*lora, model.LoRA{Path: a, Scale: 1})
	}
	if len(src.adapters) > 0 {
		fields = append(fields, zap.Int("adapters", len(src.adapters)))
	}
	if len(src.skipped) > 0 {
		fields = append(fields, zap.Strings("layers_left_out", src.skipped))
	}
	log.Info("model found", fields...)
}

// fillSampling gives the sampler flags not given (by name in given) the
// values of Ollama's parameters, marks them given, and logs what it set
// and what it left out.
func (src modelSource) fillSampling(f *samplingFlags, given map[string]bool, log *zap.Logger) error {
	sampling, unused := ollamaSampling(src.params)
	var applied []zap.Field
	for _, name := range samplingFlagNames {
		v, ok := sampling[name]
		if !ok || flagSet(given)(name) {
			continue
		}
		if err := f.set(name, v); err != nil {
			return fmt.Errorf("the Ollama parameter for --%s: %w", name, err)
		}
		given[name] = true
		applied = append(applied, zap.Float64(name, v))
	}
	if len(applied) > 0 {
		log.Info("sampling Ollama's Modelfile sets", applied...)
	}
	if len(unused) > 0 {
		log.Info("Ollama parameters Nuri leaves out (stop strings are the model's end-of-generation tokens; the context is --ctx-size)", zap.Strings("keys", unused))
	}
	return nil
}

// resolveModel turns c.model into a file where it names an Ollama or
// Hugging Face model: the file, the name served (unless an alias was
// given), Ollama's adapters, and its parameters as the requests'
// sampling defaults under the flags given.
func (c *serveConfig) resolveModel(log *zap.Logger) error {
	src, err := resolveModel(c.model, defaultModelDirs(os.Getenv))
	if err != nil || src.from == "" {
		return err
	}
	src.adopt(&c.model, &c.lora, log)
	if !c.given["model-alias"] && !c.given["served-model-name"] && !c.given["alias"] && !c.given["a"] {
		c.alias = src.name
	}
	if err := src.fillSampling(c.sampling, c.given, log); err != nil {
		return err
	}
	p := sample.DefaultParams()
	if _, err := c.sampling.overlay(&p, flagSet(c.given)); err != nil {
		return fmt.Errorf("the Ollama parameters: %w", err)
	}
	return nil
}

// resolveModel is serveConfig.resolveModel for nuri run: Ollama's
// parameters fill the sampler flags not given.
func (c *runConfig) resolveModel(log *zap.Logger) error {
	src, err := resolveModel(c.model, defaultModelDirs(os.Getenv))
	if err != nil || src.from == "" {
		return err
	}
	src.adopt(&c.model, &c.lora, log)
	if err := src.fillSampling(c.samplers, c.setFlags, log); err != nil {
		return err
	}
	// Every flag again, as at parsing: the ones given keep their values.
	if _, err := c.samplers.overlay(&c.sampling, func(string) bool { return true }); err != nil {
		return fmt.Errorf("the Ollama parameters: %w", err)
	}
	return nil
}

// modelFile is the GGUF a model argument names, for the commands that
// read a model without serving it (inspect, tokenize, bench model,
// perplexity, ...): the file, or the one Ollama or Hugging Face's tools
// keep under that name. An Ollama model with adapters is refused, since
// these commands would measure it without them.
func modelFile(ref string) (string, error) {
	src, err := resolveModel(ref, defaultModelDirs(os.Getenv))
	if err != nil {
		return "", err
	}
	if len(src.adapters) > 0 {
		return "", fmt.Errorf("model %s: Ollama applies %d adapter(s) to it, which only nuri serve and nuri run apply; give the GGUF (%s) and --lora for each", ref, len(src.adapters), src.path)
	}
	return src.path, nil
}
