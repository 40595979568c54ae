package sample

import (
	"bufio"
	"encoding/json"
	"os"
	"testing"
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
	for _, r := range readGoldenLines[record](t, "testdata/formats/golden.jsonl") {
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

// readGoldenLines reads a JSON-lines golden file whose first line is a
// header (generator, tools and seed) and the rest are records.
func readGoldenLines[T any](t *testing.T, path string) []T {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var recs []T
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		if line == 1 {
			continue
		}
		var r T
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%s line %d: %v", path, line, err)
		}
		recs = append(recs, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return recs
}
