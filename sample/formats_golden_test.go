package sample

import (
	"encoding/json"
	"testing"

	"github.com/nuri-ai/nuri/internal/testshared"
)

// TestFormatsGolden holds the string formats to independent validators:
// testdata/formats/golden.jsonl (gen.mjs) has 400 candidate strings a
// format, valid ones and mutated ones, with the verdicts of ajv-formats
// (its RFC-based "full" expressions), for ipv4 and ipv6 node's
// net.isIPv4 / net.isIPv6, and for the formats it checks Python's
// jsonschema (pycheck.py). A text the sampler lets through must be valid
// by all of them; where it refuses a valid text, the format is stricter
// than they are on purpose (docs/server.md says where).
func TestFormatsGolden(t *testing.T) {
	type record struct {
		Format string `json:"format"`
		Text   string `json:"text"`
		AJV    bool   `json:"ajv"`
		Node   *bool  `json:"node"`
		Py     *bool  `json:"jsonschema"`
	}
	progs := map[string]*schemaProgram{}
	type tally struct{ n, valid, accepted, stricter int }
	counts := map[string]*tally{}
	for _, r := range testshared.ReadGoldenLines[record](t, "testdata/formats/golden.jsonl") {
		p := progs[r.Format]
		if p == nil {
			p = mustCompileSchema(t, `{"type":"string","format":"`+r.Format+`"}`)
			progs[r.Format] = p
			counts[r.Format] = &tally{}
		}
		valid := r.AJV && (r.Node == nil || *r.Node) && (r.Py == nil || *r.Py)
		text, _ := json.Marshal(r.Text)
		got := schemaWhole(p, string(text))
		c := counts[r.Format]
		c.n++
		if valid {
			c.valid++
		}
		if got {
			c.accepted++
		}
		switch {
		case got && !valid:
			t.Errorf("format %s lets %q through; ajv %v, node %v, jsonschema %v", r.Format, r.Text, r.AJV, r.Node, r.Py)
		case !got && valid:
			c.stricter++
			t.Logf("format %s refuses %q, which the validators take", r.Format, r.Text)
		}
	}
	if len(counts) < len(stringFormats) {
		t.Errorf("golden.jsonl covers %d formats of %d", len(counts), len(stringFormats))
	}
	for format, c := range counts {
		t.Logf("%-9s %d texts: %d valid, %d accepted, %d valid ones refused", format, c.n, c.valid, c.accepted, c.stricter)
	}
}
