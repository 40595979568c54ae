package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// nuri schema says which schemas compile and why the others do not,
// takes them bare or inside a response_format, its json_schema member or
// a tool, and its examples are texts the schema accepts.
func TestSchemaCommand(t *testing.T) {
	dir := t.TempDir()
	schema := `{"type":"object","properties":{"id":{"type":"string","pattern":"^[a-z]{2}[0-9]$"},"n":{"type":"integer","minimum":1,"maximum":9},` +
		`"tags":{"type":"array","items":{"enum":["x","y"]},"uniqueItems":true}},"required":["id","n"],"additionalProperties":false}`
	files := map[string]string{
		"bare.json":     schema,
		"format.json":   `{"type":"json_schema","json_schema":{"name":"t","strict":true,"schema":` + schema + `}}`,
		"member.json":   `{"name":"t","schema":` + schema + `}`,
		"tool.json":     `{"type":"function","function":{"name":"f","parameters":` + schema + `}}`,
		"refused.json":  `{"type":"array","contains":{"minimum":1},"maxContains":2}`,
		"notjson.json":  `{"type":`,
		"unknown.json":  `{"type":"object","properties":{"a":{"type":"string","if":{"minLength":2},"then":{"maxLength":1}}}}`,
		"recurse.json":  `{"$defs":{"t":{"type":"object","properties":{"v":{"type":"integer"},"kids":{"type":"array","items":{"$ref":"#/$defs/t"},"maxItems":2}},"required":["v"]}},"$ref":"#/$defs/t"}`,
		"toplevel.json": `{"type":"integer","minimum":-5,"maximum":300}`,
		"noted.json":    `{"type":"object","properties":{"a":{"type":"string"},"c":{"type":"boolean"}},"dependentSchemas":{"c":{"properties":{"a":{"pattern":"^x"}}}}}`,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	id := regexp.MustCompile(`^[a-z]{2}[0-9]$`)
	for _, name := range []string{"bare.json", "format.json", "member.json", "tool.json"} {
		var stdout, stderr bytes.Buffer
		if code := realMain([]string{"schema", "-examples", "5", "-seed", "3", filepath.Join(dir, name)}, &stdout, &stderr); code != 0 {
			t.Fatalf("%s: exit %d: %s%s", name, code, stdout.String(), stderr.String())
		}
		lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
		if len(lines) != 6 || !strings.HasSuffix(lines[0], name+": ok") {
			t.Fatalf("%s: %q", name, stdout.String())
		}
		for _, l := range lines[1:] {
			var v struct {
				ID   string   `json:"id"`
				N    *int     `json:"n"`
				Tags []string `json:"tags"`
			}
			dec := json.NewDecoder(strings.NewReader(l))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&v); err != nil || !id.MatchString(v.ID) || v.N == nil || *v.N < 1 || *v.N > 9 ||
				len(v.Tags) > 2 || len(v.Tags) == 2 && v.Tags[0] == v.Tags[1] {
				t.Fatalf("%s: example %q breaks the schema (%v)", name, l, err)
			}
		}
	}
	var stdout, stderr bytes.Buffer
	code := realMain([]string{"schema", "-examples", "3", filepath.Join(dir, "recurse.json"), filepath.Join(dir, "toplevel.json"),
		filepath.Join(dir, "refused.json"), filepath.Join(dir, "notjson.json"), filepath.Join(dir, "unknown.json")}, &stdout, &stderr)
	out := stdout.String()
	if code != 1 || !strings.Contains(stderr.String(), "3 of 5 schemas refused") {
		t.Fatalf("exit %d, stderr %q; want 1 and a count of the refused", code, stderr.String())
	}
	for _, want := range []string{"recurse.json: ok", "toplevel.json: ok", `refused.json: refused: unsupported JSON schema: #/maxContains/not: not is supported over`,
		"notjson.json: refused:", "unknown.json: refused: unsupported JSON schema: #/properties/a/if: not is supported over"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, l := range strings.Split(out, "\n") {
		if !strings.HasPrefix(l, "  ") {
			continue
		}
		var v any
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Errorf("example %q is no JSON: %v", l, err)
		}
	}
	// A note, where the constraint takes less than the schema allows:
	// its own line, before the examples.
	stdout.Reset()
	if code := realMain([]string{"schema", "-examples", "2", filepath.Join(dir, "noted.json")}, &stdout, &stderr); code != 0 {
		t.Fatalf("noted.json: exit %d: %s", code, stdout.String())
	}
	if lines := strings.Split(strings.TrimSpace(stdout.String()), "\n"); len(lines) != 4 || !strings.HasPrefix(lines[1], `  note: #/if`) || !strings.Contains(lines[1], `property "a"`) {
		t.Errorf("noted.json: %q, want ok, a note on property \"a\" and two examples", stdout.String())
	}
	if code := realMain([]string{"schema"}, &stdout, &stderr); code != 2 {
		t.Errorf("no file: exit %d, want 2", code)
	}
	// A pattern that asks for a word somewhere: past -max-bytes the
	// examples head for it (characters at random would seldom write it).
	word := filepath.Join(dir, "word.json")
	if err := os.WriteFile(word, []byte(`{"type":"array","items":{"type":"string","pattern":"vms|osf"},"minItems":3}`), 0o600); err != nil {
		t.Fatal(err)
	}
	stdout.Reset()
	if code := realMain([]string{"schema", "-examples", "4", "-max-bytes", "10", word}, &stdout, &stderr); code != 0 {
		t.Fatalf("word.json: exit %d: %s%s", code, stdout.String(), stderr.String())
	}
	vms := regexp.MustCompile(`vms|osf`)
	for _, l := range strings.Split(strings.TrimSpace(stdout.String()), "\n")[1:] {
		var items []string
		if err := json.Unmarshal([]byte(l), &items); err != nil || len(items) < 3 || slices.ContainsFunc(items, func(s string) bool { return !vms.MatchString(s) }) {
			t.Errorf("word.json: example %q breaks the schema (%v)", l, err)
		}
	}
}
