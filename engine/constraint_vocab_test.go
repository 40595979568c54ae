package engine

import (
	"testing"
	"time"

	"github.com/nuri-ai/nuri/internal/testshared"
	"github.com/nuri-ai/nuri/sample"
	"github.com/nuri-ai/nuri/tokenizer"
)

// Output constraints over real vocabularies (Qwen3's 151k byte-level
// tokens, EXAONE's 102k): logits that want prose still give an object,
// and the full check of the vocabulary (the trie walk, each step since
// logprobs are asked) stays in milliseconds. sample's tests check the walk
// against the token-by-token check.
func TestConstraintRealVocab(t *testing.T) {
	for _, name := range []string{"ggml-vocab-qwen3.gguf", "ggml-vocab-exaone.gguf"} {
		t.Run(name, func(t *testing.T) {
			tok, err := tokenizer.LoadFile(testshared.Path(t, "testdata", "tokenizer", name))
			if err != nil {
				t.Fatal(err)
			}
			pieces := make([][]byte, tok.NVocab())
			for id := range pieces {
				pieces[id], _ = tok.Piece(int32(id), false)
			}
			v := sample.NewVocab(pieces)
			v.Prepare() // as the server does at start, so the steps below time the walks alone
			schema, err := sample.CompileJSONSchema([]byte(`{"type": "object", "properties": {"이름": {"type": "string"}, "나이": {"type": "integer"}}, "required": ["이름", "나이"]}`))
			if err != nil {
				t.Fatal(err)
			}
			// Greedy decoding with logits that prefer prose: each step the
			// sampler must fall back to the constraint's best token. With
			// logprobs asked, every step checks the whole vocabulary.
			prose, err := tok.Encode("Sure! Here is the JSON you asked for: 이름은 김철수, 나이는 30", false, false)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []sample.Constraint{sample.NewJSON(v, true), schema.Constraint(v)} {
				p := sample.DefaultParams()
				p.Temperature = 0
				s := sample.New(p)
				s.Constrain(c)
				logits := make([]float32, tok.NVocab())
				var out []byte
				start := time.Now()
				steps := 0
				for ; steps < 40 && !s.Complete(); steps++ {
					for i := range logits {
						logits[i] = 0
					}
					for rank, id := range prose {
						logits[id] = float32(100 - rank) // prose first, then anything
					}
					r, err := s.Sample(logits, nil, 1)
					if err != nil {
						t.Fatalf("step %d after %q: %v", steps, out, err)
					}
					piece, _ := tok.Piece(r.Token, false)
					out = append(out, piece...)
				}
				per := time.Since(start) / time.Duration(steps)
				t.Logf("%T: %d steps, %v a step (full check each step): %q", c, steps, per, out)
				if len(out) == 0 || out[0] != '{' {
					t.Fatalf("%q does not start an object", out)
				}
				if per > 200*time.Millisecond { // 1-2 ms measured; a loose bound for -race and busy CI
					t.Errorf("%v a step", per)
				}
			}
		})
	}
}
