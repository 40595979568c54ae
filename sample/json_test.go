package sample

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

func feedAll(s string, object bool) (jsonState, bool) {
	st := jsonState{objectTop: object}
	return st, st.feed([]byte(s))
}

func TestJSONStateDocuments(t *testing.T) {
	valid := []string{
		`{}`, `[]`, `""`, `0 `, `-0.5e+10 `, `12 `, `true`, `false`, `null`,
		` { "a" : [1, 2.0, -3e4, {"b": null}], "c": "x\"\\\/\b\f\n\r\t\u00e9\uABCD", "d": {} } `,
		`[[[[]]], [{}], "한국어 문자열"]`, `{"k":true,"l":false,"m":null}`, "[1,\n  2\r\n]",
	}
	for _, s := range valid {
		for i := 0; i <= len(s); i++ { // every prefix continues
			if _, ok := feedAll(s[:i], false); !ok {
				t.Errorf("%q: prefix %q refused", s, s[:i])
			}
		}
		if st, ok := feedAll(s, false); !ok || !st.complete() {
			t.Errorf("%q: ok %v complete %v", s, ok, st.complete())
		}
	}
	invalid := []string{
		`{,}`, `[1,]`, `{"a" 1}`, `{"a":}`, `01`, `1.`, `1.e5`, `-`, `+1`, `.5`, `tru`, `nul l`, `"a`, "\"\x01\"",
		`"\x"`, `"\u12G4"`, `{"a":1}}`, `[1]]`, `{]`, `[}`, `{} x`, `{"a":1,}`, `{1:2}`, `truex`,
		// Not UTF-8: a character cut short (in a value, in a key), a stray
		// continuation byte, an overlong form, a surrogate, beyond U+10FFFF.
		"\"\xed\x95\"", "{\"\xea\xb0\": 1}", "\"a\x80\"", "\"\xc0\xaf\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"",
	}
	for _, s := range invalid {
		if st, ok := feedAll(s, false); ok && st.complete() {
			t.Errorf("%q accepted as whole JSON", s)
		}
	}
	for _, s := range []string{`[]`, `"x"`, `1 `, `true`} {
		if _, ok := feedAll(s, true); ok {
			t.Errorf("object required: %q accepted", s)
		}
	}
	if st, ok := feedAll(`{"a": [1]}`, true); !ok || !st.complete() {
		t.Error("object refused")
	}
}

func TestJSONStateLimits(t *testing.T) {
	deep := strings.Repeat("[", maxJSONDepth)
	if _, ok := feedAll(deep, false); !ok {
		t.Errorf("%d levels refused", maxJSONDepth)
	}
	if _, ok := feedAll(deep+"[", false); ok {
		t.Errorf("%d levels accepted", maxJSONDepth+1)
	}
	if _, ok := feedAll("{"+strings.Repeat(" ", maxJSONSpace), false); !ok {
		t.Error("a run of maxJSONSpace spaces refused")
	}
	if _, ok := feedAll("{"+strings.Repeat(" ", maxJSONSpace+1), false); ok {
		t.Error("an endless run of spaces accepted")
	}
	tight := func(s string) bool {
		st := jsonState{tight: true}
		return st.feed([]byte(s))
	}
	if tight(" {") || !tight("{\n  \"a\":\n  1}") || tight("{\n\n") || !tight("[\n1,\n2]") ||
		!tight("[\n"+strings.Repeat(" ", maxTightSpace-1)+"1]") || tight("["+strings.Repeat(" ", maxTightSpace+1)+"1]") {
		t.Error("tight whitespace: leading space accepted, or the run bounds wrong")
	}
	// A model's numbers: 16 digits in the integer part and the fraction
	// (llama.cpp's bound), 2 in the exponent (a finite double); any
	// number of them where not tight.
	d16, d17 := strings.Repeat("7", maxTightDigits), strings.Repeat("7", maxTightDigits+1)
	e2, e3 := strings.Repeat("9", maxTightExpDigits), strings.Repeat("9", maxTightExpDigits+1)
	for _, n := range []string{d16, "-" + d16, "0." + d16, "1e" + e2, "-1" + d16[1:] + "." + d16 + "E-" + e2} {
		if !tight("[" + n + "]") {
			t.Errorf("tight: %s refused", n)
		}
		if _, ok := feedAll("["+n+"7]", false); !ok {
			t.Errorf("not tight: %s7 refused", n)
		}
	}
	for _, n := range []string{d17, "-" + d17, "0." + d17, "1e+" + e3, "1E" + d16} {
		if tight("[" + n) {
			t.Errorf("tight: %s accepted", n)
		}
	}
	// Spaces inside strings are content, not padding.
	if _, ok := feedAll(`{"`+strings.Repeat(" ", 200)+`": 1}`, false); !ok {
		t.Error("spaces in a key refused")
	}
}

// randomJSON writes a random JSON value, spaced at random.
func randomJSON(r *rand.Rand, b *strings.Builder, depth int) {
	sp := func() {
		if r.IntN(4) == 0 {
			b.WriteString([]string{" ", "\n", "\t", "\r\n  "}[r.IntN(4)])
		}
	}
	sp()
	k := r.IntN(9)
	if depth > 3 {
		k = 2 + r.IntN(7)
	}
	switch k {
	case 0, 1:
		open, close := "[", "]"
		if k == 1 {
			open, close = "{", "}"
		}
		b.WriteString(open)
		for i := range r.IntN(4) {
			if i > 0 {
				b.WriteString(",")
			}
			if k == 1 {
				sp()
				b.WriteString([]string{`"k"`, `""`, `"\"\u00e9"`}[r.IntN(3)])
				sp()
				b.WriteString(":")
			}
			randomJSON(r, b, depth+1)
		}
		sp()
		b.WriteString(close)
	case 2, 3:
		b.WriteString([]string{`"x"`, `""`, `"a\\b\/c\n"`, `"\uABcd"`, `"한"`}[r.IntN(5)])
	case 4, 5:
		b.WriteString([]string{"0", "-0", "12", "1.5", "-3e7", "4E+2", "0.0e-1"}[r.IntN(7)])
	default:
		b.WriteString([]string{"true", "false", "null"}[r.IntN(3)])
	}
	sp()
}

// Random JSON texts, and the same texts with one random edit: the
// recognizer agrees with encoding/json and unicode/utf8 on every one (the
// depth and whitespace bounds are out of their reach).
func TestJSONStateMatchesEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	edits := []string{"{", "}", "[", "]", ",", ":", " ", `"`, `\`, "0", "1", "-", "+", ".", "e", "t", "x", "\x01"}
	valid, invalid := 0, 0
	for range 100000 {
		var b strings.Builder
		randomJSON(r, &b, 0)
		s := b.String()
		if r.IntN(2) == 0 {
			at := r.IntN(len(s) + 1)
			switch r.IntN(3) {
			case 0: // insert
				s = s[:at] + edits[r.IntN(len(edits))] + s[at:]
			case 1: // delete a byte
				if at < len(s) {
					s = s[:at] + s[at+1:]
				}
			default: // replace a byte
				if at < len(s) {
					s = s[:at] + edits[r.IntN(len(edits))] + s[at+1:]
				}
			}
		}
		st, ok := feedAll(s+" ", false)
		ours := ok && st.complete()
		// A byte deleted from a character leaves UTF-8 that RFC 8259
		// refuses and encoding/json lets through.
		want := json.Valid([]byte(s)) && utf8.ValidString(s)
		if ours != want {
			t.Fatalf("%q: recognizer %v, encoding/json %v", s, ours, want)
		}
		if want {
			valid++
		} else {
			invalid++
		}
	}
	if valid < 10000 || invalid < 10000 {
		t.Fatalf("%d valid and %d invalid texts: the test says little", valid, invalid)
	}
}

// tinyVocab spells JSON in small pieces; token 0 is a control token.
var tinyVocab = NewVocab([][]byte{nil, []byte("{"), []byte("}"), []byte(`"a"`), []byte(":"), []byte(" 1"), []byte("hello"), []byte("},"), []byte("}\n")})

func TestSampleWithJSONConstraint(t *testing.T) {
	p := DefaultParams()
	p.Temperature = 0
	s := New(p)
	s.Constrain(NewJSON(tinyVocab, true))
	logits := func(best ...int) []float32 {
		l := make([]float32, tinyVocab.Len())
		for rank, id := range best {
			l[id] = float32(10 - rank)
		}
		return l
	}
	// The model prefers prose; the constraint makes it open an object.
	steps := []struct {
		prefer []int
		want   int32
	}{
		{[]int{6, 0, 1}, 1}, // hello, EOS refused: {
		{[]int{7, 3}, 3},    // "}," refused: "a"
		{[]int{4}, 4},       // :
		{[]int{5}, 5},       // 1
		{[]int{7, 8, 2}, 8}, // "}," refused, "}\n" ends the object
	}
	for i, st := range steps {
		r, err := s.Sample(logits(st.prefer...), nil, NoLogprob)
		if err != nil || r.Token != st.want {
			t.Fatalf("step %d: token %d, %v; want %d", i, r.Token, err, st.want)
		}
		if s.Complete() != (i == len(steps)-1) {
			t.Fatalf("step %d: complete %v", i, s.Complete())
		}
	}
	// Whole: only whitespace may follow, and this vocabulary has none.
	if _, err := s.Sample(logits(1, 2), nil, NoLogprob); err != ErrNoToken {
		t.Fatalf("after the value: %v, want ErrNoToken", err)
	}
}

// With logprobs, they are the constrained distribution's: the refused
// tokens have none, and the allowed ones sum to one.
func TestConstrainedLogprobs(t *testing.T) {
	p := DefaultParams()
	p.Temperature, p.Seed, p.HasSeed = 1, 7, true
	s := New(p)
	s.Constrain(NewJSON(tinyVocab, true))
	r, err := s.Sample([]float32{5, 1, 0, 3, 0, 0, 4, 2, 2}, nil, 9)
	if err != nil || r.Token != 1 {
		t.Fatalf("token %d, %v; want 1, the only allowed one", r.Token, err)
	}
	if len(r.Top) != 1 || r.Top[0].Token != 1 || math.Abs(float64(r.Logprob)) > 1e-6 {
		t.Fatalf("top %+v, logprob %v: want token 1 alone with log-probability 0", r.Top, r.Logprob)
	}
}

// benchVocab is a 150k vocabulary of random 1-8 byte pieces over JSON's
// alphabet and letters.
func benchVocab() *Vocab {
	r := rand.New(rand.NewPCG(3, 4))
	alphabet := []byte(`abcdefghijklmnopqrstuvwxyz ABC{}[]:,"0123456789.-\` + "\n")
	pieces := make([][]byte, 150000)
	for i := range pieces {
		p := make([]byte, 1+r.IntN(8))
		for k := range p {
			p[k] = alphabet[r.IntN(len(alphabet))]
		}
		pieces[i] = p
	}
	return NewVocab(pieces)
}

// BenchmarkConstraintMask is the full check a refused token (or a request
// for logprobs) costs: asking about each token, against one walk of the
// vocabulary's trie, inside a string (where most tokens pass) and between
// values (where few do), for plain JSON, under a schema, and under
// JSON's GBNF grammar.
func BenchmarkConstraintMask(b *testing.B) {
	v := benchVocab()
	v.index()
	patterned, err := CompileJSONSchema([]byte(`{"type": "object", "properties": {"k": {"type": "string", "pattern": "^[a-z ]*$"}}}`))
	if err != nil {
		b.Fatal(err)
	}
	jsonGrammar, err := CompileGBNF(jsonGBNF)
	if err != nil {
		b.Fatal(err)
	}
	schema, err := CompileJSONSchema([]byte(`{"type": "object", "properties": {"items": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}, "n": {"type": "integer"}}}}}}`))
	if err != nil {
		b.Fatal(err)
	}
	mapped, err := CompileJSONSchema([]byte(`{"type": "object", "additionalProperties": {"type": "integer"}}`))
	if err != nil {
		b.Fatal(err)
	}
	wide, err := CompileJSONSchema([]byte(wideSchema(800, []int{700}, "")))
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		c      func() Constraint
		prefix string
	}{
		{"schema map/in a key", func() Constraint { return mapped.Constraint(v) }, `{"a": 1, "some ke`},
		{"schema wide/at a key", func() Constraint { return wide.Constraint(v) }, `{"r0": 7, `},
		{"json/in a string", func() Constraint { return NewJSON(v, true) }, `{"key": "some text`},
		{"json/after a value", func() Constraint { return NewJSON(v, true) }, `{"key": 1`},
		{"schema/in a string", func() Constraint { return schema.Constraint(v) }, `{"items": [{"name": "some text`},
		{"schema/after a value", func() Constraint { return schema.Constraint(v) }, `{"items": [{"name": "x", "n": 1`},
		{"schema pattern/in a string", func() Constraint { return patterned.Constraint(v) }, `{"k":"some text`},
		{"gbnf json/in a string", func() Constraint { return jsonGrammar.Constraint(v) }, `{"key": "some text`},
		{"gbnf json/after a value", func() Constraint { return jsonGrammar.Constraint(v) }, `{"key": 1`},
	} {
		c := tc.c()
		for _, x := range []byte(tc.prefix) {
			if !feedByte(c, x) {
				b.Fatalf("%s: prefix refused", tc.name)
			}
		}
		b.Run(tc.name+"/each", func(b *testing.B) {
			allowed := 0
			for b.Loop() {
				allowed = 0
				for id := range v.pieces {
					if c.Allows(int32(id)) {
						allowed++
					}
				}
			}
			b.ReportMetric(float64(allowed), "allowed")
		})
		b.Run(tc.name+"/trie", func(b *testing.B) {
			allowed := 0
			for b.Loop() {
				allowed = 0
				if g, ok := c.(*grammarConstraint); ok {
					clear(g.cache) // a state met for the first time
				}
				c.(tokenLister).eachAllowed(func(int32) { allowed++ })
			}
			b.ReportMetric(float64(allowed), "allowed")
		})
		if _, ok := c.(*grammarConstraint); ok {
			b.Run(tc.name+"/cached", func(b *testing.B) {
				allowed := 0
				for b.Loop() {
					allowed = 0
					c.(tokenLister).eachAllowed(func(int32) { allowed++ })
				}
				b.ReportMetric(float64(allowed), "allowed")
			})
		}
	}
}

// feedByte advances a constraint by one byte, as a one-byte token would.
func feedByte(c Constraint, x byte) bool {
	switch c := c.(type) {
	case *jsonConstraint:
		return c.st.feed([]byte{x})
	case *schemaConstraint:
		return c.run(&c.st, &c.off, []byte{x})
	case *grammarConstraint:
		return c.st.feed([]byte{x})
	}
	return false
}

// The trie walk lists exactly the tokens Allows accepts, token by token,
// at random points of random documents: for plain JSON, a schema, and a
// schema with a suffix; with empty and duplicate pieces in the
// vocabulary.
func TestTrieMatchesEachToken(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	// Bytes of 한 (ED 95 9C) and 가 (EA B0 80), and C3: pieces hold whole,
	// partial and broken characters.
	alphabet := []byte(`ab {}[]:,"01.-e\tn` + "\n\xed\x95\x9c\xea\xb0\x80\xc3")
	pieces := make([][]byte, 3000)
	for i := range pieces {
		switch {
		case i%97 == 0: // a control token
		case i%89 == 0: // a duplicate piece
			pieces[i] = pieces[i-1]
		default:
			p := make([]byte, 1+r.IntN(6))
			for k := range p {
				p[k] = alphabet[r.IntN(len(alphabet))]
			}
			pieces[i] = p
		}
	}
	v := NewVocab(pieces)
	schema, err := CompileJSONSchema([]byte(`{"type": "object", "properties": {"a": {"type": "array", "items": {"type": ["number", "null"]}}, "b": {"type": "string", "maxLength": 3}, "c": {}}}`))
	if err != nil {
		t.Fatal(err)
	}
	docs := []string{`{"a": [1, null, -2.5e1], "b": "ab", "c": {"x": [true]}}`, `{"c": "n"}`, `{}`}
	for len(docs) < 200 {
		var b strings.Builder
		randomJSON(r, &b, 0)
		if s := strings.TrimSpace(b.String()); strings.HasPrefix(s, "{") {
			docs = append(docs, s)
		}
	}
	// States inside strings, where plain tokens pass without a walk: a
	// bounded string at each length, a free one, a key, a free value's.
	// Inside a character (after its first bytes) no plain token may pass.
	fixed := []string{`{"b": "`, `{"b": "a`, `{"b": "ab`, `{"b": "abc`, `{"c": "x`, `{"c": {"k`, `{"c": ["1`,
		"{\"b\": \"\xed", "{\"b\": \"a\xed\x95", "{\"c\": \"\xea", "{\"c\": {\"\xea\xb0", "{\"c\": [\"\xed\x95"}
	checked := 0
	for i := range 3*len(docs) + len(fixed) {
		var doc string
		var cut int
		if i < len(fixed) {
			doc = fixed[i]
			cut = len(doc)
		} else {
			doc = docs[i%len(docs)]
			cut = r.IntN(len(doc) + 1)
		}
		for _, c := range []Constraint{NewJSON(v, true), schema.Constraint(v), schema.ConstraintThen(v, "\n</x>")} {
			ok := true
			for _, x := range []byte(doc[:cut]) {
				if ok = feedByte(c, x); !ok {
					break
				}
			}
			if !ok {
				continue // the schema refuses this document here
			}
			want := map[int32]bool{}
			for id := range v.Len() {
				if c.Allows(int32(id)) {
					want[int32(id)] = true
				}
			}
			got := map[int32]bool{}
			c.(tokenLister).eachAllowed(func(tok int32) { got[tok] = true })
			if len(got) != len(want) {
				t.Fatalf("%T after %q: trie lists %d tokens, Allows %d", c, doc[:cut], len(got), len(want))
			}
			for tok := range want {
				if !got[tok] {
					t.Fatalf("%T after %q: trie misses %q", c, doc[:cut], pieces[tok])
				}
			}
			checked++
		}
	}
	if checked < 200 {
		t.Fatalf("only %d states checked", checked)
	}
}

// A call schema: the name picks the arguments' schema.
func TestCallSchema(t *testing.T) {
	weather, err := CompileJSONSchema([]byte(`{"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}`))
	if err != nil {
		t.Fatal(err)
	}
	clock, err := CompileJSONSchema([]byte(`{"type": "object", "properties": {"tz": {"enum": ["KST", "UTC"]}}, "required": ["tz"]}`))
	if err != nil {
		t.Fatal(err)
	}
	call, err := CompileCallSchema("arguments", []string{"get_weather", "get_time", "get"}, []*JSONSchema{weather, clock, clock})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		text string
		ok   bool
	}{
		{`{"name": "get_weather", "arguments": {"city": "서울"}}`, true},
		{`{"name": "get_time", "arguments": {"tz": "KST"}}`, true},
		{`{"name": "get", "arguments": {"tz": "UTC"}}`, true},
		{`{"name": "get_time", "arguments": {"city": "서울"}}`, false},
		{`{"name": "get_weather", "arguments": {"tz": "KST"}}`, false},
		{`{"name": "get_date", "arguments": {}}`, false},
		{`{"arguments": {}, "name": "get"}`, false},
	} {
		st := call.p.start()
		if ok := st.feed([]byte(tc.text)) && st.complete(); ok != tc.ok {
			t.Errorf("%s: %v, want %v", tc.text, ok, tc.ok)
		}
	}
	if _, err := CompileCallSchema("arguments", []string{"a"}, nil); err == nil {
		t.Error("names without schemas accepted")
	}
}

// A top-level number ends with the text: the end token may follow it
// where it is whole (and in range), in the trie walk as in Allows.
func TestSchemaEndToken(t *testing.T) {
	const end = 0
	v := NewVocab([][]byte{nil, []byte("4"), []byte("2"), []byte("-"), []byte(" "), []byte("7")}, end)
	for _, tc := range []struct {
		schema string
		feed   []int32
		ends   bool
	}{
		{`{"type": "integer"}`, []int32{1, 2}, true},
		{`{"type": "integer"}`, []int32{3}, false},
		{`{"type": "integer"}`, nil, false},
		{`{"type": "integer", "minimum": 10}`, []int32{1}, false}, // 4: only 40-49 and on
		{`{"type": "integer", "maximum": 50}`, []int32{1, 2}, true},
		{`{"enum": [4, 47]}`, []int32{1}, true},
		{`{"enum": [47]}`, []int32{1}, false},
		{`{"type": "object"}`, nil, false},
	} {
		s, err := CompileJSONSchema([]byte(tc.schema))
		if err != nil {
			t.Fatal(err)
		}
		c := s.Constraint(v)
		for _, tok := range tc.feed {
			if !c.Allows(tok) {
				t.Fatalf("%s: %q refused", tc.schema, v.pieces[tok])
			}
			c.Accept(tok)
		}
		listed := false
		c.(tokenLister).eachAllowed(func(tok int32) { listed = listed || tok == end })
		if c.Allows(end) != tc.ends || listed != tc.ends {
			t.Errorf("%s after %v: end allowed %v, listed %v, want %v", tc.schema, tc.feed, c.Allows(end), listed, tc.ends)
		}
	}
}

// Compact constraints (vLLM's disable_any_whitespace) take no whitespace
// inside the value, before it or between its tokens; strings keep theirs,
// and a top-level number still ends with the whitespace after it.
func TestCompactJSON(t *testing.T) {
	var pieces [][]byte
	for b := 0; b < 256; b++ {
		pieces = append(pieces, []byte{byte(b)})
	}
	v := NewVocab(pieces)
	schema, err := CompileJSONSchema([]byte(`{"type":"object","properties":{"a":{"type":"array","items":{"type":"integer"}},"b":{},"s":{"type":"string"}},"required":["a","b","s"]}`))
	if err != nil {
		t.Fatal(err)
	}
	number, err := CompileJSONSchema([]byte(`{"type":"integer"}`))
	if err != nil {
		t.Fatal(err)
	}
	whole := func(c Constraint, text string) bool {
		for i := range len(text) {
			if !feedByte(c, text[i]) {
				return false
			}
		}
		return c.Complete()
	}
	for _, tc := range []struct {
		name string
		make func() Constraint
		good []string
		bad  []string
	}{
		{"json object", func() Constraint { return NewCompactJSON(v, true) },
			[]string{`{"a":[1,2.5e3],"b":{"c":null},"s":"x y"}`, `{}`},
			[]string{`{ "a":1}`, `{"a": 1}`, `{"a":1 }`, `{"a":[1, 2]}`, "{\n\"a\":1}", ` {}`, `[1]`}},
		{"schema", func() Constraint { return schema.CompactConstraint(v) },
			[]string{`{"a":[1,-2],"b":{"x":[true,{}]},"s":"a b\tc"}`, `{"a":[],"b":1,"s":""}`},
			[]string{`{"a": [],"b":1,"s":""}`, `{"a":[1 ,2],"b":1,"s":""}`, `{"a":[],"b":{"x": 1},"s":""}`, `{"a":[],"b":1,"s":""` + "\n}"}},
		{"top-level number", func() Constraint { return number.CompactConstraint(v) },
			[]string{"12 ", "-3\n"},
			[]string{" 12 ", "1 2"}},
	} {
		for _, s := range tc.good {
			if !whole(tc.make(), s) {
				t.Errorf("%s: %q refused", tc.name, s)
			}
		}
		for _, s := range tc.bad {
			if whole(tc.make(), s) {
				t.Errorf("%s: %q accepted", tc.name, s)
			}
		}
	}
	// Without compact the spaced forms are taken.
	if !whole(NewJSON(v, true), `{"a": 1}`) || !whole(schema.Constraint(v), `{"a": [], "b": 1, "s": ""}`) {
		t.Error("the ordinary constraints refuse whitespace")
	}
}
