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
func (b *Backend) responseFormat(raw json.RawMessage) (func() sample.Constraint, error) {
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
		vocab := b.vocab()
		return func() sample.Constraint { return sample.NewJSON(vocab, true) }, nil
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
		compiled, err := sample.CompileJSONSchema(schema)
		if err != nil {
			return nil, &apiError{err: ErrNotSupported, param: "response_format.json_schema.schema", msg: err.Error()}
		}
		vocab := b.vocab()
		return func() sample.Constraint { return compiled.Constraint(vocab) }, nil
	}
	return nil, invalidParam("response_format.type", "response_format type must be \"text\", \"json_object\" or \"json_schema\", got %q", rf.Type)
}

// vocab is every token's text as replies show it, built on first use.
func (b *Backend) vocab() *sample.Vocab {
	b.vocabOnce.Do(func() {
		n := b.Tokenizer.NVocab()
		v := make([][]byte, n)
		for id := range n {
			if p, err := b.Tokenizer.Piece(int32(id), false); err == nil {
				v[id] = p
			}
			// a token that cannot be shown stays empty, which a
			// constraint never allows
		}
		b.vocabTable = sample.NewVocab(v)
	})
	return b.vocabTable
}
