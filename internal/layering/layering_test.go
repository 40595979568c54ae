package layering

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/nuri-ai/nuri/"

// allowed lists, per top-level package, the top-level packages of ours it
// may import (directly). Sub-packages share their parent's row; a package
// may always import its own sub-packages and internal/testshared in tests.
var allowed = map[string][]string{
	"quant":     {},
	"gguf":      {"quant"},
	"kernels":   {"quant"},
	"backends":  {"kernels", "quant"},
	"model":     {"backends", "kernels", "gguf", "quant"},
	"sample":    {},
	"chat":      {},
	"tokenizer": {"gguf", "quant"},
	"engine":    {"model", "sample", "tokenizer", "backends", "gguf", "quant"},
	"server":    {"engine", "tokenizer", "chat", "sample"},
	"bench":     {"engine", "model", "backends", "kernels", "tokenizer", "gguf", "quant", "sample"},
}

func top(pkg string) string {
	rel := strings.TrimPrefix(pkg, module)
	if i := strings.IndexByte(rel, '/'); i >= 0 {
		return rel[:i]
	}
	return rel
}

func TestDependenciesPointDownward(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", module+"...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		from := top(fields[0])
		ok, governed := allowed[from]
		if !governed {
			continue // cmd and internal may import anything
		}
		checked++
		for _, imp := range fields[1:] {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			to := top(imp)
			if to == from {
				continue
			}
			permitted := false
			for _, a := range ok {
				if a == to {
					permitted = true
				}
			}
			if !permitted {
				t.Errorf("%s imports %s: %s may import only %v", fields[0], imp, from, ok)
			}
		}
	}
	if checked < 8 {
		t.Fatalf("only %d governed packages found; go list output:\n%s", checked, out)
	}
}
