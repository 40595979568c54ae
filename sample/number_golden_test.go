package sample

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/nuri-ai/nuri/internal/testshared"
)

// plainNumber is the form of number the sampler writes under bounds or
// multipleOf: plain decimal, no exponent.
var plainNumber = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?$`)

// TestMultipleOfGolden holds numbers under a multipleOf that is no binary
// fraction to the validators that test it in float64:
// testdata/numbers/multiple.jsonl (multiple_gen.py) has 250 candidate
// numbers for each of eight schemas, with the verdicts of Python's
// jsonschema, pydantic, Ajv and exact decimal arithmetic. The sampler
// must let a number through only where all four take it, and take every such
// number in the form it writes (plain decimal of at most 15 digits).
func TestMultipleOfGolden(t *testing.T) {
	type record struct {
		Schema     json.RawMessage `json:"schema"`
		Text       string          `json:"text"`
		JSONSchema bool            `json:"jsonschema"`
		Pydantic   bool            `json:"pydantic"`
		Decimal    bool            `json:"decimal"`
		AJV        *bool           `json:"ajv"`
	}
	progs := map[string]*schemaProgram{}
	var n, valid, accepted int
	for _, r := range testshared.ReadGoldenLines[record](t, "testdata/numbers/multiple.jsonl") {
		p := progs[string(r.Schema)]
		if p == nil {
			p = mustCompileSchema(t, string(r.Schema))
			progs[string(r.Schema)] = p
		}
		if r.AJV == nil {
			t.Fatalf("%s: no Ajv verdict (multiple_ajv.mjs adds it)", r.Text)
		}
		ok := r.JSONSchema && r.Pydantic && r.Decimal && *r.AJV
		digits := len(strings.TrimLeft(strings.NewReplacer("-", "", ".", "").Replace(r.Text), "0"))
		if strings.HasPrefix(strings.TrimPrefix(r.Text, "-"), "0") {
			digits = len(strings.NewReplacer("-", "", ".", "").Replace(r.Text)) - 1 // a lone leading 0 is not counted
		}
		plain := plainNumber.MatchString(r.Text) && digits <= maxNumberDigits
		got := schemaWhole(p, r.Text+" ") // (a top-level number ends at what follows it)
		n++
		if ok {
			valid++
		}
		if got {
			accepted++
		}
		switch {
		case got && !ok:
			t.Errorf("schema %s lets %s through; jsonschema %v, pydantic %v, decimal %v, ajv %v", r.Schema, r.Text, r.JSONSchema, r.Pydantic, r.Decimal, *r.AJV)
		case !got && ok && plain:
			t.Errorf("schema %s refuses %s, which every validator takes", r.Schema, r.Text)
		}
	}
	t.Logf("%d numbers: %d valid, %d accepted", n, valid, accepted)
	if accepted < valid/2 || len(progs) < 8 {
		t.Fatalf("%d schemas, %d of %d valid numbers accepted: the test says little", len(progs), accepted, valid)
	}
}
