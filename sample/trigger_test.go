package sample

import (
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// triggerVocab: one token a byte (ids 1-256, the byte plus one), then
// multi-byte pieces, then two control tokens whose text is a call's
// markers; 0 ends.
func triggerVocab(extra ...string) (*Vocab, map[int32]string) {
	pieces := [][]byte{nil}
	for b := range 256 {
		pieces = append(pieces, []byte{byte(b)})
	}
	for _, e := range extra {
		pieces = append(pieces, []byte(e))
	}
	open, close := int32(len(pieces)), int32(len(pieces)+1)
	pieces = append(pieces, nil, nil)
	return NewVocab(pieces, 0), map[int32]string{open: "<tool_call>", close: "</tool_call>"}
}

func weatherCall(t *testing.T, v *Vocab) func() Constraint {
	t.Helper()
	city, err := CompileJSONSchema([]byte(`{"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"], "additionalProperties": false}`))
	if err != nil {
		t.Fatal(err)
	}
	none, err := CompileJSONSchema([]byte(`{"type": "object", "additionalProperties": false}`))
	if err != nil {
		t.Fatal(err)
	}
	call, err := CompileCallSchema("arguments", []string{"get_time", "get_weather"}, []*JSONSchema{none, city})
	if err != nil {
		t.Fatal(err)
	}
	return func() Constraint { return call.ConstraintThen(v, "\n</tool_call>") }
}

// tokensOf spells s: multi-byte pieces where they fit (longest first),
// the marker tokens for "<tool_call>"/"</tool_call>" when markers is set,
// bytes otherwise.
func tokensOf(v *Vocab, markers map[int32]string, s string, useMarkers bool) []int32 {
	var out []int32
	for s != "" {
		best, n := int32(-1), 0
		for id := int32(257); id < int32(v.Len()); id++ {
			p := v.piece(id)
			if len(p) == 0 && useMarkers {
				p = []byte(markers[id])
			}
			if len(p) > n && strings.HasPrefix(s, string(p)) {
				best, n = id, len(p)
			}
		}
		if best < 0 {
			best, n = int32(s[0])+1, 1
		}
		out = append(out, best)
		s = s[n:]
	}
	return out
}

func TestTriggered(t *testing.T) {
	v, markers := triggerVocab("<tool", "_call>", "<tool_call>\n{", "</think>", "<think>", `"get_weather"`, "}\n</tool_call>")
	call := weatherCall(t, v)
	const good = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"서울\"}}\n</tool_call>"
	for _, tc := range []struct {
		name     string
		text     string
		thinking bool
		open     bool
		markers  bool
		ok       bool // every token allowed
		held     bool // inside a call at the end: no end token allowed
	}{
		{"prose", "서울은 맑아요. {not a call}", false, false, false, true, false},
		{"a call", good, false, false, false, true, false},
		{"a call in marker tokens", good, false, false, true, true, false},
		{"prose, two calls, prose", "먼저 " + good + "\n" + strings.Replace(good, "서울", "부산", 1) + "\n끝", false, false, true, true, false},
		{"no tool of that name", "<tool_call>\n{\"name\": \"get_news\"", false, false, false, false, true},
		{"arguments off the schema", "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"town\"", false, false, false, false, true},
		{"prose inside a call", "<tool_call>\nI will call", false, false, false, false, true},
		{"too much whitespace", "<tool_call>\n\n\n\n\n\n\n\n\n{", false, false, false, false, true},
		{"an open call", "<tool_call>\n{\"name\": \"get_time\"", false, false, false, true, true},
		{"wrong closing", "<tool_call>\n{\"name\": \"get_time\", \"arguments\": {}}</tool_call>", false, false, false, false, true},
		{"a call mentioned while thinking", "<think>I could write <tool_call> here</think>" + good, true, false, false, true, false},
		{"opened thinking", "plan <tool_call> maybe</think>\n" + good, true, true, false, true, false},
		{"thinking not skipped", "<think><tool_call> maybe", false, false, false, false, true},
		{"the call inside the token that closes the thinking", "<think>x</think><tool_call>\n{\"name\": \"get_time\", \"arguments\": {}}\n</tool_call>", true, false, false, true, false},
	} {
		c := Triggered(v, Trigger{Text: "<tool_call>", Markers: markers, Thinking: tc.thinking, Open: tc.open}, call)
		toks := tokensOf(v, markers, tc.text, tc.markers)
		ok := true
		for _, tok := range toks {
			if !c.Allows(tok) {
				ok = false
				break
			}
			c.Accept(tok)
		}
		if ok != tc.ok {
			t.Errorf("%s: allowed %v, want %v (tokens %v)", tc.name, ok, tc.ok, toks)
			continue
		}
		if ok && c.Allows(0) == tc.held {
			t.Errorf("%s: end allowed %v, want %v", tc.name, c.Allows(0), !tc.held)
		}
		if c.Complete() {
			t.Errorf("%s: complete", tc.name)
		}
	}
}

// Once: the output ends with the first call, and the constraint says so.
func TestTriggeredOnce(t *testing.T) {
	v, markers := triggerVocab()
	call := weatherCall(t, v)
	c := Triggered(v, Trigger{Text: "<tool_call>", Markers: markers, Once: true}, call)
	for _, tok := range tokensOf(v, markers, "먼저 <tool_call>\n{\"name\": \"get_time\", \"arguments\": {}}\n</tool_call>", true) {
		if c.Complete() {
			t.Fatal("complete before the call ended")
		}
		if !c.Allows(tok) {
			t.Fatalf("token %d refused", tok)
		}
		c.Accept(tok)
	}
	if !c.Complete() {
		t.Fatal("not complete after the call")
	}
	var listed []int32
	c.(tokenLister).eachAllowed(func(id int32) { listed = append(listed, id) })
	if !slices.Equal(listed, []int32{0}) || c.Allows(int32('\n')+1) || !c.Allows(0) {
		t.Fatalf("after the call: listed %v", listed)
	}
}

// Sampling at random under Triggered: every token listed is one Allows
// takes, and every call written is whole, valid JSON naming a tool with
// arguments its schema accepts; the prose around the calls is free.
func TestTriggeredRandomWalk(t *testing.T) {
	v, markers := triggerVocab("<tool_call>", "</tool_call>", "\n", `{"name": "`, `get_weather`, `get_time`, `", "arguments": {`,
		`"city": "`, `서울`, `"}}`, `}}`, "<think>", "</think>", " ", "}\n</tool_call>", "<tool_call>\n{")
	call := weatherCall(t, v)
	r := rand.New(rand.NewPCG(7, 9))
	calls := 0
	for walk := range 60 {
		c := Triggered(v, Trigger{Text: "<tool_call>", Markers: markers, Thinking: true}, call)
		p := DefaultParams()
		p.Temperature, p.TopK, p.TopP, p.MinP, p.HasSeed, p.Seed = 1, 0, 1, 0, true, uint64(walk)
		s := New(p)
		s.Constrain(c)
		logits := make([]float32, v.Len())
		var text strings.Builder
		for step := range 200 {
			for i := range logits {
				logits[i] = float32(r.NormFloat64())
				if i > 256 {
					logits[i] += 4 // favour the pieces that make calls
				}
			}
			logits[0] = -3
			if step%25 == 0 {
				var listed, asked []int32
				c.(tokenLister).eachAllowed(func(id int32) { listed = append(listed, id) })
				for id := range int32(v.Len()) {
					if c.Allows(id) {
						asked = append(asked, id)
					}
				}
				slices.Sort(listed)
				if !slices.Equal(listed, asked) {
					t.Fatalf("walk %d step %d after %q: listed %d tokens, Allows %d", walk, step, text.String(), len(listed), len(asked))
				}
			}
			res, err := s.Sample(logits, nil, NoLogprob)
			if err != nil {
				t.Fatalf("walk %d step %d after %q: %v", walk, step, text.String(), err)
			}
			if res.Token == 0 {
				break
			}
			if p := v.piece(res.Token); len(p) > 0 {
				text.Write(p)
			} else {
				text.WriteString(markers[res.Token])
			}
		}
		calls += checkCalls(t, text.String())
	}
	t.Logf("%d whole calls checked", calls)
	if calls < 20 {
		t.Fatalf("only %d whole calls in 60 walks: the walk does not exercise the held part", calls)
	}
}

// checkCalls checks every whole call outside thinking and returns how many.
func checkCalls(t *testing.T, text string) int {
	t.Helper()
	n := 0
	rest := text
	for {
		if th := strings.Index(rest, "<think>"); th >= 0 && th < strings.Index(rest+"<tool_call>", "<tool_call>") {
			end := strings.Index(rest[th:], "</think>")
			if end < 0 {
				return n
			}
			rest = rest[th+end+len("</think>"):]
			continue
		}
		i := strings.Index(rest, "<tool_call>")
		if i < 0 {
			return n
		}
		body := rest[i+len("<tool_call>"):]
		var c struct {
			Name      string                     `json:"name"`
			Arguments map[string]json.RawMessage `json:"arguments"`
		}
		dec := json.NewDecoder(strings.NewReader(body))
		if err := dec.Decode(&c); errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return n // cut by the walk's length
		} else if err != nil {
			t.Fatalf("call %q: %v (in %q)", body, err, text)
		}
		j := int(dec.InputOffset())
		if !strings.HasPrefix(body[j:], "\n</tool_call>") {
			if strings.HasPrefix("\n</tool_call>", body[j:]) {
				return n
			}
			t.Fatalf("call %q not closed (in %q)", body, text)
		}
		if gap := len(body) - len(strings.TrimLeft(body, " \t\r\n")); gap > maxTriggerGap {
			t.Fatalf("call %q after %d bytes of whitespace", body, gap)
		}
		switch c.Name {
		case "get_time":
			if len(c.Arguments) != 0 {
				t.Fatalf("get_time with %v", c.Arguments)
			}
		case "get_weather":
			var city string
			if len(c.Arguments) != 1 || json.Unmarshal(c.Arguments["city"], &city) != nil {
				t.Fatalf("get_weather with %s", body[:j])
			}
		default:
			t.Fatalf("call names %q", c.Name)
		}
		n++
		rest = body[j+len("\n</tool_call>"):]
	}
}

// BenchmarkTriggered is what Triggered costs a step on a 150k vocabulary:
// the check of the picked token, and a full mask (a refused token, or
// logprobs) in prose, where few tokens need judging, and inside a call.
func BenchmarkTriggered(b *testing.B) {
	base := benchVocab()
	pieces := slices.Clone(base.pieces)
	for c := range 256 {
		pieces = append(pieces, []byte{byte(c)})
	}
	pieces = append(pieces, []byte("<tool_call>"), []byte("_call>"), []byte("> "), []byte("</tool_call>"))
	v := NewVocab(pieces)
	v.index()
	schema, err := CompileJSONSchema([]byte(`{"type": "object", "properties": {"city": {"type": "string"}}}`))
	if err != nil {
		b.Fatal(err)
	}
	call, err := CompileCallSchema("arguments", []string{"get_weather"}, []*JSONSchema{schema})
	if err != nil {
		b.Fatal(err)
	}
	next := func() Constraint { return call.ConstraintThen(v, "\n</tool_call>") }
	for _, tc := range []struct{ name, prefix string }{
		{"in prose", "오늘은 맑습니다. a < b"},
		{"in a call's string", "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"서"},
	} {
		c := Triggered(v, Trigger{Text: "<tool_call>"}, next)
		for _, x := range []byte(tc.prefix) {
			tok := int32(len(base.pieces)) + int32(x)
			if !c.Allows(tok) {
				b.Fatalf("%s: prefix refused at %q", tc.name, x)
			}
			c.Accept(tok)
		}
		picked := int32(len(base.pieces)) + 'x'
		b.Run(tc.name+"/picked", func(b *testing.B) {
			for b.Loop() {
				if !c.Allows(picked) {
					b.Fatal("refused")
				}
			}
		})
		b.Run(tc.name+"/mask", func(b *testing.B) {
			allowed := 0
			for b.Loop() {
				allowed = 0
				c.(tokenLister).eachAllowed(func(int32) { allowed++ })
			}
			b.ReportMetric(float64(allowed), "allowed")
		})
	}
}
