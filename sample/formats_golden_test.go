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
	for format, c := range counts {
		t.Logf("%-9s %d texts: %d valid, %d accepted, %d valid ones refused", format, c.n, c.valid, c.accepted, c.stricter)
	}
	// The formats pydantic writes for its own types are held to pydantic
	// (TestFormatsPydanticGolden); every other one must be here.
	pydantic := map[string]bool{}
	for _, r := range testshared.ReadGoldenLines[record](t, "testdata/formats/pydantic.jsonl") {
		pydantic[r.Format] = true
	}
	for format := range stringFormats {
		if counts[format] == nil && !pydantic[format] {
			t.Errorf("format %s is in neither golden.jsonl nor pydantic.jsonl", format)
		}
	}
}

// TestFormatsPydanticGolden holds the formats pydantic writes for its own
// types (UUID4, IPvAnyAddress, IPv4Interface, ...) to pydantic itself:
// testdata/formats/pydantic.jsonl (pydantic_gen.py) has 300 candidate
// strings a format, valid ones and mutated ones, each with pydantic's
// verdict parsing it from JSON as that type. A text the sampler lets
// through must be one pydantic takes, so a reply passes the client's
// model_validate_json; where it refuses one pydantic takes, the format
// is stricter on purpose (a UUID without hyphens, a prefix length with a
// leading zero).
func TestFormatsPydanticGolden(t *testing.T) {
	type record struct {
		Format   string `json:"format"`
		Text     string `json:"text"`
		Pydantic bool   `json:"pydantic"`
	}
	type tally struct{ n, valid, accepted int }
	counts := map[string]*tally{}
	progs := map[string]*schemaProgram{}
	for _, r := range testshared.ReadGoldenLines[record](t, "testdata/formats/pydantic.jsonl") {
		if _, held := stringFormats[r.Format]; !held {
			t.Fatalf("pydantic.jsonl has format %s, which Nuri does not hold", r.Format)
		}
		p := progs[r.Format]
		if p == nil {
			schema := `{"type":"string","format":"` + r.Format + `"}`
			if r.Format == "http-url" { // HttpUrl, as pydantic writes it
				schema = `{"type":"string","format":"uri","maxLength":2083,"minLength":1}`
			}
			p = mustCompileSchema(t, schema)
			progs[r.Format], counts[r.Format] = p, &tally{}
		}
		text, _ := json.Marshal(r.Text)
		got := schemaWhole(p, string(text))
		c := counts[r.Format]
		c.n++
		if r.Pydantic {
			c.valid++
		}
		if got {
			c.accepted++
		}
		if got && !r.Pydantic {
			t.Errorf("format %s lets %q through; pydantic refuses it", r.Format, r.Text)
		}
	}
	for format, c := range counts {
		t.Logf("%-15s %d texts: %d valid, %d accepted", format, c.n, c.valid, c.accepted)
		if c.accepted < c.valid/2 {
			t.Errorf("format %s accepts %d of the %d texts pydantic takes: the test says little", format, c.accepted, c.valid)
		}
	}
}
