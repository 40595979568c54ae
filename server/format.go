package server

import (
	"encoding/json"

	"github.com/nuri-ai/nuri/sample"
)

// responseFormat reads response_format: "text" (no constraint) or
// "json_object" (the reply is one JSON object, enforced token by token).
// "json_schema" (the reply matches the schema, in the canonical form
// sample.NewJSONSchema describes). A schema with keywords that cannot be
// enforced is refused rather than loosened: a reply that ignored part of
// it would look like success.
func (b *Backend) responseFormat(raw json.RawMessage, compact bool) (func() sample.Constraint, error) {
	if !present(raw) {
		return nil, nil
	}
	var rf struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(raw, &rf); err != nil {
		return nil, invalidParam("response_format", "response_format must be {\"type\": \"text\"}, {\"type\": \"json_object\"} or {\"type\": \"json_schema\", ...}: %v", err)
	}
	switch rf.Type {
	case "text":
		return nil, nil
	case "json_object":
		return b.jsonObject(compact), nil
	case "json_schema":
		var js struct {
			JSONSchema *struct {
				Name   string          `json:"name"`
				Schema json.RawMessage `json:"schema"`
			} `json:"json_schema"`
		}
		if err := json.Unmarshal(raw, &js); err != nil || js.JSONSchema == nil {
			return nil, invalidParam("response_format.json_schema", "response_format json_schema needs {\"json_schema\": {\"name\": ..., \"schema\": {...}}}")
		}
		schema := js.JSONSchema.Schema
		if !present(schema) {
			schema = json.RawMessage("{}") // OpenAI: no schema, any JSON
		}
		return b.schemaConstraint("response_format.json_schema.schema", schema, compact)
	}
	return nil, invalidParam("response_format.type", "response_format type must be \"text\", \"json_object\" or \"json_schema\", got %q", rf.Type)
}

// outputConstraint is the request's one output constraint, from
// response_format, vLLM's guided_json / guided_choice / guided_regex /
// guided_grammar (or their structured_outputs spelling) or llama.cpp's
// grammar and json_schema; asking for two is an error.
func (b *Backend) outputConstraint(f *samplingFields) (func() sample.Constraint, error) {
	type source struct {
		param string
		make  func() (func() sample.Constraint, error)
	}
	so := f.StructuredOutputs
	if so == nil {
		so = &structuredOutputs{}
	}
	// vLLM's disable_any_whitespace: compact JSON, whichever field asks
	// for JSON; the server's default unless the request says.
	compact := b.CompactJSON
	if so.DisableAnyWhitespace != nil {
		compact = *so.DisableAnyWhitespace
	}
	var sources []source
	if present(f.ResponseFormat) {
		sources = append(sources, source{"response_format", func() (func() sample.Constraint, error) { return b.responseFormat(f.ResponseFormat, compact) }})
	}
	switch {
	case present(so.StructuralTag):
		return nil, &apiError{err: ErrNotSupported, param: "structured_outputs.structural_tag", msg: "structural tags are not supported: give a json schema, regex, choice or grammar"}
	case so.WhitespacePattern != nil:
		return nil, &apiError{err: ErrNotSupported, param: "structured_outputs.whitespace_pattern", msg: "whitespace patterns are not supported: JSON output takes runs of one line break and up to 24 blanks"}
	}
	if so.JSONObject != nil && *so.JSONObject {
		sources = append(sources, source{"structured_outputs.json_object", func() (func() sample.Constraint, error) { return b.jsonObject(compact), nil }})
	}
	for _, g := range []struct {
		param  string
		schema json.RawMessage
		choice []string
		other  *string // a regex or a GBNF grammar
		regex  bool
	}{
		{param: "guided_json", schema: f.GuidedJSON}, {param: "guided_choice", choice: f.GuidedChoice},
		{param: "guided_regex", other: f.GuidedRegex, regex: true}, {param: "guided_grammar", other: f.GuidedGrammar},
		{param: "structured_outputs.json", schema: so.JSON}, {param: "structured_outputs.choice", choice: so.Choice},
		{param: "structured_outputs.regex", other: so.Regex, regex: true}, {param: "structured_outputs.grammar", other: so.Grammar},
		{param: "grammar", other: f.Grammar}, {param: "json_schema", schema: f.JSONSchema}, // llama.cpp's server
	} {
		switch {
		case g.other != nil && g.regex:
			sources = append(sources, source{g.param, func() (func() sample.Constraint, error) { return b.grammar(g.param, *g.other, sample.CompileRegex) }})
		case g.other != nil:
			sources = append(sources, source{g.param, func() (func() sample.Constraint, error) { return b.grammar(g.param, *g.other, sample.CompileGBNF) }})
		case present(g.schema):
			sources = append(sources, source{g.param, func() (func() sample.Constraint, error) { return b.guidedJSON(g.param, g.schema, compact) }})
		case g.choice != nil:
			sources = append(sources, source{g.param, func() (func() sample.Constraint, error) { return b.guidedChoice(g.param, g.choice) }})
		}
	}
	switch len(sources) {
	case 0:
		return nil, nil
	case 1:
		return sources[0].make()
	}
	return nil, invalidParam(sources[1].param, "give one output constraint, not both %s and %s", sources[0].param, sources[1].param)
}

// guidedJSON is vLLM's guided_json: a schema, as an object or as a string
// holding one.
func (b *Backend) guidedJSON(param string, raw json.RawMessage, compact bool) (func() sample.Constraint, error) {
	var text string
	if json.Unmarshal(raw, &text) == nil {
		raw = json.RawMessage(text)
	}
	return b.schemaConstraint(param, raw, compact)
}

// jsonObject is a fresh constraint to one JSON object a choice, compact
// JSON if asked.
func (b *Backend) jsonObject(compact bool) func() sample.Constraint {
	vocab := b.vocab()
	if compact {
		return func() sample.Constraint { return sample.NewCompactJSON(vocab, true) }
	}
	return func() sample.Constraint { return sample.NewJSON(vocab, true) }
}

// schemaConstraint compiles a JSON Schema once; each choice then gets a
// fresh constraint to it. A schema that cannot be enforced names param.
func (b *Backend) schemaConstraint(param string, raw json.RawMessage, compact bool) (func() sample.Constraint, error) {
	compiled, err := sample.CompileJSONSchema(raw)
	if err != nil {
		return nil, &apiError{err: ErrNotSupported, param: param, msg: err.Error()}
	}
	vocab := b.vocab()
	if compact {
		return func() sample.Constraint { return compiled.CompactConstraint(vocab) }, nil
	}
	return func() sample.Constraint { return compiled.Constraint(vocab) }, nil
}

// guidedChoice is vLLM's guided_choice: the reply is one of the strings.
// The list is sorted once; each choice gets a fresh constraint to it.
func (b *Backend) guidedChoice(param string, choices []string) (func() sample.Constraint, error) {
	set, err := sample.CompileChoices(choices)
	if err != nil {
		return nil, invalidParam(param, "%v", err)
	}
	vocab := b.vocab()
	return func() sample.Constraint { return set.Constraint(vocab) }, nil
}

// grammar compiles a GBNF grammar or a regular expression (compile) once;
// each choice then gets a fresh constraint to it. One that does not
// compile is the request's error, naming param.
func (b *Backend) grammar(param, src string, compile func(string) (*sample.Grammar, error)) (func() sample.Constraint, error) {
	if src == "" {
		return nil, invalidParam(param, "%s is empty", param)
	}
	g, err := compile(src)
	if err != nil {
		return nil, invalidParam(param, "%v", err)
	}
	vocab := b.vocab()
	if g, err = g.Bind(vocab); err != nil {
		return nil, invalidParam(param, "%v", err)
	}
	return func() sample.Constraint { return g.Constraint(vocab) }, nil
}

// vocab is every token's text as replies show it, built on first use.
func (b *Backend) vocab() *sample.Vocab {
	b.vocabOnce.Do(func() { b.vocabTable = sample.VocabFrom(b.Tokenizer) })
	return b.vocabTable
}
