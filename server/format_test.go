package server

import (
	"fmt"
	"testing"

	"github.com/nuri-ai/nuri/engine"
	"github.com/nuri-ai/nuri/sample"
)

// response_format json_object gives every choice its own JSON-object
// constraint over the served vocabulary; "text" gives none.
func TestResponseFormatJSONObject(t *testing.T) {
	ts := newTestServer(t, Config{}, `{"a": 1}`)
	for _, tc := range []struct {
		path, body  string
		constrained bool
	}{
		{"/v1/chat/completions", `{"messages":[{"role":"user","content":"a"}],"response_format":{"type":"json_object"},"n":2}`, true},
		{"/v1/completions", `{"prompt":"a","response_format":{"type":"json_object"}}`, true},
		{"/v1/chat/completions", `{"messages":[{"role":"user","content":"a"}],"response_format":{"type":"text"}}`, false},
		{"/v1/chat/completions", `{"messages":[{"role":"user","content":"a"}]}`, false},
	} {
		before := len(ts.eng.lastRequests())
		status, _, body := ts.do("POST", tc.path, tc.body)
		if status != 200 {
			t.Fatalf("%s: status %d: %s", tc.body, status, body)
		}
		for _, r := range ts.eng.lastRequests()[before:] {
			if (r.Constraint != nil) != tc.constrained {
				t.Fatalf("%s: constrained %v", tc.body, r.Constraint != nil)
			}
			if r.Constraint == nil {
				continue
			}
			c, other := r.Constraint(), r.Constraint()
			if c == other {
				t.Fatal("choices share one constraint state")
			}
			tok := func(s string) int32 { return int32(s[0]) + 3 } // the fake's byte tokens
			if c.Allows(tok(" ")) || c.Allows(tok("[")) || !c.Allows(tok("{")) || c.Allows(2) {
				t.Fatal("the constraint does not start a JSON object, or allows EOS")
			}
			for _, b := range []byte(`{"k": [true]}`) {
				if !c.Allows(int32(b) + 3) {
					t.Fatalf("%q refused", b)
				}
				c.Accept(int32(b) + 3)
			}
			if !c.Complete() || other.Complete() {
				t.Fatal("completion not tracked per choice")
			}
		}
	}
}

// response_format json_schema compiles the schema once and gives each
// choice a fresh constraint to it.
func TestResponseFormatJSONSchema(t *testing.T) {
	ts := newTestServer(t, Config{}, `{"ok": true}`)
	before := len(ts.eng.lastRequests())
	status, _, body := ts.do("POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"a"}],"n":2,
		"response_format":{"type":"json_schema","json_schema":{"name":"r","strict":true,"schema":{"type":"object","properties":{"ok":{"type":"boolean"}},"required":["ok"],"additionalProperties":false}}}}`)
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	reqs := ts.eng.lastRequests()[before:]
	if len(reqs) != 2 || reqs[0].Constraint == nil {
		t.Fatalf("%d requests, constrained %v", len(reqs), reqs[0].Constraint != nil)
	}
	feed := func(s string) bool {
		c := reqs[0].Constraint()
		for _, b := range []byte(s) {
			if !c.Allows(int32(b) + 3) {
				return false
			}
			c.Accept(int32(b) + 3)
		}
		return c.Complete()
	}
	if !feed(`{"ok": true}`) || feed(`{"ok": 1}`) || feed(`{}`) || feed(`{"ok": true, "x": 1}`) {
		t.Fatal("the constraint does not follow the schema")
	}
}

// vLLM's guided decoding fields, in both spellings, become the same
// constraints (and llama.cpp's grammar too); two constraints at once, or
// a regex or grammar that does not compile, are 400s.
func TestGuidedDecodingFields(t *testing.T) {
	ts := newTestServer(t, Config{}, "yes")
	tok := func(s string) []int32 {
		var ids []int32
		for _, b := range []byte(s) {
			ids = append(ids, int32(b)+3) // the fake's byte tokens
		}
		return ids
	}
	accepts := func(r engine.Request, s string, end bool) bool {
		c := r.Constraint()
		for _, id := range tok(s) {
			if !c.Allows(id) {
				return false
			}
			c.Accept(id)
		}
		if end {
			return c.Allows(2) // EOS
		}
		return c.Complete()
	}
	user := `{"messages":[{"role":"user","content":"a"}],`
	for _, tc := range []struct {
		body       string
		good, bad  []string
		endAfter   string // a whole choice another continues: EOS allowed
		noEndAfter string
	}{
		{user + `"guided_choice":["yes","yes!","no"]}`, []string{"yes!", "no"}, []string{"maybe", "n"}, "yes", "ye"},
		{user + `"structured_outputs":{"choice":["긍정","부정"]}}`, []string{"긍정", "부정"}, []string{"중립"}, "", ""},
		{user + `"guided_json":{"type":"object","properties":{"a":{"type":"integer"}},"required":["a"]}}`, []string{`{"a": 1}`}, []string{`{}`, `{"a": "1"}`}, "", ""},
		{user + `"guided_json":"{\"enum\": [\"x\"]}"}`, []string{`"x"`}, []string{`"y"`}, "", ""},
		{user + `"structured_outputs":{"json":{"type":"boolean"}}}`, []string{"true", "false"}, []string{"null"}, "", ""},
		{user + `"structured_outputs":{"json_object":true}}`, []string{`{"a": [1, "x"]}`, `{}`}, []string{`[1]`, `"x"`, `{"a"}`}, "", ""},
		// disable_any_whitespace: compact JSON, whichever field asks for it.
		{user + `"structured_outputs":{"json_object":true,"disable_any_whitespace":true}}`, []string{`{"a":[1,"x y"]}`}, []string{`{"a": 1}`, "{\n\"a\":1}"}, "", ""},
		{user + `"structured_outputs":{"json":{"type":"object","properties":{"a":{"type":"integer"}},"required":["a"]},"disable_any_whitespace":true}}`, []string{`{"a":1}`}, []string{`{"a": 1}`}, "", ""},
		{user + `"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"array","items":{"type":"boolean"}}}},"structured_outputs":{"disable_any_whitespace":true}}`, []string{`[true,false]`}, []string{`[true, false]`}, "", ""},
		{user + `"guided_json":{"type":"array"},"structured_outputs":{"disable_any_whitespace":true}}`, []string{`[1,{"b":[]}]`}, []string{`[1, 2]`}, "", ""},
		{user + `"structured_outputs":{"json":{"type":"object","properties":{"a":{"type":"integer"}}},"disable_additional_properties":true}}`, []string{`{"a":1}`}, []string{`{"b":1}`}, "", ""},
		{user + `"guided_json":{"type":"object","properties":{"d":{"type":"string","format":"date"},"k":{"type":"string","pattern":"^[가-힣]+$"}},"required":["d","k"]}}`,
			[]string{`{"d":"2026-12-01","k":"서울"}`}, []string{`{"d":"2026-12-32","k":"서울"}`, `{"d":"2026-12-01","k":"Seoul"}`}, "", ""},
		{user + `"guided_regex":"[0-9]{3}-[가-힣]+"}`, []string{"010-서울"}, []string{"01-서울", "010-Seoul"}, "123-가나", "123-"},
		{user + `"structured_outputs":{"regex":"(?i)yes|no"}}`, []string{"YeS", "no"}, []string{"yess"}, "", ""},
		{user + `"guided_grammar":"root ::= \"예\" | \"아니요\""}`, []string{"예", "아니요"}, []string{"아니"}, "", ""},
		{user + `"structured_outputs":{"grammar":"root ::= item (\", \" item)*\nitem ::= [a-z]+"}}`, []string{"a, bc"}, []string{"a,b", "A"}, "a, b", "a, "},
		{user + `"grammar":"root ::= [0-9]+"}`, []string{"2026"}, []string{"x"}, "12", ""},
		// A token element: the fake's EOS (id 2) closes the digit.
		{user + `"grammar":"root ::= [0-9] <[2]>"}`, []string{"7"}, []string{"77", "x"}, "7", ""},
		{user + `"json_schema":{"type":"array","items":{"type":"integer"},"maxItems":2}}`, []string{"[1,2]"}, []string{"[1,2,3]", `["a"]`}, "", ""},
	} {
		status, _, body := ts.do("POST", "/v1/chat/completions", tc.body)
		if status != 200 {
			t.Fatalf("%s: status %d: %s", tc.body, status, body)
		}
		r := ts.eng.last()
		// A whole output: complete, or one the end token may close.
		whole := func(s string) bool { return accepts(r, s, false) || accepts(r, s, true) }
		for _, s := range tc.good {
			if !whole(s) {
				t.Errorf("%s: %q refused", tc.body, s)
			}
		}
		for _, s := range tc.bad {
			if whole(s) {
				t.Errorf("%s: %q accepted", tc.body, s)
			}
		}
		if tc.endAfter != "" && (!accepts(r, tc.endAfter, true) || accepts(r, tc.noEndAfter, true)) {
			t.Errorf("%s: EOS after %q or %q wrong", tc.body, tc.endAfter, tc.noEndAfter)
		}
	}
	for _, tc := range []struct{ body, param, code string }{
		{user + `"guided_regex":"a("}`, "guided_regex", ""},
		{user + `"guided_regex":"a\\bb"}`, "guided_regex", ""},
		{user + `"structured_outputs":{"grammar":"root ::= x"}}`, "structured_outputs.grammar", ""},
		{user + `"grammar":""}`, "grammar", ""},
		{user + `"grammar":"root ::= <nope>"}`, "grammar", ""},
		{user + `"grammar":"root ::= !<[100000]>"}`, "grammar", ""},
		{user + `"grammar":"root ::= [0-9]+","guided_regex":"a"}`, "grammar", ""},
		{user + `"guided_choice":["a"],"response_format":{"type":"json_object"}}`, "guided_choice", ""},
		{user + `"guided_choice":[]}`, "guided_choice", ""},
		{user + `"structured_outputs":{"json_object":true,"regex":"a"}}`, "structured_outputs.regex", ""},
		{user + `"structured_outputs":{"structural_tag":"{\"type\":\"structural_tag\"}"}}`, "structured_outputs.structural_tag", "unsupported_parameter"},
		{user + `"structured_outputs":{"json":{"type":"object"},"whitespace_pattern":"[ ]?"}}`, "structured_outputs.whitespace_pattern", "unsupported_parameter"},
		{user + `"guided_json":{"type":"integer","multipleOf":0.1}}`, "guided_json", "unsupported_parameter"},
	} {
		status, _, body := ts.do("POST", "/v1/chat/completions", tc.body)
		if status != 400 {
			t.Fatalf("%s: status %d: %s", tc.body, status, body)
		}
		checkErrorShape(t, body, tc.param, tc.code)
	}
}

// Constrained, tool and embedding requests at once: the backend's shared
// vocabulary (built aside at start, read by every constraint) and the
// embedder serve them concurrently (run with -race in make test).
func TestConcurrentConstrainedRequests(t *testing.T) {
	ts := newTestServer(t, Config{}, `{"a": 1}`, withTemplate(t, hermesTemplate), func(b *Backend) { b.Embedder = fakeEmbedder{nCtx: 64} })
	bodies := []struct{ path, body string }{
		{"/v1/chat/completions", `{"messages":[{"role":"user","content":"a"}],"response_format":{"type":"json_object"},"n":2}`},
		{"/v1/chat/completions", `{"messages":[{"role":"user","content":"a"}],"guided_choice":["x","y"]}`},
		{"/v1/chat/completions", chatBodyWithTools(`,"tool_choice":"required","stream":true`)},
		{"/v1/completions", `{"prompt":"a","guided_json":{"type":"object"}}`},
		{"/v1/completions", `{"prompt":"a","guided_regex":"[a-c]+(, [a-c]+)*","n":2}`},
		{"/v1/chat/completions", `{"messages":[{"role":"user","content":"a"}],"grammar":"root ::= (\"(\" root \")\")* \".\""}`},
		{"/v1/embeddings", `{"input":["a","bb","ccc"]}`},
	}
	errs := make(chan error, 4*len(bodies))
	for range 4 {
		for _, b := range bodies {
			go func() {
				status, _, body := ts.do("POST", b.path, b.body)
				if status != 200 {
					errs <- fmt.Errorf("%s %s: status %d: %s", b.path, b.body, status, body)
					return
				}
				// A sampling step with logprobs masks the whole row: the
				// constraint walks the shared trie.
				for _, r := range ts.eng.lastRequests() {
					if r.Constraint == nil {
						continue
					}
					p := sample.DefaultParams()
					p.Temperature = 0
					smp := sample.New(p)
					smp.Constrain(r.Constraint())
					if _, err := smp.Sample(make([]float32, fakeTokenizer{}.NVocab()), nil, 1); err != nil {
						errs <- err
						return
					}
				}
				errs <- nil
			}()
		}
	}
	for range 4 * len(bodies) {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// nuri serve --disable-any-whitespace: JSON output is compact unless the
// request's structured_outputs.disable_any_whitespace says otherwise.
func TestCompactJSONDefault(t *testing.T) {
	ts := newTestServer(t, Config{}, "{}", func(b *Backend) { b.CompactJSON = true })
	user := `{"messages":[{"role":"user","content":"a"}],`
	for _, tc := range []struct {
		body    string
		spaced  bool // {"a": 1} taken
		compact bool // {"a":1} taken
	}{
		{user + `"response_format":{"type":"json_object"}}`, false, true},
		{user + `"guided_json":{"type":"object"}}`, false, true},
		{user + `"response_format":{"type":"json_object"},"structured_outputs":{"disable_any_whitespace":false}}`, true, true},
	} {
		status, _, body := ts.do("POST", "/v1/chat/completions", tc.body)
		if status != 200 {
			t.Fatalf("%s: status %d: %s", tc.body, status, body)
		}
		r := ts.eng.last()
		for text, want := range map[string]bool{`{"a": 1}`: tc.spaced, `{"a":1}`: tc.compact} {
			c := r.Constraint()
			got := true
			for _, b := range []byte(text) {
				if !c.Allows(int32(b) + 3) { // the fake's byte tokens
					got = false
					break
				}
				c.Accept(int32(b) + 3)
			}
			if got = got && c.Complete(); got != want {
				t.Errorf("%s: %s taken %v, want %v", tc.body, text, got, want)
			}
		}
	}
}
