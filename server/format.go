package server

import (
	"encoding/json"

	"github.com/nuri-ai/nuri/sample"
)

// responseFormat reads response_format: "text" (no constraint) or
// "json_object" (the reply is one JSON object, enforced token by token).
// "json_schema" is refused rather than treated as json_object: a reply
// that ignored the schema would look like success.
func (b *Backend) responseFormat(raw json.RawMessage) (func() sample.Constraint, error) {
	if !present(raw) {
		return nil, nil
	}
	var rf struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(raw, &rf); err != nil {
		return nil, invalidParam("response_format", "response_format must be {\"type\": \"text\"} or {\"type\": \"json_object\"}: %v", err)
	}
	switch rf.Type {
	case "text":
		return nil, nil
	case "json_object":
		vocab := b.vocab()
		return func() sample.Constraint { return sample.NewJSON(vocab, true) }, nil
	case "json_schema":
		return nil, &apiError{err: ErrNotSupported, param: "response_format", msg: "response_format json_schema is not supported yet; json_object constrains the reply to a JSON object"}
	}
	return nil, invalidParam("response_format.type", "response_format type must be \"text\" or \"json_object\", got %q", rf.Type)
}

// vocab is every token's text as replies show it, built on first use.
func (b *Backend) vocab() sample.Vocab {
	b.vocabOnce.Do(func() {
		n := b.Tokenizer.NVocab()
		v := make(sample.Vocab, n)
		for id := range n {
			if p, err := b.Tokenizer.Piece(int32(id), false); err == nil {
				v[id] = p
			}
			// a token that cannot be shown stays empty, which a
			// constraint never allows
		}
		b.vocabTable = v
	})
	return b.vocabTable
}
