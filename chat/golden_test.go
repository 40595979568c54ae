package chat

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/nuri-ai/nuri/internal/testshared"
)

type goldenCase struct {
	Name                string         `json:"name"`
	Messages            []Message      `json:"messages"`
	AddGenerationPrompt bool           `json:"add_generation_prompt"`
	Extra               map[string]any `json:"extra_kwargs"`
	Expected            string         `json:"expected"`
}

func loadGolden(t *testing.T, name string) (string, []goldenCase) {
	t.Helper()
	dir := testshared.Path(t, "testdata", "tokenizer", "templates")
	src, err := os.ReadFile(filepath.Join(dir, name+".jinja"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, name+".cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []goldenCase
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatalf("%s.cases.json: %v", name, err)
	}
	if len(cases) == 0 {
		t.Fatalf("%s.cases.json has no cases", name)
	}
	return string(src), cases
}

var goldenTemplates = []string{"qwen3", "llama3", "exaone", "hyperclovax"}

// TestGoldenTemplates renders every shared template case through the Jinja
// path and requires the exact text @huggingface/jinja produced.
func TestGoldenTemplates(t *testing.T) {
	total := 0
	for _, name := range goldenTemplates {
		src, cases := loadGolden(t, name)
		r, err := New(src)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if r.Kind() != "jinja" {
			t.Fatalf("%s: rendered by %s, want jinja (parse error: %v)", name, r.Kind(), r.FallbackReason())
		}
		for _, c := range cases {
			t.Run(name+"/"+c.Name, func(t *testing.T) {
				o := Options{AddGenerationPrompt: c.AddGenerationPrompt, Vars: map[string]any{}}
				for k, v := range c.Extra {
					switch k {
					case "bos_token":
						o.BOSToken = v.(string)
					case "eos_token":
						o.EOSToken = v.(string)
					default:
						o.Vars[k] = v
					}
				}
				got, err := r.Render(c.Messages, o)
				if err != nil {
					t.Fatal(err)
				}
				if got != c.Expected {
					t.Errorf("mismatch\n got: %q\nwant: %q", got, c.Expected)
				}
			})
			total++
		}
	}
	if total < 13 {
		t.Errorf("only %d golden cases found, want at least 13", total)
	}
}

// TestBuiltinMatchesGoldens checks the Go built-ins against the goldens
// where the model's own template and llama.cpp's builtin agree (ChatML for
// HyperCLOVA X SEED and Qwen3 without thinking markers, Llama 3 without the
// BOS the template writes, EXAONE when a system turn is present).
func TestBuiltinMatchesGoldens(t *testing.T) {
	for _, tc := range []struct {
		golden string
		format Format
		skip   func(c goldenCase) bool
		prefix func(c goldenCase) string
	}{
		{golden: "hyperclovax", format: FormatChatML},
		{golden: "hyperclovax", format: FormatHyperCLOVAX},
		{golden: "qwen3", format: FormatChatML, skip: func(c goldenCase) bool { return c.Extra["enable_thinking"] != nil }},
		// This Llama 3 template writes the assistant header even without
		// add_generation_prompt; llama.cpp's builtin does not.
		{golden: "llama3", format: FormatLlama3, skip: func(c goldenCase) bool { return !c.AddGenerationPrompt }, prefix: func(c goldenCase) string { return c.Extra["bos_token"].(string) }},
		{golden: "exaone", format: FormatExaone3, skip: func(c goldenCase) bool { return c.Messages[0].Role != "system" }},
		{golden: "exaone", format: FormatExaone4, skip: func(c goldenCase) bool { return c.Messages[0].Role != "system" }},
	} {
		_, cases := loadGolden(t, tc.golden)
		ran := 0
		for _, c := range cases {
			if tc.skip != nil && tc.skip(c) {
				continue
			}
			got, err := renderBuiltin(tc.format, c.Messages, c.AddGenerationPrompt)
			if err != nil {
				t.Fatalf("%s/%s via %s: %v", tc.golden, c.Name, tc.format, err)
			}
			if tc.prefix != nil {
				got = tc.prefix(c) + got
			}
			if got != c.Expected {
				t.Errorf("%s/%s via %s:\n got: %q\nwant: %q", tc.golden, c.Name, tc.format, got, c.Expected)
			}
			ran++
		}
		if ran == 0 {
			t.Errorf("%s via %s: no case compared", tc.golden, tc.format)
		}
	}
}

func TestDetectGoldens(t *testing.T) {
	want := map[string]Format{"qwen3": FormatChatML, "llama3": FormatLlama3, "exaone": FormatExaone3, "hyperclovax": FormatChatML}
	for _, name := range goldenTemplates {
		src, _ := loadGolden(t, name)
		got, err := Detect(src)
		if err != nil || got != want[name] {
			t.Errorf("Detect(%s) = %q, %v; want %q", name, got, err, want[name])
		}
	}
}
