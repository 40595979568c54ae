package chat

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestJinja2Golden renders the cases of testdata/jinja2/golden.json, which
// gen.py there wrote with Jinja2 itself in transformers' chat template
// environment, and compares the output byte for byte: the filters, tests,
// methods, literals and number formatting a template may use, and the
// errors of templates Jinja refuses.
func TestJinja2Golden(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "jinja2", "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var golden struct {
		Jinja2 string                     `json:"jinja2"`
		Vars   map[string]json.RawMessage `json:"vars"`
		Cases  []struct {
			Name, Src, Want, Error string
		} `json:"cases"`
	}
	if err := json.Unmarshal(raw, &golden); err != nil {
		t.Fatal(err)
	}
	if len(golden.Cases) == 0 {
		t.Fatal("golden.json has no cases")
	}
	// JSON keeps the objects' key order, as Python's dicts do.
	vars := map[string]any{}
	for k, v := range golden.Vars {
		vars[k] = JSON(v)
	}
	for _, tc := range golden.Cases {
		t.Run(tc.Name, func(t *testing.T) {
			got, err := render(t, tc.Src, vars)
			if tc.Error != "" {
				// Jinja's message follows the exception's name. For a
				// syntax error or raise_exception ours says the same after
				// the line it is on; Python's own errors (TypeError, ...)
				// are worded our way.
				kind, msg, _ := strings.Cut(tc.Error, ": ")
				if kind != "TemplateSyntaxError" && kind != "TemplateError" {
					msg = ""
				}
				if err == nil || !strings.Contains(err.Error(), msg) {
					t.Errorf("rendered %q, error %v; Jinja2 %s failed: %s", got, err, golden.Jinja2, tc.Error)
				}
				return
			}
			if err != nil {
				t.Fatalf("%s\nJinja2 %s printed %q", err, golden.Jinja2, tc.Want)
			}
			if got != tc.Want {
				t.Errorf("src %s\n got %q\nwant %q (Jinja2 %s)", tc.Src, got, tc.Want, golden.Jinja2)
			}
		})
	}
}
