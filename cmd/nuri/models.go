package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"text/tabwriter"
)

func init() {
	register(command{name: "models", summary: "list the models on this machine that --model takes by name (Ollama's, the Hugging Face cache's)", run: runModels})
}

// localModel is a GGUF model another tool keeps, under the name
// --model takes for it.
type localModel struct {
	Name string `json:"name"`
	From string `json:"from"` // ollama, huggingface
	Size int64  `json:"size"`
	File string `json:"file"`
}

func runModels(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("models", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print a JSON array")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: nuri models [--json]")
		fmt.Fprintln(stderr, "\nLists the GGUF models Ollama has pulled ($OLLAMA_MODELS, ~/.ollama/models) and those in the Hugging Face\nhub cache ($HF_HUB_CACHE, $HF_HOME/hub, ~/.cache/huggingface/hub), by the names --model takes.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return flagsError(err)
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return errUsage
	}
	dirs := defaultModelDirs(os.Getenv)
	list, err := listLocalModels(dirs)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if list == nil {
			list = []localModel{}
		}
		return enc.Encode(list)
	}
	if len(list) == 0 {
		fmt.Fprintf(stdout, "no GGUF models found in Ollama's folders (%s) or the Hugging Face cache (%s)\n", strings.Join(dirs.ollama, ", "), dirs.hf)
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tFROM\tSIZE\tFILE")
	for _, m := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", m.Name, m.From, humanBytes(uint64(m.Size)), m.File)
	}
	return tw.Flush()
}

// listLocalModels finds the models resolveModel can name, in name order:
// each checked by resolving its name, so what is listed serves.
func listLocalModels(dirs modelDirs) ([]localModel, error) {
	var out []localModel
	seen := map[string]bool{} // names listed (Ollama's tags may share a file, as they share a blob)
	add := func(name, from string) {
		if seen[name] {
			return
		}
		src, err := resolveModel(name, dirs)
		if err != nil || src.from != from {
			return
		}
		seen[name] = true
		m := localModel{Name: name, From: from, File: src.path}
		if st, err := os.Stat(src.path); err == nil {
			m.Size = st.Size()
		}
		out = append(out, m)
	}
	for _, dir := range dirs.ollama {
		for _, name := range ollamaNames(filepath.Join(dir, "manifests")) {
			add(name, "ollama")
		}
	}
	names, err := hfNames(dirs.hf)
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		add(name, "huggingface")
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// ollamaNames lists the manifests under root by Ollama's short names:
// NAME:TAG in registry.ollama.ai's library, NS/NAME:TAG elsewhere on it,
// HOST/NS/NAME:TAG on another registry.
func ollamaNames(root string) []string {
	var names []string
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil // an unreadable folder is passed over
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return nil
		}
		parts := strings.Split(filepath.ToSlash(rel), "/")
		if len(parts) < 3 || strings.HasPrefix(parts[len(parts)-1], ".") {
			return nil
		}
		host, tag := parts[0], parts[len(parts)-1]
		path := strings.Join(parts[1:len(parts)-1], "/")
		switch {
		case host == "registry.ollama.ai" && strings.HasPrefix(path, "library/"):
			path = strings.TrimPrefix(path, "library/")
		case host != "registry.ollama.ai":
			path = host + "/" + path
		}
		names = append(names, path+":"+tag)
		return nil
	})
	return names
}

// quantPart is the last part of a GGUF file's name before its split
// suffix and extension: its quantization, in the usual naming.
var quantPart = regexp.MustCompile(`(?i)[-.]([a-z0-9_]+?)(-\d{5}-of-\d{5})?\.gguf$`)

// hfNames lists the cached repositories' GGUF models as ORG/REPO, or
// ORG/REPO:QUANT where a repository holds several.
func hfNames(cache string) ([]string, error) {
	entries, err := os.ReadDir(cache)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("read the Hugging Face cache: %w", err)
	}
	var names []string
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), "models--")
		org, repo, ok2 := strings.Cut(rest, "--")
		if !ok || !ok2 || !e.IsDir() {
			continue
		}
		rev, err := os.ReadFile(filepath.Join(cache, e.Name(), "refs", "main"))
		if err != nil {
			continue
		}
		snap := filepath.Join(cache, e.Name(), "snapshots", strings.TrimSpace(string(rev)))
		var quants []string
		_ = filepath.WalkDir(snap, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			if m := quantPart.FindStringSubmatch(d.Name()); m != nil && !strings.HasPrefix(strings.ToLower(d.Name()), "mmproj") {
				quants = append(quants, org+"/"+repo+":"+m[1])
			}
			return nil
		})
		// One model: its bare name; several: each by its quantization.
		if len(quants) <= 1 {
			names = append(names, org+"/"+repo)
		} else {
			names = append(names, quants...)
		}
	}
	return names, nil
}
