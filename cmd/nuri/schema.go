package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"

	"github.com/nuri-ai/nuri/sample"
)

func init() {
	register(command{name: "schema", summary: "check JSON schemas for structured outputs: what is refused and why, and example texts", run: runSchema})
}

// runSchema compiles each file's JSON schema as a request's
// response_format or tool parameters would be, and says "ok" or why it
// is refused (the keyword's path), so a schema can be checked before it
// is sent; with -examples, it writes texts the schema's constraint lets
// through, chosen at random, as a model could write them.
func runSchema(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("schema", flag.ContinueOnError)
	fs.SetOutput(stderr)
	examples := fs.Int("examples", 0, "write this many random texts each schema lets through")
	seed := fs.Uint64("seed", 1, "the examples' random seed")
	compact := fs.Bool("compact", true, "examples without whitespace (as disable_any_whitespace)")
	maxBytes := fs.Int("max-bytes", 200, "an example's length after which it heads for its end")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: nuri schema [flags] FILE... (- for standard input)\n\n"+
			"A file holds a JSON schema, a response_format ({\"type\": \"json_schema\", \"json_schema\": {\"schema\": ...}}),\n"+
			"its json_schema member, or a tool ({\"type\": \"function\", \"function\": {\"parameters\": ...}}).\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return flagsError(err)
	}
	if fs.NArg() == 0 {
		return usageError(fs, stderr, "name a schema file, or - for standard input")
	}
	if *examples < 0 || *maxBytes < 1 {
		return usageError(fs, stderr, "-examples must be 0 or more and -max-bytes 1 or more")
	}
	refused := 0
	pieces, v := exampleVocab()
	for _, name := range fs.Args() {
		raw, err := readSchemaFile(name)
		if err != nil {
			return err
		}
		s, err := sample.CompileJSONSchema(raw)
		if err != nil {
			refused++
			fmt.Fprintf(stdout, "%s: refused: %v\n", name, err)
			continue
		}
		fmt.Fprintf(stdout, "%s: ok\n", name)
		for _, n := range s.Notes() {
			fmt.Fprintf(stdout, "  note: %s\n", n)
		}
		r := rand.New(rand.NewPCG(*seed, 0x5eed))
		for i := range *examples {
			text, err := schemaExample(s, pieces, v, r, *compact, *maxBytes)
			if err != nil {
				return fmt.Errorf("%s: example %d: %w", name, i+1, err)
			}
			fmt.Fprintf(stdout, "  %s\n", text)
		}
	}
	if refused > 0 {
		return fmt.Errorf("%d of %d schemas refused", refused, fs.NArg())
	}
	return nil
}

// readSchemaFile reads name (- for standard input) and takes the schema
// out of a response_format or tool wrapped around it.
func readSchemaFile(name string) ([]byte, error) {
	var raw []byte
	var err error
	if name == "-" {
		raw, err = io.ReadAll(os.Stdin)
	} else {
		raw, err = os.ReadFile(name)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return unwrapSchema(raw), nil
}

// unwrapSchema is the schema inside a response_format, its json_schema
// member or a function tool, or raw itself.
func unwrapSchema(raw []byte) []byte {
	var w struct {
		Type       string          `json:"type"`
		JSONSchema json.RawMessage `json:"json_schema"`
		Schema     json.RawMessage `json:"schema"`
		Name       string          `json:"name"`
		Function   *struct {
			Parameters json.RawMessage `json:"parameters"`
		} `json:"function"`
	}
	if json.Unmarshal(raw, &w) != nil {
		return raw // not JSON: the compiler says so
	}
	switch {
	case w.Type == "json_schema" && len(w.JSONSchema) > 0:
		return unwrapSchema(w.JSONSchema)
	case w.Type == "function" && w.Function != nil && len(w.Function.Parameters) > 0:
		return w.Function.Parameters
	case w.Name != "" && len(w.Schema) > 0 && w.Type == "":
		return w.Schema // a json_schema member: {"name": ..., "schema": ...}
	}
	return raw
}

// exampleVocab is the tokens the examples are written with, built once
// for every schema: printable ASCII one byte at a time, two Hangul
// syllables, and last an end token.
func exampleVocab() ([][]byte, *sample.Vocab) {
	var p [][]byte
	for c := byte(0x20); c < 0x7f; c++ {
		p = append(p, []byte{c})
	}
	p = append(p, []byte("한"), []byte("글"), nil)
	return p, sample.NewVocab(p, int32(len(p)-1))
}

// towardEnd is a token that heads for the end among allowed: of those
// that leave the string being written the fewest characters to close
// (the constraint's CharsToFinish: none, outside a string), one that
// closes a string, object or array, or else one at random; without that
// count, the first that closes, or tok, the token drawn.
func towardEnd(c sample.Constraint, allowed []int32, pieces [][]byte, tok int32, r *rand.Rand) int32 {
	candidates := allowed
	if f, ok := c.(interface{ CharsToFinish(int32) int }); ok {
		candidates = nil
		least := math.MaxInt
		for _, a := range allowed {
			switch d := f.CharsToFinish(a); {
			case d < 0 || d > least:
			case d < least:
				candidates, least = []int32{a}, d
			default:
				candidates = append(candidates, a)
			}
		}
		if len(candidates) == 0 {
			return tok
		}
		tok = candidates[r.IntN(len(candidates))]
	}
	for _, a := range candidates {
		if bytes.ContainsAny(pieces[a], `"}]`) {
			return a
		}
	}
	return tok
}

// schemaExample writes one text the schema's constraint lets through,
// each token chosen at random among those it allows; past maxBytes it
// takes a quote or closing bracket where it may, to head for the end.
func schemaExample(s *sample.JSONSchema, pieces [][]byte, v *sample.Vocab, r *rand.Rand, compact bool, maxBytes int) (string, error) {
	end := int32(len(pieces) - 1)
	var c sample.Constraint
	if compact {
		c = s.CompactConstraint(v)
	} else {
		c = s.Constraint(v)
	}
	var text []byte
	for range 20 * maxBytes {
		var allowed []int32
		for tok := range end {
			if c.Allows(tok) {
				allowed = append(allowed, tok)
			}
		}
		if c.Complete() && (len(allowed) == 0 || len(text) >= maxBytes || r.IntN(4) == 0) {
			return string(bytes.TrimRight(text, " \t\r\n")), nil // the whitespace a value may end with
		}
		if len(allowed) == 0 {
			return "", fmt.Errorf("no token may follow %q", text)
		}
		tok := allowed[r.IntN(len(allowed))]
		if pieces[tok][0] == '\\' {
			tok = allowed[r.IntN(len(allowed))] // escapes, drawn less often, read easier
		}
		if len(text) >= maxBytes {
			tok = towardEnd(c, allowed, pieces, tok, r)
		}
		c.Accept(tok)
		text = append(text, pieces[tok]...)
	}
	return "", errors.New("no end within the steps allowed")
}
